"""Adapter for ../shared/bench/ocr_score.py that talks to a running ocrserver over its real REST API.

box task  -> POST /v1/ocr with the crop and one region covering it (read as one unit)
page task -> POST /v1/ocr with the whole image; every detected line becomes one prediction
             (with turn=90/180/270: the page is sent turned counter-clockwise, as if scanned that way,
             and the lines' polygons are turned back onto the page for scoring)
"""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image

from ocrserver.geometry import turned_back


class OcrServer:
    def __init__(
        self, url: str = "http://127.0.0.1:9090", engine: str = "ppocr", timeout: str = "120", turn: str = "0"
    ) -> None:
        self.name = f"ocrserver[{engine}]" + (f" turned {turn}" if int(turn) else "")
        self.engine = engine
        self.turn = int(turn)
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
        if self.turn:
            page = Image.open(io.BytesIO(image))
            sent = io.BytesIO()
            page.rotate(self.turn, expand=True).save(sent, format="PNG")
            image = sent.getvalue()
        result = self._post(image, lang, level="line")
        lines = [line for block in result["pages"][0]["blocks"] for line in block["lines"]]
        if self.turn:
            for line in lines:
                line["polygon"] = [list(point) for point in turned_back(line["polygon"], self.turn, *page.size)]
        return [(line["polygon"], line["text"], line["confidence"]) for line in lines]
