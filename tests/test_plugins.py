"""The engine plugin interface: a third-party engine joins the pool by name; one that raises spoils nothing else."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from ocrserver.api.app import create_app
from ocrserver.engines import discover_engines
from ocrserver.engines.base import Engine, EngineInfo
from ocrserver.pool import EnginePool
from ocrserver.result import Block, Line, rect_polygon
from ocrserver.settings import Settings, load_settings
from tests.helpers import encode, font, render_lines


class SizeEngine(Engine):
    """Reports the image size as text; raises on images wider than 1000 px."""

    name = "size"

    @classmethod
    def probe(cls, settings: Settings) -> EngineInfo:
        return EngineInfo(name=cls.name, available=True, version="1", model_version="size-1", languages=["en"], abilities=["page"])

    def __init__(self, settings: Settings) -> None:
        pass

    def read_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        if image.width > 1000:
            raise ValueError("too wide for this engine")
        text = f"{image.width}x{image.height}"
        return [Block(lines=[Line(text=text, confidence=1.0, polygon=rect_polygon(0, 0, image.width, image.height))])]

    def read_region(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        return []


def test_entry_points_register_the_builtin_engines() -> None:
    assert {"ppocr", "tesseract", "fastpaddle"} <= set(discover_engines())


def test_a_plugin_engine_serves_requests_and_its_failures_stay_per_image() -> None:
    settings = load_settings(engine="size", workers=1)
    app = create_app(settings, pool=EnginePool(settings, {"size": SizeEngine}))
    small = base64.b64encode(encode(Image.new("RGB", (120, 40), "white"))).decode()
    wide = base64.b64encode(encode(Image.new("RGB", (1200, 40), "white"))).decode()
    with TestClient(app) as client:
        assert [e["name"] for e in client.get("/v1/engines").json()["engines"]] == ["size"]
        assert client.post("/v1/ocr", json={"image_base64": small}).json()["text"] == "120x40"
        failed = client.post("/v1/ocr", json={"image_base64": wide})
        assert failed.status_code == 422
        assert "Engine 'size' failed" in failed.json()["detail"] and "too wide" in failed.json()["detail"]
        batch = client.post("/v1/ocr/batch", json={"images": [wide, small]}).json()["results"]
        assert [r["ok"] for r in batch] == [False, True]
        assert client.get("/health").json()["status"] == "UP"


def test_blank_regions_read_as_empty_text(client: TestClient) -> None:
    image = render_lines(["Only this line"]).image
    data = base64.b64encode(encode(image)).decode()
    for engine in ("ppocr", "tesseract"):
        body = client.post(
            "/v1/ocr", json={"image_base64": data, "engine": engine, "regions": [[600, 2, 890, 30]]}
        ).json()
        assert body["pages"][0]["blocks"][0]["text"] == "", engine
        assert body["pages"][0]["blocks"][0]["lines"] == []



def test_a_region_of_coloured_text_as_bright_as_its_background_is_read(client: TestClient) -> None:
    """Red on teal: the same mean of the three channels, so a grey made that way shows no contrast at all,
    yet the text stands out in each colour. The region read as empty while its page read it."""
    image = Image.new("RGB", (700, 90), (40, 130, 130))
    ImageDraw.Draw(image).text((30, 20), "Stamped in red", fill=(220, 40, 40), font=font(40))
    data = base64.b64encode(encode(image)).decode()
    for engine in ("ppocr", "tesseract"):
        body = client.post("/v1/ocr", json={"image_base64": data, "engine": engine, "regions": [[10, 5, 690, 85]]}).json()
        assert body["pages"][0]["blocks"][0]["text"] == "Stamped in red", engine


def test_a_box_drawn_across_a_shadows_edge_is_read_in_the_light_and_in_the_shadow(client: TestClient) -> None:
    """A hand's shadow over the line's second half, its paper there at 0.4 of its light: Tesseract's threshold
    (Otsu's) parted the light from the shadow, and read "Invoice total 1 2B EO"."""
    line = Image.new("RGB", (700, 120), "white")
    ImageDraw.Draw(line).text((30, 40), "Invoice total 1,284.50 EUR", fill="black", font=font(32))
    light = 1 - 0.6 / (1 + np.exp(-(np.arange(line.width) - 300) / 3.0))  # from column 300 on, a soft edge
    shadowed = Image.fromarray((np.asarray(line) * light[None, :, None]).astype(np.uint8))
    data = base64.b64encode(encode(shadowed)).decode()
    for engine in ("ppocr", "tesseract"):
        body = client.post("/v1/ocr", json={"image_base64": data, "engine": engine, "regions": [[10, 20, 690, 100]]}).json()
        assert body["pages"][0]["blocks"][0]["text"] == "Invoice total 1,284.50 EUR", engine


def test_the_pool_serves_again_after_its_app_was_shut_down_and_restarted() -> None:
    settings = load_settings(engine="size", workers=1, engine_wait_timeout=5)
    app = create_app(settings, pool=EnginePool(settings, {"size": SizeEngine}))
    small = base64.b64encode(encode(Image.new("RGB", (120, 40), "white"))).decode()
    for _ in range(3):  # each `with` runs the lifespan: warm on start, close on stop
        with TestClient(app) as client:
            assert client.post("/v1/ocr", json={"image_base64": small}).json()["text"] == "120x40"
    outside = TestClient(app)  # no lifespan at all: instances are made on demand
    assert outside.post("/v1/ocr", json={"image_base64": small}).json()["text"] == "120x40"


@pytest.mark.parametrize("degrees", [90, 270])
def test_an_upright_box_drawn_around_a_line_printed_sideways_reads_it(client: TestClient, degrees: int) -> None:
    """A spine, a column heading, a number printed up a form's margin: the box an annotator draws around it is
    upright and tall. Read as drawn it came back as fragments ("Inul uR"), from Tesseract one letter a line."""
    line = Image.new("RGB", (820, 90), "white")
    ImageDraw.Draw(line).text((30, 21), "Invoice total 1,284.50 EUR", fill="black", font=font(40))
    image = line.rotate(degrees, expand=True, fillcolor="white")
    data = base64.b64encode(encode(image)).decode()
    for engine in ("ppocr", "tesseract"):
        body = client.post("/v1/ocr", json={"image_base64": data, "engine": engine,
                                            "regions": [[0, 0, image.width, image.height]]}).json()
        block = body["pages"][0]["blocks"][0]
        assert block["text"] == "Invoice total 1,284.50 EUR", engine
        x0, y0, x1, y1 = block["lines"][0]["bbox"]
        assert y1 - y0 > 3 * (x1 - x0), engine  # the line's box stands on end, as the line does in the image
