"""Reading a misread word as the word the recogniser's own second choices spell, on hand-made recogniser outputs."""

from __future__ import annotations

import string

import numpy as np
import pytest
from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

from ocrserver.engines.ctc_spaces import SpaceRecoveringDecoder
from ocrserver.engines.ctc_words import ReadingWords, word_list_for

ALPHABET = list(string.ascii_lowercase + string.ascii_uppercase + "0123456789:") + ["发", "票"]


def _output(read: str, unsure: dict[int, tuple[float, str, float]] | None = None) -> np.ndarray:
    """A one-line recogniser output: each character of ``read`` for one step at 0.98, then a blank step; at the
    positions in ``unsure``, the character at its own probability and another character at its."""
    alphabet = CTCLabelDecode(character=list(ALPHABET)).character
    steps = np.full((2 * len(read), len(alphabet)), 1e-6, dtype=np.float32)
    for position, character in enumerate(read):
        step = 2 * position
        first, other, second = (unsure or {}).get(position, (0.98, "", 0.0))
        steps[step, alphabet.index(character)] = first
        if other:
            steps[step, alphabet.index(other)] = second
        steps[step + 1, 0] = 0.98  # blank
    return steps[np.newaxis]


def _read(output: np.ndarray, languages: list[str] | None = None, enabled: bool = True) -> tuple[str, float]:
    words = ReadingWords(enabled)
    decoder = SpaceRecoveringDecoder(CTCLabelDecode(character=list(ALPHABET)), words)
    if languages is None:
        (text, score), = decoder(output)[0]
        return text, score
    with words.reading(languages):
        (text, score), = decoder(output)[0]
    return text, score


def test_a_misread_letter_is_read_as_the_word_the_models_second_choice_spells() -> None:
    output = _output("pald", {2: (0.6, "i", 0.3)})
    text, score = _read(output)  # no job's languages: as the model read it
    assert text == "pald"
    assert score == pytest.approx((0.98 * 3 + 0.6) / 4, abs=1e-3)
    text, score = _read(output, ["en"])
    assert text == "paid"
    assert score == pytest.approx((0.98 * 3 + 0.3) / 4, abs=1e-3)  # the changed letter with the model's confidence
    # two letters, in capitals, in German too
    assert _read(_output("FEDRRAL", {3: (0.5, "E", 0.4)}), ["en"])[0] == "FEDERAL"
    assert _read(_output("TOIAL", {2: (0.7, "T", 0.2), 4: (0.6, "I", 0.3)}), ["en"])[0] == "TOTAL"
    assert _read(_output("Rechnumg", {6: (0.6, "n", 0.3)}), ["de"])[0] == "Rechnung"
    # a digit among more letters is a misread letter too
    assert _read(_output("T0TAL", {1: (0.7, "O", 0.25)}), ["en"])[0] == "TOTAL"
    assert _read(_output("8OOK", {0: (0.6, "B", 0.3)}), ["en"])[0] == "BOOK"


@pytest.mark.parametrize(
    ("read", "unsure", "why"),
    [
        ("hold", {0: (0.6, "b", 0.3)}, "a word as read stays, however unsure"),
        ("pald", {2: (0.6, "i", 0.02)}, "the model barely considered the other letter"),
        ("pald", {2: (0.951, "i", 0.049)}, "a letter read surely stays"),
        ("tbe", {1: (0.6, "h", 0.3)}, "three letters: mostly abbreviations and codes"),
        ("prlnts", {2: (0.6, "I", 0.3)}, "prInts is no way to case a word"),
        ("zqxv", {1: (0.6, "a", 0.3)}, "no word is spelled"),
        ("80OK", {0: (0.6, "B", 0.3), 1: (0.6, "O", 0.3)}, "as many digits as letters: a code, not a word"),
    ],
)
def test_a_word_stays_as_read_unless_the_model_and_the_word_list_agree(read: str, unsure: dict, why: str) -> None:
    assert _read(_output(read, unsure), ["en"])[0] == read, why


def test_the_second_choice_must_be_about_as_likely_as_the_first_at_a_letter_a_little_unsure() -> None:
    assert _read(_output("pald", {2: (0.94, "i", 0.06)}), ["en"])[0] == "paid"
    assert _read(_output("prlnts", {2: (0.6, "i", 0.3)}), ["en"])[0] == "prints"


def test_pages_are_read_with_the_word_lists_of_their_languages_only() -> None:
    output = _output("pald", {2: (0.6, "i", 0.3)})
    assert _read(output, ["en", "zh"])[0] == "paid"  # Chinese needs no list
    assert _read(output, ["pl"])[0] == "pald"  # no Polish list: read as the model read it
    assert _read(output, ["en", "pl"])[0] == "pald"  # a Polish word is no misread English one
    assert _read(output, ["en"], enabled=False)[0] == "pald"  # OCR_WORD_LISTS=false
    assert word_list_for(["zh"]) is None and word_list_for(["de", "fr"]) is not None


def test_the_word_list_is_the_jobs_own_and_restored_after_it() -> None:
    words = ReadingWords()
    assert words.current() is None
    with words.reading(["en"]):
        english = words.current()
        assert english is not None
        with words.reading(["pl"]):
            assert words.current() is None
        assert words.current() is english
    assert words.current() is None
