"""All the cores for a job that runs alone.

The pool runs up to ``workers`` jobs at once (by default one per core), and each engine instance runs ONNX
Runtime on one thread, so two pages in flight keep two cores busy. A page read while nothing else runs left the
other cores idle. Each model is therefore loaded twice: its usual one-thread session, and one that spreads each
operator over all the cores (at most ``settings.LONE_JOB_MAX_THREADS``; its threads sleep instead of spinning
between operators, so an idle wide session costs no CPU). Every run picks one: the wide session while the
engine's job is the only one running, else the narrow one. A page already under way narrows at its next model
run when another job starts (a recognition batch takes tens of milliseconds, the detector a few hundred); until
then the two share the cores.

Dev-set pages through the server, one at a time (2 cores, WORKERS=2): ppocr p50 2422 -> 1495 ms, ppocr-tiny
616 -> 472 ms, the same readings; two pages in flight as many pages a second as before. The cost: each instance
holds about 40 MiB more, and a region read while a page runs waits a little for cores (in-process, p50 10.4 ->
12-13 ms) (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class SpareCoreSession:
    """Stands in for an ``onnxruntime.InferenceSession``: runs go to ``wide`` (``threads`` threads) while
    ``alone()`` says the job is the only one running, else to the session it was made from."""

    def __init__(self, narrow: Any, threads: int, alone: Callable[[], bool]) -> None:
        from onnxruntime import InferenceSession

        options = narrow.get_session_options()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.narrow = narrow
        self.wide = InferenceSession(narrow._model_path, sess_options=options, providers=narrow.get_providers())
        self._alone = alone

    def run(self, output_names: list[str] | None, feed: dict[str, np.ndarray], run_options: Any = None) -> Any:
        session = self.wide if self._alone() else self.narrow
        return session.run(output_names, feed, run_options)

    def __getattr__(self, name: str) -> Any:
        # everything but running (inputs, outputs, metadata, the model's path) is the narrow session's
        return getattr(self.narrow, name)


def use_spare_cores(model: Any, threads: int, alone: Callable[[], bool]) -> Any:
    """A loaded rapidocr detector, recogniser or classifier, its ONNX Runtime session (rapidocr 3.10 keeps it as
    ``model.session.session``) made to run on ``threads`` threads while ``alone()``."""
    model.session.session = SpareCoreSession(model.session.session, threads, alone)
    return model


def never_alone() -> bool:
    """What an engine's job is told until the pool says how to tell (``Engine.share_cores``): never alone."""
    return False
