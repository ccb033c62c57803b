"""A rapidocr pipeline run on a page in steps: find the text, classify its lines' orientation, read them.

rapidocr's ``RapidOCR.__call__`` detects, classifies and recognises in one go. Split after detection, an engine
can decide from where the text lies and how large it is whether to read this image at all (closer_look.py): a
big photo read closer used to pay for recognising its shrunk lines for nothing (dev pages in 4000 px photos,
p50 5.4 -> 4.5 s); a page scanned sideways is turned upright before its lines are recognised.
The steps are rapidocr's own methods, in the order ``__call__`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from rapidocr.main import RapidOCRError
from rapidocr.utils.process_img import map_boxes_to_original

from ocrserver.result import Polygon


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
    """Where ``pipeline`` finds text on ``image`` (BGR), scaled as the pipeline scales pages."""
    scaled, scaling = pipeline.preprocess_img(image)
    try:
        crops, found = pipeline.detect_and_crop(scaled, scaling)
    except RapidOCRError:  # "The text detection result is empty"
        return Detection(image, scaling, [], None)
    return Detection(image, scaling, crops, found)


@dataclass
class Classified:
    """What a pipeline's classifier made of the detected lines."""

    upright: list[np.ndarray]  # the lines' crops, turned where the classifier decided
    verdict: Any  # the classifier's output (rapidocr's output drops it)


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
    return pipeline.build_final_output(
        detection.image, detection.found, classified.verdict, recognised, detection.crops, detection.scaling
    )
