"""``GET /health`` and ``GET /``: liveness plus what is loaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ocrserver import __version__

router = APIRouter(tags=["system"])

MODEL_CLASS = "OCRServer"


@router.get("/health", summary="Liveness and loaded engines")
@router.get("/", include_in_schema=False)
async def health(request: Request) -> dict[str, Any]:
    service = request.app.state.service
    return {
        "status": "UP",
        "model_class": MODEL_CLASS,
        "version": __version__,
        "default_engine": service.settings.engine,
        "engines_loaded": service.pool.loaded(),
        "workers": service.pool.size,
    }
