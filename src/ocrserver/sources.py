"""Where image bytes come from: http(s) URLs, data URIs and base64 strings."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

import httpx

from ocrserver import __version__
from ocrserver.errors import FetchFailed, ImageTooLarge, InvalidImage, InvalidRequest

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+/-]*)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.IGNORECASE)


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]{1,15}://")


def is_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def has_url_scheme(value: str) -> bool:
    """True for anything that looks like ``scheme://...`` (base64 never contains "://")."""
    return bool(_SCHEME.match(value))


def decode_base64(value: str, max_bytes: int) -> bytes:
    """A base64 string or ``data:`` URI -> bytes, with errors that say what is wrong."""
    text = value.strip()
    match = _DATA_URI.match(text)
    if match:
        payload = text[match.end():]
        if not match.group("b64"):
            from urllib.parse import unquote_to_bytes

            return unquote_to_bytes(payload)
        text = payload
    if len(text) * 3 // 4 > max_bytes:
        raise ImageTooLarge(f"The base64 image is over {max_bytes:,} bytes (OCR_MAX_UPLOAD_BYTES).")
    compact = re.sub(r"\s+", "", text)
    compact += "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImage(f"image_base64 is not valid base64 ({exc}). Send the file's bytes base64-encoded.") from exc


class ImageFetcher:
    """Downloads images over http(s) with a timeout and a size cap. One instance per server, thread-safe."""

    def __init__(self, *, timeout: float, max_bytes: int) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": f"ocrserver/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> bytes:
        """GET ``url``; raise FetchFailed naming the cause (refused, timeout, HTTP status...)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidRequest(f"Only http(s) URLs can be fetched, got {safe_url(url)!r}.")
        shown = safe_url(url)
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    raise FetchFailed(
                        f"Downloading {shown} failed: HTTP {response.status_code} {response.reason_phrase}"
                        + _status_hint(response.status_code),
                        http_status=response.status_code,
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise ImageTooLarge(
                        f"{shown} is {int(declared):,} bytes; the limit is {self.max_bytes:,} (OCR_MAX_DOWNLOAD_BYTES)."
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ImageTooLarge(
                            f"{shown} is larger than {self.max_bytes:,} bytes (OCR_MAX_DOWNLOAD_BYTES)."
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise FetchFailed(
                f"Downloading {shown} timed out after {self.timeout:g} s (OCR_FETCH_TIMEOUT); is the host up?"
            ) from exc
        except httpx.ConnectError as exc:
            raise FetchFailed(f"Could not connect to {shown}: {_reason(exc)}. Check the URL and that the host is reachable.") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchFailed(f"Downloading {shown} redirected too many times.") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"Downloading {shown} failed: {_reason(exc)}.") from exc


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "unknown host name"
    return text


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return " (the server wants credentials or refuses them)."
    if status == 404:
        return " (no file at that URL)."
    return "."


def safe_url(url: str) -> str:
    """The URL without its query string or user info, so tokens never reach an error message or log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"
