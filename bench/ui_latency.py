"""Benchmark: how much the chat page adds to the model's time to first token.

    python bench/ui_latency.py --delays 0.1,0.3,1.0 --runs 8 --out runs/bench/ui_latency.json

One `puyu ui` with the replay backend (a scripted model that waits --delays seconds before each chunk, standing in
for a model with that time to first token) and one headless Chromium (Debian's /usr/bin/chromium through
Playwright) per delay. Each run types a question into the chat input and presses Enter, then measures in the same
answer:
- browser TTFT: from the Enter keydown (its event time stamp) to the first answer text in the page (a
  MutationObserver), both on the page's clock;
- model TTFT, the baseline: from the model being called to its first chunk, from the replay script's call log;
- where the rest goes: Enter to the model being called, and its first chunk to the screen (wall clocks of the
  browser and the server, on one machine).
The ratio browser/model is the number to watch (target: at most 1.5). Runs alternate between a new conversation
and a follow-up in the same one, after one warm-up answer that is not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import start_puyu, stop

CHROMIUM = Path(os.environ.get("PUYU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
INPUT = "[data-testid=stChatInput] textarea"
ANSWER = "The sum of the squares of 1 to 10 is **385**."

# Installed before Enter: records the keydown's time stamp and when the new answer's first text shows up.
WATCH = """(n0) => {
  window.__ttft = {};
  const box = document.querySelector('[data-testid=stChatInput] textarea');
  box.addEventListener('keydown', e => {
    if (e.key === 'Enter') { window.__ttft.enter = e.timeStamp; window.__ttft.origin = performance.timeOrigin; }
  }, {capture: true, once: true});
  const seen = () => {
    const msgs = document.querySelectorAll('[data-testid=stChatMessage]');
    const answer = msgs[n0 + 1];
    const text = answer && answer.querySelector('[data-testid=stMarkdownContainer]');
    return text && text.innerText.replace(/\u258c/g, '').trim().length > 0;  // the cursor is not a token
  };
  new MutationObserver((_, obs) => {
    if (seen()) { window.__ttft.first = performance.now(); obs.disconnect(); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """The answer is done: the app stopped running and drew the last turn's buttons."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=timeout_ms)
    page.get_by_role("button", name="Regenerate").wait_for(timeout=timeout_ms)


def measure(page, question: str, timeout_s: float = 120) -> dict:
    n0 = page.locator("[data-testid=stChatMessage]").count()
    page.evaluate(WATCH, n0)
    page.fill(INPUT, question)
    page.wait_for_selector("[data-testid=stChatInputSubmitButton]:not([disabled])")
    page.press(INPUT, "Enter")
    page.wait_for_function("() => window.__ttft.first !== undefined", timeout=timeout_s * 1000)
    t = page.evaluate("() => window.__ttft")
    wait_idle(page)
    return {"browser_ttft_s": (t["first"] - t["enter"]) / 1000, "enter_wall": (t["origin"] + t["enter"]) / 1000,
            "shown_wall": (t["origin"] + t["first"]) / 1000}


def bench_delay(delay: float, runs: int, work: Path) -> dict:
    from playwright.sync_api import sync_playwright

    calls, log = work / "calls.jsonl", work / "puyu-ui.log"
    script = work / "script.json"
    script.write_text(json.dumps({"replies": [ANSWER], "delay_s": delay, "log": str(calls)}))
    proc, url = start_puyu(["ui", "--backend", "replay", "--model", str(script), "--data-dir", str(work / "data")],
                           "/_stcore/health", log, {"STREAMLIT_SERVER_HEADLESS": "true", "HF_HUB_OFFLINE": "1"})
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_selector(INPUT, timeout=60_000)
            measure(page, "Warm-up question", timeout_s=900)  # imports happen here
            for i in range(runs):
                fresh = i % 2 == 0
                if fresh:
                    page.locator("[data-testid=stSidebar] button").filter(has_text="New chat").click()
                    page.wait_for_selector("[data-testid=stChatMessage]", state="detached")
                rows.append({"conversation": "new" if fresh else "follow-up",
                             **measure(page, f"Question number {i + 1}?")})
            browser.close()
    finally:
        stop(proc)
    if not calls.exists():
        raise RuntimeError(f"the app never called the model; its log:\n{log.read_text()[-3000:]}")
    records = [json.loads(line) for line in calls.read_text().splitlines()][1:]  # without the warm-up
    for row, rec in zip(rows, records, strict=True):
        row["model_ttft_s"] = rec["first_chunk"] - rec["called"]
        row["ratio"] = row["browser_ttft_s"] / row["model_ttft_s"]
        row["to_model_s"] = rec["called"] - row.pop("enter_wall")
        row["to_screen_s"] = row.pop("shown_wall") - rec["first_chunk"]
    med = {k: statistics.median(r[k] for r in rows)
           for k in ("browser_ttft_s", "model_ttft_s", "ratio", "to_model_s", "to_screen_s")}
    ratios = sorted(r["ratio"] for r in rows)
    return {"model": f"scripted, first token after {delay:g} s", "runs": rows, "median": med,
            "min_ratio": ratios[0], "p90_ratio": ratios[max(0, int(0.9 * len(rows)) - 1)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="0.1,0.3,1.0",
                        help="the scripted model's wait before each chunk, seconds, comma-separated")
    parser.add_argument("--runs", type=int, default=8, help="measured answers per delay (after one warm-up)")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    results = []
    for delay in [float(d) for d in args.delays.split(",") if d.strip()]:
        with tempfile.TemporaryDirectory() as tmp:
            result = bench_delay(delay, args.runs, Path(tmp))
        results.append(result)
        m = result["median"]
        ms = {k: f"{v * 1000:.0f} ms" for k, v in m.items() if k.endswith("_s")}
        print(f"{result['model']}: browser {ms['browser_ttft_s']}, model {ms['model_ttft_s']}, ratio "
              f"{m['ratio']:.2f} (min {result['min_ratio']:.2f}, p90 {result['p90_ratio']:.2f}); medians: Enter to "
              f"the model {ms['to_model_s']}, first chunk to screen {ms['to_screen_s']}", flush=True)
    chromium = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, check=False)
    report = {"bench": "ui_latency", "when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_average": os.getloadavg(), "chromium": chromium.stdout.strip(),
              "target_ratio": 1.5, "results": results}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
