"""The ``ocrserver`` command: ``ocr`` on files and folders, ``engines``, and ``serve`` as a real process."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import encode, render_lines

OCRSERVER = str(Path(sys.executable).parent / "ocrserver")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OCRSERVER, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scans")
    (root / "a.png").write_bytes(encode(render_lines(["Alpha invoice 100"]).image))
    (root / "sub").mkdir()
    (root / "sub" / "b.jpg").write_bytes(encode(render_lines(["Beta receipt 200"]).image, "JPEG", quality=95))
    (root / "notes.txt").write_text("not an image")
    return root


def test_ocr_one_file_prints_its_text(folder: Path) -> None:
    result = run_cli("ocr", str(folder / "a.png"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Alpha invoice 100"


def test_ocr_a_folder_reads_every_image_with_headers_and_json(folder: Path) -> None:
    text = run_cli("ocr", str(folder), "--engine", "tesseract", "--lang", "eng")
    assert text.returncode == 0, text.stderr
    assert f"==> {folder / 'a.png'} <==\nAlpha invoice 100" in text.stdout
    assert f"==> {folder / 'sub' / 'b.jpg'} <==\nBeta receipt 200" in text.stdout
    as_json = run_cli("ocr", str(folder), "--format", "json", "--level", "line", "--progress")
    items = json.loads(as_json.stdout)
    assert [Path(item["input"]).name for item in items] == ["a.png", "b.jpg"]
    assert [item["text"] for item in items] == ["Alpha invoice 100", "Beta receipt 200"]
    assert "words" not in items[0]["pages"][0]["blocks"][0]["lines"][0]
    assert "2/2" in as_json.stderr  # the progress bar ran to the end


def test_ocr_reports_bad_files_and_goes_on(folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"garbage")
    result = run_cli("ocr", str(broken), str(folder / "a.png"), str(tmp_path / "missing.png"))
    assert result.returncode == 1
    assert "Alpha invoice 100" in result.stdout
    assert "broken.png: The data is not an image format" in result.stderr
    assert "missing.png" in result.stderr


def test_ocr_refuses_unknown_engine_before_reading(folder: Path) -> None:
    result = run_cli("ocr", str(folder), "--engine", "nope")
    assert result.returncode == 2 and "Unknown engine 'nope'" in result.stderr


def test_engines_command_lists_languages() -> None:
    result = run_cli("engines")
    assert result.returncode == 0
    assert "ppocr (default): available" in result.stdout and "tesseract: available" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_health_while_a_page_is_being_read() -> None:
    port = _free_port()
    env = {**os.environ, "WORKERS": "2", "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([OCRSERVER, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).json()["status"] == "UP":
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        page = render_lines([f"Line number {i} of a long page" for i in range(24)], width=1400).image
        payload = {"image_base64": base64.b64encode(encode(page)).decode()}
        done: dict[str, float] = {}

        def read_page() -> None:
            response = httpx.post(f"{base}/v1/ocr", json=payload, timeout=120)
            assert response.status_code == 200
            done["page"] = time.monotonic()

        worker = threading.Thread(target=read_page)
        worker.start()
        time.sleep(0.2)
        health_started = time.monotonic()
        assert httpx.get(f"{base}/health", timeout=1).status_code == 200  # Label Studio's timeout is 1 s
        health_took = time.monotonic() - health_started
        worker.join()
        assert health_took < 1.0 and "page" in done
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
