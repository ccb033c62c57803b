"""The lines PP-OCR's detector finds on a page, each read by another engine (Tesseract).

Tesseract's own page layout finds lines as people label them less often than PP-OCR's detector: it makes one line of
a printed row of fields, loses short fields and is thrown by noise, skew and photos. Each detected line is cut
upright from the page along its box and read on its own. The box is taken as it is: the detector's box already
leaves room around the print, and more takes in pieces of the lines above and below, which a single-line reading
turns into garbage (English dev pages, Tesseract, BoW F1 0.780 / 0.767 / 0.562
with 0 / 0.15 / 0.4 of the box's height added around). Each crop is turned as rapidocr turns its own: a box at
least ``TALL`` times as tall as wide a quarter counter-clockwise (text set up the page), and every box half a turn
on a page the orientation vote finds upside down.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
from PIL import Image

from ocrserver.engines.page_steps import TALL, Detection
from ocrserver.errors import InvalidRegion
from ocrserver.geometry import rectify
from ocrserver.result import (
    Line,
    Polygon,
    length_weighted_confidence,
    lines_with_polygons_mapped,
)

# what reads one upright line crop (RGB): its lines, in crop pixels
CropReader = Callable[[Image.Image], list[Line]]


def read_detected_lines(detection: Detection, upside_down: bool, read_crop: CropReader) -> list[Line]:
    """Each line found on ``detection``'s page, read by ``read_crop`` from its upright crop: the detector's box as
    the line's polygon (rapidocr's corner order, as its own readings come), the words read on the page."""
    lines = []
    for box in detection.text_boxes:
        start = _text_start(box, upside_down)
        try:
            crop = rectify(detection.image, box[start:] + box[:start], pad_ratio=0.0)
        except InvalidRegion:  # under a pixel across
            continue
        # the crop (BGR, as the detector's page) turned RGB: cut from an RGB view of the page, OpenCV copied the
        # whole page for each line (7 ms a line on a 1200 x 1600 px page)
        read = [line for line in read_crop(Image.fromarray(cv2.cvtColor(crop.image, cv2.COLOR_BGR2RGB)))
                if line.text.strip()]
        if not read:
            continue
        lines.append(Line(
            text=" ".join(line.text for line in read),
            confidence=length_weighted_confidence(read),
            polygon=list(box),
            words=[word for line in lines_with_polygons_mapped(read, crop.kept_on_page) for word in line.words],
        ))
    return lines


def _text_start(box: Polygon, upside_down: bool) -> int:
    """Which corner of the detector's box (the page's top-left first) the text starts at, as rapidocr cuts it."""
    top_left, top_right, bottom_right, bottom_left = box
    width = max(math.dist(top_left, top_right), math.dist(bottom_left, bottom_right))
    height = max(math.dist(top_left, bottom_left), math.dist(top_right, bottom_right))
    return (1 if height >= TALL * width else 0) + (2 if upside_down else 0)
