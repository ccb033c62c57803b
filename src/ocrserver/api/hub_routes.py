"""PaddleOCR-hubserving compatible endpoints: ``POST /predict/ocr_system`` and ``POST /ocr_system``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ocrserver.api.jobs import run_job
from ocrserver.api.schemas import HubRequest, HubResponse
from ocrserver.errors import OcrServerError, TooLarge
from ocrserver.result import OcrResult
from ocrserver.service import OcrOptions, OcrService

router = APIRouter(tags=["paddleocr-hubserving"])


def _items(result: OcrResult) -> list[dict[str, Any]]:
    return [
        {
            "text": line.text,
            "confidence": round(line.confidence, 4),
            "text_region": [[int(round(x)), int(round(y))] for x, y in line.polygon],
        }
        for page in result.pages
        for line in page.lines
    ]


async def _ocr_system(request: Request, body: HubRequest) -> dict[str, Any]:
    service: OcrService = request.app.state.service
    if len(body.images) > service.settings.max_batch:
        raise TooLarge(f"{len(body.images)} images; the limit is {service.settings.max_batch} (OCR_MAX_BATCH).")
    options = OcrOptions(level="line")

    async def one(index: int, image: str) -> tuple[list[dict[str, Any]], str]:
        try:
            return _items(await run_job(service.settings.request_timeout, service.read_source, image, options)), ""
        except OcrServerError as exc:
            return [], f"image {index}: {exc.message}"

    answers = await asyncio.gather(*(one(i, image) for i, image in enumerate(body.images)))
    errors = [message for _, message in answers if message]
    return {"msg": "; ".join(errors), "status": "101" if errors else "000", "results": [items for items, _ in answers]}


router.add_api_route(
    "/predict/ocr_system", _ocr_system, methods=["POST"], response_model=HubResponse, summary="PaddleOCR hubserving OCR"
)
router.add_api_route(
    "/ocr_system", _ocr_system, methods=["POST"], response_model=HubResponse, summary="Same as /predict/ocr_system"
)
