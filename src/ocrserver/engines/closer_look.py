"""A document photographed from a distance: where to read a big image again, at the resolution it was taken at.

An engine that works on images no larger than ``working_side`` pixels (rapidocr: 2000 px on the longer side)
shrinks a 4000 px phone photo to half. A receipt filling a third of that frame then has its text a dozen
pixels high: the detector misses lines and the recogniser guesses. Read once more, the part of the photo
that holds all the text found keeps (nearly) the photo's own resolution. The dev pages placed at their scanned
resolution in a 4000 x 4000 px photo (``benchmarks/dev_set.py --task page --frame 4000``), ppocr: det F1
0.703 -> 0.827, BoW F1 0.723 -> 0.866 (the pages as scanned: 0.834 / 0.869).
The decision needs the first look's detected boxes only, so the shrunk lines are never recognised when the part
is read instead (p50 5.4 -> 4.5 s a photo against deciding from recognised lines). Images within the working
size, and text that is already large enough or that fills the frame, are read once.

A document that is a small share of a very big photo (a receipt or form a fifth to a ninth of a 7000 px photo's
width) has its print 3-4 px high as shrunk: the first look finds none of it, or blobs, or a heading, and has no line
to go by. The paper the text is on is looked for too (perspective.page_corners, down to a small share of the photo):
where it holds every line found, and they are small or cover little of it, the part read again is the whole page.
The dev pages in a 7000 x 7000 px photo, in-process, ppocr: mean BoW F1 0.561 -> 0.874 (scanned 0.881; 19 of 61
read nothing before), in a 4000 px photo 0.877 -> 0.880.
``area_around`` (the part holding some text boxes, with a margin) also serves Tesseract, which reads a photo at its
own resolution but is misled by the table around a document (engines/tesseract.py, ``TEXT_PART``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

from ocrserver.engines.strips import scale_seen
from ocrserver.geometry import pixels_around
from ocrserver.result import Polygon, bbox_of

# Text whose lines are at least this many pixels high as the engine sees them reads well: no second look.
SMALL_TEXT = 20.0
# A second look must see the text at least this much larger than the first (1.3 = 30 % more pixels across).
MIN_GAIN = 1.3
# A box at least this many times as long as high holds a line of text, not one character or a speck.
LINE_SHAPE = 1.5
# Large lines covering less than this share of the page they lie on tell nothing of its print: a heading, or
# paragraphs too small to tell apart found as blobs, the rest of the print unseen (forms in a 7000 px photo: one box
# of 95 px, 3 % of the page; four of 45-95 px, 6 %). A sign's large words cover about half of it.
SPARSE_PAGE = 0.1

Box = tuple[int, int, int, int]


def area_to_read_closer(text_boxes: Sequence[Polygon], width: int, height: int, working_side: int,
                        page_outline: Callable[[], Polygon | None] = lambda: None) -> Box | None:
    """The part of a ``width`` x ``height`` image to read again (x0, y0, x1, y1), or None to keep the first look.

    ``text_boxes`` are the quadrilaterals the first look detected text in, in image coordinates; ``working_side``
    is the longest side the engine reads at (larger images are shrunk to it, or seen in strips: strips.py). The
    part holds every box shaped like a line (``LINE_SHAPE``), with a margin of two line heights (at least 2 % of
    the image) for text the first look missed next to it. ``page_outline`` gives the paper the text may be on
    (perspective.page_corners, a page however small a share of the photo): where it holds every line found, and
    they are small or cover little of it (``SPARSE_PAGE``), the part holds the whole page, so that print too small
    to be found at all is read too.
    """
    first_scale = scale_seen(width, height, working_side)
    if first_scale >= 1.0 / MIN_GAIN:
        return None
    sides = [(box, _sides(box)) for box in text_boxes if len(box) >= 4]
    lines = [(box, short) for box, (short, long) in sides if long >= LINE_SHAPE * short > 0]
    line_height = statistics.median(short for _, short in lines) if lines else 0.0
    text_is_large = line_height * first_scale >= SMALL_TEXT
    boxes = [box for box, _ in lines]
    page = page_outline()
    if (page is not None and all(_inside(box, page) for box in boxes)
            and not (text_is_large and _share_covered(boxes, page) >= SPARSE_PAGE)):
        area = area_around([page, *boxes], line_height, width, height)
        if _scale_seen(area, working_side) >= MIN_GAIN * first_scale:
            return area
    if not lines or text_is_large:
        return None
    area = area_around(boxes, line_height, width, height)
    return area if _scale_seen(area, working_side) >= MIN_GAIN * first_scale else None


def _scale_seen(area: Box, working_side: int) -> float:
    """How far the engine shrinks ``area`` of an image (x0, y0, x1, y1) to look at it (1.0: not at all)."""
    x0, y0, x1, y1 = area
    return scale_seen(x1 - x0, y1 - y0, working_side)


def _share_covered(boxes: Sequence[Polygon], page: Polygon) -> float:
    """How much of the bounds of ``page`` the bounds of ``boxes`` cover, as a share (counted once per box)."""
    left, top, right, bottom = bbox_of(page)
    covered = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in map(bbox_of, boxes))
    return covered / max(1.0, (right - left) * (bottom - top))


def _inside(box: Polygon, page: Polygon) -> bool:
    """Whether the centre of ``box`` lies within the bounds of ``page``."""
    x0, y0, x1, y1 = bbox_of(box)
    left, top, right, bottom = bbox_of(page)
    return left <= (x0 + x1) / 2 <= right and top <= (y0 + y1) / 2 <= bottom


def area_around(text_boxes: Sequence[Polygon], line_height: float, width: int, height: int) -> Box:
    """The part of a ``width`` x ``height`` image (x0, y0, x1, y1) that holds ``text_boxes``, with a margin of two
    line heights (at least 2 % of the image's longer side) for text next to them that the first look missed."""
    margin = max(2 * line_height, 0.02 * max(width, height))
    return pixels_around([corner for box in text_boxes for corner in box], margin, width, height)


def _sides(box: Polygon) -> tuple[float, float]:
    """A quadrilateral's shorter and longer side: a line's height and length, whether it runs across or down."""
    (x0, y0), (x1, y1), _, (x3, y3) = box[:4]
    first, second = math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)
    return min(first, second), max(first, second)
