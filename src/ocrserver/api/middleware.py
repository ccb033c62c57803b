"""Cross-cutting HTTP concerns: optional HTTP Basic auth, and request metrics."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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


def install(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    user = settings.basic_auth_user
    password = settings.basic_auth_pass.get_secret_value() if settings.basic_auth_pass else None

    @app.middleware("http")
    async def basic_auth_and_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if user and password and request.url.path not in OPEN_PATHS and not _authorized(request, user, password):
            return JSONResponse(
                {"error": "unauthorized", "detail": "HTTP Basic credentials required (BASIC_AUTH_USER / BASIC_AUTH_PASS)."},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="ocrserver"'},
            )
        started = time.perf_counter()
        metrics.in_flight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            metrics.in_flight.dec()
            route = request.scope.get("route")
            name = getattr(route, "path", "unmatched")
            metrics.requests.labels(name, request.method, str(status)).inc()
            metrics.latency.labels(name).observe(time.perf_counter() - started)


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
