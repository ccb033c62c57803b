"""A photo blurred by a hand that moved while it was taken, or out of focus, steadied before its lines are read again.

A hand that moves a few pixels' worth while the shutter is open draws each point of the page out into a short
straight streak. PP-OCR's recogniser then misreads or drops the page's small print: dev pages blurred 5 px through
the server (``benchmarks/dev_set.py --task page --blur 5``) lose a fifth of their words with ``ppocr`` (BoW F1 0.880 ->
0.715). Undoing a streak is old and cheap (a Wiener filter), but it needs the streak's length and direction, and a
filter built for a streak that is not there rings around every stroke of a sharp page.

So a streak is only looked for on a page whose lines read unsurely (``UNSURE_PAGE``), and what the photo suggests
is put to the reader before it is taken. The streak shows in the page's cepstrum as a trough at its length and in its
direction; averaged over the tiles that hold print, its deepest few troughs are the candidates
(``STREAKS_TRIED``). A phone's grain and JPEG make troughs of their own, as deep as a blurred page's on some sharp
ones, so the depth alone cannot tell whether there is a streak at all. Instead each candidate is undone around a
few of the page's longest lines, and those are read again: the candidate they read surest through is taken when they
read surer by ``CLEARER_BY`` than as sent, and the whole page is then read steadied. A sharp page's lines read less
surely through any streak's filter, so it is read as sent. A lens out of focus draws each point out into a disc
instead, which leaves a ring of troughs at the disc's width: two discs that wide (half a pixel apart) are tried too.
A page so blurred that the reader kept only a few of its lines (the rest read too unsurely) may have nothing to judge
by in those: when none reads surer, the longest lines the detector finds on the page are the judge instead.

A region drawn on such a photo (Label Studio's "draw a box, get its text") is read again the same way, each blur the
page around it suggests undone in a window around it (``steadied_around``), the region itself the judge. One region
is a shakier judge than a page's eight lines: of every fourth dev region as scanned, Tesseract read 110 of 704 less
surely than its ``unsure_reading``, 58 of those read surer through some blur, and of the 46 whose text that changed,
36 read worse. So a region is only looked at when its print's edges are also soft (``SOFT_EDGES``), which a scan's
seldom are and a blurred photo's nearly always are. Boxes drawn on dev pages blurred 5 px, through the server
(``dev_set.py --task box --on-page --blur 5``), box CER: ppocr 0.104 -> 0.044 (as scanned 0.022), ppocr-tiny 0.181 ->
0.080, tesseract 0.345 -> 0.228; out of focus by 3 px, 0.170 -> 0.045, 0.214 -> 0.071, 0.387 -> 0.183; the scans'
boxes read exactly as before.

Dev pages blurred 5 px through the server, det F1 / BoW F1: ppocr 0.811 / 0.715 -> 0.835 / 0.855 (as scanned 0.852 /
0.880), ppocr-tiny 0.769 / 0.573 -> 0.836 / 0.778, tesseract 0.823 / 0.414 -> 0.832 / 0.582; blurred 8 px, ppocr
BoW F1 0.446 -> 0.812. Out of focus, each point a disc of radius 3 px (``--defocus 3``): ppocr 0.751 / 0.681 ->
0.832 / 0.843, ppocr-tiny 0.707 / 0.569 -> 0.819 / 0.760, tesseract 0.737 / 0.417 -> 0.813 / 0.634. The scans read as
before (docs/benchmarks.md, section 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from ocrserver.geometry import pixels_around, shifted
from ocrserver.imaging import grey_array
from ocrserver.result import Line, Polygon, length_weighted_confidence

# A page whose lines read less surely than this (their confidences weighted by the length of their text) is looked at
# for a streak. Dev pages as scanned read at 0.95-1.0 with ppocr (a signboard photo 0.82); blurred 5 px, the forms
# at 0.68-0.93, the receipts' larger print at 0.91-0.99.
UNSURE_PAGE = 0.95
# How much surer the sample lines must read through a blur's filter than as sent for the blur to be undone
CLEARER_BY = 0.03
# How many of the cepstrum's deepest troughs are tried
STREAKS_TRIED = 3
# How many of the page's lines (the longest) are read again through each candidate, and over at most how many
# times their height each (a form's widest lines are as long as the page: reading them whole costs 0.4 s a streak).
# Dev pages blurred 5 px read the same with 6, 8 or 10 (whole) lines; blurred 8 px, with 8 as with 10, BoW F1 0.809
# in-process, with 6 0.800. A scan searched for nothing pays 70-230 ms (ppocr-tiny, with the discs), 6 lines less.
SAMPLE_LINES = 8
SAMPLE_LENGTH = 12
# The cepstrum is averaged over tiles this large that hold print (grey levels spread at least ``PRINT_SPREAD``)
TILE = 256
PRINT_SPREAD = 8.0
# Troughs are looked for from this far from the middle (nearer ones are the print's own strokes) out to this far:
# the longest streak looked for, in pixels of the photo as sent
SHORTEST_STREAK = 2.5
LONGEST_STREAK = 16
# How finely each pixel of a streak's kernel is sampled, across and down
FINE = 8
# The Wiener filter's balance between undoing the streak and amplifying noise
NOISE_BALANCE = 0.003
# What is cut around a line to undo a streak in it, beyond the streak's own length: the filter reaches far, and
# nearer edges ring into the line (a blurred receipt's eight longest lines read at 0.80 with 8 px, 0.83 with 40, 0.85
# with the whole page undone)
LINE_MARGIN = 40
# A region is looked at for a blur only when its print's edges are soft: their steepest slopes (the steepest
# hundredth, in the direction where they are least steep) rise by less than this share of the print's contrast (its
# 5th to 95th percentile grey) a pixel. Dev regions as scanned: 5th percentile 0.30, median 0.44; blurred 5 px at 20
# degrees, 95th percentile 0.33, median 0.26; out of focus by 3 px, 95th percentile 0.28, median 0.23.
SOFT_EDGES = 0.3
# ... and a region with less contrast than this holds no print to judge by
PRINT_CONTRAST = 12
# A region's blurs are looked for in the cepstrum of a square of the page this large about its middle
AROUND_REGION = 768
# A photo of more pixels than this (what the engines look at: 2000 x 2000 px) is steadied only in the part that holds
# the lines read from it, with this share of its longer side around them: a form a ninth as wide as a 7000 x 7000 px
# photo, its print too small to be read, was searched for blurs across the whole photo (18 of 20 s). (Around the lines
# its detector found too, the part was the whole photo: it finds specks of the grainy table around.)
WHOLE_UP_TO = 4_000_000
PART_MARGIN = 0.05

# how surely the lines in these boxes read on this page (BGR): a reader's confidence, 0 for a line it drops
Sureness = Callable[[np.ndarray, list[Polygon]], float]
# the boxes of the lines a detector finds on a page (BGR)
LineFinder = Callable[[np.ndarray], list[Polygon]]
# a streak as an offset from one of its ends to the other: (dy, dx) in pixels
Streak = tuple[int, int]


def steadied(image: Image.Image, lines: Sequence[Line], sureness: Sureness, find_lines: LineFinder,
             unsure_below: float = UNSURE_PAGE) -> Image.Image | None:
    """The image with the blur (streak or disc) its lines read surest through undone, or None when it reads as
    surely as sent: its lines (as read from it) read surely (``unsure_below``: ``UNSURE_PAGE`` suits PP-OCR's
    recogniser), no blur shows, or none makes them read surer by ``CLEARER_BY``. A page of which fewer than
    ``SAMPLE_LINES`` lines were read may have lost the rest to the blur (read too unsurely to be kept): when none of
    its lines read surer, the page as sent and with each blur undone are judged by the longest lines ``find_lines``
    finds on each, a blur taken only when they read surely (``unsure_below``) through it. A photo of more than
    ``WHOLE_UP_TO`` pixels is looked at only in the part that holds the lines read from it."""
    text_lines = [line for line in lines if line.text.strip()]
    if not text_lines or length_weighted_confidence(text_lines) >= unsure_below:
        return None
    # the blurs are tried in grey, a third of the work of colour, the page as sent read in grey too
    grey = np.asarray(image.convert("L"))
    left, top, right, bottom = 0, 0, image.width, image.height
    if image.width * image.height > WHOLE_UP_TO:
        left, top, right, bottom = _part_holding([line.polygon for line in text_lines], grey)
        text_lines = [replace(line, polygon=shifted(line.polygon, -left, -top)) for line in text_lines]
    part = np.ascontiguousarray(grey[top:bottom, left:right])
    blur = _steadiest_blur(part, text_lines, sureness, find_lines, unsure_below)
    if blur is None:
        return None
    page = np.asarray(image.convert("RGB"))
    out = page.copy()
    out[top:bottom, left:right] = undone(np.ascontiguousarray(page[top:bottom, left:right]), blur)
    return Image.fromarray(out)


def _steadiest_blur(grey: np.ndarray, text_lines: list[Line], sureness: Sureness, find_lines: LineFinder,
                    unsure_below: float) -> np.ndarray | None:
    """The kernel of the blur that ``text_lines``, read unsurely from the page ``grey``, read surest through as
    ``steadied`` judges it, or None when none does."""
    longest = sorted(text_lines, key=lambda line: len(line.text), reverse=True)[:SAMPLE_LINES]
    boxes = [_sample_box(line.polygon) for line in longest]
    blurs = _blurs_seen(grey)
    if not blurs:
        return None
    as_sent = sureness(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), boxes)
    tried = [sureness(cv2.cvtColor(_undone_around(grey, boxes, blur), cv2.COLOR_GRAY2BGR), boxes) for blur in blurs]
    if max(tried) < as_sent + CLEARER_BY and len(text_lines) < SAMPLE_LINES:
        # the few lines kept may be all the blur left readable: judged by the lines found on the page instead, a blur
        # taken only when they then read surely (the blur was what made them unsure)
        as_sent = _sureness_of_lines_found(grey, sureness, find_lines)
        tried = [sure if sure >= unsure_below else 0.0
                 for sure in (_sureness_of_lines_found(undone(grey, blur), sureness, find_lines) for blur in blurs)]
    best = int(np.argmax(tried))
    return blurs[best] if tried[best] >= as_sent + CLEARER_BY else None


def _part_holding(boxes: list[Polygon], page: np.ndarray) -> tuple[int, int, int, int]:
    """The part of ``page`` that holds ``boxes``, with ``PART_MARGIN`` of its longer side around them: left, top,
    right, bottom (the last two excluded)."""
    corners = [point for box in boxes for point in box]
    return _on_page(corners, round(PART_MARGIN * max(page.shape[:2])), page)


def _sureness_of_lines_found(grey: np.ndarray, sureness: Sureness, find_lines: LineFinder) -> float:
    """How surely the ``SAMPLE_LINES`` longest lines ``find_lines`` finds on the page read (0 for none). A form out
    of focus by 3 px, read by PP-OCR: its detector finds 79 lines, all but 6 (numbers, rules) read too unsurely to be
    kept, and those read no surer through the right disc; the 8 longest found read at 0 as sent, 0.98 through the
    right disc, 0.17-0.78 through the streaks."""
    page = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    longest = sorted(find_lines(page), key=_length, reverse=True)[:SAMPLE_LINES]
    return sureness(page, [_sample_box(box) for box in longest]) if longest else 0.0


def _length(polygon: Polygon) -> float:
    """A line's length: its box's top edge (its first two corners, from the text's top-left)."""
    return float(np.linalg.norm(np.subtract(polygon[1], polygon[0]))) if len(polygon) > 1 else 0.0


@dataclass(frozen=True)
class Window:
    """A part of a page, steadied: its pixels, and where its top-left corner lies on the page."""

    image: np.ndarray
    left: int
    top: int

    def from_page(self, polygon: Polygon) -> Polygon:
        return shifted(polygon, -self.left, -self.top)

    def to_page(self, polygon: Polygon) -> Polygon:
        return shifted(polygon, self.left, self.top)


def steadied_around(page: np.ndarray, region: Polygon) -> Iterator[Window]:
    """A window of ``page`` (RGB) around ``region`` for each blur the page around it suggests (the square
    ``AROUND_REGION`` px about its middle), that blur undone in it, likeliest first; none when the region's print is
    sharp (``has_soft_edges``) or no blur shows. The window reaches ``LINE_MARGIN`` beyond the region and the blur, and
    the room ``rectify`` pads a region with."""
    x0, y0, x1, y1 = _on_page(region, 0, page)
    if x1 <= x0 or y1 <= y0 or not has_soft_edges(grey_array(page[y0:y1, x0:x1])):
        return
    middle_x, middle_y, half = (x0 + x1) // 2, (y0 + y1) // 2, AROUND_REGION // 2
    around = page[max(0, middle_y - half):middle_y + half, max(0, middle_x - half):middle_x + half]
    for kernel in _blurs_seen(grey_array(around)):
        left, top, right, bottom = _on_page(region, LINE_MARGIN + kernel.shape[0] + (y1 - y0) // 4, page)
        yield Window(undone(np.ascontiguousarray(page[top:bottom, left:right]), kernel), left, top)


def has_soft_edges(grey: np.ndarray) -> bool:
    """Whether the print in ``grey`` has soft edges, as a blurred photo's has (``SOFT_EDGES``): not when it holds no
    print (``PRINT_CONTRAST``)."""
    paper_and_ink = grey.astype(np.float32)
    low, high = np.percentile(paper_and_ink, (5, 95))
    if high - low < PRINT_CONTRAST:
        return False
    across = cv2.Sobel(paper_and_ink, cv2.CV_32F, 1, 0) / 8
    down = cv2.Sobel(paper_and_ink, cv2.CV_32F, 0, 1) / 8
    least_steep = min(np.percentile(np.abs(across * np.cos(angle) + down * np.sin(angle)), 99)
                      for angle in np.arange(8) * np.pi / 8)
    return bool(least_steep < SOFT_EDGES * (high - low))


def streaks_seen(grey: np.ndarray) -> list[Streak]:
    """The ``STREAKS_TRIED`` streaks the page's cepstrum suggests, likeliest first (``_streaks_in``); none for a page
    with no tile of print."""
    cepstrum = _cepstrum(grey)
    return [] if cepstrum is None else _streaks_in(cepstrum)


def discs_seen(grey: np.ndarray) -> list[float]:
    """The radii of the discs the page's cepstrum suggests (``_discs_in``); none for a page with no tile of print."""
    cepstrum = _cepstrum(grey)
    return [] if cepstrum is None else _discs_in(cepstrum)


def _blurs_seen(grey: np.ndarray) -> list[np.ndarray]:
    """The kernels of the blurs the page's cepstrum suggests: its streaks, then its discs."""
    cepstrum = _cepstrum(grey)
    if cepstrum is None:
        return []
    return [streak_kernel(streak) for streak in _streaks_in(cepstrum)] + [disc_kernel(r) for r in _discs_in(cepstrum)]


def _cepstrum(grey: np.ndarray) -> np.ndarray | None:
    """The page's cepstrum (the inverse transform of its log spectrum), averaged over the tiles that hold print, its
    middle at ``TILE // 2``; None for a page with no tile of print."""
    height, width = grey.shape
    window = np.outer(np.hanning(TILE), np.hanning(TILE)).astype(np.float32)
    log_spectra, tiles = np.zeros((TILE, TILE), np.float32), 0
    for top in range(0, height - TILE + 1, TILE // 2):
        for left in range(0, width - TILE + 1, TILE // 2):
            tile = grey[top:top + TILE, left:left + TILE].astype(np.float32)
            if tile.std() < PRINT_SPREAD:
                continue
            spectrum = np.abs(np.fft.fft2((tile - tile.mean()) * window))
            log_spectra += np.log(spectrum + 1e-3 * spectrum.max())
            tiles += 1
    if not tiles:
        return None
    return np.fft.fftshift(np.real(np.fft.ifft2(log_spectra / tiles)))


def _offsets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each place of a cepstrum as an offset from its middle (dy, dx), and its distance from it."""
    middle = TILE // 2
    dy, dx = np.mgrid[-middle:TILE - middle, -middle:TILE - middle]
    return dy, dx, np.hypot(dy, dx)


def _streaks_in(cepstrum: np.ndarray) -> list[Streak]:
    """The streaks at the cepstrum's ``STREAKS_TRIED`` deepest troughs, ``SHORTEST_STREAK`` to ``LONGEST_STREAK``
    px from its middle, deepest first."""
    dy, dx, reach = _offsets()
    # the cepstrum is symmetric about its middle: one half of the ring
    ring = (reach >= SHORTEST_STREAK) & (reach <= LONGEST_STREAK) & ((dy > 0) | ((dy == 0) & (dx > 0)))
    troughs = ring & (cepstrum <= cv2.erode(cepstrum, np.ones((3, 3), np.uint8)))
    found = sorted(zip(dy[troughs], dx[troughs], cepstrum[troughs], strict=True), key=lambda trough: trough[2])
    return [(int(y), int(x)) for y, x, _ in found[:STREAKS_TRIED]]


def _discs_in(cepstrum: np.ndarray) -> list[float]:
    """A disc leaves a ring of troughs in the cepstrum at its width: the radii, half a pixel apart, of the discs as wide
    as the ring the cepstrum is deepest along (its mean over each whole-pixel distance from the middle, 3 to
    ``LONGEST_STREAK`` px)."""
    _, _, reach = _offsets()
    widths = np.arange(3, LONGEST_STREAK + 1)
    depth = [float(cepstrum[np.abs(reach - width) < 0.5].mean()) for width in widths]
    width = float(widths[int(np.argmin(depth))])
    return [width / 2, width / 2 + 0.5]


def streak_kernel(streak: Streak) -> np.ndarray:
    """What a streak makes of one point: a straight line one pixel wide and as long as the streak, through the
    kernel's middle (``_kernel_covering``)."""
    dy, dx = streak
    length = float(np.hypot(dy, dx))
    along = np.array([dx, dy]) / length

    def covered(points: np.ndarray) -> np.ndarray:
        # the line's middle segment runs ``length - 1`` px: with half a pixel's width around it, it covers ``length``
        from_start = points + along * (length - 1) / 2
        on_segment = np.clip(from_start @ along, 0, length - 1)
        return np.linalg.norm(from_start - on_segment[..., None] * along, axis=-1) <= 0.5

    return _kernel_covering(covered, length / 2)


def disc_kernel(radius: float) -> np.ndarray:
    """What a lens out of focus makes of one point: a disc of ``radius`` px (``_kernel_covering``)."""
    return _kernel_covering(lambda points: np.linalg.norm(points, axis=-1) <= radius, radius)


def _kernel_covering(covered: Callable[[np.ndarray], np.ndarray], reach: float) -> np.ndarray:
    """A kernel reaching ``reach`` px from its middle (with a pixel to spare each side), its ink summing to 1: each
    pixel inked by the share of it ``covered`` (of points (x, y) from the middle, in pixels) says the blur covers,
    sampled ``FINE`` x ``FINE``, so that a blur between whole pixels is drawn as such."""
    size = 2 * int(np.ceil(reach)) + 3  # odd
    samples = (np.arange(size * FINE) + 0.5) / FINE - 0.5 - (size - 1) / 2
    inside = covered(np.stack(np.meshgrid(samples, samples), axis=-1))
    kernel = inside.reshape(size, FINE, size, FINE).mean(axis=(1, 3))
    return (kernel / kernel.sum()).astype(np.float32)


def undone(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` (one or more channels, uint8) with ``kernel``'s blur undone by a Wiener filter, its edges mirrored
    out so that they do not ring (and on to a size the Fourier transform is quick at)."""
    pad = kernel.shape[0]
    height, width = (cv2.getOptimalDFTSize(side + 2 * pad) for side in image.shape[:2])
    padded = cv2.copyMakeBorder(image, pad, height - image.shape[0] - pad, pad, width - image.shape[1] - pad,
                                cv2.BORDER_REFLECT).reshape(height, width, -1).astype(np.float32)
    placed = np.zeros((height, width), np.float32)
    placed[:kernel.shape[0], :kernel.shape[1]] = kernel
    # the kernel's middle at the origin, so that the page is not shifted
    blur = np.fft.rfft2(np.roll(placed, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), axis=(0, 1)))
    inverse = (np.conj(blur) / (np.abs(blur) ** 2 + NOISE_BALANCE))[:, :, None]
    out = np.fft.irfft2(np.fft.rfft2(padded, axes=(0, 1)) * inverse, s=(height, width), axes=(0, 1))
    out = out[pad:pad + image.shape[0], pad:pad + image.shape[1]].reshape(image.shape)
    return out.clip(0, 255).astype(np.uint8)


def _undone_around(page: np.ndarray, boxes: list[Polygon], kernel: np.ndarray) -> np.ndarray:
    """A copy of ``page`` with ``kernel``'s blur undone around each box (much cheaper than over the whole page)."""
    out = page.copy()
    for box in boxes:
        left, top, right, bottom = _on_page(box, LINE_MARGIN + kernel.shape[0], page)
        out[top:bottom, left:right] = undone(page[top:bottom, left:right], kernel)
    return out


def _on_page(box: Polygon, margin: int, page: np.ndarray) -> tuple[int, int, int, int]:
    """The whole pixels ``box`` covers grown by ``margin`` on every side, cut to the page: left, top, right, bottom
    (the last two excluded)."""
    height, width = page.shape[:2]
    return pixels_around(box, margin, width, height)


def _sample_box(polygon: Polygon) -> Polygon:
    """A line's box cut to its first ``SAMPLE_LENGTH`` heights along the line when longer: four corners from the
    text's top-left, clockwise (any other polygon is taken whole)."""
    if len(polygon) != 4:
        return polygon
    top_left, top_right, bottom_right, bottom_left = (np.array(point) for point in polygon)
    length = _length(polygon)
    height = float(np.linalg.norm(bottom_left - top_left))
    if not height or length <= SAMPLE_LENGTH * height:
        return polygon
    share = SAMPLE_LENGTH * height / length
    cut = [top_left, top_left + share * (top_right - top_left), bottom_left + share * (bottom_right - bottom_left),
           bottom_left]
    return [(float(x), float(y)) for x, y in cut]
