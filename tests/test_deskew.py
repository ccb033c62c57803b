"""Pages scanned askew: the skew measured, the page turned level, and points found on it put back on the page."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from ocrserver.deskew import MIN_SKEW, skew_angle, straightened
from tests.helpers import font, render_lines

TEXT = [
    "Invoice number 2024-0117 issued on the third of May",
    "Deliver to: Harbour Street 12, second floor, office B",
    "Two boxes of printer paper, eighty grams, white",
    "One toner cartridge, black, high capacity",
    "Total due within thirty days of the invoice date",
    "Questions about this invoice: accounts department",
]


def _page() -> Image.Image:
    return render_lines(TEXT, size=22, width=760, gap=18).image


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


@pytest.mark.parametrize("degrees", [-7.0, -2.0, 3.0, 12.0])
def test_the_skew_of_a_page_is_how_far_to_turn_it_back(degrees: float) -> None:
    askew = _page().rotate(degrees, expand=True, fillcolor="white", resample=Image.BICUBIC)
    assert skew_angle(_gray(askew)) == pytest.approx(-degrees, abs=0.5)


@pytest.mark.parametrize("degrees", [0.0, -6.0])
def test_a_sparse_receipt_whose_rows_a_turn_would_lay_on_each_other_is_measured_by_its_own_rows(degrees: float) -> None:
    # each item's name, then its quantity and prices 25 px lower and further right: turned 2.5 degrees, the prices
    # lie on the names' row, which made as sharp a profile across the page as level rows (measured 2.5 level, 8.6
    # when turned -6)
    receipt = Image.new("RGB", (760, 330), "white")
    draw, face = ImageDraw.Draw(receipt), font(20)
    for index, item in enumerate(("Kopi Susu", "Teh Tarik")):
        draw.text((40, 40 + 50 * index), item, fill="black", font=face)
        for x, text in zip((200, 400, 560, 660), ("1x", "2.20", "2.20", "SR"), strict=True):
            draw.text((x, 65 + 50 * index), text, fill="black", font=face)
    askew = receipt.rotate(degrees, expand=True, fillcolor="white", resample=Image.BICUBIC) if degrees else receipt
    assert skew_angle(_gray(askew)) == pytest.approx(-degrees, abs=0.5)


def test_light_text_on_a_dark_background_is_measured_too() -> None:
    askew = ImageOps.invert(_page()).rotate(5, expand=True, fillcolor="black", resample=Image.BICUBIC)
    assert skew_angle(_gray(askew)) == pytest.approx(-5, abs=0.5)


def test_a_level_page_is_read_as_sent() -> None:
    assert abs(skew_angle(_gray(_page()))) < MIN_SKEW
    assert straightened(_page()) is None


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (800, 600), "white"),  # nothing on it
        Image.fromarray(np.random.default_rng(1).normal(100, 12, (1200, 1600, 3)).clip(0, 255).astype(np.uint8)),  # grain
    ],
    ids=["blank", "grain"],
)
def test_a_page_without_rows_of_text_has_no_skew(image: Image.Image) -> None:
    assert skew_angle(_gray(image)) == 0.0
    assert straightened(image) is None


def _words_at_all_angles(seed: int) -> Image.Image:
    """Forty words strewn over a sheet at random angles (a collage, a scene): ink, but no rows."""
    rng = random.Random(seed)
    sheet = Image.new("L", (1200, 900), 255)
    for _ in range(40):
        word = Image.new("L", (160, 40), 255)
        ImageDraw.Draw(word).text((4, 4), rng.choice(["total", "paper", "invoice", "sale", "date"]), fill=0, font=font(24))
        word = word.rotate(rng.uniform(-90, 90), expand=True, fillcolor=255)
        sheet.paste(word, (rng.randrange(0, 1050), rng.randrange(0, 760)), ImageOps.invert(word))
    return sheet


@pytest.mark.parametrize("seed", [0, 4])  # without the rows-stand-out check: -12.5 and 6.2 degrees
def test_words_at_all_angles_are_not_turned(seed: int) -> None:
    assert skew_angle(np.asarray(_words_at_all_angles(seed))) == 0.0


def test_a_point_found_on_the_straightened_page_goes_back_where_it_lies_on_the_page_as_sent() -> None:
    page = _page()
    ImageDraw.Draw(page).rectangle((600, 20, 605, 25), fill=(255, 0, 0))  # a red mark in the top-right margin
    askew = page.rotate(6, expand=True, fillcolor="white", resample=Image.NEAREST)
    level = straightened(askew)
    assert level is not None and level.degrees == pytest.approx(-6, abs=0.5)
    assert level.image.width > askew.width  # the canvas grew: no corner of the page was cut off

    def red_mark(image: Image.Image) -> tuple[float, float]:
        rgb = np.asarray(image).astype(int)
        ys, xs = np.nonzero((rgb[..., 0] > 200) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80))
        return float(xs.mean()), float(ys.mean())

    (x, y), = level.to_page([red_mark(level.image)])
    assert (x, y) == pytest.approx(red_mark(askew), abs=2)
    (x, y), = level.from_page([red_mark(askew)])  # and the other way
    assert (x, y) == pytest.approx(red_mark(level.image), abs=2)
