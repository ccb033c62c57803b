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
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from ocrserver.engines.ctc_punctuation import BLANK, LatinPunctuation
from ocrserver.result import Word, spanning

SPACE_AT_LEAST = 0.2
WIDER_THAN_PITCH = 1.25


def separates_words(character: str) -> bool:
    """Whether a space may stand next to ``character``: a printable character of a script that puts spaces
    between words (not a CJK ideograph, kana or full-width form)."""
    return (
        len(character) == 1
        and not character.isspace()
        and unicodedata.east_asian_width(character) not in ("W", "F")
    )


class SpaceRecoveringDecoder:
    """A drop-in for rapidocr's CTCLabelDecode: writes the spaces the model saw (module docstring) into the
    recogniser's output, and the Latin form of punctuation it wrote full-width among Latin letters
    (ctc_punctuation.py), then decodes as rapidocr does. ``decoder.character`` must hold the space."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        alphabet: list[str] = decoder.character
        self.space = len(alphabet) - 1 - alphabet[::-1].index(" ")  # rapidocr appends it last
        self.spaceable = np.array([separates_words(c) for c in alphabet], dtype=bool)
        self.spaceable[BLANK] = False
        self.punctuation = LatinPunctuation(alphabet)

    def __call__(self, preds: np.ndarray, return_word_box: bool = False, **kwargs: Any) -> Any:
        # CTCLabelDecode.__call__, with the recovered spaces written into the greedy path before decoding
        best = preds.argmax(axis=2)
        probability = np.take_along_axis(preds, best[..., np.newaxis], axis=2)[..., 0]
        for line, steps in enumerate(preds):
            for step in recovered_space_steps(steps, best[line], self.space, self.spaceable):
                best[line, step] = self.space
                probability[line, step] = steps[step, self.space]  # the space's own, lower confidence
            self.punctuation.fold(best[line])
        return self.decoder.decode(
            best, probability, return_word_box,
            kwargs.get("wh_ratio_list", (1.0,)), kwargs.get("max_wh_ratio", 1.0), remove_duplicate=True,
        )


def recovered_space_steps(steps: np.ndarray, best: np.ndarray, space: int, spaceable: np.ndarray) -> Sequence[int]:
    """The time steps of one line (``steps``: time steps × alphabet, probabilities; ``best``: the most probable
    entry at each) where a space the model saw but did not write belongs (module docstring)."""
    emitted = np.flatnonzero((best != BLANK) & np.r_[True, best[1:] != best[:-1]])
    if len(emitted) < 3:
        return []
    pitch = float(np.median(np.diff(emitted)))
    found = []
    for before, after in zip(emitted[:-1], emitted[1:], strict=False):
        if after - before < max(2.0, WIDER_THAN_PITCH * pitch):
            continue
        if not (spaceable[best[before]] and spaceable[best[after]]):
            continue
        gap = np.arange(before + 1, after)
        gap = gap[best[gap] == BLANK]  # a step still inside a character's run would repeat it
        if len(gap) == 0:
            continue
        step = int(gap[steps[gap, space].argmax()])
        if steps[step, space] >= SPACE_AT_LEAST:
            found.append(step)
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
