"""What PP-OCR's text detector is given: the page scaled within limits, its pixels normalised in float32.

rapidocr scales a page until its short side is 736 px, however small the page: a 700 x 152 px image of one
line of 48 px text became 3392 x 736 px, letters over 200 px high, which the detector takes for separate
words ("hello world again" came back as three lines; in bf16, "Second image" at 32 px on a 900 x 136 px
image as "Second il" / "image"). Here a page is scaled up by at most ``MAX_UPSCALE``, so small images read as one
line where they hold one, and no further than until its print is ``ENLARGED_PRINT`` px high: 15 dev pages (8
receipts, 7 synthetic Chinese pages), their print 16-25 px high already, were enlarged 1.04-1.89x. Shown as they are,
or enlarged less, they take 0.84x the time (median) and read as well (docs/benchmarks.md, the lever table). Enlarged
only until it is 16 px (``CHARACTER_HEIGHT``), a ruled table's 13 px print read a row's last two cells as lines of
their own, and receipts in 16 px print joined fields.

rapidocr 3.10 also normalises in float64 and then copies the transposed result: 26 ms of a 1024 x 736 px
page; writing float32 straight into the model's channels-first layout takes 2 ms.

A large input whose print is large (a receipt scanned at 300 dpi and seen in strips at full width, strips.py; large
print) is shown to the detector shrunk until its characters are ``CHARACTER_HEIGHT`` px high, when they are at least
``MIN_SHRINK`` times that. The lines are still cut from the image at the resolution the engine reads (rapidocr: up
to 2000 px on the longer side), so the recogniser sees them as sharp as before. The dev pages at 2x and 3x their
scanned size (``benchmarks/dev_set.py --task page --scale 3``), in-process, ppocr, before -> after: 2x p50 1128 ->
817 ms, det F1 0.846 -> 0.848, BoW F1 0.874 -> 0.876; 3x 1501 -> 921 ms, 0.835 -> 0.839, 0.864 -> 0.867. Print
less than twice as high is left alone: shrunk from 21-32 px, it read a little faster but worse in photos (dev
receipts in large print photographed in dim light, ``--dim``: 4 of the 6 shrunk read worse, det F1 0.8256 ->
0.8242), and at 2x no better. Inputs under ``LARGE_INPUT`` (every dev page as scanned) are left alone too: shrunk,
14 receipts read at det F1 0.851 -> 0.849 for 8 % less time. So is an input where fewer than ``MIN_CHARACTERS``
pieces of ink are about the median piece's height (a sign, a picture): its median piece need not be a character.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from rapidocr.ch_ppocr_det.utils import DetPreProcess

from ocrserver.ink import ink
from ocrserver.layout import page_character_height

MAX_UPSCALE = 2.0
ENLARGED_PRINT = 20.0  # a small input is scaled up no further than until its characters are this many px high
MIN_SIDE = 32  # the detector's stride: smaller sides round down to nothing
# An input of more pixels than this is shrunk for the detector where its characters are at least MIN_SHRINK times
# CHARACTER_HEIGHT px high (measured on it subsampled to about MEASURED_SIDE px) and at least MIN_CHARACTERS of its
# pieces of ink are about as high.
LARGE_INPUT = 2_000_000
CHARACTER_HEIGHT = 16.0
MIN_SHRINK = 2.0
MIN_CHARACTERS = 40
MEASURED_SIDE = 1000


class DetectorInput(DetPreProcess):
    """rapidocr's DetPreProcess (resize to multiples of 32 within the detector's limits, normalise, channels
    first), upscaling at most ``MAX_UPSCALE`` times and only as far as the print needs, shrinking a large input's
    large print, and computed in float32. Made afresh for each image."""

    def resize(self, img: np.ndarray) -> np.ndarray | None:
        if self.limit_type == "min":
            short_side = min(img.shape[:2])
            wanted = min(self.limit_side_len, max(MIN_SIDE, MAX_UPSCALE * short_side))
            if wanted > short_side:
                wanted = short_side * upscale_for_its_print(img, wanted / short_side)
            self.limit_side_len = wanted
        resized = super().resize(img)
        if resized is None or resized.shape[0] * resized.shape[1] <= LARGE_INPUT:
            return resized
        return shrunk_to_its_print(resized)

    def __call__(self, img: np.ndarray) -> np.ndarray | None:
        resized = self.resize(img)
        if resized is None:
            return None
        scales = (1.0 / (255.0 * self.std)).astype(np.float32)
        offsets = (self.mean / self.std).astype(np.float32)
        batch = np.empty((1, 3, *resized.shape[:2]), dtype=np.float32)
        for channel in range(3):
            np.multiply(resized[:, :, channel], scales[channel], out=batch[0, channel], dtype=np.float32)
            batch[0, channel] -= offsets[channel]
        return batch


def upscale_for_its_print(image: np.ndarray, upscale: float) -> float:
    """How far to scale ``image`` up for the detector: ``upscale``, but no further than until its characters are
    ``ENLARGED_PRINT`` px high, and not at all where they are already; ``upscale`` where no height can be told."""
    height = print_height(image)
    if height is None:
        return upscale
    return max(1.0, min(upscale, ENLARGED_PRINT / height))


def shrunk_to_its_print(image: np.ndarray) -> np.ndarray:
    """``image`` shrunk until its characters are ``CHARACTER_HEIGHT`` px high, its sides multiples of the detector's
    stride; as it is where they are less than ``MIN_SHRINK`` times that, or no height can be told."""
    height = print_height(image)
    if height is None or height < MIN_SHRINK * CHARACTER_HEIGHT:
        return image
    scale = CHARACTER_HEIGHT / height
    rows, columns = image.shape[:2]
    return cv2.resize(image, (_on_stride(columns * scale), _on_stride(rows * scale)), interpolation=cv2.INTER_AREA)


def print_height(image: np.ndarray) -> float | None:
    """The height in px of ``image``'s characters (``layout.page_character_height``, measured on it subsampled to
    about ``MEASURED_SIDE`` px), or None where fewer than ``MIN_CHARACTERS`` pieces of ink are about that high."""
    step = max(1, math.ceil(max(image.shape[:2]) / MEASURED_SIDE))
    height = page_character_height(ink(image[::step, ::step]), MIN_CHARACTERS)
    return None if height is None else height * step


def _on_stride(length: float) -> int:
    """``length`` rounded to a multiple of the detector's stride, at least one stride."""
    return max(MIN_SIDE, round(length / MIN_SIDE) * MIN_SIDE)


def feed_detector(detector: Any) -> Any:
    """A loaded rapidocr TextDetector, made to build its input with DetectorInput at its own size limits
    (read at each call, so a detector copied and given other limits must be fed again). Its mean and std come
    from rapidocr's configuration as OmegaConf lists, which numpy converts in a tenth of a millisecond each
    (probing them for array interfaces raises and catches inside OmegaConf): they are read as plain floats once."""
    mean, std = [float(v) for v in detector.mean], [float(v) for v in detector.std]
    detector.get_preprocess = lambda: DetectorInput(detector.limit_side_len, detector.limit_type, mean, std)
    return detector
