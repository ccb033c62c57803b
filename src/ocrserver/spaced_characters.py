"""Characters an engine found or read one by one that belong together: a number written in a comb of boxes on a
form (the detector finds each box's digit apart) and a word set letter-spaced (the recogniser writes a space
between its letters)."""

from __future__ import annotations

import numpy as np

from ocrserver.ink import ink
from ocrserver.result import Box, Line, Word, bbox_of, rect_polygon, slant_of, spanning

# Single letters or digits found one by one, at least COMB_RUN in a row, each at most COMB_GAP of its height from
# the next, are a number or code written in a comb of boxes (a sort code, a date, a postcode on a form): the
# characters as far apart as most of the run's (within COMB_PITCH of its median step) make one line.
COMB_RUN = 3
COMB_GAP = 1.0
COMB_PITCH = 0.3


def combs_joined(lines: list[Line]) -> list[Line]:
    """The lines, with each run of single characters written in a comb of boxes (the detector finds each box's
    character apart) joined into one line: "2", "0", "4", "6", "1", "7" → "204617". Characters run left to right
    on a row, each close to the next (``COMB_GAP``) and evenly spaced (``COMB_PITCH``)."""
    singles = sorted((line for line in lines if len(line.text.strip()) == 1 and line.text.strip().isalnum()),
                     key=lambda line: bbox_of(line.polygon)[0])
    runs: list[list[Line]] = []
    for line in singles:
        run = next((run for run in runs if _next_in_comb(bbox_of(run[-1].polygon), bbox_of(line.polygon))), None)
        if run is None:
            runs.append([line])
        else:
            run.append(line)
    joined: dict[int, Line] = {}  # by the id of a run's first line; its other lines are left out
    left_out: set[int] = set()
    for run in (run for run in runs if len(run) >= COMB_RUN):
        for piece in _evenly_spaced(run):  # a date's day, month and year in their own groups of boxes
            if len(piece) >= 2:
                joined[id(piece[0])] = _one_line(piece)
                left_out.update(id(line) for line in piece[1:])
    return [joined.get(id(line), line) for line in lines if id(line) not in left_out]


# A line read with at least LETTER_RUN single letters or digits apart may be set letter-spaced ("I N V O I C E"); it
# is when its characters' ink stands apart by a median gap of LETTER_GAP of the ink's height or more (in running
# print, a tenth or less). A gap more than WORD_GAP times the median then parts two words.
LETTER_RUN = 3
LETTER_GAP = 0.25
WORD_GAP = 1.8


def letter_spacing_closed(line: Line, page: np.ndarray) -> Line:
    """The line written as the words of its letter-spaced print ("I N 2 0 2 4 T H E" or "TAX INVO ICE 2 0 2 4" →
    "IN 2024 THE", "TAX INVOICE 2024"): the recogniser writes a space wherever letters stand well apart, and not
    always the same. The words are told on ``page``, where the line lies (level, within 2 degrees): its columns
    of ink must make as many characters as were read, apart by at least ``LETTER_GAP`` of their height (the
    median gap), and the gaps wider than ``WORD_GAP`` times the median are the spaces between words. Any other
    line is returned as it was."""
    tokens = line.text.split()
    if (sum(len(token) == 1 and token.isalnum() for token in tokens) < LETTER_RUN or len(line.polygon) != 4
            or abs(slant_of(line.polygon)) > 2):
        return line
    x0, y0, x1, y1 = (max(0, round(value)) for value in bbox_of(line.polygon))
    marks = ink(page[y0:y1, x0:x1]) > 0 if y1 > y0 and x1 > x0 else np.zeros((0, 0), dtype=bool)
    rows = np.flatnonzero(marks.any(axis=1))
    characters = "".join(tokens)
    edges = np.flatnonzero(np.diff(np.r_[False, marks.any(axis=0), False].astype(np.int8)))  # each one's first and past-last column
    starts, ends = edges[0::2], edges[1::2]
    if rows.size == 0 or len(starts) != len(characters) or len(characters) < 2:
        return line
    gaps = starts[1:] - ends[:-1]
    usual = float(np.median(gaps))
    if usual < LETTER_GAP * (rows[-1] - rows[0] + 1):  # running print, its characters as close as usual
        return line
    groups: list[list[int]] = [[0]]
    for index, gap in enumerate(gaps, start=1):
        if gap > WORD_GAP * usual:
            groups.append([])
        groups[-1].append(index)
    words = [Word(text="".join(characters[index] for index in group), confidence=line.confidence,
                  polygon=rect_polygon(float(x0 + starts[group[0]]), y0, float(x0 + ends[group[-1]]), y1)) for group in groups]
    return Line(text=" ".join(word.text for word in words), confidence=line.confidence, polygon=line.polygon, words=words)


def _next_in_comb(before: Box, box: Box) -> bool:
    height = min(before[3] - before[1], box[3] - box[1])
    return (height > 0 and abs((box[1] + box[3]) - (before[1] + before[3])) / 2 < 0.5 * height
            and -0.1 * height <= box[0] - before[2] <= COMB_GAP * height)


def _evenly_spaced(run: list[Line]) -> list[list[Line]]:
    """A run cut where the step from one character's middle to the next's differs from the run's median step by
    more than ``COMB_PITCH`` of it (a wider gap between two groups, a field's end)."""
    middles = [(x0 + x1) / 2 for x0, _, x1, _ in map(bbox_of, (line.polygon for line in run))]
    steps = np.diff(middles)
    if len(steps) == 0:
        return [run]
    usual = float(np.median(steps))
    pieces = [[run[0]]]
    for line, step in zip(run[1:], steps, strict=True):
        if abs(step - usual) > COMB_PITCH * usual:
            pieces.append([])
        pieces[-1].append(line)
    return pieces


def _one_line(characters: list[Line]) -> Line:
    """Characters found one by one, as one line (and one word) from the first one's left edge to the last one's right."""
    polygon = spanning(characters[0].polygon, characters[-1].polygon)
    text, confidence = "".join(line.text.strip() for line in characters), min(line.confidence for line in characters)
    return Line(text=text, confidence=confidence, polygon=polygon, words=[Word(text=text, confidence=confidence, polygon=polygon)])
