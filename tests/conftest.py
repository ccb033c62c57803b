"""Fixtures: one warm app with real engines for the whole session, a loopback image server, the dev set."""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ocrserver.api.app import create_app
from ocrserver.engines.bf16 import cpu_flags, resolve_precision
from ocrserver.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OCR_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def dev_data() -> Path:
    """The labelled dev set: ../shared/data/ocr-dev beside the checkout (or under OCR_SHARED)."""
    path = SHARED / "data" / "ocr-dev"
    assert (path / "labels").is_dir(), f"dev set not found at {path}; set OCR_SHARED to the shared/ folder"
    return path


# for tests of OCR_PRECISION=bf16, which runs only on CPUs that compute bf16 natively
needs_native_bf16 = pytest.mark.skipif(
    resolve_precision("auto", "cpu", cpu_flags()) != "bf16", reason="this CPU has no native bf16 (avx512_bf16 / amx_bf16)"
)


def load_label(dev_data: Path, item_id: str) -> dict:
    return json.loads((dev_data / "labels" / f"{item_id}.json").read_text())


@pytest.fixture(scope="session")
def settings() -> Settings:
    # the tests' image servers live on loopback, which the SSRF guard refuses unless allow-listed
    return load_settings(workers=2, preload_engines=["tesseract"], languages=["en"], url_allowlist=["127.0.0.1"])


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def laid_out_by_tesseract(settings: Settings) -> Iterator[TestClient]:
    """A server whose ``tesseract`` finds a page's lines with Tesseract's own layout (OCR_TESSERACT_LAYOUT=tesseract)."""
    with TestClient(create_app(settings.model_copy(update={"tesseract_layout": "tesseract"}))) as test_client:
        yield test_client


@pytest.fixture(scope="session", params=["ppocr", "tesseract"])
def tesseract_client(request: pytest.FixtureRequest) -> TestClient:
    """A server per OCR_TESSERACT_LAYOUT: lines found by PP-OCR's detector (the default), or Tesseract's own layout."""
    return request.getfixturevalue("client" if request.param == "ppocr" else "laid_out_by_tesseract")  # type: ignore[no-any-return]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a temporary folder: (base URL, folder)."""
    root = tmp_path_factory.mktemp("served")

    def handler(*args: object, **kwargs: object) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


@pytest.fixture()
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
