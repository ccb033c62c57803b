"""Print showing through from a sheet's back: faint lines that read as other text mirrored, left out of a page.

A sheet printed on both sides, scanned or photographed against the light, shows its back's print faintly and
mirrored. Every engine found those as lines and read them as gibberish (``8-ITAA 1edmua 9oiovnI`` for
``Invoice number 4471-B``): 20 to 30 lines a page on rendered pages whose back showed through at 15-35 % of its
print's darkness. Such a line is faint beside the page's own print, and reads as other text, far surer, mirrored
left to right (the sheet turned over its long edge) or top to bottom (over its short edge); the page's own faint
print (a grey footer, a faded stamp) reads worse mirrored and stays.

Dev pages with the next page of their source showing through a quarter as dark (``benchmarks/dev_set.py
--show-through 0.25``): det F1 ``ppocr`` 0.745 -> 0.785, BoW F1 0.791 -> 0.823, recall the same; every dev page as
scanned, in a shadow, in dim light, out of focus or photographed reads its own lines as before. Left: lines of
digits alone (mirrored digits read much alike), and the back's print where it crosses the front's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from ocrserver.errors import InvalidRegion
from ocrserver.geometry import pixels_around, rectify, shifted
from ocrserver.imaging import grey_array
from ocrserver.result import Block, Line, Polygon, bbox_of, length_weighted_confidence

# A line whose print stands out from its paper (``_contrast``) by under this share of the page's most
# contrasted line's is faint.
FAINT_SHARE = 0.5
# A faint line is the back's when it reads mirrored at least MIRRORED_SURE, and unsure of at most UNSURE_SHARE of
# what it was unsure of as it stands (1 - confidence), or as it stands read as a few scattered letters
# (SPARSE_LENGTH) where mirrored it reads as a line's worth. A line read surer than SURE, and not as a few scattered
# letters, is not read again.
MIRRORED_SURE = 0.8
UNSURE_SHARE = 0.5
SURE = 0.98
# A mirrored reading of fewer letters than this says nothing: digits read much alike mirrored ("50.00" as "00.02").
MIN_LETTERS = 3
# Once this many faint lines read as nothing else mirrored, and none did, the page shows nothing through: a faded
# page under one dark stamp is not read over again line by line.
MOST_LOOKED_AT_IN_VAIN = 8
# A reading with fewer letters than one for every this many heights of its line's length is a few scattered ones
# (a Chinese line holds about one letter a height, a Latin one two).
SPARSE_LENGTH = 2

ReadCrop = Callable[[Image.Image], list[Line]]
Mirror = Callable[[np.ndarray], np.ndarray]


def without_show_through(blocks: list[Block], page: Image.Image, read_crop: ReadCrop) -> list[Block]:
    """``blocks`` (a page's reading) without the lines showing through from the sheet's back; a block that loses
    lines is drawn around the lines left, and one that loses all of them is left out. ``read_crop`` reads a
    rectified crop of one line."""
    lines = [line for block in blocks for line in block.lines]
    if len(lines) < 2:
        return blocks
    surroundings = [_surroundings(page, line.polygon) for line in lines]
    contrasts = [_contrast(pixels, polygon) for pixels, polygon in surroundings]
    faint_below = FAINT_SHARE * max(contrasts)
    worth_reading_again = [
        index for index, (line, contrast) in enumerate(zip(lines, contrasts, strict=True))
        if contrast < faint_below and (line.confidence <= SURE or _sparse(_letters(line.text), line.polygon))
    ]
    mirrors: list[Mirror] = [_left_to_right, _top_to_bottom]
    mirrored: list[Line] = []
    for looked_at, index in enumerate(sorted(worth_reading_again, key=contrasts.__getitem__)):  # the faintest first
        if looked_at >= MOST_LOOKED_AT_IN_VAIN and not mirrored:
            break
        mirror = _mirror_reading_as_other_text(lines[index], *surroundings[index], mirrors, read_crop)
        if mirror is not None:
            mirrored.append(lines[index])
            # the sheet's other lines show through mirrored the same way: that mirror first
            mirrors = [mirror, *(other for other in mirrors if other is not mirror)]
    if not mirrored:
        return blocks
    kept_blocks = []
    for block in blocks:
        kept = [line for line in block.lines if all(line is not other for other in mirrored)]
        if len(kept) == len(block.lines):
            kept_blocks.append(block)
        elif kept:
            kept_blocks.append(Block(lines=kept))
    return kept_blocks


def _surroundings(page: Image.Image, polygon: Polygon) -> tuple[np.ndarray, Polygon]:
    """The RGB pixels of a line's box with room around it for ``rectify``'s padding, and the line's polygon on
    them: a whole photo is never converted for a few lines."""
    x0, y0, x1, y1 = bbox_of(polygon)
    left, top, right, bottom = pixels_around(polygon, 0.5 * min(x1 - x0, y1 - y0) + 3, *page.size)
    pixels = np.asarray(page.crop((left, top, max(right, left + 1), max(bottom, top + 1))).convert("RGB"))
    return pixels, shifted(polygon, -left, -top)


def _contrast(pixels: np.ndarray, polygon: Polygon) -> float:
    """How far a line's print stands from its paper, as a share of the lighter of the two: from its box's median
    grey to its darkest fiftieth (or, for light print on a dark ground, its lightest). A share, not a difference of
    grey levels, so that print in a shadow or in the dim corner of a photo is not faint."""
    x0, y0, x1, y1 = bbox_of(polygon)
    box = pixels[max(0, int(y0)):math.ceil(y1), max(0, int(x0)):math.ceil(x1)]
    if box.size == 0:  # a line less than a pixel thin
        return 0.0
    darkest, middle, lightest = np.percentile(grey_array(box), (2, 50, 98))
    return float(max((middle - darkest) / max(middle, 1), (lightest - middle) / max(lightest, 1)))


def _mirror_reading_as_other_text(
    line: Line, pixels: np.ndarray, polygon: Polygon, mirrors: list[Mirror], read_crop: ReadCrop
) -> Mirror | None:
    """The first of ``mirrors`` through which ``line`` (``polygon`` on ``pixels``) reads as other text, far surer than
    as it stands or, where as it stands it read as a few letters scattered over its length (PP-OCR reads the back's
    print turned upside down as ``     λ  ``, 0.95 sure), as a line's worth. Print that reads the same mirrored
    ("0.00" as "00.0", "BOX" upside down), or as digits alone, says nothing of which side it is on."""
    as_read = _letters(line.text)
    sparse = _sparse(as_read, polygon)
    try:
        crop = rectify(pixels, polygon).image
    except InvalidRegion:  # a line less than a pixel thin
        return None
    for mirror in mirrors:
        reading = read_crop(Image.fromarray(mirror(crop)))
        mirrored = _letters(" ".join(mirrored_line.text for mirrored_line in reading))
        sureness = length_weighted_confidence(reading)
        if (sureness >= MIRRORED_SURE and sum(map(str.isalpha, mirrored)) >= MIN_LETTERS
                and mirrored not in (as_read, as_read[::-1])
                and (1 - sureness <= UNSURE_SHARE * (1 - line.confidence) or (sparse and not _sparse(mirrored, polygon)))):
            return mirror
    return None


def _left_to_right(crop: np.ndarray) -> np.ndarray:
    """The back of a sheet turned over its long edge."""
    return np.ascontiguousarray(crop[:, ::-1])


def _top_to_bottom(crop: np.ndarray) -> np.ndarray:
    """The back of a sheet turned over its short edge."""
    return np.ascontiguousarray(crop[::-1])


def _sparse(letters: str, polygon: Polygon) -> bool:
    """Whether ``letters`` are too few to be what a line (``polygon``) holds (``SPARSE_LENGTH``)."""
    if len(polygon) == 4:
        length, height = math.dist(polygon[0], polygon[1]), math.dist(polygon[0], polygon[3])
    else:
        x0, y0, x1, y1 = bbox_of(polygon)
        length, height = x1 - x0, y1 - y0
    return height > 0 and len(letters) * SPARSE_LENGTH < length / height


def _letters(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())
