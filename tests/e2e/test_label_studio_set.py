"""A Label Studio project's annotations made into a benchmark set (benchmarks/label_studio_set.py), against a real
Label Studio, then scored by the benchmark as the README says: the set must describe its images as the annotator
saw them, or its own engines' lines would not match the labels."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import REPO, LabelStudio
from tests.helpers import encode, render_lines

CONFIG = (REPO / "labeling_configs" / "ocr_full_page.xml").read_text()
UPLOADED = ["Invoice 4471 from Harbour Supplies", "Delivered on 3 March", "Total due 1,250.00"]
PHOTOGRAPHED = ["Meeting notes for the second quarter", "Budget approved by the board"]


def _rectangle(region_id: str, box: tuple[float, ...], size: tuple[int, int], text: str | None) -> list[dict]:
    """A rectangle with its label and (unless None) its transcription, as Label Studio stores a drawn region."""
    (x0, y0, x1, y1), (width, height) = box, size
    value = {"x": x0 / width * 100, "y": y0 / height * 100, "width": (x1 - x0) / width * 100,
             "height": (y1 - y0) / height * 100, "rotation": 0}
    common = {"id": region_id, "to_name": "image", "original_width": width, "original_height": height,
              "image_rotation": 0}
    items = [{**common, "from_name": "bbox", "type": "rectangle", "value": value},
             {**common, "from_name": "label", "type": "labels", "value": {**value, "labels": ["Text"]}}]
    if text is not None:
        items.append({**common, "from_name": "transcription", "type": "textarea", "value": {**value, "text": [text]}})
    return items


def _polygon(region_id: str, box: tuple[float, ...], size: tuple[int, int], text: str) -> list[dict]:
    (x0, y0, x1, y1), (width, height) = box, size
    points = [[x / width * 100, y / height * 100] for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    common = {"id": region_id, "to_name": "image", "original_width": width, "original_height": height,
              "image_rotation": 0}
    return [{**common, "from_name": "poly", "type": "polygon", "value": {"points": points, "closed": True}},
            {**common, "from_name": "transcription", "type": "textarea", "value": {"points": points, "text": [text]}}]


def _annotate(ls: httpx.Client, task_id: int, result: list[dict], cancelled: bool = False) -> None:
    response = ls.post(f"/api/tasks/{task_id}/annotations", json={"result": result, "was_cancelled": cancelled})
    assert response.status_code == 201, response.text


def _make_set(url: str, key: str, project: int, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "label_studio_set.py"), "--url", url, "--api-key",
                           key, "--project", str(project), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


@pytest.mark.timeout(900)
def test_a_projects_annotations_become_a_set_the_benchmark_scores(label_studio: LabelStudio, tmp_path: Path) -> None:
    uploaded = render_lines(UPLOADED, width=800)
    # a phone photo: stored on its side with an EXIF orientation, shown (and annotated) upright by Label Studio
    photographed = render_lines(PHOTOGRAPHED, width=800)
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to show
    stored = io.BytesIO()
    photographed.image.transpose(Image.Transpose.ROTATE_90).save(stored, format="JPEG", quality=95, exif=exif)
    (label_studio.files_root / "ocr").mkdir(exist_ok=True)
    (label_studio.files_root / "ocr" / "photo.jpg").write_bytes(stored.getvalue())

    with label_studio.client() as ls:
        project = ls.post("/api/projects", json={"title": "OCR truth", "label_config": CONFIG})
        assert project.status_code == 201, project.text
        project_id = project.json()["id"]
        storage = ls.post("/api/storages/localfiles", json={
            "project": project_id, "title": "local", "path": str(label_studio.files_root / "ocr"),
            "regex_filter": "^nothing$", "use_blob_urls": True})
        assert storage.status_code == 201, storage.text
        upload = ls.post(f"/api/projects/{project_id}/import",
                         files={"file": ("invoice.png", encode(uploaded.image), "image/png")})
        assert upload.status_code == 201, upload.text
        listed = ls.post(f"/api/projects/{project_id}/import", json=[
            {"image": "/data/local-files/?d=ocr/photo.jpg"}, {"image": "http://127.0.0.1:9/gone.png"},
            {"image": "/data/local-files/?d=ocr/photo.jpg"}, {"image": "/data/local-files/?d=ocr/photo.jpg"}])
        assert listed.status_code == 201, listed.text
        tasks = sorted(task["id"] for task in ls.get("/api/tasks", params={"project": project_id}).json()["tasks"])
        invoice, photo, gone, skipped, _unannotated = tasks

        size = uploaded.image.size
        _annotate(ls, invoice, [item for index, (box, text) in enumerate(zip(uploaded.boxes, UPLOADED, strict=True))
                                for item in _rectangle(f"line{index}", box, size, text)]
                  + _rectangle("stamp", (600, 20, 780, 60), size, None))  # drawn, never transcribed
        _annotate(ls, photo, [item for index, (box, text) in enumerate(zip(photographed.boxes, PHOTOGRAPHED, strict=True))
                              for item in _polygon(f"line{index}", box, photographed.image.size, text)])
        _annotate(ls, gone, _rectangle("line0", (10, 10, 200, 40), size, "Nowhere"))
        _annotate(ls, skipped, [], cancelled=True)

    out = tmp_path / "my-set"
    (out / "labels").mkdir(parents=True)
    (out / "labels" / f"project{project_id}_999.json").write_text("{}")  # a task an earlier run wrote, since deleted
    made = _make_set(label_studio.url, label_studio.personal_token, project_id, out)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "2 page(s), 6 region(s)" in made.stdout and "1 task(s) whose annotations were all skipped" in made.stdout
    assert f"task {gone}: left out" in made.stderr and "127.0.0.1:9" in made.stderr  # named, and the rest written

    labels = {path.stem: json.loads(path.read_text()) for path in (out / "labels").glob("*.json")}
    assert sorted(labels) == [f"project{project_id}_{invoice}", f"project{project_id}_{photo}"]
    invoice_labels, photo_labels = labels[f"project{project_id}_{invoice}"], labels[f"project{project_id}_{photo}"]
    assert [region["text"] for region in invoice_labels["regions"]] == [*UPLOADED, ""]
    assert invoice_labels["regions"][0]["label"] == "Text"
    for region, box in zip(invoice_labels["regions"][:3], uploaded.boxes, strict=True):
        assert region["bbox"] == pytest.approx(list(box), abs=0.5)
    assert (out / "images" / invoice_labels["image"]).read_bytes() == encode(uploaded.image)
    # the photo is written upright, as it was annotated, and its regions lie on its lines
    assert Image.open(out / "images" / photo_labels["image"]).size == photographed.image.size
    for region, box in zip(photo_labels["regions"], photographed.boxes, strict=True):
        assert region["bbox"] == pytest.approx(list(box), abs=0.5)

    scored = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "dev_set.py"), "--data", str(out), "--engines", "ppocr-tiny",
         "--task", "page", "--concurrency", "1", "--interactive-boxes", "0", "--out-dir", str(tmp_path / "results")],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert scored.returncode == 0, scored.stdout[-3000:] + scored.stderr[-3000:]
    page = json.loads((tmp_path / "results" / "dev_ppocr-tiny_default_c1.json").read_text())["page"]
    assert page["pages"] == 2 and page["gt_regions"] == 5  # the region without text is don't-care
    assert page["det_f1"] >= 0.9 and page["bow_f1"] >= 0.95, page


def test_a_refused_key_or_an_unknown_project_is_named(label_studio: LabelStudio, tmp_path: Path) -> None:
    refused = _make_set(label_studio.url, "0" * 40, 1, tmp_path)
    assert refused.returncode == 2 and "check the API key" in refused.stderr, refused.stderr
    unknown = _make_set(label_studio.url, label_studio.legacy_token, 987654, tmp_path)
    assert unknown.returncode == 2 and "no project 987654" in unknown.stderr, unknown.stderr
