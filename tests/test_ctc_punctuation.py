"""Latin punctuation where a CTC recogniser wrote the full-width form among Latin text, on hand-made outputs."""

from __future__ import annotations

import numpy as np
import pytest
from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

from ocrserver.engines.ctc_punctuation import latin_form, with_latin_punctuation
from ocrserver.engines.ctc_spaces import SpaceRecoveringDecoder

ALPHABET = ["G", "S", "T", "I", "D", "0", "1", "A", "B", ":", "：", ".", "。", "(", ")", "（", ",", "，", "电", "话", "号"]


def _output(path: str, repeat: int = 1) -> np.ndarray:
    """A one-line recogniser output writing ``path`` (spaces included), each character for ``repeat`` time steps
    then one blank step."""
    character = CTCLabelDecode(character=list(ALPHABET)).character
    rows = []
    for letter in path:
        rows += [character.index(letter)] * repeat + [0]
    steps = np.full((len(rows), len(character)), 0.001, dtype=np.float32)
    steps[np.arange(len(rows)), rows] = 0.9
    return steps[np.newaxis]


def _read(path: str, repeat: int = 1) -> str:
    (text, _), = SpaceRecoveringDecoder(CTCLabelDecode(character=list(ALPHABET)))(_output(path, repeat))[0]
    return str(text)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("GST ID：001", "GST ID:001"),  # among Latin letters and digits, spaces aside
        ("GST ID： 001", "GST ID: 001"),
        ("B，A。", "B,A."),  # at the end of the line too
        ("A（B)", "A(B)"),
    ],
)
def test_a_full_width_mark_among_latin_text_is_written_in_its_latin_form(written: str, read: str) -> None:
    assert _read(written) == read
    assert _read(written, repeat=2) == read  # a mark seen over several time steps is one mark, folded whole


def test_a_full_width_mark_in_a_line_of_chinese_is_kept() -> None:
    assert _read("电话：001") == "电话：001"
    assert _read("001：电话") == "001：电话"
    assert _read("电话 001：") == "电话 001："  # among digits, but in a line of Chinese
    assert _read("：") == "："  # alone, nothing tells


def test_only_punctuation_has_a_latin_form() -> None:
    assert [latin_form(c) for c in "：，。、（）％"] == [":", ",", ".", ",", "(", ")", "%"]
    assert [latin_form(c) for c in ":A电Ａ１"] == [None, None, None, None, None]  # full-width letters and digits stay


def test_text_read_whole_gets_the_same_latin_punctuation() -> None:
    # engines that return text, not a recogniser's path (fastpaddle)
    assert with_latin_punctuation("TIME： 15:14:00 Kopi（B)，CASH。") == "TIME: 15:14:00 Kopi(B),CASH."
    assert with_latin_punctuation("电话：038-29300525。") == "电话：038-29300525。"
