"""Recovering the spaces a CTC recogniser saw but did not write, on hand-made recogniser outputs."""

from __future__ import annotations

import numpy as np
import pytest
from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

from ocrserver.engines.ctc_spaces import SpaceRecoveringDecoder, join_word_pieces
from ocrserver.result import Word

ALPHABET = ["A", "B", "C", "D", "发", "票", "号", "码", "1", "2"]


def _output(characters: str, gap_after: int, gap_steps: int, space_probability: float) -> np.ndarray:
    """A one-line recogniser output: each character for one step then one blank step, and ``gap_steps`` blank
    steps after the ``gap_after``-th character whose space probability peaks at ``space_probability``."""
    decoder = CTCLabelDecode(character=list(ALPHABET))
    rows = []
    for position, character in enumerate(characters):
        rows.append(decoder.character.index(character))
        rows.append(0)
        if position == gap_after:
            rows.extend([0] * (gap_steps - 1))
    steps = np.full((len(rows), len(decoder.character)), 0.001, dtype=np.float32)
    steps[np.arange(len(rows)), rows] = 0.9
    gap_start = 2 * (gap_after + 1) - 1
    steps[gap_start + gap_steps // 2, -1] = space_probability
    return steps[np.newaxis]


def _read(output: np.ndarray) -> tuple[str, float]:
    decoder = SpaceRecoveringDecoder(CTCLabelDecode(character=list(ALPHABET)))
    (text, score), = decoder(output)[0]
    return text, score


def test_a_wide_gap_where_the_model_saw_a_space_gets_one() -> None:
    text, score = _read(_output("ABCD", gap_after=1, gap_steps=5, space_probability=0.3))
    assert text == "AB CD"
    assert score < 0.9  # the space counts with its own, lower confidence
    # rapidocr's greedy decoding alone writes no space there
    assert CTCLabelDecode(character=list(ALPHABET))(_output("ABCD", 1, 5, 0.3))[0][0][0] == "ABCD"


@pytest.mark.parametrize(
    ("characters", "gap_steps", "space_probability"),
    [
        ("ABCD", 5, 0.1),  # the model barely considered a space
        ("ABCD", 1, 0.3),  # no wider than the line's step from one character to the next
        ("发票号码", 5, 0.3),  # Chinese is written without spaces
    ],
)
def test_no_space_is_written_without_both_the_model_and_the_gap_saying_so(characters, gap_steps, space_probability) -> None:
    assert _read(_output(characters, gap_after=1, gap_steps=gap_steps, space_probability=space_probability))[0] == characters


def test_word_boxes_follow_the_recovered_space() -> None:
    decoder = SpaceRecoveringDecoder(CTCLabelDecode(character=list(ALPHABET)))
    _, (words,) = decoder(_output("ABCD", 1, 5, 0.3), return_word_box=True, wh_ratio_list=[1.0], max_wh_ratio=1.0)
    assert ["".join(word) for word in words.words] == ["AB", "CD"]


STEP_PX = 8  # pixels of the recogniser's input per time step of its output, as PP-OCR's recognisers have it


def _line_input(output: np.ndarray, narrow: str = "", ink_across_gaps: bool = False) -> np.ndarray:
    """The recogniser's input (1 × 3 × 48 × width, -1 ink to 1 paper) that gave ``output``: each character printed
    24 px high at its time step, 12 px wide (4 px of paper to the next), the ``narrow`` ones 2 px; with
    ``ink_across_gaps``, a rule runs under the print, so no column is empty."""
    alphabet = CTCLabelDecode(character=list(ALPHABET)).character
    steps = output.shape[1]
    line = np.ones((1, 3, 48, steps * STEP_PX), dtype=np.float32)
    for step in np.flatnonzero(output[0].argmax(axis=1) != 0):
        middle, half = int((step + 0.5) * STEP_PX), 1 if alphabet[output[0, step].argmax()] in narrow else 6
        line[..., 12:36, max(0, middle - half):middle + half] = -1.0
    if ink_across_gaps:
        line[..., 34:36, :] = -1.0
    return line


def _read_seeing_the_print(output: np.ndarray, line: np.ndarray) -> str:
    """``output`` decoded as the engines decode it: the session that gave it showed the decoder its input."""
    decoder = SpaceRecoveringDecoder(CTCLabelDecode(character=list(ALPHABET)))
    session = decoder.showing(lambda batch: output)
    (text, _), = decoder(session(line), wh_ratio_list=[line.shape[3] / line.shape[2]], max_wh_ratio=1.0)[0]
    return text


def test_a_space_the_model_barely_saw_is_written_where_the_print_shows_it() -> None:
    # "03/05/2018  20:24" on a receipt: the recogniser gave the space 0.034 there, the print a full character
    output = _output("ABCD", gap_after=1, gap_steps=5, space_probability=0.05)
    assert _read(output)[0] == "ABCD"  # the model alone is not sure enough
    assert _read_seeing_the_print(output, _line_input(output)) == "AB CD"
    assert _read_seeing_the_print(output, _line_input(output, ink_across_gaps=True)) == "ABCD"
    barely = _output("ABCD", gap_after=1, gap_steps=5, space_probability=0.005)
    assert _read_seeing_the_print(barely, _line_input(barely)) == "ABCD"


def test_between_digits_the_print_shows_a_space_only_a_whole_cell_wide() -> None:
    # digits share one width, so two narrow "1"s leave paper between them as wide as a space between letters
    narrow = _output("2221222", gap_after=3, gap_steps=2, space_probability=0.05)  # 1.5 pitches apart
    assert _read_seeing_the_print(narrow, _line_input(narrow, narrow="1")) == "2221222"
    letters = _output("AAABAAA", gap_after=3, gap_steps=2, space_probability=0.05)
    assert _read_seeing_the_print(letters, _line_input(letters, narrow="B")) == "AAAB AAA"
    spaced = _output("2221222", gap_after=3, gap_steps=3, space_probability=0.05)  # a whole cell more: 2 pitches
    assert _read_seeing_the_print(spaced, _line_input(spaced, narrow="1")) == "2221 222"


def _piece(text: str, x0: float, x1: float) -> Word:
    return Word(text=text, confidence=0.9 if text != "ount" else 0.8, polygon=[(x0, 0), (x1, 0), (x1, 20), (x0, 20)])


def test_word_pieces_split_inside_a_latin_word_are_joined_and_real_boundaries_kept() -> None:
    pieces = [_piece("Total", 0, 70), _piece("am", 80, 120), _piece("ount", 126, 190), _piece("42.50", 200, 260)]
    words = join_word_pieces("Total amount 42.50", pieces)
    assert [w.text for w in words] == ["Total", "amount", "42.50"]
    assert words[1].polygon == [(80, 0), (190, 0), (190, 20), (80, 20)] and words[1].confidence == 0.8
    # a change of script is a word boundary without a space; pieces that are not the text are left alone
    mixed = [_piece("金额", 0, 40), _piece("100", 44, 80), _piece("元", 84, 100)]
    assert [w.text for w in join_word_pieces("金额100元", mixed)] == ["金额", "100", "元"]
    assert join_word_pieces("something else", pieces) == pieces
