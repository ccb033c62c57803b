"""Reading request bodies the routes parse themselves (they accept several content types or shapes)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ocrserver.errors import InvalidRequest


async def json_body(request: Request, *, when_empty: str) -> Any:
    """The body parsed as JSON; InvalidRequest (422) saying ``when_empty`` for an empty body, or what is wrong."""
    body = await request.body()
    if not body:
        raise InvalidRequest(when_empty)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}.") from exc
