"""Where image bytes come from: http(s) URLs, data URIs and base64 strings."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote_to_bytes, urljoin, urlsplit, urlunsplit

import httpx

from ocrserver import __version__
from ocrserver.errors import FetchFailed, ImageTooLarge, InvalidImage
from ocrserver.netguard import UrlGuard, origin_of

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
    """Downloads over http(s) with a timeout, a size cap and the SSRF guard. One per server, thread-safe.

    Redirects are followed by hand (at most MAX_REDIRECTS), each hop checked by the guard; the connection
    goes to the address the guard checked (Host header and TLS SNI keep the name); credentials are
    dropped when a redirect leaves the first URL's origin.
    """

    MAX_REDIRECTS = 5

    def __init__(self, *, timeout: float, max_bytes: int, guard: UrlGuard | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.guard = guard or UrlGuard(allowlist=[], trusted_origins=[])
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": f"ocrserver/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> bytes:
        """GET ``url``; raise FetchFailed naming the cause (refused, timeout, HTTP status...)."""
        with self._open("GET", url, headers) as (response, final_url):
            shown = safe_url(final_url)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise ImageTooLarge(
                    f"{shown} is {int(declared):,} bytes; the limit is {self.max_bytes:,} (OCR_MAX_DOWNLOAD_BYTES)."
                )
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ImageTooLarge(f"{shown} is larger than {self.max_bytes:,} bytes (OCR_MAX_DOWNLOAD_BYTES).")
                    chunks.append(chunk)
            except httpx.HTTPError as exc:
                raise self._failure(exc, shown) from exc
            return b"".join(chunks)

    def request_json(self, method: str, url: str, headers: dict[str, str] | None = None, body: object = None) -> tuple[int, object]:
        """A small JSON request through the same guard (Label Studio's token and health endpoints)."""
        with self._open(method, url, headers, body, accept_errors=True) as (response, final_url):
            try:
                content = response.read()[: 1024 * 1024]
            except httpx.HTTPError as exc:  # the connection dropped mid-answer
                raise self._failure(exc, safe_url(final_url)) from exc
            try:
                return response.status_code, json.loads(content) if content else None
            except ValueError:
                return response.status_code, None

    @contextmanager
    def _open(
        self, method: str, url: str, headers: dict[str, str] | None, body: object = None, accept_errors: bool = False
    ) -> Iterator[tuple[httpx.Response, str]]:
        """The final response (after guarded redirects) and the URL it came from."""
        first_origin = origin_of(url)
        current = url
        for _ in range(self.MAX_REDIRECTS + 1):
            target = self.guard.check(current)  # only http(s), only allowed addresses
            parts = urlsplit(current)
            shown = safe_url(current)
            hop_headers = dict(headers or {}) if origin_of(current) == first_origin else {}
            request = self._client.build_request(
                method, _with_address(current, target.address), headers={**hop_headers, "Host": parts.netloc.rsplit("@", 1)[-1]},
                json=body, extensions={"sni_hostname": target.host} if parts.scheme.lower() == "https" else {},
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise self._failure(exc, shown) from exc
            try:
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    method, body = ("GET", None) if response.status_code in (301, 302, 303) else (method, body)
                    continue
                if response.status_code >= 400 and not accept_errors:
                    raise FetchFailed(
                        f"Downloading {shown} failed: HTTP {response.status_code} {response.reason_phrase}"
                        + _status_hint(response.status_code),
                        http_status=response.status_code,
                    )
                yield response, current
                return
            finally:
                response.close()
        raise FetchFailed(f"Downloading {safe_url(url)} redirected more than {self.MAX_REDIRECTS} times.")

    def _failure(self, exc: httpx.HTTPError, shown: str) -> FetchFailed:
        if isinstance(exc, httpx.TimeoutException):
            return FetchFailed(f"Downloading {shown} timed out after {self.timeout:g} s (OCR_FETCH_TIMEOUT); is the host up?")
        if isinstance(exc, httpx.ConnectError):
            return FetchFailed(f"Could not connect to {shown}: {_reason(exc)}. Check the URL and that the host is reachable.")
        return FetchFailed(f"Downloading {shown} failed: {_reason(exc)}.")


def _with_address(url: str, address: str) -> str:
    """``url`` with its host replaced by the checked address."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


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
