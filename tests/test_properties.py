"""Property-based tests: Hypothesis over the image and geometry code, Schemathesis over every API operation."""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ocrserver.api.app import create_app
from ocrserver.engines.strips import LONG_SHAPE, MIN_GAIN, OVERLAP, lines_across_strips, strips_for
from ocrserver.errors import ImageTooLarge, InvalidImage, InvalidRegion
from ocrserver.geometry import parse_region, rectify, rotated_rect_polygon
from ocrserver.imaging import decode_pages
from ocrserver.labelstudio.backend import polygon_value, rectangle_value
from ocrserver.layout import (
    count_text_lines,
    group_into_blocks,
    loose_text_rows,
    split_into_words,
)
from ocrserver.result import Line
from ocrserver.settings import load_settings
from ocrserver.spaced_characters import combs_joined

finite = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False, allow_infinity=False)
coordinate = st.floats(min_value=0, max_value=400, allow_nan=False)


@given(st.one_of(st.lists(finite, max_size=6), st.lists(st.lists(finite, min_size=0, max_size=3), max_size=8), st.text(max_size=5)))
def test_parse_region_accepts_or_refuses_clearly(value: object) -> None:
    try:
        polygon = parse_region(value)
    except InvalidRegion as exc:
        assert "regions[0]" in exc.message
    else:
        assert len(polygon) >= 3 and all(len(p) == 2 for p in polygon)


any_number = st.floats()  # NaN, the infinities (JSON's ``Infinity``) and the largest floats (``1e308``) too


@given(st.one_of(st.lists(any_number, min_size=4, max_size=4), st.lists(st.tuples(any_number, any_number), min_size=3, max_size=5)))
def test_regions_of_any_numbers_are_cut_or_refused_clearly(value: list) -> None:
    page = np.zeros((300, 400, 3), dtype=np.uint8)
    try:
        crop = rectify(page, parse_region(value))
    except InvalidRegion as exc:
        assert exc.message
    else:
        assert crop.image.ndim == 3 and crop.image.shape[0] >= 1 and crop.image.shape[1] >= 1


@given(st.lists(st.tuples(any_number, any_number), min_size=3, max_size=5))
def test_polygons_of_any_numbers_are_cut_or_refused_clearly(points: list[tuple[float, float]]) -> None:
    """As Label Studio's drawn regions reach ``rectify``: scaled from percentages, not parsed first."""
    try:
        crop = rectify(np.zeros((300, 400, 3), dtype=np.uint8), points)
    except InvalidRegion as exc:
        assert exc.message
    else:
        assert crop.image.ndim == 3 and crop.image.shape[0] >= 1 and crop.image.shape[1] >= 1


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=7))
def test_rectify_returns_a_crop_or_a_region_error(points: list[tuple[float, float]]) -> None:
    page = np.zeros((300, 400, 3), dtype=np.uint8)
    try:
        polygon = parse_region([list(p) for p in points])
        crop = rectify(page, polygon)
    except InvalidRegion:
        return
    assert crop.image.ndim == 3 and crop.image.shape[0] >= 1 and crop.image.shape[1] >= 1
    mapped = crop.map_polygon([(0.0, 0.0), (float(crop.image.shape[1]), 0.0)])
    assert all(math.isfinite(c) for p in mapped for c in p)


@given(x=coordinate, y=coordinate, w=st.floats(1, 300), h=st.floats(1, 100), angle=st.floats(-360, 360))
def test_rotated_rectangles_keep_their_size_and_start(x: float, y: float, w: float, h: float, angle: float) -> None:
    polygon = rotated_rect_polygon(x, y, w, h, angle)
    assert polygon[0] == pytest.approx((x, y))
    assert math.dist(polygon[0], polygon[1]) == pytest.approx(w, rel=1e-6)
    assert math.dist(polygon[0], polygon[3]) == pytest.approx(h, rel=1e-6)
    value = rectangle_value(polygon, 800, 600)
    assert 0 <= value["x"] <= 100 and 0 <= value["y"] <= 100 and 0 <= value["width"] <= 100 and 0 <= value["height"] <= 100
    assert 0 <= value["rotation"] < 360
    assert all(0 <= c <= 100 for point in polygon_value(polygon, 800, 600)["points"] for c in point)


@settings(max_examples=200)
@given(st.binary(max_size=2048))
def test_decoding_random_bytes_never_fails_unexpectedly(data: bytes) -> None:
    try:
        pages = decode_pages(data, max_pixels=4_000_000)
    except (InvalidImage, ImageTooLarge):
        return
    assert pages and all(page.mode == "RGB" for page in pages)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.tuples(st.integers(1, 60), st.integers(1, 120), st.just(3))))
def test_counting_text_lines_and_finding_a_loose_crops_text_work_on_any_pixels(image: np.ndarray) -> None:
    assert 0 <= count_text_lines(image) <= image.shape[0]
    rows = loose_text_rows(image)
    assert rows is None or 0 <= rows[0] < rows[1] <= image.shape[0]  # a part of the crop that is not empty


@given(st.integers(1, 40000), st.integers(1, 40000), st.sampled_from([960, 2000]))
def test_strips_cover_a_long_image_and_a_line_lies_whole_in_the_strip_that_owns_it(width: int, height: int, working_side: int) -> None:
    strips = strips_for(width, height, working_side)
    if strips is None:
        assert max(width, height) < max(MIN_GAIN * working_side, LONG_SHAPE * min(width, height))
        return
    # the strips show the image at least MIN_GAIN times larger than it is seen whole
    assert strips.scale * max(width, height) >= MIN_GAIN * working_side - 1
    length = round(max(width, height) * strips.scale)
    assert strips.owned[0][0] == 0 and strips.owned[-1][1] == length
    assert all(owned[1] == after[0] for owned, after in pairwise(strips.owned))
    # a line less high than the overlap whose centre lies in a strip's own part lies whole in that strip
    reach = OVERLAP * working_side / 2 - 1
    for (start, end), (owned_from, owned_to) in zip(strips.spans, strips.owned, strict=True):
        assert end - start == working_side and 0 <= start and end <= length
        assert start == 0 or owned_from - reach >= start
        assert end == length or owned_to + reach <= end


# a row of text: up to two fields, as shares of the image's width (sorted: start, end, start, end)
_rows = st.lists(st.lists(st.floats(0, 1), min_size=4, max_size=4).map(sorted), max_size=30)


@given(st.integers(1, 40000), st.integers(1, 40000), st.sampled_from([960, 2000]), _rows)
def test_each_line_the_strips_see_is_one_line_however_they_cut_it(
        width: int, height: int, working_side: int, rows: list[list[float]]) -> None:
    strips = strips_for(width, height, working_side)
    if strips is None:
        return
    # lines 30 px high at a 28 px pitch (their boxes overlap, as detected boxes do), up to two fields a row (x across
    # the image's width as seen), each strip seeing what lies in it: across a wide image, the part of a line within
    # it; down a long one, the lines wholly in it
    across = round(width * strips.scale)
    fields = [(row, round(start * across), round(end * across)) for row, cuts in enumerate(rows)
              for start, end in (cuts[:2], cuts[2:])]
    fields = [(row, start, end) for row, start, end in fields if end - start >= 2]
    fields = [field for index, field in enumerate(fields)  # fields of a row apart by at least a pixel
              if index == 0 or field[0] != fields[index - 1][0] or field[1] > fields[index - 1][2]]
    seen: list[list[np.ndarray]] = []
    owner: list[int] = []
    for start, end in strips.spans:
        seen.append([])
        for index, (row, left, right) in enumerate(fields):
            top = 28 * row
            if strips.across:
                left, right = max(left, start), min(right, end)
                if right - left < 2:
                    continue
            elif not (start <= top and top + 30 <= end):
                continue
            seen[-1].append(np.array([[left, top], [right, top], [right, top + 30], [left, top + 30]], dtype=np.float32))
            owner.append(index)
    groups = lines_across_strips(seen, strips)
    # each line seen is one group, holding only its own pieces
    assert sorted(owner[group[0]] for group in groups) == sorted(set(owner))
    assert all(len({owner[index] for index in group}) == 1 for group in groups)


@given(st.text(max_size=40), st.floats(0, 1))
def test_word_split_covers_the_words_in_order(text: str, confidence: float) -> None:
    words = split_into_words(text, confidence, [(0, 0), (100, 0), (100, 10), (0, 10)])
    assert [w.text for w in words] == text.split()
    lefts = [w.polygon[0][0] for w in words]
    assert lefts == sorted(lefts)


@given(st.lists(st.tuples(coordinate, coordinate, st.floats(0, 300), st.floats(0, 60)), max_size=40), st.floats(-12, 12))
def test_blocks_hold_every_line_once_whatever_the_layout(boxes: list[tuple[float, float, float, float]], slant: float) -> None:
    # the lines' texts are their numbers after a "#": amounts, no labels, never one character of a comb of boxes
    lines = [Line(text=f"#{n}", confidence=1.0, polygon=rotated_rect_polygon(x, y, w, h, slant)) for n, (x, y, w, h) in enumerate(boxes)]
    blocks = group_into_blocks(lines)
    assert sorted(int(line.text[1:]) for block in blocks for line in block.lines) == list(range(len(lines)))


@given(st.lists(st.tuples(st.sampled_from("0123456789AB"), coordinate, st.floats(0, 60), st.floats(0, 40)), max_size=30))
def test_combs_keep_every_character_once(characters: list[tuple[str, float, float, float]]) -> None:
    lines = [Line(text=text, confidence=1.0, polygon=rotated_rect_polygon(x, y, 20, h, 0)) for text, x, y, h in characters]
    assert sorted("".join(line.text for line in combs_joined(lines))) == sorted(text for text, *_ in characters)


# ---- every API operation: no server errors -------------------------------------------------------------
APP = create_app(load_settings(workers=1, max_batch=4, fetch_timeout=1.0))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
_URL = re.compile(r"^https?://", re.IGNORECASE)
CLOSED = "http://127.0.0.1:9/x.png"  # nothing listens there; generated URLs never leave the machine


def _keep_on_loopback(body: object) -> object:
    if isinstance(body, str):
        return CLOSED if _URL.match(body) else body
    if isinstance(body, list):
        return [_keep_on_loopback(item) for item in body]
    if isinstance(body, dict):
        return {key: _keep_on_loopback(value) for key, value in body.items()}
    return body


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case) -> None:
    if case.body is not None:
        case.body = _keep_on_loopback(case.body)
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
