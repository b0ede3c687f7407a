"""Benchmark: how much the chat page adds to the model's time to first token.

    python bench/ui_latency.py --delays 0.1,0.3,1.0 --runs 8 --out runs/bench_ui_latency.json
    python bench/ui_latency.py --model /path/to/hf-checkpoint      # a real model instead of the scripted one

One `streamlit run ui/app.py` and one headless Chromium (Debian's /usr/bin/chromium through Playwright) per model.
Each run types a question into the chat input and presses Enter, then measures in the same answer:
- browser TTFT: from the Enter keydown (its event time stamp) to the first answer text in the page (a
  MutationObserver), both on the page's clock;
- backend TTFT: the app's own time from asking the agent to its first streamed token (PUYU_UI_TIMINGS);
- page overhead before the agent is asked: from the script run's start to asking (server clock).
The ratio browser/backend is the number to watch (target: at most 1.5). The scripted model stands in for a
model with a given time to first token (--delays: its wait before each chunk); runs alternate between a new
conversation and a follow-up in the same one, after one warm-up answer that is not counted.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from ui_browser import CHROMIUM, CHROMIUM_ARGS, Chat, start_app, stop_app

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


def measure(chat: Chat, question: str, timeout_s: float = 120) -> dict:
    page = chat.page
    n0 = page.locator("[data-testid=stChatMessage]").count()
    page.evaluate(WATCH, n0)
    page.fill(Chat.INPUT, question)
    page.wait_for_selector("[data-testid=stChatInputSubmitButton]:not([disabled])")
    page.press(Chat.INPUT, "Enter")
    page.wait_for_function("() => window.__ttft.first !== undefined", timeout=timeout_s * 1000)
    t = page.evaluate("() => window.__ttft")
    chat.wait_idle()
    return {"browser_ttft_s": (t["first"] - t["enter"]) / 1000, "enter_wall": (t["origin"] + t["enter"]) / 1000,
            "shown_wall": (t["origin"] + t["first"]) / 1000}


def bench_model(label: str, env: dict, runs: int, data: Path) -> dict:
    from playwright.sync_api import sync_playwright

    timings = data / "timings.jsonl"
    log = data / "streamlit.log"
    proc, url = start_app(data / "data", {**env, "PUYU_UI_TIMINGS": str(timings)}, log)
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            chat = Chat(page, data)
            page.goto(url)
            page.wait_for_selector(Chat.INPUT, timeout=60_000)
            measure(chat, "Warm-up question", timeout_s=900)  # imports and model loading happen here
            for i in range(runs):
                fresh = i % 2 == 0
                if fresh:
                    page.locator("[data-testid=stSidebar] button").filter(has_text="New chat").click()
                    page.wait_for_selector("[data-testid=stChatMessage]", state="detached")
                rows.append({"conversation": "new" if fresh else "follow-up",
                             **measure(chat, f"Question number {i + 1}?")})
            browser.close()
    finally:
        stop_app(proc)
    if not timings.exists():
        raise RuntimeError(f"{label}: the app streamed no answer; its log:\n{log.read_text()[-3000:]}")
    records = [json.loads(line) for line in timings.read_text().splitlines()][1:]  # without the warm-up
    for row, rec in zip(rows, records, strict=True):
        row["backend_ttft_s"] = rec["backend_ttft_s"]
        row["ratio"] = row["browser_ttft_s"] / row["backend_ttft_s"]
        # where the rest went (wall clocks of browser and server, same machine)
        row["to_server_s"] = rec["run_started"] - row.pop("enter_wall")
        row["page_before_agent_s"] = rec["asked"] - rec["run_started"]
        row["to_screen_s"] = row.pop("shown_wall") - rec["first_token"]
    med = {k: statistics.median(r[k] for r in rows) for k in ("browser_ttft_s", "backend_ttft_s", "ratio",
                                                               "to_server_s", "page_before_agent_s", "to_screen_s")}
    ratios = sorted(r["ratio"] for r in rows)
    return {"model": label, "runs": rows, "median": med, "min_ratio": ratios[0],
            "p90_ratio": ratios[max(0, int(0.9 * len(rows)) - 1)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="0.1,0.3,1.0",
                        help="the scripted model's wait before each chunk, seconds, comma-separated")
    parser.add_argument("--model", help="a local Hugging Face checkpoint to measure as well (transformers backend)")
    parser.add_argument("--device", default="auto", help="for --model: auto, cpu or cuda")
    parser.add_argument("--runs", type=int, default=8, help="measured answers per model (after one warm-up)")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    models = []
    for delay in [float(d) for d in args.delays.split(",") if d.strip()]:
        models.append((f"scripted, first token after {delay:g} s", {"PUYU_FAKE_MODEL_DELAY_S": str(delay)}))
    if args.model:
        # no tools: their prompt would not fit a small test model's context
        settings = {"model": str(Path(args.model).resolve()), "backend": "transformers", "max_new_tokens": 48,
                    "tools": [], "interpreter": False, "device": args.device}
        models.append((f"transformers: {Path(args.model).name}", {"PUYU_UI_SETTINGS": json.dumps(settings)}))
    results = []
    for label, env in models:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if "PUYU_FAKE_MODEL_DELAY_S" in env:
                script = tmp / "script.json"
                script.write_text(json.dumps([ANSWER]))
                env = {**env, "PUYU_FAKE_MODEL": str(script)}
            result = bench_model(label, env, args.runs, tmp)
        results.append(result)
        m = result["median"]
        ms = {k: f"{v * 1000:.0f} ms" for k, v in m.items() if k.endswith("_s")}
        print(f"{label}: browser {ms['browser_ttft_s']}, backend {ms['backend_ttft_s']}, ratio {m['ratio']:.2f} "
              f"(min {result['min_ratio']:.2f}, p90 {result['p90_ratio']:.2f}); medians: Enter to server "
              f"{ms['to_server_s']}, page before the agent "
              f"{ms['page_before_agent_s']}, first token to screen {ms['to_screen_s']}", flush=True)
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
