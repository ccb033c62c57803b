"""Cross-cutting HTTP concerns: optional HTTP Basic auth, and request metrics."""

from __future__ import annotations

import base64
import binascii
import secrets
import time

from fastapi import Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
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
        self.ls_tasks = Counter(
            "ocrserver_labelstudio_tasks_total", "Label Studio tasks predicted", ["kind", "outcome"], registry=self.registry
        )


class GuardAndMeasure:
    """Plain ASGI middleware (no per-request task or stream, unlike ``@app.middleware``): optional
    HTTP Basic auth, then request counts, latencies and in-flight gauge."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.user = settings.basic_auth_user
        self.password = settings.basic_auth_pass.get_secret_value() if settings.basic_auth_pass else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.user and self.password and scope["path"] not in OPEN_PATHS and not _authorized(request, self.user, self.password):
            response = JSONResponse(
                {"error": "unauthorized", "detail": "HTTP Basic credentials required (BASIC_AUTH_USER / BASIC_AUTH_PASS)."},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="ocrserver"'},
            )
            await response(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


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
