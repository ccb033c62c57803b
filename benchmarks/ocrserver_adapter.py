"""Adapter for ../shared/bench/ocr_score.py that talks to a running ocrserver over its real REST API.

box task  -> POST /v1/ocr with the crop and one region covering it (read as one unit)
page task -> POST /v1/ocr with the whole image; every detected line becomes one prediction
             (with turn=90/180/270: the page is sent turned counter-clockwise, as if scanned that way,
             and the lines' polygons are turned back onto the page for scoring;
             with skew=DEGREES: the page is sent turned counter-clockwise by a few degrees, as if scanned askew
             (corners filled white), and the lines' polygons are turned back;
             with tilt=0.12: the page is sent as photographed at an angle from in front of its bottom edge, on a grey
             table: its top edge that fraction of its width shorter at each end, its print smaller towards the top
             and slanting in towards the middle; the lines' polygons are put back through the inverse perspective;
             with cut=0.1 (and tilt=): photographed from closer, the frame cutting that share of the page's height off
             at its top and at its bottom (the truth's lines there are missed by every engine alike);
             with frame=4000: the page is sent at its own resolution inside a 4000 x 4000 px photo of a grey,
             grainy table, a JPEG, and the lines' polygons are moved back onto the page;
             with scale=0.35: the page is sent scaled by that factor (a small photo, a thumbnail), the lines'
             polygons scaled back;
             with dim=1: the page is sent as photographed in dim light, on a grey table, the light falling off towards
             one corner, a little blurred, a JPEG (paper at grey 130 at best, ink at 60), the polygons moved back
             (with cut=, the frame still cutting the page at its top and bottom);
             with shadow=0.6: the page is sent with a shadow across its right part, the light under it that much darker;
             with blur=5: the page is sent blurred as by a hand that moved 5 px while the photo was taken, a straight
             streak 20 degrees from the horizontal;
             with defocus=3: the page is sent as a lens out of focus shows it, each point a disc of radius 3 px;
             with through=0.25: the page is sent printed on both sides, the next page of its source (scaled to its
             size) showing through from its back, mirrored left to right, softened by the paper, that share as dark
             as it is;
             with speckle=0.02: the page is sent with that share of its pixels set black or white at random (salt and
             pepper);
             with dither=0.5: the page is sent in black and white, its print faded to that share of its darkness and
             its greys dithered into dots;
             with stamp=1: the page is sent with a red stamp (PAID and a date, in a frame) across its middle, turned
             20 degrees, its ink over the print as a real stamp's is;
             with highlight=pink (yellow, green, blue): the page is sent with every other labelled line marked with a
             highlighter of that colour, as a reader marks a page;
             with fax=1: the page is sent as a fax machine in standard mode sends it: 1728 px wide (204 dpi across a
             letter page), half as many rows an inch (98 dpi), in black and white, a CCITT group 4 TIFF saying so;
             the lines' polygons are scaled back;
             with stack=3: the page is sent between the pages before and after it of the same source (scaled to its
             width), one image three pages long, as a long receipt or a web page captured whole; the lines on the
             page are moved back onto it, the neighbours' lines left out;
             turned, askew, tilted, framed, scaled, dimmed and stacked pages are made from data=DIR's images before the first
             request, so the latency measured is the server's, not the time this client takes to encode them;
             with text=1: the page's text as the server returns it, in its reading order, not its lines, so the
             scorer's page CER compares that order with the truth's rows (detection is then not scored))
box task with the scorer's --box-mode full (dev_set.py --on-page): each region sent as a box drawn on its whole page,
             as Label Studio's interactive call sends it; with shadow=, blur=, defocus=, through=, speckle= or dither=, on
             the page sent so; and with stamp= or highlight=
box task with skew=DEGREES: each region is cut from its page sent askew as an annotator draws a box on it,
             upright around the labelled region's turned outline (padded by a tenth of the region's height, as the
             scorer pads its crops), so it takes in the corners of the neighbouring lines; made before the first
             request too
box task with loose=M: each region cut as the scorer cuts it (a tenth of its height around it), then given M times
             its height of its own paper (the median colour of the cut's edges) on every side, read whole: a box
             drawn loosely around a line on empty paper; made before the first request too
box task with wide=K: each region cut as the scorer cuts it, then given K times its width of its own paper to its
             right (with loose=M, after M times its height on every side): a box dragged past the end of its line, over
             a form's empty field or a receipt's blank column; made before the first request too
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import cv2
import httpx
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocrserver.deskew import turned
from ocrserver.geometry import perspective_mapped, scaled, shifted, turned_back
from ocrserver.result import Polygon


class _Sent(NamedTuple):  # not a dataclass: ocr_score.py loads this file without registering it as a module
    """What is sent in place of a dev page (turned, askew or framed), and how its polygons go back on the page."""

    image: bytes
    to_page: Callable[[Polygon], Polygon]
    on_page: Callable[[Polygon], bool]  # whether a polygon (moved back) lies on the page, not on a neighbour
    moved: bool  # whether what is on the page lies elsewhere on the image sent (turned, askew, framed, ...)


class OcrServer:
    def __init__(
        self, url: str = "http://127.0.0.1:9090", engine: str = "ppocr", timeout: str = "120", turn: str = "0",
        frame: str = "0", skew: str = "0", loose: str = "0", stack: str = "0", data: str = "", text: str = "0",
        scale: str = "1", dim: str = "0", wide: str = "0", tilt: str = "0", cut: str = "0", shadow: str = "0",
        blur: str = "0", defocus: str = "0", through: str = "0", speckle: str = "0", dither: str = "0", fax: str = "0",
        stamp: str = "0", highlight: str = "",
    ) -> None:
        self.name = (f"ocrserver[{engine}]" + (f" turned {turn}" if int(turn) else "") + (f" {skew} degrees askew" if float(skew) else "")
                     + (f" photographed tilted {tilt}" if float(tilt) else "")
                     + (f" cut {cut} at top and bottom" if float(cut) else "")
                     + (f" in a {frame} px photo" if int(frame) else "") + (f" drawn with {loose}x paper" if float(loose) else "")
                     + (f" drawn {wide}x their width past their end" if float(wide) else "")
                     + (f" stacked {stack} pages long" if int(stack) > 1 else "") + (" text as returned" if int(text) else "")
                     + (f" scaled {scale}" if float(scale) != 1 else "") + (" in dim light" if int(dim) else "")
                     + (f" under a shadow {shadow} dark" if float(shadow) else "")
                     + (f" blurred {blur} px as by a moving hand" if int(blur) else "")
                     + (f" out of focus, discs of {defocus} px" if int(defocus) else "")
                     + (f" the next page showing through {through} dark" if float(through) else "")
                     + (f" speckled, {float(speckle):g} of the pixels" if float(speckle) else "")
                     + (f" dithered to black and white, the print {float(dither):g} as dark" if float(dither) else "")
                     + (" faxed in standard mode (204 x 98 dpi)" if int(fax) else "")
                     + (" with a stamp across the print" if int(stamp) else "")
                     + (f" every other line highlighted {highlight}" if highlight else ""))
        self.engine = engine
        self.turn = int(turn)
        self.skew = float(skew)
        self.tilt = float(tilt)
        self.cut = float(cut)
        size = int(frame)
        self.frame = np.random.default_rng(0).normal(100, 12, (size, size, 3)).clip(0, 255).astype(np.uint8) if size else None
        self.stack = int(stack) if int(stack) > 1 else 0
        self.scale = float(scale)
        self.dim = bool(int(dim))
        self.shadow = float(shadow)
        self.blur = int(blur)
        self.defocus = int(defocus)
        self.through = float(through)
        self.speckle = float(speckle)
        self.dither = float(dither)
        self.fax = bool(int(fax))
        self.stamp = bool(int(stamp))
        if highlight and highlight not in HIGHLIGHTERS:
            raise ValueError(f"highlight= takes one of {', '.join(HIGHLIGHTERS)}")
        self.highlight = highlight
        self.text = bool(int(text))
        if self.text and self.stack:
            raise ValueError("text=1 scores the whole text of the image sent; with stack= it holds the neighbours' too")
        self._sent: dict[str, _Sent] = {}
        self._boxes_sent: dict[tuple[str, int], bytes] = {}  # (page id, region index) -> crop sent instead
        pages_changed = bool(self.turn or self.skew or self.tilt or self.cut or self.frame is not None or self.stack or self.scale != 1 or self.dim
                             or self.shadow or self.blur or self.defocus or self.through or self.speckle or self.dither
                             or self.fax or self.stamp or self.highlight)
        if pages_changed or float(loose) or float(wide):
            if not data:
                raise ValueError("turn=, skew=, tilt=, cut=, frame=, stack=, scale=, dim=, shadow=, blur=, defocus=, through=, speckle=, "
                                 "dither=, fax=, stamp=, highlight=, loose= and wide= need data=DIR, the dev set "
                                 "whose pages are sent changed")
            paths = sorted((Path(data) / "images").iterdir())
            all_labels = [json.loads(labels.read_text()) for labels in sorted((Path(data) / "labels").glob("*.json"))]
            regions = {labels["image"]: labels["regions"] for labels in all_labels}
            for path in paths if pages_changed else ():
                original = path.read_bytes()
                back = _neighbours(path, paths, 2)[1][0] if self.through else None  # the next page of its source
                self._sent[hashlib.sha1(original).hexdigest()] = self._changed(
                    original, _neighbours(path, paths, self.stack), back, regions.get(path.name, []))
            for labels in all_labels:
                if self.skew:
                    self._boxes_sent.update(self._boxes_drawn_askew(labels, Path(data)))
                elif float(loose) or float(wide):
                    self._boxes_sent.update(_boxes_drawn_loosely(labels, Path(data), float(loose), float(wide)))
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=float(timeout))

    def _changed(self, image: bytes, neighbours: tuple[list[Path], list[Path]], back_page: Path | None,
                 regions: list[dict]) -> _Sent:
        page = Image.open(io.BytesIO(image)).convert("RGB")
        if back_page is not None:
            page = printed_on_both_sides(page, Image.open(back_page).convert("RGB"), self.through)
        if self.highlight:
            page = highlighted(page, regions, HIGHLIGHTERS[self.highlight])
        if self.stamp:
            page = stamped(page)
        back: list[Callable[[Polygon], Polygon]] = []  # from the image sent to the page, last step first
        sent = page
        if self.stack:
            sent, top = _stacked(page, *neighbours)
            back.append(partial(shifted, dx=0, dy=-top))
        if self.turn:
            sent = page.rotate(self.turn, expand=True)
            back.append(partial(turned_back, degrees=self.turn, width=page.width, height=page.height))
        if self.skew:
            askew = turned(sent, self.skew)  # corners filled with the page's edges: white paper
            sent = askew.image
            back.append(askew.to_page)
        if self.tilt or self.cut:
            sent, perspective = photographed_at_an_angle(sent, self.tilt, self.cut)
            back.append(partial(perspective_mapped, homography=np.linalg.inv(perspective)))
        if self.frame is not None:
            photo = Image.fromarray(self.frame)
            # a little left of and above the middle, as a hand-held photo frames a document
            left, top = (photo.width - sent.width) * 2 // 5, (photo.height - sent.height) * 2 // 5
            photo.paste(sent, (left, top))
            sent = photo
            back.append(partial(shifted, dx=-left, dy=-top))
        if self.scale != 1:
            size = (max(1, int(sent.width * self.scale)), max(1, int(sent.height * self.scale)))
            back.append(partial(scaled, across=sent.width / size[0], down=sent.height / size[1]))
            sent = sent.resize(size, Image.Resampling.LANCZOS)
        if self.shadow:
            sent = under_a_shadow(sent, self.shadow)
        if self.blur:
            sent = moved_while_taken(sent, self.blur)
        if self.defocus:
            sent = out_of_focus(sent, self.defocus)
        if self.dither:
            sent = dithered(sent, self.dither)
        if self.speckle:
            sent = speckled(sent, self.speckle)
        encoded = io.BytesIO()
        if self.dim:
            sent, left, top = in_dim_light(sent, cut=bool(self.cut))
            back.append(partial(shifted, dx=-left, dy=-top))
        if self.fax:
            faxed = faxed_in_standard_mode(sent)
            back.append(partial(scaled, across=sent.width / faxed.width, down=sent.height / faxed.height))
            faxed.save(encoded, format="TIFF", compression="group4", dpi=FAX_STANDARD_DPI)
        else:
            sent.save(encoded, format="JPEG" if self.frame is not None or self.dim else "PNG",
                      quality=70 if self.dim else 90)

        def to_page(polygon: Polygon) -> Polygon:
            for step in reversed(back):
                polygon = step(polygon)
            return polygon

        def on_page(polygon: Polygon) -> bool:
            return 0 <= float(np.mean([y for _, y in polygon])) < page.height

        return _Sent(encoded.getvalue(), to_page, on_page, moved=bool(back))

    def _boxes_drawn_askew(self, labels: dict, data: Path) -> dict[tuple[str, int], bytes]:
        """Each labelled region of one page, cut upright from the page turned askew (box task with skew=)."""
        askew = turned(Image.open(data / "images" / labels["image"]).convert("RGB"), self.skew)
        crops = {}
        for index, region in enumerate(labels["regions"]):
            points = _outline(region)
            outline = np.asarray(askew.from_page(points))
            pad = 0.1 * np.ptp(points[:, 1])
            (x0, y0), (x1, y1) = outline.min(axis=0) - pad, outline.max(axis=0) + pad
            encoded = io.BytesIO()
            askew.image.crop((int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))).save(encoded, format="PNG")
            crops[(labels["id"], index)] = encoded.getvalue()
        return crops

    def _post(self, image: bytes, lang: str | None, **fields: object) -> dict:
        body = {"image_base64": base64.b64encode(image).decode(), "engine": self.engine, **fields}
        if lang:
            body["lang"] = lang
        response = self._client.post("/v1/ocr", json=body)
        response.raise_for_status()
        return response.json()

    def recognize(self, image: bytes, box=None, lang: str | None = None, meta=None) -> str:
        if self._boxes_sent:
            image, box = self._boxes_sent[(meta["id"], meta["region"])], None
        elif box is not None and self._sent:  # a box drawn on its whole page, the page sent changed
            sent = self._sent[hashlib.sha1(image).hexdigest()]
            if sent.moved:
                raise ValueError("a box drawn on its page (--box-mode full) is sent on the page blurred, out of focus or "
                                 "under a shadow, not turned, askew, photographed, scaled or stacked")
            image = sent.image
        if box is None:
            width, height = Image.open(io.BytesIO(image)).size  # header only
            box = [0, 0, width, height]
        result = self._post(image, lang, regions=[box], level="block")
        return result["pages"][0]["blocks"][0]["text"]

    def ocr(self, image: bytes, lang: str | None = None, meta=None) -> list[tuple[list[list[float]], str, float]] | str:
        sent = self._sent.get(hashlib.sha1(image).hexdigest()) if self._sent else None
        result = self._post(sent.image if sent else image, lang, level="line")
        if self.text:
            return result["text"]
        predictions = []
        for line in (line for block in result["pages"][0]["blocks"] for line in block["lines"]):
            polygon = sent.to_page(line["polygon"]) if sent is not None else line["polygon"]
            if sent is not None and not sent.on_page(polygon):
                continue
            predictions.append(([list(point) for point in polygon], line["text"], line["confidence"]))
        return predictions


def photographed_at_an_angle(page: Image.Image, tilt: float, cut: float = 0) -> tuple[Image.Image, np.ndarray]:
    """The page photographed at an angle from in front of its bottom edge, on a grey table a tenth of its width
    around it: its top edge ``tilt`` of its width shorter at each end; with ``cut``, from closer, the frame cutting
    that share of the page's height off at its top and at its bottom (the table seen beside it only). And the
    perspective matrix from the page to the photo."""
    width, height = page.size
    margin = round(0.1 * width)
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    photographed = np.float32([[margin + tilt * width, margin], [margin + (1 - tilt) * width, margin],
                               [margin + width, margin + height], [margin, margin + height]])
    matrix = cv2.getPerspectiveTransform(corners, photographed)
    top, bottom = 0, height + 2 * margin
    if cut:
        framed = cv2.perspectiveTransform(np.float32([[[0, cut * height]], [[0, (1 - cut) * height]]]), matrix)
        top, bottom = round(float(framed[0, 0, 1])), round(float(framed[1, 0, 1]))
        matrix = np.array([[1, 0, 0], [0, 1, -top], [0, 0, 1]]) @ matrix
    photo = cv2.warpPerspective(np.asarray(page), matrix, (width + 2 * margin, bottom - top),
                                flags=cv2.INTER_AREA, borderValue=(120, 120, 120))
    return Image.fromarray(photo), matrix


def in_dim_light(page: Image.Image, cut: bool = False) -> tuple[Image.Image, int, int]:
    """The page photographed on a grey table in dim light that falls off towards one corner, a little blurred (paper
    at grey 130 at best, ink at 60; the whole photo spans 80 grey levels), and where the page lies in it (left, top);
    with ``cut``, the frame still cutting across its top and bottom (the table seen beside it only).
    tests/test_dev_set.py reads one receipt so."""
    table = Image.new("RGB", (int(page.width * 1.4), page.height if cut else int(page.height * 1.2)), (120, 120, 120))
    left, top = (table.width - page.width) // 2, (table.height - page.height) // 2
    table.paste(page, (left, top))
    pixels = np.asarray(table.filter(ImageFilter.GaussianBlur(1.0))).astype(np.float32)
    light = np.linspace(1.0, 0.55, pixels.shape[1])[None, :, None] * np.linspace(1.0, 0.8, pixels.shape[0])[:, None, None]
    return Image.fromarray(((60 + 0.4 * pixels) * light).astype(np.uint8)), left, top


def under_a_shadow(page: Image.Image, depth: float) -> Image.Image:
    """The page with a shadow across its right part, as a hand or a phone held over it casts: its edge soft (a
    hundredth of the page's width), running from 0.42 of the width at the top to 0.68 at the bottom, the light
    under it ``depth`` darker (0.6: paper at 0.4 of its brightness)."""
    pixels = np.asarray(page).astype(np.float32)
    height, width = pixels.shape[:2]
    edge = width * (0.42 + 0.26 * np.arange(height, dtype=np.float32)[:, None] / max(height - 1, 1))
    shaded = 1 / (1 + np.exp(-(np.arange(width, dtype=np.float32)[None, :] - edge) / (0.01 * width)))
    light = 1 - depth * shaded
    return Image.fromarray((pixels * light[:, :, None]).clip(0, 255).astype(np.uint8))


def printed_on_both_sides(front: Image.Image, back: Image.Image, darkness: float) -> Image.Image:
    """``front`` with ``back`` (scaled to its size) showing through the paper: mirrored left to right, as the sheet was
    turned over its long edge, softened by a thousandth of the page's width, ``darkness`` as dark as it is."""
    seen = back.resize(front.size).transpose(Image.Transpose.FLIP_LEFT_RIGHT).convert("L")
    seen = seen.filter(ImageFilter.GaussianBlur(max(1.0, front.width / 1000)))
    light = 1 - darkness * (1 - np.asarray(seen, dtype=np.float32) / 255)
    return Image.fromarray((np.asarray(front, dtype=np.float32) * light[:, :, None]).clip(0, 255).astype(np.uint8))


def speckled(page: Image.Image, share: float) -> Image.Image:
    """The page with ``share`` of its pixels, picked at random (the same for every run), set black or white, half
    each: salt and pepper, as a fax line, a dusty scanner glass or a black-and-white scan of grey paper strews them."""
    pixels = np.array(page.convert("RGB"))
    picked = np.random.default_rng(0).random(pixels.shape[:2])
    pixels[picked < share / 2] = 0
    pixels[(share / 2 <= picked) & (picked < share)] = 255
    return Image.fromarray(pixels)


def dithered(page: Image.Image, darkness: float) -> Image.Image:
    """The page as a scanner set to black and white sends it, its print first faded to ``darkness`` of its darkness
    (0.5: grey print, as faded toner or a pencil), then every grey dithered into black and white dots (Floyd-Steinberg
    error diffusion, PIL's and most scanners' way)."""
    grey = np.asarray(page.convert("L"), dtype=np.float32)
    faded = Image.fromarray((255 - (255 - grey) * darkness).clip(0, 255).astype(np.uint8))
    return faded.convert("1").convert("RGB")


# highlighters' colours, as the share of each of red, green and blue their ink lets through, of 255
HIGHLIGHTERS = {"yellow": (255, 240, 80), "pink": (255, 120, 190), "green": (120, 250, 110), "blue": (90, 200, 255)}
STAMP_INK = (210, 40, 40)  # red


def highlighted(page: Image.Image, regions: list[dict], colour: tuple[int, int, int]) -> Image.Image:
    """The page with every other one of its labelled ``regions`` (from the top) marked with a highlighter of ``colour``:
    a band over the region's box, reaching a sixth of its height above and below it and a fifth past its ends, its
    ink taking the light it does not let through away from the paper and the print alike."""
    pixels = np.asarray(page.convert("RGB"), dtype=np.float32)
    marked = np.zeros(pixels.shape[:2], dtype=bool)
    for points in sorted((_outline(region) for region in regions), key=lambda points: points[:, 1].min())[::2]:
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        height = y1 - y0
        marked[max(0, int(y0 - height / 6)):int(y1 + height / 6), max(0, int(x0 - height / 5)):int(x1 + height / 5)] = True
    pixels[marked] *= np.asarray(colour, dtype=np.float32) / 255
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def stamped(page: Image.Image) -> Image.Image:
    """The page with a red rubber stamp across its middle, turned 20 degrees: PAID and a date in bold capitals a
    twelfth of the page's width high, in a frame, its ink (STAMP_INK) laid 0.85 thick over paper and print alike, so
    the print stays dark where the two cross."""
    width, height = page.size
    size = max(20, width // 12)
    face = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", size)
    ink = Image.new("L", page.size, 0)
    draw = ImageDraw.Draw(ink)
    text = "PAID 12.05.2024"
    x, y = (width - draw.textlength(text, font=face)) / 2, height * 0.45
    draw.rectangle([x - size * 0.4, y - size * 0.3, x + draw.textlength(text, font=face) + size * 0.4, y + size * 1.4],
                   outline=255, width=max(3, size // 8))
    draw.text((x, y), text, font=face, fill=255)
    thickness = np.asarray(ink.rotate(20, resample=Image.Resampling.BICUBIC), dtype=np.float32)[:, :, None] / 255 * 0.85
    pixels = np.asarray(page.convert("RGB"), dtype=np.float32)
    inked = np.minimum(pixels, np.asarray(STAMP_INK, dtype=np.float32))
    return Image.fromarray((pixels * (1 - thickness) + inked * thickness).clip(0, 255).astype(np.uint8))


# a fax machine's standard mode: dots an inch across and down; its line 1728 dots long (a letter page's width)
FAX_STANDARD_DPI = (204, 98)
FAX_LINE = 1728


def faxed_in_standard_mode(page: Image.Image) -> Image.Image:
    """The page as a fax machine in standard mode scans it: FAX_LINE px wide, half as many rows an inch as columns
    (FAX_STANDARD_DPI), each dot black or white by whether it is darker than mid grey (a 1-bit image)."""
    across = FAX_LINE / page.width
    down = across * FAX_STANDARD_DPI[1] / FAX_STANDARD_DPI[0]
    grey = page.convert("L").resize((FAX_LINE, max(1, round(page.height * down))), Image.Resampling.LANCZOS)
    return grey.point(lambda value: 255 if value >= 128 else 0).convert("1", dither=Image.Dither.NONE)


def moved_while_taken(page: Image.Image, length: int) -> Image.Image:
    """The page blurred as by a hand that moved ``length`` px while the photo was taken: each point drawn out into a
    straight streak that long, 20 degrees from the horizontal (a hand's shake is seldom exactly level)."""
    kernel = np.zeros((length, length), dtype=np.float32)
    middle = (length - 1) / 2  # the streak reaches this far either side of the point
    dx, dy = middle * np.cos(np.radians(20)), middle * np.sin(np.radians(20))
    cv2.line(kernel, (round(middle - dx), round(middle + dy)), (round(middle + dx), round(middle - dy)), 1.0, 1)
    return _each_point_drawn_as(page, kernel)


def out_of_focus(page: Image.Image, radius: int) -> Image.Image:
    """The page as a lens out of focus shows it: each point drawn out into a disc of ``radius`` px."""
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1), dtype=np.float32)
    cv2.circle(kernel, (radius, radius), radius, 1.0, -1)
    return _each_point_drawn_as(page, kernel)


def _each_point_drawn_as(page: Image.Image, kernel: np.ndarray) -> Image.Image:
    """The page with each point's ink spread over ``kernel``'s shape (its ink kept: the kernel scaled to sum to 1)."""
    return Image.fromarray(cv2.filter2D(np.asarray(page), -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE))


def _outline(region: dict) -> np.ndarray:
    """A labelled region's points (or its box's two corners) as an N x 2 array."""
    return np.asarray(region.get("points") or region["bbox"], dtype=np.float64).reshape(-1, 2)


def _neighbours(path: Path, paths: list[Path], stack: int) -> tuple[list[Path], list[Path]]:
    """The pages of ``path``'s source (the name before its first "_") to put before and after it in an image
    ``stack`` pages long (taken round the source's pages in name order; none when ``stack`` is 0)."""
    if not stack:
        return [], []
    source = [other for other in paths if other.name.split("_")[0] == path.name.split("_")[0]]
    index, before = source.index(path), (stack - 1) // 2
    around = [source[(index + step) % len(source)] for step in range(-before, stack - before)]
    return around[:before], around[before + 1:]


def _stacked(page: Image.Image, before: list[Path], after: list[Path]) -> tuple[Image.Image, int]:
    """``page`` with the pages ``before`` and ``after`` it, scaled to its width, one under the other on white;
    and how far down the page lies."""
    def scaled(path: Path) -> Image.Image:
        other = Image.open(path).convert("RGB")
        return other.resize((page.width, max(1, round(other.height * page.width / other.width))))

    parts = [*map(scaled, before), page, *map(scaled, after)]
    stacked = Image.new("RGB", (page.width, sum(part.height for part in parts)), "white")
    top = 0
    for part in parts:
        stacked.paste(part, (0, top))
        top += part.height
    return stacked, sum(part.height for part in parts[:len(before)])


def _boxes_drawn_loosely(labels: dict, data: Path, paper: float, wide: float = 0) -> dict[tuple[str, int], bytes]:
    """Each labelled region of one page cut as the scorer cuts it, with ``paper`` times its height of its own paper
    (the median colour of the cut's edges) on every side and ``wide`` times its width more to its right (box task
    with loose= and wide=)."""
    page = np.asarray(Image.open(data / "images" / labels["image"]).convert("RGB"))
    crops = {}
    for index, region in enumerate(labels["regions"]):
        x0, y0, x1, y1 = region["bbox"]
        pad = 0.1 * (y1 - y0)
        cut = page[int(max(0, y0 - pad)): int(min(page.shape[0], y1 + pad + 1)), int(max(0, x0 - pad)): int(min(page.shape[1], x1 + pad + 1))]
        edges = np.concatenate([cut[0], cut[-1], cut[:, 0], cut[:, -1]])
        margin, beyond = round(paper * (y1 - y0)), round(wide * cut.shape[1])
        sent = np.full((cut.shape[0] + 2 * margin, cut.shape[1] + 2 * margin + beyond, 3), np.median(edges, axis=0),
                       dtype=np.uint8)
        sent[margin: margin + cut.shape[0], margin: margin + cut.shape[1]] = cut
        encoded = io.BytesIO()
        Image.fromarray(sent).save(encoded, format="PNG")
        crops[(labels["id"], index)] = encoded.getvalue()
    return crops
