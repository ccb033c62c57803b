"""Region parsing, rectification and its back-mapping, language codes, settings."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocrserver.deskew import turned
from ocrserver.engines.closer_look import area_to_read_closer
from ocrserver.engines.strips import scale_seen, strips_for
from ocrserver.errors import InvalidRegion, UnsupportedLanguage
from ocrserver.geometry import parse_region, reading_quad, rectify, rotated_rect_polygon, turned_back
from ocrserver.languages import normalize_language, parse_languages, tesseract_code
from ocrserver.layout import (
    group_into_blocks,
    ruled_between,
    split_at_wide_gaps,
    split_into_words,
    without_cut_pieces,
)
from ocrserver.marks_apart import Mark, kept_readings, marks_apart
from ocrserver.result import Block, Line, Page, Polygon, Word, bbox_of, rect_polygon
from ocrserver.settings import load_settings
from ocrserver.spaced_characters import combs_joined, letter_spacing_closed
from tests.helpers import font, render_lines


def test_rectangle_and_polygon_regions_parse() -> None:
    assert parse_region([10, 20, 110, 60]) == [(10, 20), (110, 20), (110, 60), (10, 60)]
    assert parse_region([[0, 0], [10, 0], [10, 5]]) == [(0, 0), (10, 0), (10, 5)]


@pytest.mark.parametrize(
    "bad", [[], [1, 2, 3], [5, 5, 1, 9], [[0, 0], [1, 1]], [[0, 0], [1, 1], [2, 2]], "0,0,1,1", [[0, 0], [1, "a"], [2, 2]], [True, 0, 1, 1]]
)
def test_bad_regions_are_refused_with_a_reason(bad: object) -> None:
    with pytest.raises(InvalidRegion, match="regions\\[3\\]"):
        parse_region(bad, 3)


def test_rotated_rect_starts_at_the_text_top_left_and_turns_clockwise() -> None:
    points = rotated_rect_polygon(100, 100, 200, 50, 90)
    expected = [(100, 100), (100, 300), (50, 300), (50, 100)]
    assert np.allclose(points, expected, atol=1e-6)


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_a_box_found_on_a_turned_page_is_put_back_where_it_is_on_the_page(degrees: int) -> None:
    page = np.zeros((60, 100), dtype=np.uint8)
    page[10:20, 70:90] = 255  # a 20 x 10 px mark near the top right
    turned = np.asarray(Image.fromarray(page).rotate(degrees, expand=True))
    ys, xs = np.nonzero(turned)
    found = rect_polygon(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)  # pixel edges, as engines report boxes
    back = turned_back(found, degrees, width=100, height=60)
    assert sorted(back) == sorted(rect_polygon(70, 10, 90, 20))


def test_only_quarter_turns_are_put_back() -> None:
    with pytest.raises(ValueError, match="quarter turns"):
        turned_back(rect_polygon(0, 0, 1, 1), 45, 10, 10)


def test_counter_clockwise_quads_are_made_clockwise_keeping_the_start() -> None:
    quad = reading_quad([(0, 0), (0, 10), (50, 10), (50, 0)])
    assert quad[0].tolist() == [0, 0] and quad[1].tolist() == [50, 0]


def test_many_point_polygons_use_their_min_area_rectangle_along_the_long_side() -> None:
    # a slanted parallelogram-ish 6-point outline of a line rising 10 degrees
    angle = np.radians(-10)
    base = [(0, 0), (100, 0), (200, 0), (200, 30), (100, 30), (0, 30)]
    rot = [(x * np.cos(angle) - y * np.sin(angle) + 50, x * np.sin(angle) + y * np.cos(angle) + 100) for x, y in base]
    quad = reading_quad(rot)
    (ax, ay), (bx, by) = quad[0], quad[1]
    assert abs(np.degrees(np.arctan2(by - ay, bx - ax)) - (-10)) < 1
    assert np.linalg.norm(quad[1] - quad[0]) == pytest.approx(200, abs=1)


def test_rectified_crop_maps_back_onto_the_region() -> None:
    page = np.zeros((400, 400, 3), dtype=np.uint8)
    region = rotated_rect_polygon(120, 80, 160, 40, 30)
    crop = rectify(page, region, pad_ratio=0.0)
    h, w = crop.image.shape[:2]
    pad = 2.0  # the minimum padding
    corners = [(pad, pad), (w - pad, pad), (w - pad, h - pad), (pad, h - pad)]
    assert np.allclose(crop.map_polygon(corners), region, atol=1.0)


def test_regions_outside_the_image_are_refused() -> None:
    with pytest.raises(InvalidRegion, match="outside"):
        rectify(np.zeros((50, 50, 3), dtype=np.uint8), rect_polygon(60, 60, 90, 90))


@pytest.mark.parametrize("corners", [
    [(2, 1), (50, 1), (50, 100), (1, 1)],  # three corners on the top edge
    [(100, 2), (400, 2), (1, 300), (0, 2)],
    [(50, 100), (400, 100), (200, 100), (200, 2)],  # a bow tie
], ids=["three in a line", "three in a line, wide", "crossed"])
def test_four_corners_that_make_no_quadrilateral_are_read_as_their_rectangle(corners) -> None:
    """A perspective transform of such corners has no inverse (numpy raised 'Singular matrix', a server error);
    they are read as the smallest rectangle around them, as any other polygon."""
    points = [(float(x), float(y)) for x, y in corners]
    crop = rectify(np.zeros((300, 400, 3), dtype=np.uint8), points, pad_ratio=0.0, min_pad=0.0)
    height, width = crop.image.shape[:2]
    hull = cv2.contourArea(cv2.convexHull(np.array(points, dtype=np.float32)))
    (x0, y0), (x1, y1) = np.min(points, axis=0), np.max(points, axis=0)
    assert hull <= width * height <= (x1 - x0 + 1) * (y1 - y0 + 1)  # around all the corners, no larger than their box
    on_page = crop.map_polygon([(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))])
    assert cv2.pointPolygonTest(np.array(on_page, dtype=np.float32), points[0], True) >= -1.0


def test_language_codes_are_normalised() -> None:
    assert [normalize_language(c) for c in ("en", "eng", "English", "zh", "chi_sim", "ch", "chi_tra", "japan", "deu")] == [
        "en", "en", "en", "zh", "zh", "zh", "zh-Hant", "ja", "de",
    ]
    assert parse_languages("eng+chi_sim", ["en"]) == ["en", "zh"]
    assert parse_languages(["en", "eng", "de"], ["en"]) == ["en", "de"]
    assert parse_languages(None, ["fr"]) == ["fr"]
    assert tesseract_code("zh") == "chi_sim" and tesseract_code("zh-Hant") == "chi_tra"
    with pytest.raises(UnsupportedLanguage):
        parse_languages(" , ", ["en"])


def test_lines_group_into_blocks_in_reading_order() -> None:
    def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
        return Line(text=text, confidence=1.0, polygon=rect_polygon(x0, y0, x1, y1))

    # two columns: left paragraph of 2 lines, right paragraph of 2 lines, then a footer
    blocks = group_into_blocks(
        [line("r2", 400, 130, 600, 150), line("l1", 10, 100, 200, 120), line("footer", 10, 400, 300, 420),
         line("r1", 400, 100, 600, 120), line("l2", 10, 130, 210, 150)]
    )
    assert [b.text for b in blocks] == ["l1\nl2", "r1\nr2", "footer"]


def test_two_columns_read_down_the_left_then_the_right_but_fields_side_by_side_keep_their_rows() -> None:
    def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
        return Line(text=text, confidence=1.0, polygon=rect_polygon(x0, y0, x1, y1))

    # a title across both columns; each column two paragraphs of three lines, the right column set 45 px lower,
    # so an empty band (y 215-220) runs across both, between the right's first paragraph and the left's second
    page = [line("title", 10, 10, 590, 40)]
    for column, x0, top in (("L", 10, 80), ("R", 320, 125)):
        for paragraph, start in ((1, top), (2, top + 140)):
            page += [line(f"{column}{paragraph}.{row}", x0, start + 32 * row, x0 + 270, start + 32 * row + 26) for row in range(3)]
    page.append(line("footer", 10, 500, 590, 520))
    blocks = group_into_blocks(page)
    assert [b.lines[0].text for b in blocks] == ["title", "L1.0", "L2.0", "R1.0", "R2.0", "footer"]
    assert blocks[1].text == "L1.0\nL1.1\nL1.2"
    # the right column ending above the left's last paragraph
    short = [ln for ln in page if not ln.text.startswith(("R2", "footer"))]
    assert [b.lines[0].text for b in group_into_blocks(short)] == ["title", "L1.0", "L2.0", "R1.0"]

    # labels and values in rows too far apart to join one block each: row by row, not all labels first
    form = [line(f"label {row}", 10, 50 * row, 150, 50 * row + 20) for row in range(4)]
    form += [line(f"value {row}", 300, 50 * row + 2, 420, 50 * row + 22) for row in range(4)]
    assert [b.text for b in group_into_blocks(form)] == [f"{kind} {row}" for row in range(4) for kind in ("label", "value")]
    # a table of two columns whose cells hold wrapped prose: cells of a row start on the same line, row by row
    table = []
    for row, top in enumerate((0, 120, 200)):
        table += [line(f"term {row}.{n}", 10, top + 30 * n, 280, top + 30 * n + 24) for n in range(2)]
        table += [line(f"meaning {row}.{n}", 320, top + 30 * n, 590, top + 30 * n + 24) for n in range(3 - row)]
    assert [b.lines[0].text for b in group_into_blocks(table)] == [f"{kind} {row}.0" for row in range(3) for kind in ("term", "meaning")]
    # fields set alternately left and right, one per row
    staggered = [line(f"field {row}", 10 + 290 * (row % 2), 50 * row, 150 + 290 * (row % 2), 50 * row + 20) for row in range(4)]
    assert [b.text for b in group_into_blocks(staggered)] == [f"field {row}" for row in range(4)]


def test_a_page_in_a_right_to_left_script_reads_its_columns_and_rows_from_the_right() -> None:
    def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
        return Line(text=text, confidence=1.0, polygon=rect_polygon(x0, y0, x1, y1))

    # two columns of Arabic: down the right one, then the left, then the footer
    right = [line("العمود الأيمن", 400, 100, 600, 120), line("السطر الثاني", 400, 130, 600, 150)]
    left = [line("العمود الأيسر", 10, 100, 200, 120), line("السطر الأخير", 10, 130, 210, 150)]
    footer = line("تذييل الصفحة", 300, 400, 600, 420)
    blocks = group_into_blocks(left + [footer] + right)
    assert [b.text for b in blocks] == ["العمود الأيمن\nالسطر الثاني", "العمود الأيسر\nالسطر الأخير", "تذييل الصفحة"]
    # labels on the right, their values on the left: row by row, each label before its value
    form = [line(f"الحقل {row}:", 450, 50 * row, 590, 50 * row + 20) for row in range(4)]
    form += [line(f"القيمة {row}", 170, 50 * row + 2, 290, 50 * row + 22) for row in range(4)]
    assert [b.text for b in group_into_blocks(form)] == [text for row in range(4) for text in (f"الحقل {row}:", f"القيمة {row}")]
    # the boxes are the lines' own, on the page as read
    assert blocks[0].lines[0].polygon == right[0].polygon


def test_fields_side_by_side_read_row_by_row_even_where_rows_touch_and_a_line_cut_at_a_gap_stays_in_its_paragraph() -> None:
    def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
        return Line(text=text, confidence=1.0, polygon=rect_polygon(x0, y0, x1, y1))

    # labels and values whose boxes overlap a fifth of their height (rows 24 px apart, boxes 30 px high): one
    # block each, in rows; the labels one under the other are no paragraph
    form = [line(f"{kind} {row}{colon}", x0, 24 * row, x1, 24 * row + 30) for row in range(4)
            for kind, colon, x0, x1 in (("label", ":", 10, 90), ("value", "", 200, 330))]
    assert [b.text for b in group_into_blocks(form)] == [f"{kind} {row}{colon}" for row in range(4) for kind, colon in (("label", ":"), ("value", ""))]
    # the same rows of words, neither labels nor amounts, under two labels heading them: two addresses side by side,
    # each read down
    addresses = [line("Bill to:", 10, 0, 90, 30), line("Ship to:", 400, 0, 480, 30)]
    addresses += [line(f"{side} address {row}", x0, 24 * row, x0 + 200, 24 * row + 30) for side, x0 in (("left", 10), ("right", 400)) for row in range(1, 4)]
    assert [b.text for b in group_into_blocks(addresses)] == ["Bill to:\n" + "\n".join(f"left address {row}" for row in range(1, 4)),
                                                                "Ship to:\n" + "\n".join(f"right address {row}" for row in range(1, 4))]
    # a receipt: an item, under it its code beside its quantity and price, then the next item; the second item
    # does not join the first across the code between them
    receipt = [line("item one", 10, 0, 200, 24), line("code 1", 12, 26, 140, 50), line("1 x", 300, 28, 340, 50),
               line("4.50", 400, 27, 460, 51), line("item two", 10, 54, 220, 78)]
    assert [b.text for b in group_into_blocks(receipt)] == ["item one", "code 1", "1 x", "4.50", "item two"]
    # a paragraph whose second line was cut at a wide gap: the rest of the line stays in it, after its start
    paragraph = [line("first line of the paragraph", 10, 0, 600, 20), line("second line, its start", 10, 24, 300, 44),
                 line("and the rest of it", 360, 25, 600, 45), line("third line of it", 10, 48, 590, 68)]
    assert [b.text for b in group_into_blocks(paragraph)] == ["\n".join(ln.text for ln in paragraph)]
    # cut so that one piece is short, the pieces are fields (as a label and its value): they part the paragraph,
    # still read in order
    paragraph[1:3] = [line("second", 10, 24, 120, 44), line("line, and the rest of it", 200, 25, 600, 45)]
    assert "\n".join(b.text for b in group_into_blocks(paragraph)) == "\n".join(ln.text for ln in paragraph)


def test_a_number_printed_up_the_margin_does_not_turn_the_rows_beside_it_into_columns() -> None:
    # a form's labels and values, and a document number printed up the right margin across their rows (as on
    # scanned records): no band across the page is free of it, so the rows were read as columns, labels first
    def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
        return Line(text=text, confidence=1.0, polygon=rect_polygon(x0, y0, x1, y1))

    rows = [(line(f"Label {n}:", 40, 100 + 26 * n, 140, 120 + 26 * n), line(f"value {n}", 300, 100 + 26 * n, 420, 120 + 26 * n))
            for n in range(4)]
    margin = line("80310840", 700, 90, 724, 190)  # standing on end beside the first four rows
    footer = line("Signed by the applicant", 40, 260, 400, 280)
    blocks = group_into_blocks([*(ln for row in rows for ln in row), margin, footer])
    texts = [b.text for b in blocks]
    assert [text for text in texts if text != margin.text] == [*(ln.text for row in rows for ln in row), footer.text]
    assert texts.count(margin.text) == 1 and texts.index(margin.text) > 1  # after a row it stands beside
    # a lone digit, no taller than the lines beside it, keeps its place in its row
    quantity = line("1", 200, 100, 210, 120)
    assert [b.text for b in group_into_blocks([rows[0][0], quantity, rows[0][1]])] == ["Label 0:", "1", "value 0"]


def test_items_printed_above_their_quantity_and_prices_read_item_by_item() -> None:
    # a receipt printing each item's name on a line of its own, its quantity and prices on the next (a row of
    # fields), the rows as close as the detector's boxes of them come: names one under the other must not make
    # one block read before all the rows
    def line(text: str, x0: float, y0: float, x1: float) -> Line:
        return Line(text=text, confidence=1.0, polygon=rect_polygon(x0, y0, x1, y0 + 48))

    receipt = []
    for row, name in enumerate(("Kopi (B)", "Teh (B)", "Take Away")):
        top = 830 + 82 * row
        receipt += [line(name, 30, top, 190), line("1 x", 270, top + 42, 330), line("2.20", 420, top + 42, 500),
                    line("SR", 650, top + 42, 700)]
    assert [b.text for b in group_into_blocks(receipt)] == [ln.text for ln in receipt]
    # two paragraphs' lines keep their blocks beside a table's rows that fall between them
    prose = [Line(text=f"prose line {n}", confidence=1.0, polygon=rect_polygon(10, 830 + 60 * n, 600, 870 + 60 * n))
             for n in range(3)]
    table = [Line(text=f"cell {n} {x}", confidence=1.0, polygon=rect_polygon(x, 872 + 60 * n, x + 60, 888 + 60 * n))
             for n in range(2) for x in (700, 800, 900)]
    assert group_into_blocks(prose + table)[0].lines == prose


def test_fields_of_a_page_scanned_askew_still_read_row_by_row() -> None:
    # labels and values 300 px apart, turned 4 degrees clockwise about the page's corner: each value lies 21 px
    # lower than its label, rows are 24 px apart, so on the page's own axes a value shares the next label's row
    turn = math.radians(4)

    def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return Line(text=text, confidence=1.0, polygon=[(x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)) for x, y in corners])

    form = [line(f"{kind} {row}{colon}", x0, 100 + 24 * row, x1, 100 + 24 * row + 20) for row in range(5)
            for kind, colon, x0, x1 in (("label", ":", 10, 130), ("value", "", 300, 560))]
    blocks = group_into_blocks(form)
    assert [b.text for b in blocks] == [f"{kind} {row}{colon}" for row in range(5) for kind, colon in (("label", ":"), ("value", ""))]
    assert blocks[1].lines[0] is form[1]  # the lines as found on the page, not turned level


def test_a_number_written_in_a_comb_of_boxes_is_one_line_but_a_scale_of_spaced_numbers_is_not() -> None:
    def line(text: str, x0: float, y0: float = 100, height: float = 28) -> Line:
        return Line(text=text, confidence=0.9, polygon=rect_polygon(x0, y0, x0 + 20, y0 + height))

    # a sort code, one digit a box (36 px apart), found digit by digit, beside its label
    label = Line(text="Sort code", confidence=1.0, polygon=rect_polygon(20, 100, 150, 128))
    comb = [line(digit, 220 + 36 * n) for n, digit in enumerate("204617")]
    joined = combs_joined([label, *comb])
    assert [ln.text for ln in joined] == ["Sort code", "204617"]
    assert bbox_of(joined[1].polygon) == (220, 100, 420, 128) and [w.text for w in joined[1].words] == ["204617"]
    # a date in three groups of boxes, a little apart: each group one line
    date = [line(digit, x0) for digit, x0 in zip("07112026", (200, 230, 276, 306, 352, 382, 412, 442), strict=True)]
    assert [ln.text for ln in combs_joined(date)] == ["07", "11", "2026"]
    # a rating scale's numbers, far apart, and two characters alone, stay as they are
    scale = [line(str(n), 100 + 90 * n) for n in range(1, 6)]
    assert combs_joined(scale) == scale
    assert combs_joined(comb[:2]) == comb[:2]


def test_a_letter_spaced_line_is_written_as_its_words_told_apart_by_the_gaps_in_its_ink() -> None:
    image = Image.new("L", (700, 80), 255)
    draw, face, left = ImageDraw.Draw(image), font(28), 20.0
    for word in ("IN", "2024", "THE"):
        for letter in word:
            draw.text((left, 20), letter, fill=0, font=face)
            left += face.getlength(letter) + 12
        left += 30
    page = np.array(image)
    box = rect_polygon(10, 10, left, 65)
    read = Line(text="I N 2 0 2 4 T H E", confidence=0.8, polygon=box)
    closed = letter_spacing_closed(read, page)
    assert closed.text == "IN 2024 THE" and [w.text for w in closed.words] == ["IN", "2024", "THE"]
    assert closed.polygon == box and closed.confidence == 0.8
    # read half spaced, as the recogniser may: the same words
    assert letter_spacing_closed(Line(text="IN 2 0 2 4 THE", confidence=0.8, polygon=box), page).text == "IN 2024 THE"
    # as many characters read as there are in the ink, or the line is left as it was: words, three letters, a
    # line whose ink holds more characters than it was read with
    for text in ("IN 2024 THE", "I N 2", "I N 2 0 2 4 T H E X"):
        assert letter_spacing_closed(Line(text=text, confidence=0.8, polygon=box), page).text == text
    # running print with single characters in it keeps its spaces: its letters stand closer than a fifth of their height
    running = Image.new("L", (700, 80), 255)
    ImageDraw.Draw(running).text((20, 20), "Q 1 2 3 4 answers", fill=0, font=face)
    line = Line(text="Q 1 2 3 4 answers", confidence=0.8, polygon=rect_polygon(10, 10, 400, 65))
    assert letter_spacing_closed(line, np.array(running)) is line


def test_a_pages_text_puts_fields_of_one_row_on_one_line_but_not_paragraphs_or_columns_of_vertical_writing() -> None:
    def block(*lines: tuple[str, float, float, float, float]) -> Block:
        return Block(lines=[Line(text=text, confidence=1.0, polygon=rect_polygon(*box)) for text, *box in lines])

    fields = [block(("TOTAL", 10, 100, 90, 124)), block(("26.17", 400, 102, 460, 126)), block(("CASH", 10, 130, 80, 154))]
    assert Page(width=500, height=200, blocks=fields).text == "TOTAL 26.17\nCASH"
    # a paragraph beside a field keeps its lines; columns of vertical writing side by side keep theirs
    beside_paragraph = [block(("first", 10, 0, 300, 20), ("second", 10, 24, 300, 44)), block(("note", 400, 20, 460, 40))]
    assert Page(width=500, height=100, blocks=beside_paragraph).text == "first\nsecond\nnote"
    columns = [block(("竖排第一列", 150, 10, 180, 200)), block(("竖排第二列", 200, 10, 230, 200))]
    assert Page(width=300, height=300, blocks=columns).text == "竖排第一列\n竖排第二列"


def test_a_short_fields_own_lean_does_not_part_it_from_its_row_in_a_pages_text() -> None:
    # the detector's box of a short field leans a few degrees (a dev receipt's "合计": 3 degrees, 22 px over the
    # 470 px to its amount); the row runs as the page's text does
    def page(turn: Callable[[Polygon], Polygon]) -> Page:
        lines = [("Thank you for shopping with us", rect_polygon(50, 400, 600, 430)),
                 ("合计", [(55, 537), (112, 540), (110, 575), (54, 572)]), ("517.05", rect_polygon(526, 548, 613, 573))]
        return Page(width=700, height=700, blocks=[Block(lines=[Line(text=text, confidence=1.0, polygon=turn(polygon))])
                                                   for text, polygon in lines])

    assert page(lambda polygon: polygon).text == "Thank you for shopping with us\n合计 517.05"
    # the same receipt scanned sideways, its text running down the page, with its boxes on the page as sent
    assert page(lambda polygon: [(700 - y, x) for x, y in polygon]).text == "Thank you for shopping with us\n合计 517.05"


def test_a_printed_rule_between_two_lines_is_found_but_words_and_underlines_are_not_taken_for_one() -> None:
    rendered = render_lines(["Invoice 4711 paid in full", "Total amount 42.50 EUR"], gap=16)
    above, below = rendered.boxes
    page = np.array(rendered.image)
    assert not ruled_between(page, above, below)  # two lines of text on paper
    underlined = page.copy()
    underlined[above[3] + 3:above[3] + 5, above[0]:above[0] + 120] = 0  # "Invoice" underlined
    assert not ruled_between(underlined, above, below)
    ruled = page.copy()
    ruled[above[3] + 8:above[3] + 10, 20:880] = 0  # a rule across the page, as between a table's rows
    assert ruled_between(ruled, above, below)
    assert ruled_between(ruled[:, :, 0], above, below)  # grey pages too
    assert ruled_between(255 - ruled, above, below) and not ruled_between(255 - page, above, below)  # dark mode
    assert not ruled_between(np.full_like(page, 255), above, below)  # blank paper
    narrow = (above[0], above[1], above[0] + 10, above[3])  # sharing 10 px: too little to tell
    assert not ruled_between(ruled, narrow, below)
    # a ruled table's cells one under the other are fields of their rows, not one block
    lines = [Line(text=text, confidence=1.0, polygon=rect_polygon(*box)) for text, box in zip(rendered.lines, rendered.boxes, strict=True)]
    assert len(group_into_blocks(lines, page)) == 1 and len(group_into_blocks(lines, ruled)) == 2
    assert len(group_into_blocks(lines, 255 - page)) == 1  # light print on a dark page still makes paragraphs


@pytest.mark.parametrize("degrees", [-3, 2])
def test_a_printed_rule_between_rows_is_found_on_a_page_scanned_askew(degrees: float) -> None:
    # a table's rows, a rule between the second and the third; the page is grouped as if turned level, and the
    # rule, which climbs or falls 30-45 px across the page, is looked for along the rows
    rendered = render_lines(["Invoice 4711 paid in full", "Total amount 42.50 EUR", "Paid by card on 3 May",
                             "Thank you for your order"], gap=16)
    page = np.array(rendered.image)
    ruled = page.copy()
    ruled[rendered.boxes[1][3] + 8:rendered.boxes[1][3] + 10, 20:880] = 0
    for image, blocks in ((page, 1), (ruled, 2)):
        askew = turned(Image.fromarray(image), degrees)
        lines = [Line(text=text, confidence=1.0, polygon=askew.from_page(rect_polygon(*box)))
                 for text, box in zip(rendered.lines, rendered.boxes, strict=True)]
        grouped = group_into_blocks(lines, np.asarray(askew.image))
        assert [len(block.lines) for block in grouped] == ([4] if blocks == 1 else [2, 2])


def test_a_box_loses_the_short_narrow_or_unsure_pieces_of_neighbouring_lines_at_its_edges() -> None:
    # a piece of a neighbouring line is told by its place, its size and how surely it was read (Tesseract's lines
    # are upright rectangles, so not by slant)
    def line(text: str, confidence: float, y0: float, y1: float, width: float = 400) -> Line:
        return Line(text=text, confidence=confidence, polygon=rect_polygon(0, y0, width, y1))

    the_line = line("Grand total due", 0.96, 10, 50)
    assert [ln.text for ln in without_cut_pieces([the_line, line("ee see", 0.95, 52, 60)], 60, 0.8)] == ["Grand total due"]
    assert [ln.text for ln in without_cut_pieces([line("Cra coe", 0.6, 0, 30), the_line], 60, 0.8)] == ["Grand total due"]
    corner = line("required to make", 0.97, 0, 35, width=150)  # sure and tall: the corner of a slanted line above
    assert [ln.text for ln in without_cut_pieces([corner, the_line], 60, 0.8)] == ["Grand total due"]
    two_lines = [line("Total", 0.9, 2, 28), line("42.50", 0.9, 32, 58)]  # a field of two lines filling the box
    assert without_cut_pieces(two_lines, 60, 0.8) == two_lines
    middle = [the_line, line("faint", 0.3, 30, 45)]  # unsure, but not at an edge
    assert without_cut_pieces(middle, 60, 0.8) == middle
    alone = [line("faint", 0.3, 0, 60)]
    assert without_cut_pieces(alone, 60, 0.8) == alone
    # what the box was drawn around, its tallest and widest line, stays however unsurely it was read (a shop
    # sign's big calligraphic characters reaching its bottom edge, with the small print of their transliteration)
    sign = [line("匠括信奇", 0.75, 5, 58), line("JIANG YA CHUAN QI", 0.86, 40, 55, width=200)]
    assert without_cut_pieces(sign, 60, 0.8) == sign


def test_words_without_engine_boxes_split_the_line_proportionally() -> None:
    words = split_into_words("ab cdef", 0.9, rect_polygon(0, 0, 70, 10))
    assert [w.text for w in words] == ["ab", "cdef"]
    assert words[0].polygon[0] == (0.0, 0.0) and words[0].polygon[1][0] == pytest.approx(20)
    assert words[1].polygon[0][0] == pytest.approx(30) and words[1].polygon[1][0] == pytest.approx(70)


def test_settings_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_ENGINE", "tesseract")
    monkeypatch.setenv("LANG_LIST", "en,zh")
    monkeypatch.setenv("WORKERS", "3")
    settings = load_settings(port=9999)
    assert (settings.engine, settings.languages, settings.workers, settings.port) == ("tesseract", ["en", "zh"], 3, 9999)
    monkeypatch.setenv("OCR_ENGINE", "ppocr")
    assert settings.engine == "tesseract"  # read once, not looked up again


def test_text_lines_are_counted_from_the_ink_profile() -> None:
    from ocrserver.layout import count_text_lines
    one = np.asarray(render_lines(["Single line of text"], margin=8).image)
    three = np.asarray(render_lines(["First line", "Second line", "Third line"], margin=8).image)
    assert count_text_lines(one) == 1
    assert count_text_lines(three) == 3
    assert count_text_lines(255 - one) == 1  # light text on dark
    assert count_text_lines(np.full((40, 200, 3), 255, dtype=np.uint8)) == 0
    underlined = one.copy()
    underlined[-3:-1, 5:-5] = 0  # a rule under the text is not a line of text
    assert count_text_lines(underlined) == 1



def test_a_crop_drawn_loosely_is_read_around_its_text_but_a_lone_glyph_as_drawn() -> None:
    from ocrserver.layout import loose_text_rows
    from tests.helpers import render_lines

    tight = render_lines(["Total due 12.50"], margin=8, gap=0)
    assert loose_text_rows(np.asarray(tight.image)) is None
    loose = render_lines(["Total due 12.50"], margin=60)
    _, text_top, _, text_bottom = loose.boxes[0]
    top, bottom = loose_text_rows(np.asarray(loose.image)) or (0, 0)
    assert top < text_top < text_bottom < bottom  # the whole line, with a little paper
    assert bottom - top < 2 * (text_bottom - text_top) < loose.image.height
    assert loose_text_rows(np.asarray(render_lines([":"], margin=60).image)) is None


def test_a_crop_drawn_wider_than_its_text_is_read_around_its_print_but_marked_paper_as_drawn() -> None:
    from ocrserver.layout import loose_text_columns
    from tests.helpers import render_lines

    line = render_lines(["Total due 12.50"], margin=8, gap=0, width=265)
    assert loose_text_columns(np.asarray(line.image)) is None  # drawn tight
    text_left, _, text_right, _ = line.boxes[0]
    wide = np.full((line.image.height, line.image.width * 3, 3), 255, dtype=np.uint8)
    wide[:, : line.image.width] = np.asarray(line.image)  # dragged past the line's end over blank paper
    left, right = loose_text_columns(wide) or (0, wide.shape[1])
    assert left <= text_left < text_right <= right < text_right + (text_right - text_left) / 2
    ruled = wide.copy()
    ruled[-4:-2, :] = 40  # a form's field line under the value, across the whole box: a rule, not print
    assert loose_text_columns(ruled) == (left, right)
    faint = wide.copy()
    faint[10:20, -40:-30] = 200  # faint print far along the row: not paper, so the crop is read as drawn
    assert loose_text_columns(faint) is None
    colon = np.asarray(render_lines([":"], margin=8, gap=0, width=30).image)
    glyph = np.full((colon.shape[0], 10 * colon.shape[1], 3), 255, dtype=np.uint8)
    glyph[:, : colon.shape[1]] = colon
    assert loose_text_columns(glyph) is None  # a lone glyph is read as drawn


def _line_of_words(*boxes: tuple[str, float, float]) -> Line:
    """A 20 px high line of words given as (text, x0, x1)."""
    words = [Word(text=text, confidence=0.9, polygon=rect_polygon(x0, 100, x1, 120)) for text, x0, x1 in boxes]
    return Line(text=" ".join(w.text for w in words), confidence=0.9, polygon=rect_polygon(boxes[0][1], 100, boxes[-1][2], 120), words=words)


def test_a_line_is_cut_into_fields_only_at_gaps_wider_than_asked() -> None:
    line = _line_of_words(("TEL", 0, 40), (":", 46, 50), ("0327", 56, 110), ("FAX", 140, 180), ("0394", 186, 240))
    pieces = split_at_wide_gaps(line, 1.2)  # 20 px high: gaps over 24 px part; the 30 px one does, 6 px ones do not
    assert [piece.text for piece in pieces] == ["TEL : 0327", "FAX 0394"]
    assert pieces[1].polygon == rect_polygon(140, 100, 240, 120) and [w.text for w in pieces[1].words] == ["FAX", "0394"]
    assert [piece.text for piece in split_at_wide_gaps(line, 2.0)] == [line.text]


def test_lines_whose_words_do_not_run_left_to_right_stay_whole() -> None:
    backwards = _line_of_words(("b", 200, 240), ("a", 0, 40))
    assert split_at_wide_gaps(backwards, 1.2) == [backwards]


def test_a_line_in_a_right_to_left_script_is_cut_into_fields_from_the_right() -> None:
    # Tesseract's words in reading order: the label at the right, its value, then a second field far to the left
    line = _line_of_words(("الهاتف:", 500, 580), ("٠٣٢٧", 430, 490), ("الفاكس:", 250, 330), ("٠٣٩٤", 180, 240))
    pieces = split_at_wide_gaps(line, 1.2)
    assert [piece.text for piece in pieces] == ["الهاتف: ٠٣٢٧", "الفاكس: ٠٣٩٤"]
    assert pieces[0].polygon == rect_polygon(430, 100, 580, 120)
    # its words running left to right are out of order: kept whole
    wrong_way = _line_of_words(("الهاتف:", 0, 80), ("الفاكس:", 200, 280))
    assert split_at_wide_gaps(wrong_way, 1.2) == [wrong_way]
    no_words = Line(text="x", confidence=0.9, polygon=rect_polygon(0, 0, 10, 10))
    assert split_at_wide_gaps(no_words, 1.2) == [no_words]


def _text_line(x: float, y: float, height: float, characters: int = 11) -> Polygon:
    """The box a detector finds around a line of ``characters`` characters, ``height`` px high."""
    return rect_polygon(x, y, x + height * characters / 2, y + height)


def test_small_text_in_a_big_photo_is_read_again_where_it_is_with_a_margin() -> None:
    # a receipt in the middle of a 4000 px photo, lines 24 px high: 12 px once the photo is shrunk to 2000 px
    lines = [_text_line(1500, 1200 + 40 * row, 24) for row in range(30)]
    area = area_to_read_closer(lines, 4000, 4000, working_side=2000)
    assert area is not None
    x0, y0, x1, y1 = area
    assert x0 <= 1500 - 48 and y0 <= 1200 - 48  # two line heights around the text found
    assert x1 >= 1500 + 132 + 48 and y1 >= 1200 + 40 * 29 + 24 + 48
    assert max(x1 - x0, y1 - y0) <= 2000 / 1.3 * 2  # seen at least 1.3x larger the second time


def test_one_look_is_kept_when_a_second_would_not_see_the_text_larger() -> None:
    receipt = [_text_line(1500, 1200 + 40 * row, 24) for row in range(30)]
    assert area_to_read_closer(receipt, 1800, 1800, working_side=2000) is None  # read at full size already
    large = [_text_line(1500, 1200 + 90 * row, 60) for row in range(10)]
    assert area_to_read_closer(large, 4000, 4000, working_side=2000) is None  # 30 px as shrunk: read well
    spread = [_text_line(200, 200 + 120 * row, 24) for row in range(30)] + [_text_line(3500, 3700, 24)]
    assert area_to_read_closer(spread, 4000, 4000, working_side=2000) is None  # text fills the frame
    assert area_to_read_closer([], 4000, 4000, working_side=2000) is None


def test_a_page_too_small_in_a_big_photo_for_its_print_to_be_found_is_read_closer_by_its_paper() -> None:
    # a form 800 x 1000 px in a 7000 px photo: shrunk to 2000 px, its print is 3 px high and no line is found
    form = rect_polygon(2500, 2400, 3300, 3400)
    area = area_to_read_closer([], 7000, 7000, working_side=2000, page_outline=lambda: form)
    assert area is not None
    x0, y0, x1, y1 = area
    assert x0 < 2500 and y0 < 2400 and x1 > 3300 and y1 > 3400  # the page, with a margin for its outline's error
    assert max(x1 - x0, y1 - y0) <= 2000  # seen at the photo's own resolution
    # a few small lines found on it: the whole page is read, not just the part around them
    found = [_text_line(2600, 2500 + 40 * row, 10) for row in range(3)]
    assert area_to_read_closer(found, 7000, 7000, working_side=2000, page_outline=lambda: form) == area
    # a line found off the page: the page is not all the text, so the part around the lines is read, as before
    elsewhere = [*found, _text_line(3500, 3600, 10)]
    around_the_lines = area_to_read_closer(elsewhere, 7000, 7000, working_side=2000)
    assert around_the_lines is not None and around_the_lines[2] > 3500
    assert area_to_read_closer(elsewhere, 7000, 7000, working_side=2000, page_outline=lambda: form) == around_the_lines
    # no page seen, nothing found: one look
    assert area_to_read_closer([], 7000, 7000, working_side=2000, page_outline=lambda: None) is None
    # a page filling the photo would be seen no larger a second time
    whole = rect_polygon(100, 100, 6900, 6900)
    assert area_to_read_closer([], 7000, 7000, working_side=2000, page_outline=lambda: whole) is None


def test_a_photo_whose_text_is_found_large_enough_is_read_once_and_a_small_image_never_searched() -> None:
    large = [_text_line(1500, 1200 + 90 * row, 60) for row in range(10)]  # 30 px as shrunk: read well
    page = rect_polygon(1400, 1100, 1900, 2200)  # the lines cover 60 % of it
    assert area_to_read_closer(large, 4000, 4000, working_side=2000, page_outline=lambda: page) is None

    def no_search() -> Polygon:
        raise AssertionError("the paper was looked for")

    assert area_to_read_closer([], 1800, 1800, working_side=2000, page_outline=no_search) is None  # seen whole


def test_one_large_box_on_a_page_it_leaves_mostly_blank_tells_nothing_of_the_page_s_print() -> None:
    # a form in a 7000 px photo of which one blob of run-together small print was found, 95 px high: 27 px as shrunk,
    # but 3 % of the page; the rest of its print was never seen
    form = rect_polygon(1400, 1100, 2150, 2090)
    blob = [rect_polygon(1565, 1890, 1800, 1985)]
    area = area_to_read_closer(blob, 7000, 7000, working_side=2000, page_outline=lambda: form)
    assert area is not None and area[0] < 1400 and area[3] > 2090
    assert area_to_read_closer(blob, 7000, 7000, working_side=2000) is None  # no page seen: taken as large print
    # four such blobs, 45-95 px high, cover 6 % of it
    blobs = [rect_polygon(1590, 1300, 1740, 1395), rect_polygon(1570, 1680, 1730, 1772),
             rect_polygon(1575, 1760, 1710, 1805), rect_polygon(1470, 1950, 1720, 2003)]
    around_the_form = area_to_read_closer(blobs, 7000, 7000, working_side=2000, page_outline=lambda: form)
    assert around_the_form is not None and around_the_form[0] < 1400 and around_the_form[3] > 2090
    # a sign photographed from a distance: its two lines of large words cover half of it, and are its text
    sign = rect_polygon(1330, 1420, 1995, 1860)
    words = [rect_polygon(1330, 1420, 1835, 1490), rect_polygon(1390, 1510, 1950, 1700)]
    assert area_to_read_closer(words, 4000, 4000, working_side=2000, page_outline=lambda: sign) is None


def test_an_image_much_longer_than_wide_is_seen_in_overlapping_strips_at_its_own_resolution() -> None:
    assert strips_for(1240, 1754, 2000) is None  # an A4 page: seen whole
    assert strips_for(2480, 3508, 2000) is None  # the same at 300 dpi: shrunk whole, its print still large enough
    assert strips_for(4032, 3024, 2000) is None  # a phone photo: shrunk whole (then read closer, if need be)
    assert strips_for(1080, 2400, 2000) is None  # a phone's screenshot: not long enough to be worth it
    web = strips_for(1280, 8000, 2000)  # a web page captured whole
    assert web is not None and web.scale == 1.0 and not web.across
    assert web.spans[0][0] == 0 and web.spans[-1][1] == 8000 and all(end - start == 2000 for start, end in web.spans)
    assert all(end - next_start >= 300 for (_, end), (next_start, _) in pairwise(web.spans))
    panorama = strips_for(9000, 3000, 2000)  # its short side beyond the working size: shrunk to it first
    assert panorama is not None and panorama.across and panorama.scale == pytest.approx(2 / 3)
    assert panorama.spans[-1][1] == 6000
    assert scale_seen(9000, 3000, 2000) == pytest.approx(2 / 3) and scale_seen(4000, 4000, 2000) == 0.5
    # a receipt in a photo, read closer: the part holding it is long and narrow, so it is read at full resolution
    receipt = [_text_line(1700, 500 + 40 * row, 24, characters=30) for row in range(75)]
    assert area_to_read_closer(receipt, 4000, 4000, working_side=2000) is not None


def test_a_stray_speck_far_away_does_not_widen_the_second_look() -> None:
    receipt = [_text_line(1500, 1200 + 40 * row, 24) for row in range(30)]
    alone = area_to_read_closer(receipt, 4000, 4000, working_side=2000)
    speck = rect_polygon(3900, 3900, 3930, 3926)  # one character, or dust
    assert area_to_read_closer([*receipt, speck], 4000, 4000, working_side=2000) == alone
    standing = [[(x, y) for y, x in box] for box in receipt]  # the same lines running down: measured the same
    assert area_to_read_closer(standing, 4000, 4000, working_side=2000) is not None


def _row_with_a_mark_before(text: str, mark: str, apart: int) -> tuple[np.ndarray, Line, tuple[int, int, int, int]]:
    """A printed row: ``mark``, then ``apart`` pixels of paper, then ``text``; the line as a detector that left the
    mark out finds it, and the mark's own print box."""
    image = Image.new("RGB", (800, 120), "white")
    draw = ImageDraw.Draw(image)
    mark_box = draw.textbbox((60, 40), mark, font=font(28))
    draw.text((60, 40), mark, fill="black", font=font(28))
    draw.text((mark_box[2] + apart, 40), text, fill="black", font=font(28))
    x0, y0, x1, y1 = draw.textbbox((mark_box[2] + apart, 40), text, font=font(28))
    line = Line(text=text, confidence=0.99, polygon=rect_polygon(x0 - 2, y0 - 4, x1 + 2, y1 + 4))
    return np.asarray(image), line, mark_box


def test_a_glyph_standing_apart_before_a_line_is_found_and_boxed_around_its_print() -> None:
    page, line, (x0, y0, x1, y1) = _row_with_a_mark_before("SPRING ROLL", "2", apart=50)
    [mark] = marks_apart([line], page)
    assert not mark.colon
    bx0, by0, bx1, by1 = bbox_of(mark.box)
    assert abs(bx0 - x0) <= 3 and abs(bx1 - x1) <= 3 and abs(by0 - y0) <= 3 and abs(by1 - y1) <= 3
    rx0, _, rx1, _ = bbox_of(mark.read_box)  # read with paper around, not reaching into the line
    assert rx0 < bx0 and bx1 < rx1 <= bbox_of(line.polygon)[0]


def test_letters_spaced_apart_are_not_each_taken_for_a_lone_glyph() -> None:
    page, line, _ = _row_with_a_mark_before("QUERY", "P R E S S", apart=40)
    assert marks_apart([line], page) == []


def test_a_marks_reading_is_kept_only_as_what_it_was_found_as() -> None:
    glyph = Mark(read_box=rect_polygon(0, 0, 60, 30), box=rect_polygon(20, 4, 30, 26), colon=False)
    colon = Mark(read_box=rect_polygon(100, 0, 130, 30), box=rect_polygon(100, 0, 130, 30), colon=True)

    def read(mark: Mark, text: str, confidence: float = 0.97) -> Line:
        return Line(text=text, confidence=confidence, polygon=list(mark.read_box))

    kept = kept_readings([glyph, colon], [read(glyph, "1"), read(colon, ":")])
    assert [(line.text, bbox_of(line.polygon)) for line in kept] == [("1", bbox_of(glyph.box)), (":", bbox_of(colon.read_box))]
    assert [(word.text, word.polygon) for word in kept[0].words] == [("1", glyph.box)]
    for text, confidence in (("1", 0.8), ("|", 0.99), ("-", 0.99), ("S S", 0.99), ("1234", 0.99)):
        assert kept_readings([glyph], [read(glyph, text, confidence)]) == [], text  # unsure, a stroke, not one glyph
    assert kept_readings([colon], [read(colon, "1")]) == []  # a colon's dots read as anything else
    assert [line.text for line in kept_readings([glyph], [read(glyph, "%")])] == ["%"]
