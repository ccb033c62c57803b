"""Recovering the spaces a CTC recogniser saw but did not write, on hand-made recogniser outputs."""

from __future__ import annotations

import numpy as np
import pytest
from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

from ocrserver.engines.ctc_spaces import SpaceRecoveringDecoder

ALPHABET = ["A", "B", "C", "D", "发", "票", "号", "码"]


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
