"""Security, limits, hostile input, load shedding and faults: each promise of the hardening work, proved."""

from __future__ import annotations

import base64
import copy
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ocrserver.api.app import create_app
from ocrserver.errors import FetchFailed
from ocrserver.memory import HeapTrimmer
from ocrserver.netguard import UrlGuard
from ocrserver.pool import EnginePool
from ocrserver.service import OcrOptions, OcrService, PageToRead
from ocrserver.settings import load_settings
from ocrserver.sources import ImageFetcher
from tests.conftest import SHARED
from tests.helpers import encode, render_lines, server_timings

LINE = "Hardened line 2024"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def line_png() -> bytes:
    return encode(render_lines([LINE]).image)


class _Server:
    """A loopback HTTP server whose handler is a plain function of the path."""

    def __init__(self, host: str, respond) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits.append(self.path)
                status, headers, body = respond(self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.hits: list[str] = []
        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def guarded() -> Iterator[TestClient]:
    """An app with the default SSRF policy (nothing allow-listed)."""
    with TestClient(create_app(load_settings(workers=1))) as client:
        yield client


# ---- SSRF ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/x.png",
        "http://localhost:{port}/x.png",  # a name that resolves to loopback
        "http://2130706433:{port}/x.png",  # 127.0.0.1 written as one number
        "http://[::1]:{port}/x.png",
        "http://[::ffff:127.0.0.1]:{port}/x.png",
        "http://0.0.0.0:{port}/x.png",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.1.2.3/x.png",
        "http://192.168.0.10/x.png",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ],
)
def test_internal_addresses_are_refused_with_the_setting_that_opens_them(guarded: TestClient, line_png: bytes, url: str) -> None:
    server = _Server("127.0.0.1", lambda path: (200, {"Content-Type": "image/png"}, line_png))
    try:
        response = guarded.post("/v1/ocr", json={"image_url": url.format(port=server.server.server_address[1])})
        assert response.status_code == 403, response.text
        assert "OCR_URL_ALLOWLIST" in response.json()["detail"]
        assert server.hits == []  # refused before any connection
    finally:
        server.close()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/", "ftp://user:hunter2@example.org/x.png?k=s3cr3t"])
def test_only_http_schemes_are_fetched(guarded: TestClient, url: str) -> None:
    response = guarded.post("/v1/ocr", json={"image_url": url})
    assert response.status_code == 422 and "http(s)" in response.json()["detail"]
    assert "hunter2" not in response.text and "s3cr3t" not in response.text


def test_every_redirect_hop_is_checked(line_png: bytes) -> None:
    inner = _Server("127.0.0.1", lambda path: (200, {"Content-Type": "image/png"}, line_png))
    outer = _Server("127.0.0.2", lambda path: (302, {"Location": f"{inner.url}/secret.png"}, b""))
    try:
        settings = load_settings(workers=1, url_allowlist=["127.0.0.2/32"])  # only the redirecting host is allowed
        with TestClient(create_app(settings)) as client:
            response = client.post("/v1/ocr", json={"image_url": f"{outer.url}/start.png"})
            assert response.status_code == 403 and "127.0.0.1" in response.json()["detail"]
            assert outer.hits == ["/start.png"] and inner.hits == []
        opened = load_settings(workers=1, url_allowlist=["127.0.0.0/8"])
        with TestClient(create_app(opened)) as client:
            response = client.post("/v1/ocr", json={"image_url": f"{outer.url}/start.png", "format": "text"})
            assert response.status_code == 200 and response.text == LINE
    finally:
        inner.close()
        outer.close()


def test_credentials_never_follow_a_redirect_to_another_origin(line_png: bytes) -> None:
    seen: list[str | None] = []

    class Capture(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(line_png)))
            self.end_headers()
            self.wfile.write(line_png)

        def log_message(self, *args: object) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    label_studio = _Server("127.0.0.1", lambda path: (302, {"Location": f"http://127.0.0.1:{other.server_address[1]}/x.png"}, b""))
    try:
        fetcher = ImageFetcher(timeout=5, max_bytes=10**7, guard=UrlGuard(["127.0.0.1"], []))
        assert fetcher.fetch(f"{label_studio.url}/data/upload/1/a.png", headers={"Authorization": "Token SECRET"}) == line_png
        assert seen == [None]
    finally:
        label_studio.close()
        other.shutdown()


def test_the_configured_label_studio_origin_is_trusted_and_nothing_else(line_png: bytes) -> None:
    label_studio = _Server("127.0.0.1", lambda path: (200, {}, line_png))
    elsewhere = _Server("127.0.0.1", lambda path: (200, {}, line_png))
    try:
        settings = load_settings(workers=1, label_studio_url=label_studio.url, label_studio_api_key="k" * 40)
        with TestClient(create_app(settings)) as client:
            ok = client.post("/v1/ocr", json={"image_url": f"{label_studio.url}/data/upload/1/a.png", "format": "text"})
            assert ok.status_code == 200 and ok.text == LINE
            refused = client.post("/v1/ocr", json={"image_url": f"{elsewhere.url}/a.png"})
            assert refused.status_code == 403
    finally:
        label_studio.close()
        elsewhere.close()


def test_label_studio_tasks_pointing_inside_get_an_empty_prediction(guarded: TestClient, caplog) -> None:
    body = json.loads((SHARED / "reference" / "captures" / "predict_batch_3_tasks.json").read_text())["json"]
    body["tasks"] = [{"id": 9, "data": {"image": "http://169.254.169.254/latest/meta-data/iam"}}]
    with caplog.at_level("ERROR"):
        results = guarded.post("/predict", json=body).json()["results"]
    assert results[0]["result"] == []
    assert "OCR_URL_ALLOWLIST" in " ".join(r.getMessage() for r in caplog.records)


# ---- authentication and secrets ------------------------------------------------------------------------
def test_api_key_guards_the_rest_api(line_png: bytes, caplog) -> None:
    settings = load_settings(workers=1, api_key="key-" + "x" * 20, basic_auth_user="ls", basic_auth_pass="pw")
    with TestClient(create_app(settings)) as client, caplog.at_level("DEBUG"):
        body = {"image_base64": b64(line_png), "format": "text"}
        assert client.get("/health").status_code == 200
        denied = client.post("/v1/ocr", json=body)
        assert denied.status_code == 401 and "OCR_API_KEY" in denied.json()["detail"]
        assert client.post("/v1/ocr", json=body, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.post("/v1/ocr", json=body, headers={"X-API-Key": "key-" + "x" * 20}).text == LINE
        assert client.post("/v1/ocr", json=body, headers={"Authorization": "Bearer key-" + "x" * 20}).text == LINE
        assert client.post("/v1/ocr", json=body, auth=("ls", "pw")).text == LINE  # either credential works
        assert client.get("/metrics").status_code == 401
    assert "x" * 20 not in caplog.text and "pw" not in " ".join(r.getMessage() for r in caplog.records)


def test_no_secret_appears_in_health_or_errors(monkeypatch, closed_port: int) -> None:
    secrets = {"ls": "LSKEY" + "9" * 35, "basic": "BasicSecret!", "api": "ApiSecret123", "aws": "AwsSecret/xyz"}
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets["aws"])
    settings = load_settings(workers=1, label_studio_url=f"http://127.0.0.1:{closed_port}", label_studio_api_key=secrets["ls"],
                             basic_auth_user="u", basic_auth_pass=secrets["basic"], api_key=secrets["api"])
    with TestClient(create_app(settings)) as client:
        headers = {"X-API-Key": secrets["api"]}
        texts = [client.get("/health", params={"check_label_studio": "true"}).text, client.get("/v1/engines", headers=headers).text,
                 client.post("/v1/ocr", json={"image_url": f"http://127.0.0.1:{closed_port}/a.png?token={secrets['ls']}"},
                             headers=headers).text]
    for text in texts:
        for secret in secrets.values():
            assert secret not in text


# ---- limits ------------------------------------------------------------------------------------------
def test_request_body_cap_applies_with_and_without_content_length(line_png: bytes) -> None:
    with TestClient(create_app(load_settings(workers=1, max_request_bytes=50_000))) as client:
        big = b"x" * 80_000
        declared = client.post("/v1/ocr", files={"file": ("a.png", big)})
        assert declared.status_code == 413 and "OCR_MAX_REQUEST_BYTES" in declared.json()["detail"]
        streamed = client.post("/v1/ocr", content=(big[i:i + 8192] for i in range(0, len(big), 8192)),
                               headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert client.post("/v1/ocr", files={"file": ("a.png", line_png)}).status_code == 200


def test_download_cap_and_timeout(line_png: bytes) -> None:
    big = _Server("127.0.0.1", lambda path: (200, {}, line_png * 20))
    settings = load_settings(workers=1, url_allowlist=["127.0.0.1"], max_download_bytes=len(line_png) * 2, fetch_timeout=1.0)
    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(5)  # accepts connections, never answers
    try:
        with TestClient(create_app(settings)) as client:
            too_big = client.post("/v1/ocr", json={"image_url": f"{big.url}/big.png"})
            assert too_big.status_code == 413 and "OCR_MAX_DOWNLOAD_BYTES" in too_big.json()["detail"]
            started = time.monotonic()
            hung = client.post("/v1/ocr", json={"image_url": f"http://127.0.0.1:{stalled.getsockname()[1]}/x.png"})
            assert hung.status_code == 422 and "timed out" in hung.json()["detail"]
            assert time.monotonic() - started < 5
    finally:
        big.close()
        stalled.close()


def test_per_request_time_limit_answers_408() -> None:
    page = encode(render_lines([f"Line {i} of a slow page" for i in range(20)], width=1200).image)
    with TestClient(create_app(load_settings(workers=1, request_timeout=0.05))) as client:
        response = client.post("/v1/ocr", json={"image_base64": b64(page)})
        assert response.status_code == 408 and "OCR_REQUEST_TIMEOUT" in response.json()["detail"]
        assert client.get("/health").status_code == 200


# ---- hostile inputs ---------------------------------------------------------------------------------
def _hostile_files() -> dict[str, tuple[bytes, int]]:
    """name -> (bytes, expected status)"""
    image = render_lines([LINE]).image
    jpeg = encode(image, "JPEG")
    png = encode(image)
    frames = [render_lines([LINE]).image.convert("P"), Image.new("P", image.size)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    sixteen = Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257).convert("I;16")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.png", b"\0" * 5_000_000)
    huge = Image.new("1", (20000, 20000))
    huge_png = encode(huge)  # ~100 KB file, 400 MP: refused from the header, before decoding
    return {
        "random bytes": (os.urandom(4096), 422),
        "truncated jpeg": (jpeg[: len(jpeg) // 3], 422),
        "truncated png": (png[: len(png) // 2], 422),
        "png header only": (png[:33], 422),
        "huge dimensions, tiny file": (huge_png, 413),
        "zip bomb": (bomb.getvalue(), 422),
        "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>hi</text></svg>', 422),
        "html": (b"<html><body>not an image</body></html>", 422),
        "animated gif (first frame read)": (gif.getvalue(), 200),
        "16-bit tiff": (encode(sixteen, "TIFF"), 200),
        "cmyk tiff": (encode(image.convert("CMYK"), "TIFF"), 200),
    }


@pytest.mark.parametrize("name", list(_hostile_files()))
def test_hostile_files_get_a_clear_answer(client: TestClient, name: str) -> None:
    data, status = _hostile_files()[name]
    started = time.monotonic()
    response = client.post("/v1/ocr", files={"file": ("upload.bin", data, "image/png")})
    assert response.status_code == status, (name, response.text)
    assert time.monotonic() - started < 20
    if status == 200:
        assert response.json()["text"] == LINE
    else:
        assert response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ocr", {"image_base64": 5}),
        ("/v1/ocr", {"image_base64": "aGVsbG8=", "regions": "abc"}),
        ("/v1/ocr", {"image_base64": "aGVsbG8=", "regions": [[[0, 0], [1, 1], [2, "x"]]]}),
        ("/v1/ocr", {"image_base64": "aGVsbG8=", "lang": 5}),
        ("/v1/ocr", {"image_base64": "aGVsbG8=", "pages": [-1]}),
        ("/v1/ocr", {"image_base64": "aGVsbG8=", "unknown": 1}),
        ("/v1/ocr", [1, 2]),
        ("/v1/ocr/batch", {"images": "x"}),
        ("/v1/ocr/batch", {"images": []}),
        ("/v1/ocr/batch", {"images": [{"image_url": "a", "image_base64": "b"}]}),
        ("/predict/ocr_system", {"images": [5]}),
        ("/predict/ocr_system", {}),
        ("/predict", {"tasks": [{"id": 1}], "label_config": 5}),
        ("/setup", {"schema": "<View><Image"}),
    ],
)
def test_wrong_json_types_get_422(client: TestClient, path: str, body: object) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_invalid_base64_in_a_batch_spoils_nothing_else(client: TestClient, line_png: bytes) -> None:
    results = client.post("/v1/ocr/batch", json={"images": ["@@@", b64(line_png), "", b64(b"\x89PNG")]}).json()["results"]
    assert [r["ok"] for r in results] == [False, True, False, False]
    assert results[1]["result"]["text"] == LINE


# ---- load shedding, metrics, faults, shutdown ------------------------------------------------------------
def _start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([str(Path(sys.executable).parent / "ocrserver"), "serve", "--port", str(port)],
                               env={**os.environ, "LOG_LEVEL": "WARNING", **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


def test_a_saturated_server_sheds_load_with_503_and_retry_after() -> None:
    process, base = _start({"WORKERS": "1", "OCR_MAX_QUEUE": "1"})
    page = {"image_base64": b64(encode(render_lines([f"Row {i} of a busy page" for i in range(16)], width=1000).image))}
    statuses: list[int] = []
    retry_after: list[str | None] = []
    try:
        def call() -> None:
            response = httpx.post(f"{base}/v1/ocr", json=page, timeout=120)
            statuses.append(response.status_code)
            if response.status_code == 503:
                retry_after.append(response.headers.get("retry-after"))
                assert "OCR_MAX_QUEUE" in response.json()["detail"]

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        time.sleep(0.2)
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        for thread in threads:
            thread.join()
        assert sorted(statuses).count(200) >= 2 and 503 in statuses  # one running + one queued succeed
        assert all(value and value.isdigit() for value in retry_after)
        assert "ocrserver_jobs_queued" in metrics and "ocrserver_jobs_running 1.0" in metrics
        assert httpx.post(f"{base}/v1/ocr", json=page, timeout=120).status_code == 200  # and it recovers
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_graceful_shutdown_finishes_the_request_in_flight() -> None:
    process, base = _start({"WORKERS": "1"})
    page = {"image_base64": b64(encode(render_lines([f"Row {i} before shutdown" for i in range(16)], width=1000).image)),
            "format": "text"}
    answer: dict[str, httpx.Response] = {}
    worker = threading.Thread(target=lambda: answer.update(r=httpx.post(f"{base}/v1/ocr", json=page, timeout=120)))
    worker.start()
    time.sleep(0.4)
    process.send_signal(signal.SIGTERM)
    worker.join()
    assert answer["r"].status_code == 200 and "Row 15 before shutdown" in answer["r"].text
    # uvicorn drains in-flight work, then re-raises the SIGTERM it caught: exit by that signal, not a kill
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)


def test_a_slow_uploads_time_is_told_apart_from_the_servers_own_in_server_timing() -> None:
    process, base = _start({"WORKERS": "1", "OCR_ENGINE": "tesseract"})
    body = json.dumps({"action": "ANNOTATION_CREATED"}).encode()
    port = int(base.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"POST /webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            time.sleep(0.5)  # the body is on its way
            connection.sendall(body)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    finally:
        process.terminate()
        process.wait(timeout=30)
    head = answer.partition(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 200")
    header = next(line.partition(":")[2] for line in head.split("\r\n") if line.lower().startswith("server-timing:"))
    timings = server_timings(header)
    assert timings["recv"] >= 450  # the wait for the body, in milliseconds
    assert timings["app"] < 100  # the server's own part of the call


def test_label_studio_errors_and_s3_faults_are_specific_per_task(caplog) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    failing_ls = _Server("127.0.0.1", lambda path: (500, {}, b"boom"))
    line = encode(render_lines([LINE]).image)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        s3.create_bucket(Bucket="docs")
        s3.put_object(Bucket="docs", Key="ok.png", Body=line)
        os.environ.update(AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION="us-east-1")
        settings = load_settings(workers=1, label_studio_url=failing_ls.url, label_studio_api_key="a" * 40,
                                 s3_endpoint_url=endpoint)
        body = json.loads((SHARED / "reference" / "captures" / "predict_batch_3_tasks.json").read_text())["json"]
        body = copy.deepcopy(body)
        body["tasks"] = [{"id": 1, "data": {"image": "/data/upload/1/a.png"}}, {"id": 2, "data": {"image": "s3://docs/missing.png"}},
                         {"id": 3, "data": {"image": "s3://nobucket/x.png"}}, {"id": 4, "data": {"image": "s3://docs/ok.png"}}]
        with TestClient(create_app(settings)) as client, caplog.at_level("ERROR"):
            results = client.post("/predict", json=body).json()["results"]
            assert client.get("/health").status_code == 200
        assert [bool(r["result"]) for r in results] == [False, False, False, True]
        assert [i["value"]["text"] for i in results[3]["result"] if i["type"] == "textarea"] == [[LINE]]
        log = " | ".join(r.getMessage() for r in caplog.records)
        assert "task 1: Downloading" in log and "HTTP 500" in log
        assert "task 2: Reading s3://docs/missing.png failed: no such object" in log
        assert "task 3: Reading s3://nobucket/x.png failed: no such bucket" in log
    finally:
        failing_ls.close()
        moto.stop()
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ.pop(key, None)


def test_an_answer_cut_off_mid_body_is_a_fetch_failure_not_a_crash() -> None:
    # Label Studio's token and health calls read small JSON answers; a dropped connection must surface as
    # FetchFailed (which /health and /predict turn into a message), not as a raw httpx error in a thread.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def cut_short() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id"')

        threading.Thread(target=cut_short, daemon=True).start()
        fetcher = ImageFetcher(timeout=5, max_bytes=10**7, guard=UrlGuard(["127.0.0.1"], []))
        with pytest.raises(FetchFailed, match=f"127.0.0.1:{port}"):
            fetcher.request_json("GET", f"http://127.0.0.1:{port}/api/current-user/whoami")
        fetcher.close()


def test_freed_page_memory_is_handed_back_when_quiet_and_at_most_every_few_seconds_under_load() -> None:
    # Trimming after each page made the next one fault its buffers in again (a tiny page 570 -> 680 ms).
    quiet = HeapTrimmer(quiet_seconds=0.2, busy_interval=60)
    for _ in range(5):
        quiet.page_read()  # pages one after another: nothing is trimmed between them
    assert quiet.trims == 0
    deadline = time.monotonic() + 5
    while quiet.trims == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert quiet.trims == 1  # once quiet
    time.sleep(0.5)
    assert quiet.trims == 1  # and only once

    busy = HeapTrimmer(quiet_seconds=60, busy_interval=0.1)
    busy.page_read()
    assert busy.trims == 0
    time.sleep(0.15)
    busy.page_read()  # a server that never goes quiet still hands memory back
    assert busy.trims == 1


def test_freed_page_memory_is_not_handed_back_while_the_next_job_is_under_way() -> None:
    # Pages read one after another, each slower than the quiet time, were trimmed in the middle of the next one,
    # which then faulted its buffers in again (ppocr pages through the server: per-page median 13 % slower).
    settings = load_settings(workers=2)
    pool = EnginePool(settings)
    service = OcrService(settings, pool, ImageFetcher(timeout=5, max_bytes=10**6))
    service.read_pages([PageToRead.as_sent(render_lines(["a page read"]).image)], OcrOptions(engine="tesseract"))
    with pool.lease("tesseract"):  # the next job, running on past the quiet time
        time.sleep(service.heap_trimmer.quiet_seconds + 0.5)
        assert service.heap_trimmer.trims == 0
    deadline = time.monotonic() + 5
    while service.heap_trimmer.trims == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.heap_trimmer.trims == 1  # once the server is quiet
    pool.close()


PAGE_BUFFERS = """
import ctypes, json, resource, sys, threading
from pathlib import Path
from ocrserver.memory import release_free_memory, tune_malloc
if sys.argv[1] == "tuned":
    tune_malloc()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
SIZE = 100 << 20  # a page's largest buffers, written and freed by a worker thread page after page
faults = []
def pages():
    for _ in range(4):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = libc.malloc(SIZE)
        ctypes.memset(block, 1, SIZE)
        libc.free(block)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
worker = threading.Thread(target=pages)
worker.start()
worker.join()
def rss_mib():
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
held = rss_mib()
release_free_memory()
print(json.dumps({"faults": faults, "handed_back_mib": held - rss_mib()}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
@pytest.mark.parametrize(("how", "env"), [
    pytest.param("tuned", {}, id="tuned"),
    pytest.param("untuned", {}, id="as glibc comes"),
    pytest.param("tuned", {"MALLOC_MMAP_THRESHOLD_": "131072"}, id="an operator's own setting wins"),
])
def test_a_pages_buffers_are_reused_from_the_heap_not_faulted_in_anew_for_every_page(how: str, env: dict[str, str]) -> None:
    # glibc served each large buffer with a fresh mmap, so every page faulted its buffers in again (3-5 million
    # faults over 62 dev page reads; ppocr pages 753 -> 638 ms once reused); the heap still goes back when trimmed.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    run = subprocess.run([sys.executable, "-c", PAGE_BUFFERS, how], capture_output=True, text=True, check=True,
                         env={**inherited, **env}, timeout=60)
    measured = json.loads(run.stdout)
    page_of_buffers = (100 << 20) // os.sysconf("SC_PAGE_SIZE")
    if how == "tuned" and not env:
        assert max(measured["faults"][1:]) < page_of_buffers // 20  # the first page's buffers serve the next ones
        assert measured["handed_back_mib"] >= 90  # and go back to the system when the server trims its heap
    else:
        assert min(measured["faults"]) >= page_of_buffers * 0.9
