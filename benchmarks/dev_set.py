#!/usr/bin/env python3
"""Accuracy and speed of each engine on the dev set, measured through the running server's HTTP API.

Starts `ocrserver serve` on a free loopback port (or uses --url), runs ../shared/bench/ocr_score.py
(box and page tasks) once per engine and concurrency (1 and 2), and prints one table; then, for the box task,
interactive.py per engine (a drawn box through /predict, the raw engine call in-process and pytesseract per call,
on the same regions). Full JSON summaries go to --out-dir.

    python benchmarks/dev_set.py                         # all images, the three engines, concurrency 1 and 2
    python benchmarks/dev_set.py --limit 12 --max-boxes 400 --concurrency 2 --interactive-boxes 0
    python benchmarks/dev_set.py --data ~/my-labelled-set        # your own documents, laid out as ocr-dev
    python benchmarks/dev_set.py --engines ppocr --precision fp32,bf16   # one server per precision, same run
    python benchmarks/dev_set.py --task page --turn 180                 # pages scanned upside down
    python benchmarks/dev_set.py --task page --frame 4000               # pages photographed from a distance
    python benchmarks/dev_set.py --task page --skew 4                   # pages scanned 4 degrees askew
    python benchmarks/dev_set.py --task page --stack 3                  # each page in an image three pages long
    python benchmarks/dev_set.py --task page --dim                      # pages photographed in dim light
    python benchmarks/dev_set.py --task page --tilt 0.12                # pages photographed at an angle
    python benchmarks/dev_set.py --task page --tilt 0.2 --cut 0.1       # ... from so close the frame cuts them
    python benchmarks/dev_set.py --task page --tilt 0.2 --dim           # ... in dim light
    python benchmarks/dev_set.py --task page --tilt 0.2 --cut 0.1 --dim # ... cut by the frame, in dim light
    python benchmarks/dev_set.py --task page --shadow 0.6               # pages under a shadow across them
    python benchmarks/dev_set.py --task page --blur 5                   # pages blurred by a hand's shake
    python benchmarks/dev_set.py --task page --defocus 3                # pages out of focus
    python benchmarks/dev_set.py --task page --scale 0.35               # pages in small images
    python benchmarks/dev_set.py --task page --show-through 0.25        # pages printed on both sides
    python benchmarks/dev_set.py --task page --fax                      # pages faxed in standard mode (204 x 98 dpi)
    python benchmarks/dev_set.py --task page --stamp                    # pages with a red stamp across their print
    python benchmarks/dev_set.py --task page --highlight pink           # every other line marked with a highlighter
    python benchmarks/dev_set.py --task box --skew 4                    # boxes drawn upright on them
    python benchmarks/dev_set.py --task box --on-page --blur 5          # boxes drawn on whole pages blurred so
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("OCR_SHARED", REPO.parent / "shared"))
SCORER = SHARED / "bench" / "ocr_score.py"
DATA = SHARED / "data" / "ocr-dev"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    pid: int | None  # None for a server this script did not start


@contextmanager
def running_server(url: str | None, workers: int, env: dict[str, str] | None = None) -> Iterator[Server]:
    if url:
        yield Server(url=url, pid=None)
        return
    port = free_port()
    env = {**os.environ, "WORKERS": str(workers), "OCR_PRELOAD": "tesseract", "LOG_LEVEL": "WARNING", **(env or {})}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "ocrserver"), "serve", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("server did not start")
        yield Server(url=base, pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


def score(url: str, engine: str, args: argparse.Namespace, concurrency: int, out: Path) -> dict:
    command = [
        sys.executable, str(SCORER), "--data", str(args.data),
        "--adapter", f"class:{HERE / 'ocrserver_adapter.py'}:OcrServer",
        "--adapter-arg", f"url={url}", "--adapter-arg", f"engine={engine}",
        "--task", args.task, "--concurrency", str(concurrency), "--warmup", "2",
        "--out", str(out), "--quiet",
        # how each page or box is sent changed (the adapter sends them as they are where none is)
        "--adapter-arg", f"turn={args.turn}", "--adapter-arg", f"frame={args.frame}",
        "--adapter-arg", f"scale={args.scale}", "--adapter-arg", f"dim={int(args.dim)}",
        "--adapter-arg", f"shadow={args.shadow}", "--adapter-arg", f"blur={args.blur}",
        "--adapter-arg", f"defocus={args.defocus}", "--adapter-arg", f"through={args.show_through}",
        "--adapter-arg", f"speckle={args.speckle}", "--adapter-arg", f"dither={args.dither}",
        "--adapter-arg", f"fax={int(args.fax)}", "--adapter-arg", f"stamp={int(args.stamp)}",
        "--adapter-arg", f"highlight={args.highlight}",
        "--adapter-arg", f"skew={args.skew}", "--adapter-arg", f"tilt={args.tilt}", "--adapter-arg", f"cut={args.cut}",
        "--adapter-arg", f"loose={args.loose}", "--adapter-arg", f"wide={args.wide}",
        "--adapter-arg", f"stack={args.stack}", "--adapter-arg", f"data={args.data}",
    ]
    if args.as_text:
        command += ["--adapter-arg", "text=1"]
    if args.on_page:
        command += ["--box-mode", "full"]
    if args.limit:
        command += ["--limit", str(args.limit)]
    if args.max_boxes:
        command += ["--max-boxes", str(args.max_boxes)]
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def _fmt(value: object, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _throughputs(summaries: list[dict], task: str) -> list[str]:
    """Requests a second at each concurrency, the later ones with their ratio to the first."""
    rates = [((summary.get(task) or {}).get("timing") or {}).get("throughput_rps") for summary in summaries]
    cells = [_fmt(rates[0], 2)]
    for rate in rates[1:]:
        cells.append(_fmt(rate, 2) + (f" ({rate / rates[0]:.2f}×)" if rate and rates[0] else ""))
    return cells


def row(engine: str, summaries: list[dict]) -> list[str]:
    """One engine's cells: accuracy and latency from the first concurrency's run, throughput from each."""
    box, page = summaries[0].get("box") or {}, summaries[0].get("page") or {}
    zh = (box.get("by") or {}).get("lang:zh", {})
    box_latency, page_latency = box.get("timing", {}).get("latency_ms", {}), page.get("timing", {}).get("latency_ms", {})
    return [
        engine,
        _fmt(box.get("n")), _fmt(box.get("cer_ci")), _fmt(box.get("wer_ci")), _fmt(box.get("line_acc_ci")),
        _fmt(zh.get("cer")), _fmt(box_latency.get("p50"), 1), _fmt(box_latency.get("p95"), 1),
        *_throughputs(summaries, "box"),
        _fmt(page.get("det_precision")), _fmt(page.get("det_recall")), _fmt(page.get("det_f1")),
        _fmt(page.get("bow_f1_ci")), _fmt(page.get("page_cer_ci")),
        _fmt(page_latency.get("p50"), 0), _fmt(page_latency.get("p95"), 0),
        *_throughputs(summaries, "page"),
    ]


def header(concurrencies: list[int]) -> list[str]:
    return [
        "engine", "boxes", "box CER", "box WER", "line acc", "zh CER", "box p50 ms", "box p95 ms",
        *(f"boxes/s (c={c})" for c in concurrencies),
        "det P", "det R", "det F1", "BoW F1", "page CER", "page p50 ms", "page p95 ms",
        *(f"pages/s (c={c})" for c in concurrencies),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="a labelled set laid out as ocr-dev is (images/, labels/: its README), e.g. your own "
                             "documents, or a Label Studio project's annotations (label_studio_set.py makes one) "
                             f"(default: {DATA})")
    parser.add_argument("--engines", default="ppocr,ppocr-tiny,tesseract")
    parser.add_argument("--task", default="box,page")
    parser.add_argument("--limit", type=int, default=0, help="images (0 = all 61)")
    parser.add_argument("--max-boxes", type=int, default=0, help="box requests (0 = all 2714)")
    parser.add_argument("--concurrency", default="1,2",
                        help="requests in flight, one run of the scorer each (accuracy and latency come from the first)")
    parser.add_argument("--workers", type=int, default=2, help="server WORKERS when this script starts it")
    parser.add_argument("--precision", default="",
                        help="OCR_PRECISION of the started server (default: its own): fp32, bf16, auto, or several (fp32,bf16)")
    parser.add_argument("--turn", type=int, default=0, choices=[0, 90, 180, 270],
                        help="page task: send each page turned counter-clockwise by this many degrees")
    parser.add_argument("--skew", type=float, default=0,
                        help="send each page turned counter-clockwise by this many degrees (a few: askew); box task: "
                             "regions cut upright from the askew page, as an annotator draws them")
    parser.add_argument("--frame", type=int, default=0,
                        help="page task: send each page at its own resolution inside a photo this many pixels square")
    parser.add_argument("--loose", type=float, default=0,
                        help="box task: send each region with this many times its height of its own paper on every "
                             "side, as a box drawn loosely around a line")
    parser.add_argument("--wide", type=float, default=0,
                        help="box task: send each region with this many times its width of its own paper to its right, "
                             "as a box dragged past the end of its line")
    parser.add_argument("--scale", type=float, default=1,
                        help="page task: send each page scaled by this factor (a small photo), its lines scaled back")
    parser.add_argument("--tilt", type=float, default=0,
                        help="page task: send each page as photographed at an angle from in front of its bottom edge "
                             "on a grey table, its top edge this fraction of its width shorter at each end (0.12)")
    parser.add_argument("--cut", type=float, default=0,
                        help="page task: send each page photographed (with --tilt, at that angle) from so close that the "
                             "frame cuts this share of its height off at its top and at its bottom (0.1)")
    parser.add_argument("--dim", action="store_true",
                        help="page task: send each page as photographed in dim light on a grey table (a JPEG); with "
                             "--tilt, the photo taken at that angle so, and with --cut, from so close")
    parser.add_argument("--shadow", type=float, default=0,
                        help="page task: send each page with a shadow across its right part, the light under it this "
                             "much darker (0.6), as a hand or a phone held over it casts")
    parser.add_argument("--blur", type=int, default=0,
                        help="page task: send each page blurred as by a hand that moved this many pixels while the "
                             "photo was taken (5), a straight streak 20 degrees from the horizontal; box task with "
                             "--on-page: each box drawn on its page blurred so")
    parser.add_argument("--defocus", type=int, default=0,
                        help="page task: send each page as a lens out of focus shows it, each point a disc of this "
                             "radius in pixels (3); box task with --on-page: each box drawn on its page sent so")
    parser.add_argument("--show-through", type=float, default=0,
                        help="page task: send each page printed on both sides, the next page of its source showing "
                             "through from its back, mirrored, this share as dark as it is (0.25)")
    parser.add_argument("--speckle", type=float, default=0,
                        help="page task: send each page with this share of its pixels (0.02) set black or white at "
                             "random, salt and pepper, as a fax line or a dusty scanner glass strews them; box task "
                             "with --on-page: each box drawn on its page speckled so")
    parser.add_argument("--dither", type=float, default=0,
                        help="page task: send each page as a scanner set to black and white sends it, its print "
                             "faded to this share of its darkness (0.5: grey print) and dithered into dots; box task "
                             "with --on-page: each box drawn on its page sent so")
    parser.add_argument("--fax", action="store_true",
                        help="page task: send each page as a fax machine in standard mode sends it, a black and white "
                             "TIFF 1728 px wide with half as many rows an inch as columns (204 x 98 dpi), its lines "
                             "scaled back")
    parser.add_argument("--stamp", action="store_true",
                        help="page task: send each page with a red stamp (PAID and a date, in a frame) across its "
                             "middle, its ink over the print; box task with --on-page: each box drawn on its page "
                             "stamped so")
    parser.add_argument("--highlight", default="", choices=["", "yellow", "pink", "green", "blue"],
                        help="page task: send each page with every other labelled line marked with a highlighter of "
                             "this colour; box task with --on-page: each box drawn on its page marked so")
    parser.add_argument("--on-page", action="store_true",
                        help="box task: send each region as a box drawn on its whole page, as Label Studio's "
                             "interactive call does, not cut out of it")
    parser.add_argument("--stack", type=int, default=0,
                        help="page task: send each page between its neighbours of the same source, one image this "
                             "many pages long (a long receipt, a web page captured whole); only its own lines scored")
    parser.add_argument("--as-text", action="store_true",
                        help="page task: score each page's text as the server returns it, in its reading order (the "
                             "page CER column), not its lines put in the scorer's row order; detection is not scored")
    parser.add_argument("--interactive-boxes", type=int, default=300,
                        help="box task: then run interactive.py on this many regions per engine (0: skip)")
    parser.add_argument("--out-dir", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    tasks = args.task.split(",")
    # what changes a page where its lines lie: a box drawn on the page (--on-page) still lies on its line
    in_place = {"--blur": args.blur, "--defocus": args.defocus, "--shadow": args.shadow,
                "--show-through": args.show_through, "--speckle": args.speckle, "--dither": args.dither,
                "--stamp": args.stamp, "--highlight": args.highlight}
    if "box" in tasks and any(in_place.values()) and not args.on_page:
        parser.error(f"{', '.join(in_place)} change whole pages: with the box task, add --on-page to draw the boxes on "
                     "them (or use --task page)")
    page_only = [option for option, given in {
        "--turn": args.turn, "--frame": args.frame, "--scale": args.scale != 1, "--tilt": args.tilt, "--cut": args.cut,
        "--dim": args.dim, "--fax": args.fax, "--stack": args.stack, "--as-text": args.as_text}.items() if given]
    box_only = [option for option, given in {"--loose": args.loose, "--wide": args.wide, "--on-page": args.on_page}.items()
                if given]
    if page_only and "page" not in tasks:
        parser.error(f"the box task sends no whole page, so {', '.join(page_only)} would change nothing: add --task page")
    if box_only and "box" not in tasks:
        parser.error(f"the page task sends no box, so {', '.join(box_only)} would change nothing: add --task box")
    drawn_elsewhere = [option for option in page_only + box_only + (["--skew"] if args.skew else [])
                       if option not in ("--as-text", "--on-page")]
    if args.on_page and drawn_elsewhere:
        parser.error(f"--on-page draws each box where its line lies on the page as scanned; with {', '.join(drawn_elsewhere)} "
                     "the box is cut out or its line lies elsewhere on the image sent: leave out --on-page, or change "
                     f"the page with {', '.join(in_place)}")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    precisions = args.precision.split(",") if args.precision else [""]
    if args.url and len(precisions) > 1:
        parser.error("--precision with several values starts its own servers; leave out --url")
    rows = []
    for precision in precisions:
        with running_server(args.url, args.workers, env={"OCR_PRECISION": precision} if precision else None) as server:
            for engine in args.engines.split(","):
                name = engine if len(precisions) == 1 else f"{engine} ({precision})"
                sent = (f"_turn{args.turn}" if args.turn else "") + (f"_skew{args.skew:g}" if args.skew else "") + (
                    f"_tilt{args.tilt:g}" if args.tilt else "") + (f"_cut{args.cut:g}" if args.cut else "") + (
                    f"_frame{args.frame}" if args.frame else "") + (f"_loose{args.loose:g}" if args.loose else "") + (
                    f"_wide{args.wide:g}" if args.wide else "") + (
                    f"_stack{args.stack}" if args.stack else "") + ("_text" if args.as_text else "") + (
                    f"_scale{args.scale:g}" if args.scale != 1 else "") + ("_dim" if args.dim else "") + (
                    f"_shadow{args.shadow:g}" if args.shadow else "") + (f"_blur{args.blur}" if args.blur else "") + (
                    f"_defocus{args.defocus}" if args.defocus else "") + (
                    f"_through{args.show_through:g}" if args.show_through else "") + (
                    f"_speckle{args.speckle:g}" if args.speckle else "") + (
                    f"_dither{args.dither:g}" if args.dither else "") + ("_fax" if args.fax else "") + (
                    "_stamp" if args.stamp else "") + (f"_highlight{args.highlight}" if args.highlight else "") + (
                    "_onpage" if args.on_page else "")
                summaries = [
                    score(server.url, engine, args, c, args.out_dir / f"dev_{engine}_{precision or 'default'}_c{c}{sent}.json")
                    for c in concurrencies
                ]
                rows.append(row(name, summaries))
    print(f"\ndev set {args.data.name}: limit={args.limit or 'all'} max_boxes={args.max_boxes or 'all'} "
          f"concurrency={args.concurrency} workers={args.workers} precision={args.precision or 'server default'}"
          f"{f' turned {args.turn} degrees' if args.turn else ''}{f' {args.skew:g} degrees askew' if args.skew else ''}"
          f"{f' photographed tilted {args.tilt:g}' if args.tilt else ''}"
          f"{f', cut {args.cut:g} at top and bottom by the frame' if args.cut else ''}"
          f"{f' in a {args.frame} px photo' if args.frame else ''}"
          f"{f' drawn with {args.loose:g}x their height of paper around' if args.loose else ''}"
          f"{f' drawn {args.wide:g}x their width past their end' if args.wide else ''}"
          f"{f' in images {args.stack} pages long' if args.stack else ''}"
          f"{f' scaled {args.scale:g}' if args.scale != 1 else ''}{' in dim light' if args.dim else ''}"
          f"{f' under a shadow {args.shadow:g} dark' if args.shadow else ''}"
          f"{f' blurred {args.blur} px as by a moving hand' if args.blur else ''}"
          f"{f' out of focus, discs of {args.defocus} px' if args.defocus else ''}"
          f"{f' with the next page showing through {args.show_through:g} dark' if args.show_through else ''}"
          f"{f' speckled, {args.speckle:g} of the pixels' if args.speckle else ''}"
          f"{f' dithered to black and white, the print {args.dither:g} as dark' if args.dither else ''}"
          f"{' faxed in standard mode (204 x 98 dpi)' if args.fax else ''}"
          f"{' with a stamp across the print' if args.stamp else ''}"
          f"{f' every other line highlighted {args.highlight}' if args.highlight else ''}"
          f"{'; boxes drawn on their whole pages' if args.on_page else ''}"
          f"{'; page CER of the text as returned, in its reading order' if args.as_text else ''}\n")
    columns = header(concurrencies)
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    boxes_as_scanned = not (args.skew or args.loose or args.wide or args.on_page)
    if args.interactive_boxes and "box" in tasks and boxes_as_scanned:
        # the Label Studio hot path, the raw engine call and pytesseract per call, on the same regions (level
        # ones: interactive.py draws the boxes on the pages as scanned, so it does not follow --skew)
        for engine in args.engines.split(","):
            command = [sys.executable, str(HERE / "interactive.py"), "--boxes", str(args.interactive_boxes),
                       "--engine", engine, "--workers", str(args.workers), "--data", str(args.data)] + (
                ["--url", args.url] if args.url else [])
            subprocess.run(command, check=True, env={**os.environ, "OCR_PRECISION": precisions[0]} if precisions[0] else None)


if __name__ == "__main__":
    main()
