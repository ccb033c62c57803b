"""Coloured ink over a page's print: a red stamp across its lines, a highlighter's strokes along them. The print reads
as printed; coloured print that crosses no black print (a red heading, a blue link), a photo's desk and a sheet of
coloured paper are left as they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from benchmarks.ocrserver_adapter import HIGHLIGHTERS, highlighted, stamped
from ocrserver.coloured_ink import NEUTRAL, without_colour_over_print
from tests.helpers import cer, encode, font, render_lines

LINES = ["Invoice number 4471-B", "Delivered to the main office", "Total due: 128.40 EUR", "Payment within 30 days"]
ENGINES = pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])


def _stamped_page() -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """The lines in print 24 px high with a red PAID stamp across the last three (its strokes cross ``Total due``,
    ``Payment within``, ``office``), and each line's box."""
    page = render_lines(LINES, size=24, width=700, gap=24, margin=140)  # the stamp, turned, within the page
    return stamped(page.image), page.boxes


def _best_match(truth: str, read: list[str]) -> float:
    return min(cer(text, truth) for text in read)


@ENGINES
def test_print_under_a_stamp_reads_as_printed(client: TestClient, engine: str) -> None:
    """Without the stamp taken out, the detector split or lost the lines it crosses (``Payment within`` / ``30 days``;
    ``Total due: 128.40 EUR`` missing). The stamp's own letters that lie on blank paper may still be read."""
    image, _ = _stamped_page()
    response = client.post("/v1/ocr", files={"file": ("stamped.png", encode(image))}, data={"engine": engine})
    assert response.status_code == 200, response.text
    read = [line["text"] for block in response.json()["pages"][0]["blocks"] for line in block["lines"]]
    for truth in LINES:
        assert _best_match(truth, read) <= 0.1, read


@pytest.mark.parametrize("engine", ["ppocr", "tesseract"])
def test_lines_boxed_on_a_stamped_page_read_as_printed(client: TestClient, engine: str) -> None:
    """A region is read on its page with the stamp taken out, as Label Studio's interactive call reads a drawn box. The
    stamp's own point, between ``128.40`` and ``EUR`` and touching neither, stays, and Tesseract reads it as a comma."""
    image, boxes = _stamped_page()
    regions = [[x0 - 8, y0 - 8, x1 + 8, y1 + 8] for x0, y0, x1, y1 in boxes]
    response = client.post("/v1/ocr", files={"file": ("stamped.png", encode(image))},
                           data={"engine": engine, "regions": json.dumps(regions), "level": "line"})
    assert response.status_code == 200, response.text
    read = [block["text"] for block in response.json()["pages"][0]["blocks"]]
    for truth, text in zip(LINES, read, strict=True):
        assert cer(text, truth) <= 0.1, read


def test_a_highlighters_stroke_is_taken_out_and_the_print_under_it_kept() -> None:
    page = render_lines(LINES, size=24, width=700, gap=24, margin=60)
    for colour in HIGHLIGHTERS.values():
        marked = highlighted(page.image, [{"bbox": list(box)} for box in page.boxes], colour)  # lines 1 and 3
        cleaned = np.asarray(without_colour_over_print(marked))
        x0, y0, x1, y1 = page.boxes[0]
        band = cleaned[y0:y1, x0:x1]
        assert (band.max(axis=2) - band.min(axis=2)).max() < NEUTRAL, colour  # no more coloured than print is
        assert np.percentile(band, 90) >= 245, colour  # the paper under the stroke white again
        assert np.abs(band.astype(int) - np.asarray(page.image)[y0:y1, x0:x1]).mean() < 6, colour  # the print kept


def test_coloured_print_that_crosses_no_black_print_is_left_as_it_is(client: TestClient) -> None:
    """A red heading and a blue link above black lines, apart from them: read in their colours, as before."""
    image = Image.new("RGB", (800, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), "Overdue notice", fill=(200, 20, 20), font=font(36))
    draw.text((40, 100), "www.example.com/pay", fill=(20, 60, 230), font=font(24))
    draw.text((40, 160), "Total due: 128.40 EUR", fill="black", font=font(24))
    draw.text((40, 210), "Payment within 30 days", fill="black", font=font(24))
    assert without_colour_over_print(image) is image
    response = client.post("/v1/ocr", files={"file": ("notice.png", encode(image))}, data={"engine": "tesseract"})
    read = [line["text"] for block in response.json()["pages"][0]["blocks"] for line in block["lines"]]
    assert _best_match("Overdue notice", read) <= 0.1 and _best_match("www.example.com/pay", read) <= 0.1, read


def test_a_photos_desk_and_a_sheet_of_coloured_paper_are_left_as_they_are(client: TestClient) -> None:
    """Coloured patches that reach the image's edge are the world around the page, or the page itself."""
    lines = render_lines(LINES, size=24, width=700, gap=24, margin=60)
    on_a_desk = Image.new("RGB", (1000, 600), (150, 100, 60))  # brown wood, touching the print's dark shadow
    on_a_desk.paste(lines.image, (150, 150))
    ImageDraw.Draw(on_a_desk).rectangle([140, 140, 860, 160], fill=(40, 40, 40))
    assert without_colour_over_print(on_a_desk) is on_a_desk
    on_yellow_paper = Image.fromarray((np.asarray(lines.image, dtype=np.float32) * [1, 0.95, 0.65]).astype(np.uint8))
    cleaned = np.asarray(without_colour_over_print(on_yellow_paper))
    margin = np.s_[:, :50]
    assert (cleaned[margin] == np.asarray(on_yellow_paper)[margin]).all()  # still yellow (only letters' holes whiten)
    response = client.post("/v1/ocr", files={"file": ("yellow.png", encode(on_yellow_paper))}, data={"engine": "tesseract"})
    read = [line["text"] for block in response.json()["pages"][0]["blocks"] for line in block["lines"]]
    for truth in LINES:
        assert _best_match(truth, read) <= 0.05, read


def test_dev_pages_are_left_as_they_are(dev_data: Path) -> None:
    """No dev page's print is touched: the two that hold coloured ink beside dark pixels (a photo's blue cup on a red
    table, a receipt's tinted mark) change in under a thousandth of their pixels."""
    for path in sorted((dev_data / "images").iterdir()):
        image = Image.open(path).convert("RGB")
        changed = (np.asarray(without_colour_over_print(image)) != np.asarray(image)).any(axis=2)
        assert changed.mean() < 0.001, path.name
