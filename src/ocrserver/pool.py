"""The engine pool: warm engine instances, at most ``workers`` OCR jobs running at once.

This is the server's only shared mutable state. Each engine gets up to ``workers`` instances, made
on first need (the default engine's at start-up) and reused; a job leases one instance for its whole
duration, so engines never see two threads at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ocrserver.engines import Engine, EngineInfo, discover_engines
from ocrserver.errors import EngineUnavailable, ServerBusy, UnknownEngine
from ocrserver.settings import Settings

log = logging.getLogger(__name__)


class EnginePool:
    def __init__(self, settings: Settings, engine_classes: dict[str, type[Engine]] | None = None) -> None:
        self.settings = settings
        self.size = max(1, settings.workers)
        self._classes = engine_classes if engine_classes is not None else discover_engines()
        self._infos: dict[str, EngineInfo] = {}
        self._idle: dict[str, queue.LifoQueue[Engine]] = {}
        self._created: dict[str, int] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.size)
        self.max_queue = settings.resolved_max_queue()
        self._waiting = 0
        self._running = 0

    # ---- what exists -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return sorted(self._classes)

    def info(self, name: str) -> EngineInfo:
        engine_class = self._classes.get(name)
        if engine_class is None:
            raise UnknownEngine(f"Unknown engine '{name}'. Available engines: {', '.join(self.names)}.")
        with self._lock:
            if name not in self._infos:
                self._infos[name] = engine_class.probe(self.settings)
            return self._infos[name]

    def infos(self) -> list[EngineInfo]:
        return [self.info(name) for name in self.names]

    def loaded(self) -> dict[str, int]:
        with self._lock:
            return dict(self._created)

    # ---- warm-up -----------------------------------------------------------------------------
    def warm(self, name: str, instances: int | None = None) -> None:
        """Create instances of ``name`` now (all ``workers`` of them by default) so no request pays for loading."""
        count = self.size if instances is None else min(instances, self.size)
        made = []
        for _ in range(count):
            engine = self._create(name)
            if engine is None:
                break
            made.append(engine)
        for engine in made:
            self._idle[name].put(engine)

    # ---- use ---------------------------------------------------------------------------------
    @contextmanager
    def lease(self, name: str, timeout: float | None = None) -> Iterator[Engine]:
        """Borrow a warm instance of engine ``name`` for one job."""
        info = self.info(name)
        if not info.available:
            raise EngineUnavailable(f"Engine '{name}' is not available on this server: {info.reason}")
        wait = self.settings.engine_wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self._lock:
            if self._waiting >= self.max_queue and self._running >= self.size:
                raise ServerBusy(
                    f"All {self.size} OCR workers are busy and {self._waiting} jobs are waiting (OCR_MAX_QUEUE="
                    f"{self.max_queue}); retry in a few seconds."
                )
            self._waiting += 1
        try:
            acquired = self._slots.acquire(timeout=wait)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise ServerBusy(f"All {self.size} OCR workers stayed busy for {wait:g} s (OCR_QUEUE_TIMEOUT); retry later.")
        with self._lock:
            self._running += 1
        try:
            engine = self._take(name, deadline)
            try:
                yield engine
            finally:
                self._idle[name].put(engine)
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> int:
        return self._running

    def job_is_alone(self) -> bool:
        """Whether the job asking is the only one running (a leased engine's job counts itself)."""
        return self._running <= 1

    def _take(self, name: str, deadline: float) -> Engine:
        idle = self._ensure_queue(name)
        try:
            return idle.get_nowait()
        except queue.Empty:
            pass
        engine = self._create(name)
        if engine is not None:
            return engine
        try:
            return idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise ServerBusy(f"No '{name}' engine became free in time; retry later.") from None

    def _ensure_queue(self, name: str) -> queue.LifoQueue[Engine]:
        with self._lock:
            if name not in self._idle:  # not setdefault: a queue (three conditions) made on every lease, then dropped
                self._idle[name] = queue.LifoQueue()
            return self._idle[name]

    def _create(self, name: str) -> Engine | None:
        """A new instance, or None when ``name`` already has ``size`` of them."""
        self._ensure_queue(name)
        with self._lock:
            if self._created.get(name, 0) >= self.size:
                return None
            self._created[name] = self._created.get(name, 0) + 1
        started = time.perf_counter()
        try:
            engine = self._classes[name](self.settings)
            engine.share_cores(self.job_is_alone)
        except Exception:
            with self._lock:
                self._created[name] -= 1
            raise
        log.info("engine %s instance ready in %.2f s", name, time.perf_counter() - started)
        return engine

    def close(self) -> None:
        """Close the idle instances and forget them, so a later lease (after a restart of the app's
        lifespan, or a straggler during shutdown) makes a fresh instance instead of waiting forever for
        one that is gone. Instances out on lease stay alive and return to the pool as usual."""
        with self._lock:
            queues = list(self._idle.items())
        for name, idle in queues:
            while True:
                try:
                    engine = idle.get_nowait()
                except queue.Empty:
                    break
                with self._lock:
                    self._created[name] -= 1
                engine.close()
