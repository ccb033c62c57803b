#!/usr/bin/env python3
"""The Label Studio hot path, "draw a box, get its text", measured three ways on the same dev-set regions.

1. ocrserver: POST /predict with params.context (a drawn rectangle), end to end over HTTP, against a running
   `ocrserver serve` whose task images come from a loopback HTTP server (the decoded page is cached per task,
   as in real use; each task's first call, which downloads and decodes, is reported apart).
   The server's own part of each call comes from its Server-Timing header (the whole request in to the answer
   out; the time the body took to arrive after the headers, which http.client sends apart, is not the server's).
1b. the HTTP floor: the same request body sent to /webhook, which does nothing with it.
1c. 1 and 1b again with a lean client (the standard library's http.client on a kept-alive connection, as
   ../shared/bench/ocr_score.py's HttpAdapter), so what the client library costs shows apart from the server.
2. raw engine: the same region read in this process by the same engine class, from an already decoded page
   (what the server does minus HTTP, JSON and Label Studio translation) -> the server's overhead.
3. pytesseract per call: how the existing Label Studio Tesseract backend works (image re-read, one
   `tesseract` process per call, --psm 7) -> our speed-up.
Calls are interleaved region by region, in a shuffled order, so machine noise and warm caches favour none, and
all are scored on the same regions (those that are not their task's first call). Prints medians and ratios.

    python benchmarks/interactive.py --boxes 300
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import io
import json
import random
import statistics
import sys
import threading
import time
import unicodedata
from functools import partial
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_set import DATA, REPO, running_server  # noqa: E402

from ocrserver.engines import discover_engines  # noqa: E402
from ocrserver.memory import tune_malloc  # noqa: E402
from ocrserver.result import rect_polygon  # noqa: E402
from ocrserver.service import read_region  # noqa: E402
from ocrserver.settings import load_settings  # noqa: E402

CONFIG = (REPO / "labeling_configs" / "ocr_interactive.xml").read_text()


class QuietImageHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the dev set's images as Label Studio's file URLs would, without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def sample_regions(data: Path, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    regions = []
    for task_id, path in enumerate(sorted((data / "labels").glob("*.json")), start=1):
        label = json.loads(path.read_text())
        for region in label["regions"]:
            if not region.get("ignore"):
                x0, y0, x1, y1 = region["bbox"]
                pad = 0.1 * (y1 - y0)
                box = [max(0.0, x0 - pad), max(0.0, y0 - pad), min(label["width"], x1 + pad), min(label["height"], y1 + pad)]
                regions.append({"task": task_id, "image": label["image"], "lang": label["language"], "box": box,
                                "text": region["text"], "size": (label["width"], label["height"])})
    rng.shuffle(regions)
    # An annotator draws several boxes on one page, then moves to the next: group the sample by task
    # (the server keeps recently used pages decoded; its first call per task is reported apart).
    return sorted(regions[:count], key=lambda region: region["task"])


def predict_body(region: dict, image_url: str) -> dict:
    width, height = region["size"]
    x0, y0, x1, y1 = region["box"]
    drawn = {"id": "bench", "from_name": "bbox", "to_name": "image", "type": "rectanglelabels", "origin": "manual",
             "original_width": width, "original_height": height, "image_rotation": 0,
             "value": {"x": x0 / width * 100, "y": y0 / height * 100, "width": (x1 - x0) / width * 100,
                       "height": (y1 - y0) / height * 100, "rotation": 0, "rectanglelabels": ["Text"]}}
    return {"tasks": [{"id": region["task"], "data": {"image": image_url}}], "label_config": CONFIG,
            "project": "1.0", "params": {"context": {"result": [drawn]}}}


class LeanClient:
    """JSON over one kept-alive http.client connection: next to no client-side cost per call."""

    def __init__(self, url: str) -> None:
        address = httpx.URL(url)
        self.connection = http.client.HTTPConnection(address.host, address.port, timeout=60)

    def post(self, path: str, body: dict) -> tuple[bytes, str]:
        """The answer's body and its Server-Timing header."""
        self.connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        answer = self.connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{path}: HTTP {answer.status}: {data[:200]!r}")
        return data, answer.getheader("server-timing", "")


class Systems:
    """The calls compared, each reading one region and answering its text."""

    def __init__(self, client: httpx.Client, lean: LeanClient, engine: object, images: Path,
                 pages: dict[str, np.ndarray]) -> None:
        self.client, self.lean, self.engine, self.images, self.pages = client, lean, engine, images, pages
        self.server_side: list[float] = []  # the server's own time per call (Server-Timing)

    def server(self, region: dict, body: dict) -> str:
        """1. the server, end to end"""
        answer = self.client.post("/predict", json=body)
        answer.raise_for_status()
        self.server_side.append(server_time_ms(answer.headers["server-timing"]))
        return textarea_text(answer.json())

    def http_floor(self, region: dict, body: dict) -> str:
        """1b. the same body to an endpoint that does nothing with it (/webhook)"""
        self.client.post("/webhook", json=body).raise_for_status()
        return ""

    def server_lean(self, region: dict, body: dict) -> str:
        """1c. the server with the lean client"""
        data, timing = self.lean.post("/predict", body)
        self.server_side.append(server_time_ms(timing))
        return textarea_text(json.loads(data))

    def http_floor_lean(self, region: dict, body: dict) -> str:
        self.lean.post("/webhook", body)
        return ""

    def raw(self, region: dict, body: dict) -> str:
        """2. the raw engine call on the same region"""
        x0, y0, x1, y1 = region["box"]
        languages = ["zh"] if region["lang"] == "zh" else ["en"]
        return read_region(self.engine, self.pages[region["image"]], rect_polygon(x0, y0, x1, y1), languages).text

    def per_call_tesseract(self, region: dict, body: dict) -> str:
        """3. pytesseract, one process per call, the image re-read each call"""
        import pytesseract

        image = Image.open(io.BytesIO((self.images / region["image"]).read_bytes())).convert("RGB")
        return pytesseract.image_to_string(image.crop(tuple(int(v) for v in region["box"])),
                                           lang="chi_sim" if region["lang"] == "zh" else "eng", config="--psm 7")


def server_time_ms(header: str) -> float:
    """The server's own time in a ``Server-Timing: app;dur=<ms>, recv;dur=<ms>`` header: its ``app`` entry."""
    timings = dict(entry.strip().partition(";dur=")[::2] for entry in header.split(","))
    return float(timings["app"])


def textarea_text(answer: dict) -> str:
    """The text a /predict answer puts in the drawn region's TextArea."""
    return " ".join(i["value"]["text"][0] for i in answer["results"][0]["result"] if i["type"] == "textarea")


def summary(name: str, latencies: list[float], errors: int, chars: int) -> dict:
    return {"system": name, "n": len(latencies), "cer": f"{errors / chars:.3f}" if chars else "",
            "p50": statistics.median(latencies), "p95": float(np.percentile(latencies, 95)),
            "mean": statistics.mean(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boxes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", default="ppocr")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--url", help="use a running server (it must reach this script's image server)")
    parser.add_argument("--no-pytesseract", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA, help="a labelled set laid out as ocr-dev is (images/, labels/)")
    args = parser.parse_args()
    tune_malloc()  # the raw engine calls get the server's allocator, before any thread starts

    regions = sample_regions(args.data, args.boxes, args.seed)
    images = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(QuietImageHandler, directory=str(args.data / "images")))
    threading.Thread(target=images.serve_forever, daemon=True).start()
    image_base = f"http://127.0.0.1:{images.server_address[1]}"

    settings = load_settings(workers=args.workers)
    engine = discover_engines()[args.engine](settings)
    # the calls take turns, so each runs alone, as the server's (which then may use all the cores)
    engine.share_cores(lambda: True)
    pages = {name: np.asarray(Image.open(args.data / "images" / name).convert("RGB"))
             for name in {r["image"] for r in regions}}
    names = ("server", "http floor", "server, lean client", "http floor, lean client", "raw", "pytesseract")
    results: dict[str, list] = {key: [[], 0, 0] for key in names}
    first_calls: list[float] = []
    seen_tasks: set[int] = set()
    server_env = {"OCR_ENGINE": args.engine,
                  "OCR_URL_ALLOWLIST": "127.0.0.1"}  # the task images come from this script's loopback server
    with running_server(args.url, args.workers, env=server_env) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        systems = Systems(client, LeanClient(server.url), engine, args.data / "images", pages)
        order = random.Random(args.seed)
        for region in regions:
            truth = normalize(region["text"])
            body = predict_body(region, f"{image_base}/{region['image']}")
            if region["task"] not in seen_tasks:  # download + decode: reported apart, the region left out of all stats
                seen_tasks.add(region["task"])
                started = time.perf_counter()
                client.post("/predict", json=body).raise_for_status()
                first_calls.append((time.perf_counter() - started) * 1000)
                continue

            calls = [("server", systems.server), ("http floor", systems.http_floor),
                     ("server, lean client", systems.server_lean), ("http floor, lean client", systems.http_floor_lean),
                     ("raw", systems.raw)]
            if not args.no_pytesseract:
                calls.append(("pytesseract", systems.per_call_tesseract))
            order.shuffle(calls)  # no system always reads a region first (colder) or after another (warmer)
            for name, call in calls:
                started = time.perf_counter()
                text = call(region, body)
                bucket = results[name]
                bucket[0].append((time.perf_counter() - started) * 1000)
                if "floor" not in name:
                    bucket[1] += Levenshtein.distance(normalize(text), truth)
                    bucket[2] += len(truth)
    images.shutdown()

    rows = [summary(name, *values) for name, values in results.items() if values[0]]
    print(f"\ninteractive box OCR, {len(regions)} dev-set regions, engine={args.engine}, workers={args.workers}\n")
    print("| system | calls | CER | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['system']} | {row['n']} | {row['cer']} | {row['p50']:.1f} | {row['p95']:.1f} | {row['mean']:.1f} |")
    print(f"| server, first call per task (download + decode) | {len(first_calls)} | | "
          f"{statistics.median(first_calls):.1f} | {float(np.percentile(first_calls, 95)):.1f} | {statistics.mean(first_calls):.1f} |")
    by_name = {row["system"]: row for row in rows}
    overhead = by_name["server"]["p50"] / by_name["raw"]["p50"] - 1
    print(f"\nserver overhead over the raw engine call (p50): {overhead * 100:+.1f} %")
    floor = by_name["http floor"]["p50"]
    print(f"  of which the HTTP round trip of a call that does nothing (p50): {floor:.1f} ms; the rest: "
          f"{(by_name['server']['p50'] - by_name['raw']['p50'] - floor) / by_name['raw']['p50'] * 100:+.1f} %")
    lean = by_name["server, lean client"]["p50"]
    print(f"  with a lean client (http.client): {(lean / by_name['raw']['p50'] - 1) * 100:+.1f} % "
          f"(its HTTP floor {by_name['http floor, lean client']['p50']:.1f} ms)")
    own = statistics.median(systems.server_side)
    print(f"  the server's own time (Server-Timing, p50): {own:.1f} ms, {(own / by_name['raw']['p50'] - 1) * 100:+.1f} % "
          f"over the raw engine call; the rest ({by_name['server']['p50'] - own:.1f} ms) is the client and loopback")
    if "pytesseract" in by_name:
        print(f"speed-up over pytesseract per call (p50): {by_name['pytesseract']['p50'] / by_name['server']['p50']:.1f}x")


if __name__ == "__main__":
    main()
