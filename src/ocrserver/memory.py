"""glibc allocator tuning that keeps a threaded OCR server's memory flat (a no-op on other C libraries).

Load benchmark, 8 clients for 180 s (docs/benchmarks.md): without it the RSS grew by ~1 GiB in a minute
as each worker thread's malloc arena kept freed multi-MB page buffers; with both measures it stays flat.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache

M_ARENA_MAX = -8  # mallopt parameter


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - present in glibc only
        return libc
    except (OSError, AttributeError):
        return None


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap malloc arenas; call before any thread starts. MALLOC_ARENA_MAX, when set, wins."""
    libc = _glibc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Hand freed heap back to the operating system (glibc's malloc_trim)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
