"""A page photographed at an angle, flattened before its lines are looked for.

A receipt or form photographed on a table from in front of its bottom edge comes out narrower at the top: its top
lines' print smaller and the gaps between their fields narrower, its letters slanting in towards the middle. PP-OCR's
detector then joins a form's label and value into one line (``Time`` and ``1:45 P.M.``), misses lone digits, and
Tesseract misreads the slanted letters. Here the page's outline is looked for (the largest bright region, paper on a
darker table, seen whole and four-cornered, with nothing as bright as paper outside it), and where its opposite sides
differ in length by ``MIN_KEYSTONE`` or more the photo is warped so that the page is a rectangle again (with a margin
of ``EDGE`` of it around), and read so; the lines' polygons are put back onto the photo. What lies outside the outline
is not read, so an outline with print or paper beyond it (a heading in white on a dark band across the page's top
bounds the paper below it) is not taken for the page's.

Dev pages photographed at an angle through the server (``benchmarks/dev_set.py --task page --tilt 0.2``, the top edge
0.2 of the width shorter at each end), det F1 / BoW F1: ppocr 0.815 / 0.871 -> 0.844 / 0.878, tesseract 0.794 / 0.649
-> 0.833 / 0.730 (docs/benchmarks.md). A page scanned, or lying square in the photo, or askew but not tilted, has
opposite sides of one length and is read as sent (the dev pages so, in dim light or in a large photo: every figure
the same); so is one whose outline cannot be told (a white page on a white table, a page cut by the photo's edge,
where a side of the frame is no side of the page). Looking costs about 2 ms a page.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ocrserver.geometry import perspective_mapped
from ocrserver.result import Polygon

MEASURED_SIDE = 800  # the outline is looked for on the photo shrunk to about this many px on its longer side
MIN_PAGE_SHARE = 0.2  # the page covers at least this share of the photo
MIN_KEYSTONE = 1.05  # one of two opposite sides at least this many times the other's length: photographed at an angle
EDGE = 0.03  # the share of the page's width and height kept around it in the flattened image
BORDER = 0.01  # an outline corner this close to the photo's edge (a share of its side): the page is cut by the frame
# Outside the page's outline at most this share of its area may be as bright as paper: more is print or paper the
# outline leaves out (a heading in white on a dark band across the page's top, a scanner's lid, other papers on the
# desk), which the flattened page would lose.
MAX_PAPER_OUTSIDE = 0.001


@dataclass(frozen=True)
class Flattened:
    image: Image.Image  # the page flattened, with ``EDGE`` of it around
    to_photo: np.ndarray  # the 3 x 3 perspective map from ``image`` back to the photo

    def on_photo(self, polygon: Polygon) -> Polygon:
        """A polygon found on the flattened page, put on the photo."""
        return perspective_mapped(polygon, self.to_photo)


def flattened(image: Image.Image) -> Flattened | None:
    """``image`` warped so that the page photographed at an angle in it is a rectangle; None where no page outline
    is seen whole, or where its opposite sides are of one length (scanned, or lying square)."""
    corners = page_corners(image)
    if corners is None:
        return None
    top, right, bottom, left = (float(np.linalg.norm(corners[(index + 1) % 4] - corners[index])) for index in range(4))
    if max(top, bottom) < MIN_KEYSTONE * min(top, bottom) and max(left, right) < MIN_KEYSTONE * min(left, right):
        return None
    width, height = max(top, bottom), max(left, right)
    margin_x, margin_y = EDGE * width, EDGE * height
    flat = np.array([[margin_x, margin_y], [margin_x + width, margin_y], [margin_x + width, margin_y + height],
                     [margin_x, margin_y + height]], dtype=np.float32)
    to_flat = cv2.getPerspectiveTransform(corners, flat)
    size = (round(width + 2 * margin_x), round(height + 2 * margin_y))
    pixels = cv2.warpPerspective(np.asarray(image.convert("RGB")), to_flat, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    return Flattened(Image.fromarray(pixels), np.linalg.inv(np.asarray(to_flat, dtype=np.float64)))


def page_corners(image: Image.Image) -> np.ndarray | None:
    """The four corners of the page in ``image`` (top-left, top-right, bottom-right, bottom-left, float32 px): the
    outline of its largest bright region (Otsu's threshold), where that covers ``MIN_PAGE_SHARE`` of it, its convex
    hull comes down to four corners, none lies on the image's edge, and little else is as bright
    (``MAX_PAPER_OUTSIDE``). None otherwise."""
    grey = np.asarray(image.convert("L"))
    scale = min(1.0, MEASURED_SIDE / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, (round(grey.shape[1] * scale), round(grey.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    _, bright = cv2.threshold(cv2.GaussianBlur(grey, (5, 5), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))  # print inside the page is paper
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    if cv2.contourArea(outline) < MIN_PAGE_SHARE * grey.size:
        return None
    hull = cv2.convexHull(outline)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    rows, columns = grey.shape
    size = np.array([columns - 1, rows - 1], dtype=np.float32)
    if len(quad) != 4 or np.any((quad < BORDER * size) | (quad > (1 - BORDER) * size)):
        return None
    sums, differences = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    ordered = quad[[np.argmin(sums), np.argmin(differences), np.argmax(sums), np.argmax(differences)]]
    if len({tuple(corner) for corner in ordered}) != 4 or _paper_outside(outline, paper) > MAX_PAPER_OUTSIDE:
        return None
    return (ordered / scale).astype(np.float32)


def _paper_outside(outline: np.ndarray, paper: np.ndarray) -> float:
    """How much of the photo is as bright as paper (``paper``: 255 there) outside the page's ``outline`` (a contour),
    as a share of the page's area."""
    page = np.zeros_like(paper)
    cv2.drawContours(page, [outline], -1, 255, thickness=cv2.FILLED)
    return np.count_nonzero((paper > 0) & (page == 0)) / max(1.0, float(np.count_nonzero(page)))
