"""The REST API with real engines: inputs, the result tree, regions, batches, hubserving, errors."""

from __future__ import annotations

import base64
import io
import json
import struct
import textwrap
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from rapidfuzz.distance import Levenshtein

from ocrserver.deskew import turned
from tests.helpers import (
    bag_of_words_f1,
    cer,
    encode,
    font,
    iou,
    render_lines,
    render_prose,
    render_rotated_line,
)

LINES = ["Invoice 4711 paid in full", "Total amount 42.50 EUR"]


@pytest.fixture(scope="module")
def two_lines() -> tuple[bytes, list[tuple[int, int, int, int]]]:
    rendered = render_lines(LINES)
    return encode(rendered.image), rendered.boxes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post_json(client: TestClient, **body: object):
    return client.post("/v1/ocr", json=body)


# ---- system ---------------------------------------------------------------------------------------
def test_health_reports_up_and_the_warm_engines(client: TestClient) -> None:
    for path in ("/health", "/"):
        body = client.get(path).json()
        assert body["status"] == "UP"
        assert body["model_class"] == "OCRServer"
        assert body["engines_loaded"]["ppocr"] == 2  # warmed before the first request
        assert body["engines_loaded"]["tesseract"] == 2


def test_engines_lists_languages_versions_and_the_default(client: TestClient) -> None:
    body = client.get("/v1/engines").json()
    assert body["default"] == "ppocr"
    engines = {engine["name"]: engine for engine in body["engines"]}
    assert engines["ppocr"]["available"] and {"en", "zh", "ja", "de"} <= set(engines["ppocr"]["languages"])
    assert "rapidocr" in engines["ppocr"]["version"]
    assert engines["tesseract"]["available"] and {"en", "zh"} <= set(engines["tesseract"]["languages"])
    assert "tesseract 5" in engines["tesseract"]["version"]
    assert engines["fastpaddle"]["available"] and "faster-paddle" in engines["fastpaddle"]["version"]


def test_openapi_documents_both_request_kinds(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(content)
    assert {"/v1/ocr/batch", "/v1/engines", "/health", "/predict/ocr_system", "/ocr_system"} <= set(spec["paths"])


# ---- inputs ---------------------------------------------------------------------------------------
def test_upload_returns_text_and_a_full_tree(client: TestClient, two_lines) -> None:
    data, boxes = two_lines
    response = client.post("/v1/ocr", files={"file": ("page.png", data, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "\n".join(LINES)
    assert body["output"] == body["text"]
    assert body["engine"] == "ppocr" and body["model_version"] == "PP-OCRv6-small+tiny"
    page = body["pages"][0]
    assert (page["width"], page["height"]) == Image.open(io.BytesIO(data)).size
    lines = [line for block in page["blocks"] for line in block["lines"]]
    assert [line["text"] for line in lines] == LINES
    for line, (x0, y0, x1, y1) in zip(lines, boxes, strict=True):
        lx0, ly0, lx1, ly1 = line["bbox"]
        # the detector's boxes are padded around the glyphs: they cover the text and not much more
        assert lx0 <= x0 + 2 and ly0 <= y0 + 2 and lx1 >= x1 - 2 and ly1 >= y1 - 2
        assert iou(line["bbox"], (x0, y0, x1, y1)) > 0.4
        assert 0.8 < line["confidence"] <= 1.0
        assert [w["text"] for w in line["words"]] == line["text"].split()
        # words run left to right inside their line
        lefts = [w["bbox"][0] for w in line["words"]]
        assert lefts == sorted(lefts)
        assert all(lx0 - 3 <= w["bbox"][0] and w["bbox"][2] <= lx1 + 3 for w in line["words"])
        # polygons start top-left and go clockwise
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = line["polygon"]
        assert ax < bx and by < cy and cx > dx and dy > ay


def test_base64_data_uri_and_url_inputs_give_the_same_text(client: TestClient, two_lines, image_server) -> None:
    data, _ = two_lines
    base_url, root = image_server
    (root / "two.png").write_bytes(data)
    answers = [
        post_json(client, image_base64=b64(data)),
        post_json(client, image_base64="data:image/png;base64," + b64(data)),
        post_json(client, image_url=f"{base_url}/two.png"),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert response.json()["text"] == "\n".join(LINES)
    assert answers[2].json()["timing_ms"]["fetch"] >= 0


def test_old_image_url_clients_get_output(client: TestClient, two_lines, image_server) -> None:
    base_url, root = image_server
    (root / "old.png").write_bytes(two_lines[0])
    assert post_json(client, image_url=f"{base_url}/old.png").json()["output"] == "\n".join(LINES)


def test_format_text_returns_plain_text(client: TestClient, two_lines) -> None:
    data, _ = two_lines
    for response in (
        client.post("/v1/ocr?format=text", files={"file": ("p.png", data)}),
        client.post("/v1/ocr", files={"file": ("p.png", data)}, data={"format": "text"}),
        post_json(client, image_base64=b64(data), format="text"),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "\n".join(LINES)


def test_level_controls_the_depth_of_the_tree(client: TestClient, two_lines) -> None:
    data = b64(two_lines[0])
    page = post_json(client, image_base64=data, level="page").json()["pages"][0]
    assert "blocks" not in page and page["text"] == "\n".join(LINES)
    block = post_json(client, image_base64=data, level="block").json()["pages"][0]["blocks"][0]
    assert "lines" not in block
    line = post_json(client, image_base64=data, level="line").json()["pages"][0]["blocks"][0]["lines"][0]
    assert "words" not in line


def test_a_receipts_colons_printed_apart_between_labels_and_values_are_read(client: TestClient) -> None:
    # PP-OCR's detector leaves such lone glyphs out: the page read "CASH 50.00"
    rendered = render_lines(["CASH              :              50.00", "TOTAL              :              12.00"], size=28)
    response = client.post("/v1/ocr", files={"file": ("receipt.png", encode(rendered.image))}, data={"engine": "ppocr"})
    page = response.json()["pages"][0]
    assert page["text"].splitlines() == ["CASH : 50.00", "TOTAL : 12.00"], page["text"]
    colons = [line for block in page["blocks"] for line in block["lines"] if line["text"] == ":"]
    assert len(colons) == 2 and all(0.5 < line["confidence"] <= 1.0 for line in colons)
    for colon, box in zip(colons, rendered.boxes, strict=True):  # in the middle of its row, a box about its size
        x0, y0, x1, y1 = colon["bbox"]
        assert box[1] - 5 <= y0 < y1 <= box[3] + 5 and x1 - x0 < 30 and abs((x0 + x1) / 2 - (box[0] + box[2]) / 2) < 40


def test_a_page_asked_for_its_lines_reads_the_lines_asked_for_with_its_words(client: TestClient, dev_data) -> None:
    """Without words in the answer the server skips working out word boxes (a twentieth of a ppocr page); the
    lines, their text, boxes and confidences, stay exactly those of the answer with words."""
    receipt = b64((dev_data / "images" / "sroie_025.jpg").read_bytes())

    def lines(level: str) -> list[tuple]:
        body = post_json(client, image_base64=receipt, engine="ppocr", level=level).json()
        return [(line["text"], line["bbox"], line["polygon"], line["confidence"])
                for block in body["pages"][0]["blocks"] for line in block["lines"]]

    with_words = lines("word")
    assert len(with_words) > 20 and with_words == lines("line")


def test_words_keep_the_boxes_of_their_print(client: TestClient) -> None:
    """Each word's box is where the recogniser saw it, not a share of the line by its number of characters."""
    image = Image.new("RGB", (900, 120), "white")
    ImageDraw.Draw(image).text((40, 35), "illicit WWWWWWW", fill="black", font=font(40))
    body = post_json(client, image_base64=b64(encode(image)), engine="ppocr", level="word").json()
    narrow, wide = [word for block in body["pages"][0]["blocks"] for line in block["lines"] for word in line["words"]]
    assert (narrow["text"], wide["text"]) == ("illicit", "WWWWWWW")
    width = [word["bbox"][2] - word["bbox"][0] for word in (narrow, wide)]
    assert width[0] < 0.5 * width[1]  # split by characters, both would be as wide


def test_tesseract_engine_and_language_aliases(client: TestClient, two_lines) -> None:
    body = post_json(client, image_base64=b64(two_lines[0]), engine="tesseract", lang="eng").json()
    assert body["engine"] == "tesseract" and body["languages"] == ["en"]
    assert body["text"] == "\n".join(LINES)
    words = [w for b in body["pages"][0]["blocks"] for ln in b["lines"] for w in ln["words"]]
    assert all(0 <= w["confidence"] <= 1 for w in words)


def test_tesseract_page_lines_are_boxed_with_a_little_room_around_their_print(laid_out_by_tesseract: TestClient) -> None:
    # Tesseract's own layout boxes the print to the pixel; people label a line with a little room around it
    rendered = render_lines([*LINES, "x5"])
    body = post_json(laid_out_by_tesseract, image_base64=b64(encode(rendered.image)), engine="tesseract").json()
    lines = [line for block in body["pages"][0]["blocks"] for line in block["lines"]]
    assert [line["text"] for line in lines] == [*LINES, "x5"]
    dark = np.asarray(rendered.image.convert("L")) < 128
    for line, (_, top, _, bottom) in zip(lines, rendered.boxes, strict=True):
        rows, columns = np.nonzero(dark[top - 4:bottom + 4])
        ink = (columns.min(), rows.min() + top - 4, columns.max() + 1, rows.max() + top - 3)  # the line's print
        room = 0.1 * (ink[3] - ink[1])
        x0, y0, x1, y1 = line["bbox"]
        sides = (ink[0] - x0, ink[1] - y0, x1 - ink[2], y1 - ink[3])  # room left, above, right, below
        assert 0.5 * room <= min(sides) and max(sides) <= 2 * room + 1, (line["bbox"], ink)


def test_tesseract_reads_russian_lines_where_ppocrs_detector_finds_them(client: TestClient) -> None:
    # PP-OCR's recognisers have no Cyrillic; its detector finds Cyrillic lines as it finds Latin ones, and
    # Tesseract reads each
    rendered = render_lines(["Счёт № 1284 от 12 марта", "Итого к оплате: 4 250 руб.", "Спасибо за покупку!"])
    body = post_json(client, image_base64=b64(encode(rendered.image)), engine="tesseract", lang="ru").json()
    assert body["languages"] == ["ru"] and "PP-OCRv6-tiny-det" in body["model_version"]
    lines = [line for block in body["pages"][0]["blocks"] for line in block["lines"]]
    assert [line["text"] for line in lines] == rendered.lines
    for line, box in zip(lines, rendered.boxes, strict=True):
        assert iou(line["bbox"], box) > 0.5
        assert [word["text"] for word in line["words"]] == line["text"].split()
        assert all(iou(word["bbox"], line["bbox"]) > 0 for word in line["words"])


ARABIC_LINES = ["مرحبا بكم في المتجر الجديد", "فاتورة ضريبية مبسطة", "المجموع الكلي مع الضريبة",
                "شكرا لزيارتكم ونتمنى لكم يوما سعيدا", "العنوان: شارع الملك فهد، الرياض", "يرجى الاحتفاظ بالإيصال للاستبدال"]


def test_tesseract_reads_arabic_words_in_reading_order_spelled_as_printed(client: TestClient) -> None:
    # tesserocr's result iterator spelled a right-to-left word backwards and cut its line to the first word
    # ("ابحرم" for "مرحبا"); the words are read from Tesseract's own TSV output, in reading order
    rendered = render_lines(ARABIC_LINES, right_to_left=True)
    data = b64(encode(rendered.image))
    body = post_json(client, image_base64=data, engine="tesseract", lang="ar").json()
    lines = [line for block in body["pages"][0]["blocks"] for line in block["lines"]]
    assert len(lines) == len(ARABIC_LINES)
    for line, truth, box in zip(lines, ARABIC_LINES, rendered.boxes, strict=True):
        assert cer(line["text"], truth) <= 0.1, (line["text"], truth)
        assert iou(line["bbox"], box) > 0.5
        assert " ".join(word["text"] for word in line["words"]) == line["text"]
        # the first word read is the rightmost on the page
        assert line["words"][0]["bbox"][2] == max(word["bbox"][2] for word in line["words"])
    x0, y0, x1, y1 = rendered.boxes[2]
    region = post_json(client, image_base64=data, engine="tesseract", lang="ar",
                       regions=[[x0 - 8, y0 - 8, x1 + 8, y1 + 8]]).json()
    assert cer(region["text"].strip(), ARABIC_LINES[2]) <= 0.1, region["text"]


# ---- regions --------------------------------------------------------------------------------------
def test_regions_are_read_one_each_in_the_order_given(client: TestClient, two_lines) -> None:
    data, boxes = two_lines
    pad = [(x0 - 6, y0 - 6, x1 + 6, y1 + 6) for x0, y0, x1, y1 in boxes]
    regions = [list(pad[1]), [[pad[0][0], pad[0][1]], [pad[0][2], pad[0][1]], [pad[0][2], pad[0][3]], [pad[0][0], pad[0][3]]]]
    for engine in ("ppocr", "tesseract"):
        body = post_json(client, image_base64=b64(data), regions=regions, engine=engine).json()
        blocks = body["pages"][0]["blocks"]
        assert [b["text"] for b in blocks] == [LINES[1], LINES[0]], engine
        # words come back in page coordinates, inside their region (plus the crop's padding)
        for block, (x0, y0, x1, y1) in zip(blocks, [pad[1], pad[0]], strict=True):
            margin = 0.2 * (y1 - y0) + 2
            for word in block["lines"][0]["words"]:
                wx0, wy0, wx1, wy1 = word["bbox"]
                assert x0 - margin <= wx0 < wx1 <= x1 + margin and y0 - margin <= wy0 < wy1 <= y1 + margin


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract", "fastpaddle"])
def test_a_straight_box_drawn_on_a_slanted_line_reads_that_line_alone(client: TestClient, engine: str) -> None:
    # a page scanned 5 degrees askew; the box is the upright bounding box of the middle line, as an annotator
    # draws it, so its corners take in pieces of the lines above and below
    rendered = render_lines(["Harbour office opens at nine", "Grand total due 42.50 today", "Weather report for the coast"],
                            size=30, width=760, gap=10)
    page = rendered.image.rotate(5, expand=True, fillcolor="white", resample=Image.BICUBIC)
    centre = np.array(rendered.image.size) / 2
    turn = np.radians(5)
    x0, y0, x1, y1 = rendered.boxes[1]
    corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) - centre
    on_page = corners @ np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) + np.array(page.size) / 2
    box = [*(on_page.min(axis=0) - 2), *(on_page.max(axis=0) + 2)]
    block = post_json(client, image_base64=b64(encode(page)), regions=[box], engine=engine).json()["pages"][0]["blocks"][0]
    assert cer(block["text"], "Grand total due 42.50 today") < 0.1, block["text"]  # the pieces read in: CER 0.4-1.6


def test_multipart_regions_and_a_region_holding_two_lines(client: TestClient, two_lines) -> None:
    data, boxes = two_lines
    both = [boxes[0][0] - 8, boxes[0][1] - 8, max(boxes[0][2], boxes[1][2]) + 8, boxes[1][3] + 8]
    response = client.post("/v1/ocr", files={"file": ("p.png", data)}, data={"regions": json.dumps([both])})
    blocks = response.json()["pages"][0]["blocks"]
    assert len(blocks) == 1 and blocks[0]["text"] == "\n".join(LINES)
    assert len(blocks[0]["lines"]) == 2


@pytest.mark.parametrize("degrees", [25, -40, 90])
def test_rotated_region_is_rectified_before_reading(client: TestClient, degrees: float) -> None:
    image, quad = render_rotated_line("Rotated text 2024", degrees)
    body = post_json(client, image_base64=b64(encode(image)), regions=[[list(p) for p in quad]], level="line").json()
    block = body["pages"][0]["blocks"][0]
    assert block["text"] == "Rotated text 2024"
    # the line polygon maps back onto the rotated text: its first edge follows the text's direction
    (ax, ay), (bx, by) = block["lines"][0]["polygon"][:2]
    angle = np.degrees(np.arctan2(by - ay, bx - ax))
    assert abs((angle - degrees + 180) % 360 - 180) < 6


@pytest.mark.parametrize("engine", ["ppocr", "tesseract"])
def test_a_straight_box_drawn_on_upside_down_text_reads_it_the_right_way_up(client: TestClient, engine: str) -> None:
    rendered = render_lines(LINES)
    image = rendered.image
    x0, y0, x1, y1 = rendered.boxes[0]
    pad = 6
    box = [image.width - x1 - pad, image.height - y1 - pad, image.width - x0 + pad, image.height - y0 + pad]  # line 1, turned
    turned = b64(encode(image.rotate(180)))
    body = post_json(client, image_base64=turned, regions=[box], level="line", engine=engine).json()
    line = body["pages"][0]["blocks"][0]["lines"][0]
    assert line["text"] == LINES[0]
    # its polygon starts at the text's top-left: the box's bottom-right corner on the image as sent
    assert line["polygon"][0] == pytest.approx([box[2], box[3]], abs=10)  # the crop is padded a little


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny"])
def test_a_page_of_long_lines_of_small_print_reads_the_right_way_up_either_way_it_was_scanned(
    client: TestClient, engine: str
) -> None:
    # the angle classifier sees a line squeezed to four times as long as high: lines 70 times as long read as noise
    page = render_prose(1240, 1754, size=15, seed=1)  # an A4 letter at 150 dpi, 10 pt print
    for image in (page.image, page.image.rotate(180)):
        text = post_json(client, image_base64=b64(encode(image)), engine=engine).json()["text"]
        assert bag_of_words_f1(text, "\n".join(page.lines)) > 0.95


@pytest.mark.parametrize(("engine", "width", "height", "seed"), [
    # a long receipt or a web page captured whole: shrunk whole to 2000 px, its 16 px print came out 8 px high
    ("ppocr", 500, 4000, 3), ("ppocr-tiny", 500, 4000, 3),
    # a wide screen's text captured whole, seen in three strips across: each line, longer than their overlap, came
    # back as the overlapping pieces the strips saw (at 3840 x 1000 px, BoW F1 0.77)
    ("ppocr", 3840, 600, 5),
], ids=["long-ppocr", "long-ppocr-tiny", "wide-ppocr"])
def test_a_page_much_longer_than_wide_or_wider_than_high_is_read_at_its_own_resolution_each_line_once(
        client: TestClient, engine: str, width: int, height: int, seed: int) -> None:
    page = render_prose(width, height, seed=seed)
    body = post_json(client, image_base64=b64(encode(page.image)), engine=engine, level="line").json()
    assert bag_of_words_f1(body["text"], "\n".join(page.lines)) > 0.95
    # it is searched in overlapping strips: every printed line is found once, where it is printed
    lines = sorted((line for block in body["pages"][0]["blocks"] for line in block["lines"]), key=lambda line: line["bbox"][1])
    assert len(lines) == len(page.lines)
    for line, box in zip(lines, page.boxes, strict=True):
        assert line["bbox"] == pytest.approx(box, abs=8)


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_a_long_line_scanned_on_its_own_reads_whole(client: TestClient, engine: str) -> None:
    # a line cut out by a line-segmentation tool, over 2000 px long and less than a 125th as high: rapidocr shrank
    # it for its detector with its sides rounded to 32 px, its height to nothing, and the engine failed (422)
    face = font(14)
    line = "Invoice 4711 paid in full on Monday, total amount 42.50 EUR, thank you for shopping with us again soon"
    left, top, right, bottom = face.getbbox(line)
    image = Image.new("RGB", (2400, bottom - top + 2), "white")
    ImageDraw.Draw(image).text((8, 1 - top), line, fill="black", font=face)
    response = post_json(client, image_base64=b64(encode(image)), engine=engine)
    assert response.status_code == 200, response.text
    assert bag_of_words_f1(response.json()["text"], line) > 0.9


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_an_image_a_few_pixels_thin_reads_as_no_text(client: TestClient, engine: str) -> None:
    # a rule or a scanner's stray strip: shrunk to look for a page's outline, its short side came out 0 px and
    # OpenCV's error came back as the engine failing (422, "inv_scale_x > 0")
    for width, height in ((4000, 1), (1, 4000), (5000, 2), (30000, 5), (700, 1), (700, 3)):
        strip = Image.new("RGB", (width, height), "white")
        response = post_json(client, image_base64=b64(encode(strip)), engine=engine)
        assert response.status_code == 200, (width, height, response.text)
        assert response.json()["text"] == ""


def _table(ruled: bool, rows: int = 10, columns: int = 5) -> tuple[Image.Image, list[str]]:
    """A table of cells 180 x 40 px (``ruled``: with rules around each), a word of 18 px print in each; and its
    cells' words, row by row."""
    image = Image.new("RGB", (columns * 180 + 80, rows * 40 + 80), "white")
    draw, face, words = ImageDraw.Draw(image), font(18), []
    for row in range(rows + 1) if ruled else ():
        draw.line((40, 40 + row * 40, 40 + columns * 180, 40 + row * 40), fill="black", width=2)
    for column in range(columns + 1) if ruled else ():
        draw.line((40 + column * 180, 40, 40 + column * 180, 40 + rows * 40), fill="black", width=2)
    for row in range(rows):
        for column in range(columns):
            word = COLUMN_MARKS[(row + column) % len(COLUMN_MARKS)] if column else str(100 + 37 * row)
            draw.text((50 + column * 180, 48 + row * 40), word, fill="black", font=face)
            words.append(word)
    return image, words


@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "unruled"])
@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_a_table_reads_row_by_row(client: TestClient, engine: str, ruled: bool) -> None:
    image, cells = _table(ruled)
    text = post_json(client, image_base64=b64(encode(image)), engine=engine).json()["text"]
    # its cells one under the other are fields of their rows, not a column's paragraph
    assert Levenshtein.distance(text.split(), cells) <= 3


FORM = [("Name:", "Maria Lopez"), ("Address:", "12 Harbour Street, Flat 4"), ("City:", "Springfield"),
        ("Phone:", "0161 496 0731"), ("Account:", "GB29 NWBK 6016"), ("Signed:", "M. Lopez")]
RECEIPT = [("COFFEE BEANS 1KG", "14.99"), ("OAT MILK", "2.10"), ("BAGELS X6", "3.45"), ("CREAM CHEESE", "1.89"),
           ("ORANGE JUICE", "2.75"), ("BANANAS", "0.99"), ("TOTAL", "26.17"), ("CASH", "30.00")]


def _form_and_receipt() -> tuple[Image.Image, list[str]]:
    """A form's labels and values side by side, then a receipt's items and prices (set flush right), in 20 px
    print with rows 1.3 and 1.15 times its size apart, so close that the detector's boxes of one row reach into the
    next; and their words, row by row."""
    image = Image.new("RGB", (900, 600), "white")
    draw, face, words = ImageDraw.Draw(image), font(20), []
    for row, (label, value) in enumerate(FORM):
        draw.text((60, 50 + 26 * row), label, fill="black", font=face)
        draw.text((300, 50 + 26 * row), value, fill="black", font=face)
        words += [*label.split(), *value.split()]
    for row, (item, price) in enumerate(RECEIPT):
        draw.text((60, 270 + 23 * row), item, fill="black", font=face)
        draw.text((560 - draw.textlength(price, font=face), 270 + 23 * row), price, fill="black", font=face)
        words += [*item.split(), price]
    return image, words


@pytest.mark.parametrize("askew", [0, 4], ids=["level", "4 degrees askew"])
@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_a_form_and_a_receipt_read_row_by_row_each_label_by_its_value(client: TestClient, engine: str, askew: float) -> None:
    image, words = _form_and_receipt()
    # scanned askew, a value lies 20 px higher or lower than its label, an item's price than the item
    image = turned(image, askew).image if askew else image
    text = post_json(client, image_base64=b64(encode(image)), engine=engine).json()["text"]
    # not all the labels, then all the values; not all the items, then all the prices
    assert Levenshtein.distance(text.split(), words) <= 2, text
    # each row one line of the text, as printed
    rows = [f"{label} {value}" for label, value in FORM + RECEIPT]
    assert sum(row in text.splitlines() for row in rows) >= len(rows) - 2, text


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_a_receipt_printing_each_items_prices_under_its_name_reads_item_by_item(client: TestClient, engine: str) -> None:
    # each item's name on a line of its own, its quantity and prices on the next, in 20 px print set as tight as a
    # receipt printer sets it (20 px apart: the names' boxes close enough to make one block), under the columns'
    # headings and above the total
    image = Image.new("RGB", (760, 400), "white")
    draw, face, rows = ImageDraw.Draw(image), font(20), []
    columns = (40, 200, 400, 560, 660)
    for x, heading in zip(columns, ("Description", "Qty", "Price", "Total", "Tax"), strict=True):
        draw.text((x, 30), heading, fill="black", font=face)
    rows.append("Description Qty Price Total Tax")
    for index, (item, quantity, price, total) in enumerate(
            (("Kopi Susu", "1x", "2.20", "2.20"), ("Teh Tarik", "2x", "2.50", "5.00"),
             ("Roti Canai", "3x", "1.50", "4.50"), ("Take Away Box", "1x", "0.20", "0.20"))):
        top = 70 + 40 * index
        draw.text((40, top), item, fill="black", font=face)
        for x, text in zip(columns[1:], (quantity, price, total, "SR"), strict=True):
            draw.text((x, top + 20), text, fill="black", font=face)
        rows += [item, f"{quantity} {price} {total} SR"]
    draw.text((40, 250), "Total (Inclusive of GST):", fill="black", font=face)
    draw.text((560, 250), "12.10", fill="black", font=face)
    rows.append("Total (Inclusive of GST): 12.10")
    text = post_json(client, image_base64=b64(encode(image)), engine=engine).json()["text"].casefold()
    # not all the names, then all the rows of numbers
    assert Levenshtein.distance(text.split(), " ".join(rows).casefold().split()) <= 2, text
    assert sum(row.casefold() in text.splitlines() for row in rows) >= len(rows) - 1, text


BILL_TO = ["Bill to:", "Maria Lopez", "12 Harbour Street, Flat 4", "Springfield SP1 4RT", "United Kingdom"]
SHIP_TO = ["Ship to:", "Quayside Logistics plc", "Unit 7, Dockside Park", "Portsmouth PO2 8QA", "United Kingdom"]


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny", "tesseract"])
def test_two_addresses_side_by_side_on_an_invoice_read_one_after_the_other(client: TestClient, engine: str) -> None:
    # their lines share rows as a form's labels and values do, but neither side is a label or an amount
    image = Image.new("RGB", (1100, 360), "white")
    draw, face = ImageDraw.Draw(image), font(20)
    for row, (left, right) in enumerate(zip(BILL_TO, SHIP_TO, strict=True)):
        draw.text((60, 60 + 28 * row), left, fill="black", font=face)
        draw.text((560, 60 + 28 * row), right, fill="black", font=face)
    text = post_json(client, image_base64=b64(encode(image)), engine=engine).json()["text"]
    assert Levenshtein.distance(text.split(), " ".join(BILL_TO + SHIP_TO).split()) <= 2, text


def test_a_number_written_in_a_comb_of_boxes_reads_as_one_line(client: TestClient) -> None:
    # the detector finds each box's digit apart: one line (one Label Studio region) and one word per number
    image = Image.new("RGB", (900, 200), "white")
    draw, face = ImageDraw.Draw(image), font(24)
    for label, x, number in (("Sort code", 40, "204617"), ("Account", 500, "4471")):
        draw.text((x, 70), label, fill="black", font=face)
        for n, digit in enumerate(number):
            left = x + (180 if x == 40 else 120) + 36 * n
            draw.rectangle((left, 60, left + 36, 104), outline="black", width=2)
            draw.text((left + 10, 68), digit, fill="black", font=face)
    body = post_json(client, image_base64=b64(encode(image)), engine="ppocr", level="line").json()
    assert body["text"] == "Sort code 204617 Account 4471"
    assert [line["text"] for block in body["pages"][0]["blocks"] for line in block["lines"]] == ["Sort code", "204617", "Account", "4471"]


def test_a_heading_set_letter_spaced_reads_as_its_words_on_a_page_and_in_a_box(client: TestClient) -> None:
    # the recogniser writes a space between letters set two thirds of their height apart: "T A X I N V O I C E 2 0 2 4"
    image, face, left = Image.new("RGB", (1000, 140), "white"), font(28), 50.0
    draw = ImageDraw.Draw(image)
    for word in ("TAX", "INVOICE", "2024"):
        for letter in word:
            draw.text((left, 50), letter, fill="black", font=face)
            left += face.getlength(letter) + 18
        left += 28
    body = post_json(client, image_base64=b64(encode(image)), engine="ppocr", level="word").json()
    assert body["text"] == "TAX INVOICE 2024"
    words = [word for block in body["pages"][0]["blocks"] for line in block["lines"] for word in line["words"]]
    assert [word["text"] for word in words] == ["TAX", "INVOICE", "2024"]
    assert [word["bbox"][0] for word in words] == sorted(word["bbox"][0] for word in words)
    # a box drawn around it, as in Label Studio, reads the same
    region = post_json(client, image_base64=b64(encode(image)), engine="ppocr", regions=[[30, 35, left + 10, 100]]).json()
    assert region["text"] == "TAX INVOICE 2024"


def test_rotated_page_text_keeps_its_direction_in_polygons(client: TestClient) -> None:
    image, _ = render_rotated_line("Slanted receipt line 77", 20)
    line = post_json(client, image_base64=b64(encode(image))).json()["pages"][0]["blocks"][0]["lines"][0]
    assert cer(line["text"], "Slanted receipt line 77") < 0.1
    (ax, ay), (bx, by) = line["polygon"][:2]
    assert 14 < np.degrees(np.arctan2(by - ay, bx - ax)) < 26


def _two_column_page(offset: int) -> Image.Image:
    """A title across two columns of three paragraphs each (of other lengths in each column, as prose runs), the
    right column set ``offset`` px lower."""
    face, words = font(22), "the river ran past the old mill and on into the town where people met".split()
    image = Image.new("RGB", (1240, 1400), "white")
    draw = ImageDraw.Draw(image)
    draw.text((60, 40), "Notes From The Valley", fill="black", font=font(36))
    for column, x, marks, lengths in ((0, 60, COLUMN_MARKS[:3], (2, 3, 1)), (1, 660, COLUMN_MARKS[3:], (1, 2, 3))):
        y = 130 + column * offset
        for mark, length in zip(marks, lengths, strict=True):
            for line in textwrap.wrap(" ".join([mark] + words * length), 40):
                draw.text((x, y), line, fill="black", font=face)
                y += 32
            y += 40
    return image


COLUMN_MARKS = ["Apricot", "Blueberry", "Cranberry", "Damson", "Elderberry", "Gooseberry"]


@pytest.mark.parametrize("offset", [0, 45])
def test_a_page_in_two_columns_reads_down_the_left_column_then_the_right(client: TestClient, offset: int) -> None:
    # with the columns' lines on the same rows (0) or not (45); empty bands run across both columns either way
    body = post_json(client, image_base64=b64(encode(_two_column_page(offset))), profile="fast").json()
    text = body["text"]
    assert text.startswith("Notes From The Valley")
    where = [text.find(mark) for mark in COLUMN_MARKS]
    assert -1 not in where and where == sorted(where), text


# ---- image forms ----------------------------------------------------------------------------------
def _variants(image: Image.Image) -> dict[str, bytes]:
    gray = image.convert("L")
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.eval(gray, lambda v: 255 - v))  # text opaque, background transparent
    rgba_data = np.array(rgba)
    rgba_data[..., :3][rgba_data[..., 3] == 0] = 0  # transparent pixels are black: must be composited on white
    sixteen = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257).convert("I;16")
    rotated = image.rotate(90, expand=True)  # stored on its side, EXIF says "rotate 90 CW to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "grayscale png": encode(gray),
        "palette gif": encode(image.convert("P"), "GIF"),
        "transparent rgba png": encode(Image.fromarray(rgba_data, "RGBA")),
        "cmyk jpeg": encode(image.convert("CMYK"), "JPEG", quality=95),
        "16-bit png": encode(sixteen),
        "tiff": encode(image, "TIFF"),
        "webp": encode(image, "WEBP", lossless=True),
        "exif-rotated jpeg": encode(rotated, "JPEG", quality=95, exif=exif),
    }


def test_every_common_image_form_is_read(client: TestClient) -> None:
    image = render_lines(["Grand total 19.99"]).image
    for name, data in _variants(image).items():
        response = client.post("/v1/ocr", files={"file": ("x", data)})
        assert response.status_code == 200, (name, response.text)
        assert response.json()["text"] == "Grand total 19.99", name


@pytest.mark.parametrize("kind", ["PDF", "TIFF"])
def test_the_pages_of_a_pdf_or_a_multi_page_tiff_are_read_and_selectable(client: TestClient, kind: str) -> None:
    """A PDF is rendered page by page; a fax or a scanner's batch comes as one TIFF of several pages (its second
    page here in 1-bit, as faxes are). Only a TIFF's first page used to be read."""
    first = render_lines(["First page here"]).image
    second = render_lines(["Second page there"]).image
    options = {"resolution": 150} if kind == "PDF" else {"compression": "tiff_deflate"}
    buffer = io.BytesIO()
    first.save(buffer, format=kind, save_all=True, append_images=[second if kind == "PDF" else second.convert("1")], **options)
    document = buffer.getvalue()
    body = client.post("/v1/ocr", files={"file": (f"d.{kind.lower()}", document)}).json()
    assert [p["text"] for p in body["pages"]] == ["First page here", "Second page there"]
    only = post_json(client, image_base64=b64(document), pages=[1]).json()
    assert [p["text"] for p in only["pages"]] == ["Second page there"]
    bad = post_json(client, image_base64=b64(document), pages=[5])
    assert bad.status_code == 422 and "2 page" in bad.json()["detail"]

# ---- batch and hubserving -------------------------------------------------------------------------
def test_batch_answers_each_image_in_order_with_per_image_errors(client: TestClient, two_lines, image_server, closed_port) -> None:
    data, _ = two_lines
    base_url, root = image_server
    (root / "batch.png").write_bytes(encode(render_lines(["Second image"]).image))
    body = client.post(
        "/v1/ocr/batch",
        json={
            "images": [
                {"image_base64": b64(data)},
                "not base64 at all!!",
                f"http://127.0.0.1:{closed_port}/x.png",
                f"{base_url}/batch.png",
                {"image_base64": b64(data), "engine": "tesseract", "level": "page"},
            ],
            "level": "line",
        },
    ).json()["results"]
    assert [r["ok"] for r in body] == [True, False, False, True, True]
    assert [r["index"] for r in body] == [0, 1, 2, 3, 4]
    assert body[0]["result"]["text"] == "\n".join(LINES)
    assert "words" not in body[0]["result"]["pages"][0]["blocks"][0]["lines"][0]  # batch-level option applied
    assert body[1]["status"] == 422 and body[1]["error"]["error"] == "invalid_image"
    assert body[2]["status"] == 422 and "connection refused" in body[2]["error"]["detail"]
    assert body[3]["result"]["text"] == "Second image"
    assert body[4]["result"]["engine"] == "tesseract" and "blocks" not in body[4]["result"]["pages"][0]


def test_batch_over_the_limit_is_refused(client: TestClient) -> None:
    limit = client.app.state.settings.max_batch
    response = client.post("/v1/ocr/batch", json={"images": ["x"] * (limit + 1)})
    assert response.status_code == 413 and "OCR_MAX_BATCH" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/predict/ocr_system", "/ocr_system"])
def test_hubserving_shape_with_real_confidences(client: TestClient, two_lines, path: str) -> None:
    data, boxes = two_lines
    body = client.post(path, json={"images": [b64(data), "bad!"]}).json()
    assert body["status"] == "101" and "image 1" in body["msg"]
    first, second = body["results"]
    assert [item["text"] for item in first] == LINES and second == []
    for item in first:
        assert 0.8 < item["confidence"] <= 1.0  # a recognition score, not elapsed time
        assert len(item["text_region"]) == 4 and all(len(p) == 2 for p in item["text_region"])
    good = client.post(path, json={"images": [b64(data)]}).json()
    assert good["status"] == "000" and good["msg"] == ""


# ---- bad input ------------------------------------------------------------------------------------
def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb's first bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, payload: struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        ({"files": {"file": ("x.png", b"this is not an image")}}, 422, "not an image format"),
        ({"files": {"file": ("x.png", b"")}}, 422, "empty"),
        ({"files": {"file": ("x.png", _png_header_only(30000, 30000))}}, 413, "OCR_MAX_IMAGE_PIXELS"),
        ({"json": {"image_base64": "%%%"}}, 422, "base64"),
        ({"json": {}}, 422, "exactly one of image_url or image_base64"),
        ({"json": {"image_url": "ftp://example.org/x.png"}}, 422, "http(s)"),
        ({"json": {"image_base64": "aGVsbG8=", "engine": "nope"}}, 400, "Available engines"),
        ({"json": {"image_base64": "aGVsbG8=", "lang": "km"}}, 400, "does not support"),  # no Khmer installed
        ({"json": {"image_base64": "aGVsbG8=", "level": "pixel"}}, 422, "level"),
        ({"json": {"image_base64": "aGVsbG8=", "regions": [[1, 2, 3]]}}, 422, "4 numbers"),
        ({"json": {"image_base64": "aGVsbG8=", "regions": [[5, 5, 5, 9]]}}, 422, "no area"),
        ({"content": b'{"image_base64": "aGVsbG8=", "regions": [[0, 0, Infinity, 9]]}',
          "headers": {"content-type": "application/json"}}, 422, "finite numbers"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "not valid JSON"),
        ({"content": b"", "headers": {"content-type": "application/json"}}, 422, "empty"),
        ({"content": b"abc", "headers": {"content-type": "text/plain"}}, 422, "Content-Type"),
        ({"files": {"upload": ("x.png", b"abc")}}, 422, "'file'"),
    ],
)
def test_bad_input_gets_a_4xx_that_says_what_to_fix(client: TestClient, kwargs, status: int, needle: str) -> None:
    response = client.post("/v1/ocr", **kwargs)
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]


def test_truncated_image_is_refused_clearly(client: TestClient, two_lines) -> None:
    data = encode(render_lines(["cut short"]).image, "JPEG")
    response = client.post("/v1/ocr", files={"file": ("x.jpg", data[: len(data) // 2])})
    assert response.status_code == 422
    assert "truncated" in response.json()["detail"] or "decoded" in response.json()["detail"]


def test_unreachable_and_missing_urls_name_the_cause(client: TestClient, image_server, closed_port) -> None:
    refused = post_json(client, image_url=f"http://127.0.0.1:{closed_port}/x.png")
    assert refused.status_code == 422 and "connection refused" in refused.json()["detail"]
    base_url, _ = image_server
    missing = post_json(client, image_url=f"{base_url}/nothing-here.png?token=SECRET")
    assert missing.status_code == 422 and "HTTP 404" in missing.json()["detail"]
    assert "SECRET" not in missing.json()["detail"]


def test_region_outside_the_image_is_refused(client: TestClient, two_lines) -> None:
    response = post_json(client, image_base64=b64(two_lines[0]), regions=[[5000, 5000, 5100, 5050]])
    assert response.status_code == 422 and "outside" in response.json()["detail"]


def test_a_region_far_larger_than_the_image_is_refused_at_once(client: TestClient, two_lines) -> None:
    """Cut out whole, it would have been a 52,000 px square: 7.8 GB of blank padding and half a minute."""
    response = post_json(client, image_base64=b64(two_lines[0]), regions=[[-20000, -20000, 20000, 20000]])
    assert response.status_code == 422 and "far larger than the" in response.json()["detail"]
    # to the largest float: once NaN inside OpenCV's 32-bit arithmetic, reported as the engine failing
    for region in ([0, 0, 1e308, 1e308], [[0, 0], [1e308, 0], [1e308, 50], [0, 50]]):
        response = post_json(client, image_base64=b64(two_lines[0]), regions=[region])
        assert response.status_code == 422 and "within 1,000,000,000 px" in response.json()["detail"]
    # a box drawn a little past the image's edges is read as usual
    width, height = Image.open(io.BytesIO(two_lines[0])).size
    loose = post_json(client, image_base64=b64(two_lines[0]), regions=[[-20, -20, width + 20, height + 20]])
    assert loose.status_code == 200 and "Invoice 4711" in loose.json()["text"]


def test_profiles_pick_the_quickest_engine_that_has_the_languages(client: TestClient, dev_data) -> None:
    data = b64(encode(render_lines(["Fast profile line 12"]).image))
    fast = post_json(client, image_base64=data, profile="fast").json()
    assert fast["engine"] == "ppocr-tiny" and fast["text"] == "Fast profile line 12"
    assert post_json(client, image_base64=data, profile="accurate").json()["engine"] == "ppocr"
    assert post_json(client, image_base64=data).json()["engine"] == "ppocr"  # the server's default profile
    chinese = (dev_data / "images" / "rects_000001.jpg").read_bytes()
    assert post_json(client, image_base64=b64(chinese), profile="fast", lang="zh").json()["engine"] == "ppocr-tiny"
    assert post_json(client, image_base64=data, profile="fast", lang="de").json()["engine"] == "ppocr-tiny"
    # tiny has no kana: Japanese (which Tesseract reads badly) goes to ppocr; Russian only Tesseract has
    assert post_json(client, image_base64=data, profile="fast", lang="ja").json()["engine"] == "ppocr"
    for profile in ("fast", "accurate"):
        assert post_json(client, image_base64=data, profile=profile, lang="ru").json()["engine"] == "tesseract"
    assert post_json(client, image_base64=data, profile="fast", engine="ppocr").json()["engine"] == "ppocr"
    assert post_json(client, image_base64=data, profile="slow").status_code == 422


def test_the_fastpaddle_engine_reads_pages_and_regions(client: TestClient, two_lines) -> None:
    data, boxes = two_lines
    page = post_json(client, image_base64=b64(data), engine="fastpaddle").json()
    assert page["engine"] == "fastpaddle" and page["text"] == "\n".join(LINES)
    assert page["model_version"] == "PP-OCRv6-small-faster-paddle"
    line = page["pages"][0]["blocks"][0]["lines"][0]
    assert iou(line["bbox"], boxes[0]) > 0.4 and 0.8 < line["confidence"] <= 1
    x0, y0, x1, y1 = boxes[1]
    region = post_json(client, image_base64=b64(data), engine="fastpaddle", regions=[[x0 - 6, y0 - 6, x1 + 6, y1 + 6]]).json()
    assert [b["text"] for b in region["pages"][0]["blocks"]] == [LINES[1]]
