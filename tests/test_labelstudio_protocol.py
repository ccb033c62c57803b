"""The Label Studio ML backend protocol, driven by payloads captured from a real Label Studio 1.23
(../shared/reference/captures), with the task images served from a real loopback HTTP server."""

from __future__ import annotations

import base64
import copy
import json
import math
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from label_studio_sdk.label_interface import LabelInterface

from ocrserver.api.app import create_app
from ocrserver.errors import InvalidRegion
from ocrserver.labelstudio.annotations import labelled_regions, submitted_annotation
from ocrserver.labelstudio.backend import PageCache
from ocrserver.service import PageToRead
from ocrserver.settings import load_settings
from tests.conftest import REPO, SHARED
from tests.helpers import box_drawn_in_label_studio, encode, render_lines, render_rotated_line, server_timings

CAPTURES = SHARED / "reference" / "captures"
LINES = ["Invoice 4711 paid in full", "Total amount 42.50 EUR"]


def capture(name: str) -> dict:
    path = CAPTURES / f"{name}.json"
    assert path.exists(), f"Label Studio capture {path} missing; set OCR_SHARED to the shared/ folder"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def page(image_server) -> dict:
    base_url, root = image_server
    rendered = render_lines(LINES, width=800)
    (root / "ls_page.png").write_bytes(encode(rendered.image))
    return {"url": f"{base_url}/ls_page.png", "size": rendered.image.size, "boxes": rendered.boxes}


def _batch_body(url: str, label_config: str | None = None) -> dict:
    body = copy.deepcopy(capture("predict_batch_3_tasks")["json"])
    for task in body["tasks"]:
        task["data"] = {"image": url}
    if label_config:
        body["label_config"] = label_config
    return body


def test_health_and_setup_speak_the_protocol(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "UP" and health["model_class"]
    setup = client.post("/setup", json=capture("setup")["json"]).json()
    again = client.post("/setup", json=capture("setup")["json"]).json()
    assert setup["model_version"] == again["model_version"] == health["model_version"]
    assert setup["model_version"].startswith("ocrserver-ppocr-PP-OCRv6-small")


def test_setup_refuses_a_config_without_an_image(client: TestClient) -> None:
    body = {**capture("setup")["json"], "schema": "<View><Text name='t' value='$text'/></View>"}
    response = client.post("/setup", json=body)
    assert response.status_code == 422 and "<Image>" in response.json()["detail"]


def test_batch_pre_annotation_one_prediction_per_task_in_order(client: TestClient, page, closed_port) -> None:
    body = _batch_body(page["url"])
    body["tasks"][1]["data"] = {"image": f"http://127.0.0.1:{closed_port}/gone.png"}  # this one fails
    response = client.post("/predict", json=body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert results[1]["result"] == [] and results[1]["score"] == 0.0
    interface = LabelInterface(body["label_config"])
    width, height = page["size"]
    for prediction in (results[0], results[2]):
        items = prediction["result"]
        assert prediction["model_version"].startswith("ocrserver-") and 0.8 < prediction["score"] <= 1
        texts = [item["value"]["text"][0] for item in items if item["type"] == "textarea"]
        assert texts == LINES
        by_id: dict[str, list[dict]] = {}
        for item in items:
            by_id.setdefault(item["id"], []).append(item)
            assert (item["original_width"], item["original_height"]) == (width, height)
            assert item["to_name"] == "image"
        for region in by_id.values():  # rectangle + label + text share one region id
            assert sorted(i["type"] for i in region) == ["labels", "rectangle", "textarea"]
            assert [i["value"]["labels"] for i in region if i["type"] == "labels"] == [["Text"]]
            value = region[0]["value"]
            assert 0 <= value["x"] <= 100 and 0 <= value["y"] <= 100 and value["x"] + value["width"] <= 100.01
        # the config's own validator accepts the prediction
        assert interface.validate_prediction({"result": items, "score": prediction["score"], "model_version": "x"})
    # rectangles land on the text: compare the first region with the rendered line box
    first = next(i for i in results[0]["result"] if i["type"] == "rectangle")["value"]
    x0, y0, x1, y1 = page["boxes"][0]
    assert abs(first["x"] / 100 * width - x0) < 15 and abs((first["y"] + first["height"] / 2) / 100 * height - (y0 + y1) / 2) < 8


def test_polygons_when_asked_and_the_config_has_a_polygon_tool(page) -> None:
    settings = load_settings(workers=1, ls_geometry="polygon", ls_granularity="word", url_allowlist=["127.0.0.1"])
    with TestClient(create_app(settings)) as client:
        items = client.post("/predict", json=_batch_body(page["url"])).json()["results"][0]["result"]
    polygons = [i for i in items if i["type"] == "polygon"]
    assert len(polygons) == sum(len(line.split()) for line in LINES)
    assert all(i["from_name"] == "poly" and len(i["value"]["points"]) == 4 and i["value"]["closed"] for i in polygons)
    assert [i["value"]["text"][0] for i in items if i["type"] == "textarea"][:5] == LINES[0].split()


def _drawn_around_line(capture_name: str, page: dict, line: int, pad: int) -> tuple[dict, dict]:
    """A captured interactive request whose last (drawn) region is moved onto one rendered line."""
    x0, y0, x1, y1 = page["boxes"][line]
    return box_drawn_in_label_studio(CAPTURES / f"{capture_name}.json", page["url"],
                                     (x0 - pad, y0 - pad, x1 + pad, y1 + pad), page["size"])


def test_interactive_rectangle_returns_its_text_on_the_same_region(client: TestClient, page) -> None:
    body, drawn = _drawn_around_line("predict_interactive_ui_clean", page, line=1, pad=6)
    results = client.post("/predict", json=body).json()["results"]
    assert len(results) == 1
    items = {item["type"]: item for item in results[0]["result"]}
    assert items["textarea"]["value"]["text"] == [LINES[1]]
    assert items["textarea"]["id"] == items["rectanglelabels"]["id"] == drawn["id"]
    assert items["rectanglelabels"]["value"]["rectanglelabels"] == ["Text"]
    assert items["textarea"]["value"]["x"] == pytest.approx(drawn["value"]["x"])
    assert 0.8 < items["textarea"]["score"] <= 1


def test_interactive_takes_the_last_region_of_a_busy_context(client: TestClient, page) -> None:
    body, drawn = _drawn_around_line("predict_interactive_ui_with_existing_regions", page, line=0, pad=5)
    result = client.post("/predict", json=body).json()["results"][0]["result"]
    assert {i["id"] for i in result} == {drawn["id"]}
    assert [i["value"]["text"] for i in result if i["type"] == "textarea"] == [[LINES[0]]]


def test_interactive_rotated_rectangle_and_polygon(client: TestClient, image_server) -> None:
    base_url, root = image_server
    image, quad = render_rotated_line("Rotated 2024 line", 30)
    (root / "rot.png").write_bytes(encode(image))
    width, height = image.size
    (ax, ay), (bx, by), _, (dx, dy) = quad
    body = copy.deepcopy(capture("predict_interactive_ui_clean")["json"])
    body["tasks"][0]["data"] = {"ocr": f"{base_url}/rot.png"}
    drawn = body["params"]["context"]["result"][-1]
    drawn.update(original_width=width, original_height=height)
    drawn["value"] = {"x": ax / width * 100, "y": ay / height * 100, "width": math.hypot(bx - ax, by - ay) / width * 100,
                      "height": math.hypot(dx - ax, dy - ay) / height * 100, "rotation": 30, "rectanglelabels": []}
    result = client.post("/predict", json=body).json()["results"][0]["result"]
    assert [i["value"]["text"] for i in result if i["type"] == "textarea"] == [["Rotated 2024 line"]]
    assert [i["value"]["rotation"] for i in result if i["type"] == "textarea"] == [30]
    # the same region as a polygon (a config with a polygon tool)
    body["label_config"] = capture("predict_batch_3_tasks")["json"]["label_config"]
    body["tasks"][0]["data"] = {"image": f"{base_url}/rot.png"}
    body["params"]["context"]["result"] = [{
        "id": "poly1", "from_name": "poly", "to_name": "image", "type": "polygon", "origin": "manual",
        "original_width": width, "original_height": height, "image_rotation": 0,
        "value": {"points": [[x / width * 100, y / height * 100] for x, y in quad], "closed": True},
    }]
    result = client.post("/predict", json=body).json()["results"][0]["result"]
    texts = [i for i in result if i["type"] == "textarea"]
    assert texts[0]["value"]["text"] == ["Rotated 2024 line"] and texts[0]["value"]["points"]
    assert [i["value"]["labels"] for i in result if i["type"] == "labels"] == [["Text"]]


def test_empty_context_answers_an_empty_result(client: TestClient, page) -> None:
    body = copy.deepcopy(capture("predict_interactive_ui_empty_context_after_submit")["json"])
    body["tasks"][0]["data"] = {key: page["url"] for key in body["tasks"][0]["data"]}
    response = client.post("/predict", json=body)
    assert response.status_code == 200
    assert response.json()["results"][0]["result"] == []


def test_odd_tasks_and_contexts_never_fail_the_request(client: TestClient, page) -> None:
    body = _batch_body(page["url"])
    body["tasks"] = [{"id": 1, "data": {}}, {"id": 2, "data": {"image": 42}}, {"id": 3},
                     {"id": 4, "data": {"image": "data:image/png;base64," + base64.b64encode(b"nope").decode()}}, "junk"]
    results = client.post("/predict", json=body).json()["results"]
    assert [r["result"] for r in results] == [[]] * 5
    interactive = copy.deepcopy(capture("predict_interactive_ui_clean")["json"])
    interactive["tasks"][0]["data"] = {"ocr": page["url"]}
    for value in ({"x": 10, "y": 10, "width": 0, "height": 5, "rotation": 0}, {"x": 500, "y": 500, "width": 5, "height": 5},
                  {"x": "a", "y": 1, "width": 1, "height": 1}, {"x": "NaN", "y": 1, "width": 1, "height": 1},
                  {"x": 0, "y": 0, "width": 1e300, "height": 1e300}):
        interactive["params"]["context"]["result"][-1]["value"] = value
        response = client.post("/predict", json=interactive)
        assert response.status_code == 200 and response.json()["results"][0]["result"] == []


@pytest.mark.parametrize("body", [b"", b"[]", b"{not json", json.dumps({"tasks": "x", "label_config": "<View/>"}).encode(),
                                  json.dumps({"tasks": []}).encode()])
def test_malformed_predict_bodies_get_a_4xx(client: TestClient, body: bytes) -> None:
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]


def test_webhooks_of_every_kind_are_accepted(client: TestClient) -> None:
    for name in ("webhook_tasks_created", "webhook_annotation_created_ui", "webhook_annotation_updated",
                 "webhook_annotations_deleted", "webhook_start_training"):
        payload = capture(name)["json"]
        response = client.post("/webhook", json=payload)
        assert response.status_code == 200 and response.json()["action"] == payload["action"]
    assert client.get("/versions").json()["versions"] == [client.get("/health").json()["model_version"]]


def test_metrics_count_requests_in_prometheus_format(client: TestClient) -> None:
    client.get("/health")
    text = client.get("/metrics").text
    assert 'ocrserver_requests_total{method="GET",route="/health",status="200"}' in text
    assert "ocrserver_request_seconds_bucket" in text


def test_each_answer_says_how_long_the_server_took_in_server_timing(client: TestClient, page) -> None:
    body, _ = _drawn_around_line("predict_interactive_ui_clean", page, line=1, pad=6)
    started = time.perf_counter()
    response = client.post("/predict", json=body)
    elapsed_ms = (time.perf_counter() - started) * 1000
    timings = server_timings(response.headers["server-timing"])
    assert list(timings) == ["app", "recv"]
    assert 0 < timings["app"] <= elapsed_ms and 0 <= timings["recv"] <= elapsed_ms - timings["app"]
    assert client.get("/health").headers["server-timing"].startswith("app;dur=")


def test_basic_auth_guards_everything_but_health(page) -> None:
    settings = load_settings(workers=1, basic_auth_user="ls", basic_auth_pass="s3cret pass")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        denied = client.post("/predict", json=_batch_body(page["url"]))
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
        assert client.post("/setup", json=capture("setup")["json"], auth=("ls", "wrong")).status_code == 401
        assert client.post("/setup", json=capture("setup")["json"], auth=("ls", "s3cret pass")).status_code == 200
        assert client.post("/v1/ocr", json={}, auth=("ls", "s3cret pass")).status_code == 422  # reaches the API


def test_shipped_labeling_configs_parse_and_validate() -> None:
    from ocrserver.labelstudio.config import OcrLabelConfig

    for path in sorted((REPO / "labeling_configs").glob("*.xml")):
        config = OcrLabelConfig.parse(path.read_text())
        assert config.textarea is not None and (config.rectangle or config.polygon), path.name


def test_unreachable_label_studio_names_the_url_setting(closed_port: int, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(workers=1, label_studio_url=f"http://127.0.0.1:{closed_port}", label_studio_api_key="a" * 40)
    body = copy.deepcopy(capture("predict_batch_3_tasks")["json"])
    with TestClient(create_app(settings)) as client:
        health = client.get("/health", params={"check_label_studio": "true"}).json()["label_studio"]
        assert health["configured"] is True and health["reachable"] is False and "LABEL_STUDIO_URL" in health["detail"]
        with caplog.at_level("ERROR"):
            results = client.post("/predict", json=body).json()["results"]
    assert [r["result"] for r in results] == [[], [], []]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "task 1: Could not connect to Label Studio" in messages and "check LABEL_STUDIO_URL" in messages
    assert "a" * 40 not in messages


def test_relative_task_urls_without_a_label_studio_address_say_so(caplog: pytest.LogCaptureFixture) -> None:
    body = copy.deepcopy(capture("predict_batch_3_tasks")["json"])
    with TestClient(create_app(load_settings(workers=1))) as client, caplog.at_level("ERROR"):
        results = client.post("/predict", json={**body, "tasks": body["tasks"][:1]}).json()["results"]
    assert results[0]["result"] == []
    assert "Set LABEL_STUDIO_URL" in " ".join(r.getMessage() for r in caplog.records)


def test_decoded_pages_kept_for_interactive_calls_stay_within_their_memory_budget() -> None:
    mib = 1024 * 1024
    page = {task: PageToRead.as_sent(np.zeros((1024, 1024), dtype=np.uint8)) for task in range(5)}  # 1 MiB each
    cache = PageCache(capacity=16, max_bytes=3 * mib)
    for task in range(4):
        cache.put((task, "url"), page[task])
    assert cache.get((0, "url")) is None  # the least recently used went first
    assert cache.get((1, "url")) is page[1]  # used again: now the most recent
    cache.put((4, "url"), page[4])
    assert [cache.get((task, "url")) is not None for task in range(5)] == [False, True, False, True, True]
    photo = PageToRead.as_sent(np.zeros((5 * 1024, 1024), dtype=np.uint8))  # larger than the budget alone: kept, and alone
    cache.put((5, "url"), photo)
    assert cache.get((5, "url")) is photo and all(cache.get((task, "url")) is None for task in range(5))
    few = PageCache(capacity=2, max_bytes=100 * mib)  # the page count still holds
    for task in range(3):
        few.put((task, "url"), page[task])
    assert [few.get((task, "url")) is not None for task in range(3)] == [False, True, True]


def test_an_annotations_regions_are_read_with_their_text_and_label() -> None:
    """What benchmarks/label_studio_set.py makes a set of: the captured annotation's rectangle, paired by id with its
    transcription, in pixels; a rotated one turned about its top-left corner; one drawn on the turned image refused."""
    annotation = capture("webhook_annotation_created_ui")["json"]["annotation"]
    (region,) = labelled_regions(annotation["result"], 800, 400)
    value = annotation["result"][0]["value"]
    assert region.text == "interactive text" and region.label == "Text"
    assert region.polygon[0] == pytest.approx((value["x"] * 8, value["y"] * 4))
    assert region.polygon[2] == pytest.approx(((value["x"] + value["width"]) * 8, (value["y"] + value["height"]) * 4))
    turned = copy.deepcopy(annotation["result"][0])
    turned["value"].update(x=10, y=10, width=20, height=5, rotation=90)
    (upright,) = labelled_regions([turned], 800, 400)
    assert upright.text == "" and upright.polygon[0] == pytest.approx((80, 40))
    assert upright.polygon[1] == pytest.approx((80, 40 + 160))  # the top edge runs down the page
    turned["image_rotation"] = 90
    with pytest.raises(InvalidRegion, match="turned 90 degrees"):
        labelled_regions([turned], 800, 400)


def test_the_truth_is_the_ground_truth_annotation_else_the_latest_never_a_skipped_one() -> None:
    older = {"id": 1, "updated_at": "2026-11-20T10:00:00Z", "was_cancelled": False, "result": []}
    newer = {"id": 2, "updated_at": "2026-11-21T10:00:00Z", "was_cancelled": False, "result": []}
    skipped = {"id": 3, "updated_at": "2026-11-22T10:00:00Z", "was_cancelled": True, "result": []}
    assert submitted_annotation({"annotations": [older, newer, skipped]}) == newer
    assert submitted_annotation({"annotations": [{**older, "ground_truth": True}, newer]})["id"] == 1
    assert submitted_annotation({"annotations": [skipped]}) is None
    assert submitted_annotation({}) is None
