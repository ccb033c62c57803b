"""A page photographed at an angle, flattened before its lines are looked for.

A receipt or form photographed on a table from in front of its bottom edge comes out narrower at the top: its top
lines' print smaller and the gaps between their fields narrower, its letters slanting in towards the middle. PP-OCR's
detector then joins a form's label and value into one line (``Time`` and ``1:45 P.M.``), misses lone digits, and
Tesseract misreads the slanted letters. Here the page's outline is looked for (the largest bright region, paper on a
darker table, four-cornered, with nothing as bright as paper outside it), and where its opposite sides
differ in length by ``MIN_KEYSTONE`` or more the photo is warped so that the page is a rectangle again (with a margin
of ``EDGE`` of it around), and read so; the lines' polygons are put back onto the photo. What lies outside the outline
is not read, so an outline with print or paper beyond it (a heading in white on a dark band across the page's top
bounds the paper below it) is not taken for the page's.

Dev pages photographed at an angle through the server (``benchmarks/dev_set.py --task page --tilt 0.2``, the top edge
0.2 of the width shorter at each end), det F1 / BoW F1: ppocr 0.815 / 0.871 -> 0.844 / 0.878, tesseract 0.794 / 0.649
-> 0.833 / 0.730 (docs/benchmarks.md). A page scanned, or lying square in the photo, or askew but not tilted, has
opposite sides of one length and is read as sent (the dev pages so, in dim light or in a large photo: every figure
the same); so is one whose outline cannot be told (a white page on a white table).

A page photographed from closer runs off the photo: the frame cuts across it at its top, or its bottom, or both (a
long receipt), or at its left or right. The outline is then the page's own sides and the frame's; the frame's sides
join points of the page's sides, so the same four corners flatten it, its own sides upright. Since those sides are
all there is to go by, each must be a clear edge (``MIN_EDGE_CONTRAST``): in a photo whose light fades across it,
the table at its bright end can be as bright as the paper at its dim end, and the bright region then runs off the
frame along where the light fades (the dev pages in dim light, ``--dim``: 40 of 61 outlines so, none an edge). A
page cut at a corner, or on two neighbouring sides, is read as sent. Dev pages tilted 0.2 and cut 0.1 of their
height at the top and the bottom (``--tilt 0.2 --cut 0.1``), det F1 / BoW F1: ppocr 0.789 / 0.840 -> 0.817 / 0.845,
tesseract 0.778 / 0.620 -> 0.815 / 0.698 (the lines the frame cuts off missed alike). The flattened page ends where
the frame cuts it, and the boxes put back on the photo stay inside it.

In dim light that fades across the photo no bright region is the page: the table at the bright end is as bright as
the paper at the dim end, and Otsu's threshold runs along where the light fades. The page is then what edges wall
off from the frame (``_walled_off``): an edge a step in brightness by a share, the same at the dim end as at the bright
one. The same guards hold (four corners, nothing else walled off beside it: other papers, a cluttered scene), and the
page must be brighter than what lies just outside it along most of its outline (``MIN_WALL_CONTRAST``): a ruled box on
a form photographed from so close that its paper fills the photo is walled off too, and taken for the page it would
leave the print around it out. A page whose heading is printed in white on a dark band across its top is walled off
whole, the heading in it. Dev pages tilted 0.2 in dim light (``--tilt 0.2 --dim``): 0 of 61 flattened before, 59
now (the two signboard photos not); det F1 / BoW F1 ppocr 0.751 / 0.713 -> 0.783 / 0.713, tesseract 0.737 / 0.445 ->
0.770 / 0.487; the receipts gain most (ppocr det F1 0.845 -> 0.889), the forms' small print, blurred, is misread
either way.

A page in dim light that the frame cuts across is walled off by nothing (the frame's walls are open): its paper is a
piece of open ground that the frame reaches, as the table's pieces beside it are. Where nothing is walled off, the
largest such pieces are tried as the page (``_cut_off_by_the_frame``; the table at the bright end may be larger),
with what edges wall off beside them, so that another paper on the table is paper outside the outline, as it is for
a page walled off whole; its own sides must be edges in brightness (``MIN_WALL_CONTRAST``), as a bright page's must be
in grey levels. Dev pages tilted 0.2, cut 0.1 at the top and bottom, in dim light (``--tilt 0.2 --cut 0.1 --dim``): 0
of 61 flattened before, 44 now (print reaching a page's side at the cut can bend its outline off a rectangle's); det
F1 / BoW F1 ppocr 0.740 / 0.677 -> 0.765 / 0.675, tesseract 0.731 / 0.414 -> 0.759 / 0.444 (receipts, ppocr: det F1
0.839 -> 0.881). Looking costs about 2 ms a page, 6 ms where no bright region is the page (a scan).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

import cv2
import numpy as np
from PIL import Image

from ocrserver.geometry import perspective_mapped
from ocrserver.imaging import shrunk
from ocrserver.result import Polygon

MEASURED_SIDE = 800  # the outline is looked for on the photo shrunk to about this many px on its longer side
MIN_PAGE_SHARE = 0.2  # the page covers at least this share of the photo
MIN_KEYSTONE = 1.05  # one of two opposite sides at least this many times the other's length: photographed at an angle
EDGE = 0.03  # the share of the page's width and height kept around it in the flattened image
# An outline corner this close to the photo's edge (a share of its side, and at least BORDER_PX px of the photo as
# measured, as far as the blur it is looked for through reaches): the page is cut by the frame
BORDER = 0.01
BORDER_PX = 6
# Outside the page's outline at most this share of its area may be as bright as paper: more is print or paper the
# outline leaves out (a heading in white on a dark band across the page's top, a scanner's lid, other papers on the
# desk), which the flattened page would lose.
MAX_PAPER_OUTSIDE = 0.001
# A page cut by the frame has fewer sides to go by: each of its own must be an edge, the photo at least this many
# grey levels darker just outside it than just inside (``EDGE_PROBE`` px either side, on the photo as measured), not
# where the light fades across a table as bright as the paper (a dim photo's Otsu threshold: 0-1 grey levels; the
# dev pages' edges on the benchmark's table: 100-160).
MIN_EDGE_CONTRAST = 20
EDGE_PROBE = 4
# ... and it must lie about upright across the cut, its two sides there leaning apart, not both one way by more than
# this many degrees: the frame then cuts across it aslant, and the corners it makes are no rectangle's on the page
# (flattened so, its print would be sheared; a page askew, not cut, has its own four corners and is flattened true)
MAX_CUT_ASKEW = 3.0
# Where no bright region is the page (``_walled_off``): an edge is where the brightness changes by this much (its log's
# Sobel 3 x 3 gradient, on the photo as measured: the dev pages' edges in dim light 0.5-0.9), counted from grey
# ``DARK_FLOOR`` up, so that in a dim corner the grey scale's own steps and noise are no edges
WALL_STEP = 0.2
DARK_FLOOR = 32
# ... and the page walled off must be brighter than what lies just outside it (``EDGE_PROBE``), paper on a table, along
# most of its outline: the median of its sides' differences in that brightness at least this (the dev pages in dim
# light: 0.4-0.8). A ruled box on a page photographed from close up is walled off too, the paper the same either side
# of its rule (-0.1-0.1): taken for the page, it would leave out the print around it.
MIN_WALL_CONTRAST = 0.2
# ... and where the frame cuts across such a page, its paper is a piece of open ground of at least this share of the
# photo that the frame reaches (its ruled boxes walled off from it)
MIN_PIECE = 0.05


@dataclass(frozen=True)
class Flattened:
    image: Image.Image  # the page flattened, with ``EDGE`` of it around where the photo shows what lies around it
    to_photo: np.ndarray  # the 3 x 3 perspective map from ``image`` back to the photo
    photo_size: tuple[int, int]  # the photo's width and height

    def on_photo(self, polygon: Polygon) -> Polygon:
        """A polygon found on the flattened page, put on the photo (kept inside it: a line the frame cuts through
        is boxed up to the frame)."""
        width, height = self.photo_size
        return [(min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height)))
                for x, y in perspective_mapped(polygon, self.to_photo)]


def flattened(image: Image.Image) -> Flattened | None:
    """``image`` warped so that the page photographed at an angle in it is a rectangle; None where no page outline
    is seen (``page_corners``), or where its opposite sides are of one length (scanned, or lying square). Where the
    frame cuts across the page, the flattened page ends there: past the frame there is nothing to show (the photo's
    last row stretched on, the lines it cuts read as streaks of print beyond it)."""
    outline = _outline(image)
    if outline is None:
        return None
    corners, cut = outline
    top, right, bottom, left = (float(np.linalg.norm(end - start)) for start, end in _sides(corners))
    if max(top, bottom) < MIN_KEYSTONE * min(top, bottom) and max(left, right) < MIN_KEYSTONE * min(left, right):
        return None
    width, height = max(top, bottom), max(left, right)
    above, after, below, before = ((0.0 if side_cut else EDGE * length)
                                   for side_cut, length in zip(cut, (height, width, height, width), strict=True))
    flat = np.array([[before, above], [before + width, above], [before + width, above + height],
                     [before, above + height]], dtype=np.float32)
    to_flat = cv2.getPerspectiveTransform(corners, flat)
    size = (round(before + width + after), round(above + height + below))
    pixels = cv2.warpPerspective(np.asarray(image.convert("RGB")), to_flat, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    return Flattened(Image.fromarray(pixels), np.linalg.inv(np.asarray(to_flat, dtype=np.float64)), image.size)


def page_corners(image: Image.Image, min_share: float = MIN_PAGE_SHARE) -> np.ndarray | None:
    """The four corners of the page in ``image`` (top-left, top-right, bottom-right, bottom-left, float32 px): the
    outline of its largest bright region (Otsu's threshold), where that covers ``min_share`` of it, its convex
    hull comes down to four corners, none lies on the image's edge but where the frame cuts across the page
    (``_cut_sides``; the page's own sides then clear edges), and little else is as bright (``MAX_PAPER_OUTSIDE``);
    where no bright region is so, the largest region edges wall off from the frame, on the same terms
    (``_walled_off``). None otherwise."""
    outline = _outline(image, min_share)
    return None if outline is None else outline[0]


def _outline(image: Image.Image, min_share: float = MIN_PAGE_SHARE) -> tuple[np.ndarray, list[bool]] | None:
    """``page_corners``, and which of the sides they bound the frame cuts across the page (``_cut_sides``)."""
    grey = np.asarray(image.convert("L"))
    scale = min(1.0, MEASURED_SIDE / max(grey.shape))
    grey = shrunk(grey, scale)
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    outline = _outline_of(_bright(blurred), blurred, min_share) or _walled_off_outline(blurred, min_share)
    if outline is None:
        return None
    corners, cut = outline
    return (corners / scale).astype(np.float32), cut


def _walled_off_outline(grey: np.ndarray, min_share: float) -> tuple[np.ndarray, list[bool]] | None:
    """``_outline_of`` what edges wall off from the frame (``_walled_off``), or else of a page the frame cuts across
    (``_cut_off_by_the_frame``), where that is brighter than what lies just outside its own sides along most of them
    (``MIN_WALL_CONTRAST``)."""
    count, ground = _open_ground(grey)
    brightness = _brightness(grey)
    walled_off = _walled_off(count, ground)
    for paper in chain([walled_off], _cut_off_by_the_frame(count, ground, walled_off)):
        outline = _outline_of(paper, brightness, min_share, MIN_WALL_CONTRAST)
        if outline is not None and np.median(_edge_contrasts(
                outline[0], brightness, [not side for side in outline[1]])) >= MIN_WALL_CONTRAST:
            return outline
    return None


def _bright(grey: np.ndarray) -> np.ndarray:
    """Where ``grey`` is as bright as paper (255; Otsu's threshold), the print inside a page closed over."""
    _, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return _closed(bright)


def _closed(paper: np.ndarray) -> np.ndarray:
    """``paper`` (255) with the print inside it closed over."""
    return cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))


def _open_ground(grey: np.ndarray) -> tuple[int, np.ndarray]:
    """The photo's pieces of open ground that edges part (their count, and each pixel's piece; 0 on the edges): an
    edge is a step in brightness by a share (``WALL_STEP``), not by grey levels, so that it counts as much in the dim
    end of a photo whose light fades across it, looked for on the photo smoothed (a 5 px median: a dim photo's grain,
    stretched to the full grey scale, stepped as much from pixel to pixel)."""
    brightness = _brightness(cv2.medianBlur(grey, 5))
    step = cv2.magnitude(cv2.Sobel(brightness, cv2.CV_32F, 1, 0, ksize=3),
                         cv2.Sobel(brightness, cv2.CV_32F, 0, 1, ksize=3))
    count, ground = cv2.connectedComponents((step <= WALL_STEP).astype(np.uint8), connectivity=4)
    return count, ground


def _walled_off(count: int, ground: np.ndarray) -> np.ndarray:
    """What edges wall off from the photo's frame (255; ``ground`` as ``_open_ground`` parts it): a page in light
    that fades across the photo, whose table at its bright end is as bright as its paper at the dim end, but darker
    than the paper beside it all round."""
    walled_off = np.full(count, 255, dtype=np.uint8)  # by piece: 255, or 0 for the pieces the frame reaches
    walled_off[np.concatenate(_along_the_frame(ground))] = 0
    walled_off[0] = 255  # edges are walls
    return _opened(walled_off[ground])


def _cut_off_by_the_frame(count: int, ground: np.ndarray, walled_off: np.ndarray) -> Iterator[np.ndarray]:
    """The pieces of open ground the frame reaches (``ground`` as ``_open_ground`` parts it) that may be a page in dim
    light that the frame cuts across, its paper reaching the frame there: ``MIN_PIECE`` of the photo or more, the
    largest first (the table around it may be larger), on no two neighbouring sides of the frame (a page cut so, or
    at its corner, is not flattened: ``_cut_sides``). Each 255 there, with what edges wall off (``walled_off``: the
    print's ruled boxes inside it, and other papers beside it, which the flattened page would lose), the print inside
    it closed over."""
    on_side = [set(np.unique(side).tolist()) for side in _along_the_frame(ground)]
    sizes = np.bincount(ground.ravel(), minlength=count)
    for piece in sorted(set().union(*on_side) - {0}, key=lambda piece: -sizes[piece]):
        if sizes[piece] < MIN_PIECE * ground.size:
            return
        if any(piece in on_side[side] and piece in on_side[(side + 1) % 4] for side in range(4)):
            continue
        parts_count, parts, stats, _ = cv2.connectedComponentsWithStats(
            _opened(np.where(ground == piece, 255, 0).astype(np.uint8)))
        if parts_count > 1:  # else the piece is all thin strips
            paper = np.where(parts == 1 + np.argmax(stats[1:, cv2.CC_STAT_AREA]), 255, 0).astype(np.uint8)
            yield np.maximum(_closed(paper), walled_off)


def _along_the_frame(ground: np.ndarray) -> list[np.ndarray]:
    """The pieces of ``ground`` along each side of the photo's frame: top, right, bottom, left."""
    return [ground[0], ground[:, -1], ground[-1], ground[:, 0]]


def _opened(paper: np.ndarray) -> np.ndarray:
    """``paper`` without its thin strips (a dim corner's grey levels stepping one by one, stretched apart, walled off
    band by band)."""
    return cv2.morphologyEx(paper, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))


def _brightness(grey: np.ndarray) -> np.ndarray:
    """``grey``'s brightness as its log (float32), counted from ``DARK_FLOOR`` below black: a difference in it is
    a share of the brightness, the same in a dim corner as in a bright one."""
    return np.log(np.arange(256, dtype=np.float32) + DARK_FLOOR)[grey]


def _outline_of(paper: np.ndarray, grey: np.ndarray, min_share: float,
                min_edge: float = MIN_EDGE_CONTRAST) -> tuple[np.ndarray, list[bool]] | None:
    """``_outline`` in ``paper`` (255 where a page may lie; the photo ``grey`` as measured), covering ``min_share``
    of it, a page cut by the frame at least ``min_edge`` darker in ``grey`` just outside each of its own sides than
    just inside."""
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    if cv2.contourArea(outline) < min_share * grey.size:
        return None
    hull = cv2.convexHull(outline)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    if len(quad) != 4:
        return None
    sums, differences = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    ordered = quad[[np.argmin(sums), np.argmin(differences), np.argmax(sums), np.argmax(differences)]]
    if len({tuple(corner) for corner in ordered}) != 4:
        return None
    cut = _cut_sides(ordered, grey.shape)
    if cut is None or _paper_outside(hull, paper) > MAX_PAPER_OUTSIDE:
        return None
    if any(cut) and (_askew_across_the_cut(ordered, cut) > MAX_CUT_ASKEW
                     or min(_edge_contrasts(ordered, grey, [not side for side in cut])) < min_edge):
        return None
    return ordered, cut


def _sides(corners: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """An outline's sides (top, right, bottom, left) from its ``corners`` (top-left, top-right, bottom-right,
    bottom-left): each as its first corner and the next, clockwise on the photo."""
    return [(corners[index], corners[(index + 1) % 4]) for index in range(4)]


def _askew_across_the_cut(corners: np.ndarray, cut: list[bool]) -> float:
    """How far, in degrees, the two sides of an outline that run across the frame's cut (left and right where the top
    or the bottom is cut) lean the same way: 0 where they lean apart evenly, as a page photographed at an angle from
    in front of it shows them."""
    across = (1, 3) if cut[0] or cut[2] else (0, 2)  # right and left where the top or the bottom is cut
    sides = _sides(corners)
    leans = []
    for side in across:
        start, end = sides[side]
        dx, dy = end - start if side < 2 else start - end  # both running down the page, or both across it
        leans.append(np.degrees(np.arctan2(dx, dy) if side % 2 else np.arctan2(dy, dx)))
    return abs(float(np.mean(leans)))


def _cut_sides(corners: np.ndarray, shape: tuple[int, ...]) -> list[bool] | None:
    """Which sides of an outline (``corners``: top-left, top-right, bottom-right, bottom-left; side k runs from
    corner k to the next: top, right, bottom, left) the photo's frame cuts across the page: both its corners on the
    frame's side at that end. None where the page is not seen well enough to flatten: a corner on the frame but on
    no such side (the page cut at a corner), or two neighbouring sides cut, or three."""
    rows, columns = shape[:2]
    x, y = corners[:, 0], corners[:, 1]
    across, down = max(BORDER * (columns - 1), BORDER_PX), max(BORDER * (rows - 1), BORDER_PX)
    # frame side (top, right, bottom, left) x corner
    near = np.stack([y < down, x > columns - 1 - across, y > rows - 1 - down, x < across])
    cut = [bool(near[side, side] and near[side, (side + 1) % 4]) for side in range(4)]
    if sum(cut) > 2 or sum(cut) == 2 and cut not in ([True, False, True, False], [False, True, False, True]):
        return None
    on_cut_side = np.zeros(4, dtype=bool)
    for side in np.flatnonzero(cut):
        on_cut_side[[side, (side + 1) % 4]] = True
    return None if (near.any(axis=0) & ~on_cut_side).any() else cut


def _paper_outside(outline: np.ndarray, paper: np.ndarray) -> float:
    """How much of the photo is as bright as paper (``paper``: 255 there) outside the page's ``outline`` (its
    convex hull, as flattening it keeps it), as a share of the page's area."""
    page = np.zeros_like(paper)
    cv2.drawContours(page, [outline], -1, 255, thickness=cv2.FILLED)
    return np.count_nonzero((paper > 0) & (page == 0)) / max(1.0, float(np.count_nonzero(page)))


def _edge_contrasts(corners: np.ndarray, grey: np.ndarray, sides: list[bool]) -> list[float]:
    """How much darker than the page the photo (``grey``) is just outside each of the outline's ``sides`` wanted
    (``EDGE_PROBE`` px either side of it, the median over points along it), grey levels."""
    rows, columns = grey.shape
    limits = np.array([columns - 1, rows - 1])
    contrasts = []
    for (start, end), wanted in zip(_sides(corners), sides, strict=True):
        if not wanted:
            continue
        along = (end - start) / max(1e-6, float(np.linalg.norm(end - start)))
        outward = np.array([along[1], -along[0]])  # the corners run clockwise on the photo
        points = start + np.linspace(0.1, 0.9, 17)[:, None] * (end - start)
        inside = (points - EDGE_PROBE * outward).round().astype(int).clip(0, limits)
        outside = (points + EDGE_PROBE * outward).round().astype(int).clip(0, limits)
        contrasts.append(float(np.median(grey[inside[:, 1], inside[:, 0]].astype(float)
                                         - grey[outside[:, 1], outside[:, 0]])))
    return contrasts
