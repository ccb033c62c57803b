"""Cross-cutting HTTP concerns: optional authentication (HTTP Basic, API key), a request-body cap, metrics, and
the server's own time on each answer (a ``Server-Timing`` header, shown by browsers' developer tools)."""

from __future__ import annotations

import base64
import binascii
import secrets
import time

from fastapi import Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocrserver.settings import Settings

OPEN_PATHS = {"/health", "/"}  # liveness stays open: Label Studio and orchestrators probe it


class Metrics:
    """Prometheus metrics of one app, in their own registry (no process-global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ocrserver_requests_total", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "ocrserver_request_seconds", "HTTP request latency", ["route"], registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        )
        self.in_flight = Gauge("ocrserver_requests_in_flight", "HTTP requests being served", registry=self.registry)
        self.queued = Gauge("ocrserver_jobs_queued", "OCR jobs waiting for a worker", registry=self.registry)
        self.running = Gauge("ocrserver_jobs_running", "OCR jobs running on a worker", registry=self.registry)


class GuardAndMeasure:
    """Plain ASGI middleware (no per-request task or stream, unlike ``@app.middleware``): authentication when
    configured (HTTP Basic and/or an API key; either one passes), a cap on the request body, then request
    counts, latencies and the in-flight gauge, and ``Server-Timing: app;dur=<ms>, recv;dur=<ms>``: ``app`` is the
    time from the whole request having arrived to its answer starting (what the server adds to a call, network and
    client apart), ``recv`` the time its body took to arrive after its headers (a slow upload, or a client that
    sends its headers and its body apart, as Python's http.client does)."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.user = settings.basic_auth_user
        self.password = settings.basic_auth_pass.get_secret_value() if settings.basic_auth_pass else None
        self.api_key = settings.api_key.get_secret_value() if settings.api_key else None
        self.max_body = settings.max_request_bytes

    def _allowed(self, request: Request) -> bool:
        basic = bool(self.user and self.password)
        if not basic and not self.api_key:
            return True
        if basic and _authorized(request, self.user or "", self.password or ""):
            return True
        return bool(self.api_key) and _has_api_key(request, self.api_key or "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if scope["path"] not in OPEN_PATHS and not self._allowed(request):
            ways = " or ".join(w for w, on in (("HTTP Basic (BASIC_AUTH_USER / BASIC_AUTH_PASS)", self.user),
                                                ("an X-API-Key header (OCR_API_KEY)", self.api_key)) if on)
            response = JSONResponse({"error": "unauthorized", "detail": f"Credentials required: {ways}."}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="ocrserver"'} if self.user else None)
            await response(scope, receive, send)
            return
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _too_large(self.max_body)(scope, receive, send)
            return
        started = time.perf_counter()
        arrived = started  # when the request's last byte came in: its body's end, if the app reads its body
        status = 500
        received = 0
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, arrived
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
                if not message.get("more_body", False):
                    arrived = time.perf_counter()
            return message

        async def send_and_record(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                answered = time.perf_counter()
                MutableHeaders(scope=message).append(
                    "Server-Timing", f"app;dur={(answered - arrived) * 1000:.2f}, recv;dur={(arrived - started) * 1000:.2f}"
                )
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, counted_receive, send_and_record)
        except _BodyTooLarge:
            status = 413
            if not response_started:
                await _too_large(self.max_body)(scope, receive, send)
        finally:
            self.metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"error": "too_large", "detail": f"The request body is over {limit:,} bytes (OCR_MAX_REQUEST_BYTES)."},
        status_code=413,
    )


def _has_api_key(request: Request, key: str) -> bool:
    given = request.headers.get("x-api-key", "")
    if not given:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token if scheme.lower() == "bearer" else ""
    return bool(given) and secrets.compare_digest(given.encode(), key.encode())


def _authorized(request: Request, user: str, password: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given_user, _, given_password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = secrets.compare_digest(given_user.encode(), user.encode())
    password_ok = secrets.compare_digest(given_password.encode(), password.encode())
    return user_ok and password_ok
