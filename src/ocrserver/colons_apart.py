"""Colons printed apart between a label and its value, which a detector leaves out.

Receipts set a column of colons between their labels and values (``TOTAL      :      12.00``). PP-OCR's detector
misses such isolated glyphs (a known weakness of DB detectors with small, lone marks), so the page's text lost
them. Where two lines share a row, the gap between them is looked at: exactly two marks of ink there, each small
and about as wide as high, one above the other, are a colon; its box (the row's height, the dots' width with
room) is handed to the engine's recogniser to read, and kept when it reads as a colon. PP-OCR's small recogniser
(``ppocr``) reads them; the tiny one and Tesseract read such a crop as nothing, so their pages stay as they were.

All 61 dev pages in-process (``ppocr``): det F1 0.847 -> 0.849, BoW F1 0.871 -> 0.872, page CER 0.079 -> 0.078; the
receipts 0.915 / 0.906 -> 0.918 / 0.908 (12 of the 59 colons their labels hold and the pages lacked); every other
page as before; about 1.5 ms a page to look.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocrserver.ink import ink
from ocrserver.layout import side_by_side
from ocrserver.result import Box, Line, Polygon, bbox_of, rect_polygon

# A dot of a colon is at most this share of its row's height, high or wide, and between these shapes (wide / high).
DOT_SIZE = 0.4
DOT_SHAPE = (0.4, 2.5)
# Ink marks of fewer pixels are specks, not dots.
SPECK = 2
# The box read around a colon is at least this many times as wide as its row is high.
WIDE = 0.8


def colons_apart(lines: list[Line], page: np.ndarray) -> list[Polygon]:
    """Boxes of the colons standing apart between two lines of one row on ``page`` (grey or colour), where the
    lines lie (module docstring)."""
    if not lines:
        return []
    boxes = [bbox_of(line.polygon) for line in lines]
    on_row = side_by_side(boxes)
    found = []
    for index, left in enumerate(boxes):
        right = _next_on_row(index, boxes, on_row)
        if right is not None:
            colon = _colon_between(page, left, right)
            if colon is not None:
                found.append(colon)
    return found


def _next_on_row(index: int, boxes: list[Box], on_row: np.ndarray) -> Box | None:
    """The line after ``boxes[index]`` on its row (``on_row``: layout.side_by_side), with no other line between
    them."""
    left = boxes[index]
    after = [box for other, box in enumerate(boxes) if on_row[index, other] and box[0] > left[2]]
    if not after:
        return None
    right = min(after, key=lambda box: box[0])
    between = any(box[0] < right[0] and box[2] > left[2] and box[1] < max(left[3], right[3])
                  and box[3] > min(left[1], right[1]) for box in boxes if box not in (left, right))
    return None if between else right


def _colon_between(page: np.ndarray, left: Box, right: Box) -> Polygon | None:
    """The box of a colon alone in the gap between two lines of a row, on the page; None when the gap holds
    anything else."""
    top, bottom = max(0, int(min(left[1], right[1]))), int(max(left[3], right[3])) + 1
    start, end = int(left[2]) + 1, int(right[0])
    height = bottom - top
    if end - start < 3 or height < 8:
        return None
    row_start = max(0, int(left[0]))
    row_ink = ink(page[top:bottom, row_start:int(right[2]) + 1])  # the two lines' print decides the threshold
    gap = (row_ink[:, start - row_start:end - row_start] > 0).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(gap, connectivity=8)
    marks = [mark for mark in stats[1:] if mark[cv2.CC_STAT_AREA] >= SPECK]
    if len(marks) != 2:
        return None
    upper, lower = sorted(marks, key=lambda mark: mark[cv2.CC_STAT_TOP])
    if not all(_is_dot(mark, height) for mark in (upper, lower)):
        return None
    middles = [mark[cv2.CC_STAT_LEFT] + mark[cv2.CC_STAT_WIDTH] / 2 for mark in (upper, lower)]
    stacked = abs(middles[0] - middles[1]) <= max(upper[cv2.CC_STAT_WIDTH], lower[cv2.CC_STAT_WIDTH])
    apart = lower[cv2.CC_STAT_TOP] - (upper[cv2.CC_STAT_TOP] + upper[cv2.CC_STAT_HEIGHT]) >= 0.1 * height
    alike = max(upper[cv2.CC_STAT_AREA], lower[cv2.CC_STAT_AREA]) <= 3 * min(upper[cv2.CC_STAT_AREA], lower[cv2.CC_STAT_AREA])
    if not (stacked and apart and alike):
        return None
    x0 = start + min(upper[cv2.CC_STAT_LEFT], lower[cv2.CC_STAT_LEFT])
    x1 = start + max(upper[cv2.CC_STAT_LEFT] + upper[cv2.CC_STAT_WIDTH], lower[cv2.CC_STAT_LEFT] + lower[cv2.CC_STAT_WIDTH])
    # a box at least WIDE times as wide as the row is high, so that the recogniser's cut keeps it upright (rapidocr
    # turns a box 1.5 times as tall as wide a quarter), within the gap
    middle, half = (x0 + x1) / 2, max(x1 - x0, WIDE * height) / 2
    left_edge, right_edge = max(start, middle - half), min(end, middle + half)
    if (right_edge - left_edge) * 1.5 <= height:
        return None
    return rect_polygon(left_edge, top, right_edge, bottom)


def _is_dot(mark: np.ndarray, height: int) -> bool:
    width, high = mark[cv2.CC_STAT_WIDTH], mark[cv2.CC_STAT_HEIGHT]
    return width <= DOT_SIZE * height and high <= DOT_SIZE * height and DOT_SHAPE[0] <= width / high <= DOT_SHAPE[1]
