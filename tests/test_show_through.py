"""A sheet printed on both sides: its back's print shows through faintly, mirrored, and is no text of the page."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFilter
from rapidfuzz.distance import Levenshtein

from tests.helpers import encode, font

FRONT = ["Invoice number 4471-B", "Delivered to the main office", "Total due: 128.40 EUR", "Payment within 30 days"]
BACK = [
    "Terms and conditions of sale", "Goods remain our property until paid", "Claims within eight days of delivery",
    "Interest of 1.5 % a month on late payment", "Place of jurisdiction is the seller's seat",
    "Prices are net of any discount agreed", "Returns only in their original packing",
]
PAPER = np.array([245, 240, 228]) / 255


def _sheet(lines: list[str], top: int) -> Image.Image:
    sheet = Image.new("L", (1000, 1000), 255)
    draw = ImageDraw.Draw(sheet)
    for index, text in enumerate(lines):
        draw.text((70, top + index * 56), text, fill=0, font=font(28))
    return sheet


def _printed_on_both_sides(back_seen: Image.Transpose | None, darkness: float = 0.25) -> Image.Image:
    """The front with the back showing through ``darkness`` as dark as its print, blurred by the paper, mirrored as
    the sheet was turned over (``back_seen``), or as it is (None: the page's own faint print)."""
    back = _sheet(BACK, top=300)  # below the front's lines either way up
    if back_seen is not None:
        back = back.transpose(back_seen)
    front = np.asarray(_sheet(FRONT, top=40), dtype=float) / 255
    behind = np.asarray(back.filter(ImageFilter.GaussianBlur(1.0)), dtype=float) / 255
    page = front * (1 - darkness * (1 - behind))
    return Image.fromarray((page[..., None] * PAPER * 255).astype(np.uint8))


def _lines_read(client: TestClient, image: Image.Image, engine: str) -> list[str]:
    response = client.post("/v1/ocr", files={"file": ("sheet.png", encode(image))}, data={"engine": engine})
    assert response.status_code == 200, response.text
    return [line["text"] for block in response.json()["pages"][0]["blocks"] for line in block["lines"]]


def _nearest(text: str, candidates: list[str]) -> float:
    return min(Levenshtein.normalized_distance(text.casefold(), candidate.casefold()) for candidate in candidates)


TURNED_OVER = pytest.mark.parametrize(
    "turned_over", [Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM],
    ids=["over-its-long-edge", "over-its-short-edge"],
)


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny"])
@TURNED_OVER
def test_a_page_printed_on_both_sides_reads_as_its_front_alone(
    client: TestClient, engine: str, turned_over: Image.Transpose
) -> None:
    _assert_front_alone(_lines_read(client, _printed_on_both_sides(turned_over), engine))


@TURNED_OVER
def test_tesseract_reads_a_page_printed_on_both_sides_as_its_front_alone(
    tesseract_client: TestClient, turned_over: Image.Transpose
) -> None:
    _assert_front_alone(_lines_read(tesseract_client, _printed_on_both_sides(turned_over), "tesseract"))


def _assert_front_alone(lines: list[str]) -> None:
    assert all(_nearest(text, lines) <= 0.1 for text in FRONT), lines
    assert [text for text in lines if _nearest(text, FRONT) > 0.5] == []


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_faint_print_of_the_page_itself_is_read(client: TestClient, engine: str) -> None:
    """The back's print as it is, not mirrored: the page's own faint lines (a grey footer, a faded stamp)."""
    lines = _lines_read(client, _printed_on_both_sides(None), engine)
    assert all(_nearest(text, lines) <= 0.1 for text in FRONT), lines
    assert sum(_nearest(text, lines) <= 0.2 for text in BACK) >= len(BACK) - 1, lines
