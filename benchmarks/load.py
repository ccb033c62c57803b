#!/usr/bin/env python3
"""Load test on loopback: concurrent clients against `ocrserver serve` for a bounded time.

Each client loops over a mix of requests built from the dev set: box reads (a region of a page, as the
Label Studio interactive call does, through POST /v1/ocr with `regions`) and whole pages. Reports
throughput, latency p50/p95/p99 per kind, status counts (503 = shed by the bounded queue, by design),
other errors, and the server's memory: RSS sampled every second, its peak, and the drift between the
first and last tenth of the run (flat memory means no leak).

    python benchmarks/load.py --clients 8 --seconds 60 --page-share 0.2
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from dev_set import DATA, running_server


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) in KiB from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def build_requests(data: Path, seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    boxes, pages = [], []
    for path in sorted((data / "labels").glob("*.json")):
        label = json.loads(path.read_text())
        image = base64.b64encode((data / "images" / label["image"]).read_bytes()).decode()
        lang = label["language"]
        pages.append({"image_base64": image, "lang": lang, "level": "line"})
        for region in rng.sample(label["regions"], min(5, len(label["regions"]))):
            x0, y0, x1, y1 = region["bbox"]
            boxes.append({"image_base64": image, "lang": lang, "regions": [[x0 - 3, y0 - 3, x1 + 3, y1 + 3]], "level": "block"})
    return boxes, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=20000, help="stop after this many requests in all")
    parser.add_argument("--page-share", type=float, default=0.2, help="fraction of requests that are whole pages")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA, help="a labelled set laid out as ocr-dev is (images/, labels/)")
    args = parser.parse_args()

    boxes, pages = build_requests(args.data, args.seed)
    latencies: dict[str, list[float]] = {"box": [], "page": []}
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    issued = 0

    with running_server(None, args.workers) as server:
        url, pid = server.url, server.pid
        assert pid is not None
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        stop_at = started + args.seconds  # the load runs this long once the server is up, not counting its start

        def sample_memory() -> None:
            while time.monotonic() < stop_at:
                samples.append((time.monotonic() - started, rss_kib(pid)[0]))
                time.sleep(1.0)

        def client(index: int) -> None:
            nonlocal issued
            rng = random.Random(args.seed * 1000 + index)
            with httpx.Client(base_url=url, timeout=120) as http:
                while time.monotonic() < stop_at:
                    with lock:
                        if issued >= args.max_requests:
                            return
                        issued += 1
                    kind = "page" if rng.random() < args.page_share else "box"
                    body = rng.choice(pages if kind == "page" else boxes)
                    t0 = time.perf_counter()
                    try:
                        response = http.post("/v1/ocr", json=body)
                        code = str(response.status_code)
                    except httpx.HTTPError as exc:
                        code = type(exc).__name__
                    elapsed = (time.perf_counter() - t0) * 1000
                    with lock:
                        statuses[code] += 1
                        if code == "200":
                            latencies[kind].append(elapsed)
                        elif code != "503":
                            errors.append(code)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        monitor = threading.Thread(target=sample_memory, daemon=True)
        monitor.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        current, peak = rss_kib(pid)

    ok = sum(len(v) for v in latencies.values())
    print(f"\nload: {args.clients} clients, {wall:.0f} s, workers={args.workers}, page share {args.page_share:.0%}\n")
    print("| kind | ok | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for kind, values in latencies.items():
        if values:
            p50, p95, p99 = (float(np.percentile(values, q)) for q in (50, 95, 99))
            print(f"| {kind} | {len(values)} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
    print(f"\nthroughput: {ok / wall:.2f} requests/s answered 200; statuses {dict(statuses)}; errors (not 200/503): {len(errors)}")
    tenth = max(1, len(samples) // 10)
    early = statistics.mean(v for _, v in samples[:tenth]) / 1024
    late = statistics.mean(v for _, v in samples[-tenth:]) / 1024
    print(f"server RSS: peak {peak / 1024:.0f} MiB, first tenth {early:.0f} MiB, last tenth {late:.0f} MiB "
          f"(drift {late - early:+.0f} MiB), now {current / 1024:.0f} MiB")
    step = max(1, len(samples) // 10)
    print("RSS over time (s: MiB): " + ", ".join(f"{t:.0f}: {v / 1024:.0f}" for t, v in samples[::step]))


if __name__ == "__main__":
    main()
