"""Real labelled documents (receipts, forms, Chinese) through the HTTP API, judged against their ground truth.

Thresholds sit below what the engines measured on these images (see docs/benchmarks.md), so a
regression in decoding, geometry or engine settings fails here, while engine noise does not.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.ocrserver_adapter import in_dim_light, photographed_at_an_angle, under_a_shadow
from ocrserver.engines.tesseract import darker_around
from ocrserver.exposure import with_full_contrast
from ocrserver.geometry import perspective_mapped
from ocrserver.perspective import EDGE, flattened, page_corners
from ocrserver.result import bbox_of
from tests.conftest import load_label
from tests.helpers import bag_of_words_f1, cer, encode, font, iou, normalize, render_lines


def _image_b64(dev_data: Path, label: dict) -> str:
    return base64.b64encode((dev_data / "images" / label["image"]).read_bytes()).decode()


def _truth(label: dict) -> list[dict]:
    return [region for region in label["regions"] if not region.get("ignore")]


@pytest.mark.parametrize(
    ("item", "lang", "engine", "min_f1"),
    [
        ("sroie_025", "en", "ppocr", 0.78),
        ("funsd_0000990274", "en", "ppocr", 0.70),
        ("synthzh_1004", "zh", "ppocr", 0.95),
        ("rects_000001", "zh", "ppocr", 0.90),  # a real Chinese signboard photo
        # a calligraphic sign: its title is beyond the model, its transliteration and side signs are read (the page
        # was read upside down, as one character, before the orientation vote looked at pieces of lines: F1 0)
        ("rects_000002", "zh", "ppocr", 0.40),
        ("sroie_025", "en", "tesseract", 0.65),
    ],
)
def test_whole_page_text_matches_the_ground_truth(client: TestClient, dev_data: Path, item, lang, engine, min_f1) -> None:
    label = load_label(dev_data, item)
    body = client.post(
        "/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "lang": lang, "engine": engine, "level": "line"}
    ).json()
    truth = " ".join(region["text"] for region in _truth(label))
    assert bag_of_words_f1(body["text"], truth) >= min_f1
    page = body["pages"][0]
    assert (page["width"], page["height"]) == (label["width"], label["height"])
    for block in page["blocks"]:
        for line in block["lines"]:
            x0, y0, x1, y1 = line["bbox"]
            assert -2 <= x0 < x1 <= label["width"] + 2 and -2 <= y0 < y1 <= label["height"] + 2


@pytest.mark.parametrize(
    ("item", "engine", "max_cer"),
    [("sroie_025", "ppocr", 0.04), ("sroie_025", "tesseract", 0.08), ("funsd_0060077689", "ppocr", 0.12)],
)
def test_labelled_regions_read_one_by_one(client: TestClient, dev_data: Path, item, engine, max_cer) -> None:
    label = load_label(dev_data, item)
    regions = _truth(label)[:40]
    body = client.post(
        "/v1/ocr",
        json={
            "image_base64": _image_b64(dev_data, label),
            "engine": engine,
            "regions": [region["points"] for region in regions],
            "level": "block",
        },
    ).json()
    predicted = [block["text"] for block in body["pages"][0]["blocks"]]
    assert len(predicted) == len(regions)
    truth_text = " | ".join(normalize(r["text"]).casefold() for r in regions)
    predicted_text = " | ".join(normalize(p).casefold() for p in predicted)
    assert cer(predicted_text, truth_text) <= max_cer


@pytest.mark.parametrize(("item", "index"), [("sroie_411", 7), ("sroie_332", 2), ("sroie_418", 42)])
def test_tesseract_reads_a_clean_printed_line_that_its_single_line_mode_reads_as_nothing(
        client: TestClient, dev_data: Path, item: str, index: int) -> None:
    # a box drawn a tenth of its height around one receipt line, as an annotator draws it
    label = load_label(dev_data, item)
    x0, y0, x1, y1 = label["regions"][index]["bbox"]
    pad = 0.1 * (y1 - y0)
    body = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "engine": "tesseract",
                                        "regions": [[x0 - pad, y0 - pad, x1 + pad, y1 + pad]]}).json()
    assert cer(normalize(body["text"]).casefold(), normalize(label["regions"][index]["text"]).casefold()) <= 0.1


@pytest.mark.parametrize(("item", "index"), [("funsd_0060091229", 11), ("funsd_0011906503", 70), ("funsd_80310840a", 31)])
def test_a_box_around_several_printed_lines_reads_them_as_printed(
        client: TestClient, dev_data: Path, item: str, index: int) -> None:
    # form fields whose text wraps: the tiny -> small cascade settled a line with a misread character in it
    # ("Distance fram your", "Administrative equirements", "Lower Incldence"); the small recogniser reads them right
    label = load_label(dev_data, item)
    region = label["regions"][index]
    body = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "regions": [region["bbox"]]}).json()
    assert normalize(body["text"]).casefold() == normalize(region["text"]).casefold()


def _chinese_page_with_words(client: TestClient, dev_data: Path, label: dict, engine: str) -> dict:
    body = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "lang": "zh", "engine": engine,
                                        "level": "word"}).json()
    return body["pages"][0]


def _lines(page: dict) -> list[dict]:
    return [line for block in page["blocks"] for line in block["lines"]]


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny"])
def test_a_receipts_short_fields_are_boxed_around_their_print_as_people_label_them(
        client: TestClient, dev_data: Path, engine: str) -> None:
    # the detector's box around a quantity or a price (x5, 24.12) hangs well below its digits, which have no
    # descenders: 9 px below, 3 px above on this receipt, so it matched its label at IoU 0.44-0.50
    label = load_label(dev_data, "synthzh_1005")
    lines = _lines(_chinese_page_with_words(client, dev_data, label, engine))
    fields = [region for region in _truth(label) if len(region["text"]) <= 6 and region["text"].isascii()]
    assert len(fields) >= 10
    matched = [max((iou(line["bbox"], region["bbox"]) for line in lines), default=0.0) >= 0.5 for region in fields]
    assert sum(matched) >= len(fields) - 1, [f["text"] for f, m in zip(fields, matched, strict=True) if not m]
    for line in lines:  # each word stays inside its line
        x0, y0, x1, y1 = line["bbox"]
        assert all(x0 - 0.5 <= w["bbox"][0] and y0 - 0.5 <= w["bbox"][1] and w["bbox"][2] <= x1 + 0.5
                   and w["bbox"][3] <= y1 + 0.5 for w in line["words"]), line


def test_a_box_drawn_around_a_signs_big_characters_reads_them_not_only_the_small_print_below(
        client: TestClient, dev_data: Path) -> None:
    # calligraphic 3-D characters (酱鸭传奇) above their transliteration: read 0.75 sure, they were dropped as a
    # neighbour's piece at the box's edge, and the box read as "JIANG YA CHLAN M"
    label = load_label(dev_data, "rects_000002")
    body = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "lang": "zh",
                                        "regions": [label["regions"][0]["bbox"]]}).json()
    first, *rest = body["text"].splitlines()
    assert "奇" in first and "JIANG" in " ".join(rest), body["text"]


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny"])
def test_a_chinese_forms_labels_and_the_values_set_apart_from_them_are_fields_of_their_own(
        client: TestClient, dev_data: Path, engine: str) -> None:
    # the detector finds "联系电话：  13459803880" as one line, the colon's dots bridging the gap; people label
    # the question and its answer apart, and a value that runs on after its colon (填表日期：2022年4月23日) whole
    label = load_label(dev_data, "synthzh_1003")
    page = _chinese_page_with_words(client, dev_data, label, engine)
    lines = _lines(page)
    for region in _truth(label)[1:]:  # the title aside
        best = max(lines, key=lambda line: iou(line["bbox"], region["bbox"]))
        assert iou(best["bbox"], region["bbox"]) >= 0.5, (region["text"], best["text"])
        assert normalize(best["text"]) == normalize(region["text"])
        assert "".join(word["text"] for word in best["words"]).replace(" ", "") == best["text"].replace(" ", "")
    rows = page["text"].splitlines()
    assert "联系电话： 13459803880" in rows and "出生日期： 2019年4月8日" in rows, rows  # a field's row reads across


def test_a_receipts_quantities_printed_apart_before_the_items_are_read(client: TestClient, dev_data: Path) -> None:
    # the detector leaves lone glyphs out: "1    DN3 Dry Curry EN" read as "DN3 Dry Curry EN"
    label = load_label(dev_data, "sroie_463")
    page = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "engine": "ppocr",
                                        "level": "word"}).json()["pages"][0]
    quantities = [region for region in _truth(label) if region["text"] == "1"]
    assert len(quantities) == 5
    for region in quantities:  # each boxed about as its label is, and one word of its own
        best = max(_lines(page), key=lambda line: iou(line["bbox"], region["bbox"]))
        assert best["text"] == "1" and iou(best["bbox"], region["bbox"]) >= 0.5, (region["bbox"], best)
        assert [word["text"] for word in best["words"]] == ["1"]
        assert best["words"][0]["bbox"] == pytest.approx(best["bbox"], abs=1.0)
    items = [row for row in page["text"].splitlines() if row.startswith("1 ")]
    assert len(items) >= 5 and any("Dry Curry" in row for row in items), page["text"]


def test_an_upside_down_scan_reads_like_the_upright_one_with_boxes_on_the_image_as_sent(
    client: TestClient, dev_data: Path
) -> None:
    label = load_label(dev_data, "sroie_025")
    upright = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    turned = io.BytesIO()
    upright.rotate(180).save(turned, format="PNG")
    read = {}
    for name, data in (("upright", (dev_data / "images" / label["image"]).read_bytes()), ("turned", turned.getvalue())):
        read[name] = client.post(
            "/v1/ocr", json={"image_base64": base64.b64encode(data).decode(), "lang": "en", "level": "word"}
        ).json()["pages"][0]
    truth = " ".join(region["text"] for region in _truth(label))
    assert bag_of_words_f1(read["turned"]["text"], truth) >= 0.78
    # the same text in the same reading order, not just the same words (the detector splits a few table
    # cells differently on the turned image; lines in reverse order would be over 0.8)
    assert cer(read["turned"]["text"], read["upright"]["text"]) <= 0.2
    first = read["turned"]["blocks"][0]["lines"][0]
    assert normalize(first["text"]) == "TEO HENG STATIONERY & BOOKS"
    # on the image as sent the title is at the bottom, its first corner (the text's top-left) at the bottom right
    x0, y0, x1, y1 = first["bbox"]
    assert y0 > label["height"] * 0.75
    corner_x, corner_y = first["polygon"][0]
    assert corner_x == pytest.approx(x1, abs=3) and corner_y == pytest.approx(y1, abs=3)
    assert [word["text"] for word in first["words"]] == ["TEO", "HENG", "STATIONERY", "&", "BOOKS"]
    assert first["words"][0]["bbox"][0] > first["words"][-1]["bbox"][0]  # read right to left on the image


def test_tesseract_page_lines_are_the_fields_people_label(laid_out_by_tesseract: TestClient, dev_data: Path) -> None:
    # Tesseract's own layout (OCR_TESSERACT_LAYOUT=tesseract); PP-OCR tiny's detector finds this row as one line too
    label = load_label(dev_data, "sroie_025")
    body = laid_out_by_tesseract.post(
        "/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "engine": "tesseract", "level": "line"}
    ).json()
    lines = [normalize(line["text"]) for block in body["pages"][0]["blocks"] for line in block["lines"]]
    # one printed row, two labelled regions: Tesseract alone reads "TEL : 03-3271 9872 FAX : 03-3271 9481"
    assert "TEL : 03-3271 9872" in lines and "FAX : 03-3271 9481" in lines


@pytest.mark.parametrize(("item", "found_at_least", "boxed_at_least", "bow_at_least"), [
    ("sroie_025", 0.83, 0.9, 0.65),  # Tesseract's own layout: 0.75 and 0.72 of the lines
    ("funsd_0060077689", 0.6, 0.7, 0.35),  # 0.36 and 0.38
])
def test_tesseract_reads_a_pages_lines_where_people_label_them(client: TestClient, dev_data: Path, item: str,
                                                              found_at_least: float, boxed_at_least: float,
                                                              bow_at_least: float) -> None:
    # PP-OCR's detector finds the lines, Tesseract reads each: its own layout makes one line of a row of fields,
    # loses short fields and splits a form's noisy print into pieces
    label = load_label(dev_data, item)
    body = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, label), "engine": "tesseract",
                                        "level": "word"}).json()
    lines = _lines(body["pages"][0])
    truth = _truth(label)
    found = [max(iou(line["bbox"], region["bbox"]) for line in lines) >= 0.5 for region in truth]
    boxed = [max(iou(line["bbox"], region["bbox"]) for region in truth) >= 0.5 for line in lines]
    assert np.mean(found) >= found_at_least and np.mean(boxed) >= boxed_at_least
    assert bag_of_words_f1(body["text"], " ".join(region["text"] for region in truth)) >= bow_at_least
    for line in lines:  # Tesseract's words, on the page, inside their line
        x0, y0, x1, y1 = line["bbox"]
        assert line["words"] and " ".join(word["text"] for word in line["words"]) == line["text"]
        assert all(x0 - 0.5 <= w["bbox"][0] and y0 - 0.5 <= w["bbox"][1] and w["bbox"][2] <= x1 + 0.5
                   and w["bbox"][3] <= y1 + 0.5 for w in line["words"]), line


@pytest.mark.parametrize("degrees", [180, 90, 270])
def test_tesseract_reads_a_page_scanned_upside_down_or_sideways(tesseract_client: TestClient, dev_data: Path, degrees: int) -> None:
    label = load_label(dev_data, "sroie_025")
    turned = io.BytesIO()
    Image.open(dev_data / "images" / label["image"]).rotate(degrees, expand=True).save(turned, format="PNG")
    body = tesseract_client.post(
        "/v1/ocr",
        json={"image_base64": base64.b64encode(turned.getvalue()).decode(), "engine": "tesseract", "level": "line"},
    ).json()
    truth = " ".join(region["text"] for region in _truth(label))
    assert bag_of_words_f1(body["text"], truth) >= 0.65  # upright: 0.70 (the whole-page test above)
    page = body["pages"][0]
    lines = {normalize(line["text"]): line for block in page["blocks"] for line in block["lines"]}
    unspaced = " | ".join(text.replace(" ", "") for text in lines)
    assert "TEL:03-32719872" in unspaced and "FAX:03-32719481" in unspaced  # read upright
    # on the image as sent, the title (the top of the receipt) turned with the page, its first corner the text's top-left
    title = next(line for text, line in lines.items() if "STATIONERY" in text)
    x0, y0, x1, y1 = title["bbox"]
    where, corner = {
        180: (y0 > page["height"] * 0.75, (x1, y1)),
        90: (x1 < page["width"] * 0.25 and y1 - y0 > 5 * (x1 - x0), (x0, y1)),  # counter-clockwise: on the left
        270: (x0 > page["width"] * 0.75 and y1 - y0 > 5 * (x1 - x0), (x1, y0)),
    }[degrees]
    assert where
    assert title["polygon"][0] == pytest.approx(list(corner), abs=3)


@pytest.mark.parametrize("degrees", [90, 270])
def test_ppocr_reads_a_page_scanned_sideways_as_if_upright(client: TestClient, dev_data: Path, degrees: int) -> None:
    label = load_label(dev_data, "sroie_025")
    turned = io.BytesIO()
    Image.open(dev_data / "images" / label["image"]).rotate(degrees, expand=True).save(turned, format="PNG")
    page = client.post(
        "/v1/ocr", json={"image_base64": base64.b64encode(turned.getvalue()).decode(), "lang": "en", "level": "line"}
    ).json()["pages"][0]
    truth = " ".join(region["text"] for region in _truth(label))
    assert bag_of_words_f1(page["text"], truth) >= 0.78
    first = page["blocks"][0]["lines"][0]
    assert normalize(first["text"]) == "TEO HENG STATIONERY & BOOKS"  # in reading order, as upright
    x0, y0, x1, y1 = first["bbox"]
    # the text's top-left first: bottom left of its box when turned counter-clockwise, top right when clockwise
    corner = (x0, y1) if degrees == 90 else (x1, y0)
    assert first["polygon"][0] == pytest.approx(list(corner), abs=3)


# where _photographed puts the scan in its photo: in a 4000 x 4000 px one a little left of and above the middle
PHOTO_AT = (1400, 1100)


def _photographed(scan: Image.Image, side: int = 4000) -> str:
    """The scan at its own resolution in a ``side`` x ``side`` px photo of a grainy grey table, a JPEG, base64."""
    frame = Image.fromarray(np.random.default_rng(0).normal(100, 12, (side, side, 3)).clip(0, 255).astype(np.uint8))
    frame.paste(scan, PHOTO_AT)
    photo = io.BytesIO()
    frame.save(photo, format="JPEG", quality=90)
    return base64.b64encode(photo.getvalue()).decode()


def _read_in_a_photo(client: TestClient, dev_data: Path, label_id: str, side: int = 4000,
                     **request: str) -> tuple[dict, Image.Image, dict]:
    """The dev scan ``label_id`` read as lines in its ``side`` px photo (``_photographed``): its label, the scan, the
    page read."""
    label = load_label(dev_data, label_id)
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    body = {"image_base64": _photographed(scan, side), "level": "line", **request}
    return label, scan, client.post("/v1/ocr", json=body).json()["pages"][0]


def _on_the_scan_in_the_photo(bbox: list[float], scan: Image.Image) -> bool:
    """Whether a box found on the photo lies where the scan lies in it (within 3 px)."""
    (left, top), (x0, y0, x1, y1) = PHOTO_AT, bbox
    return left - 3 <= x0 and top - 3 <= y0 and x1 <= left + scan.width + 3 and y1 <= top + scan.height + 3


def test_a_form_photographed_from_a_distance_reads_like_the_scan(client: TestClient, dev_data: Path) -> None:
    # the scanned form at its own resolution in a 4000 x 4000 px photo: shrunk to the 2000 px rapidocr reads at,
    # its text is 6 px high and under a third of its words came out (BoW F1 0.31); read where the text is, at the
    # photo's own resolution, as the scan (0.78)
    label, scan, page = _read_in_a_photo(client, dev_data, "funsd_0000990274", lang="en")
    left, top = PHOTO_AT
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in _truth(label))) >= 0.7
    assert (page["width"], page["height"]) == (4000, 4000)
    lines = _lines(page)
    assert all(_on_the_scan_in_the_photo(line["bbox"], scan) for line in lines)  # where the form lies in the photo
    title = next(line for line in lines if "LICENSEE" in line["text"])
    truth = next(region for region in _truth(label) if "LICENSEE" in region["text"])
    x0, y0, x1, y1 = title["bbox"]
    tx0, ty0, tx1, ty1 = truth["bbox"]  # the two-line heading, as labelled on the scan
    assert tx0 <= (x0 + x1) / 2 - left <= tx1 and ty0 <= (y0 + y1) / 2 - top <= ty1


@pytest.mark.parametrize(("label_id", "bow_at_least"), [("funsd_0060091229", 0.75), ("sroie_288", 0.85)])
def test_a_document_a_small_share_of_a_big_photo_is_found_by_its_paper_and_read(
        client: TestClient, dev_data: Path, label_id: str, bow_at_least: float) -> None:
    # a form (0.85 as scanned) and a receipt (0.95) at their own resolution in a 7000 x 7000 px photo: shrunk to the
    # 2000 px rapidocr reads at, their print is 3-4 px high and no line was found to read closer (BoW F1 0.0 both);
    # the paper around the text is found instead (perspective.page_corners), and read at the photo's resolution
    label, scan, page = _read_in_a_photo(client, dev_data, label_id, side=7000, lang="en")
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in _truth(label))) >= bow_at_least
    assert (page["width"], page["height"]) == (7000, 7000)
    assert all(_on_the_scan_in_the_photo(line["bbox"], scan) for line in _lines(page))


def test_a_blank_paper_in_a_big_photo_reads_as_no_text(tesseract_client: TestClient) -> None:
    # an empty sheet in a 12 MP photo of a grainy table: read closer as a page, its edges were read as letters
    # ('EE', 'i', ';'); a page read closer must hold print
    photo = Image.fromarray(np.random.default_rng(0).normal(100, 12, (3024, 4032, 3)).clip(0, 255).astype(np.uint8))
    ImageDraw.Draw(photo).rectangle((1500, 1000, 2100, 1400), fill=(235, 235, 230))
    body = {"image_base64": base64.b64encode(encode(photo.filter(ImageFilter.GaussianBlur(1)))).decode(),
            "engine": "tesseract", "lang": "en", "level": "line"}
    page = tesseract_client.post("/v1/ocr", json=body).json()["pages"][0]
    assert page["text"] == "" and page["blocks"] == []


def test_tesseract_reads_a_receipt_photographed_on_a_table_where_it_lies(tesseract_client: TestClient, dev_data: Path) -> None:
    # the scanned receipt in a 4000 x 4000 px photo of a grainy grey table: read whole, the table spoils Tesseract's
    # thresholding (BoW F1 0.73); read again where its sure lines lie, as the scan (0.84)
    label, scan, page = _read_in_a_photo(tesseract_client, dev_data, "sroie_348", engine="tesseract")
    left, top = PHOTO_AT
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in _truth(label))) >= 0.8
    lines = {normalize(line["text"]): line for block in page["blocks"] for line in block["lines"]}
    assert all(_on_the_scan_in_the_photo(line["bbox"], scan) for line in lines.values())  # where the receipt lies
    truth = next(region for region in _truth(label) if region["text"] in lines)
    assert lines[truth["text"]]["bbox"] == pytest.approx(np.add(truth["bbox"], [left, top, left, top]).tolist(), abs=6)


def test_only_a_document_lying_on_something_darker_than_its_paper_counts_as_photographed(dev_data: Path) -> None:
    # a receipt scanned with wide blank margins holds its text in a tenth of the scan, as a photo does: reading
    # that part again would read the same in twice the time
    label = load_label(dev_data, "sroie_058")
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    boxes = np.array([region["bbox"] for region in _truth(label)], dtype=int)
    text_part = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
    assert not darker_around(scan, text_part)
    for table in (100, 200):  # a grey table, a light wooden one
        photo = Image.new("RGB", (3 * scan.width, 2 * scan.height), (table, table, table))
        photo.paste(scan, (scan.width, scan.height // 2))
        assert darker_around(photo, tuple(np.add(text_part, [scan.width, scan.height // 2] * 2).tolist()))


def test_spaces_between_evenly_printed_words_are_kept(client: TestClient, dev_data: Path) -> None:
    # receipt lines the recogniser alone reads as "Tel:04-2272222", "CompanyNo : SA0099552-P" and "SALTEDEGG"
    wanted = {"sroie_610": "TEL: 04-227 2222", "sroie_564": "COMPANY NO : SA0099552-P", "sroie_078": "SALTED EGG"}
    for item, text in wanted.items():
        label = load_label(dev_data, item)
        region = next(region for region in _truth(label) if region["text"] == text)
        body = client.post(
            "/v1/ocr",
            json={"image_base64": _image_b64(dev_data, label), "engine": "ppocr", "regions": [region["points"]],
                  "level": "word"},
        ).json()
        line = body["pages"][0]["blocks"][0]["lines"][0]
        assert normalize(line["text"]).upper() == text
        assert [word["text"].upper() for word in line["words"]] == text.split()
    page = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, load_label(dev_data, "sroie_115")),
                                        "engine": "ppocr", "level": "line"}).json()
    assert "SYARIKAT PERNIAGAAN GIN KEE" in page["text"]  # "GINKEE" without the recovered space


@pytest.mark.parametrize(("engine", "item", "spaced", "whole"), [
    ("ppocr", "sroie_553", ["TAX INVOICE", "03/05/2018 20:24"], "9556570105139"),
    ("ppocr", "sroie_181", ["24-03-2018 22:02:55"], "24-03-2018"),
    ("ppocr-tiny", "sroie_564", ["COMPANY NO : SA0099552-P"], "SA0099552-P"),
])
def test_a_pages_spaces_that_the_print_shows_are_written(client: TestClient, dev_data: Path, engine: str, item: str,
                                                           spaced: list[str], whole: str) -> None:
    # read as "TAXINVOICE", "03/05/201820:24", "24-03-201822:02:55", "CompanyNo": the recogniser gave these spaces
    # 0.03-0.11, but the print leaves a character's room; a number's narrow "1"s stand apart too and keep no space
    page = client.post("/v1/ocr", json={"image_base64": _image_b64(dev_data, load_label(dev_data, item)),
                                        "engine": engine, "level": "line"}).json()
    text = normalize(page["text"]).upper()
    assert all(words in text for words in spaced)
    assert whole in text.split()


@pytest.mark.parametrize(("engine", "item", "words"), [
    ("ppocr", "sroie_505", ["GOODS MUST BE IN ORIGINAL STATE", "SUB-TOTAL"]),
    ("ppocr-tiny", "sroie_610", ["PART TIMERS", "QTY ITEM"]),
])
def test_a_faded_receipts_misread_words_are_read_as_the_words_the_model_also_saw(
        client: TestClient, dev_data: Path, engine: str, item: str, words: list[str]) -> None:
    # read as "COODS MUST BE IN ORIGINAL SIATE", "SUB-TOIAL", "PARI TIMERS", "QTY IIEM": at each misread letter the
    # recogniser's second choice spells an English word (ctc_words.py)
    image = _image_b64(dev_data, load_label(dev_data, item))

    def read(lang: str) -> str:
        body = {"image_base64": image, "engine": engine, "level": "line", "lang": lang}
        return normalize(client.post("/v1/ocr", json=body).json()["text"]).upper()

    assert all(line in read("en") for line in words)
    # Polish has no word list: the page reads as the model read it
    assert not any(line in read("pl") for line in words)


def test_tesseract_reads_a_page_scanned_askew_with_boxes_on_the_image_as_sent(tesseract_client: TestClient, dev_data: Path) -> None:
    label = load_label(dev_data, "sroie_025")
    upright = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    askew = upright.rotate(6, expand=True, fillcolor="white", resample=Image.BICUBIC)  # counter-clockwise
    sent = io.BytesIO()
    askew.save(sent, format="PNG")
    body = tesseract_client.post(
        "/v1/ocr", json={"image_base64": base64.b64encode(sent.getvalue()).decode(), "engine": "tesseract", "level": "line"}
    ).json()
    truth = " ".join(region["text"] for region in _truth(label))
    assert bag_of_words_f1(body["text"], truth) >= 0.65  # read as sent, askew: 0.50; upright: 0.70
    lines = {normalize(line["text"]): line for block in body["pages"][0]["blocks"] for line in block["lines"]}
    unspaced = {text.replace(" ", "") for text in lines}  # "TEL: 03-..." or "TEL : 03-...", as the resampled letters fall
    row = next(text for text in unspaced if text.startswith("TEL:"))  # read level: the row (or its first field) whole
    fax = next(text for text in unspaced if "FAX:" in text)
    assert row.startswith("TEL:03-32719872") and cer(fax[fax.index("FAX:"):], "FAX:03-32719481") <= 0.1
    # the title's box lies along the title on the image as sent: its top edge rising 6 degrees to the right, its
    # middle where the page's turn puts the labelled title's middle
    title = next(line for text, line in lines.items() if "STATIONERY" in text)
    (left_x, left_y), (right_x, right_y) = title["polygon"][:2]
    assert np.degrees(np.arctan2(left_y - right_y, right_x - left_x)) == pytest.approx(6, abs=1.5)
    labelled = np.mean(next(r["points"] for r in _truth(label) if "STATIONERY" in r["text"]), axis=0)
    angle = np.radians(6)
    dx, dy = labelled - (upright.width / 2, upright.height / 2)
    expected = (askew.width / 2 + dx * np.cos(angle) + dy * np.sin(angle), askew.height / 2 - dx * np.sin(angle) + dy * np.cos(angle))
    assert np.mean(title["polygon"], axis=0) == pytest.approx(expected, abs=15)


def _lines_with_paper_around(dev_data: Path, label_id: str, count: int) -> tuple[Image.Image, list[list[float]], list[str]]:
    """A receipt's or a form's first labelled lines, each cut as the scorer cuts a region (a tenth of its height
    around it) and set one under another on paper with its own height of paper around it; with the boxes an
    annotator draws loosely around each (that paper included) and the lines' text."""
    label = load_label(dev_data, label_id)
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    cuts, texts = [], []
    for region in _truth(label)[:count]:
        x0, y0, x1, y1 = region["bbox"]
        pad = 0.1 * (y1 - y0)
        cuts.append(scan.crop((round(x0 - pad), round(y0 - pad), round(x1 + pad), round(y1 + pad))))
        texts.append(region["text"])
    paper = tuple(int(v) for v in np.median(np.asarray(scan).reshape(-1, 3), axis=0))
    width = max(cut.width + 2 * cut.height for cut in cuts)
    page = Image.new("RGB", (width, sum(3 * cut.height for cut in cuts)), paper)
    boxes, top = [], 0
    for cut in cuts:
        page.paste(cut, (cut.height, top + cut.height))
        boxes.append([0, top, cut.width + 2 * cut.height, top + 3 * cut.height])
        top += 3 * cut.height
    return page, boxes, texts


@pytest.mark.parametrize(("engine", "max_cer"), [("ppocr", 0.06), ("ppocr-tiny", 0.09)])
def test_a_line_drawn_around_loosely_reads_as_if_drawn_tight(client: TestClient, dev_data: Path, engine, max_cer) -> None:
    """Annotators draw boxes with paper around the line. PP-OCR's recogniser scales what it reads to 48 px high, so
    a line with its own height of paper above and below came out a third as tall: box CER 0.2-0.5."""
    texts, predicted = [], []
    for label_id in ("sroie_025", "funsd_0060077689"):
        page, boxes, truth = _lines_with_paper_around(dev_data, label_id, 20)
        body = client.post("/v1/ocr", json={"image_base64": base64.b64encode(encode(page)).decode(), "engine": engine,
                                            "regions": boxes, "level": "block"}).json()
        predicted += [block["text"] for block in body["pages"][0]["blocks"]]
        texts += truth
    truth_text = " | ".join(normalize(text).casefold() for text in texts)
    assert cer(" | ".join(normalize(text).casefold() for text in predicted), truth_text) <= max_cer


def _lines_with_paper_beside(dev_data: Path, label_id: str, count: int) -> tuple[Image.Image, list[list[int]], list[str]]:
    """A receipt's or a form's first labelled lines, each cut as the scorer cuts a region and set one under another
    on the page's paper with twice its width of paper to its right; with the boxes an annotator drags past each
    line's end over that paper, and the lines' text."""
    label = load_label(dev_data, label_id)
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    regions = _truth(label)[:count]
    cuts = [scan.crop((round(x0 - 0.1 * (y1 - y0)), round(y0 - 0.1 * (y1 - y0)), round(x1 + 0.1 * (y1 - y0)),
                       round(y1 + 0.1 * (y1 - y0)))) for x0, y0, x1, y1 in (region["bbox"] for region in regions)]
    paper = tuple(int(v) for v in np.median(np.asarray(scan).reshape(-1, 3), axis=0))
    page = Image.new("RGB", (3 * max(cut.width for cut in cuts), sum(2 * cut.height for cut in cuts)), paper)
    boxes, top = [], 0
    for cut in cuts:
        page.paste(cut, (0, top))
        boxes.append([0, top, 3 * cut.width, top + cut.height])
        top += 2 * cut.height
    return page, boxes, [region["text"] for region in regions]


@pytest.mark.parametrize("engine", ["ppocr", "ppocr-tiny"])
def test_a_line_drawn_past_its_end_reads_nearly_as_if_drawn_tight(client: TestClient, dev_data: Path, engine: str) -> None:
    """A box dragged past the end of its line, over blank paper: the recognisers read the paper beside the print
    worse than none (CER 0.060 for ppocr, 0.089 for ppocr-tiny, against 0.027 and 0.052 drawn tight); read between the
    print's first and last columns (layout.loose_text_columns), 0.046 and 0.054."""
    readings: dict[str, list[str]] = {"tight": [], "wide": []}
    texts: list[str] = []
    for label_id in ("sroie_025", "funsd_0060077689"):
        page, boxes, truth = _lines_with_paper_beside(dev_data, label_id, 20)
        image = base64.b64encode(encode(page)).decode()
        for kind, regions in (("wide", boxes), ("tight", [[x0, y0, x1 / 3, y1] for x0, y0, x1, y1 in boxes])):
            body = client.post("/v1/ocr", json={"image_base64": image, "engine": engine, "regions": regions,
                                                "level": "block"}).json()
            readings[kind] += [block["text"] for block in body["pages"][0]["blocks"]]
        texts += truth
    truth_text = " | ".join(normalize(text).casefold() for text in texts)
    tight, wide = (cer(" | ".join(normalize(text).casefold() for text in readings[kind]), truth_text)
                   for kind in ("tight", "wide"))
    assert wide <= tight + 0.025


@pytest.mark.parametrize(("engine", "bow_at_least"), [("ppocr", 0.85), ("ppocr-tiny", 0.7), ("tesseract", 0.3)])
def test_a_receipt_photographed_in_dim_light_reads_like_the_scan(client: TestClient, dev_data: Path, engine: str,
                                                                 bow_at_least: float) -> None:
    # PP-OCR's detector found 4 / 9 / 8 of the receipt's 27 lines in the dim photo (ppocr / ppocr-tiny / tesseract,
    # BoW F1 0.26 / 0.33 / 0.18); stretched to the full grey scale first (exposure.py), 27 / 27 / 24 (0.90 / 0.75 /
    # 0.36: Tesseract misreads this receipt's dotted print on the scan too)
    label = load_label(dev_data, "sroie_387")
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    photo, _, _ = in_dim_light(scan)  # as the benchmark sends it (dev_set.py --dim)
    body = {"image_base64": base64.b64encode(encode(photo, "JPEG", quality=70)).decode(), "lang": "en", "engine": engine,
            "level": "line"}
    page = client.post("/v1/ocr", json=body).json()["pages"][0]
    assert sum(len(block["lines"]) for block in page["blocks"]) >= 0.85 * len(_truth(label))
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in _truth(label))) >= bow_at_least


@pytest.mark.parametrize(("engine", "found_at_least", "bow_at_least"), [("ppocr", 0.88, 0.93), ("tesseract", 0.85, 0.55)])
def test_a_receipt_under_a_shadow_is_boxed_and_read_like_the_scan(client: TestClient, dev_data: Path, engine: str,
                                                                  found_at_least: float, bow_at_least: float) -> None:
    # a shadow across the receipt's right part, its light there 0.4 of the rest: the lines crossing its edge were
    # boxed on one side of it (their boxes fitted to the ink Otsu's threshold found, which took the paper in shadow
    # for ink or the lit part for it), and Tesseract read the shadowed part of each line as noise: 65 / 63 of the 79
    # labelled lines found (ppocr / tesseract), BoW F1 0.92 / 0.47; with the light evened out first (ink.py), 72 / 70,
    # 0.95 / 0.64. The scan: 75 / 71, 0.95 / 0.67
    label = load_label(dev_data, "sroie_332")
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    photo = under_a_shadow(scan, 0.6)  # as the benchmark sends it (dev_set.py --shadow 0.6)
    body = {"image_base64": base64.b64encode(encode(photo)).decode(), "lang": "en", "engine": engine, "level": "line"}
    page = client.post("/v1/ocr", json=body).json()["pages"][0]
    found = [line["bbox"] for block in page["blocks"] for line in block["lines"]]
    matched = [region for region in _truth(label) if any(iou(box, region["bbox"]) > 0.5 for box in found)]
    assert len(matched) >= found_at_least * len(_truth(label))
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in _truth(label))) >= bow_at_least


def test_a_receipt_in_a_small_image_is_read_the_right_way_up(client: TestClient, dev_data: Path) -> None:
    # the receipt at 0.35 of its scan (445 x 630 px, print 6-7 px high): the angle classifier, unsure of print this
    # small, voted the page upside down and it was read so ("spoog" for "goods", BoW F1 0.07); a page voted upside
    # down whose reading is unsure is read as detected too, and the surer reading kept (0.82). The 61 dev pages turned
    # upside down read exactly as before.
    label = load_label(dev_data, "sroie_528")
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    small = scan.resize((int(scan.width * 0.35), int(scan.height * 0.35)), Image.Resampling.LANCZOS)
    body = {"image_base64": base64.b64encode(encode(small)).decode(), "lang": "en", "engine": "ppocr", "level": "line"}
    page = client.post("/v1/ocr", json=body).json()["pages"][0]
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in _truth(label))) >= 0.7
    # boxed where the labels put the line, scaled with the image (the reading as detected maps its boxes onto the
    # page once, as the first one did)
    heading = next(line for block in page["blocks"] for line in block["lines"] if "CIRCLE" in line["text"])
    truth = next(region for region in _truth(label) if "CIRCLE" in region["text"])
    assert iou(heading["bbox"], [0.35 * edge for edge in truth["bbox"]]) > 0.5


def test_a_dot_matrix_receipts_lines_count_as_one_line_each(dev_data: Path) -> None:
    # a region of one line is read by recognition alone (Tesseract: single-line mode); the line count came from the
    # median height of the ink's pieces, and a dot-matrix print breaks its strokes into many small ones (as Arabic
    # script's dots outnumber its letters): 35 of this receipt's 58 lines were counted as several
    from ocrserver.geometry import rectify
    from ocrserver.layout import count_text_lines

    label = load_label(dev_data, "sroie_505")
    page = np.asarray(Image.open(dev_data / "images" / label["image"]).convert("RGB"))
    regions = _truth(label)
    counts = [count_text_lines(rectify(page, [tuple(point) for point in region["points"]]).image) for region in regions]
    assert counts.count(1) >= 0.8 * len(regions), counts


def _scanned_at_three_times(dev_data: Path, label_id: str) -> tuple[Image.Image, dict]:
    label = load_label(dev_data, label_id)
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    return scan.resize((scan.width * 3, scan.height * 3), Image.Resampling.LANCZOS), label


def test_a_receipt_scanned_at_three_times_the_resolution_reads_like_its_scan(client: TestClient, dev_data: Path) -> None:
    # 1764 x 4590 px, seen in three strips of 1764 x 2000 px: each strip is shown to the detector shrunk until its
    # characters are 16 px high (det_input.py; as scanned they are 20 px, here 60), its lines cut and read at full
    # size. Read as scanned: BoW F1 0.97.
    big, label = _scanned_at_three_times(dev_data, "sroie_411")
    body = {"image_base64": base64.b64encode(encode(big)).decode(), "lang": "en", "engine": "ppocr", "level": "line"}
    page = client.post("/v1/ocr", json=body).json()["pages"][0]
    truth = _truth(label)
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in truth)) >= 0.95
    # boxed where the labels put the lines, scaled with the image
    lines = [line["bbox"] for block in page["blocks"] for line in block["lines"]]
    boxed = sum(any(iou(box, [3 * edge for edge in region["bbox"]]) > 0.5 for box in lines) for region in truth)
    assert boxed >= 0.85 * len(truth)


def test_the_detector_is_shown_large_print_at_16_px_and_small_print_enlarged_no_further_than_20_px(
        dev_data: Path) -> None:
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from ocrserver.engines.det_input import CHARACTER_HEIGHT, ENLARGED_PRINT, MIN_CHARACTERS, DetectorInput
    from ocrserver.ink import ink
    from ocrserver.layout import page_character_height
    from tests.helpers import font

    def shown(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        """What the detector is given (channels last) and what rapidocr's own resizing would give it."""
        page = np.asarray(image)
        given = DetectorInput(736, "min", [0.5] * 3, [0.5] * 3)(page)
        assert given is not None
        return given[0].transpose(1, 2, 0), DetPreProcess(736, "min").resize(page)

    def print_in(given: np.ndarray) -> float | None:
        """The height of the characters in what the detector is given."""
        return page_character_height(ink(((given * 0.5 + 0.5) * 255).astype(np.uint8)), MIN_CHARACTERS)

    # a strip of a receipt scanned at 3x (its characters 60 px high) is shown at about a quarter of its height and width
    big, _ = _scanned_at_three_times(dev_data, "sroie_411")
    strip = big.crop((0, 1000, big.width, 3000))
    given, as_rapidocr = shown(strip)
    assert as_rapidocr is not None and given.shape[0] * given.shape[1] < 0.2 * as_rapidocr.shape[0] * as_rapidocr.shape[1]
    print_height = print_in(given)
    assert print_height is not None and 0.75 * CHARACTER_HEIGHT <= print_height <= 1.35 * CHARACTER_HEIGHT
    # the receipt as scanned, 615 px wide: rapidocr enlarges it 1.2x (to a 736 px short side), though its characters
    # are 20 px high already; it is shown as it is, rounded to the detector's stride
    scan = Image.open(dev_data / "images" / "sroie_411.jpg").convert("RGB")
    given, as_rapidocr = shown(scan)
    assert as_rapidocr is not None and as_rapidocr.shape[1] >= 1.15 * scan.width
    assert abs(given.shape[0] - scan.height) <= 16 and abs(given.shape[1] - scan.width) <= 16
    # scanned at 0.6 of that (characters 12 px high), rapidocr enlarges it 2x; it is enlarged until they are 20 px
    given, as_rapidocr = shown(scan.resize((round(scan.width * 0.6), round(scan.height * 0.6)), Image.Resampling.LANCZOS))
    assert as_rapidocr is not None and given.shape[1] <= 0.9 * as_rapidocr.shape[1]
    print_height = print_in(given)
    assert print_height is not None and 0.75 * ENLARGED_PRINT <= print_height <= 1.35 * ENLARGED_PRINT
    # a form at half its scanned size, its characters 4-6 px high, is enlarged as rapidocr enlarges it (1.9x), and a
    # large image holding a few big words (a sign) is shown as rapidocr sizes it
    form = Image.open(dev_data / "images" / "funsd_0000990274.png").convert("RGB")
    given, as_rapidocr = shown(form.resize((form.width // 2, form.height // 2), Image.Resampling.LANCZOS))
    assert as_rapidocr is not None and given.shape[:2] == as_rapidocr.shape[:2]
    assert given.shape[1] >= 1.8 * form.width // 2
    sign = Image.new("RGB", (2400, 1800), "white")
    ImageDraw.Draw(sign).text((100, 700), "OPEN 24 HOURS", font=font(200), fill="black")
    given, as_rapidocr = shown(sign)
    assert as_rapidocr is not None and given.shape[:2] == as_rapidocr.shape[:2]


def _in_dim_light(photo: Image.Image, perspective: np.ndarray, cut: bool = False) -> tuple[Image.Image, np.ndarray]:
    """``photo`` laid on a table in dim light as the benchmark does (``in_dim_light``), and the perspective map from the
    page onto it, ``perspective`` being the map onto ``photo``."""
    dim, left, top = in_dim_light(photo, cut=cut)
    return dim, np.array([[1, 0, left], [0, 1, top], [0, 0, 1]]) @ perspective


def _as_the_server_sees(photo: Image.Image) -> Image.Image:
    """``photo`` sent as a JPEG (quality 70) and stretched to the full grey scale, as the server looks for a page in it."""
    return with_full_contrast(Image.open(io.BytesIO(encode(photo, "JPEG", quality=70))).convert("RGB"))


@pytest.mark.parametrize(("engine", "cut", "dim", "found_at_least", "bow_at_least"),
                         [("ppocr", 0, False, 0.8, 0.95), ("tesseract", 0, False, 0.8, 0.6), ("ppocr", 0.1, False, 0.8, 0.9),
                          ("tesseract", 0.1, False, 0.85, 0.6), ("ppocr", 0, True, 0.7, 0.7), ("tesseract", 0, True, 0.7, 0.25),
                          ("ppocr", 0.1, True, 0.68, 0.7), ("tesseract", 0.1, True, 0.7, 0.25)])
def test_a_receipt_photographed_at_an_angle_reads_like_its_scan(client: TestClient, dev_data: Path, engine: str, cut: float,
                                                                dim: bool, found_at_least: float, bow_at_least: float) -> None:
    # the receipt photographed on a table from in front of its bottom edge, its top edge 0.2 of its width shorter at
    # each end: read as sent, PP-OCR's detector joined fields at the top, where the print is smallest, and Tesseract
    # misread the slanted letters (58 / 60 of its 79 lines found, BoW F1 0.94 / 0.63); the page is now flattened
    # before its lines are looked for (perspective.py): 68 / 71, 0.96 / 0.66. Photographed from closer, the frame
    # cutting a tenth of its height off at its top and its bottom, only its sides show the angle: PP-OCR / Tesseract
    # found 52 / 55 of the 74 lines left in the photo (BoW F1 0.92 / 0.61) before such a page was flattened too, 63 /
    # 66 (0.93 / 0.61) since. In dim light that fades across the photo no bright region is the page (the table at its
    # bright end is as bright as the paper at its dim end): 52 / 52 lines found (BoW F1 0.77 / 0.27) before its outline
    # was taken where edges wall it off, 59 / 60 (0.75 / 0.31) since; its dim print, blurred and shrunk at the top, is
    # misread either way. Cut by the frame too, the frame's walls are open: 49 / 43 of 74 lines (0.80 / 0.30) before
    # the page was taken as the paper the frame reaches across its cut, 53 / 55 (0.78 / 0.29) since
    label = load_label(dev_data, "sroie_332")
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    # as the benchmark sends it (dev_set.py --tilt 0.2, --cut 0.1, --dim)
    photo, perspective = photographed_at_an_angle(scan, 0.2, cut)
    if dim:
        photo, perspective = _in_dim_light(photo, perspective, cut=bool(cut))
    sent = encode(photo, "JPEG", quality=70) if dim else encode(photo)
    body = {"image_base64": base64.b64encode(sent).decode(), "lang": "en", "engine": engine, "level": "line"}
    page = client.post("/v1/ocr", json=body).json()["pages"][0]
    # boxed on the photo as sent, a line the frame cuts through up to the frame (the page flattened ends there; it
    # went on past it, the frame's row stretched on, and lines were boxed 3-12 px beyond the photo)
    for line in (line for block in page["blocks"] for line in block["lines"]):
        assert all(0 <= x <= photo.width and 0 <= y <= photo.height for x, y in line["polygon"]), line
    to_scan = np.linalg.inv(perspective)
    found = [bbox_of(perspective_mapped([tuple(point) for point in line["polygon"]], to_scan))
             for block in page["blocks"] for line in block["lines"]]
    truth = [region for region in _truth(label)
             if cut * scan.height < (region["bbox"][1] + region["bbox"][3]) / 2 < (1 - cut) * scan.height]
    matched = [region for region in truth if any(iou(box, region["bbox"]) > 0.5 for box in found)]
    assert len(matched) >= found_at_least * len(truth)
    assert bag_of_words_f1(page["text"], " ".join(region["text"] for region in truth)) >= bow_at_least


def test_only_a_page_whose_outline_shows_it_photographed_at_an_angle_is_flattened(dev_data: Path) -> None:
    scan = Image.open(dev_data / "images" / "funsd_0011899960.png").convert("RGB")
    photo, perspective = photographed_at_an_angle(scan, 0.12)
    flat = flattened(photo)
    assert flat is not None
    # the page comes out a rectangle of its own proportions, where the photo's corners of it go back to
    corners = page_corners(flat.image)
    assert corners is not None
    sides = [float(np.linalg.norm(corners[(index + 1) % 4] - corners[index])) for index in range(4)]
    assert max(sides[0], sides[2]) < 1.03 * min(sides[0], sides[2]) and max(sides[1], sides[3]) < 1.03 * min(sides[1], sides[3])
    assert sides[1] / sides[0] == pytest.approx(scan.height / scan.width, rel=0.03)
    on_photo = np.asarray(flat.on_photo([tuple(corner) for corner in corners]))
    assert on_photo == pytest.approx(np.asarray(perspective_mapped([(0, 0), (scan.width, 0), (scan.width, scan.height),
                                                                     (0, scan.height)], perspective)), abs=6)
    # so are, where no bright region is the page but edges wall it off all round: the page in dim light that fades
    # across the photo (the table at its bright end as bright as the paper at its dim end; read as sent before), the
    # same grainy, and a page whose heading is printed in white on a dark band across its top, the heading kept (the
    # bright region is the paper below the band, which would leave the heading out, so it is not taken for the page)
    in_dim, in_dim_perspective = _in_dim_light(photo, perspective)
    # as a phone's sensor sees it in such light, grainy (sigma 6 grey levels), and as the server looks at it: a JPEG,
    # stretched to the full grey scale (exposure.py). Each grain's step was an edge, and the page was not walled off
    # whole, until the photo was smoothed first (a 5 px median)
    grainy = Image.fromarray((np.asarray(in_dim, dtype=np.float32)
                              + np.random.default_rng(0).normal(0, 6, (in_dim.height, in_dim.width, 3))).clip(0, 255)
                             .astype(np.uint8))
    grainy = _as_the_server_sees(grainy)
    headed = render_lines(["Invoice 4471 from Harbour Supplies", "Delivered on 3 March", "Total due 1,250.00"],
                          width=800, margin=140).image
    ImageDraw.Draw(headed).rectangle((0, 0, headed.width, 100), fill="black")
    ImageDraw.Draw(headed).text((40, 30), "ACME TRADING COMPANY", fill="white", font=font(40))
    headed_photo, headed_perspective = photographed_at_an_angle(headed, 0.15)
    for sent, page, page_on_photo in ((in_dim, scan, in_dim_perspective), (grainy, scan, in_dim_perspective),
                                      (headed_photo, headed, headed_perspective)):
        flat = flattened(sent)
        assert flat is not None
        # the page's corners on the photo, on the flattened image: upright, its corners but for the margin around
        corners = np.asarray(perspective_mapped(perspective_mapped(
            [(0, 0), (page.width, 0), (page.width, page.height), (0, page.height)], page_on_photo),
            np.linalg.inv(flat.to_photo)))
        width, height = flat.image.size
        near, far = EDGE / (1 + 2 * EDGE), (1 + EDGE) / (1 + 2 * EDGE)
        assert corners == pytest.approx(np.array([[near * width, near * height], [far * width, near * height],
                                                  [far * width, far * height], [near * width, far * height]]),
                                        abs=0.01 * max(width, height))
    # photographed from closer, the frame cutting the page's top off, or its top and its bottom: its own sides show
    # the angle, and come out upright
    for closer in (photo.crop((0, photo.height // 4, photo.width, photo.height)),
                   photographed_at_an_angle(scan, 0.12, 0.1)[0]):
        flat = flattened(closer)
        assert flat is not None
        corners = page_corners(flat.image)
        assert corners is not None
        assert abs(corners[0, 0] - corners[3, 0]) < 0.01 * flat.image.width > abs(corners[1, 0] - corners[2, 0])
    # ... and so in dim light, where no bright region is the page and the edges wall none off (the frame's walls are
    # open): the page is the paper the frame reaches across its cut (read as sent before). Its sides where the frame
    # cuts them land upright on the flattened image, as the server sees the photo (a JPEG, stretched to the full grey
    # scale). With a card lying on the table beside it, which the flattened page would leave out, it is read as sent
    receipt = Image.open(dev_data / "images" / "sroie_332.jpg").convert("RGB")
    cut_photo, cut_perspective = photographed_at_an_angle(receipt, 0.2, 0.1)
    carded = cut_photo.copy()
    ImageDraw.Draw(carded).rectangle((cut_photo.width // 30, cut_photo.height // 20, cut_photo.width * 2 // 11,
                                      cut_photo.height * 3 // 10), fill="white")
    (dim_cut, dim_cut_perspective), (dim_carded, _) = (_in_dim_light(cut_photo, cut_perspective, cut=True),
                                                       _in_dim_light(carded, cut_perspective, cut=True))
    flat = flattened(_as_the_server_sees(dim_cut))
    assert flat is not None
    sides_at_the_cut = [(0, 0.1 * receipt.height), (0, 0.9 * receipt.height), (receipt.width, 0.1 * receipt.height),
                        (receipt.width, 0.9 * receipt.height)]
    on_flat = np.asarray(perspective_mapped(perspective_mapped(sides_at_the_cut, dim_cut_perspective),
                                            np.linalg.inv(flat.to_photo)))
    assert abs(on_flat[0, 0] - on_flat[1, 0]) < 0.01 * flat.image.width > abs(on_flat[2, 0] - on_flat[3, 0])
    assert on_flat[:, 1] == pytest.approx([0, flat.image.height, 0, flat.image.height], abs=0.01 * flat.image.height)
    assert flattened(dim_carded) is None
    # read as sent: the scan itself, the page lying square on the table or askew on it, the photo cut at the page's
    # corner (on two neighbouring sides), or across it aslant (the photo turned 8 degrees, then its top and bottom
    # cut: the corners the frame makes are no rectangle's on the page), the scan on a table in dim light that
    # fades across the photo (the bright region runs off the frame where the light fades, its sides no edges; the
    # page the edges wall off lies square), and a form photographed at an angle from so close that its paper fills
    # the photo, a ruled box across most of it and small print above and below: the box's rule walls it off, but with
    # paper either side of the rule it is no page, and taken for one the print around it would be lost
    square, _ = photographed_at_an_angle(scan, 0.0)
    askew = square.rotate(8, expand=True, fillcolor=(120, 120, 120))
    at_its_corner = photo.crop((photo.width // 4, photo.height // 4, photo.width, photo.height))
    turned = photo.rotate(8, expand=True, fillcolor=(120, 120, 120))
    aslant = turned.crop((0, turned.height // 4, turned.width, 3 * turned.height // 4))
    dim, _, _ = in_dim_light(scan)
    form = render_lines(["Application for a parking permit", "Please fill in every field in block capitals", *[""] * 14,
                         "Signed and returned to the office by the applicant"], size=10, width=1600, margin=80, gap=10).image
    ImageDraw.Draw(form).rectangle((80, form.height // 5, form.width - 80, form.height * 4 // 5), outline="black", width=4)
    form_photo, _ = photographed_at_an_angle(form, 0.1)
    close_up = form_photo.crop((form_photo.width // 10, form_photo.height // 10, form_photo.width * 9 // 10,
                                form_photo.height * 9 // 10))
    for sent in (scan, square, askew, at_its_corner, aslant, dim, close_up):
        assert flattened(sent) is None
