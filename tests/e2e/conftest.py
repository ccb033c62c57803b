"""A real Label Studio (from PyPI, in its own virtualenv), a real S3 server (moto) and real ocrserver
processes, all on loopback. Label Studio is started with the settings the protocol notes list."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
LS_VENV = Path(os.environ.get("OCR_LS_VENV", REPO / ".venv-labelstudio"))
LEGACY_TOKEN = secrets.token_hex(20)
ADMIN = ("admin@example.com", "ocr-" + secrets.token_hex(8))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LabelStudio:
    url: str
    legacy_token: str
    personal_token: str
    files_root: Path

    def client(self, token_kind: str = "legacy") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Token {self.legacy_token}"}, timeout=120)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudio]:
    executable = LS_VENV / "bin" / "label-studio"
    assert executable.exists(), f"Label Studio is not installed at {LS_VENV}: run `make test` (its deps step installs it)"
    data_dir = tmp_path_factory.mktemp("label-studio-data")
    files_root = tmp_path_factory.mktemp("ls-files")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO", "DJANGO"))},
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_ML_BLOCK_LOCAL_IP": "false",
        "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(files_root),
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_SENTRY_DSN": "",
        "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_HOST": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    log = data_dir / "label-studio.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(executable), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
             "--username", ADMIN[0], "--password", ADMIN[1], "--user-token", LEGACY_TOKEN,
             "--enable-legacy-api-token", "--data-dir", str(data_dir)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=data_dir,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", process, 240, log)
        yield LabelStudio(url=url, legacy_token=LEGACY_TOKEN, personal_token=_create_pat(url), files_root=files_root)
    finally:
        stop(process)


def _create_pat(url: str) -> str:
    """Log in like a browser and create a personal access token (a JWT refresh token)."""
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as browser:
        browser.get("/user/login/")
        csrf = browser.cookies.get("csrftoken")
        login = browser.post("/user/login/", data={"email": ADMIN[0], "password": ADMIN[1], "csrfmiddlewaretoken": csrf},
                             headers={"Referer": f"{url}/user/login/"})
        assert login.status_code == 302, login.text[:500]
        headers = {"X-CSRFToken": browser.cookies.get("csrftoken") or csrf, "Referer": f"{url}/"}
        browser.post("/api/jwt/settings", json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": True}, headers=headers)
        response = browser.post("/api/token/", headers=headers)
        assert response.status_code in (200, 201), response.text[:500]
        return response.json()["token"]


@dataclass
class S3:
    endpoint: str
    bucket: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    """moto's S3-speaking server in this process, on loopback."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket="ocr-tasks")
    try:
        yield S3(endpoint=env["AWS_ENDPOINT_URL"], bucket="ocr-tasks", env=env)
    finally:
        server.stop()


@dataclass
class OcrProcess:
    url: str
    log: Path


@pytest.fixture(scope="session")
def start_ocrserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    processes: list[subprocess.Popen] = []

    def start(extra_env: dict[str, str]) -> OcrProcess:
        port = free_port()
        log = tmp_path_factory.mktemp("ocrserver") / "ocrserver.log"
        env = {**os.environ, "WORKERS": "2", "LOG_LEVEL": "INFO", **extra_env}
        for key in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "LOCAL_FILES_DOCUMENT_ROOT", "OCR_URL_ALLOWLIST"):
            if key not in extra_env:
                env.pop(key, None)
        with log.open("w") as out:
            process = subprocess.Popen([str(Path(sys.executable).parent / "ocrserver"), "serve", "--port", str(port)],
                                       env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        wait_until_up(f"http://127.0.0.1:{port}/health", process, 120, log)
        return OcrProcess(url=f"http://127.0.0.1:{port}", log=log)

    yield start
    for process in processes:
        stop(process)


@pytest.fixture(scope="session")
def cors_image_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An image host on loopback that sends CORS headers (so the labeling UI could show its images too)."""
    import http.server

    root = tmp_path_factory.mktemp("cors-host")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            super().end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    shutil.rmtree(root, ignore_errors=True)
