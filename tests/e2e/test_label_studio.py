"""End to end with a real Label Studio 1.23: a project from our shipped config, ocrserver connected as its ML
backend, tasks imported four ways (upload, http URL, local files, s3://), "Retrieve predictions", and the
interactive "draw a box, get its text" call, with both kinds of API key."""

from __future__ import annotations

import math
from pathlib import Path

import boto3
import httpx
import pytest

from tests.e2e.conftest import REPO, S3, LabelStudio, OcrProcess
from tests.helpers import encode, render_lines, render_rotated_line

TEXTS = {
    "upload": ["Uploaded receipt 101", "Paid by card"],
    "http": ["Linked invoice 202", "Due in 30 days"],
    "local": ["Local scan 303", "Second line here"],
    "s3": ["Bucket object 404", "Kept on a storage server"],
}
CONFIG = (REPO / "labeling_configs" / "ocr_full_page.xml").read_text()
INTERACTIVE_CONFIG = (REPO / "labeling_configs" / "ocr_interactive.xml").read_text()


@pytest.fixture(scope="module")
def images(label_studio: LabelStudio, cors_image_host, s3_server: S3) -> dict[str, dict]:
    """Render one page per source and put each where its source expects it."""
    pages = {name: render_lines(lines, width=700) for name, lines in TEXTS.items()}
    base_url, root = cors_image_host
    (root / "http_page.png").write_bytes(encode(pages["http"].image))
    (label_studio.files_root / "ocr").mkdir(exist_ok=True)
    (label_studio.files_root / "ocr" / "local_page.png").write_bytes(encode(pages["local"].image))
    boto3.client("s3", endpoint_url=s3_server.endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                 region_name="us-east-1").put_object(Bucket=s3_server.bucket, Key="pages/s3_page.png",
                                                     Body=encode(pages["s3"].image))
    return {
        "pages": pages,
        "http_url": f"{base_url}/http_page.png",
        "local_url": "/data/local-files/?d=ocr/local_page.png",
        "s3_url": f"s3://{s3_server.bucket}/pages/s3_page.png",
    }


def _project(ls: httpx.Client, label_config: str, title: str, files_root: Path) -> int:
    project = ls.post("/api/projects", json={"title": title, "label_config": label_config})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    storage = ls.post("/api/storages/localfiles", json={
        "project": project_id, "title": "local", "path": str(files_root / "ocr"), "regex_filter": "^nothing$",
        "use_blob_urls": True,
    })
    assert storage.status_code == 201, storage.text
    return project_id


def _import(ls: httpx.Client, project_id: int, images: dict) -> dict[str, int]:
    upload = ls.post(f"/api/projects/{project_id}/import",
                     files={"file": ("upload_page.png", encode(images["pages"]["upload"].image), "image/png")})
    assert upload.status_code == 201, upload.text
    listed = ls.post(f"/api/projects/{project_id}/import", json=[
        {"image": images["http_url"]}, {"image": images["local_url"]}, {"image": images["s3_url"]},
    ])
    assert listed.status_code == 201, listed.text
    tasks = ls.get("/api/tasks", params={"project": project_id, "page_size": 100}).json()["tasks"]
    by_source: dict[str, int] = {}
    for task in tasks:
        url = task["data"]["image"]
        source = ("upload" if url.startswith("/data/upload/") else "local" if url.startswith("/data/local-files/")
                  else "s3" if url.startswith("s3://") else "http")
        by_source[source] = task["id"]
    assert sorted(by_source) == sorted(TEXTS)
    return by_source


def _connect(ls: httpx.Client, project_id: int, ocr: OcrProcess) -> int:
    response = ls.post("/api/ml", json={"url": ocr.url, "project": project_id, "is_interactive": True, "title": "ocrserver"})
    assert response.status_code == 201, response.text
    backend = ls.get(f"/api/ml/{response.json()['id']}").json()
    assert backend["state"] in ("CO", "CONNECTED"), backend
    return backend["id"]


def _predicted_texts(ls: httpx.Client, task_id: int) -> tuple[list[str], dict]:
    predictions = ls.get("/api/predictions", params={"task": task_id}).json()
    assert len(predictions) == 1, predictions
    items = predictions[0]["result"]
    return [item["value"]["text"][0] for item in items if item["type"] == "textarea"], predictions[0]


@pytest.mark.parametrize("key_kind", ["personal access token", "legacy token"])
def test_retrieve_predictions_reads_every_image_source(
    key_kind: str, label_studio: LabelStudio, s3_server: S3, images, start_ocrserver
) -> None:
    key = label_studio.personal_token if key_kind == "personal access token" else label_studio.legacy_token
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": key, **s3_server.env}
    if key_kind == "personal access token":
        env["LOCAL_FILES_DOCUMENT_ROOT"] = str(label_studio.files_root)  # read local files straight from disk
    else:
        env["OCR_URL_ALLOWLIST"] = "127.0.0.1"  # the http image host is on loopback; the PAT run keeps the default
    ocr = start_ocrserver(env)
    health = httpx.get(f"{ocr.url}/health", params={"check_label_studio": "true"}).json()["label_studio"]
    assert health == {**health, "configured": True, "reachable": True, "authenticated": True, "api_key": key_kind}
    with label_studio.client() as ls:
        project_id = _project(ls, CONFIG, f"OCR {key_kind}", label_studio.files_root)
        tasks = _import(ls, project_id, images)
        _connect(ls, project_id, ocr)
        action = ls.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": project_id},
                         json={"project": project_id, "selectedItems": {"all": True, "excluded": []}})
        assert action.status_code == 200, action.text
        for source, task_id in tasks.items():
            texts, prediction = _predicted_texts(ls, task_id)
            if source == "http" and key_kind == "personal access token":
                # the SSRF guard: a loopback image host is refused unless allow-listed; Label Studio itself is trusted
                assert texts == [] and "OCR_URL_ALLOWLIST" in ocr.log.read_text()
                continue
            assert texts == TEXTS[source], (source, ocr.log.read_text()[-2000:])
            assert prediction["model_version"].startswith("ocrserver-ppocr") and prediction["score"] > 0.8
            kinds = sorted({item["type"] for item in prediction["result"]})
            assert kinds == ["labels", "rectangle", "textarea"]
        # a second "Retrieve predictions" does not redo finished tasks (stable model_version)
        ls.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": project_id},
                json={"project": project_id, "selectedItems": {"all": True, "excluded": []}})
        assert all(len(ls.get("/api/predictions", params={"task": t}).json()) == 1 for t in tasks.values())


@pytest.mark.parametrize("rotation", [0, 30])
def test_interactive_box_ocr_through_label_studio(
    rotation: float, label_studio: LabelStudio, s3_server: S3, images, cors_image_host, start_ocrserver
) -> None:
    ocr = start_ocrserver({"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.personal_token,
                           "OCR_URL_ALLOWLIST": "127.0.0.1"})
    base_url, root = cors_image_host
    text = "Drawn box text 55"
    if rotation:
        image, quad = render_rotated_line(text, rotation)
    else:
        rendered = render_lines(["Header line above", text], width=700)
        image = rendered.image
        x0, y0, x1, y1 = rendered.boxes[1]
        quad = [(x0 - 6, y0 - 6), (x1 + 6, y0 - 6), (x1 + 6, y1 + 6), (x0 - 6, y1 + 6)]
    (root / f"interactive_{rotation}.png").write_bytes(encode(image))
    width, height = image.size
    (ax, ay), (bx, by), _, (dx, dy) = quad
    with label_studio.client() as ls:
        project_id = _project(ls, INTERACTIVE_CONFIG, f"Interactive {rotation}", label_studio.files_root)
        ls.post(f"/api/projects/{project_id}/import", json=[{"image": f"{base_url}/interactive_{rotation}.png"}])
        task_id = ls.get("/api/tasks", params={"project": project_id}).json()["tasks"][0]["id"]
        ml_id = _connect(ls, project_id, ocr)
        drawn = {
            "original_width": width, "original_height": height, "image_rotation": 0,
            "value": {"x": ax / width * 100, "y": ay / height * 100, "width": math.hypot(bx - ax, by - ay) / width * 100,
                      "height": math.hypot(dx - ax, dy - ay) / height * 100, "rotation": rotation,
                      "rectanglelabels": ["Text"]},
            "id": "drawn01", "from_name": "bbox", "to_name": "image", "type": "rectanglelabels", "origin": "manual",
        }
        answer = ls.post(f"/api/ml/{ml_id}/interactive-annotating", json={"task": task_id, "context": {"result": [drawn]}})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "errors" not in body, (body, ocr.log.read_text()[-2000:])
        items = body["data"]["result"]
        assert [i["value"]["text"] for i in items if i["type"] == "textarea"] == [[text]]
        assert {i["id"] for i in items} == {"drawn01"}
        assert [i["value"]["rectanglelabels"] for i in items if i["type"] == "rectanglelabels"] == [["Text"]]


def test_a_refused_key_is_reported_with_the_setting_to_fix(label_studio: LabelStudio, images, start_ocrserver) -> None:
    ocr = start_ocrserver({"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": "0" * 40})
    health = httpx.get(f"{ocr.url}/health", params={"check_label_studio": "true"}).json()["label_studio"]
    assert health["reachable"] is True and health["authenticated"] is False
    assert "LABEL_STUDIO_API_KEY" in health["detail"]
    assert httpx.get(f"{ocr.url}/health").json()["label_studio"]["authenticated"] is False  # remembered
    with label_studio.client() as ls:
        project_id = _project(ls, CONFIG, "Refused key", label_studio.files_root)
        task_id = _import(ls, project_id, images)["upload"]
        task = ls.get(f"/api/tasks/{task_id}").json()
    answer = httpx.post(f"{ocr.url}/predict", json={"tasks": [task], "label_config": CONFIG, "params": {}}, timeout=60).json()
    assert answer["results"][0]["result"] == []
    log = ocr.log.read_text()
    assert "HTTP 401" in log and "Set LABEL_STUDIO_API_KEY" in log and "0" * 40 not in log
