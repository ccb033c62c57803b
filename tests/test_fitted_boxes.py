"""Page lines' boxes fitted to their print (fitted_boxes.py): tight around the print, never cutting it, on even
paper, in a shadow, across a shadow's edge, light on dark, slanted; words kept inside their line; tight boxes (Tesseract's) given room."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocrserver.fitted_boxes import MARGIN, fitted_to_ink, with_room_around
from ocrserver.result import Block, Line, Word, bbox_of, rect_polygon
from tests.helpers import font, render_rotated_line


def _page(text: str, *, paper: str = "white", ink: str = "black", shadow: bool = False,
          shadow_from: int = 0) -> tuple[np.ndarray, tuple]:
    """A page with ``text`` at (100, 60) in 24 px print, and the print's tight box."""
    image = Image.new("RGB", (600, 200), paper)
    draw = ImageDraw.Draw(image)
    draw.text((100, 60), text, fill=ink, font=font(24))
    page = np.asarray(image).astype(np.float32)
    if shadow:  # a photo's uneven light: the paper darkens from 255 to 120 across the box, top to bottom and left to right
        rows, columns = np.mgrid[0:200, 0:600]
        page *= (1 - 0.53 * np.clip((rows - 40) / 80 + (columns - 80) / 800, 0, 1))[..., None]
    if shadow_from:  # a hand's shadow from that column on, its edge soft over a few pixels: paper at 0.4 of its light
        page *= (1 - 0.6 / (1 + np.exp(-(np.arange(600) - shadow_from) / 2.0)))[None, :, None]
    return page.astype(np.uint8), draw.textbbox((100, 60), text, font=font(24))


def _loose_line(print_box: tuple, grow: float) -> Line:
    """A line as the detector boxes a short field: ``grow`` times the print's height around it."""
    x0, y0, x1, y1 = print_box
    room = grow * (y1 - y0)
    polygon = rect_polygon(x0 - room, y0 - room, x1 + room, y1 + room)
    return Line(text="x", confidence=0.9, polygon=polygon, words=[Word(text="x", confidence=0.9, polygon=polygon)])


def _fitted(page: np.ndarray, line: Line) -> Line:
    return fitted_to_ink([Block(lines=[line])], page)[0].lines[0]


def _holds(box: tuple, inner: tuple, slack: float = 1.0) -> bool:
    return box[0] <= inner[0] + slack and box[1] <= inner[1] + slack and box[2] >= inner[2] - slack and box[3] >= inner[3] - slack


@pytest.mark.parametrize("kind", ["black on white", "white on dark blue", "in a shadow", "across a shadow's edge"])
def test_a_short_fields_box_is_fitted_around_its_print_and_never_cuts_it(kind: str) -> None:
    # across a shadow's edge, Otsu's threshold took the paper in shadow for ink, or the lit part for it: the box was
    # fitted to one side of the edge, cutting the print on the other (ink.py evens the paper's light out first)
    colours = {"black on white": {}, "white on dark blue": {"paper": "#102060", "ink": "white"},
               "in a shadow": {"shadow": True}, "across a shadow's edge": {"shadow_from": 150}}[kind]
    page, print_box = _page("x5  2.20", **colours)
    fitted = _fitted(page, _loose_line(print_box, grow=0.6))
    box = bbox_of(fitted.polygon)
    assert _holds(box, print_box), (box, print_box)
    height = print_box[3] - print_box[1]
    # the print and MARGIN of its height above and below (a pixel's rounding either way), not the detector's 2.2x
    assert box[3] - box[1] <= (1 + 2 * MARGIN) * height + 2, (box, print_box)
    assert _holds(box, bbox_of(fitted.words[0].polygon), slack=0.01)  # the word stays inside its line


def test_a_slanted_lines_box_keeps_its_slant_and_fits_its_print() -> None:
    image, quad = render_rotated_line("Total 12.50", 10, size=36)  # 10 px of paper around 27 px high print
    page = np.asarray(image)
    corners = np.array(quad)
    down = (corners[3] - corners[0]) / np.linalg.norm(corners[3] - corners[0])
    loose = corners + np.outer([-1, -1, 1, 1], 20 * down)  # 20 px more above and below: 87 px high
    fitted = _fitted(page, Line(text="Total 12.50", confidence=0.9, polygon=[tuple(p) for p in loose]))
    (ax, ay), (bx, by), _, (dx, dy) = fitted.polygon
    assert np.degrees(np.arctan2(by - ay, bx - ax)) == pytest.approx(10, abs=0.5)  # still written along its slant
    assert np.hypot(dx - ax, dy - ay) <= 27 * (1 + 2 * MARGIN) + 2  # the print and its margin
    ink_rows, ink_columns = np.nonzero(page.min(axis=2) < 128)
    corners = np.array(fitted.polygon, dtype=np.float32)
    outside = [(x, y) for x, y in zip(ink_columns, ink_rows, strict=True)
               if cv2.pointPolygonTest(corners, (float(x), float(y)), True) < -1.5]
    assert not outside, "every inked pixel stays inside the fitted box"


def test_a_box_whose_ink_fills_it_that_holds_none_or_is_flat_keeps_its_size() -> None:
    page, print_box = _page("x5")
    empty = Line(text="", confidence=0.9, polygon=rect_polygon(300, 120, 400, 160))
    assert _fitted(page, empty).polygon == empty.polygon
    flat = Line(text="-", confidence=0.9, polygon=[(300.0, 120.0), (400.0, 120.0), (400.0, 120.2), (300.0, 120.2)])
    assert _fitted(page, flat).polygon == flat.polygon
    tight = Line(text="x5", confidence=0.9, polygon=rect_polygon(*print_box))
    assert bbox_of(_fitted(page, tight).polygon) == pytest.approx(print_box, abs=1.0)


def test_a_tight_box_is_given_room_along_its_own_slant_and_kept_on_the_page() -> None:
    word = Word(text="Total", confidence=0.9, polygon=rect_polygon(10, 100, 60, 120))
    level = Line(text="Total 12.50", confidence=0.9, polygon=rect_polygon(10, 100, 210, 120), words=[word])
    # 20 px high: 2 px more on every side, but not past the page's left edge (x 0)
    grown = with_room_around([Block(lines=[level])], 0.1, 300, 200)[0].lines[0]
    assert grown.polygon == [(8.0, 98.0), (212.0, 98.0), (212.0, 122.0), (8.0, 122.0)]
    assert grown.words == [word]
    at_edge = Line(text="x", confidence=0.9, polygon=rect_polygon(1, 190, 40, 200))
    assert bbox_of(with_room_around([Block(lines=[at_edge])], 0.1, 300, 200)[0].lines[0].polygon) == (0.0, 189.0, 41.0, 200.0)
    # a line written upwards at 90 degrees (its text's top-left at the bottom left): grown across and along it
    upwards = Line(text="up", confidence=0.9, polygon=[(100.0, 150.0), (100.0, 50.0), (120.0, 50.0), (120.0, 150.0)])
    assert bbox_of(with_room_around([Block(lines=[upwards])], 0.1, 300, 200)[0].lines[0].polygon) == (98.0, 48.0, 122.0, 152.0)
