"""Load on loopback: N concurrent streaming conversations against `puyu serve`, each a full agent turn
(interpreter call + answer), against the same turn with nothing else running (the baseline: --alone turns one at
a time on the same server before the load, after one warm-up turn). Bounded in count and time; prints a table and writes JSON.

    python bench/serve_load.py --concurrency 16 --rounds 2 --out runs/bench/serve_load.json
    python bench/serve_load.py --model bundled --backend transformers   # the real model instead of a replay
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import start_puyu, stop
from rich.console import Console
from rich.table import Table

CALL_THEN_ANSWER = [
    "Let me compute that.<|action_start|><|interpreter|>\n```python\nx = 6 * 7\nprint(x)\n```<|action_end|>",
    "The answer is 42.",
]


def one_conversation(url: str, i: int) -> dict:
    import openai

    client = openai.OpenAI(base_url=url + "/v1", api_key="x", timeout=120, max_retries=0)
    start, first, text, tool_results = time.perf_counter(), None, "", 0
    for chunk in client.chat.completions.create(
            model="puyu", stream=True, messages=[{"role": "user", "content": f"What is 6 * 7? (#{i})"}]):
        delta = chunk.choices[0].delta.content or ""
        if delta and first is None:
            first = time.perf_counter() - start
        text += delta
        event = chunk.model_extra.get("puyu_event")
        if event and event["type"] == "tool_result":
            tool_results += 1
        if event and event["type"] == "error" and not event["recoverable"]:
            raise RuntimeError(event["message"])
    return {"ttft_s": first, "total_s": time.perf_counter() - start, "chars": len(text), "tools": tool_results}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="conversations per worker")
    ap.add_argument("--alone", type=int, default=8, help="baseline conversations, one at a time")
    ap.add_argument("--model", help="a model for `puyu serve` (default: a replay script)")
    ap.add_argument("--backend", default="transformers")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="puyu-load-"))
    if args.model:
        model = ["--backend", args.backend, "--model", args.model]
    else:
        script = tmp / "script.json"
        script.write_text(json.dumps({"replies": CALL_THEN_ANSWER, "delay_s": 0.01}))
        model = ["--backend", "replay", "--model", str(script)]
    proc, url = start_puyu(["serve", *model, "--tools", "none", "--data-dir", str(tmp / "data")], "/health",
                           tmp / "serve.log")
    n = args.concurrency * args.rounds
    results, errors = [], []
    try:
        one_conversation(url, -1)  # warm-up: the server's first sandbox and imports
        alone = [one_conversation(url, -i) for i in range(2, args.alone + 2)]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for fut in [pool.submit(one_conversation, url, i) for i in range(n)]:
                try:
                    results.append(fut.result(timeout=600))
                except Exception as e:  # noqa: BLE001 (counted and shown, not fatal: this is what the bench measures)
                    errors.append(repr(e))
        wall = time.perf_counter() - started
    finally:
        stop(proc)
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
    ttft = [r["ttft_s"] for r in results if r["ttft_s"] is not None]
    total = [r["total_s"] for r in results]
    summary = {"concurrency": args.concurrency, "conversations": n, "ok": len(results), "errors": len(errors),
               "error_samples": errors[:3], "wall_s": round(wall, 2), "conversations_per_s": round(n / wall, 2),
               "ttft_p50_s": round(statistics.median(ttft), 3) if ttft else None, "ttft_p95_s": round(q(ttft, .95), 3),
               "turn_p50_s": round(statistics.median(total), 3) if total else None, "turn_p95_s": round(q(total, .95), 3),
               "alone_ttft_p50_s": round(statistics.median(r["ttft_s"] or float("nan") for r in alone), 3),
               "alone_turn_p50_s": round(statistics.median(r["total_s"] for r in alone), 3),
               "all_used_the_interpreter": all(r["tools"] == 1 for r in results + alone),
               "model": args.model or "replay"}
    table = Table(title=f"puyu serve: {args.concurrency} concurrent streaming conversations")
    for k in ("conversations", "ok", "errors", "wall_s", "conversations_per_s", "ttft_p50_s", "ttft_p95_s",
              "turn_p50_s", "turn_p95_s", "alone_ttft_p50_s", "alone_turn_p50_s", "all_used_the_interpreter"):
        table.add_row(k, str(summary[k]))
    Console().print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
