"""One exception hierarchy. Each error knows its HTTP status and says what the caller should fix."""

from __future__ import annotations


class OcrServerError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "detail": self.message}


class InvalidRequest(OcrServerError):
    status, code = 422, "invalid_request"


class InvalidImage(OcrServerError):
    """The bytes are not an image we can decode (or are truncated / corrupt)."""

    status, code = 422, "invalid_image"


class TooLarge(OcrServerError):
    """A body, download, batch or page count over its configured limit."""

    status, code = 413, "too_large"


class ImageTooLarge(TooLarge):
    status, code = 413, "image_too_large"


class FetchFailed(OcrServerError):
    """An image URL could not be downloaded; the message names the cause."""

    status, code = 422, "fetch_failed"

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class UnknownEngine(OcrServerError):
    status, code = 400, "unknown_engine"


class EngineUnavailable(OcrServerError):
    """The engine is known but cannot run here (missing package or model data)."""

    status, code = 400, "engine_unavailable"


class UnsupportedLanguage(OcrServerError):
    status, code = 400, "unsupported_language"


class InvalidRegion(OcrServerError):
    status, code = 422, "invalid_region"


class EngineFailed(OcrServerError):
    """The engine raised on this input; other requests are unaffected."""

    status, code = 422, "engine_failed"


class JobTimedOut(OcrServerError):
    status, code = 408, "timeout"


class ServerBusy(OcrServerError):
    status, code = 503, "busy"
