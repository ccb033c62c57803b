"""Dim photos and faded prints are stretched to the full grey scale before PP-OCR's detector looks at them; scans
and photos in good light are read as sent (their readings, measured on the dev set, would move)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ocrserver.exposure import grey_span, with_full_contrast
from tests.conftest import load_label


def test_a_scan_is_read_as_sent(dev_data: Path) -> None:
    label = load_label(dev_data, "sroie_025")
    scan = Image.open(dev_data / "images" / label["image"]).convert("RGB")
    assert grey_span(scan) > 200
    assert with_full_contrast(scan) is scan


def test_a_dim_photo_is_stretched_to_the_full_scale_its_colours_keeping_their_tone() -> None:
    rng = np.random.default_rng(0)
    # brownish paper at about grey 120, dark blue ink at about 50: 80 grey levels from one to the other
    photo = np.empty((200, 300, 3), dtype=np.uint8)
    photo[:] = (130, 120, 100)
    photo[80:120, 40:260] = (40, 50, 70)
    photo = np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255).astype(np.uint8)
    stretched = np.asarray(with_full_contrast(Image.fromarray(photo))).astype(int)
    assert grey_span(Image.fromarray(photo)) < 100 and grey_span(Image.fromarray(stretched.astype(np.uint8))) > 200
    paper, ink = stretched[20, 20], stretched[100, 150]
    grey = np.array([0.299, 0.587, 0.114])
    assert paper @ grey > 200 and ink @ grey < 60  # paper near white, ink near black
    assert paper[0] > paper[1] > paper[2] and ink[0] < ink[1] < ink[2]  # still brownish paper, bluish ink


def test_a_blank_page_is_not_stretched_into_noise() -> None:
    rng = np.random.default_rng(1)
    blank = Image.fromarray(np.clip(rng.normal(200, 2, (300, 300, 3)), 0, 255).astype(np.uint8))
    assert grey_span(blank) < 12
    assert with_full_contrast(blank) is blank
