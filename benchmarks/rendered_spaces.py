#!/usr/bin/env python3
"""Recovered spaces on text the dev set does not hold: rendered sentences, read as one-line regions.

The space recovery (src/ocrserver/engines/ctc_spaces.py) was measured on the dev set's receipts. This checks
that it does not hurt clean, proportionally spaced print: random sentences (words from this repository's
docs) rendered in the DejaVu / Liberation fonts at 14-32 px, each read by ``ppocr`` and ``ppocr-tiny`` with the
recovery on and off. Prints exact lines and lines wrong only in their spaces.

    python benchmarks/rendered_spaces.py --lines 240
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ocrserver.engines import ctc_spaces, discover_engines
from ocrserver.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation2"),
             Path("/usr/share/fonts/truetype/liberation")]


def rendered_sentences(count: int, seed: int) -> list[tuple[str, Image.Image]]:
    rng = random.Random(seed)
    text = "".join(path.read_text() for path in (REPO / "README.md", REPO / "docs" / "benchmarks.md"))
    vocabulary = re.findall(r"[A-Za-z][A-Za-z'\-]{1,12}|\d{1,5}(?:[.,/:]\d{1,4})?", text)
    fonts = sorted(p for d in FONT_DIRS if d.is_dir() for p in d.glob("*.ttf") if "ExtraLight" not in p.name)
    if not fonts:
        raise SystemExit("no DejaVu or Liberation fonts: apt-get install fonts-dejavu-core fonts-liberation2")
    samples = []
    for _ in range(count):
        sentence = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 7)))
        face = ImageFont.truetype(str(rng.choice(fonts)), rng.choice([14, 18, 24, 32]))
        x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), sentence, font=face)
        image = Image.new("RGB", (x1 - x0 + 16, y1 - y0 + 12), "white")
        ImageDraw.Draw(image).text((8 - x0, 6 - y0), sentence, fill="black", font=face)
        samples.append((sentence, image))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=240)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    samples = rendered_sentences(args.lines, args.seed)
    settings = load_settings(workers=2)
    recover_at = ctc_spaces.SPACE_AT_LEAST
    print(f"| engine | space recovery | exact lines (of {len(samples)}) | wrong only in spaces |")
    print("|---|---|---|---|")
    for engine_name in ("ppocr", "ppocr-tiny"):
        for recovery in (False, True):
            ctc_spaces.SPACE_AT_LEAST = recover_at if recovery else float("inf")  # read at every decode
            engine = discover_engines()[engine_name](settings)
            exact = spaces_only = 0
            for truth, image in samples:
                read = " ".join(" ".join(line.text for line in engine.read_region(image, ["en"])).split())
                exact += read == truth
                spaces_only += read != truth and read.replace(" ", "") == truth.replace(" ", "")
            print(f"| {engine_name} | {'on' if recovery else 'off'} | {exact} | {spaces_only} |")
    ctc_spaces.SPACE_AT_LEAST = recover_at


if __name__ == "__main__":
    main()
