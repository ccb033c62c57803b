"""``GET /health`` and ``GET /``: liveness plus what is loaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from ocrserver import __version__

router = APIRouter(tags=["system"])

MODEL_CLASS = "OCRServer"


@router.get("/health", summary="Liveness and loaded engines")
@router.get("/", include_in_schema=False)
async def health(
    request: Request,
    check_label_studio: bool = Query(False, description="also check that Label Studio answers with the configured key"),
) -> dict[str, Any]:
    service = request.app.state.service
    labelstudio = request.app.state.labelstudio
    body: dict[str, Any] = {
        "status": "UP",
        "model_class": MODEL_CLASS,
        "model_version": labelstudio.model_version,
        "version": __version__,
        "default_engine": service.settings.engine,
        "engines_loaded": service.pool.loaded(),
        "workers": service.pool.size,
    }
    files = labelstudio.files
    body["label_studio"] = await run_in_threadpool(files.check) if check_label_studio else files.status()
    return body


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
