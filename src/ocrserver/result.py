"""The engine-agnostic result model: page -> block -> line -> word.

Every engine produces it and every face (REST, CLI, Label Studio) renders it, so adding an engine
never touches a renderer. Coordinates are pixels of the (EXIF-rotated) page image. A polygon runs
clockwise from the top-left corner of the text *in its reading direction*, so rotated text keeps
its orientation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Point = tuple[float, float]
Polygon = list[Point]
Level = Literal["page", "block", "line", "word"]
Box = tuple[float, float, float, float]  # left, top, right, bottom


def bbox_of(polygon: Polygon) -> Box:
    xs = [x for x, _ in polygon]
    ys = [y for _, y in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def slant_of(polygon: Polygon) -> float:
    """The direction a text polygon is written in, in degrees clockwise from left to right: from its first corner
    (the text's top-left) to its second."""
    (x0, y0), (x1, y1) = polygon[0], polygon[1]
    return math.degrees(math.atan2(y1 - y0, x1 - x0))


def writing_direction(lines: Sequence[Line]) -> Point:
    """The unit vector along which the lines' text runs (rightwards, down a page scanned sideways, leftwards on one
    upside down): the top edges (from the text's top-left corner) of those at least three times as long as high,
    summed; rightwards when there is none."""
    x = y = 0.0
    for line in lines:
        if len(line.polygon) == 4:
            (x0, y0), (x1, y1), _, last = line.polygon
            if math.dist((x0, y0), (x1, y1)) >= 3 * math.dist((x0, y0), last):
                x, y = x + x1 - x0, y + y1 - y0
    length = math.hypot(x, y)
    return (x / length, y / length) if length else (1.0, 0.0)


def rect_polygon(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def spanning(first: Polygon, last: Polygon) -> Polygon:
    """The box of a run of text from ``first``'s start to ``last``'s end: their quads' outer corners (the text's
    top-left first, so a slant is kept), else the rectangle around both."""
    if len(first) == len(last) == 4:
        return [first[0], last[1], last[2], first[3]]
    return rect_polygon(*bbox_of(first + last))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def length_weighted_confidence(parts: Sequence[Word | Line]) -> float:
    """How sure an engine is of a reading: the words' or lines' confidences weighted by the length of their text
    (0 for no text)."""
    characters = sum(len(part.text) for part in parts)
    return sum(part.confidence * len(part.text) for part in parts) / characters if characters else 0.0


def _round_polygon(polygon: Polygon) -> list[list[float]]:
    return [[round(x, 1), round(y, 1)] for x, y in polygon]


def _geometry(polygon: Polygon) -> dict[str, Any]:
    return {"bbox": [round(v, 1) for v in bbox_of(polygon)], "polygon": _round_polygon(polygon)}


@dataclass
class Word:
    text: str
    confidence: float
    polygon: Polygon

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": round(self.confidence, 4), **_geometry(self.polygon)}


@dataclass
class Line:
    text: str
    confidence: float
    polygon: Polygon
    words: list[Word] = field(default_factory=list)

    def to_dict(self, level: Level) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "confidence": round(self.confidence, 4), **_geometry(self.polygon)}
        if level == "word":
            out["words"] = [word.to_dict() for word in self.words]
        return out


@dataclass
class Block:
    lines: list[Line]
    polygon: Polygon | None = None

    def __post_init__(self) -> None:
        if self.polygon is None:
            points = [point for line in self.lines for point in line.polygon]
            self.polygon = rect_polygon(*bbox_of(points)) if points else [(0.0, 0.0)] * 4

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        return _mean([line.confidence for line in self.lines])

    def to_dict(self, level: Level) -> dict[str, Any]:
        assert self.polygon is not None
        out: dict[str, Any] = {"text": self.text, "confidence": round(self.confidence, 4), **_geometry(self.polygon)}
        if level in ("line", "word"):
            out["lines"] = [line.to_dict(level) for line in self.lines]
        return out


def with_polygons_mapped(blocks: list[Block], mapping: Callable[[Polygon], Polygon]) -> list[Block]:
    """The blocks with each line's and word's polygon put through ``mapping`` (blocks' outlines made anew)."""
    return [Block(lines=lines_with_polygons_mapped(block.lines, mapping)) for block in blocks]


def lines_with_polygons_mapped(lines: list[Line], mapping: Callable[[Polygon], Polygon]) -> list[Line]:
    """The lines with their own and their words' polygons put through ``mapping``."""
    return [
        Line(text=line.text, confidence=line.confidence, polygon=mapping(line.polygon),
             words=[Word(text=word.text, confidence=word.confidence, polygon=mapping(word.polygon)) for word in line.words])
        for line in lines
    ]


def _one_line_beside(left: Block, right: Block, along: Point) -> bool:
    """Whether two blocks of one line each, written across (not three times as high as long, as a column of
    vertical writing is; a lone character may be higher than wide), lie side by side on one row: ``right``
    after ``left`` along the page's direction of writing (``along``, a unit vector: a short line's own, ``x1`` or
    ``合计``, may be reckoned 3-6 degrees off, 25 px across a receipt's width), their middles less than half the
    lower one's height apart across it (so on a page scanned askew too)."""
    if len(left.lines) != 1 or len(right.lines) != 1:
        return False
    a, b = _corners(left.lines[0].polygon), _corners(right.lines[0].polygon)
    height_a, height_b = math.dist(a[0], a[3]), math.dist(b[0], b[3])
    if 3 * math.dist(a[0], a[1]) <= height_a or 3 * math.dist(b[0], b[1]) <= height_b:
        return False
    lower = min(height_a, height_b)
    after = (b[0][0] - a[1][0]) * along[0] + (b[0][1] - a[1][1]) * along[1] >= -0.5 * lower
    (ax, ay), (bx, by) = _middle(a), _middle(b)
    return after and abs((by - ay) * along[0] - (bx - ax) * along[1]) < 0.5 * lower


def _middle(polygon: Polygon) -> Point:
    return sum(x for x, _ in polygon) / len(polygon), sum(y for _, y in polygon) / len(polygon)


def _corners(polygon: Polygon) -> Polygon:
    """A line's four corners from the top-left of its text, clockwise: its polygon's own, or its box's."""
    return polygon if len(polygon) == 4 else rect_polygon(*bbox_of(polygon))


@dataclass
class Page:
    width: int
    height: int
    blocks: list[Block]
    index: int = 0

    @property
    def text(self) -> str:
        """The blocks' text, one under the other, except that blocks of one line written across, each beside the
        one before on its row (a form's label and its value, a receipt's item and its price, a table's cells), make
        one line of text, a space apart."""
        along = writing_direction(self.lines)
        rows: list[str] = []
        before: Block | None = None
        for block in (block for block in self.blocks if block.text):
            if before is not None and _one_line_beside(before, block, along):
                rows[-1] += " " + block.text
            else:
                rows.append(block.text)
            before = block
        return "\n".join(rows)

    @property
    def lines(self) -> list[Line]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def confidence(self) -> float:
        return _mean([line.confidence for line in self.lines])

    def to_dict(self, level: Level) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "width": self.width,
            "height": self.height,
            "text": self.text,
            "confidence": round(self.confidence, 4),
        }
        if level != "page":
            out["blocks"] = [block.to_dict(level) for block in self.blocks]
        return out


@dataclass
class OcrResult:
    pages: list[Page]
    engine: str
    model_version: str
    languages: list[str]
    timing_ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    def to_dict(self, level: Level = "word") -> dict[str, Any]:
        text = self.text
        return {
            "text": text,
            "output": text,
            "engine": self.engine,
            "model_version": self.model_version,
            "languages": self.languages,
            "pages": [page.to_dict(level) for page in self.pages],
            "timing_ms": {key: round(value, 2) for key, value in self.timing_ms.items()},
        }
