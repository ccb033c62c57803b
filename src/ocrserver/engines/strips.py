"""An image much longer than wide or wider than high (a long receipt, a web page captured whole): seen in strips.

rapidocr shrinks every image to 2000 px on its longer side before it looks for text, and reads the lines it finds
from the shrunk image. A receipt 900 x 4300 px, or a web page captured as one 1280 x 8000 px image, then has its
text shrunk to a half or a quarter: 16 px print came out 4 px high and the web page read as nothing (bag-of-words F1
0.035; Tesseract, which reads at full resolution, 0.999). Such an image is seen instead in overlapping strips across
its long side, each as large as the engine works at, the whole image first shrunk only as far as its short side
needs. Each strip is searched for text on its own; a line is kept from the strip that owns its centre (each strip
owns up to the middle of its overlaps), so a line cut by the edge of a strip down a long image is found whole in its
neighbour's, as long as it is less high than the overlap (``OVERLAP`` of a strip's length: 300 px as seen). Strips
across an image much wider than high (a 4K screenshot, 3840 x 2160 px) cut every line longer than the overlap, and
each strip's piece was kept: 20 lines 3460 px long came back as 40 overlapping pieces ("... fox jumps over the" / "e
quick brown fox ...", BoW F1 0.93). There a box that reaches a strip's inner edge is joined with the boxes of the
next strip in its row that it overlaps (``lines_across_strips``): 20 lines (BoW F1 1.0). The dev pages at 3x their
size, the wider ones (a signboard photo, a Chinese page) seen in strips across (in-process, ppocr): BoW F1 0.867 ->
0.874, page CER 0.083 -> 0.080, det F1 0.839 -> 0.840; strips down a long image are seen as before. Images the
strips would not show at least ``MIN_GAIN`` times larger, and pages and photos of usual shapes (less than
``LONG_SHAPE`` times as long as wide: A4 1.41, a phone's photo 1.33), are seen whole as before; a big photo whose
text is small is read closer instead (closer_look.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Seen in strips only when they show the text at least this much larger than the whole image shrunk (as closer_look's)
MIN_GAIN = 1.3
# and the image is at least this many times as long as wide.
LONG_SHAPE = 1.5
# Neighbouring strips overlap by this share of a strip's length.
OVERLAP = 0.15
# A box reaching this close (px) to a strip's edge inside the image was cut by it.
CUT = 3.0
# A cut box and a box of the neighbouring strip are one line where they overlap side by side and share at least this
# much of the lower one's height.
SAME_ROW = 0.5


@dataclass(frozen=True)
class Strips:
    """How an image is seen in strips: shrunk by ``scale`` first, then cut into ``spans`` (start, end) along its
    long side (in pixels of the shrunk image), each owning the lines whose centre lies in its ``owned`` part."""

    scale: float
    across: bool  # the long side runs across (x); otherwise down (y)
    spans: list[tuple[int, int]]
    owned: list[tuple[float, float]]


def strips_for(width: int, height: int, working_side: int) -> Strips | None:
    """The strips a ``width`` x ``height`` image is seen in by an engine that works on images no larger than
    ``working_side`` px, or None when it is seen whole."""
    long_side, short_side = max(width, height), min(width, height)
    if long_side < MIN_GAIN * working_side or long_side < LONG_SHAPE * short_side:
        return None
    scale = min(1.0, working_side / short_side)
    length = round(long_side * scale)
    overlap = round(OVERLAP * working_side)
    count = math.ceil((length - overlap) / (working_side - overlap))
    starts = [round(index * (length - working_side) / (count - 1)) for index in range(count)]
    spans = [(start, start + working_side) for start in starts]
    bounds = [0.0, *((spans[i][1] + spans[i + 1][0]) / 2 for i in range(count - 1)), float(length)]
    return Strips(scale, width > height, spans, list(zip(bounds[:-1], bounds[1:], strict=True)))


def scale_seen(width: int, height: int, working_side: int) -> float:
    """How far such an engine shrinks a ``width`` x ``height`` image to look at it (1.0: not at all)."""
    strips = strips_for(width, height, working_side)
    return strips.scale if strips is not None else min(1.0, working_side / max(width, height))


def lines_across_strips(seen: Sequence[Sequence[np.ndarray]], strips: Strips) -> list[list[int]]:
    """The lines the strips' boxes show (``seen[i]``: the boxes strip ``i`` found, quadrilaterals as 4 x 2 arrays on
    the image as the strips see it), as groups of indices into all the boxes in the order seen, one group a line: a
    box cut by a strip's edge joined with the boxes of the neighbouring strip in its row that it overlaps (the
    rest of its line, in part or whole) across a wide image, and any other box kept from the strip that owns its
    centre."""
    along = 0 if strips.across else 1
    boxes = [(strip, box) for strip, found in enumerate(seen) for box in found]
    # strips down a long image cut a line only across its height, which their overlap covers: none is joined there
    cut = [strips.across and _cut(box, strip, strips, along) for strip, box in boxes]
    group = list(range(len(boxes)))

    def root(index: int) -> int:
        while group[index] != index:
            group[index] = group[group[index]]
            index = group[index]
        return index

    firsts = list(itertools.accumulate((len(found) for found in seen), initial=0))
    for strip in range(len(seen) - 1):
        for index in range(firsts[strip], firsts[strip + 1]):
            for other in range(firsts[strip + 1], firsts[strip + 2]):
                if (cut[index] or cut[other]) and _one_line(boxes[index][1], boxes[other][1]):
                    group[root(index)] = root(other)
    lines: dict[int, list[int]] = {}
    for index in range(len(boxes)):
        lines.setdefault(root(index), []).append(index)
    return [line for line in lines.values() if len(line) > 1 or cut[line[0]] or _owned(*boxes[line[0]], strips, along)]


def _cut(box: np.ndarray, strip: int, strips: Strips, along: int) -> bool:
    """Whether ``box``, found in ``strip``, reaches one of its edges that lie inside the image."""
    start, end = strips.spans[strip]
    return bool((strip > 0 and box[:, along].min() <= start + CUT)
                or (strip < len(strips.spans) - 1 and box[:, along].max() >= end - CUT))


def _owned(strip: int, box: np.ndarray, strips: Strips, along: int) -> bool:
    """Whether ``box``'s centre lies in the part of the image ``strip`` owns."""
    owned_from, owned_to = strips.owned[strip]
    return owned_from <= float(box[:, along].mean()) < owned_to


def _one_line(box: np.ndarray, other: np.ndarray) -> bool:
    """Whether two boxes show one line of text: overlapping side by side (in x), and in one row."""
    (left, top), (right, bottom) = box.min(axis=0), box.max(axis=0)
    (other_left, other_top), (other_right, other_bottom) = other.min(axis=0), other.max(axis=0)
    if min(right, other_right) <= max(left, other_left):
        return False
    shared = min(bottom, other_bottom) - max(top, other_top)
    return bool(shared >= SAME_ROW * min(bottom - top, other_bottom - other_top))
