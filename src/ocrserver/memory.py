"""glibc allocator tuning that keeps a threaded OCR server's memory flat and its pages quick (a no-op on other
C libraries).

Load benchmark, 8 clients for 180 s (docs/benchmarks.md): without it the RSS grew by ~1 GiB in a minute
as each worker thread's malloc arena kept freed multi-MB page buffers; with one arena and the heap handed back
by ``HeapTrimmer`` it stays flat.
A page's buffers are large (some over 32 MiB): glibc serves blocks over 128 KiB (up to 32 MiB as it adapts) with
a fresh mmap each, and a worker thread's own arena grows in heaps of at most 64 MiB, so every page faulted its
buffers in anew (3-5 million page faults over 62 dev page reads, a tenth of a page's time in the kernel). Blocks up to
256 MiB now come from the one arena's heap and stay there once freed (no trimming of the heap's top on each
``free``): ppocr pages through the server 753 -> 638 ms (p50, the code before and after in turns), the same
memory once quiet. Handing the heap back costs the next page its buffers again (a ppocr-tiny page 570 -> 680 ms
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

# mallopt parameters, each with the environment variable that sets it at start-up (and then wins)
M_TRIM_THRESHOLD = (-1, "MALLOC_TRIM_THRESHOLD_")
M_MMAP_THRESHOLD = (-3, "MALLOC_MMAP_THRESHOLD_")
M_ARENA_MAX = (-8, "MALLOC_ARENA_MAX")
ALLOCATOR_SETTINGS = (
    (M_ARENA_MAX, 1),  # every thread's blocks in one heap, which grows without the 64 MiB bound of a thread's own
    (M_MMAP_THRESHOLD, 256 << 20),  # page buffers from the heap, not a fresh mmap each
    (M_TRIM_THRESHOLD, 1 << 30),  # freed memory stays for the next page; HeapTrimmer hands it back
)


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


def tune_malloc() -> None:
    """One malloc arena whose heap keeps page-sized blocks (``ALLOCATOR_SETTINGS``); call before any thread starts.
    A setting whose environment variable (or ``GLIBC_TUNABLES``) is set is left to it."""
    libc = _glibc()
    if libc is None or "GLIBC_TUNABLES" in os.environ:
        return
    for (parameter, variable), value in ALLOCATOR_SETTINGS:
        if variable not in os.environ:
            libc.mallopt(parameter, value)


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
