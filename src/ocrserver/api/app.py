"""Assembles the FastAPI application: routers, error handlers, and the warm engine pool's life cycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ocrserver import __version__
from ocrserver.api import hub_routes, labelstudio_routes, middleware, ocr_routes, system_routes
from ocrserver.errors import OcrServerError
from ocrserver.labelstudio.backend import LabelStudioBackend
from ocrserver.labelstudio.files import LabelStudioFiles
from ocrserver.netguard import UrlGuard
from ocrserver.pool import EnginePool
from ocrserver.service import OcrService
from ocrserver.settings import Settings, load_settings
from ocrserver.sources import ImageFetcher

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, pool: EnginePool | None = None) -> FastAPI:
    """Build the app. Engines are warmed when it starts (before it accepts requests), not here."""
    settings = settings or load_settings()
    pool = pool or EnginePool(settings)
    guard = UrlGuard(settings.url_allowlist, trusted_origins=[settings.label_studio_url or "", settings.s3_endpoint_url or ""])
    fetcher = ImageFetcher(timeout=settings.fetch_timeout, max_bytes=settings.max_download_bytes, guard=guard)
    service = OcrService(settings, pool, fetcher)
    labelstudio = LabelStudioBackend(settings, service, LabelStudioFiles(settings, fetcher))
    metrics = middleware.Metrics()
    metrics.queued.set_function(lambda: pool.waiting)
    metrics.running.set_function(lambda: pool.running)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        fast = [service.engine_for(settings.languages)] if settings.profile == "fast" else []
        for name in dict.fromkeys([settings.engine, *fast, *settings.preload_engines]):
            info = pool.info(name)
            if info.available:
                await run_in_threadpool(pool.warm, name)
            else:
                log.warning("engine %s is not available: %s", name, info.reason)
        log.info("ocrserver %s ready: engines %s", __version__, pool.loaded())
        yield
        pool.close()
        fetcher.close()

    app = FastAPI(
        title="ocrserver",
        version=__version__,
        description="OCR with warm, pluggable engines (PP-OCR, Tesseract): text and a "
        "page → block → line → word tree with polygons and confidences.",
        lifespan=lifespan,
        openapi_tags=[  # the order /docs shows them in, whatever order the routes are tried in
            {"name": "ocr", "description": "Read images and PDFs: text, and pages of blocks, lines and words"},
            {"name": "label-studio", "description": "The Label Studio ML backend protocol, at the server root"},
            {"name": "paddleocr-hubserving", "description": "PaddleOCR's hubserving API, for its existing clients"},
            {"name": "system", "description": "Health and metrics"},
        ],
    )
    app.state.settings = settings
    app.state.service = service
    app.state.labelstudio = labelstudio
    app.state.metrics = metrics
    app.add_middleware(middleware.GuardAndMeasure, settings=settings, metrics=metrics)

    @app.exception_handler(OcrServerError)
    async def _ocr_error(request: Request, exc: OcrServerError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.status == 503 else None
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "detail": "Invalid request: " + "; ".join(parts)}, 422)

    # Label Studio's routes first: the router tries routes in order, and a drawn box's /predict is the hot path
    app.include_router(labelstudio_routes.router)
    app.include_router(system_routes.router)
    app.include_router(ocr_routes.router)
    app.include_router(hub_routes.router)
    return app
