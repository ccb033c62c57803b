"""The ``ocrserver`` command: ``serve`` the API, ``ocr`` files from the shell, list ``engines``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ocrserver import __version__
from ocrserver.errors import OcrServerError
from ocrserver.settings import Settings, load_settings

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pbm", ".pgm", ".ppm", ".pdf"}


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except Exception as exc:  # pydantic's message names the variable and the bad value
        raise click.UsageError(f"Invalid configuration: {exc}") from exc


@click.group()
@click.version_option(__version__, prog_name="ocrserver")
def main() -> None:
    """OCR server and command-line OCR with warm PP-OCR and Tesseract engines."""


@main.command()
@click.option("--host", default=None, help="address to bind [OCR_HOST, default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port [OCR_PORT, default 9090]")
@click.option("--engine", default=None, help="default engine [OCR_ENGINE, default ppocr]")
@click.option("--profile", type=click.Choice(["accurate", "fast"]), default=None, help="[OCR_PROFILE, default accurate]")
@click.option("--workers", type=int, default=None, help="engine instances / jobs at once [WORKERS, default: cores]")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING [LOG_LEVEL]")
def serve(
    host: str | None, port: int | None, engine: str | None, profile: str | None, workers: int | None, log_level: str | None
) -> None:
    """Start the HTTP server (REST API, Label Studio ML backend, docs at /docs)."""
    import uvicorn

    from ocrserver.api.app import create_app
    from ocrserver.memory import tune_malloc

    settings = _settings(host=host, port=port, engine=engine, profile=profile, workers=workers, log_level=log_level)
    tune_malloc()  # before uvicorn starts any thread
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
    )


def expand_inputs(inputs: tuple[str, ...]) -> list[str]:
    """Paths, folders (their images, sorted) and URLs, in the order given."""
    found: list[str] = []
    for item in inputs:
        path = Path(item)
        if item.startswith(("http://", "https://")):
            found.append(item)
        elif path.is_dir():
            found.extend(str(p) for p in sorted(path.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            found.append(item)
    return found


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--engine", default=None, help="engine name (see 'ocrserver engines')")
@click.option("--profile", type=click.Choice(["accurate", "fast"]), default=None, help="[OCR_PROFILE, default accurate]")
@click.option("--lang", default=None, help="language(s), e.g. en, zh, de+en")
@click.option("--level", type=click.Choice(["page", "block", "line", "word"]), default="word", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on for several files on a terminal)")
def ocr(
    inputs: tuple[str, ...], engine: str | None, profile: str | None, lang: str | None, level: str, fmt: str,
    progress: bool | None,
) -> None:
    """Read text from images, PDFs, folders or URLs."""
    from tqdm import tqdm

    from ocrserver.memory import tune_malloc
    from ocrserver.netguard import UrlGuard
    from ocrserver.pool import EnginePool
    from ocrserver.service import OcrOptions, OcrService
    from ocrserver.sources import ImageFetcher

    settings = _settings(workers=1)
    tune_malloc()  # before an engine starts its threads
    logging.basicConfig(level=logging.WARNING)
    files = expand_inputs(inputs)
    if not files:
        raise click.UsageError("No images found in the given paths.")
    pool = EnginePool(settings)
    # The command line fetches what its own user asks for, local addresses included: no SSRF to guard against.
    anywhere = UrlGuard(allowlist=["0.0.0.0/0", "::/0"], trusted_origins=[])
    fetcher = ImageFetcher(timeout=settings.fetch_timeout, max_bytes=settings.max_download_bytes, guard=anywhere)
    service = OcrService(settings, pool, fetcher)
    options = OcrOptions(engine=engine, profile=profile, languages=lang, level=level).for_answer_in(fmt)  # type: ignore[arg-type]
    try:
        service.prepare(options)
    except OcrServerError as exc:
        raise click.UsageError(exc.message) from exc

    show_bar = progress if progress is not None else (len(files) > 1 and sys.stderr.isatty())
    many = len(files) > 1
    failures = 0
    json_results: list[dict[str, object]] = []
    try:
        for name in tqdm(files, disable=not show_bar, unit="file", file=sys.stderr):
            try:
                if name.startswith(("http://", "https://")):
                    result = service.read_source(name, options)
                else:
                    result = service.read_bytes(Path(name).read_bytes(), options)
            except (OcrServerError, OSError) as exc:
                failures += 1
                message = exc.message if isinstance(exc, OcrServerError) else str(exc)
                click.echo(f"ocrserver: {name}: {message}", err=True)
                if fmt == "json":
                    json_results.append({"input": name, "error": message})
                continue
            if fmt == "json":
                json_results.append({"input": name, **result.to_dict(level)})  # type: ignore[arg-type]
            else:
                if many:
                    click.echo(f"==> {name} <==")
                click.echo(result.text)
                if many:
                    click.echo()
    finally:
        pool.close()
        fetcher.close()
    if fmt == "json":
        click.echo(json.dumps(json_results if many else json_results[0], ensure_ascii=False, indent=2))
    if failures:
        sys.exit(1)


@main.command()
def engines() -> None:
    """List the engines, their availability and languages."""
    from ocrserver.pool import EnginePool

    settings = _settings()
    for info in EnginePool(settings).infos():
        state = "available" if info.available else f"unavailable: {info.reason}"
        default = " (default)" if info.name == settings.engine else ""
        click.echo(f"{info.name}{default}: {state}")
        if info.available:
            click.echo(f"  version: {info.version}; model: {info.model_version}")
            click.echo(f"  languages: {' '.join(info.languages)}")


if __name__ == "__main__":
    main()
