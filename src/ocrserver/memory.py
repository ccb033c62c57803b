"""glibc allocator tuning that keeps a threaded OCR server's memory flat (a no-op on other C libraries).

Load benchmark, 8 clients for 180 s (docs/benchmarks.md): without it the RSS grew by ~1 GiB in a minute
as each worker thread's malloc arena kept freed multi-MB page buffers; with both measures it stays flat.
Handing the heap back costs the next page its buffers again (page faults: a ppocr-tiny page 570 -> 680 ms
when it follows a trim), so ``HeapTrimmer`` trims when the server goes quiet, and under load at most every
few seconds, not after each page. Quiet means no job under way too: pages read one after another, each longer
than the quiet time, were trimmed in the middle of the next one (dev-set pages through the server, two passes
each, the code before and after in turns: ppocr p50 1350 / 1291 -> 1231 / 1067 ms, each page 13 % quicker as a
median; ppocr-tiny, pages mostly under a second, 5 %).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable
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


class HeapTrimmer:
    """Releases freed heap (``release_free_memory``) after whole pages without making the next page pay:
    once no page has been read for ``quiet_seconds`` and no job is ``under_way()``, and while pages keep
    coming at most every ``busy_interval`` seconds. One per server; thread-safe."""

    def __init__(
        self, quiet_seconds: float = 1.0, busy_interval: float = 5.0, under_way: Callable[[], bool] = lambda: False
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.busy_interval = busy_interval
        self._under_way = under_way
        self._lock = threading.Lock()
        self._last_page = self._last_trim = time.monotonic()
        self._timer: threading.Timer | None = None
        self.trims = 0

    def page_read(self) -> None:
        """Note that a whole page was read (its buffers are free now)."""
        with self._lock:
            self._last_page = now = time.monotonic()
            if now - self._last_trim >= self.busy_interval:
                self._trim(now)
            elif self._timer is None:
                self._start_timer(self.quiet_seconds)

    def _when_quiet(self) -> None:
        with self._lock:
            self._timer = None
            now = time.monotonic()
            if self._last_trim >= self._last_page:
                return  # already trimmed since the last page
            still_busy_for = self._last_page + self.quiet_seconds - now
            if still_busy_for > 0:
                self._start_timer(still_busy_for)
            elif self._under_way():  # the next page is being read: its buffers are in use and freed as it goes
                self._start_timer(self.quiet_seconds)
            else:
                self._trim(now)

    def _start_timer(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._when_quiet)
        self._timer.daemon = True
        self._timer.start()

    def _trim(self, now: float) -> None:
        release_free_memory()
        self._last_trim = now
        self.trims += 1
