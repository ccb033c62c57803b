"""A page read the PP-OCR way, up to reading its lines and after: PP-OCR's detector finds the lines, the page's
orientation is voted once (orientation.py) and a page lying sideways or upside down read turned, a photo whose text
came out small read again where the text is (closer_look.py), a photo a moving hand blurred read again steadied
(motion_blur.py); the lines read are grouped into blocks in reading order, their boxes fitted to their print. What
reads the lines is the caller's: the ``ppocr`` engines' recogniser (ppocr.py), or Tesseract (tesseract.py, on PP-OCR
tiny's detector).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from ocrserver.engines.closer_look import area_to_read_closer
from ocrserver.engines.orientation import PageOrientationVote, PageVerdict, turned_upside_down
from ocrserver.engines.page_steps import (
    TALL,
    Classified,
    Detection,
    as_detected,
    classify,
    detect,
    detected_at,
)
from ocrserver.exposure import with_full_contrast
from ocrserver.fitted_boxes import fitted_to_ink
from ocrserver.geometry import shifted, turned_180, turned_back
from ocrserver.imaging import bgr_array
from ocrserver.layout import group_into_blocks, split_into_words
from ocrserver.marks_apart import kept_readings, marks_apart
from ocrserver.motion_blur import steadied
from ocrserver.perspective import flattened, page_corners
from ocrserver.result import Block, Line, Polygon, bbox_of, length_weighted_confidence, with_polygons_mapped

# A page scanned sideways reads its words as surely from rapidocr's quarter-turned tall lines as upright (a dev-set
# receipt: 0.9867 / 0.9866); upright, its lines are found as rows, in reading order. Dev-set pages turned 90 or
# 270 degrees: det F1 0.747 -> 0.834, BoW F1 0.844 -> 0.869, as upright. Text written in columns that reads far
# less surely turned stays as it was.
SIDEWAYS_SLACK = 0.05
# A sideways page whose upright reading is this sure keeps it without its lines being read as sent (the comparison
# above): dev-set documents read at 0.96-1.0 upright; text in columns (synthetic vertical Chinese) reads about 0.82
# turned and is compared. Dev-set pages turned 90 degrees: p50 3.9 s reading both ways -> 2.6 s, the same readings.
# So does a page the orientation vote turned upside down (PageLineFinder._upright_blocks).
SURE_UPRIGHT = 0.9

# A page photographed from a distance is looked for down to this share of a photo larger than the engine looks at,
# so that print too small to be found there is read closer (closer_look.py): a receipt in a 7000 x 7000 px photo
# covers 0.01-0.05 of it, a form a ninth of its width 0.016.
SMALL_PAGE_SHARE = 0.005
# ... and it must hold print: a blank paper read closer had its edges read as letters ('EE', 'i' by Tesseract). Its
# middle (its bounds less a tenth of them on each side) has at least ``MIN_PRINT`` of its pixels under ``PRINT_GREY``
# of its median grey: the dev pages in 7000 px photos 0.013-0.08 (a faint receipt the least), blank paper on a
# grainy table none.
MIN_PRINT = 0.002
PRINT_GREY = 0.75

# what reads the lines found on a page: their text, confidence and words, on the page, in rapidocr's corner order
LineReader = Callable[[Detection, Classified | None], list[Line]]


class PageLineFinder:
    """PP-OCR's way through a page up to reading its lines, and after: the lines found by the detector, the page
    turned by one orientation verdict, then grouped into blocks in reading order, their boxes fitted to their print.
    What reads the lines is the caller's (``PPOCREngine.read_page``: rapidocr's recogniser; tesseract.py:
    Tesseract). A dim photo or faded print is read stretched to the full grey scale (exposure.py), a page photographed
    at an angle flattened (perspective.py), and a page whose lines read unsurely because a hand moved while the photo
    was taken read again with the streak undone (motion_blur.py). A photo larger than rapidocr reads (it shrinks it
    to ``max_side_len``) whose text was found small is read where the text is, at the photo's own resolution
    (closer_look.py), and its shrunk lines are never read. A page whose lines mostly stand on end (scanned sideways:
    rapidocr reads each tall line turned a quarter) is read turned upright; its lines as sent are read too only when
    that reading is unsure (``SURE_UPRIGHT``), and kept when it is clearly less sure than them (``SIDEWAYS_SLACK``)."""

    def __init__(self, page: Any) -> None:
        self._page = page  # a rapidocr page pipeline (ppocr._page_finder): detector and orientation vote loaded

    @property
    def orientation(self) -> PageOrientationVote:
        """The angle classifier, as the page orientation vote uses it."""
        return self._page.text_cls

    def blocks(self, image: Image.Image, read_lines: LineReader, unsure_below: float | None) -> list[Block]:
        """The page's blocks, its boxes on the image as sent, each line the detector found read by ``read_lines``.
        A page photographed at an angle is read flattened (perspective.py); one a hand that moved while the photo was
        taken blurred, read again steadied when its lines read less surely than ``unsure_below`` (motion_blur.py)."""
        blocks = self._blocks_as_sent(image, read_lines)
        if unsure_below is None:
            return blocks
        steady = steadied(image, [line for block in blocks for line in block.lines],
                          partial(self._sureness, read_lines=read_lines), self._lines_found, unsure_below)
        return blocks if steady is None else self._blocks_as_sent(steady, read_lines)

    def _blocks_as_sent(self, image: Image.Image, read_lines: LineReader) -> list[Block]:
        """The page's blocks, its boxes on the image as sent: read stretched to the full grey scale when dim,
        flattened when photographed at an angle. (A streak is undone before either: stretching clips the blurred
        print's darkest grey to black, and the streak no longer adds up, 0.68 -> 0.28 BoW F1 on a faded receipt
        blurred 5 px; flattening bends it.)"""
        image = with_full_contrast(image)
        flat = flattened(image)
        if flat is not None:
            return with_polygons_mapped(self._blocks_seen(flat.image, read_lines), flat.on_photo)
        return self._blocks_seen(image, read_lines)

    def _sureness(self, page: np.ndarray, boxes: list[Polygon], read_lines: LineReader) -> float:
        """How surely ``read_lines`` reads the lines in ``boxes`` on ``page`` (BGR), as they lie: their mean
        confidence, 0 for each it drops."""
        detection = detected_at(self._page, page, boxes)
        return sum(line.confidence for line in read_lines(detection, as_detected(detection))) / len(boxes)

    def _lines_found(self, page: np.ndarray) -> list[Polygon]:
        """The boxes of the lines the detector finds on ``page`` (BGR)."""
        return detect(self._page, page).text_boxes

    def _blocks_seen(self, image: Image.Image, read_lines: LineReader) -> list[Block]:
        """The blocks of the image as it is to be read, looked at closer where its text came out small."""
        detection = detect(self._page, bgr_array(image))
        area = area_to_read_closer(detection.text_boxes, image.width, image.height, self._page.max_side_len,
                                   partial(_small_page_outline, image))
        if area is not None:
            part = image.crop(area)
            blocks = self._upright_blocks(part, detect(self._page, bgr_array(part)), read_lines)
            return with_polygons_mapped(blocks, partial(shifted, dx=area[0], dy=area[1]))
        return self._upright_blocks(image, detection, read_lines)

    def _upright_blocks(self, image: Image.Image, detection: Detection, read_lines: LineReader) -> list[Block]:
        """The blocks of the detected image, read turned upright instead when it lies sideways. A page the vote
        found upside down whose reading is unsure (``SURE_UPRIGHT``) is read as detected too, and the surer reading
        kept: in print a few pixels high (a receipt in a 445 x 630 px image) the classifier errs, and a page read
        the wrong way up loses every word (dev pages at 0.3-0.35 of their scans: 6 of 50 voted upside down; dev
        pages scanned upside down: one read twice, all read as before)."""
        classified = classify(self._page, detection)
        upside_down = says_upside_down(classified)
        turn = _quarter_turn_upright(detection.text_boxes, upside_down)
        if not turn:
            lines = read_lines(detection, classified)
            sure = length_weighted_confidence(lines)
            if upside_down and sure < SURE_UPRIGHT:
                lines_as_detected = read_lines(detection, as_detected(detection))
                if length_weighted_confidence(lines_as_detected) > sure:
                    return self._blocks_with_marks(lines_as_detected, False, detection.image, read_lines)
            return self._blocks_with_marks(lines, upside_down, detection.image, read_lines)
        turned = bgr_array(image.rotate(turn, expand=True))
        turned_lines, turned_upside_down = self._lines_read(detect(self._page, turned), read_lines)
        sure = length_weighted_confidence(turned_lines)
        if sure < SURE_UPRIGHT:
            lines = read_lines(detection, classified)
            if sure < length_weighted_confidence(lines) - SIDEWAYS_SLACK:
                return self._blocks_with_marks(lines, upside_down, detection.image, read_lines)
        blocks = self._blocks_with_marks(turned_lines, turned_upside_down, turned, read_lines)
        return with_polygons_mapped(blocks, partial(turned_back, degrees=turn, width=image.width, height=image.height))

    def _blocks_with_marks(self, lines: list[Line], upside_down: bool, page: np.ndarray,
                           read_lines: LineReader) -> list[Block]:
        """``_page_blocks`` of the lines and the marks standing apart on their rows (marks_apart.py: colons, lone
        glyphs), each read by ``read_lines`` and kept as marks_apart.kept_readings says."""
        marks = marks_apart(lines, page)
        if marks:
            detection = detected_at(self._page, page, [mark.read_box for mark in marks])
            lines = lines + kept_readings(marks, read_lines(detection, as_detected(detection)))
        return _page_blocks(lines, upside_down, page)

    def _lines_read(self, detection: Detection, read_lines: LineReader) -> tuple[list[Line], bool]:
        """The detected page's lines, and whether the page orientation vote found it upside down."""
        classified = classify(self._page, detection)
        return read_lines(detection, classified), says_upside_down(classified)


def _small_page_outline(image: Image.Image) -> Polygon | None:
    """The outline of the page in ``image``, down to ``SMALL_PAGE_SHARE`` of it (perspective.page_corners), where
    it holds print (``MIN_PRINT``)."""
    corners = page_corners(image, SMALL_PAGE_SHARE)
    if corners is None:
        return None
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    inset_x, inset_y = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    middle = np.asarray(image.crop((round(x0 + inset_x), round(y0 + inset_y), round(x1 - inset_x),
                                    round(y1 - inset_y))).convert("L"))
    if np.count_nonzero(middle < PRINT_GREY * np.median(middle)) < MIN_PRINT * middle.size:
        return None
    return [(float(x), float(y)) for x, y in corners]


def _page_blocks(lines: list[Line], upside_down: bool, page: np.ndarray) -> list[Block]:
    """The blocks of the lines read from ``page`` (BGR), which lies upside down or not, their boxes fitted to
    their print (fitted_boxes.py)."""
    blocks = _upside_down_blocks(lines, page) if upside_down else group_into_blocks(lines, page)
    return fitted_to_ink(blocks, page)


def says_upside_down(classified: Classified | None) -> bool:
    """Whether the page orientation vote found the classified page upside down."""
    return classified is not None and isinstance(classified.verdict, PageVerdict) and classified.verdict.upside_down


def _quarter_turn_upright(text_boxes: list[Polygon], upside_down: bool) -> int:
    """How far to turn a page (counter-clockwise) whose text mostly stands on end so it reads in rows: 0 when it
    does not. rapidocr turns a box at least ``TALL`` times as tall as wide a quarter counter-clockwise to read it, and
    the orientation vote says whether that left it upside down, so which way the page lies. Each box counts
    with its length."""
    on_end = total = 0.0
    for box in text_boxes:
        x0, y0, x1, y1 = bbox_of(box)
        total += max(x1 - x0, y1 - y0)
        on_end += (y1 - y0) if (y1 - y0) >= TALL * (x1 - x0) else 0.0
    if on_end <= total / 2:
        return 0
    return 270 if upside_down else 90


def _upside_down_blocks(lines: list[Line], page: np.ndarray) -> list[Block]:
    """Blocks of a page that lies upside down, its lines read from their turned crops. Reading order, word
    boxes (rapidocr's run backwards along a turned line) and the corners' order (the text's top-left first)
    are all worked out on the page turned upright, then turned back."""
    height, width = page.shape[:2]
    upright = []
    for line in lines:
        polygon = turned_180(line.polygon, width, height)
        polygon = polygon[2:] + polygon[:2] if len(polygon) == 4 else polygon  # the text's top-left first
        upright.append(Line(text=line.text, confidence=line.confidence, polygon=polygon,
                            words=split_into_words(line.text, line.confidence, polygon)))
    blocks = group_into_blocks(upright, turned_upside_down(page))
    return with_polygons_mapped(blocks, partial(turned_180, width=width, height=height))
