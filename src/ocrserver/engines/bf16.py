"""PP-OCR in bfloat16 on CPUs that compute it natively, through OpenVINO.

ONNX Runtime runs PP-OCR's ONNX models in float32 only on x86. OpenVINO runs the same files with bfloat16
matrix maths where the CPU has it in hardware (AVX512_BF16: AMD Zen 4 and later, Intel Cooper Lake; AMX:
Intel Sapphire Rapids and later). Dev set through the server: ``ppocr`` pages p50 1794 -> 977 ms at the same
accuracy (bag-of-words F1 0.869 / 0.870, detection F1 0.834 / 0.834), ``ppocr-tiny`` 417 -> 365 ms; regions'
box CER 0.056 either way. OpenVINO in float32 is no quicker than ONNX Runtime here.

It is not the default (OCR_PRECISION=fp32): OpenVINO holds much more memory. Load benchmark, 8 clients for
300 s: 6.2 requests/s instead of 4.4, but RSS levels off at 2.7-2.8 GiB instead of 1.5 GiB with ``SHAPES_KEPT``
shapes per model (at OpenVINO's default of 5000: 4.6 GiB after 3 minutes and still rising). Most of it is
not the shapes: one ``ppocr`` instance after the 61 dev pages holds 194 MiB in fp32, 1075 MiB in bf16, 892 MiB
keeping no shapes; it is the intermediate buffers, kept at the size of the largest page seen. Handing them
back after each page (``CompiledModel.release_memory``) leaves 706 MiB and makes pages 19 % slower; padding
line widths to multiples of 64 px and page sizes to 128 px (fewer shapes) saves 45 MiB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

Precision = Literal["fp32", "bf16"]
# /proc/cpuinfo flags of CPUs with bfloat16 arithmetic in hardware
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
SHAPES_KEPT = 256


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (none where there is no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def resolve_precision(requested: Literal["auto", "fp32", "bf16"], device: str, flags: frozenset[str]) -> Precision:
    """The precision PP-OCR runs in: ``auto`` is bf16 on a CPU that computes it natively, else fp32.
    Raises ValueError for bf16 where it would not run natively (a GPU device, or a CPU without it)."""
    on_cpu = not device.lower().startswith("cuda")
    native = on_cpu and bool(flags & NATIVE_BF16_FLAGS)
    if requested == "auto":
        return "bf16" if native else "fp32"
    if requested == "bf16" and not native:
        where = "with DEVICE=" + device if not on_cpu else "on this CPU (no avx512_bf16 or amx_bf16 flag)"
        raise ValueError(f"OCR_PRECISION=bf16 cannot run natively {where}; use OCR_PRECISION=fp32 or auto.")
    return "fp32" if requested == "fp32" else "bf16"


class OpenVINOSession:
    """Stands in for rapidocr's ONNX Runtime session: the same model file, compiled by OpenVINO in bf16.
    One inference request, so one caller at a time (an engine instance reads one image at a time)."""

    def __init__(self, model_path: str | Path, threads: int) -> None:
        import openvino

        compiled = openvino.Core().compile_model(str(model_path), "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16",
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            # several engine instances share the cores; pinning would put their threads on the same ones
            "ENABLE_CPU_PINNING": False,
            # kernels prepared per input shape, kept for reuse: OpenVINO keeps 5000, and a server sees new page
            # sizes and line widths all day; keeping none loses most of the gain (tiny pages 300 -> 450 ms)
            "CPU_RUNTIME_CACHE_CAPACITY": SHAPES_KEPT,
        })
        self._request = compiled.create_infer_request()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self._request.infer([batch])
        return self._request.get_output_tensor().data.copy()  # the request's buffer is reused by the next call


def move_to_openvino(model: Any, threads: int) -> Any:
    """A loaded rapidocr detector, recogniser or classifier, its ONNX Runtime session replaced by a bf16
    OpenVINO one on the same model file (rapidocr 3.10 keeps it as ``model.session.session``)."""
    model.session = OpenVINOSession(model.session.session._model_path, threads)
    return model
