"""Latin punctuation where the recogniser wrote its full-width form among Latin letters and digits.

PP-OCR's alphabets hold both forms of most punctuation: the ASCII colon and the full-width one Chinese print uses,
the full stop and the ideographic one. Their shapes differ only in the room around them, so in Latin print the
recogniser writes the full-width form now and then: ``GST ID：001661886464``, ``BUTLER，MIDDLETON``,
``400 F.P.M。``. A user searching the text for "GST ID:" would not find it. Such a mark is written in its Latin
form where the characters either side of it (the nearest ones, spaces aside) are not Chinese, Japanese or Korean;
beside those, the full-width form is the right one (``电话：038-29300525``) and is kept.
"""

from __future__ import annotations

import unicodedata

import numpy as np

BLANK = 0  # CTC's "no character here", first in rapidocr's alphabet
# marks whose Latin form NFKC does not give
IDEOGRAPHIC_FORMS = {"。": ".", "、": ","}


def latin_form(character: str) -> str | None:
    """The Latin (ASCII) form of a full-width or ideographic punctuation mark, or None for any other character."""
    if len(character) != 1 or unicodedata.east_asian_width(character) not in ("W", "F"):
        return None
    if character in IDEOGRAPHIC_FORMS:
        return IDEOGRAPHIC_FORMS[character]
    folded = unicodedata.normalize("NFKC", character)
    return folded if len(folded) == 1 and folded.isascii() and not folded.isalnum() else None


class LatinPunctuation:
    """For one recogniser's alphabet: which entries are full-width marks with a Latin form in the alphabet, and
    which are characters of scripts that call for the full-width forms."""

    def __init__(self, alphabet: list[str]) -> None:
        position = {character: index for index, character in enumerate(alphabet)}
        self.latin = np.arange(len(alphabet))  # each entry's Latin form's entry (itself for most)
        for index, character in enumerate(alphabet):
            latin = latin_form(character)
            if latin is not None and latin in position:
                self.latin[index] = position[latin]
        self.foldable = self.latin != np.arange(len(alphabet))
        self.wide = np.array([len(c) == 1 and unicodedata.east_asian_width(c) in ("W", "F") for c in alphabet], dtype=bool)
        self.wide &= ~self.foldable
        self.spaces = np.array([c.isspace() for c in alphabet], dtype=bool)
        self.wide[BLANK] = self.spaces[BLANK] = False

    def fold(self, best: np.ndarray) -> None:
        """Write, in place, the Latin form of each full-width mark on one line's greedy path (``best``: the most
        probable entry at each time step) whose nearest characters either side, spaces aside, are not wide."""
        starts = np.flatnonzero((best != BLANK) & np.r_[True, best[1:] != best[:-1]])
        marks = [position for position, step in enumerate(starts) if self.foldable[best[step]]]
        if not marks:
            return
        characters = [int(best[step]) for step in starts]
        for position in marks:
            before = next((c for c in reversed(characters[:position]) if not self.spaces[c]), None)
            after = next((c for c in characters[position + 1:] if not self.spaces[c]), None)
            if (before, after) == (None, None) or any(c is not None and self.wide[c] for c in (before, after)):
                continue
            step = starts[position]
            run_end = step + 1
            while run_end < len(best) and best[run_end] == best[step]:
                run_end += 1
            best[step:run_end] = self.latin[best[step]]
