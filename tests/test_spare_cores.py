"""A job that runs alone uses all the cores; two jobs at once use one each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from PIL import Image

from ocrserver.engines.base import Engine, EngineInfo
from ocrserver.engines.ppocr import PPOCREngine
from ocrserver.pool import EnginePool
from ocrserver.result import Block, Line
from ocrserver.settings import Settings, load_settings
from tests.helpers import render_lines


class AskingEngine(Engine):
    """Reads nothing; answers, when asked to read, whether its job was alone."""

    name = "asking"

    @classmethod
    def probe(cls, settings: Settings) -> EngineInfo:
        return EngineInfo(name=cls.name, available=True, languages=["en"], abilities=["page"])

    def __init__(self, settings: Settings) -> None:
        self.alone: Callable[[], bool] = lambda: True  # replaced by the pool

    def share_cores(self, alone: Callable[[], bool]) -> None:
        self.alone = alone

    def read_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        return []

    def read_region(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        return []


def test_a_job_is_alone_exactly_while_no_other_job_runs() -> None:
    pool = EnginePool(load_settings(workers=2), {"asking": AskingEngine})
    second_holds, first_may_go = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def second_job() -> None:
        with pool.lease("asking") as engine:
            seen["second, with the first running"] = engine.alone()
            second_holds.set()
            first_may_go.wait(10)

    with pool.lease("asking") as first:
        seen["first, before"] = first.alone()
        other = threading.Thread(target=second_job)
        other.start()
        assert second_holds.wait(10)
        seen["first, with the second running"] = first.alone()
        first_may_go.set()
        other.join(10)
        seen["first, after"] = first.alone()
    assert seen == {"first, before": True, "second, with the first running": False,
                    "first, with the second running": False, "first, after": True}


def _read_and_count_cpu(engine: PPOCREngine, image: Image.Image) -> tuple[list[str], float, float]:
    """The page's lines, and the CPU seconds spent by this thread and by all others while reading it."""
    process, thread = time.process_time(), time.thread_time()
    lines = [line.text for block in engine.read_page(image, ["en"]) for line in block.lines]
    own = time.thread_time() - thread
    return lines, own, time.process_time() - process - own


@pytest.mark.skipif(load_settings(workers=2).lone_job_threads() == 0, reason="one core: nothing to spare")
def test_a_page_read_alone_shares_its_work_with_another_core_and_reads_the_same() -> None:
    engine = PPOCREngine(load_settings(workers=2))  # one thread per job when two jobs run
    page = render_lines([f"Line {n}: invoice 2291, total {n},234.50 due on delivery" for n in range(12)]).image
    engine.share_cores(lambda: False)
    engine.read_page(page, ["en"])  # the first read of a size sets ONNX Runtime up
    crowded, own, others = _read_and_count_cpu(engine, page)
    assert others < 0.1 * own, "with another job running, the page should keep to its own thread"
    engine.share_cores(lambda: True)
    engine.read_page(page, ["en"])
    alone, own, others = _read_and_count_cpu(engine, page)
    assert others > 0.3 * own, "read alone, the page should spread its work over the other core too"
    assert alone == crowded == [f"Line {n}: invoice 2291, total {n},234.50 due on delivery" for n in range(12)]


@pytest.mark.skipif(load_settings(workers=2).lone_job_threads() == 0, reason="one core: nothing to spare")
def test_a_fixed_thread_count_holds_even_for_a_job_alone() -> None:
    engine = PPOCREngine(load_settings(workers=2, ort_threads=1))  # OCR_ORT_THREADS=1
    engine.share_cores(lambda: True)
    page = render_lines(["Invoice 2291, total 1,234.50 due on delivery"] * 4).image
    engine.read_page(page, ["en"])
    _, own, others = _read_and_count_cpu(engine, page)
    assert others < 0.1 * own
