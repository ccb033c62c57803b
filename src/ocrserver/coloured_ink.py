"""Coloured ink lying over a page's black print taken out before its text is looked for: a stamp across the print
(``PAID``, ``RECEIVED``, a company's red seal), a highlighter's stroke along a line, a tinted band behind a table's
heading.

Every engine reads such print worse: PP-OCR's detector, which Tesseract's lines come from too, splits or loses lines
where a stamp's strokes cross them (``Payment within`` / ``30 days``), and a highlighted line reads less surely. The
ink is told by its colour: a *coloured* pixel's brightest and dimmest channels differ by ``CHROMA`` or more, a pixel
of *print* is dark and about as bright in each channel. Every patch of coloured pixels that touches print is painted
in the grey of its brightest channel: as a highlighter or a stamp's ink takes away from the light only some of its
colours, that grey is the paper's or the print's under it (a yellow stroke over white paper: white; over black print:
black). Coloured ink that touches no print is left as it is, so red or blue text (a heading, a link), a coloured logo
and white text on a coloured band read as before; so is a patch that reaches the image's edge, a photo's desk or a
sheet of coloured paper.

It runs as a page is loaded (``OcrService.load_pages``), on a whole page or on a crop sent alone, for every engine.
A page with no coloured ink costs 0.7 ms (p50 of the dev pages); a stamped or highlighted one 10-12 ms. The part of a
stamp that lies on blank paper stays, and may be read as text of its own.

Dev pages through the server, det F1 / BoW F1 before -> after: a red stamp across their print (``benchmarks/dev_set.py
--stamp``) ``ppocr`` 0.773 / 0.825 -> 0.824 / 0.867 (as scanned 0.852 / 0.880), ``ppocr-tiny`` 0.753 / 0.781 -> 0.825
/ 0.828, ``tesseract`` 0.747 / 0.670 -> 0.814 / 0.738; every other line highlighted pink (``--highlight pink``) 0.806 /
0.861 -> 0.834 / 0.878, 0.809 / 0.825 -> 0.839 / 0.838, 0.801 / 0.719 -> 0.829 / 0.754.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from ocrserver.imaging import grey_percentiles

# A pixel whose brightest and dimmest channels differ by this much or more is coloured: a highlighter, a stamp's ink
# (pale pink 255/120/190: 135), and not the colour fringes of black print in a JPEG or a phone's photo (under 40).
CHROMA = 60
# A pixel of print is darker than this in its brightest channel, and its channels differ by less than NEUTRAL.
PRINT_DARKEST_CHANNEL = 110
NEUTRAL = 40
# A page with fewer coloured pixels than this is left without looking further.
FEWEST_COLOURED = 50
# A coloured patch touches print when this many of its pixels, and this share of them, lie beside print.
TOUCHING_PIXELS = 3
TOUCHING_SHARE = 0.002
# A patch's grey is lifted by at most this much: a light ink's (a stamp's red, 217 where the paper is 255) to the
# paper's, while a dark one (a blue pen's, 120) stays a mark.
MOST_LIFT = 1.5


def without_colour_over_print(image: Image.Image) -> Image.Image:
    """``image`` with each patch of coloured ink that touches its black print painted in the grey of its brightest
    channel, lifted until the patch is as light as the paper; ``image`` itself where it is not RGB or holds no such
    patch."""
    if image.mode != "RGB":
        return image
    pixels = np.asarray(image)
    red, green, blue = cv2.split(pixels)
    brightest = cv2.max(cv2.max(red, green), blue)
    chroma = cv2.subtract(brightest, cv2.min(cv2.min(red, green), blue))
    coloured = cv2.threshold(chroma, CHROMA - 1, 1, cv2.THRESH_BINARY)[1]
    if cv2.countNonZero(coloured) < FEWEST_COLOURED:
        return image
    count, patches = cv2.connectedComponents(coloured, connectivity=8)
    over = _over_print(patches, count, (brightest < PRINT_DARKEST_CHANNEL) & (chroma < NEUTRAL))
    if not over.any():
        return image
    # a stamp's red ink takes some of the red light too (210/40/40 over white paper): its brightest channel is a grey
    # a little darker than the paper, which Tesseract reads as marks where it crosses a letter
    painted_patches = over[patches]
    paper = grey_percentiles(cv2.calcHist([brightest], [0], None, [256], [0, 256]).ravel(), [50])[0]
    lift = np.clip(paper / np.maximum(_ink_lightness(patches, count, brightest, painted_patches), 1), 1, MOST_LIFT)
    grey = brightest.astype(np.float32)
    grey[painted_patches] *= lift[patches[painted_patches]]
    # and the print's edges that the ink tinted less than CHROMA: a yellow stroke over grey 70 leaves 70/66/22
    painted = painted_patches | (cv2.dilate(painted_patches.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
                                 & (chroma >= NEUTRAL))
    cleaned = pixels.copy()
    cleaned[painted] = grey[painted].clip(0, 255).astype(np.uint8)[:, None]
    return Image.fromarray(cleaned)


def _over_print(patches: np.ndarray, count: int, print_: np.ndarray) -> np.ndarray:
    """Which of the ``count`` labelled ``patches`` of coloured pixels (0: none) touch ``print_`` (bool) and not the
    image's edge."""
    beside_print = cv2.dilate(print_.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (patches > 0)
    touching = np.bincount(patches[beside_print], minlength=count)
    sizes = np.bincount(patches.ravel(), minlength=count)
    over = (touching >= TOUCHING_PIXELS) & (touching >= TOUCHING_SHARE * sizes)
    over[0] = False  # the pixels not coloured
    over[np.concatenate([patches[0], patches[-1], patches[:, 0], patches[:, -1]])] = False
    return over


def _ink_lightness(patches: np.ndarray, count: int, brightest: np.ndarray, painted: np.ndarray) -> np.ndarray:
    """How light each of the ``count`` labelled ``patches`` to be ``painted`` (a mask of their pixels) is where its ink
    lies on paper alone: the mean of its ``brightest`` channel over its pixels lighter than its mean (not the print's
    edges that it tints); 0 for the patches not painted."""
    def means(where: np.ndarray) -> np.ndarray:
        sizes = np.bincount(patches[where], minlength=count)
        return np.bincount(patches[where], weights=brightest[where], minlength=count) / np.maximum(sizes, 1)

    return means(painted & (brightest >= means(painted)[patches]))
