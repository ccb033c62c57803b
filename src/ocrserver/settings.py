"""All configuration, read once from the environment into one object.

Variable names follow what Label Studio ML backend users already know (``LABEL_STUDIO_URL``,
``WORKERS``, ``LOG_LEVEL``...) plus ``OCR_*`` for our own. Nothing reads the environment at import
time: call :func:`load_settings` (the CLI and :func:`ocrserver.api.app.create_app` do).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


# A job running alone spreads each model over at most this many threads. Every engine instance keeps that many
# less one sleeping per model, so with WORKERS = cores their number grows with the square of the cores; 4 keeps
# it at 3 per model (measured on 2 cores only: 1 -> 2 threads, dev-set pages 1.6x quicker).
LONE_JOB_MAX_THREADS = 4


def _default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class Settings(BaseSettings):
    """Server and engine configuration. Every field maps to one environment variable."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=AliasChoices("OCR_HOST", "HOST"))
    port: int = Field(9090, validation_alias=AliasChoices("OCR_PORT", "PORT"))
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    engine: str = Field("ppocr", validation_alias="OCR_ENGINE", description="default engine")
    profile: Literal["accurate", "fast"] = Field(
        "accurate", validation_alias="OCR_PROFILE",
        description="when a request names no engine: accurate = the default engine; fast = ppocr-tiny for "
        "the languages it has, else Tesseract for languages it has (not Chinese/Japanese/Korean), else the default engine",
    )
    ppocr_recheck_below: float = Field(
        0.7, ge=0, le=1, validation_alias="OCR_PPOCR_RECHECK_BELOW",
        description="in regions, ppocr reads lines with PP-OCRv6 tiny (for the languages tiny has) and re-reads with small "
        "those whose least certain character is below this; 1 = small only (slowest), 0 = tiny only",
    )
    word_lists: bool = Field(
        True, validation_alias="OCR_WORD_LISTS",
        description="ppocr engines: where the recogniser was unsure of a letter or two of a word that is not a word of the "
        "request's languages, write the word its own second choices spell (English, German, French, Spanish, Italian, "
        "Portuguese, Dutch, Latvian, Basque); false = exactly as the model read it",
    )
    preload_engines: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias="OCR_PRELOAD",
        description="engines warmed at start-up besides the default one (comma-separated)",
    )
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en"],
        validation_alias=AliasChoices("OCR_LANG", "LANG_LIST"),
        description="default language(s) when a request names none",
    )
    workers: int = Field(
        default_factory=_default_workers,
        validation_alias="WORKERS",
        description="engine instances per engine, and OCR jobs running at once",
    )
    ort_threads: int = Field(
        0, validation_alias="OCR_ORT_THREADS",
        description="inference threads (ONNX Runtime or OpenVINO) per engine; 0 = cores / workers, and all cores (up to 4) for a job "
        "that runs alone (ppocr, fp32)",
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "fp32", validation_alias="OCR_PRECISION",
        description="PP-OCR arithmetic: fp32 on ONNX Runtime; bf16 on OpenVINO (quicker, more memory; CPUs with "
        "avx512_bf16 or amx_bf16); auto = bf16 where the CPU computes it natively",
    )
    fastpaddle_model: Literal["tiny", "small"] = Field("small", validation_alias="OCR_FASTPADDLE_MODEL")
    tessdata_dir: Path | None = Field(None, validation_alias=AliasChoices("OCR_TESSDATA", "TESSDATA_PREFIX"))
    tesseract_layout: Literal["ppocr", "tesseract"] = Field(
        "ppocr", validation_alias="OCR_TESSERACT_LAYOUT",
        description="how tesseract finds a page's lines: ppocr = PP-OCRv6 tiny's detector finds them and Tesseract "
        "reads each; tesseract = Tesseract's own page layout analysis",
    )

    max_image_pixels: int = Field(60_000_000, validation_alias="OCR_MAX_IMAGE_PIXELS")
    max_download_bytes: int = Field(30 * 1024 * 1024, validation_alias="OCR_MAX_DOWNLOAD_BYTES")
    max_upload_bytes: int = Field(30 * 1024 * 1024, validation_alias="OCR_MAX_UPLOAD_BYTES")
    fetch_timeout: float = Field(15.0, validation_alias="OCR_FETCH_TIMEOUT", description="seconds per download")
    max_batch: int = Field(64, validation_alias="OCR_MAX_BATCH")
    max_pdf_pages: int = Field(50, validation_alias="OCR_MAX_PDF_PAGES")
    pdf_dpi: int = Field(200, validation_alias="OCR_PDF_DPI")
    url_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="OCR_URL_ALLOWLIST",
        description="hosts and CIDRs that may be fetched although not public, e.g. 127.0.0.1,10.0.0.0/8",
    )
    api_key: SecretStr | None = Field(
        None, validation_alias="OCR_API_KEY", description="require this key (X-API-Key or Bearer) on every endpoint but /health"
    )
    max_request_bytes: int = Field(64 * 1024 * 1024, validation_alias="OCR_MAX_REQUEST_BYTES")
    request_timeout: float = Field(120.0, validation_alias="OCR_REQUEST_TIMEOUT", description="seconds per OCR job")
    max_queue: int = Field(
        0, validation_alias="OCR_MAX_QUEUE", description="OCR jobs that may wait for a worker; 0 = 4 x WORKERS; more get 503"
    )
    engine_wait_timeout: float = Field(
        120.0, validation_alias="OCR_QUEUE_TIMEOUT", description="seconds a job may wait for a free engine"
    )

    # ---- Label Studio ML backend -------------------------------------------------------------
    label_studio_url: str | None = Field(
        None, validation_alias=AliasChoices("LABEL_STUDIO_URL", "LABEL_STUDIO_HOST"),
        description="Label Studio base URL, for /data/upload and /data/local-files task URLs",
    )
    label_studio_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("LABEL_STUDIO_API_KEY", "LABEL_STUDIO_ACCESS_TOKEN"),
        description="personal access token (JWT) or legacy token",
    )
    local_files_root: Path | None = Field(
        None, validation_alias=AliasChoices("LOCAL_FILES_DOCUMENT_ROOT", "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
    )
    basic_auth_user: str | None = Field(None, validation_alias="BASIC_AUTH_USER")
    basic_auth_pass: SecretStr | None = Field(None, validation_alias="BASIC_AUTH_PASS")
    score_threshold: float = Field(0.0, validation_alias="SCORE_THRESHOLD", ge=0.0, le=1.0)
    model_dir: Path | None = Field(None, validation_alias="MODEL_DIR", description="accepted for compatibility")
    device: str = Field("cpu", validation_alias="DEVICE")
    ls_granularity: Literal["line", "word", "block"] = Field("line", validation_alias="OCR_LS_GRANULARITY")
    ls_geometry: Literal["auto", "rectangle", "polygon"] = Field("auto", validation_alias="OCR_LS_GEOMETRY")
    ls_label_map: Path | None = Field(None, validation_alias="OCR_LS_LABEL_MAP")
    ls_image_cache: int = Field(16, validation_alias="OCR_LS_IMAGE_CACHE", description="decoded pages kept for interactive calls")
    ls_image_cache_mb: int = Field(
        512, validation_alias="OCR_LS_IMAGE_CACHE_MB", ge=0,
        description="memory those pages may hold together (a 12 MP photo decoded: 36 MB); the latest is always kept",
    )
    s3_endpoint_url: str | None = Field(
        None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "AWS_S3_ENDPOINT", "S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")
    )

    @field_validator("preload_engines", "languages", "url_allowlist", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.replace("+", ",").split(",") if item.strip()]
        return value

    def resolved_tessdata_dir(self) -> Path | None:
        """The tessdata folder to use: the configured one, else the first Debian location that exists."""
        if self.tessdata_dir is not None:
            return self.tessdata_dir
        for candidate in TESSDATA_CANDIDATES:
            if Path(candidate).is_dir():
                return Path(candidate)
        return None

    def resolved_max_queue(self) -> int:
        return self.max_queue if self.max_queue > 0 else 4 * max(1, self.workers)

    def resolved_ort_threads(self) -> int:
        if self.ort_threads > 0:
            return self.ort_threads
        return max(1, _default_workers() // max(1, self.workers))

    def runs_on_cuda(self) -> bool:
        """Whether DEVICE asks for a GPU (``cuda`` or ``cuda:N``)."""
        return self.device.lower().startswith("cuda")

    def lone_job_threads(self) -> int:
        """Inference threads for a job on the CPU while it is the only one running: all the cores (at most
        LONE_JOB_MAX_THREADS), unless OCR_ORT_THREADS fixes the count (0 = no more than ``resolved_ort_threads``)."""
        threads = min(_default_workers(), LONE_JOB_MAX_THREADS)
        if self.ort_threads > 0 or self.runs_on_cuda() or threads <= self.resolved_ort_threads():
            return 0
        return threads


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; keyword overrides (from CLI flags) win over it."""
    values: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**values)
