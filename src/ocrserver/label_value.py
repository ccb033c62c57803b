"""A Chinese or Japanese form's label and its value, found as one line, told apart.

A form sets its values apart from their labels (``联系电话：  13459803880``), and forms are labelled and read that
way: the question and its answer two fields (layout.py groups a label beside its value as two fields of one row;
the page's text still writes them on one line). PP-OCR's detector finds the two as one line when the colon's
dots bridge the gap. Such a line is parted after the label's colon when its print shows an empty stretch there of
at least ``LABEL_GAP`` of its height: a full-width colon leaves about half its height of paper after its dots
when the text runs on (``日期：2019年5月16日``, 0.41-0.71 of the height on the dev set's pages), a value set apart
stands further (0.87-1.77).

Only labels written in a wide script: Latin print has no one convention to follow (the dev set's receipts keep
117 ``LABEL: value`` lines whole and part 127), and parting after a Latin label's colon too lost more on the
receipts than it gained on the forms (in-process, det F1 at IoU 0.5: receipts 0.915 -> 0.897, forms 0.707 ->
0.714). All 61 dev pages in-process (``ppocr``): det F1 0.840 -> 0.847, BoW F1 0.869 -> 0.871; the synthetic
Chinese pages 0.888 / 0.981 -> 1.000 / 1.000, every other page as before.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from ocrserver.errors import InvalidRegion
from ocrserver.geometry import rectify
from ocrserver.ink import ink
from ocrserver.result import Line, Word, rect_polygon

# A colon, in its Latin and its full-width form.
COLONS = (":", "：")
# The least empty stretch after a label's colon, in the line's print heights, that sets its value apart.
LABEL_GAP = 0.8
# Where the colon lies along the line is reckoned from its text (a wide character one unit, any other half): the
# gap must begin within this many print heights of there.
WITHIN = 2.0


def label_and_value(line: Line, page: np.ndarray) -> list[Line]:
    """The line as a label and its value (two lines, more when the value holds a label of its own), when it holds
    both set apart on ``page``, where it lies (module docstring); else the line alone."""
    colon = _label_colon(line.text)
    if colon is None or len(line.polygon) != 4:
        return [line]
    try:
        crop = rectify(page, line.polygon, pad_ratio=0.0, min_pad=0.0)
    except InvalidRegion:
        return [line]
    gap = _gap_after(ink(crop.image) > 0, _share(line.text[:colon + 1]) / _share(line.text))
    if gap is None:
        return [line]
    height, width = crop.image.shape[:2]
    label_text, value_text = line.text[:colon + 1].strip(), line.text[colon + 1:].strip()
    label_words, value_words = _words_parted(line.words, len(label_text.replace(" ", "")))
    label = Line(text=label_text, confidence=line.confidence, words=label_words,
                 polygon=crop.map_polygon(rect_polygon(0, 0, gap[0], height)))
    value = Line(text=value_text, confidence=line.confidence, words=value_words,
                 polygon=crop.map_polygon(rect_polygon(gap[1], 0, width, height)))
    return [label, *label_and_value(value, page)]


def _label_colon(text: str) -> int | None:
    """Where the colon ending a label lies in a line's text: its first colon, when a label in a wide script (one
    wide character at least) stands before it and a letter or digit after it; else None."""
    for index, character in enumerate(text):
        if character in COLONS:
            label, value = text[:index], text[index + 1:]
            if any(_wide(c) and c.isalpha() for c in label) and any(c.isalnum() for c in value):
                return index
            return None
    return None


def _wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def _share(text: str) -> float:
    """How much room the text takes along its line, a wide character one unit and any other half."""
    return sum(1.0 if _wide(character) else 0.5 for character in text)


def _gap_after(marks: np.ndarray, along: float) -> tuple[int, int] | None:
    """The first and past-last column of the empty stretch of a line's ink (``marks``, crop pixels) that sets a
    value apart: at least ``LABEL_GAP`` of the print's height wide, beginning within ``WITHIN`` heights of
    ``along`` (a share) of the way through the print, the nearest such; None when there is none."""
    rows, columns = np.flatnonzero(marks.any(axis=1)), np.flatnonzero(marks.any(axis=0))
    if rows.size == 0:
        return None
    height = float(rows[-1] - rows[0] + 1)
    expected = columns[0] + along * (columns[-1] + 1 - columns[0])
    gaps = [(int(before) + 1, int(after)) for before, after in zip(columns[:-1], columns[1:], strict=True)
            if after - before - 1 >= LABEL_GAP * height and abs(before + 1 - expected) <= WITHIN * height]
    return min(gaps, key=lambda gap: abs(gap[0] - expected)) if gaps else None


def _words_parted(words: list[Word], label_length: int) -> tuple[list[Word], list[Word]]:
    """A line's words (in reading order) parted into its label's, the first ``label_length`` characters (spaces
    aside), and its value's; a word across the two goes with the label."""
    taken = 0
    for index, word in enumerate(words):
        if taken >= label_length:
            return words[:index], words[index:]
        taken += len(word.text.replace(" ", ""))
    return words, []
