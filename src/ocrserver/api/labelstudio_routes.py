"""The Label Studio ML backend protocol at the server root: /setup, /predict, /webhook, /versions."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ocrserver.api.bodies import json_body
from ocrserver.api.jobs import run_job
from ocrserver.errors import InvalidRequest, JobTimedOut, TooLarge
from ocrserver.labelstudio.backend import LabelStudioBackend

router = APIRouter(tags=["label-studio"])
log = logging.getLogger(__name__)


def _backend(request: Request) -> LabelStudioBackend:
    return request.app.state.labelstudio


async def _json_object(request: Request) -> dict[str, Any]:
    payload = await json_body(request, when_empty="The body must be a JSON object.")
    if not isinstance(payload, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return payload


@router.post("/setup", summary="Label Studio connects: validates the labeling config, answers the model version")
async def setup(request: Request) -> dict[str, Any]:
    body = await _json_object(request)
    return await run_in_threadpool(_backend(request).setup, body)


@router.post("/predict", summary="Pre-annotate tasks, or read the region just drawn (params.context)",
             response_description="One prediction per task, in order: {results: [{result, score, model_version}], model_version}")
async def predict(request: Request) -> JSONResponse:
    # The interactive hot path (a box drawn, its text wanted). The answer is a plain JSONResponse, which FastAPI sends
    # as it is, instead of validating a dict against the model it infers from the annotation and encoding it again.
    backend = _backend(request)
    body = await _json_object(request)
    tasks = body.get("tasks")
    if not isinstance(tasks, list):
        raise InvalidRequest("'tasks' must be a list of Label Studio tasks.")
    limit = backend.settings.max_batch * 16
    if len(tasks) > limit:
        raise TooLarge(f"{len(tasks)} tasks in one request; the limit is {limit} (16 × OCR_MAX_BATCH).")
    xml = body.get("label_config")
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidRequest("'label_config' (the project's labeling config) is missing.")
    # parsing takes milliseconds, so it leaves the event loop; the interactive hot path finds it cached
    config = backend.cached_config(xml) or await run_in_threadpool(backend.config, xml)
    params = body.get("params")
    context = params.get("context") if isinstance(params, dict) else None
    if context is not None and not isinstance(context, dict):
        raise InvalidRequest("params.context must be an object with a 'result' list.")
    async def one(task: object) -> dict[str, Any]:
        try:
            return await run_job(backend.settings.request_timeout, backend.predict_task, task, config, context)
        except JobTimedOut as exc:
            log.error("task %s: %s", task.get("id") if isinstance(task, dict) else None, exc.message)
            return backend.empty_prediction()

    # a drawn box's call holds one task, awaited as it is (gather would wrap it in a task of its own)
    predictions = [await one(tasks[0])] if len(tasks) == 1 else await asyncio.gather(*(one(task) for task in tasks))
    return JSONResponse({"results": list(predictions), "model_version": backend.model_version})


@router.post("/webhook", summary="Label Studio events (annotations, training); accepted, nothing to train")
async def webhook(request: Request) -> dict[str, Any]:
    body = await request.body()
    try:
        payload = json.loads(body) if body else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = {}
    action = payload.get("action") if isinstance(payload, dict) else None
    log.info("webhook %s", action)
    return {"status": "ok", "action": action}


@router.get("/versions", summary="Model versions (Label Studio's version list)")
async def versions(request: Request) -> dict[str, Any]:
    return {"versions": [_backend(request).model_version]}
