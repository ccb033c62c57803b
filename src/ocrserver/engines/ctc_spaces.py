"""Spaces the recogniser saw but did not write.

PP-OCR's recognisers drop many spaces between words in evenly spaced print (receipts, typewritten forms):
"GINKEE" for "GIN KEE", "TEL:03-40210276" for "TEL : 03-40210276". At the gap between the two words the
model's space probability is raised but loses to "blank" (CTC's "nothing here"), so greedy decoding writes
nothing. A space is written when, between two characters of a script that separates words with spaces, the
model gives a space at least ``SPACE_AT_LEAST`` somewhere in the gap and the gap is wider than the line's usual
step from one character to the next (``WIDER_THAN_PITCH`` times its median): both the model and the geometry
say there is a gap. Dev set, single-line boxes, recogniser alone, case-insensitive:

    recogniser   receipts CER   line acc        lines changed: better / worse   form boxes CER
    small        0.020 -> 0.015  0.830 -> 0.867  74 / 2                          0.316 -> 0.315
    tiny         0.037 -> 0.029  0.735 -> 0.786  129 / 12                        0.318 -> 0.317

Most of the "worse" lines are a space before a colon that the labels leave out ("TOTAL :" for "TOTAL:").
Scripts written without spaces (Chinese, Japanese, Korean characters) are never given one.

Where the model gives the space less (``INK_SPACE_AT_LEAST``), the line's print decides: the recogniser's own input
shows an empty stretch between the two characters at least ``INK_GAP_HEIGHTS`` of the print's height wide and
``INK_GAP_OVER_USUAL`` times the line's usual one. A receipt's date and time a full character apart,
"03/05/2018  20:24", got a space at 0.034 and was written "03/05/201820:24"; a heading's "TAX INVOICE" at 0.046.
Narrow letters stand further from their neighbours than most ("Descript ion", "WHOL EMEAL" at twice the usual
gap), hence three times. A narrow "1" in evenly spaced print stands apart too, but the model mostly gives a space
there 0.003 at most. Digits are printed in cells of one width, in proportional fonts too, so a narrow digit's cell
is mostly paper: between two digits the steps must show a space's whole cell as well (``DIGITS_APART``), as
"2018  20:24" does (twice the usual step) and a faded "...051 39" (1.3 times, 0.032 from PP-OCR tiny) does not.
Dev set, in-process, BoW F1 of the pages / boxes' WER and line accuracy: small 0.8714 -> 0.8735 / 0.1675 -> 0.1640,
0.808 -> 0.812; tiny 0.8239 -> 0.8308 / 0.2140 -> 0.2076, 0.751 -> 0.758.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ocrserver.engines.ctc_punctuation import BLANK, LatinPunctuation
from ocrserver.engines.ctc_words import ReadingWords, WordChoice
from ocrserver.ink import ink
from ocrserver.result import Word, spanning

SPACE_AT_LEAST = 0.2
WIDER_THAN_PITCH = 1.25
# where the model gives a space less, the print must show it (module docstring); below this the model saw none (the
# dev pages' narrow "1"s standing apart in evenly spaced print: 0.000-0.004 from PP-OCRv6 small; the spaces it
# missed there: 0.02-0.17)
INK_SPACE_AT_LEAST = 0.01
INK_GAP_HEIGHTS = 0.4
INK_GAP_OVER_USUAL = 3.0
DIGITS_APART = 1.75  # times the line's usual step from one character to the next
# rows of a line's input holding at least this share of the fullest row's ink are its print (a neighbouring line's
# edge cut in at the top or bottom holds less)
PRINT_ROW_INK = 0.15


def separates_words(character: str) -> bool:
    """Whether a space may stand next to ``character``: a printable character of a script that puts spaces
    between words (not a CJK ideograph, kana or full-width form)."""
    return (
        len(character) == 1
        and not character.isspace()
        and unicodedata.east_asian_width(character) not in ("W", "F")
    )


@dataclass(frozen=True)
class LinePrint:
    """Where a line's print leaves the paper empty, as the recogniser saw it (its input, resized to its height)."""

    empty_runs: np.ndarray  # runs of columns with no ink in the print's rows: (start, end) pixels, end excluded
    height: int  # the print's height, pixels
    step_width: float  # pixels per time step of the recogniser's output

    def widest_gaps(self, steps: np.ndarray) -> np.ndarray:
        """The widest empty run between each two consecutive time steps' middles, pixels."""
        middles = (steps + 0.5) * self.step_width
        starts, ends = self.empty_runs[:, 0], self.empty_runs[:, 1]
        within = np.minimum(ends[:, None], middles[None, 1:]) - np.maximum(starts[:, None], middles[None, :-1])
        return within.clip(min=0).max(axis=0, initial=0)


def line_print(line_input: np.ndarray, width: int, steps: int) -> LinePrint | None:
    """The print of one line of a recogniser's input batch (channels × height × padded width, scaled to -1..1, as
    rapidocr feeds it), the line's own ``width`` pixels of it; ``steps``: the output's time steps. None when the
    line shows no print."""
    grey = ((line_input[:, :, :width].mean(axis=0) + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    if grey.size == 0 or int(grey.max()) - int(grey.min()) < 2:
        return None
    marks = ink(grey) > 0
    per_row = marks.sum(axis=1)
    rows = np.flatnonzero(per_row >= PRINT_ROW_INK * per_row.max())
    if per_row.max() == 0 or len(rows) < 2:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    empty = ~marks[top:bottom].any(axis=0)
    edges = np.flatnonzero(np.diff(np.r_[0, empty.astype(np.int8), 0]))
    return LinePrint(edges.reshape(-1, 2), bottom - top, line_input.shape[2] / steps)


class Spacing:
    """What the spaces written depend on in a recogniser's alphabet: where the space is, which characters may
    stand next to one (``separates_words``), which are digits."""

    def __init__(self, alphabet: Sequence[str]) -> None:
        self.space = len(alphabet) - 1 - list(alphabet)[::-1].index(" ")  # rapidocr appends it last
        self.spaceable = np.array([separates_words(c) for c in alphabet], dtype=bool)
        self.spaceable[BLANK] = False
        self.digit = np.array([c.isdigit() for c in alphabet], dtype=bool)


class SpaceRecoveringDecoder:
    """A drop-in for rapidocr's CTCLabelDecode: writes the spaces the model saw (module docstring) into the
    recogniser's output, the Latin form of punctuation it wrote full-width among Latin letters
    (ctc_punctuation.py) and, reading with a word list (``words``), the words its second choices spell where it misread
    one (ctc_words.py), then decodes as rapidocr does. ``decoder.character`` must hold the space. The print is
    looked at when the recogniser's session is ``showing`` its input to the decoder."""

    def __init__(self, decoder: Any, words: ReadingWords | None = None) -> None:
        self.decoder = decoder
        alphabet: list[str] = decoder.character
        self.spacing = Spacing(alphabet)
        self.punctuation = LatinPunctuation(alphabet)
        self.words = words
        self.word_choice = WordChoice(alphabet, self.spacing.spaceable)
        self._seen = threading.local()  # the batch the session last ran on this thread

    def showing(self, session: Any) -> Any:
        """``session`` (a rapidocr recogniser's, called with the input batch), showing each batch to this decoder."""
        return _ShowingSession(session, self)

    def see(self, batch: np.ndarray) -> None:
        """The input batch whose output this thread decodes next."""
        self._seen.batch = batch

    def __call__(self, preds: np.ndarray, return_word_box: bool = False, **kwargs: Any) -> Any:
        # CTCLabelDecode.__call__, with the recovered spaces written into the greedy path before decoding
        best = preds.argmax(axis=2)
        probability = np.take_along_axis(preds, best[..., np.newaxis], axis=2)[..., 0]
        prints = self._prints(preds, kwargs.get("wh_ratio_list"))
        word_list = self.words.current() if self.words is not None else None
        for line, steps in enumerate(preds):
            for step in recovered_space_steps(steps, best[line], self.spacing, prints[line] if prints else None):
                best[line, step] = self.spacing.space
                if steps[step, self.spacing.space] >= SPACE_AT_LEAST:  # the model's space: its own, lower confidence
                    probability[line, step] = steps[step, self.spacing.space]
                # the print's space keeps the model's confidence that no character stands there: a line's score
                # would drop by a tenth for each such space (a ten-character line), below what keeps a page's line
            self.punctuation.fold(best[line])
            if word_list is not None:
                self.word_choice.choose(steps, best[line], probability[line], word_list)
        return self.decoder.decode(
            best, probability, return_word_box,
            kwargs.get("wh_ratio_list", (1.0,)), kwargs.get("max_wh_ratio", 1.0), remove_duplicate=True,
        )

    def _prints(self, preds: np.ndarray, width_ratios: Sequence[float] | None) -> list[Callable[[], LinePrint | None]]:
        """How to look at each line's print, from the batch the session last ran, when that batch gave ``preds``;
        none otherwise. Looking is left until a faint space asks for it (a few lines of a page: 0.3 ms a line)."""
        batch = getattr(self._seen, "batch", None)
        self._seen.batch = None
        if batch is None or width_ratios is None or len(batch) != len(preds) or len(width_ratios) != len(preds):
            return []
        height, padded = batch.shape[2], batch.shape[3]
        # rapidocr resizes each line to the input's height, its width rounded up (resize_norm_img)
        return [partial(line_print, line, min(padded, int(np.ceil(height * ratio))), preds.shape[1])
                for line, ratio in zip(batch, width_ratios, strict=True)]


class _ShowingSession:
    """A recogniser's session that hands each input batch to its decoder before running it."""

    def __init__(self, session: Any, decoder: SpaceRecoveringDecoder) -> None:
        self.session = session
        self.decoder = decoder

    def __call__(self, batch: np.ndarray) -> Any:
        self.decoder.see(batch)
        return self.session(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def recovered_space_steps(steps: np.ndarray, best: np.ndarray, spacing: Spacing,
                          look_at_print: Callable[[], LinePrint | None] | None = None) -> list[int]:
    """The time steps of one line (``steps``: time steps × alphabet, probabilities; ``best``: the most probable
    entry at each) where a space the model saw but did not write belongs (module docstring); ``look_at_print``
    gives the line's print, for where the model saw a space only faintly."""
    emitted = np.flatnonzero((best != BLANK) & np.r_[True, best[1:] != best[:-1]])
    if len(emitted) < 3:
        return []
    pitch = float(np.median(np.diff(emitted)))
    found, faint = [], []
    for index, (before, after) in enumerate(zip(emitted[:-1], emitted[1:], strict=False)):
        if after - before < max(2.0, WIDER_THAN_PITCH * pitch):
            continue
        if not (spacing.spaceable[best[before]] and spacing.spaceable[best[after]]):
            continue
        gap = np.arange(before + 1, after)
        gap = gap[best[gap] == BLANK]  # a step still inside a character's run would repeat it
        if len(gap) == 0:
            continue
        step = int(gap[steps[gap, spacing.space].argmax()])
        if steps[step, spacing.space] >= SPACE_AT_LEAST:
            found.append(step)
        elif steps[step, spacing.space] >= INK_SPACE_AT_LEAST:
            between_digits = spacing.digit[best[before]] and spacing.digit[best[after]]
            if after - before >= DIGITS_APART * pitch or not between_digits:
                faint.append((index, step))
    print_ = look_at_print() if faint and look_at_print is not None else None
    if print_ is not None:
        gaps = print_.widest_gaps(emitted)
        wide = max(INK_GAP_HEIGHTS * print_.height, INK_GAP_OVER_USUAL * float(np.median(gaps)), 1)
        found += [step for index, step in faint if gaps[index] >= wide]
    return found


def join_word_pieces(text: str, pieces: list[Word]) -> list[Word]:
    """rapidocr's word boxes, joined where it split a word the line's text does not split. rapidocr (after
    PaddleOCR) also ends a word wherever two characters lie more than 5 time steps apart, which cuts wide
    letters in big print ("am" / "ount"); a space, when there is one, is written by the decoder above. Pieces
    not parted by a space in ``text`` are joined when the characters either side separate words with spaces
    (a change between Chinese and Latin stays a word boundary). Pieces that do not match ``text`` are kept."""
    if len(pieces) < 2:
        return pieces
    starts, position = [], 0
    for piece in pieces:
        start = text.find(piece.text, position)
        if start < 0:
            return pieces
        starts.append(start)
        position = start + len(piece.text)
    joined = [pieces[0]]
    for index in range(1, len(pieces)):
        previous, piece = joined[-1], pieces[index]
        parted = text[starts[index - 1] + len(pieces[index - 1].text):starts[index]]
        if parted or not (separates_words(previous.text[-1]) and separates_words(piece.text[0])):
            joined.append(piece)
            continue
        joined[-1] = Word(text=previous.text + piece.text, confidence=min(previous.confidence, piece.confidence),
                          polygon=spanning(previous.polygon, piece.polygon))
    return joined
