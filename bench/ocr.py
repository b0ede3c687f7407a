"""Benchmark: OCR seconds per page and character accuracy, puyu's `ocr` pipeline against a plain
`pytesseract.image_to_string` call (no line boxes, no annotated image) in the same run.

    python bench/ocr.py --out runs/bench/ocr.json

Pages are rendered here: A4 at 150 dpi (1240 x 1754 px), 24 px text (about 11.5 pt), of English text
(GSM8K questions), Chinese text (CMMLU questions) and both mixed line by line, from ../shared/data
(synthetic text where that is absent). Each page type is read with lang=eng, chi_sim and auto
(eng+chi_sim). Accuracy = 1 - character error rate, whitespace ignored (Tesseract's Chinese output puts
spaces between words that the text does not have).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAGE, MARGIN, SIZE = (1240, 1754), 90, 24


def cer(truth: str, got: str) -> float:
    a, b = "".join(truth.split()), "".join(got.split())
    try:
        from rapidfuzz.distance import Levenshtein
        return Levenshtein.normalized_distance(a, b)
    except ImportError:  # difflib's ratio is close enough for a benchmark
        import difflib
        return 1 - difflib.SequenceMatcher(None, a, b).ratio()


def sources(rng: random.Random) -> tuple[list[str], list[str]]:
    english, chinese = [], []
    gsm = DATA / "gsm8k" / "test.jsonl"
    if gsm.exists():
        english = [json.loads(line)["question"] for line in gsm.open(encoding="utf-8")]
    for f in sorted((DATA / "cmmlu" / "test").glob("*.csv")) if (DATA / "cmmlu").is_dir() else []:
        with f.open(encoding="utf-8") as fh:
            chinese += [row["Question"] for row in csv.DictReader(fh)]
    if not english:
        english = [f"Sample sentence number {i} about apples, trains and 42 red boxes." for i in range(500)]
    if not chinese:
        chinese = [f"第{i}个问题：今天天气很好，我们去公园散步。" for i in range(500)]
    rng.shuffle(english)
    rng.shuffle(chinese)
    return english, chinese


def wrap(text: str, font, width: int) -> list[str]:
    """Greedy wrap by rendered width; splits at spaces for English, anywhere for Chinese."""
    lines, line = [], ""
    tokens = text.split(" ") if text.isascii() else list(text)
    sep = " " if text.isascii() else ""
    for tok in tokens:
        trial = f"{line}{sep}{tok}" if line else tok
        if font.getlength(trial) <= width:
            line = trial
        else:
            lines.append(line)
            line = tok
    return lines + [line] if line else lines


def render(kind: str, english: list[str], chinese: list[str], font):
    """A page of `kind` (en, zh or mixed) and the text on it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(img)
    lines: list[str] = []
    width, max_lines = PAGE[0] - 2 * MARGIN, (PAGE[1] - 2 * MARGIN) // int(SIZE * 1.6)
    while len(lines) < max_lines:
        pool = english if kind == "en" or (kind == "mixed" and len(lines) % 2 == 0) else chinese
        lines += wrap(pool.pop(), font, width)
        lines.append("")  # a blank line between paragraphs
    lines = lines[:max_lines]
    for i, line in enumerate(lines):
        draw.text((MARGIN, MARGIN + i * int(SIZE * 1.6)), line, font=font, fill="black")
    return img, "\n".join(lines)


def cjk_font_path() -> str | None:
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False).stdout
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return files[0] if files else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2, help="pages per page type")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import pytesseract
    from PIL import ImageFont

    from puyu.tools.ocr import LANGS, recognise

    font_path = cjk_font_path()
    if font_path is None:
        sys.exit("no CJK font: install fonts-wqy-zenhei (fc-list :lang=zh is empty)")
    font = ImageFont.truetype(font_path, SIZE)
    rng = random.Random(args.seed)
    english, chinese = sources(rng)
    pages = {kind: [render(kind, english, chinese, font) for _ in range(args.pages)] for kind in ("en", "zh", "mixed")}
    rows = []
    for kind, items in pages.items():
        for lang in ("eng", "chi_sim", "auto"):
            for method in ("puyu ocr", "image_to_string"):
                secs, errs = [], []
                for img, truth in items:
                    t = time.perf_counter()
                    if method == "puyu ocr":
                        text = "\n".join(line.text for line in recognise(img, LANGS[lang]))
                    else:
                        text = pytesseract.image_to_string(img, lang=LANGS[lang])
                    secs.append(time.perf_counter() - t)
                    errs.append(cer(truth, text))
                rows.append({"page": kind, "lang": lang, "method": method,
                             "s_per_page": round(statistics.mean(secs), 2),
                             "accuracy": round(1 - statistics.mean(errs), 3)})
                print(rows[-1], flush=True)
    table = Table(title=f"OCR, {args.pages} A4 pages per type at 150 dpi")
    for col in ("page", "lang", "method", "s/page", "accuracy"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["page"], r["lang"], r["method"], str(r["s_per_page"]), f"{r['accuracy']:.1%}")
    Console().print(table)
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
               f"tesseract {pytesseract.get_tesseract_version()}, load {os.getloadavg()[0]:.1f}")
    print(machine)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": machine, "font": font_path, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
