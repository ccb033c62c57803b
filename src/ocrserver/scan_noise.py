"""A scan's noise taken out before its text is looked for: specks strewn over the paper wiped off, print broken into
dots run together.

Two kinds of scan read far worse than the page they show:
- **Specks** (salt and pepper) strewn over the paper, as a fax line, a dusty scanner glass or a black-and-white scan
  of grey paper leaves them. PP-OCR's detector finds lines of specks, and letters with specks beside them read as
  other letters (``within.30``).
- **Print broken into dots**, as a scanner set to black and white dithers grey print, or a halftone prints it.

A mark is a pixel that stands out from the paper; a speck, a mark with at most one other in the 5 x 5 px around it.
A page is speckled when it holds many specks strewn evenly over it, as noise is, not where its print is (the faint
dots of a dot-matrix receipt, a faxed form's dirt); its marks alone (clumps of one pixel) and its clumps of up to six
clear of the print are then painted over with the median of the 5 x 5 px around them. Points and the dots on an i lie
close to their letters or are solid, and stay. A page is dotted when a tenth of its marks touch no other mark side by
side, amid many others; it is blurred until its dots run together into grey strokes. Both are judged on a whole page
as it is loaded (``OcrService.load_pages``), and a region drawn on a page is read on the page cleaned: a box cut close
holds too few specks to tell noise by. The Label Studio backend keeps a task's page cleaned between its interactive
calls. Scans without such noise are read as they are: every dev page, under a shadow, in dim light, out of focus,
photographed, at half its size, and each of its labelled regions sent on its own; judging a page costs 4 ms (p50 of
the dev pages).

Dev pages through the server, det F1 / BoW F1 before -> after: speckled 2 % (``benchmarks/dev_set.py --speckle
0.02``) ``ppocr`` 0.542 / 0.607 -> 0.846 / 0.858 (as scanned 0.852 / 0.880), ``ppocr-tiny`` 0.707 / 0.680 -> 0.845 /
0.809, ``tesseract`` 0.696 / 0.483 -> 0.837 / 0.710; their print half as dark, dithered (``--dither 0.5``) 0.477 /
0.429 -> 0.745 / 0.734, 0.526 / 0.333 -> 0.770 / 0.633, 0.426 / 0.180 -> 0.778 / 0.504. Their labelled regions drawn
on them speckled (``--task box --on-page --speckle 0.02``), box CER ``tesseract`` 0.225 -> 0.138, ``ppocr-tiny``
0.102 -> 0.068.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from ocrserver.imaging import grey_percentiles

# An image of fewer pixels than this is not judged (left as it is): a line's box cut close holds too few specks and
# too little print to tell noise by (54 of the 2714 dev regions, each sent on its own, looked speckled or dotted).
MIN_PIXELS = 200_000
# A mark is a pixel further from the paper's grey (the image's median) than this share of the way to the print's
# darkest (its ``PRINT_PERCENTILE``th percentile, on the side away from the paper).
MARK_SHARE = 0.5
PRINT_PERCENTILE = 0.05
# An image whose print stands fewer grey levels from its paper than this holds no marks to speak of.
MIN_CONTRAST = 32
# A mark with at most this many marks (itself included) in the WINDOW x WINDOW px around it is a speck.
SPECK_PIXELS = 2
WINDOW = 5
# On a speckled page, marks alone (clumps of one pixel: side by side or corner to corner with no other mark), and
# clumps of up to DIRT_PIXELS at least CLEAR px from any larger clump and not solid points, are painted over. Wiping
# clumps of two anywhere took the points off ``128.40`` in print 14 px high; solid clumps of 4-6 px as far from the
# print, its points and colons in print 20-28 px high.
DIRT_PIXELS = 6
CLEAR = 4
# a clump whose box is at least this full of marks is solid (``_solid``)
SOLID = 0.75
# An image is speckled when it holds more specks than this per million pixels, strewn over it (``_speckled``) more
# than SPREAD. Dev scans hold up to 1575 specks a megapixel, spread at most 0.59 (dirt on a faxed form, the faint
# dots of a dot-matrix receipt: where the print is); a grainy receipt under a shadow or at half its size 1580-2800,
# spread 0.65-0.68, and read worse wiped (BoW F1 0.91 -> 0.82). With 0.1 % of their pixels set black and 0.1 %
# white, 1500-2600, spread 0.69-0.95; with 0.25 % each, all over 1750 and 0.82.
SPECKLED_PER_MEGAPIXEL = 1500
SPREAD = 0.75
# the side, in pixels, of the squares of an image counted for the spread
SPREAD_CELL = 16
# Print is dotted when more than this share of its marks are dots: marks that touch no other mark above, below or
# beside them, with at least DOT_COMPANY marks (themselves included) in the COMPANY_WINDOW around them. Dev scans 0.06
# at most, and 0.09 with 5 % of their pixels set black and 5 % white (specks are not as close together); dithered at
# half their print's darkness 0.1-0.86 but for three faint receipts.
DOTTED = 0.1
DOT_COMPANY = 10
COMPANY_WINDOW = 9
# the blur (a Gaussian's sigma, in pixels) that runs dotted print together
DOT_BLUR = 1.5

_SIDES = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.uint8)


def without_noise(image: Image.Image) -> Image.Image:
    """``image`` (RGB or grey) with its print's dots run together when it is dotted, else with its specks wiped off
    when it is speckled; otherwise ``image`` itself, and any image under ``MIN_PIXELS``."""
    if image.width * image.height < MIN_PIXELS:
        return image
    marks = _marks(np.asarray(image.convert("L")))
    if marks is None:
        return image
    pixels = np.asarray(image)
    if _dotted(marks) > DOTTED:
        return Image.fromarray(cv2.GaussianBlur(pixels, (0, 0), DOT_BLUR))
    if _speckled(_specks(marks)):
        wiped, small = pixels.copy(), _small(marks)
        wiped[small] = cv2.medianBlur(pixels, WINDOW)[small]
        return Image.fromarray(wiped)
    return image


def _marks(grey: np.ndarray) -> np.ndarray | None:
    """Which pixels of ``grey`` stand out from its paper (1) and which do not (0); None when its print stands too
    little from its paper."""
    paper, lightest_print, darkest_print = grey_percentiles(
        cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel(), [50, 100 - PRINT_PERCENTILE, PRINT_PERCENTILE])
    far = darkest_print if paper - darkest_print >= lightest_print - paper else lightest_print  # print dark or light
    contrast = abs(far - paper)
    if contrast < MIN_CONTRAST:
        return None
    away = cv2.absdiff(grey, np.full_like(grey, paper))
    return cv2.threshold(away, MARK_SHARE * contrast, 1, cv2.THRESH_BINARY)[1]


def _dotted(marks: np.ndarray) -> float:
    """The share of ``marks`` that are dots: touching no mark above, below or beside them, with at least
    DOT_COMPANY marks in the COMPANY_WINDOW around them."""
    alone = cv2.filter2D(marks, -1, _SIDES, borderType=cv2.BORDER_CONSTANT) == 0
    company = cv2.boxFilter(marks, cv2.CV_16U, (COMPANY_WINDOW, COMPANY_WINDOW), normalize=False,
                            borderType=cv2.BORDER_CONSTANT) >= DOT_COMPANY
    return cv2.countNonZero(marks & alone & company) / max(1, cv2.countNonZero(marks))


def _specks(marks: np.ndarray) -> np.ndarray:
    """Which ``marks`` are specks: at most SPECK_PIXELS marks in the WINDOW around them."""
    around = cv2.boxFilter(marks, -1, (WINDOW, WINDOW), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return (marks == 1) & (around <= SPECK_PIXELS)


def _small(marks: np.ndarray) -> np.ndarray:
    """Which ``marks`` are specks and dirt: alone (a clump of one: no mark side by side or corner to corner with it),
    or in clumps of at most DIRT_PIXELS that are neither near the print (none of their marks within CLEAR px of a
    larger clump: the print's dots and points keep close to it) nor a solid point."""
    count, clumps, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    areas[0] = 0  # the paper: a clump of no marks
    small = (0 < areas) & (areas <= DIRT_PIXELS)
    print_marks = (areas > DIRT_PIXELS)[clumps].astype(np.uint8)
    near_print = cv2.dilate(print_marks, np.ones((2 * CLEAR + 1, 2 * CLEAR + 1), np.uint8)) == 1
    near = np.bincount(clumps[near_print & small[clumps]], minlength=count) > 0
    return (areas == 1)[clumps] | (small & ~near & ~_solid(stats))[clumps]


def _solid(stats: np.ndarray) -> np.ndarray:
    """Which clumps (``stats`` from ``cv2.connectedComponentsWithStats``) are solid points: at least 2 px each way,
    their box at least SOLID full. A point or a colon's dot in print 20-28 px high is 4-6 px, as far as 6 px from its
    letters. Specks strewn as noise seldom clump so: 3 of the 351 clumps of 2-6 specks a megapixel with 2 % of its
    pixels speckled, 31 of 2107 with 5 %."""
    width, height = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    return (width >= 2) & (height >= 2) & (stats[:, cv2.CC_STAT_AREA] >= SOLID * width * height)


def _speckled(specks: np.ndarray) -> bool:
    """Whether ``specks`` are many (SPECKLED_PER_MEGAPIXEL) and strewn over their image as noise is:
    they lie in more of its SPREAD_CELL squares than SPREAD times as many as they would strewn evenly."""
    count = int(np.count_nonzero(specks))
    if count * 1e6 / specks.size <= SPECKLED_PER_MEGAPIXEL:
        return False
    height, width = specks.shape
    rows, columns = -(-height // SPREAD_CELL), -(-width // SPREAD_CELL)
    padded = np.zeros((rows * SPREAD_CELL, columns * SPREAD_CELL), dtype=bool)
    padded[:height, :width] = specks
    holding = int(padded.reshape(rows, SPREAD_CELL, columns, SPREAD_CELL).any(axis=(1, 3)).sum())
    cells = rows * columns
    strewn_evenly = cells * -np.expm1(count * np.log1p(-1 / cells))  # cells * (1 - (1 - 1/cells) ** count)
    return holding > SPREAD * strewn_evenly
