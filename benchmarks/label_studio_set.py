"""A Label Studio project's annotated tasks as a labelled set the benchmarks score, laid out as the dev set is.

    python benchmarks/label_studio_set.py --url http://localhost:8080 --api-key KEY --project 3 --out my-set
    python benchmarks/dev_set.py --data my-set        # every engine on your own documents

Each task with a submitted annotation becomes one page: its image, fetched as the ML backend fetches it (uploads,
local files, s3://, gs:// and azure-blob:// through Label Studio's presign endpoint, http(s), data URIs; the same
LABEL_STUDIO_* and AWS_* settings), and ``labels/<id>.json`` with each drawn region (rectangles, rotated or not, and
polygons) and the text transcribed for it. The annotation marked ground truth is taken, else the one updated last;
skipped ones never. A region drawn without text is kept as don't-care: the scorer neither asks for it nor counts a
line found there against the engine. A task that cannot be read is named and left out; the others are still written.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageOps

from ocrserver.errors import OcrServerError
from ocrserver.labelstudio.annotations import labelled_regions, submitted_annotation
from ocrserver.labelstudio.config import OcrLabelConfig
from ocrserver.labelstudio.files import LabelStudioFiles
from ocrserver.netguard import UrlGuard
from ocrserver.result import bbox_of
from ocrserver.settings import load_settings
from ocrserver.sources import ImageFetcher

EXPORT_TIMEOUT_S = 600.0  # Label Studio builds the whole export before it answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--url", default=os.environ.get("LABEL_STUDIO_URL"),
                        help="Label Studio's address (default: $LABEL_STUDIO_URL)")
    parser.add_argument("--api-key", default=os.environ.get("LABEL_STUDIO_API_KEY"),
                        help="a personal access token or legacy token (default: $LABEL_STUDIO_API_KEY)")
    parser.add_argument("--project", type=int, required=True, help="the project's id (its address: /projects/ID)")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write images/ and labels/ into")
    parser.add_argument("--language", default="en", help="the pages' language, as the benchmarks send it (default: en)")
    args = parser.parse_args()
    if not args.url or not args.api_key:
        parser.error("--url and --api-key (or LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY) are needed")

    settings = load_settings(label_studio_url=args.url, label_studio_api_key=args.api_key)
    # the user's own command: Label Studio and the images may be on this machine or the local network
    anywhere = UrlGuard(allowlist=["0.0.0.0/0", "::/0"], trusted_origins=[])
    files = LabelStudioFiles(settings, ImageFetcher(timeout=settings.fetch_timeout,
                                                    max_bytes=settings.max_download_bytes, guard=anywhere))
    try:
        config, tasks = _project(files, args.project)
    except (httpx.HTTPError, OcrServerError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2

    _clear_project(args.out, args.project)
    written = regions = unannotated = failed = 0
    for task in tasks:
        annotation = submitted_annotation(task)
        if annotation is None:
            unannotated += 1
            continue
        try:
            regions += _write_page(files, task, annotation, config, args)
            written += 1
        except (OcrServerError, OSError) as exc:  # PIL's UnidentifiedImageError is an OSError
            failed += 1
            print(f"task {task.get('id')}: left out: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
    print(f"{written} page(s), {regions} region(s) written to {args.out}. Left out: {unannotated} task(s) whose "
          f"annotations were all skipped, {failed} that could not be read (named above).")
    if not written:
        print(f"error: no task of project {args.project} could be written", file=sys.stderr)
        return 1
    return 0


def _project(files: LabelStudioFiles, project: int) -> tuple[OcrLabelConfig, list[dict[str, Any]]]:
    """The project's labelling config and its annotated tasks, from Label Studio's JSON export."""
    base = files.base_url
    with httpx.Client(base_url=str(base), headers=files.auth_headers(), timeout=EXPORT_TIMEOUT_S) as client:
        described = client.get(f"/api/projects/{project}")
        _raise_for(described, f"project {project}")
        exported = client.get(f"/api/projects/{project}/export",
                              params={"exportType": "JSON", "download_all_tasks": "false", "download_resources": "false"})
        _raise_for(exported, f"project {project}'s export")
    return OcrLabelConfig.parse(described.json()["label_config"]), exported.json()


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code in (401, 403):
        raise ValueError(f"Label Studio refused {what} (HTTP {response.status_code}): check the API key")
    if response.status_code == 404:
        raise ValueError(f"Label Studio has no {what} (HTTP 404): check the project id")
    response.raise_for_status()


def _clear_project(out: Path, project: int) -> None:
    """Make ``out``'s images/ and labels/, without the pages an earlier run wrote for ``project`` (a task since
    skipped or deleted must not stay in the set); other projects' pages stay, so one set may hold several."""
    for folder in ("images", "labels"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).glob(f"project{project}_*"):
            old.unlink()


def _write_page(files: LabelStudioFiles, task: dict[str, Any], annotation: dict[str, Any], config: OcrLabelConfig,
                args: argparse.Namespace) -> int:
    """Write one task's image and labels; the number of regions written."""
    url = (task.get("data") or {}).get(config.data_key)
    data = files.fetch(url, task.get("id"))
    image = Image.open(io.BytesIO(data))
    upright = ImageOps.exif_transpose(image)  # Label Studio shows (and annotators draw on) the image turned upright
    page_id = f"project{args.project}_{task['id']}"
    if upright is not image or image.format not in ("JPEG", "PNG"):
        name, encoded = f"{page_id}.png", io.BytesIO()
        upright.save(encoded, format="PNG")
        data = encoded.getvalue()
    else:
        name = f"{page_id}.{'jpg' if image.format == 'JPEG' else 'png'}"
    width, height = upright.size
    drawn = labelled_regions(annotation.get("result") or [], width, height)
    labels = {
        "id": page_id, "image": name, "width": width, "height": height, "language": args.language,
        "doc_type": "label-studio", "source": f"{files.base_url}/projects/{args.project}/data?task={task['id']}",
        "annotation": annotation.get("id"), "synthetic": False,
        "regions": [{"bbox": [round(v, 2) for v in bbox_of(region.polygon)],
                     "points": [[round(x, 2), round(y, 2)] for x, y in region.polygon],
                     "text": region.text, **({"label": region.label} if region.label else {})} for region in drawn],
    }
    (args.out / "images" / name).write_bytes(data)
    (args.out / "labels" / f"{page_id}.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1))
    return len(drawn)


if __name__ == "__main__":
    sys.exit(main())
