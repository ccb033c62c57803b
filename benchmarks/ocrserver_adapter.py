"""Adapter for ../shared/bench/ocr_score.py that talks to a running ocrserver over its real REST API.

box task  -> POST /v1/ocr with the crop and one region covering it (read as one unit)
page task -> POST /v1/ocr with the whole image; every detected line becomes one prediction
             (with turn=90/180/270: the page is sent turned counter-clockwise, as if scanned that way,
             and the lines' polygons are turned back onto the page for scoring;
             with frame=4000: the page is sent at its own resolution inside a 4000 x 4000 px photo of a grey,
             grainy table, a JPEG, and the lines' polygons are moved back onto the page)
"""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
from PIL import Image

from ocrserver.geometry import shifted, turned_back


class OcrServer:
    def __init__(
        self, url: str = "http://127.0.0.1:9090", engine: str = "ppocr", timeout: str = "120", turn: str = "0",
        frame: str = "0",
    ) -> None:
        self.name = f"ocrserver[{engine}]" + (f" turned {turn}" if int(turn) else "") + (f" in a {frame} px photo" if int(frame) else "")
        self.engine = engine
        self.turn = int(turn)
        size = int(frame)
        self.frame = np.random.default_rng(0).normal(100, 12, (size, size, 3)).clip(0, 255).astype(np.uint8) if size else None
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=float(timeout))

    def _post(self, image: bytes, lang: str | None, **fields: object) -> dict:
        body = {"image_base64": base64.b64encode(image).decode(), "engine": self.engine, **fields}
        if lang:
            body["lang"] = lang
        response = self._client.post("/v1/ocr", json=body)
        response.raise_for_status()
        return response.json()

    def recognize(self, image: bytes, box=None, lang: str | None = None, meta=None) -> str:
        if box is None:
            width, height = Image.open(io.BytesIO(image)).size  # header only
            box = [0, 0, width, height]
        result = self._post(image, lang, regions=[box], level="block")
        return result["pages"][0]["blocks"][0]["text"]

    def ocr(self, image: bytes, lang: str | None = None, meta=None) -> list[tuple[list[list[float]], str, float]]:
        page = Image.open(io.BytesIO(image))  # decoded only when turned or framed
        sent = page.rotate(self.turn, expand=True) if self.turn else page
        left = top = 0
        if self.frame is not None:
            photo = Image.fromarray(self.frame)
            # a little left of and above the middle, as a hand-held photo frames a document
            left, top = (photo.width - sent.width) * 2 // 5, (photo.height - sent.height) * 2 // 5
            photo.paste(sent, (left, top))
            sent = photo
        if sent is not page:
            encoded = io.BytesIO()
            sent.save(encoded, format="JPEG" if self.frame is not None else "PNG", quality=90)
            image = encoded.getvalue()
        result = self._post(image, lang, level="line")
        predictions = []
        for line in (line for block in result["pages"][0]["blocks"] for line in block["lines"]):
            polygon = turned_back(shifted(line["polygon"], -left, -top), self.turn, *page.size)
            predictions.append(([list(point) for point in polygon], line["text"], line["confidence"]))
        return predictions
