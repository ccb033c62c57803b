"""A page much longer than wide (a long receipt, a web page or a chat captured whole): seen in strips.

rapidocr shrinks every image to 2000 px on its longer side before it looks for text, and reads the lines it finds
from the shrunk image. A receipt 900 x 4300 px, or a web page captured as one 1280 x 8000 px image, then has its
text shrunk to a half or a quarter: 16 px print came out 4 px high and the web page read as nothing (bag-of-words
F1 0.035; Tesseract, which reads at full resolution, 0.999). Such an image is seen instead in overlapping strips
across its long side, each as large as the engine works at, the whole image first shrunk only as far as its short
side needs. Each strip is searched for text on its own; a line is kept from the strip that owns its centre (each
strip owns up to the middle of its overlaps), so a line cut by one strip's edge is found whole in its neighbour's,
as long as it is less high than the overlap (``OVERLAP`` of a strip's length: 300 px as seen). Images the strips
would not show at least ``MIN_GAIN`` times larger, and pages and photos of usual shapes (less than ``LONG_SHAPE``
times as long as wide: A4 1.41, a phone's photo 1.33), are seen whole as before; a big photo whose text is small is
read closer instead (closer_look.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Seen in strips only when they show the text at least this much larger than the whole image shrunk (as closer_look's)
MIN_GAIN = 1.3
# and the image is at least this many times as long as wide.
LONG_SHAPE = 1.5
# Neighbouring strips overlap by this share of a strip's length.
OVERLAP = 0.15


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
