"""The Label Studio ML backend: Label Studio tasks and contexts in, Label Studio results out.

A translation layer over :class:`~ocrserver.service.OcrService`, the same warm engines the REST API uses.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np

from ocrserver.errors import InvalidRequest, OcrServerError
from ocrserver.geometry import scaled
from ocrserver.labelstudio.annotations import drawn_polygon, is_geometry
from ocrserver.labelstudio.config import POLYGON_TAGS, Control, OcrLabelConfig
from ocrserver.labelstudio.files import LabelStudioFiles
from ocrserver.result import Polygon, bbox_of, slant_of
from ocrserver.service import OcrOptions, OcrService, PageToRead
from ocrserver.settings import Settings

log = logging.getLogger(__name__)


class PageCache:
    """Task pages as they are read, most recently used last, so interactive calls on one task skip download, decode
    and preparing the page.

    At most ``capacity`` pages and ``max_bytes`` of them together: phone photos decode to 36 MB (12 MP) or more
    each. The page put last is kept even when it alone is larger, as the next call is most likely on it."""

    def __init__(self, capacity: int, max_bytes: int) -> None:
        self.capacity = max(0, capacity)
        self.max_bytes = max(0, max_bytes)
        self._items: OrderedDict[tuple[Any, str], PageToRead] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, str]) -> PageToRead | None:
        with self._lock:
            page = self._items.get(key)
            if page is not None:
                self._items.move_to_end(key)
            return page

    def put(self, key: tuple[Any, str], page: PageToRead) -> None:
        if self.capacity == 0:
            return
        with self._lock:
            replaced = self._items.pop(key, None)
            self._bytes += page.nbytes - (replaced.nbytes if replaced is not None else 0)
            self._items[key] = page
            while len(self._items) > 1 and (len(self._items) > self.capacity or self._bytes > self.max_bytes):
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes


class LabelStudioBackend:
    def __init__(self, settings: Settings, service: OcrService, files: LabelStudioFiles) -> None:
        self.settings = settings
        self.service = service
        self.files = files
        self.pages = PageCache(settings.ls_image_cache, settings.ls_image_cache_mb * 1024 * 1024)
        self._configs: dict[str, OcrLabelConfig] = {}
        self._configs_lock = threading.Lock()
        self._label_map = _load_label_map(settings)

    # ---- protocol ----------------------------------------------------------------------------
    @property
    def model_version(self) -> str:
        """Stable for an unchanged engine configuration, so Label Studio does not redo finished tasks."""
        engine = self.service.engine_for(self.settings.languages)
        info = self.service.pool.info(engine)
        parts = [engine, info.model_version or "unavailable", "+".join(self.settings.languages),
                 self.settings.ls_granularity]
        if self.settings.ls_geometry != "auto":
            parts.append(self.settings.ls_geometry)
        return "ocrserver-" + "-".join(parts)

    def setup(self, body: dict[str, Any]) -> dict[str, Any]:
        schema = body.get("schema")
        if schema:
            self.config(schema)  # a config we cannot use fails the connection, not every later prediction
        self.files.remember_setup(body.get("hostname"), body.get("access_token"))
        return {"model_version": self.model_version}

    def cached_config(self, xml: str) -> OcrLabelConfig | None:
        """The parsed config when this XML was seen before (cheap enough for the event loop)."""
        with self._configs_lock:
            return self._configs.get(xml)

    def config(self, xml: str) -> OcrLabelConfig:
        cached = self.cached_config(xml)
        if cached is not None:
            return cached
        parsed = OcrLabelConfig.parse(xml)
        with self._configs_lock:
            if len(self._configs) > 64:
                self._configs.clear()
            self._configs[xml] = parsed
        return parsed

    # ---- one task ----------------------------------------------------------------------------
    def empty_prediction(self) -> dict[str, Any]:
        return {"result": [], "score": 0.0, "model_version": self.model_version}

    def predict_task(self, task: dict[str, Any], config: OcrLabelConfig, context: dict[str, Any] | None) -> dict[str, Any]:
        """One prediction for one task. Failures are logged with their cause and answered with an empty prediction."""
        task_id = task.get("id") if isinstance(task, dict) else None
        try:
            if not isinstance(task, dict):
                raise InvalidRequest("A task must be a JSON object.")
            if context is not None:
                return self._interactive(task, config, context)
            return self._pre_annotate(task, config)
        except OcrServerError as exc:
            log.error("task %s: %s", task_id, exc.message)
        except Exception:
            log.exception("task %s: unexpected failure", task_id)
        return self.empty_prediction()

    def load_page(self, task: dict[str, Any], config: OcrLabelConfig) -> PageToRead:
        """The task's image as it is read (``OcrService.load_pages``), a read-only RGB array, from the cache when this
        task was seen recently (so interactive calls on a speckled page pay for wiping it once)."""
        data = task.get("data")
        if not isinstance(data, dict) or config.data_key not in data:
            raise InvalidRequest(
                f"Task {task.get('id')} has no '{config.data_key}' in its data (the labeling config reads "
                f"${config.data_key}); its keys: {sorted(data) if isinstance(data, dict) else 'none'}."
            )
        url = data[config.data_key]
        if not isinstance(url, str):
            raise InvalidRequest(f"Task {task.get('id')}: data.{config.data_key} must be a URL string, got {type(url).__name__}.")
        key = (task.get("id"), url)
        page = self.pages.get(key)
        if page is None:
            loaded = self.service.load_pages(self.files.fetch(url, task.get("id")), pages=[0])[0]  # a PDF's or a TIFF's first page
            pixels = np.asarray(loaded.image)
            pixels.flags.writeable = False
            page = replace(loaded, image=pixels)
            self.pages.put(key, page)
        return page

    def _pre_annotate(self, task: dict[str, Any], config: OcrLabelConfig) -> dict[str, Any]:
        task_page = self.load_page(task, config)
        geometry = config.geometry_control("polygon" if self.settings.ls_geometry == "polygon" else "rectangle")
        granularity = self.settings.ls_granularity
        # words are worked out only for word regions (for ppocr, up to a twentieth of a page's time)
        result = self.service.read_pages([task_page], OcrOptions(level="word" if granularity == "word" else "line"))
        page = result.pages[0]
        if granularity == "block":
            units = [(b.polygon or [], b.text, b.confidence) for b in page.blocks]
        elif granularity == "word":
            units = [(w.polygon, w.text, w.confidence) for line in page.lines for w in line.words]
        else:
            units = [(line.polygon, line.text, line.confidence) for line in page.lines]
        geometry_label = self._label(config, granularity, geometry) if geometry.has_labels else None
        labels_label = self._label(config, granularity, config.labels) if config.labels is not None else None
        items: list[dict[str, Any]] = []
        scores: list[float] = []
        for polygon, text, confidence in units:
            if not text.strip() or confidence < self.settings.score_threshold or not polygon:
                continue
            region_id = secrets.token_hex(5)
            items.extend(_region_items(region_id, polygon, text, confidence, (geometry_label, labels_label), config,
                                       geometry, page.width, page.height))
            scores.append(confidence)
        return {"result": items, "score": round(sum(scores) / len(scores), 4) if scores else 0.0,
                "model_version": self.model_version}

    def _interactive(self, task: dict[str, Any], config: OcrLabelConfig, context: dict[str, Any]) -> dict[str, Any]:
        drawn = _last_drawn_region(context)
        if drawn is None:
            return self.empty_prediction()
        if config.textarea is None:
            raise InvalidRequest("The labeling config has no <TextArea> for the image, so there is nowhere to put the text.")
        task_page = self.load_page(task, config)
        page_width, page_height = task_page.sent_width, task_page.sent_height
        width = _positive(drawn.get("original_width")) or page_width
        height = _positive(drawn.get("original_height")) or page_height
        polygon = drawn_polygon(drawn, width, height)
        polygon = scaled(polygon, page_width / width, page_height / height)
        result = self.service.read_pages([task_page], OcrOptions(level="line", regions=[polygon]))
        block = result.pages[0].blocks[0]
        text, score = block.text, round(block.confidence, 4) if block.lines else 0.0
        region: dict[str, Any] = {key: drawn[key] for key in ("id", "from_name", "to_name", "type") if key in drawn}
        value = dict(drawn.get("value") or {})
        label_control = self._control_named(config, region.get("from_name"))
        if label_control is not None and label_control.has_labels and not value.get(label_control.label_key):
            default = self._label(config, "line", label_control)
            if default:
                value[label_control.label_key] = [default]
        common = {"original_width": width, "original_height": height,
                  "image_rotation": drawn.get("image_rotation", 0), "score": score}
        geometry_value = {k: v for k, v in value.items() if not k.endswith("labels")}
        items: list[dict[str, Any]] = [
            {**region, **common, "value": value},
            {"id": region.get("id"), "from_name": config.textarea.name, "to_name": config.image_name,
             "type": "textarea", **common, "value": {**geometry_value, "text": [text]}},
        ]
        if config.labels is not None and region.get("from_name") != config.labels.name:
            label = self._label(config, "line", config.labels)
            if label:
                items.append({"id": region.get("id"), "from_name": config.labels.name, "to_name": config.image_name,
                              "type": "labels", **common, "value": {**geometry_value, "labels": [label]}})
        return {"result": items, "score": score, "model_version": self.model_version}

    # ---- labels ------------------------------------------------------------------------------
    def _control_named(self, config: OcrLabelConfig, name: object) -> Control | None:
        for control in (config.rectangle, config.polygon, config.labels):
            if control is not None and control.name == name:
                return control
        return None

    def _label(self, config: OcrLabelConfig, granularity: str, control: Control | None = None) -> str | None:
        """The label for a region: from OCR_LS_LABEL_MAP ({"line": "Text", "default": ...}), else the control's first."""
        control = control or config.labels or config.rectangle or config.polygon
        choices = control.labels if control is not None else ()
        mapped = self._label_map.get(granularity) or self._label_map.get("default")
        if mapped:
            if choices and mapped not in choices:
                log.warning("label %r from OCR_LS_LABEL_MAP is not in the config's labels %s", mapped, list(choices))
            return mapped
        return choices[0] if choices else None


def _load_label_map(settings: Settings) -> dict[str, str]:
    if settings.ls_label_map is None:
        return {}
    try:
        mapping = json.loads(settings.ls_label_map.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"OCR_LS_LABEL_MAP {settings.ls_label_map}: cannot read a JSON object: {exc}") from exc
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ValueError(f"OCR_LS_LABEL_MAP {settings.ls_label_map} must be a JSON object of strings, e.g. {{\"line\": \"Text\"}}")
    return mapping


def _positive(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


def _last_drawn_region(context: dict[str, Any]) -> dict[str, Any] | None:
    """The region the user just drew: the last geometry item of the context (it holds every region of the annotation)."""
    items = context.get("result") if isinstance(context, dict) else None
    if not isinstance(items, list):
        raise InvalidRequest("params.context.result must be a list of regions.")
    for item in reversed(items):
        if is_geometry(item):
            return item
    return None


def _clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return min(max(value, low), high)


def rectangle_value(polygon: Polygon, width: int, height: int) -> dict[str, float]:
    """Label Studio rectangle (percent, rotation in degrees about the top-left corner) for a text polygon."""
    (x0, y0), (x1, y1) = polygon[0], polygon[1]
    x3, y3 = polygon[3] if len(polygon) >= 4 else polygon[-1]
    angle = slant_of(polygon)
    if len(polygon) != 4 or abs(angle) < 1.0:
        bx0, by0, bx1, by1 = bbox_of(polygon)
        bx0, bx1 = _clamp(bx0, 0, width), _clamp(bx1, 0, width)
        by0, by1 = _clamp(by0, 0, height), _clamp(by1, 0, height)
        return {"x": bx0 / width * 100, "y": by0 / height * 100, "width": (bx1 - bx0) / width * 100,
                "height": (by1 - by0) / height * 100, "rotation": 0}
    box_w, box_h = math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)
    return {"x": _clamp(x0 / width * 100), "y": _clamp(y0 / height * 100), "width": min(box_w / width * 100, 100.0),
            "height": min(box_h / height * 100, 100.0), "rotation": angle % 360}


def polygon_value(polygon: Polygon, width: int, height: int) -> dict[str, Any]:
    return {"points": [[_clamp(x / width * 100), _clamp(y / height * 100)] for x, y in polygon], "closed": True}


def _region_items(
    region_id: str, polygon: Polygon, text: str, confidence: float, labels: tuple[str | None, str | None],
    config: OcrLabelConfig, geometry: Control, width: int, height: int,
) -> list[dict[str, Any]]:
    geometry_label, labels_label = labels
    shape = polygon_value(polygon, width, height) if geometry.type in POLYGON_TAGS else rectangle_value(polygon, width, height)
    common = {"id": region_id, "to_name": config.image_name, "original_width": width, "original_height": height,
              "image_rotation": 0, "score": round(confidence, 4)}
    geometry_value = dict(shape)
    if geometry.has_labels and geometry_label:
        geometry_value[geometry.label_key] = [geometry_label]
    items = [{**common, "from_name": geometry.name, "type": geometry.type, "value": geometry_value}]
    if config.labels is not None and labels_label:
        items.append({**common, "from_name": config.labels.name, "type": "labels", "value": {**shape, "labels": [labels_label]}})
    if config.textarea is not None:
        items.append({**common, "from_name": config.textarea.name, "type": "textarea", "value": {**shape, "text": [text]}})
    return items
