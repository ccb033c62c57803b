"""Latin punctuation where the recogniser wrote its full-width form among Latin letters and digits.

PP-OCR's alphabets hold both forms of most punctuation: the ASCII colon and the full-width one Chinese print uses,
the full stop and the ideographic one. Their shapes differ only in the room around them, so in Latin print the
recogniser writes the full-width form now and then: ``GST ID：001661886464``, ``BUTLER，MIDDLETON``,
``400 F.P.M。``. A user searching the text for "GST ID:" would not find it. Such a mark is written in its Latin
form in a line that holds no Chinese, Japanese or Korean character; in a line that does, the full-width form is
the right one (``电话：038-29300525。``) and is kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

BLANK = 0  # CTC's "no character here", first in rapidocr's alphabet
# marks whose Latin form NFKC does not give
IDEOGRAPHIC_FORMS = {"。": ".", "、": ","}


def _is_wide(character: str) -> bool:
    """Whether a character is written full width (Chinese, Japanese, Korean: scripts that call for full-width marks)."""
    return len(character) == 1 and unicodedata.east_asian_width(character) in ("W", "F")


def latin_form(character: str) -> str | None:
    """The Latin (ASCII) form of a full-width or ideographic punctuation mark, or None for any other character."""
    if not _is_wide(character):
        return None
    if character in IDEOGRAPHIC_FORMS:
        return IDEOGRAPHIC_FORMS[character]
    folded = unicodedata.normalize("NFKC", character)
    return folded if len(folded) == 1 and folded.isascii() and not folded.isalnum() else None


def marks_among_latin(characters: Sequence[str]) -> list[int]:
    """The positions of the full-width marks (``latin_form``) in a line's characters when the line holds no other
    wide character (``_is_wide``) and something besides marks and spaces."""
    forms = [latin_form(character) for character in characters]
    others = [character for character, form in zip(characters, forms, strict=True) if form is None and not character.isspace()]
    if not others or any(_is_wide(character) for character in others):
        return []  # marks alone tell nothing; beside Chinese, Japanese or Korean they are right as they are
    return [position for position, form in enumerate(forms) if form is not None]


def with_latin_punctuation(text: str) -> str:
    """A line's text, its full-width marks in their Latin form when it is a line of Latin text (``marks_among_latin``)."""
    characters = list(text)
    for position in marks_among_latin(characters):
        characters[position] = latin_form(characters[position]) or characters[position]
    return "".join(characters)


class LatinPunctuation:
    """``marks_among_latin`` on a CTC recogniser's greedy path, for one recogniser's alphabet (marks whose Latin form
    it lacks stay as they are)."""

    def __init__(self, alphabet: list[str]) -> None:
        self.alphabet = alphabet
        position = {character: index for index, character in enumerate(alphabet)}
        self.latin = np.arange(len(alphabet))  # each entry's Latin form's entry (itself for most)
        for index, character in enumerate(alphabet):
            latin = latin_form(character)
            if latin is not None and latin in position:
                self.latin[index] = position[latin]
        self.foldable = self.latin != np.arange(len(alphabet))

    def fold(self, best: np.ndarray) -> None:
        """Write, in place, the Latin form of the full-width marks of a line of Latin text on its greedy path
        (``best``: the most probable entry at each time step); a mark seen over several steps is folded whole."""
        starts = np.flatnonzero((best != BLANK) & np.r_[True, best[1:] != best[:-1]])
        if not self.foldable[best[starts]].any():
            return
        for position in marks_among_latin([self.alphabet[index] for index in best[starts]]):
            step = starts[position]
            run_end = step + 1
            while run_end < len(best) and best[run_end] == best[step]:
                run_end += 1
            best[step:run_end] = self.latin[best[step]]
