"""Noisy scans: specks strewn over the paper (a fax, a dusty scanner glass), grey print that a scanner set to black
and white dithered into dots. Each reads as the page it shows; scans without such noise are left as they are."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ocrserver.api.app import create_app
from ocrserver.scan_noise import without_noise
from ocrserver.settings import Settings
from tests.conftest import SHARED
from tests.helpers import Rendered, box_drawn_in_label_studio, cer, encode, render_lines

LINES = ["Invoice number 4471-B", "Delivered to the main office", "Total due: 128.40 EUR", "Payment within 30 days"]
ENGINES = pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])


def _page(size: int) -> Rendered:
    """The lines in print ``size`` px high (a fax's or a 100 dpi scan's small print), on a page large enough to be
    judged (scan_noise.MIN_PIXELS)."""
    return render_lines(LINES, size=size, width=40 * size, gap=size, margin=200)


def _with_salt_and_pepper(image: Image.Image, share: float) -> Image.Image:
    """``share`` of the pixels, at random, black or white, half each."""
    pixels = np.array(image)
    picked = np.random.default_rng(7).random(pixels.shape[:2])
    pixels[picked < share / 2] = 0
    pixels[(picked >= share / 2) & (picked < share)] = 255
    return Image.fromarray(pixels)


def _grey_print_dithered(image: Image.Image, grey: int) -> Image.Image:  # a 1-bit image
    """Black print turned ``grey``, then the page sent in black and white, its grey dithered into dots."""
    faded = image.convert("L").point(lambda value: grey + value * (255 - grey) // 255)
    return faded.convert("1")


def _lines_read(client: TestClient, image: Image.Image, engine: str) -> list[str]:
    if image.mode == "1":  # black and white: sent as a scanner or a fax sends it, a CCITT group 4 TIFF
        scan = ("scan.tif", encode(image, "TIFF", compression="group4"))
    else:
        scan = ("scan.png", encode(image))
    response = client.post("/v1/ocr", files={"file": scan}, data={"engine": engine})
    assert response.status_code == 200, response.text
    return [line["text"] for block in response.json()["pages"][0]["blocks"] for line in block["lines"]]


def _assert_reads_as_printed(lines: list[str]) -> None:
    assert len(lines) == len(LINES), lines  # no line of specks
    for truth, text in zip(LINES, lines, strict=True):
        assert cer(text, truth) <= 0.1, lines


@ENGINES
def test_a_page_strewn_with_specks_reads_as_printed(client: TestClient, engine: str) -> None:
    _assert_reads_as_printed(_lines_read(client, _with_salt_and_pepper(_page(size=18).image, 0.03), engine))


@ENGINES
def test_points_and_colons_stay_when_specks_are_wiped(client: TestClient, engine: str) -> None:
    """In print 24 px high, the colon and the point of ``Total due: 128.40`` are solid clumps of 6 px, as far as 6 px
    from their letters: wiped as specks, the line read ``Total due 12840 EUR``."""
    lines = _lines_read(client, _with_salt_and_pepper(_page(size=24).image, 0.01), engine)
    assert lines[2] == "Total due: 128.40 EUR", lines


@ENGINES
def test_grey_print_dithered_into_dots_reads_as_printed(client: TestClient, engine: str) -> None:
    _assert_reads_as_printed(_lines_read(client, _grey_print_dithered(_page(size=16).image, grey=140), engine))


def _boxed(box: tuple[int, int, int, int], pad: int) -> list[int]:
    x0, y0, x1, y1 = box
    return [x0 - pad, y0 - pad, x1 + pad, y1 + pad]


@ENGINES
def test_lines_boxed_on_a_speckled_page_read_as_printed(client: TestClient, engine: str) -> None:
    """A region is read on its page with the page's specks wiped: the page is told speckled as a whole."""
    page = _page(size=18)
    scan = _with_salt_and_pepper(page.image, 0.03)
    regions = [_boxed(box, pad=8) for box in page.boxes]
    response = client.post("/v1/ocr", files={"file": ("scan.png", encode(scan))},
                           data={"engine": engine, "regions": json.dumps(regions), "level": "line"})
    assert response.status_code == 200, response.text
    read = [block["text"] for block in response.json()["pages"][0]["blocks"]]
    assert len(read) == len(LINES)
    for truth, text in zip(LINES, read, strict=True):
        assert cer(text, truth) <= 0.05, read


@pytest.fixture(scope="module")
def labelling_with_tesseract(settings: Settings) -> Iterator[TestClient]:
    """A Label Studio backend that reads with Tesseract (OCR_ENGINE=tesseract), which specks beside a line's letters
    mislead most: ``Invoice:number``, ``128.40.EUR``."""
    with TestClient(create_app(settings.model_copy(update={"engine": "tesseract"}))) as client:
        yield client


def test_a_box_drawn_in_label_studio_on_a_speckled_page_reads_as_printed(
        labelling_with_tesseract: TestClient, image_server: tuple[str, Path]) -> None:
    """Label Studio's interactive call: each line drawn on a speckled task page in turn, the page kept between calls
    with its specks wiped."""
    base_url, root = image_server
    page = _page(size=18)
    (root / "speckled_task.png").write_bytes(encode(_with_salt_and_pepper(page.image, 0.03)))
    captured = SHARED / "reference" / "captures" / "predict_interactive_ui_clean.json"
    read = []
    for box in page.boxes:
        x0, y0, x1, y1 = _boxed(box, pad=8)
        body, _ = box_drawn_in_label_studio(captured, f"{base_url}/speckled_task.png", (x0, y0, x1, y1), page.image.size)
        items = labelling_with_tesseract.post("/predict", json=body).json()["results"][0]["result"]
        read.append(next(item["value"]["text"][0] for item in items if item["type"] == "textarea"))
    for truth, text in zip(LINES, read, strict=True):
        assert cer(text, truth) <= 0.05, read


def test_scans_without_such_noise_are_read_as_they_are(dev_data: Path) -> None:
    """Every dev scan, photo and rendered page, dirt on its faxed forms and dot-matrix receipts among them, and every
    labelled region cut out of them and sent on its own (the benchmark's box task)."""
    changed = []
    for path in sorted((dev_data / "images").iterdir()):
        image = Image.open(path).convert("RGB")
        if without_noise(image) is not image:
            changed.append(path.name)
        label = json.loads((dev_data / "labels" / f"{path.stem}.json").read_text())
        for index, region in enumerate(label["regions"]):
            crop = image.crop(tuple(region["bbox"]))
            if without_noise(crop) is not crop:
                changed.append(f"{path.name} region {index}")
    assert changed == []
