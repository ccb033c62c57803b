"""The regions drawn in Label Studio, as polygons in pixels with their transcriptions.

A region is one geometry item (a rectangle, rotated about its top-left corner, or a polygon, in percent of the
image) and the items that share its id: the TextArea's transcription and the label chosen for it. The backend reads
the box an annotator just drew from it; ``benchmarks/label_studio_set.py`` turns a project's annotations into a
labelled set for the benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ocrserver.errors import InvalidRegion
from ocrserver.geometry import rotated_rect_polygon
from ocrserver.labelstudio.config import POLYGON_TAGS, RECTANGLE_TAGS
from ocrserver.result import Polygon

GEOMETRY_TYPES = RECTANGLE_TAGS + POLYGON_TAGS


@dataclass(frozen=True)
class LabelledRegion:
    polygon: Polygon  # pixels, clockwise from the top-left corner as drawn
    text: str  # "" where the region was not transcribed
    label: str | None


def drawn_polygon(item: dict[str, Any], width: float, height: float) -> Polygon:
    """The polygon in pixels of a rectangle or polygon result item on a ``width`` x ``height`` image.
    Raises InvalidRegion when its value is incomplete, not numeric or has no area."""
    value = item["value"]
    try:
        if str(item.get("type")).lower() in POLYGON_TAGS:
            points = [(float(x) * width / 100, float(y) * height / 100) for x, y in value["points"]]
            if len(points) < 3:
                raise InvalidRegion("The drawn polygon has fewer than 3 points.")
            return points
        x, y = float(value["x"]) * width / 100, float(value["y"]) * height / 100
        w, h = float(value["width"]) * width / 100, float(value["height"]) * height / 100
        rotation = float(value.get("rotation") or 0.0)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRegion(f"The drawn region's value is incomplete or not numeric: {exc}") from exc
    if not all(math.isfinite(v) for v in (x, y, w, h, rotation)):
        raise InvalidRegion("The drawn region's x, y, width, height and rotation must be finite numbers.")
    if w <= 0 or h <= 0:
        raise InvalidRegion("The drawn region has no area.")
    return rotated_rect_polygon(x, y, w, h, rotation)


def is_geometry(item: object) -> bool:
    """Whether a result item is a region's rectangle or polygon."""
    return (isinstance(item, dict) and str(item.get("type", "")).lower() in GEOMETRY_TYPES
            and isinstance(item.get("value"), dict))


def submitted_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The annotation a task's truth is taken from: the one marked ground truth, else the one updated last;
    never one the annotator skipped (cancelled). None when the task has no other."""
    submitted = [annotation for annotation in task.get("annotations") or []
                 if isinstance(annotation, dict) and not annotation.get("was_cancelled")]
    if not submitted:
        return None
    return max(submitted, key=lambda annotation: (bool(annotation.get("ground_truth")),
                                                  str(annotation.get("updated_at") or "")))


def labelled_regions(result: list[dict[str, Any]], width: float, height: float) -> list[LabelledRegion]:
    """Each drawn region of an annotation's ``result`` on a ``width`` x ``height`` image, in the order drawn, with
    the text of the TextArea item of the same id (its lines joined) and its label (from the geometry tool's own
    labels or a Labels item of the same id). Raises InvalidRegion for a region drawn on the image turned in Label
    Studio (``image_rotation``), whose percentages are not the image's own."""
    texts: dict[str, str] = {}
    labels: dict[str, str] = {}
    for item in result:
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            continue
        value, kind = item["value"], str(item.get("type", "")).lower()
        if kind == "textarea" and item.get("id") not in texts:
            texts[str(item.get("id"))] = "\n".join(str(line) for line in value.get("text") or [])
        chosen = value.get(kind) if kind.endswith("labels") else None
        if chosen:
            labels.setdefault(str(item.get("id")), str(chosen[0]))
    regions = []
    for item in filter(is_geometry, result):
        if item.get("image_rotation"):
            raise InvalidRegion(f"Region {item.get('id')} was drawn on the image turned {item['image_rotation']} "
                                "degrees in Label Studio; turn it back and draw it again.")
        region_id = str(item.get("id"))
        regions.append(LabelledRegion(drawn_polygon(item, width, height), texts.get(region_id, ""),
                                      labels.get(region_id)))
    return regions
