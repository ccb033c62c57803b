"""``/v1/ocr``, ``/v1/ocr/batch`` and ``/v1/engines``."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ocrserver.api.bodies import json_body
from ocrserver.api.jobs import run_job
from ocrserver.api.schemas import (
    BatchImage,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    FormatName,
    OcrJsonRequest,
    OcrOptionsIn,
    OcrResponse,
)
from ocrserver.errors import InvalidRequest, OcrServerError, TooLarge
from ocrserver.service import OcrOptions, OcrService

router = APIRouter(prefix="/v1", tags=["ocr"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 413, 422, 503)
}

_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the image or PDF"},
        "engine": {"type": "string"},
        "profile": {"type": "string", "enum": ["accurate", "fast"]},
        "lang": {"type": "string", "description": "e.g. en, zh, de+en"},
        "level": {"type": "string", "enum": ["page", "block", "line", "word"]},
        "regions": {"type": "string", "description": "JSON list of [x0,y0,x1,y1] or [[x,y],...]"},
        "pages": {"type": "string", "description": "JSON list of 0-based pages of a PDF or a multi-page TIFF"},
        "format": {"type": "string", "enum": ["json", "text"]},
    },
    "required": ["file"],
}


def _service(request: Request) -> OcrService:
    return request.app.state.service


def _options(model: OcrOptionsIn, defaults: OcrOptionsIn | None = None) -> OcrOptions:
    base = defaults or OcrOptionsIn()
    given = model.model_fields_set
    return OcrOptions(
        engine=model.engine if "engine" in given else base.engine,
        profile=model.profile if "profile" in given else base.profile,
        languages=model.lang if "lang" in given else base.lang,
        level=model.level if "level" in given else base.level,
        regions=OcrOptions.parse_regions(model.regions if "regions" in given else base.regions),
        pages=model.pages if "pages" in given else base.pages,
    )


def _render(result_dict: dict[str, Any], text: str, fmt: FormatName) -> Response:
    if fmt == "text":
        return PlainTextResponse(text)
    return JSONResponse(result_dict)


@router.post(
    "/ocr",
    summary="Read one image (upload, URL or base64)",
    response_model=OcrResponse,
    responses={**_ERRORS, 200: {"content": {"text/plain": {}}}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
                "application/json": {"schema": OcrJsonRequest.model_json_schema(ref_template="#/components/schemas/{model}")},
            },
        }
    },
)
async def ocr(
    request: Request, format: Annotated[FormatName | None, Query(description="json (default) or text")] = None
) -> Response:
    service = _service(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        data, model, body_format = await _read_multipart(request, service.settings.max_upload_bytes)
        options = _options(model)
        read_as = options.for_answer_in(format or body_format)
        result = await run_job(service.settings.request_timeout, service.read_bytes, data, read_as)
    elif content_type.startswith("application/json") or not content_type:
        payload = await json_body(
            request, when_empty="The request body is empty: send JSON with image_url or image_base64, or a multipart 'file'."
        )
        try:
            body = OcrJsonRequest.model_validate(payload)
        except ValidationError as exc:
            raise InvalidRequest(_validation_message(exc)) from exc
        options = _options(body)
        source = body.image_url if body.image_url is not None else body.image_base64
        assert source is not None
        body_format = body.format
        if body.image_url is not None and not body.image_url.strip():
            raise InvalidRequest("image_url is empty.")
        read_as = options.for_answer_in(format or body_format)
        result = await run_job(service.settings.request_timeout, service.read_source, source, read_as)
    else:
        raise InvalidRequest(
            f"Unsupported Content-Type {content_type!r}: send multipart/form-data with a 'file' field, "
            "or JSON with image_url or image_base64."
        )
    return _render(result.to_dict(options.level), result.text, format or body_format)


@router.post(
    "/ocr/batch",
    summary="Read many images; one result or error per image, in order",
    response_model=BatchResponse,
    responses=_ERRORS,
)
async def ocr_batch(request: Request, body: BatchRequest) -> JSONResponse:
    service = _service(request)
    limit = service.settings.max_batch
    if len(body.images) > limit:
        raise TooLarge(f"The batch has {len(body.images)} images; the limit is {limit} (OCR_MAX_BATCH). Split it.")

    async def one(index: int, item: BatchImage | str) -> dict[str, Any]:
        try:
            image = item if isinstance(item, BatchImage) else _bare_image(item)
            options = _options(image, defaults=body)
            source = image.image_url if image.image_url is not None else image.image_base64
            assert source is not None
            result = await run_job(service.settings.request_timeout, service.read_source, source, options)
            return {"index": index, "ok": True, "status": 200, "result": result.to_dict(options.level)}
        except OcrServerError as exc:
            return {"index": index, "ok": False, "status": exc.status, "error": exc.to_dict()}

    results = await asyncio.gather(*(one(index, item) for index, item in enumerate(body.images)))
    return JSONResponse({"results": list(results)})


@router.get("/engines", summary="Engines, their languages, versions and abilities")
async def engines(request: Request) -> dict[str, Any]:
    service = _service(request)
    return {
        "default": service.settings.engine,
        "profile": service.settings.profile,
        "default_languages": service.settings.languages,
        "engines": [info.to_dict() for info in await run_in_threadpool(service.pool.infos)],
    }


def _bare_image(value: str) -> BatchImage:
    from ocrserver.sources import is_url

    stripped = value.strip()
    return BatchImage(image_url=stripped) if is_url(stripped) else BatchImage(image_base64=value)


async def _read_multipart(request: Request, max_bytes: int) -> tuple[bytes, OcrOptionsIn, FormatName]:
    try:
        form = await request.form(max_part_size=max_bytes)
    except Exception as exc:  # starlette raises its own MultiPartException / HTTPException variants
        raise InvalidRequest(f"The multipart body could not be parsed: {exc}.") from exc
    upload = form.get("file") or form.get("image")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("The multipart form needs the image in a file field named 'file'.")
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"The upload is over {max_bytes:,} bytes (OCR_MAX_UPLOAD_BYTES).")
    fields: dict[str, Any] = {}
    for name in ("engine", "profile", "lang", "level"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    for name in ("regions", "pages"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            try:
                fields[name] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"The '{name}' field must be JSON, e.g. [[10, 10, 200, 40]]: {exc}.") from exc
    fmt = form.get("format")
    try:
        model = OcrOptionsIn.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(_validation_message(exc)) from exc
    if fmt not in (None, "", "json", "text"):
        raise InvalidRequest("format must be 'json' or 'text'.")
    return data, model, "text" if fmt == "text" else "json"


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg')}")
    return "Invalid request: " + "; ".join(parts)
