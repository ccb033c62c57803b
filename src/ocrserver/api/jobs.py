"""Running blocking OCR work from the event loop, with the per-job time limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from ocrserver.errors import JobTimedOut

T = TypeVar("T")


async def run_job(limit: float, function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a worker thread; JobTimedOut (408) after ``limit`` seconds.

    The thread cannot be killed: it finishes in the background and its result is dropped, while the
    engine pool's bounded slots keep such stragglers from piling up.
    """
    try:
        async with asyncio.timeout(limit):
            return await run_in_threadpool(function, *args)
    except TimeoutError:
        raise JobTimedOut(
            f"The OCR job took longer than {limit:g} s (OCR_REQUEST_TIMEOUT). Send a smaller image, fewer pages, "
            "or raise the limit."
        ) from None
