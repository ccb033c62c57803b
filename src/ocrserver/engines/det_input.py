"""What PP-OCR's text detector is given: the page scaled within limits, its pixels normalised in float32.

rapidocr scales a page until its short side is 736 px, however small the page: a 700 x 152 px image of one
line of 48 px text became 3392 x 736 px, letters over 200 px high, which the detector takes for separate
words ("hello world again" came back as three lines; in bf16, "Second image" at 32 px on a 900 x 136 px
image as "Second il" / "image"). Here a page is scaled up by at most ``MAX_UPSCALE``: the dev set reads the
same (its smallest page, 389 px across, is scaled 1.9x), and small images read as one line where they hold one.
rapidocr 3.10 also normalises in float64 and then copies the transposed result: 26 ms of a 1024 x 736 px
page; writing float32 straight into the model's channels-first layout takes 2 ms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rapidocr.ch_ppocr_det.utils import DetPreProcess

MAX_UPSCALE = 2.0
MIN_SIDE = 32  # the detector's stride: smaller sides round down to nothing


class DetectorInput(DetPreProcess):
    """rapidocr's DetPreProcess (resize to multiples of 32 within the detector's limits, normalise, channels
    first), upscaling at most ``MAX_UPSCALE`` times and computed in float32. Made afresh for each image."""

    def resize(self, img: np.ndarray) -> np.ndarray | None:
        if self.limit_type == "min":
            self.limit_side_len = min(self.limit_side_len, max(MIN_SIDE, MAX_UPSCALE * min(img.shape[:2])))
        return super().resize(img)

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


def feed_detector(detector: Any) -> Any:
    """A loaded rapidocr TextDetector, made to build its input with DetectorInput at its own size limits
    (read at each call, so a detector copied and given other limits must be fed again). Its mean and std come
    from rapidocr's configuration as OmegaConf lists, which numpy converts in a tenth of a millisecond each
    (probing them for array interfaces raises and catches inside OmegaConf): they are read as plain floats once."""
    mean, std = [float(v) for v in detector.mean], [float(v) for v in detector.std]
    detector.get_preprocess = lambda: DetectorInput(detector.limit_side_len, detector.limit_type, mean, std)
    return detector
