"""A rapidocr pipeline run on a page in steps: find the text, classify its lines' orientation, read them.

rapidocr's ``RapidOCR.__call__`` detects, classifies and recognises in one go. Split after detection, an engine
can decide from where the text lies and how large it is whether to read this image at all (closer_look.py): a
big photo read closer used to pay for recognising its shrunk lines for nothing (dev pages in 4000 px photos,
p50 5.4 -> 4.5 s); a page scanned sideways is turned upright before its lines are recognised.
The steps are rapidocr's own methods, in the order ``__call__`` runs them. An image much longer than wide is
searched for text in strips (strips.py) and its lines cut from it as the strips saw them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np
from rapidocr.ch_ppocr_det.utils import TextDetOutput
from rapidocr.main import RapidOCRError
from rapidocr.utils.process_img import map_boxes_to_original

from ocrserver.engines.orientation import PageVerdict
from ocrserver.engines.strips import Strips, lines_across_strips, strips_for
from ocrserver.imaging import shrunk
from ocrserver.result import Polygon

# rapidocr cuts a box at least this many times as tall as wide turned a quarter counter-clockwise (text set up the page)
TALL = 1.5


@dataclass
class Detection:
    """A page as a rapidocr pipeline found its text, before the text is read."""

    image: np.ndarray  # the page as given (BGR)
    scaling: dict[str, Any]  # how rapidocr scaled and padded it for the detector (its ``op_record``)
    crops: list[np.ndarray]  # each text box cut out, straightened
    found: Any  # rapidocr's TextDetOutput: the boxes on the scaled image; None when no text was found

    @cached_property
    def text_boxes(self) -> list[Polygon]:
        """The boxes found, on the page as given (worked out once: both the closer look and the sideways check ask)."""
        if self.found is None:
            return []
        height, width = self.image.shape[:2]
        boxes = map_boxes_to_original(np.array(self.found.boxes, dtype=np.float64), self.scaling, height, width)
        return [[(float(x), float(y)) for x, y in box] for box in boxes]


def detect(pipeline: Any, image: np.ndarray) -> Detection:
    """Where ``pipeline`` finds text on ``image`` (BGR), scaled as the pipeline scales pages, or in strips when
    the image is much longer than wide."""
    height, width = image.shape[:2]
    strips = strips_for(width, height, pipeline.max_side_len)
    if strips is not None:
        return _detect_in_strips(pipeline, image, strips)
    scaled, scaling = scaled_for_detector(pipeline, image)
    try:
        crops, found = pipeline.detect_and_crop(scaled, scaling)
    except RapidOCRError:  # "The text detection result is empty"
        return Detection(image, scaling, [], None)
    return Detection(image, scaling, crops, found)


def scaled_for_detector(pipeline: Any, image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """``image`` scaled as ``pipeline`` scales a page for its detector (its ``preprocess_img``), and how. An image too
    thin for that is scaled only until its long side is ``max_side_len``: rapidocr raises the short side to
    ``min_side_len`` px whatever that makes of the long one, and then pads an image more than 8 times as wide as high
    to a quarter of its width, so a 700 x 1 px strip was searched as 20992 x 5248 px (62 s, 1.3 GB for its input
    alone); and it shrinks one longer than ``max_side_len`` with its sides rounded to 32 px, so a text line scanned
    on its own at 2400 x 16 px came out 0 px high and the page failed."""
    height, width = image.shape[:2]
    short_side, long_side = min(height, width), max(height, width)
    if short_side >= pipeline.min_side_len or long_side * pipeline.min_side_len / short_side <= pipeline.max_side_len:
        return pipeline.preprocess_img(image)
    scale = pipeline.max_side_len / long_side
    scaled = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_LINEAR)
    return scaled, {"preprocess": {"ratio_h": height / scaled.shape[0], "ratio_w": width / scaled.shape[1]}}


def _detect_in_strips(pipeline: Any, image: np.ndarray, strips: Strips) -> Detection:
    """Where ``pipeline``'s detector finds text in each strip of ``image``, each line once (a line cut by a strip's
    edge joined with the rest of it, strips.py), and the lines cut from the image shrunk as the strips saw it."""
    height, width = image.shape[:2]
    scaled = shrunk(image, strips.scale)
    scaling = {"preprocess": {"ratio_h": height / scaled.shape[0], "ratio_w": width / scaled.shape[1]},
               "padding_1": {"top": 0, "left": 0}}
    detector, along = pipeline._load_det_model(), 0 if strips.across else 1
    seen: list[list[np.ndarray]] = []
    scores_seen: list[float] = []
    for start, end in strips.spans:
        found = detector(np.ascontiguousarray(scaled[:, start:end] if strips.across else scaled[start:end]))
        seen.append([])
        if found.boxes is None:
            continue
        for box, score in zip(found.boxes, found.scores, strict=True):
            box = box.copy()
            box[:, along] += start
            seen[-1].append(box)
            scores_seen.append(score)
    boxes_seen = [box for found in seen for box in found]
    boxes, scores = [], []
    for line in lines_across_strips(seen, strips):
        pieces = np.concatenate([boxes_seen[index] for index in line])
        # one box as found, or the smallest rectangle around a line's pieces, its corners as the detector orders them
        boxes.append(pieces if len(line) == 1 else detector.postprocess_op.get_mini_boxes(pieces)[0])
        scores.append(max(scores_seen[index] for index in line))
    if not boxes:
        return Detection(image, scaling, [], None)
    found = TextDetOutput(img=scaled, boxes=np.array(boxes), scores=scores)
    return Detection(image, scaling, pipeline.crop_text_regions(scaled, found.boxes), found)


def detected_at(pipeline: Any, image: np.ndarray, boxes: list[Polygon]) -> Detection:
    """``image`` (BGR) as if ``pipeline``'s detector had found text in ``boxes`` (on the image as given), for its
    recogniser to read them."""
    scaling = {"preprocess": {"ratio_h": 1.0, "ratio_w": 1.0}, "padding_1": {"top": 0, "left": 0}}
    quads = np.array(boxes, dtype=np.float32)
    found = TextDetOutput(img=image, boxes=quads, scores=[1.0] * len(boxes))
    return Detection(image, scaling, pipeline.crop_text_regions(image, quads), found)


@dataclass
class Classified:
    """What a pipeline's classifier made of the detected lines."""

    upright: list[np.ndarray]  # the lines' crops, turned where the classifier decided
    verdict: Any  # the classifier's output (rapidocr's output drops it)


def as_detected(detection: Detection) -> Classified:
    """The detected lines as a classifier that turned none of them would leave them."""
    return Classified(list(detection.crops), PageVerdict(img_list=list(detection.crops), cls_res=[], elapse=0.0))


def classify(pipeline: Any, detection: Detection) -> Classified | None:
    """The detected lines as ``pipeline``'s classifier leaves them, or None when there are none."""
    if not detection.crops:
        return None
    try:
        upright, verdict = pipeline.cls_and_rotate(detection.crops)
    except RapidOCRError:  # nothing to classify
        return None
    return Classified(upright, verdict)


def recognise(pipeline: Any, detection: Detection, classified: Classified | None) -> Any | None:
    """rapidocr's output for the detected, classified page (as ``pipeline(image)`` gives it), or None when nothing
    was read. The pipeline's own settings apply (``return_word_box``, ``text_score``)."""
    if classified is None:
        return None
    try:
        recognised = pipeline.recognize_txt(classified.upright)
    except RapidOCRError:  # nothing recognised
        return None
    # rapidocr maps the found boxes onto the page in place: a copy, so that the page's lines can be read again
    return pipeline.build_final_output(
        detection.image, copy.copy(detection.found), classified.verdict, recognised, detection.crops, detection.scaling
    )
