"""Fetch the image a Label Studio task points at, in every form Label Studio hands out.

- ``/data/upload/...`` and ``/data/local-files/?d=...``: from Label Studio, with its API key (a legacy
  token is sent as ``Token``; a personal access token is exchanged for a short-lived access token,
  refreshed before it expires). Local files are read from disk when LOCAL_FILES_DOCUMENT_ROOT is set.
- ``s3://bucket/key``: boto3 with the usual AWS_* variables (and an endpoint URL for MinIO).
- ``gs://`` and ``azure-blob://``: through Label Studio's presign endpoint for the task.
- http(s) URLs and data URIs directly. Credentials go only to the Label Studio host.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ocrserver.errors import FetchFailed, InvalidRequest, OcrServerError, TooLarge
from ocrserver.settings import Settings
from ocrserver.sources import ImageFetcher, decode_base64, safe_url

ACCESS_TOKEN_MARGIN_S = 30.0
STATUS_MAX_AGE_S = 30.0


def is_personal_access_token(key: str) -> bool:
    """A PAT is a JWT refresh token; a legacy token is a plain 40-hex string."""
    import jwt

    if key.count(".") != 2:
        return False
    try:
        claims = jwt.decode(key, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return claims.get("token_type") == "refresh"


class LabelStudioFiles:
    """Resolves and downloads task images. One per server; thread-safe."""

    def __init__(self, settings: Settings, fetcher: ImageFetcher) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self._configured_url = settings.label_studio_url.rstrip("/") if settings.label_studio_url else None
        self._setup_url: str | None = None
        self._setup_token: str | None = None
        self._key = settings.label_studio_api_key.get_secret_value() if settings.label_studio_api_key else None
        self._access: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._s3: Any = None
        self._status: tuple[float, dict[str, Any]] | None = None
        self._status_refreshing = False

    # ---- configuration -----------------------------------------------------------------------
    @property
    def base_url(self) -> str | None:
        return self._configured_url or self._setup_url

    @property
    def key_kind(self) -> str:
        key = self._api_key()
        if key is None:
            return "none"
        return "personal access token" if is_personal_access_token(key) else "legacy token"

    def remember_setup(self, hostname: str | None, access_token: str | None) -> None:
        """Label Studio's /setup call tells us its address and the project owner's legacy token.
        They are used only where nothing is configured (the configured values always win)."""
        if hostname and hostname.startswith(("http://", "https://")):
            self._setup_url = hostname.rstrip("/")
        if access_token:
            self._setup_token = access_token

    def _api_key(self) -> str | None:
        return self._key or self._setup_token

    # ---- authentication ----------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        key = self._api_key()
        if key is None:
            return {}
        if not is_personal_access_token(key):
            return {"Authorization": f"Token {key}"}
        with self._lock:
            if self._access is None or self._access[1] - ACCESS_TOKEN_MARGIN_S < time.time():
                self._access = self._exchange(key)
            return {"Authorization": f"Bearer {self._access[0]}"}

    def _exchange(self, refresh: str) -> tuple[str, float]:
        import jwt

        base = self._require_base_url("exchange the personal access token")
        try:
            status, answer = self.fetcher.request_json("POST", f"{base}/api/token/refresh/", body={"refresh": refresh})
        except FetchFailed as exc:
            raise FetchFailed(f"Could not reach Label Studio at {base} to refresh the access token: {exc.message} "
                              "Check LABEL_STUDIO_URL.") from exc
        if status != 200 or not isinstance(answer, dict) or "access" not in answer:
            raise FetchFailed(
                f"Label Studio refused the personal access token (HTTP {status} from /api/token/refresh/). "
                "Set LABEL_STUDIO_API_KEY to a valid token (Account & Settings → Personal Access Token).",
                http_status=status,
            )
        access = str(answer["access"])
        expires = float(jwt.decode(access, options={"verify_signature": False}).get("exp", time.time() + 300))
        return access, expires

    def status(self) -> dict[str, Any]:
        """The last check's answer, never blocking: a stale one is refreshed in the background."""
        now = time.monotonic()
        with self._lock:
            cached = self._status
            stale = cached is None or now - cached[0] > STATUS_MAX_AGE_S
            start = stale and not self._status_refreshing and self.base_url is not None
            if start:
                self._status_refreshing = True
        if start:
            threading.Thread(target=self.check, name="label-studio-check", daemon=True).start()
        if cached is None:
            return {"configured": self.base_url is not None, "url": self.base_url, "api_key": self.key_kind,
                    "checked": False}
        return {**cached[1], "checked_seconds_ago": round(now - cached[0], 1)}

    def check(self) -> dict[str, Any]:
        """Is Label Studio configured, reachable, and does the key work? Checks now and remembers the answer."""
        try:
            report = self._check()
        finally:
            with self._lock:
                self._status_refreshing = False
        with self._lock:
            self._status = (time.monotonic(), report)
        return report

    def _check(self) -> dict[str, Any]:
        base = self.base_url
        report: dict[str, Any] = {"configured": base is not None, "url": base, "api_key": self.key_kind}
        if base is None:
            return report
        try:
            status, _ = self.fetcher.request_json("GET", f"{base}/api/current-user/whoami", headers=self.auth_headers())
            report["reachable"] = True
            report["authenticated"] = status == 200
            if status != 200:
                report["detail"] = f"HTTP {status}: set LABEL_STUDIO_API_KEY to a working token"
        except OcrServerError as exc:
            reachable = isinstance(exc, FetchFailed) and exc.http_status is not None
            detail = exc.message if "LABEL_STUDIO" in exc.message else f"{exc.message} Check LABEL_STUDIO_URL."
            report.update(reachable=reachable, authenticated=False, detail=detail)
        return report

    # ---- fetching ----------------------------------------------------------------------------
    def fetch(self, url: str, task_id: int | None) -> bytes:
        if not isinstance(url, str) or not url.strip():
            raise InvalidRequest("The task's image value is empty.")
        url = url.strip()
        lowered = url[:16].lower()
        if lowered.startswith("data:"):
            return decode_base64(url, self.settings.max_upload_bytes)
        if lowered.startswith("s3://"):
            return self._fetch_s3(url)
        if lowered.startswith(("gs://", "azure-blob://")):
            return self._fetch_presigned(url, task_id)
        if url.startswith("/data/local-files/"):
            local = self._local_file(url)
            if local is not None:
                return local
        if url.startswith("/"):
            base = self._require_base_url(f"download {url.split('?')[0]}")
            return self._fetch_from_label_studio(base + url)
        if lowered.startswith(("http://", "https://")):
            if self.base_url and _same_origin(url, self.base_url):
                return self._fetch_from_label_studio(url)
            return self.fetcher.fetch(url)
        raise InvalidRequest(
            f"Unsupported image URL {url[:60]!r}: expected http(s), /data/upload, /data/local-files, s3://, gs://, "
            "azure-blob:// or a data: URI."
        )

    def _require_base_url(self, purpose: str) -> str:
        if self.base_url is None:
            raise FetchFailed(
                f"Cannot {purpose}: the Label Studio address is unknown. Set LABEL_STUDIO_URL "
                "(e.g. http://localhost:8080)."
            )
        return self.base_url

    def _fetch_from_label_studio(self, url: str) -> bytes:
        try:
            return self.fetcher.fetch(url, headers=self.auth_headers())
        except FetchFailed as exc:
            if exc.http_status in (401, 403):
                raise FetchFailed(
                    f"Label Studio refused to serve {safe_url(url)} (HTTP {exc.http_status}) with the "
                    f"{self.key_kind}. Set LABEL_STUDIO_API_KEY to a personal access token, or to a legacy token "
                    "with legacy tokens enabled in the organization.",
                    http_status=exc.http_status,
                ) from exc
            if exc.http_status is None and "connect" in exc.message.lower():
                raise FetchFailed(
                    f"Could not connect to Label Studio at {self.base_url}: check LABEL_STUDIO_URL. ({exc.message})"
                ) from exc
            raise

    def _local_file(self, url: str) -> bytes | None:
        """Read /data/local-files/?d=<path> straight from disk when the document root is shared with us."""
        root = self.settings.local_files_root
        if root is None or not root.is_dir():
            return None
        relative = unquote(parse_qs(urlsplit(url).query).get("d", [""])[0])
        if not relative:
            raise InvalidRequest(f"Local-files URL {url!r} has no ?d= path.")
        path = (root / relative).resolve()
        if not path.is_relative_to(root.resolve()):
            raise InvalidRequest(f"Local-files path {relative!r} leaves LOCAL_FILES_DOCUMENT_ROOT.")
        if not path.is_file():
            return None  # let Label Studio answer (it may see a different filesystem)
        if path.stat().st_size > self.settings.max_download_bytes:
            raise TooLarge(f"{relative} is over {self.settings.max_download_bytes:,} bytes (OCR_MAX_DOWNLOAD_BYTES).")
        return path.read_bytes()

    def _fetch_presigned(self, uri: str, task_id: int | None) -> bytes:
        if task_id is None:
            raise InvalidRequest(f"{uri.split(':')[0]}:// images need the task id to be presigned by Label Studio.")
        base = self._require_base_url(f"presign {uri.split('/')[0]}// images through Label Studio")
        encoded = base64.urlsafe_b64encode(uri.encode()).decode()
        return self._fetch_from_label_studio(f"{base}/tasks/{task_id}/presign/?fileuri={quote(encoded)}")

    def _s3_client(self) -> Any:
        with self._lock:
            if self._s3 is None:
                import boto3
                from botocore.config import Config

                self._s3 = boto3.client(
                    "s3",
                    endpoint_url=self.settings.s3_endpoint_url,
                    config=Config(
                        connect_timeout=min(5.0, self.settings.fetch_timeout),
                        read_timeout=self.settings.fetch_timeout,
                        retries={"max_attempts": 2},
                    ),
                )
            return self._s3

    def _fetch_s3(self, uri: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        parts = urlsplit(uri)
        bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
        if not bucket or not key:
            raise InvalidRequest(f"S3 URL {uri!r} must look like s3://bucket/key.")
        try:
            obj = self._s3_client().get_object(Bucket=bucket, Key=key)
            size = int(obj.get("ContentLength") or 0)
            if size > self.settings.max_download_bytes:
                raise TooLarge(f"s3://{bucket}/{key} is {size:,} bytes; the limit is "
                               f"{self.settings.max_download_bytes:,} (OCR_MAX_DOWNLOAD_BYTES).")
            return obj["Body"].read(self.settings.max_download_bytes + 1)
        except NoCredentialsError as exc:
            raise FetchFailed("No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.") from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            hint = {
                "NoSuchKey": "no such object",
                "NoSuchBucket": "no such bucket",
                "AccessDenied": "access denied: check the AWS credentials and the bucket policy",
                "InvalidAccessKeyId": "unknown access key: check AWS_ACCESS_KEY_ID",
                "SignatureDoesNotMatch": "wrong secret: check AWS_SECRET_ACCESS_KEY",
            }.get(code, code)
            raise FetchFailed(f"Reading s3://{bucket}/{key} failed: {hint}.") from exc
        except BotoCoreError as exc:
            raise FetchFailed(
                f"Reading s3://{bucket}/{key} failed: {exc}. Check AWS_ENDPOINT_URL (for MinIO) and the network."
            ) from exc


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port or _default_port(a.scheme)) == (b.scheme, b.hostname, b.port or _default_port(b.scheme))


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80

