"""OCR_PRECISION: PP-OCR in fp32 on ONNX Runtime, or in bf16 on OpenVINO where the CPU computes it natively."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ocrserver.engines.bf16 import cpu_flags, resolve_precision
from ocrserver.engines.ppocr import PPOCREngine, PPOCRTinyEngine
from ocrserver.settings import load_settings
from tests.conftest import load_label, needs_native_bf16

ZEN4 = frozenset("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni".split())
SAPPHIRE_RAPIDS = frozenset("fpu sse2 avx2 avx512f amx_tile amx_bf16".split())
SKYLAKE = frozenset("fpu sse2 avx2 avx512f avx512bw".split())


def test_auto_takes_bf16_only_where_the_cpu_computes_it_and_an_impossible_request_says_what_to_set() -> None:
    assert resolve_precision("auto", "cpu", ZEN4) == resolve_precision("auto", "cpu", SAPPHIRE_RAPIDS) == "bf16"
    assert resolve_precision("auto", "cpu", SKYLAKE) == resolve_precision("auto", "cuda:0", ZEN4) == "fp32"
    assert resolve_precision("fp32", "cpu", ZEN4) == "fp32"
    with pytest.raises(ValueError, match="no avx512_bf16 or amx_bf16.*OCR_PRECISION=fp32 or auto"):
        resolve_precision("bf16", "cpu", SKYLAKE)
    with pytest.raises(ValueError, match="DEVICE=cuda"):
        resolve_precision("bf16", "cuda", ZEN4)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx512f avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx512f", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_an_engine_that_cannot_run_the_precision_asked_for_is_listed_unavailable_with_the_fix() -> None:
    for engine in (PPOCREngine, PPOCRTinyEngine):
        info = engine.probe(load_settings(precision="bf16", device="cuda"))
        assert not info.available and info.reason.startswith("OCR_PRECISION=bf16 cannot run natively with DEVICE=cuda")
        assert info.reason.endswith("use OCR_PRECISION=fp32 or auto.")
    assert PPOCREngine.probe(load_settings(precision="fp32")).version.endswith("fp32")


@pytest.mark.slow
@needs_native_bf16
def test_bf16_reads_a_real_receipt_as_fp32_does(dev_data: Path) -> None:
    """The two precisions agree on the lines of a real page; the engine says which one it runs."""
    label = load_label(dev_data, "sroie_025")
    image = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    readings = {}
    for precision in ("fp32", "bf16"):
        settings = load_settings(workers=1, precision=precision)
        assert ("openvino" in PPOCREngine.probe(settings).version) == (precision == "bf16")
        engine = PPOCREngine(settings)
        readings[precision] = [line.text for block in engine.read_page(image, ["en"]) for line in block.lines]
    fp32, bf16 = readings["fp32"], readings["bf16"]
    assert len(fp32) > 20
    same = sum(line in bf16 for line in fp32)
    assert same >= 0.9 * len(fp32), (fp32, bf16)
