"""Regions of a page: parsing, ordering, and rectified crops that map back to page coordinates."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ocrserver.errors import InvalidRegion
from ocrserver.result import Polygon, bbox_of, rect_polygon

# a region reaching further than this from the image's corner cannot be read: a pixel or more across, it is far larger
# than any image the server decodes (OCR_MAX_IMAGE_PIXELS), under a pixel it is nothing. Refused before any arithmetic,
# so that its corners stay within what OpenCV's 32-bit floats hold (a rectangle to 1e308 became NaN, reported as the
# engine failing).
FARTHEST_COORDINATE = 1e9


def unusable_coordinates(coordinates: Iterable[float]) -> str | None:
    """Why these coordinates cannot place a region on an image (not finite numbers, or further than
    ``FARTHEST_COORDINATE`` from its corner), or None when they can."""
    values = np.fromiter(coordinates, dtype=np.float64)
    if not np.isfinite(values).all():
        return "coordinates must be finite numbers"
    if np.abs(values).max(initial=0.0) > FARTHEST_COORDINATE:
        return f"coordinates must lie within {FARTHEST_COORDINATE:,.0f} px of the image: draw it around the text"
    return None


def parse_region(value: object, index: int = 0) -> Polygon:
    """``[x0, y0, x1, y1]`` or ``[[x, y], ...]`` (3+ points) -> a polygon of floats."""
    where = f"regions[{index}]"
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or len(value) == 0:
        raise InvalidRegion(f"{where} must be [x0, y0, x1, y1] or a list of [x, y] points, got {value!r}.")
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        if len(value) != 4:
            raise InvalidRegion(f"{where}: a rectangle needs exactly 4 numbers [x0, y0, x1, y1], got {len(value)}.")
        x0, y0, x1, y1 = (float(v) for v in value)
        if problem := unusable_coordinates((x0, y0, x1, y1)):
            raise InvalidRegion(f"{where}: {problem}.")
        if x1 <= x0 or y1 <= y0:
            raise InvalidRegion(f"{where}: rectangle {list(value)} has no area; x1 must exceed x0 and y1 exceed y0.")
        return rect_polygon(x0, y0, x1, y1)
    points: Polygon = []
    for point in value:
        if (
            not isinstance(point, Sequence)
            or len(point) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
        ):
            raise InvalidRegion(f"{where}: each polygon point must be [x, y] numbers, got {point!r}.")
        points.append((float(point[0]), float(point[1])))
    if len(points) < 3:
        raise InvalidRegion(f"{where}: a polygon needs at least 3 points, got {len(points)}.")
    if problem := unusable_coordinates(c for point in points for c in point):
        raise InvalidRegion(f"{where}: {problem}.")
    if abs(cv2.contourArea(np.array(points, dtype=np.float32))) < 1.0:
        raise InvalidRegion(f"{where}: polygon has no area.")
    return points


def rotated_rect_polygon(x: float, y: float, width: float, height: float, degrees: float) -> Polygon:
    """A rectangle of the given size whose top-left corner is (x, y), rotated clockwise by ``degrees`` about it.

    This is how Label Studio stores rotated rectangles; the result starts at the text's top-left.
    """
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)

    def turn(dx: float, dy: float) -> tuple[float, float]:
        return x + dx * cos - dy * sin, y + dx * sin + dy * cos

    return [turn(0, 0), turn(width, 0), turn(width, height), turn(0, height)]


def turned_180(polygon: Polygon, width: float, height: float) -> Polygon:
    """A polygon on a width x height page turned by 180 degrees (and back: the turn is its own inverse)."""
    return [(width - x, height - y) for x, y in polygon]


def turned_back(polygon: Polygon, degrees: int, width: float, height: float) -> Polygon:
    """A polygon found on a width x height page after turning it counter-clockwise by ``degrees`` (0, 90, 180
    or 270, as ``PIL.Image.rotate(degrees, expand=True)`` turns it), put back on the page as it was."""
    if degrees == 90:
        return [(width - y, x) for x, y in polygon]
    if degrees == 180:
        return turned_180(polygon, width, height)
    if degrees == 270:
        return [(y, height - x) for x, y in polygon]
    if degrees == 0:
        return list(polygon)
    raise ValueError(f"turned_back takes quarter turns (0, 90, 180, 270), not {degrees} degrees")


def affine_mapped(polygon: Polygon, affine: np.ndarray) -> Polygon:
    """A polygon moved by a 2 x 3 affine map (as ``cv2.warpAffine`` takes one)."""
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    mapped = points @ affine[:, :2].T + affine[:, 2]
    return [(float(x), float(y)) for x, y in mapped]


def shifted(polygon: Polygon, dx: float, dy: float) -> Polygon:
    """A polygon found on a part of a page whose top-left corner lies at (dx, dy), put on the page."""
    return [(x + dx, y + dy) for x, y in polygon]


def scaled(polygon: Polygon, across: float, down: float) -> Polygon:
    """``polygon`` on an image stretched ``across`` times its width and ``down`` times its height."""
    return [(x * across, y * down) for x, y in polygon]


def pixels_around(polygon: Polygon, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The whole pixels ``polygon`` covers grown by ``margin`` on every side, cut to a ``width`` x ``height`` image:
    left, top, right, bottom (the last two excluded)."""
    left, top, right, bottom = bbox_of(polygon)
    return (max(0, math.floor(left - margin)), max(0, math.floor(top - margin)),
            min(width, math.ceil(right + margin)), min(height, math.ceil(bottom + margin)))


def _is_clockwise(points: np.ndarray) -> bool:
    # Image coordinates (y down): a positive shoelace sum means clockwise on screen.
    x, y = points[:, 0], points[:, 1]
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) > 0


def _is_convex_quad(points: np.ndarray) -> bool:
    """Whether four corners make a convex quadrilateral with no three of them in a line (nor two in one place), in
    either direction: the only kind a perspective transform maps onto a rectangle and back."""
    edges = np.roll(points, -1, axis=0) - points
    following = np.roll(edges, -1, axis=0)
    turns = edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0]
    # each corner's turn, against the lengths of its two edges: the sine of its angle, at least 0.001 (0.06 degrees)
    least = 1e-3 * np.linalg.norm(edges, axis=1) * np.linalg.norm(following, axis=1)
    return bool(np.all(turns > least) or np.all(turns < -least))


def reading_quad(polygon: Polygon) -> np.ndarray:
    """Four corners (top-left, top-right, bottom-right, bottom-left of the text) for a region.

    A convex 4-point polygon keeps the order it was given (callers pass text-oriented corners), made
    clockwise. Any other polygon (a bow tie, four corners with three in a line) is replaced by its
    minimum-area rectangle, read along its longer side.
    """
    points = np.array(polygon, dtype=np.float32)
    if len(points) == 4 and _is_convex_quad(points.astype(np.float64)):
        quad = points if _is_clockwise(points) else points[[0, 3, 2, 1]]
        return quad
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    if w < h:
        w, h, angle = h, w, angle + 90
    box = cv2.boxPoints(((cx, cy), (w, h), angle))
    # boxPoints order varies; start at the corner nearest the text's top-left, then go clockwise.
    if not _is_clockwise(box):
        box = box[::-1]
    direction = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    if direction[0] < 0 or (direction[0] == 0 and direction[1] < 0):
        direction = -direction  # read left to right
    normal = np.array([-direction[1], direction[0]])  # points "down" the text
    scores = box @ direction + box @ normal
    start = int(np.argmin(scores))
    return np.roll(box, -start, axis=0)


@dataclass
class RectifiedCrop:
    """An upright crop of a region plus the homographies between crop pixels and the page."""

    image: np.ndarray
    to_page: np.ndarray  # 3x3
    to_crop: np.ndarray  # 3x3, its inverse

    def map_polygon(self, polygon: Polygon) -> Polygon:
        """A polygon in crop pixels, on the page."""
        return perspective_mapped(polygon, self.to_page)

    def polygon_in_crop(self, polygon: Polygon) -> Polygon:
        """A polygon on the page, in crop pixels."""
        return perspective_mapped(polygon, self.to_crop)

    def columns(self, left: int, right: int) -> RectifiedCrop:
        """The crop's columns ``left`` to ``right`` (excluded), mapping to the page as they did."""
        shift = np.array([[1.0, 0.0, left], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return RectifiedCrop(image=np.ascontiguousarray(self.image[:, left:right]), to_page=self.to_page @ shift,
                             to_crop=np.linalg.inv(shift) @ self.to_crop)

    def kept_on_page(self, polygon: Polygon, within: tuple[float, float, float, float] | None = None) -> Polygon:
        """A polygon in crop pixels, its corners kept inside ``within`` (left, top, right, bottom in crop pixels; the
        whole crop by default, as engines pad their boxes), on the page: what was read in a region never leaves it."""
        height, width = self.image.shape[:2]
        left, top, right, bottom = within or (0.0, 0.0, float(width), float(height))
        return self.map_polygon([(min(max(x, left), right), min(max(y, top), bottom)) for x, y in polygon])


def perspective_mapped(polygon: Polygon, homography: np.ndarray) -> Polygon:
    """A polygon moved by a 3 x 3 perspective map (as ``cv2.warpPerspective`` takes one)."""
    if not polygon:
        return []
    pts = np.array(polygon, dtype=np.float64).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(pts, homography).reshape(-1, 2)
    return [(float(x), float(y)) for x, y in mapped]


# A region may hold at most this many times the image's pixels (or MIN_REGION_LIMIT, for small images): all of it
# beyond the image is blank, and a region drawn far past a 400 x 300 px image, [-20000, -20000, 20000, 20000],
# was cut out as a 52,000 px square, 7.8 GB and 24 s for nothing.
REGION_TO_IMAGE_LIMIT = 2
MIN_REGION_LIMIT = 4_000_000


def rectify(image: np.ndarray, polygon: Polygon, pad_ratio: float = 0.15, min_pad: float = 2.0) -> RectifiedCrop:
    """Cut ``polygon`` out of ``image`` (H x W x C) as an upright crop, padded by ``pad_ratio`` of its height
    (at least ``min_pad`` pixels).

    Raises InvalidRegion when its coordinates are unusable (``unusable_coordinates``), or it lies outside the image,
    is smaller than a pixel, or is far larger than the image (``REGION_TO_IMAGE_LIMIT``).
    """
    height, width = image.shape[:2]
    if problem := unusable_coordinates(c for point in polygon for c in point):
        raise InvalidRegion(f"Region {polygon_summary(polygon)}: {problem}.")
    quad = reading_quad(polygon).astype(np.float64)
    xs, ys = quad[:, 0], quad[:, 1]
    if xs.max() <= 0 or ys.max() <= 0 or xs.min() >= width or ys.min() >= height:
        raise InvalidRegion(f"Region {polygon_summary(polygon)} lies outside the {width}x{height} image.")
    out_w = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
    out_h = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]))
    if out_w < 1 or out_h < 1:
        raise InvalidRegion(f"Region {polygon_summary(polygon)} is smaller than one pixel.")
    if out_w * out_h > max(REGION_TO_IMAGE_LIMIT * width * height, MIN_REGION_LIMIT):
        raise InvalidRegion(
            f"Region {polygon_summary(polygon)} ({out_w:.0f} x {out_h:.0f} px) is far larger than the {width}x{height} "
            "image: draw it around the text, within the image."
        )
    pad = max(min_pad, out_h * pad_ratio)
    crop_w, crop_h = int(round(out_w + 2 * pad)), int(round(out_h + 2 * pad))
    target = np.array(
        [[pad, pad], [pad + out_w, pad], [pad + out_w, pad + out_h], [pad, pad + out_h]], dtype=np.float64
    )
    to_crop = cv2.getPerspectiveTransform(quad.astype(np.float32), target.astype(np.float32))
    crop = cv2.warpPerspective(
        image, to_crop, (crop_w, crop_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return RectifiedCrop(image=crop, to_page=np.linalg.inv(to_crop.astype(np.float64)), to_crop=to_crop)


def polygon_summary(polygon: Polygon) -> str:
    return "[" + ", ".join(f"[{x:.0f}, {y:.0f}]" for x, y in polygon[:6]) + (", ...]" if len(polygon) > 6 else "]")
