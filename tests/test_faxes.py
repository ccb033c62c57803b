"""Faxes sent in standard mode: half as many rows an inch as columns (204 x 98 dpi), as the TIFF says. Each is read
with its pixels made square, and answered in its own pixels."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ocrserver.imaging import decode_pages, with_square_pixels
from tests.conftest import SHARED
from tests.helpers import box_drawn_in_label_studio, cer, encode, iou, render_lines

LINES = ["Referral for Maria Lopez", "Date of birth 04/11/1962", "Please call 555-0148 to book"]
STANDARD = (204, 98)  # dots an inch across and down
ENGINES = pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])


def _faxed() -> tuple[Image.Image, list[tuple[float, float, float, float]]]:
    """The lines in 8 pt print (22 px high at 204 dpi) as a fax machine in standard mode sends them, a 1-bit image
    with half as many rows as it would have square; and the lines' boxes in its pixels."""
    page = render_lines(LINES, size=22, width=1728, gap=22, margin=120)
    down = STANDARD[1] / STANDARD[0]
    grey = page.image.convert("L").resize((page.image.width, round(page.image.height * down)), Image.Resampling.LANCZOS)
    faxed = grey.point(lambda value: 255 if value >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    return faxed, [(x0, y0 * down, x1, y1 * down) for x0, y0, x1, y1 in page.boxes]


def _fax_tiff(faxed: Image.Image) -> bytes:
    return encode(faxed, "TIFF", compression="group4", dpi=STANDARD)


@ENGINES
def test_a_fax_in_standard_mode_reads_as_printed_with_its_lines_on_the_fax(client: TestClient, engine: str) -> None:
    faxed, boxes = _faxed()
    response = client.post("/v1/ocr", files={"file": ("fax.tif", _fax_tiff(faxed))},
                           data={"engine": engine, "level": "line"})
    assert response.status_code == 200, response.text
    page = response.json()["pages"][0]
    assert (page["width"], page["height"]) == faxed.size  # answered in the fax's own pixels
    lines = [line for block in page["blocks"] for line in block["lines"]]
    assert len(lines) == len(LINES), [line["text"] for line in lines]
    for truth, box, line in zip(LINES, boxes, lines, strict=True):
        assert cer(line["text"], truth) <= 0.05, [line["text"] for line in lines]
        assert iou(line["bbox"], box) >= 0.5, (line["bbox"], box)


def _saying_only_the_ratio(faxed: Image.Image, kind: str) -> bytes:
    """The fax in a file that gives its resolutions' ratio with no unit: a TIFF whose resolution unit is none, a PNG
    whose pixel aspect has no unit, a JPEG whose JFIF density has none (its units byte 0)."""
    if kind == "tiff":
        return encode(faxed, "TIFF", compression="group4", resolution_unit=1, x_resolution=STANDARD[0],
                      y_resolution=STANDARD[1])
    if kind == "png":  # Pillow writes a pHYs chunk only in metres: this one put in after the header by hand
        png, body = encode(faxed, "PNG"), b"pHYs" + struct.pack(">IIB", *STANDARD, 0)
        header_end = 8 + 25  # the signature, then the IHDR chunk
        return png[:header_end] + struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body)) + png[header_end:]
    data = bytearray(encode(faxed.convert("L"), "JPEG", quality=95, dpi=STANDARD))
    data[data.index(b"JFIF\x00") + 7] = 0  # units: none, the densities only a ratio
    return bytes(data)


@pytest.mark.parametrize("kind", ["tiff", "png", "jpeg"])
def test_a_fax_whose_file_gives_only_the_ratio_of_its_resolutions_reads_as_printed(client: TestClient, kind: str) -> None:
    """Squashed to half its height, the tiny recogniser read it ``Ref∈rral for Maria Lop∈z``."""
    faxed, _ = _faxed()
    data = _saying_only_the_ratio(faxed, kind)
    assert "dpi" not in Image.open(io.BytesIO(data)).info  # no resolution: only their ratio
    response = client.post("/v1/ocr", files={"file": (f"fax.{kind}", data)}, data={"engine": "ppocr-tiny", "level": "line"})
    page = response.json()["pages"][0]
    assert (page["width"], page["height"]) == faxed.size
    assert [line["text"] for block in page["blocks"] for line in block["lines"]] == LINES


@ENGINES
def test_a_box_drawn_on_a_fax_in_its_own_pixels_reads_its_line(client: TestClient, engine: str) -> None:
    faxed, boxes = _faxed()
    regions = [[x0 - 10, y0 - 5, x1 + 10, y1 + 5] for x0, y0, x1, y1 in boxes]
    response = client.post("/v1/ocr", files={"file": ("fax.tif", _fax_tiff(faxed))},
                           data={"engine": engine, "regions": json.dumps(regions), "level": "line"})
    assert response.status_code == 200, response.text
    blocks = response.json()["pages"][0]["blocks"]
    for truth, region, block in zip(LINES, regions, blocks, strict=True):
        assert cer(block["text"], truth) <= 0.05, [block["text"] for block in blocks]
        assert block["bbox"] == pytest.approx(region, abs=0.1)  # the region as drawn (answers to 0.1 px)


def test_a_fax_stored_turned_a_quarter_with_an_orientation_tag_is_stretched_along_its_rows_as_shown(
        client: TestClient) -> None:
    """Stored turned a quarter anticlockwise with a tag that turns it back (a scanner that feeds pages sideways), its
    resolution is the stored image's: 98 dpi across, 204 down."""
    faxed, _ = _faxed()
    stored = faxed.transpose(Image.Transpose.ROTATE_90)
    data = encode(stored, "TIFF", compression="group4", dpi=(STANDARD[1], STANDARD[0]), tiffinfo={274: 6})
    page = decode_pages(data, 10**8)[0]
    assert page.size == faxed.size and page.info["dpi"] == STANDARD  # shown as faxed, its resolution too
    response = client.post("/v1/ocr", files={"file": ("fax.tif", data)}, data={"engine": "ppocr", "level": "line"})
    assert [line["text"] for block in response.json()["pages"][0]["blocks"] for line in block["lines"]] == LINES


def test_label_studio_gets_a_faxs_lines_on_the_fax_and_reads_a_box_drawn_on_it(
        client: TestClient, image_server: tuple[str, Path]) -> None:
    base_url, root = image_server
    faxed, boxes = _faxed()
    (root / "fax.tif").write_bytes(_fax_tiff(faxed))
    url = f"{base_url}/fax.tif"
    captured = SHARED / "reference" / "captures"
    batch = json.loads((captured / "predict_batch_3_tasks.json").read_text())["json"]
    batch["tasks"] = [{**batch["tasks"][0], "data": {"image": url}}]
    items = client.post("/predict", json=batch).json()["results"][0]["result"]
    texts = [item for item in items if item["type"] == "textarea"]
    assert [item["value"]["text"][0] for item in texts] == LINES
    assert all((item["original_width"], item["original_height"]) == faxed.size for item in texts)
    width, height = faxed.size
    for item, (x0, y0, x1, y1) in zip(texts, boxes, strict=True):  # percentages of the fax as Label Studio shows it
        value = item["value"]
        seen = (value["x"] * width / 100, value["y"] * height / 100, (value["x"] + value["width"]) * width / 100,
                (value["y"] + value["height"]) * height / 100)
        assert iou(seen, (x0, y0, x1, y1)) >= 0.5, (seen, (x0, y0, x1, y1))

    x0, y0, x1, y1 = boxes[1]
    body, _ = box_drawn_in_label_studio(captured / "predict_interactive_ui_clean.json", url,
                                        (x0 - 10, y0 - 5, x1 + 10, y1 + 5), faxed.size)
    items = client.post("/predict", json=body).json()["results"][0]["result"]
    assert next(item["value"]["text"] for item in items if item["type"] == "textarea") == [LINES[1]]


@pytest.mark.parametrize(("dpi", "size"), [
    ((204, 98), (300, 208)),  # standard mode: its rows stretched
    ((98, 204), (624, 100)),  # turned a quarter: its columns
    ((204, 196), (300, 100)),  # fine mode: near enough square
    ((300, 300), (300, 100)),
    ((1, 1000), (300, 100)),  # a resolution no scanner gives
    (None, (300, 100)),
])
def test_pixels_are_made_square_only_where_the_file_says_they_are_not(
        dpi: tuple[int, int] | None, size: tuple[int, int]) -> None:
    image = Image.new("RGB", (300, 100), "white")
    if dpi is not None:
        image.info["dpi"] = dpi
    assert with_square_pixels(image, max_pixels=10**6).size == size


def test_a_fax_that_stretched_would_pass_the_pixel_limit_is_shrunk_across_instead() -> None:
    image = Image.new("RGB", (1728, 1100), "white")
    image.info["dpi"] = STANDARD
    assert with_square_pixels(image, max_pixels=3_000_000).size == (830, 1100)  # 1728 x 98 / 204
