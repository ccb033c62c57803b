"""Test material made on the fly: text rendered with a real font at known places, and text metrics."""

from __future__ import annotations

import copy
import io
import json
import math
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features
from rapidfuzz.distance import Levenshtein

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def font(size: int) -> ImageFont.FreeTypeFont:
    assert FONT.exists(), "DejaVu fonts missing: apt-get install fonts-dejavu-core (the Makefile's deps do)"
    return ImageFont.truetype(str(FONT), size)


@dataclass
class Rendered:
    image: Image.Image
    boxes: list[tuple[int, int, int, int]]  # one per line: x0, y0, x1, y1
    lines: list[str]


def render_lines(
    lines: list[str], *, size: int = 32, width: int = 900, margin: int = 40, gap: int = 24, right_to_left: bool = False
) -> Rendered:
    """Black text lines on white, one under the other; returns each line's tight box. Lines in a right-to-left
    script (``right_to_left``) are set from the right margin, shaped and ordered by Pillow's libraqm."""
    face = font(size)
    line_height = size + gap
    image = Image.new("RGB", (width, margin * 2 + line_height * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    if right_to_left:
        assert features.check("raqm"), "Pillow without libraqm cannot set Arabic: apt-get install libfribidi0"
    layout = {"anchor": "ra", "direction": "rtl"} if right_to_left else {}
    x = width - margin if right_to_left else margin
    boxes = []
    for index, text in enumerate(lines):
        at = (x, margin + index * line_height)
        draw.text(at, text, fill="black", font=face, **layout)
        boxes.append(draw.textbbox(at, text, font=face, **layout))
    return Rendered(image=image, boxes=boxes, lines=lines)


def render_rotated_line(text: str, degrees: float, *, size: int = 36, canvas: int = 700) -> tuple[Image.Image, list[tuple[float, float]]]:
    """One line rotated clockwise by ``degrees`` about the canvas centre; returns the image and the
    text's quad (clockwise from the text's top-left), padded a little."""
    face = font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x0, y0, x1, y1 = probe.textbbox((0, 0), text, font=face)
    w, h = x1 - x0, y1 - y0
    strip = Image.new("RGB", (w + 20, h + 20), "white")
    ImageDraw.Draw(strip).text((10 - x0, 10 - y0), text, fill="black", font=face)
    page = Image.new("RGB", (canvas, canvas), "white")
    cx, cy = canvas / 2, canvas / 2
    sw, sh = strip.size
    page.paste(strip, (int(cx - sw / 2), int(cy - sh / 2)))
    rotated = page.rotate(-degrees, center=(cx, cy), fillcolor="white", resample=Image.BICUBIC)
    angle = math.radians(degrees)
    corners = [(-sw / 2, -sh / 2), (sw / 2, -sh / 2), (sw / 2, sh / 2), (-sw / 2, sh / 2)]
    quad = [(cx + x * math.cos(angle) - y * math.sin(angle), cy + x * math.sin(angle) + y * math.cos(angle)) for x, y in corners]
    return rotated, quad


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def iou(a: tuple[float, ...] | list[float], b: tuple[float, ...] | list[float]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    across = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return across / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - across)


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def cer(predicted: str, truth: str) -> float:
    truth_n = normalize(truth)
    return Levenshtein.distance(normalize(predicted), truth_n) / max(1, len(truth_n))


def words(text: str) -> list[str]:
    """Whitespace tokens, each CJK character its own word (as the project's scorer counts)."""
    tokens: list[str] = []
    for token in normalize(text).casefold().split():
        buffer = ""
        for char in token:
            if "\u4e00" <= char <= "\u9fff":
                if buffer:
                    tokens.append(buffer)
                    buffer = ""
                tokens.append(char)
            else:
                buffer += char
        if buffer:
            tokens.append(buffer)
    return tokens


def bag_of_words_f1(predicted: str, truth: str) -> float:
    pred, gold = Counter(words(predicted)), Counter(words(truth))
    overlap = sum((pred & gold).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


PROSE = ("the of and to in for on that with by from at invoice total amount customer order shipping address payment "
         "terms delivery date account number reference report quarter revenue growth margin product service support "
         "contract annual review budget 2024 1,250.00 March Berlin London page section table figure").split()


def render_prose(width: int, height: int, *, size: int = 16, seed: int = 0) -> Rendered:
    """A page of small print filled with lines of words running across it (a letter, a web page captured whole),
    in dark grey on white; returns each line's tight box."""
    face, rng = font(size), random.Random(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    margin, step = 60, round(size * 1.6)
    boxes, lines = [], []
    for y in range(margin, height - margin - step, step):
        words = [rng.choice(PROSE)]
        while draw.textlength(" ".join([*words, "invoice"]), font=face) < width - 2 * margin:
            words.append(rng.choice(PROSE))
        text = " ".join(words)
        draw.text((margin, y), text, fill=(30, 30, 30), font=face)
        boxes.append(draw.textbbox((margin, y), text, font=face))
        lines.append(text)
    return Rendered(image=image, boxes=boxes, lines=lines)


def server_timings(header: str) -> dict[str, float]:
    """A ``Server-Timing`` header's entries: ``app;dur=1.5, recv;dur=0.1`` -> {"app": 1.5, "recv": 0.1}"""
    return {name: float(duration) for name, _, duration in (entry.strip().partition(";dur=") for entry in header.split(","))}


def box_drawn_in_label_studio(captured: Path, url: str, box: tuple[float, float, float, float],
                              size: tuple[int, int]) -> tuple[dict, dict]:
    """The interactive request a real Label Studio sent (``captured``, one of ../shared/reference/captures), for the
    task image at ``url`` (``size``: its width and height), its last (drawn) region moved onto ``box`` (x0, y0, x1, y1
    in the image's pixels): the request's body, and the drawn region in it."""
    body = copy.deepcopy(json.loads(captured.read_text())["json"])
    width, height = size
    x0, y0, x1, y1 = box
    drawn = body["params"]["context"]["result"][-1]
    drawn.update(original_width=width, original_height=height)
    drawn["value"].update(x=x0 / width * 100, y=y0 / height * 100, width=(x1 - x0) / width * 100,
                          height=(y1 - y0) / height * 100)
    body["tasks"][0]["data"] = {"ocr": url}
    return body, drawn
