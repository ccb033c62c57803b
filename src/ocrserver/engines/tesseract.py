"""Tesseract in-process through the ``tesserocr`` wheel (it bundles libtesseract 5.5, built without OpenMP).

Language data comes from Debian's ``tesseract-ocr-<lang>`` packages. Each engine instance keeps one
``PyTessBaseAPI`` per language combination and reuses it; the pool gives an instance to one thread at
a time, as the API objects are not thread-safe. The page segmentation mode is chosen per job.

A page's lines are found by PP-OCRv6 tiny's detector and each read by Tesseract (detected_lines.py): the page is
turned, read closer, cut into strips, and its lines boxed and ordered as ``ppocr-tiny`` does it. All dev pages
through the server, against Tesseract's own layout: detection F1 0.690 -> 0.829, BoW F1 0.714 -> 0.757, page CER
0.215 -> 0.150, p50 266 -> 389 ms (docs/benchmarks.md). With OCR_TESSERACT_LAYOUT=tesseract (or without the tiny models)
Tesseract's own layout finds them: such pages come back the right way up whichever way they were scanned, read level
when scanned askew (deskew.py), their rows cut into fields (``FIELD_GAP``); a document photographed on a table is
read where its text lies (``TEXT_PART``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ocrserver.deskew import straightened
from ocrserver.engines.base import Engine, EngineInfo, installed_version
from ocrserver.engines.closer_look import area_around
from ocrserver.engines.detected_lines import read_detected_lines
from ocrserver.engines.orientation import load_line_classifier
from ocrserver.engines.page_lines import PageLineFinder, says_upside_down
from ocrserver.engines.page_steps import Classified, Detection
from ocrserver.engines.ppocr import tiny_line_finder
from ocrserver.engines.ppocr_models import find_tiny_models
from ocrserver.engines.spare_cores import never_alone
from ocrserver.errors import EngineUnavailable
from ocrserver.fitted_boxes import with_room_around
from ocrserver.geometry import shifted, turned_back
from ocrserver.imaging import bgr_array
from ocrserver.ink import evenly_lit
from ocrserver.languages import normalize_language, tesseract_code
from ocrserver.layout import count_text_lines, group_into_blocks, split_at_wide_gaps, without_cut_pieces
from ocrserver.result import (
    Block,
    Line,
    Polygon,
    Word,
    bbox_of,
    length_weighted_confidence,
    lines_with_polygons_mapped,
    rect_polygon,
    with_polygons_mapped,
)
from ocrserver.settings import Settings

_NOT_LANGUAGES = {"osd", "equ"}
# A page Tesseract reads with less confidence (its words', weighted by their length) may lie turned: it is read
# again turned counter-clockwise by each of PAGE_TURNS, and the first turned reading this sure is kept. Dev set,
# English pages: upright 0.59-0.90 (two faint receipts 0.09 and 0.28: no turn reads them surely either), the
# same pages turned by 180 degrees 0.09-0.34, by 90 degrees 0.00-0.35. Turned by 270 degrees (text running top
# to bottom) they read as surely as upright, as vertical lines (see read_page), so a page turned by 90 degrees
# is found once turned by 180 more. Tesseract's own orientation detection (PSM.AUTO_OSD) costs 150-250 ms on
# every page and left 8 of 16 upside-down forms unturned.
SURE_PAGE = 0.5
PAGE_TURNS = (180, 270, 90)
# A page whose lines (PP-OCR's detector finding them) Tesseract reads less surely than this is looked at for a
# moving hand's streak (motion_blur.py). Dev pages as scanned read at 0.59-0.93 (a signboard photo 0.32, a faint
# receipt 0.43); blurred 5 px (dev_set.py --blur 5), the forms at 0.22-0.44, the receipts at 0.3-0.93.
STEADY_BELOW = 0.5
# A page line's box is grown by this share of its height on every side: Tesseract boxes the print to the pixel, and
# people leave a little room around a line they label. All dev pages in-process, on the same readings, det F1 at
# IoU 0.5: 0.649 as boxed, 0.676 / 0.690 / 0.681 / 0.654 grown by 0.05 / 0.1 / 0.2 / 0.3 (forms 0.424 -> 0.485,
# receipts 0.749 -> 0.781 at 0.1), 0.673 grown only above and below.
LINE_ROOM = 0.1
# Tesseract makes one line of a whole printed row, "Receipt No.: CS1804/27037      Date: 23/01/2018"; people label
# (and PP-OCR's detector finds) each field apart. A page line is cut where two words lie more than this many
# line heights apart. Dev-set pages, detection F1 at 0.8 / 1.0 / 1.2 / 1.5 / 2.0: 0.597 / 0.646 / 0.644 / 0.637 /
# 0.611, uncut 0.335 (receipts 0.35 -> 0.74, forms 0.20 -> 0.42); the words read are the same.
FIELD_GAP = 1.2
# A region read with less confidence is checked for lying upside down (a straight box drawn on upside-down text) by
# PP-OCR's angle classifier, and read turned when the classifier is sure. Dev-set boxes (every 4th, 678), box CER:
# upright 0.105 either way (no box turned wrongly); the same boxes turned 0.921 -> 0.454 (59 % found). Tesseract
# alone (read turned whenever that reads more surely) turned up to 42 upright boxes wrongly. At 0.7 a quarter of
# upright boxes pay the classifier's millisecond; at 0.9 half, for 0.443.
UNSURE_REGION = 0.7
# A document photographed on a table: Tesseract reads the whole frame at its own resolution, but the table's grain
# and shade spoil its thresholding and layout (the text found in pieces, the grain read as words). When the lines it
# reads at least SURE_LINE sure lie in less than TEXT_PART of the image, and the image around them is darker than
# their part by DARKER_AROUND grey levels or more (medians), that part (with a margin) is read instead.
# Dev pages in a 4000 px photo (benchmarks/dev_set.py --frame 4000), in-process, det F1 / BoW F1 / page CER:
# 0.550 / 0.661 / 0.333 -> 0.639 / 0.699 / 0.252 (as scanned: 0.649 / 0.709 / 0.219), p50 0.81 -> 1.14 s; keeping
# the surer of the two readings instead: 0.589 / 0.673 (grain read as words can look sure); lines read from 0.8
# sure: 0.635 / 0.691. Receipts scanned with wide blank margins also hold their text in a fifth of the image, but
# read again so they read the same, in twice the time: their margins are as light as their paper (0-1 grey levels
# apart; the dev photos' table 120-155 darker).
SURE_LINE = 0.6
TEXT_PART = 0.5
DARKER_AROUND = 32
# A box drawn around a line takes in pieces of the lines above and below it (more so on a page scanned askew), which
# Tesseract reads as lines of garbage. A line at the region's top or bottom edge read less sure than this, or less
# tall or wide than the tallest and widest allow (layout), is dropped when the region holds others
# (layout.without_cut_pieces). 600 English dev boxes padded as the scorer crops them, read as the server reads a
# region, CER: level 0.219 -> 0.193, cut upright from pages 4 degrees askew 0.559 -> 0.252. Unsure lines alone,
# below 0.5 / 0.8: level 0.192 / 0.193, askew 0.303 / 0.254; short lines alone: 0.199, 0.377. Dropping unsure words
# at the edges as well reads worse (a tight box's own words reach its edges), and so does turning askew boxes level.
CUT_PIECE = 0.8
# the levels of Tesseract's TSV rows (api.GetTSVText): 1 page, 2 block, 3 paragraph, 4 line, 5 word
TSV_LINE, TSV_WORD = "4", "5"


def installed_languages(tessdata: Path) -> list[str]:
    """Traineddata files in ``tessdata`` as canonical language codes."""
    names = {path.name.removesuffix(".traineddata") for path in tessdata.glob("*.traineddata")}
    return sorted({normalize_language(name) for name in names - _NOT_LANGUAGES})


class TesseractEngine(Engine):
    name = "tesseract"
    unsure_reading = STEADY_BELOW

    @classmethod
    def probe(cls, settings: Settings) -> EngineInfo:
        wheel = installed_version("tesserocr")
        if wheel is None:
            return EngineInfo.missing(cls.name, "pip install tesserocr")
        tessdata = settings.resolved_tessdata_dir()
        languages = installed_languages(tessdata) if tessdata else []
        if not languages:
            return EngineInfo(
                name=cls.name,
                available=False,
                version=f"tesserocr {wheel}",
                reason="No Tesseract language data found. Install it with: "
                "apt-get install tesseract-ocr-eng (and tesseract-ocr-<lang> for more), or set TESSDATA_PREFIX.",
            )
        return EngineInfo(
            name=cls.name,
            available=True,
            version=f"tesserocr {wheel}, {_libtesseract_version()}",
            model_version=f"tesseract-{_libtesseract_version().split()[-1]}-lstm" + (
                "+PP-OCRv6-tiny-det" if _finds_lines_with_ppocr(settings) else ""),
            languages=languages,
            abilities=["page", "region", "multiline_region", "word_boxes", "blocks", "confidence"],
            reason="More languages: apt-get install tesseract-ocr-<lang> (e.g. tesseract-ocr-rus).",
        )

    def __init__(self, settings: Settings) -> None:
        import tesserocr

        tessdata = settings.resolved_tessdata_dir()
        if tessdata is None:
            raise EngineUnavailable("No Tesseract language data found; apt-get install tesseract-ocr-eng.")
        self._tesserocr = tesserocr
        self._tessdata = str(tessdata)
        self._apis: dict[str, tesserocr.PyTessBaseAPI] = {}
        available = set(installed_languages(tessdata))
        warm = [lang for lang in settings.languages if lang in available] or sorted(available)[:1]
        self._api(warm)
        self._alone: Callable[[], bool] = never_alone
        # PP-OCR tiny's detector finds a page's lines (unless OCR_TESSERACT_LAYOUT=tesseract), on all the cores
        # while this instance's job runs alone
        self._line_finder: PageLineFinder | None = None
        if _finds_lines_with_ppocr(settings):
            self._line_finder = tiny_line_finder(settings, lambda: self._alone())
        # the line finder's angle classifier when there is one, not a second copy of it
        self._orientation = (self._line_finder.orientation if self._line_finder is not None
                             else load_line_classifier(settings.resolved_ort_threads()))

    def _api(self, languages: list[str]) -> Any:  # tesserocr.PyTessBaseAPI (the wheel carries no types)
        key = "+".join(tesseract_code(lang) for lang in languages)
        api = self._apis.get(key)
        if api is None:
            tesserocr = self._tesserocr
            api = tesserocr.PyTessBaseAPI(path=self._tessdata, lang=key, oem=tesserocr.OEM.LSTM_ONLY)
            self._apis[key] = api
        return api

    def share_cores(self, alone: Callable[[], bool]) -> None:
        self._alone = alone

    def read_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """The page's blocks, its boxes on the image as sent: the lines PP-OCR's detector finds, each read by
        Tesseract (detected_lines.py), or with OCR_TESSERACT_LAYOUT=tesseract as Tesseract's layout finds them."""
        if self._line_finder is None:
            return self._read_page_as_laid_out(image, languages)
        return self._line_finder.blocks(image, partial(self._detected_lines, languages=languages), self.unsure_reading)

    def _detected_lines(self, detection: Detection, classified: Classified | None, languages: list[str]) -> list[Line]:
        return read_detected_lines(detection, says_upside_down(classified), partial(self._read_region, languages=languages))

    def _read_page_as_laid_out(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """The page's blocks as Tesseract's page layout finds them. A page read unsure (``SURE_PAGE``) is read
        again turned (``PAGE_TURNS``); one read surely as text running top to bottom, again a quarter turn further."""
        degrees, blocks = self._sure_reading(image, languages)
        if runs_top_to_bottom(blocks) and reading_confidence(blocks) >= SURE_PAGE:
            # Tesseract reads a page lying on its right side as vertical lines, whole; upright, its rows read as
            # fields (dev set: detection F1 0.34 -> 0.64). Text written in columns turned sideways reads unsure: kept.
            upright = (degrees + 90) % 360
            turned = self._read_page(image.rotate(upright, expand=True), languages)
            if reading_confidence(turned) >= SURE_PAGE:
                degrees, blocks = upright, turned
        if degrees:
            blocks = with_polygons_mapped(blocks, partial(turned_back, degrees=degrees, width=image.width, height=image.height))
        return with_room_around(blocks, LINE_ROOM, image.width, image.height)

    def _sure_reading(self, image: Image.Image, languages: list[str]) -> tuple[int, list[Block]]:
        """The page read as sent or, when unsure, the first sure reading of it turned by one of ``PAGE_TURNS``:
        how far it was turned, and its blocks on the turned page (the page as sent when no turn is sure)."""
        upright = self._read_page(image, languages)
        if reading_confidence(upright) >= SURE_PAGE:
            return 0, upright
        for degrees in PAGE_TURNS:
            turned = self._read_page(image.rotate(degrees, expand=True), languages)
            if reading_confidence(turned) >= SURE_PAGE:
                return degrees, turned
        return 0, upright

    def _read_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """One read of the page as given, or of the part of it that holds its text when that is a small part
        (``TEXT_PART``: a document photographed on a table)."""
        blocks = self._read_straightened(image, languages)
        sure = [line.polygon for block in blocks for line in block.lines
                if line.confidence >= SURE_LINE and len(line.text) > 1]
        if not sure:
            return blocks
        line_height = statistics.median(min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in map(bbox_of, sure))  # across or down
        part = area_around(sure, line_height, image.width, image.height)
        x0, y0, x1, y1 = part
        if (x1 - x0) * (y1 - y0) >= TEXT_PART * image.width * image.height or not darker_around(image, part):
            return blocks
        return with_polygons_mapped(self._read_straightened(image.crop(part), languages), partial(shifted, dx=x0, dy=y0))

    def _read_straightened(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """One read of the image, turned level first when it lies askew (deskew.py), its lines cut into fields."""
        level = straightened(image)
        if level is None:
            return self._read_level_page(image, languages)
        return with_polygons_mapped(self._read_level_page(level.image, languages), level.to_page)

    def _read_level_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        blocks = self._blocks_read(image, languages, self._tesserocr.PSM.AUTO)
        fields = [piece for block in blocks for line in block.lines for piece in split_at_wide_gaps(line, FIELD_GAP)]
        return group_into_blocks(fields, np.asarray(image))

    def _blocks_read(self, image: Image.Image, languages: list[str], mode: int) -> list[Block]:
        """What Tesseract reads on ``image`` in page segmentation mode ``mode``."""
        api = self._api(languages)
        api.SetPageSegMode(mode)
        api.SetImage(image)
        api.Recognize()
        return blocks_from_tsv(api)

    def read_region(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        """The region's lines. One read unsure (``UNSURE_REGION``) that the angle classifier finds upside down is
        read again turned, and that reading kept if it is surer (boxes on the region as drawn)."""
        lines = self._read_region(crop, languages)
        confidence = length_weighted_confidence(lines)
        if confidence < UNSURE_REGION and self._orientation.sure_upside_down(bgr_array(crop)):
            turned = self._read_region(crop.rotate(180), languages)
            if length_weighted_confidence(turned) > confidence:
                back = partial(turned_back, degrees=180, width=crop.width, height=crop.height)
                return lines_with_polygons_mapped(turned, back)
        return lines

    def _read_region(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        psm = self._tesserocr.PSM
        crop = _evenly_lit(crop)
        # Single-line mode for one line, block mode for more: dev-set box CER 0.093 (vs 0.174 by aspect ratio).
        one_line = count_text_lines(np.asarray(crop)) <= 1
        blocks = self._blocks_read(crop, languages, psm.SINGLE_LINE if one_line else psm.SINGLE_BLOCK)
        if not blocks and one_line:
            # single-line mode reads nothing on some clean lines ("40300 SHAH ALAM, SELANGOR."); raw-line mode, which
            # takes the crop for the line without looking for one in it, reads them. interactive.py's 2714 dev boxes
            # drawn as an annotator draws them, in-process, CER 0.167 -> 0.130 (block mode instead: 0.152; raw-line
            # mode first: 0.156); all dev pages: det F1 0.828 -> 0.831, page CER 0.154 -> 0.144, BoW F1 0.752 -> 0.753
            blocks = self._blocks_read(crop, languages, psm.RAW_LINE)
        return without_cut_pieces([line for block in blocks for line in block.lines], crop.height, CUT_PIECE)

    def close(self) -> None:
        for api in self._apis.values():
            api.End()
        self._apis.clear()


def _evenly_lit(crop: Image.Image) -> Image.Image:
    """``crop`` in grey divided by its paper's brightness where a shadow falls across it (``ink.evenly_lit``):
    Tesseract's own threshold (Otsu's) would part light from shadow, not ink from paper. Else ``crop`` as it is."""
    grey = np.asarray(crop.convert("L"))
    lit = evenly_lit(grey)
    return crop if lit is grey else Image.fromarray(lit)


def _finds_lines_with_ppocr(settings: Settings) -> bool:
    """Whether PP-OCRv6 tiny finds a page's lines for Tesseract to read: OCR_TESSERACT_LAYOUT=ppocr, and installed."""
    return settings.tesseract_layout == "ppocr" and find_tiny_models() is not None


def reading_confidence(blocks: list[Block]) -> float:
    """How sure Tesseract is of a reading: its words' confidences weighted by their length (0 for no text)."""
    return length_weighted_confidence([word for block in blocks for line in block.lines for word in line.words])


def runs_top_to_bottom(blocks: list[Block]) -> bool:
    """Whether most of a reading's text (in lines of several words) lies in lines whose words run down the page."""
    down = across = 0
    for line in (line for block in blocks for line in block.lines if len(line.words) > 1):
        x0, y0, x1, y1 = bbox_of(line.words[0].polygon)
        u0, v0, u1, v1 = bbox_of(line.words[-1].polygon)
        if (v0 + v1) - (y0 + y1) > abs((u0 + u1) - (x0 + x1)):
            down += len(line.text)
        else:
            across += len(line.text)
    return down > across


def darker_around(image: Image.Image, part: tuple[int, int, int, int]) -> bool:
    """Whether the image around ``part`` is darker than the part (``DARKER_AROUND``, medians): a table around a
    document photographed on it, not the blank margin of a scan."""
    step = max(1, max(image.size) // 500)  # a few hundred pixels a side tell the surroundings' shade
    gray = np.asarray(image.convert("L").reduce(step))
    x0, y0, x1, y1 = (edge // step for edge in part)
    inside = np.zeros(gray.shape, dtype=bool)
    inside[y0:y1, x0:x1] = True
    if inside.all():
        return False
    return float(np.median(gray[inside])) - float(np.median(gray[~inside])) >= DARKER_AROUND


def blocks_from_tsv(api: object) -> list[Block]:
    """The blocks, lines and words Tesseract read with ``api``, in reading order, from its TSV output. (tesserocr's
    result iterator spells each word left to right: a word in Arabic or Hebrew came back written backwards and its
    line cut to its first word. Tesseract's TSV writer asks for them in reading order.)"""
    line_boxes: dict[tuple[str, str, str], Polygon] = {}
    line_words: dict[tuple[str, str, str], list[Word]] = {}
    for row in (api.GetTSVText(0) or "").splitlines():  # type: ignore[attr-defined]
        level, _page, block, paragraph, line, _word, left, top, width, height, confidence, text = row.split("\t", 11)
        x0, y0 = int(left), int(top)
        box = rect_polygon(x0, y0, x0 + int(width), y0 + int(height))
        if level == TSV_LINE:
            line_boxes[block, paragraph, line] = box
        elif level == TSV_WORD and text.strip():
            word = Word(text=text.strip(), confidence=float(confidence) / 100.0, polygon=box)
            line_words.setdefault((block, paragraph, line), []).append(word)
    blocks: dict[str, list[Line]] = {}
    for (block, paragraph, line), words in line_words.items():
        blocks.setdefault(block, []).append(Line(
            text=" ".join(word.text for word in words),
            confidence=sum(word.confidence for word in words) / len(words),
            polygon=line_boxes[block, paragraph, line],
            words=words,
        ))
    return [Block(lines=lines) for lines in blocks.values()]


def _libtesseract_version() -> str:
    import tesserocr

    first = tesserocr.tesseract_version().splitlines()[0]
    return first.strip()
