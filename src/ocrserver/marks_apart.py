"""Marks printed apart on a row, which a detector leaves out: colons between labels and values, lone glyphs.

Receipts set a column of colons between their labels and values (``TOTAL      :      12.00``) and print an item's
quantity apart before its name (``1     ST15``); tables set a lone digit in a cell. PP-OCR's detector misses such
isolated glyphs (a known weakness of DB detectors with small, lone marks), so the page's text lost them. The paper
between two lines of one row is looked at, and so is the paper beside a row's ends (up to ``REACH`` of its height):

- exactly two marks of ink between two lines, each small and about as wide as high, one above the other, are a
  colon;
- a glyph standing alone (its ink at least ``TALL`` of the row's height and at most ``WIDEST`` of it wide, at least
  ``AWAY`` from the lines and ``ALONE`` from any other ink there) may be a digit, a letter or a sign.

Each is handed to the engine's recogniser in a box of the row's height, at least ``READ_WIDE`` of it wide within
the paper it stands in (the recogniser reads a lone glyph surely only with paper around it, and rapidocr turns a
box 1.5 times as tall as wide a quarter). A colon is kept when it reads as a colon; a glyph when it reads as up to
three characters holding a letter, a digit or a sign, ``SURE`` or surer (a rule's stroke read as ``|`` is not), in
a box of its print with a pixel of room, at least half as wide as high, as people box a lone character. PP-OCR's
small recogniser reads most of them; the tiny one and Tesseract fewer, surely enough.

All 61 dev pages in-process (``ppocr``), the colons: det F1 0.847 -> 0.849, BoW F1 0.871 -> 0.872 (12 of the 59
colons the receipts' labels hold and the pages lacked); then the lone glyphs: 0.849 -> 0.851, 0.872 -> 0.873 (ten
quantities and table digits on five receipts, each matching its label at IoU 0.69-0.93; no other page changed).
About 5 ms a page to look.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ocrserver.ink import ink
from ocrserver.label_value import COLONS
from ocrserver.layout import side_by_side
from ocrserver.result import Box, Line, Polygon, Word, bbox_of, rect_polygon

# A dot of a colon is at most this share of its row's height, high or wide, and between these shapes (wide / high).
DOT_SIZE = 0.4
DOT_SHAPE = (0.4, 2.5)
# Ink marks of fewer pixels are specks, not dots.
SPECK = 2
# Beside a row's first and last line, marks are looked for this many of its heights away.
REACH = 3.0
# A lone glyph's ink is at least TALL of its row's height high and at most WIDEST of it wide (one to three
# characters), at least AWAY of it from the lines beside it and ALONE of it from other ink half as high (specks and
# a dotted leader's dots aside); ink closer than JOIN of it to the side is one glyph's (the strokes of a "%").
TALL = 0.4
WIDEST = 1.6
AWAY = 0.4
ALONE = 1.0
JOIN = 0.2
# The box read around a colon is at least WIDE of its row's height wide; around a glyph, READ_WIDE.
WIDE = 0.8
READ_WIDE = 2.0
# A glyph's reading is kept at this confidence or more, when it holds a letter, a digit, a currency sign or one of
# SIGNS.
SURE = 0.9
SIGNS = "%#&@*+"


@dataclass(frozen=True)
class Mark:
    """A mark standing apart: the box its recogniser reads, the box it lies in, and whether it is a colon's dots."""

    read_box: Polygon
    box: Polygon
    colon: bool


@dataclass(frozen=True)
class _Gap:
    """Paper on a row where a mark may stand: ``start`` to ``end`` across, ``top`` to ``bottom`` down, with a line
    on its left and / or right."""

    start: int
    end: int
    top: int
    bottom: int
    left: Box | None
    right: Box | None


def marks_apart(lines: list[Line], page: np.ndarray) -> list[Mark]:
    """The marks standing apart on the lines' rows on ``page`` (grey or colour), where the lines lie (module
    docstring)."""
    if not lines:
        return []
    boxes = [bbox_of(line.polygon) for line in lines]
    marks: list[Mark] = []
    for gap in _gaps(boxes, page.shape[1]):
        if gap.end - gap.start < 3 or gap.bottom - gap.top < 8 or _crossed(gap, boxes):
            continue
        marks += [mark for mark in _marks_in(page, gap) if not any(_overlap(mark.box, seen.box) for seen in marks)]
    return marks


def kept_readings(marks: list[Mark], readings: list[Line]) -> list[Line]:
    """The lines the marks' readings add to their page: a colon's dots read as a colon, a glyph read surely as up to
    three characters, in the glyph's box. ``readings``: the recogniser's lines for the marks' ``read_box``es, which
    leave out what it could not read."""
    kept = []
    for reading in readings:
        x0, y0, _, _ = bbox_of(reading.polygon)
        mark = min(marks, key=lambda mark: abs(bbox_of(mark.read_box)[0] - x0) + abs(bbox_of(mark.read_box)[1] - y0))
        text = reading.text.strip()
        if mark.colon and text in COLONS:
            kept.append(reading)
        elif not mark.colon and _reads_as_glyph(text) and reading.confidence >= SURE:
            kept.append(Line(text=text, confidence=reading.confidence, polygon=mark.box,
                             words=[Word(text=text, confidence=reading.confidence, polygon=mark.box)]))
    return kept


def _reads_as_glyph(text: str) -> bool:
    """Up to three characters with a letter, a digit or a sign among them (a stroke read as "|" or "-" is not)."""
    return (0 < len(text) <= 3 and not any(character.isspace() for character in text)
            and any(character.isalnum() or character in SIGNS or unicodedata.category(character) == "Sc" for character in text))


def _gaps(boxes: list[Box], width: int) -> Iterator[_Gap]:
    """The paper between each line and the next on its row, and beside each row's first and last line."""
    on_row = side_by_side(boxes)
    for index, box in enumerate(boxes):
        after = [other for column, other in enumerate(boxes) if on_row[index, column] and other[0] > box[2]]
        height = box[3] - box[1]
        beside = (REACH + ALONE) * height  # ALONE further, to see whether a glyph near the reach has ink beside it
        if after:
            right = min(after, key=lambda other: other[0])
            top, bottom = min(box[1], right[1]), max(box[3], right[3])
            yield _Gap(int(box[2]) + 1, int(right[0]), max(0, int(top)), int(bottom) + 1, box, right)
        else:
            yield _Gap(int(box[2]) + 1, int(min(width, box[2] + beside)), max(0, int(box[1])), int(box[3]) + 1, box, None)
        if not any(on_row[index, column] and other[2] < box[0] for column, other in enumerate(boxes)):
            yield _Gap(int(max(0, box[0] - beside)), int(box[0]), max(0, int(box[1])), int(box[3]) + 1, None, box)


def _crossed(gap: _Gap, boxes: list[Box]) -> bool:
    """Whether another line lies across the gap (more than a fifth of its height into it)."""
    margin = 0.2 * (gap.bottom - gap.top)
    return any(box[0] < gap.end and box[2] > gap.start and box[1] < gap.bottom - margin and box[3] > gap.top + margin
               for box in boxes if box is not gap.left and box is not gap.right)


def _marks_in(page: np.ndarray, gap: _Gap) -> list[Mark]:
    """The colon or the lone glyphs in a gap."""
    lines = [box for box in (gap.left, gap.right) if box is not None]
    start = min(gap.start, *(int(box[0]) for box in lines))
    end = max(gap.end, *(int(box[2]) + 1 for box in lines))
    row_ink = ink(page[gap.top:gap.bottom, start:end])  # the lines' print decides the threshold
    inked = (row_ink[:, gap.start - start:gap.end - start] > 0).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(inked, connectivity=8)
    parts = [part for part in stats[1:] if part[cv2.CC_STAT_AREA] >= SPECK]
    if gap.left is not None and gap.right is not None:
        colon = _colon(parts, gap)
        if colon is not None:
            return [colon]
    return _lone_glyphs(parts, gap)


def _colon(parts: list[np.ndarray], gap: _Gap) -> Mark | None:
    """The colon of a gap that holds exactly two dots, one above the other; None when it holds anything else."""
    height = gap.bottom - gap.top
    if len(parts) != 2:
        return None
    upper, lower = sorted(parts, key=lambda part: part[cv2.CC_STAT_TOP])
    if not all(_is_dot(part, height) for part in (upper, lower)):
        return None
    middles = [part[cv2.CC_STAT_LEFT] + part[cv2.CC_STAT_WIDTH] / 2 for part in (upper, lower)]
    stacked = abs(middles[0] - middles[1]) <= max(upper[cv2.CC_STAT_WIDTH], lower[cv2.CC_STAT_WIDTH])
    apart = lower[cv2.CC_STAT_TOP] - (upper[cv2.CC_STAT_TOP] + upper[cv2.CC_STAT_HEIGHT]) >= 0.1 * height
    alike = max(upper[cv2.CC_STAT_AREA], lower[cv2.CC_STAT_AREA]) <= 3 * min(upper[cv2.CC_STAT_AREA], lower[cv2.CC_STAT_AREA])
    if not (stacked and apart and alike):
        return None
    x0 = gap.start + min(upper[cv2.CC_STAT_LEFT], lower[cv2.CC_STAT_LEFT])
    x1 = gap.start + max(upper[cv2.CC_STAT_LEFT] + upper[cv2.CC_STAT_WIDTH], lower[cv2.CC_STAT_LEFT] + lower[cv2.CC_STAT_WIDTH])
    box = _read_box(x0, x1, gap, WIDE)
    return None if box is None else Mark(read_box=box, box=box, colon=True)


def _lone_glyphs(parts: list[np.ndarray], gap: _Gap) -> list[Mark]:
    """The gap's glyphs standing alone (module docstring)."""
    height = gap.bottom - gap.top
    glyphs = _glyphs(parts, JOIN * height)
    reach = REACH * height  # beside a row's end: how far from its line a glyph may lie
    marks = []
    for index, (x0, y0, x1, y1) in enumerate(glyphs):
        if y0 == 0 or y1 == height:  # reaches the row's edge: another row's print
            continue
        if y1 - y0 < TALL * height or x1 - x0 > WIDEST * height:
            continue
        near_left = gap.left is not None and x0 < AWAY * height
        near_right = gap.right is not None and gap.end - gap.start - x1 < AWAY * height
        too_far = (gap.right is None and x1 > reach) or (gap.left is None and gap.end - gap.start - x0 > reach)
        beside = [glyph for other, glyph in enumerate(glyphs) if other != index and glyph[3] - glyph[1] >= TALL * height / 2
                  and glyph[0] < x1 + ALONE * height and glyph[2] > x0 - ALONE * height]
        if near_left or near_right or too_far or beside:
            continue
        read_box = _read_box(gap.start + x0, gap.start + x1, gap, READ_WIDE)
        if read_box is not None:
            marks.append(Mark(read_box=read_box, box=_glyph_box(gap.start + x0, gap.top + y0, gap.start + x1, gap.top + y1),
                              colon=False))
    return marks


def _glyphs(parts: list[np.ndarray], join: float) -> list[tuple[int, int, int, int]]:
    """The ink parts (connected components' stats) joined into glyphs where they lie closer than ``join`` across:
    left, top, right, bottom of each, left to right."""
    glyphs: list[list[int]] = []
    for part in sorted(parts, key=lambda part: part[cv2.CC_STAT_LEFT]):
        x0, y0 = int(part[cv2.CC_STAT_LEFT]), int(part[cv2.CC_STAT_TOP])
        x1, y1 = x0 + int(part[cv2.CC_STAT_WIDTH]), y0 + int(part[cv2.CC_STAT_HEIGHT])
        if glyphs and x0 <= glyphs[-1][2] + join:
            last = glyphs[-1]
            last[:] = [min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)]
        else:
            glyphs.append([x0, y0, x1, y1])
    return [(x0, y0, x1, y1) for x0, y0, x1, y1 in glyphs]


def _read_box(x0: float, x1: float, gap: _Gap, wide: float) -> Polygon | None:
    """The box to read ink from ``x0`` to ``x1`` in: the gap's height, at least ``wide`` of it wide, within the gap;
    None when the gap leaves it too narrow to read upright."""
    height = gap.bottom - gap.top
    middle, half = (x0 + x1) / 2, max(x1 - x0, wide * height) / 2
    left, right = max(gap.start, middle - half), min(gap.end, middle + half)
    if (right - left) * 1.5 <= height:
        return None
    return rect_polygon(left, gap.top, right, gap.bottom)


def _glyph_box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A glyph's box as people draw one: its print with a pixel of room, at least half as wide as high."""
    y0, y1 = y0 - 1, y1 + 1
    middle, half = (x0 + x1) / 2, max((x1 - x0) / 2 + 1, (y1 - y0) / 4)
    return rect_polygon(middle - half, y0, middle + half, y1)


def _overlap(a: Polygon, b: Polygon) -> bool:
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = bbox_of(a), bbox_of(b)
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1


def _is_dot(part: np.ndarray, height: int) -> bool:
    width, high = part[cv2.CC_STAT_WIDTH], part[cv2.CC_STAT_HEIGHT]
    return width <= DOT_SIZE * height and high <= DOT_SIZE * height and DOT_SHAPE[0] <= width / high <= DOT_SHAPE[1]
