"""A page scanned a few degrees askew, measured and turned level (and its boxes put back on the page as sent).

The angle is the one at which the page's ink, projected onto the vertical, gives the sharpest row profile: text
lines then fall into few rows, the gaps between them into none. Ink pixels are projected directly (no image is
rotated per candidate angle), a coarse search in half degrees then a fine one in tenths, on the page shrunk to
1000 px. Dev-set pages turned by 3 and -6 degrees: the angle found 0.1 degrees off the true one (median; at most
0.9; relative to the page's own skew as scanned: one receipt lies 2.6 degrees askew), about 12 ms a page. The
``deskew`` package (Hough transform, scikit-image) finds the same angles to the degree in 100-300 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ocrserver.geometry import affine_mapped
from ocrserver.imaging import shrunk
from ocrserver.result import Polygon

# the largest skew looked for either way: a scan or a photo of a page held roughly straight
MAX_SKEW = 15.0
# below this the page is read as sent: turned from 0.5 degrees on, forms scanned 0.7-0.9 degrees askew read worse
# with Tesseract (their 10 px letters resampled); from 1, level dev pages read a little better (BoW F1 0.711 -> 0.714)
MIN_SKEW = 1.0
_WORKING_SIDE = 1000  # px: the page is measured shrunk to this (angles do not change with scale)
# The sharpest profile must stand this far above the median one, or the page has no rows to find and is left as
# it is: words scattered at all angles 1.06-1.24 (one "-12.5 degrees"), dev pages turned by 1, 4 or 12 degrees
# 1.40 and more.
_ROWS_STAND_OUT = 1.3
_MAX_INK_POINTS = 40_000  # ink pixels projected per angle, picked evenly at random (a fixed seed)
# The coarse search takes the row profile of each half of the page apart (the fine one, across the whole width):
# across the whole width, turning a sparse page can lay one row's words on the next row's (a receipt printing each
# item's name above its prices, 25 px lower, was measured 2.5 degrees askew when level; turned by -6 degrees, 8.6),
# which sharpens the profile as much as true rows do.


def skew_angle(gray: np.ndarray) -> float:
    """How far (degrees, counter-clockwise as ``PIL.Image.rotate`` turns) a page with dark text on light (or
    light on dark) must be turned for its lines to lie level; 0.0 for a page with too little ink or no rows."""
    height, width = gray.shape[:2]
    gray = shrunk(gray, _WORKING_SIDE / max(height, width))
    # ink: darker than its surroundings (a 31 px square) by more than a speck of paper grain; light text on a
    # dark ground leaves a dark rim along its letters, in rows as well. (Otsu's one threshold for the whole page
    # measured 2 of 62 dev pages turned by 3 and -6 degrees 6 degrees off; this, none more than 0.9 off.)
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 25)
    ys, xs = np.nonzero(ink)
    if len(xs) < 100:
        return 0.0
    if len(xs) > _MAX_INK_POINTS:
        picked = np.random.default_rng(0).choice(len(xs), _MAX_INK_POINTS, replace=False)
        xs, ys = xs[picked], ys[picked]
    xs_f, ys_f = xs.astype(np.float32), ys.astype(np.float32)
    half = (xs * 2 // ink.shape[1]).astype(np.int64)  # which half of the page, left or right, each point lies in

    def sharpness(degrees: float, by_halves: bool = False) -> float:
        angle = math.radians(degrees)
        rows = ys_f * math.cos(angle) - xs_f * math.sin(angle)
        rows_from_top = (rows - rows.min()).astype(np.int64)
        if by_halves:  # each half's profile, end to end
            rows_from_top += half * (int(rows_from_top.max()) + 1)
        profile = np.bincount(rows_from_top)
        return float(np.square(profile, dtype=np.float64).sum())

    candidates = np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5)
    profiles = np.array([sharpness(float(degrees), by_halves=True) for degrees in candidates])
    if profiles.max() < _ROWS_STAND_OUT * np.median(profiles):
        return 0.0
    coarse = candidates[profiles.argmax()]
    fine = max(np.clip(np.arange(coarse - 0.5, coarse + 0.51, 0.1), -MAX_SKEW, MAX_SKEW), key=sharpness)
    return round(float(fine), 1)


@dataclass(frozen=True)
class TurnedPage:
    """A page turned by ``degrees`` (counter-clockwise, on a canvas grown to hold all of it), and how to put a
    polygon found on it back on the page as it was, or one on the page onto it."""

    image: Image.Image
    degrees: float
    _to_page: np.ndarray  # 2 x 3 affine map from the turned image to the page

    def to_page(self, polygon: Polygon) -> Polygon:
        return affine_mapped(polygon, self._to_page)

    def from_page(self, polygon: Polygon) -> Polygon:
        return affine_mapped(polygon, cv2.invertAffineTransform(self._to_page))


def turned(image: Image.Image, degrees: float) -> TurnedPage:
    """The RGB page turned counter-clockwise by any angle, the corners it uncovers filled with its edges' colour."""
    rgb = np.asarray(image)
    height, width = rgb.shape[:2]
    # cv2 turns counter-clockwise for a positive angle, as PIL does; the canvas grows to the turned page's bounds
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    new_width, new_height = math.ceil(width * cos + height * sin), math.ceil(width * sin + height * cos)
    turn[0, 2] += new_width / 2 - width / 2
    turn[1, 2] += new_height / 2 - height / 2
    moved = cv2.warpAffine(rgb, turn, (new_width, new_height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=_background(rgb))
    return TurnedPage(Image.fromarray(moved), degrees, cv2.invertAffineTransform(turn))


def straightened(image: Image.Image) -> TurnedPage | None:
    """The RGB page turned level, or None when it lies within ``MIN_SKEW`` of level (or its skew cannot be told)."""
    degrees = skew_angle(np.asarray(image.convert("L")))
    return turned(image, degrees) if abs(degrees) >= MIN_SKEW else None


def _background(rgb: np.ndarray) -> tuple[int, int, int]:
    """The colour of the page's edges (the median of its outermost rows and columns), to fill the corners with."""
    edges = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return tuple(int(v) for v in np.median(edges, axis=0))  # type: ignore[return-value]
