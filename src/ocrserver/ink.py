"""Where an image's ink lies: dark print on light paper or light print on dark."""

from __future__ import annotations

import cv2
import numpy as np


def ink(image: np.ndarray) -> np.ndarray:
    """The image's ink (255) and paper (0) by Otsu's threshold, either polarity: the lesser part is the ink."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    _, marks = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if marks.mean() > 127:  # light text on a dark background
        marks = 255 - marks
    return marks
