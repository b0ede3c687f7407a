"""Load on loopback: N concurrent streaming conversations against one `puyu serve`, each a full agent turn
(interpreter call + answer), at several levels of concurrency (default 16, 64 and 128), against the same turn
with nothing else running (the baseline: --alone turns one at a time on the same server first, after a warm-up).

Every tool result is checked, not just the HTTP status: each conversation's code works for --call-s seconds, then
prints its own work dir's name (its conversation id) and 6 * 7, so a call that failed, was cut short, hit another
conversation's sandbox or came back empty counts as failed. A refusal because every interpreter is busy (HTTP 503 with Retry-After) is counted apart. The
server's memory (its own and its sandboxes' resident memory), its open file descriptors and its live sandbox
processes are sampled before each level, at its peak and after it; after the last level the bench waits for the
server's idle reaping (--idle-s) and counts what is left.

    python bench/serve_load.py --levels 16,64,128 --idle-s 60 --out runs/bench/serve_load.json
    python bench/serve_load.py --levels 4 --alone 2 --settle-s 0      # a quick look
    python bench/serve_load.py --model bundled --backend transformers # the real model instead of a replay
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

from harness import start_puyu, stop
from rich.console import Console
from rich.table import Table


def call_then_answer(call_s: float) -> list[str]:
    """The replayed turn: code that works for `call_s` seconds (as real code does), then prints its conversation's
    id and 6 * 7; then the answer."""
    code = f"import os, time\ntime.sleep({call_s})\nprint(os.path.basename(os.getcwd()))\nprint(6 * 7)"
    return [f"Let me compute that.<|action_start|><|interpreter|>\n```python\n{code}\n```<|action_end|>",
            "The answer is 42."]
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---- one conversation ----------------------------------------------------------------------------------------

def one_conversation(url: str, i: int) -> dict:
    """One streamed turn; {"outcome": "ok" | "busy" | "failed", "why", "ttft_s", "total_s"}."""
    import openai

    client = openai.OpenAI(base_url=url + "/v1", api_key="x", timeout=300, max_retries=0)
    start, first, cid, results = time.perf_counter(), None, None, []
    try:
        for chunk in client.chat.completions.create(
                model="puyu", stream=True, messages=[{"role": "user", "content": f"What is 6 * 7? (#{i})"}]):
            cid = cid or chunk.model_extra.get("conversation_id")
            if (chunk.choices[0].delta.content or "") and first is None:
                first = time.perf_counter() - start
            event = chunk.model_extra.get("puyu_event")
            if event and event["type"] == "tool_result":
                results.append(event["result"])
            if event and event["type"] == "error" and not event["recoverable"]:
                return _outcome("failed", f"error event: {event['message']}", start, first)
    except openai.APIStatusError as e:
        busy = e.status_code == 503 and e.response.headers.get("retry-after")
        return _outcome("busy" if busy else "failed", f"HTTP {e.status_code}: {e.message}", start, first)
    except Exception as e:  # noqa: BLE001 (counted and shown: this is what the bench measures)
        return _outcome("failed", repr(e), start, first)
    expected = f"{cid}\n42"
    if len(results) != 1 or not results[0]["ok"] or results[0]["text"].strip() != expected:
        return _outcome("failed", f"tool result {results!r}, expected {expected!r}", start, first)
    return _outcome("ok", "", start, first)


def _outcome(outcome: str, why: str, start: float, first: float | None) -> dict:
    return {"outcome": outcome, "why": why, "ttft_s": first, "total_s": time.perf_counter() - start}


# ---- what the server holds ------------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            tree.setdefault(ppid, []).append(int(name))
    return tree


def resources(pid: int) -> dict:
    """The server's resident memory with everything below it, its open fds, and its sandbox processes (every
    process below it: bwrap and the kernels)."""
    tree, below, todo = _children(), [], [pid]
    while todo:
        kids = tree.get(todo.pop(), [])
        below += kids
        todo += kids
    rss = 0
    for p in [pid, *below]:
        try:
            with open(f"/proc/{p}/statm") as f:
                rss += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError):
            pass
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = 0
    return {"rss_mb": round(rss / 2**20), "fds": fds, "sandbox_processes": len(below)}


class Sampler:
    """Samples `resources` every `every_s` seconds in a thread; keeps the peak of each figure."""

    def __init__(self, pid: int, every_s: float = 0.5):
        self.pid, self.every_s, self.peak = pid, every_s, resources(pid)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def sample(self) -> None:
        while not self.done.wait(self.every_s):
            now = resources(self.pid)
            self.peak = {k: max(v, now[k]) for k, v in self.peak.items()}


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---- one level ------------------------------------------------------------------------------------------------

def level(url: str, pid: int, concurrency: int, rounds: int, alone: list[dict]) -> dict:
    n = concurrency * rounds
    before, load_before = resources(pid), load_average()
    started = time.perf_counter()
    with Sampler(pid) as sampler, ThreadPoolExecutor(concurrency) as pool:
        runs = list(pool.map(lambda i: one_conversation(url, i), range(n)))
    wall = time.perf_counter() - started
    time.sleep(2)  # calls wind down; the kernels stay for their conversations until reaped
    ok = [r for r in runs if r["outcome"] == "ok"]
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] if xs else None
    ttft = [r["ttft_s"] for r in ok if r["ttft_s"] is not None]
    total = [r["total_s"] for r in ok]
    return {
        "concurrency": concurrency, "conversations": n, "ok": len(ok),
        "busy_503": sum(r["outcome"] == "busy" for r in runs),
        "failed": sum(r["outcome"] == "failed" for r in runs),
        "failure_samples": [r["why"] for r in runs if r["outcome"] == "failed"][:3],
        "wall_s": round(wall, 2), "ok_per_s": round(len(ok) / wall, 2),
        "ttft_p50_s": _r(statistics.median(ttft)) if ttft else None, "ttft_p95_s": _r(q(ttft, .95)),
        "turn_p50_s": _r(statistics.median(total)) if total else None, "turn_p95_s": _r(q(total, .95)),
        "alone_turn_p50_s": _r(statistics.median(r["total_s"] for r in alone)) if alone else None,
        "before": before, "peak": sampler.peak, "after": resources(pid),
        "load_before": load_before, "load_after": load_average(),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="16,64,128", help="concurrent conversations, one level after another")
    ap.add_argument("--rounds", type=int, default=1, help="conversations per worker at each level")
    ap.add_argument("--alone", type=int, default=8, help="baseline conversations, one at a time")
    ap.add_argument("--pool-size", type=int, help="the server's interpreter pool (server.pool_size; default its own)")
    ap.add_argument("--idle-s", type=float, help="the server's idle reaping (server.idle_s; default its own)")
    ap.add_argument("--busy-wait-s", type=float, help="how long a new conversation waits for a free interpreter "
                                                      "(server.busy_wait_s; default its own)")
    ap.add_argument("--settle-s", type=float, default=120,
                    help="after the last level, wait this long and count the sandbox processes left")
    ap.add_argument("--call-s", type=float, default=0.5, help="how long each interpreter call works (replay)")
    ap.add_argument("--model", help="a model for `puyu serve` (default: a replay script)")
    ap.add_argument("--backend", default="transformers")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="puyu-load-"))
    if args.model:
        model = ["--backend", args.backend, "--model", args.model]
    else:
        script = tmp / "script.json"
        script.write_text(json.dumps({"replies": call_then_answer(args.call_s), "delay_s": 0.01}))
        model = ["--backend", "replay", "--model", str(script)]
    server = [f"--server.{name.replace('_', '-')}={value}" for name, value in
              (("pool_size", args.pool_size), ("idle_s", args.idle_s), ("busy_wait_s", args.busy_wait_s))
              if value is not None]  # none given: the bench runs against any puyu, older ones included
    proc, url = start_puyu(["serve", *model, "--tools", "none", "--data-dir", str(tmp / "data"), *server],
                           "/health", tmp / "serve.log")
    levels = []
    try:
        warm = one_conversation(url, -1)  # the server's first sandbox and imports
        if warm["outcome"] != "ok":
            raise RuntimeError(f"the warm-up turn failed: {warm['why']}")
        alone = [one_conversation(url, -i) for i in range(2, args.alone + 2)]
        for concurrency in (int(c) for c in args.levels.split(",")):
            levels.append(level(url, proc.pid, concurrency, args.rounds, alone))
            show(levels[-1])
        time.sleep(args.settle_s)
        settled = {"after_s": args.settle_s, **resources(proc.pid), "load": load_average()}
    finally:
        stop(proc)
    summary = {"model": args.model or "replay", "server": server,
               "alone_turn_p50_s": levels[0]["alone_turn_p50_s"] if levels else None, "levels": levels,
               "settled": settled, "command": " ".join(["python", "bench/serve_load.py", *(argv or sys.argv[1:])])}
    Console().print(f"{args.settle_s:g} s after the load: {settled}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    return 1 if any(lv["failed"] for lv in levels) else 0


def show(lv: dict) -> None:
    table = Table(title=f"puyu serve: {lv['concurrency']} concurrent streaming conversations "
                        f"(load {lv['load_before']} -> {lv['load_after']})")
    table.add_column("")
    table.add_column("value")
    for k in ("conversations", "ok", "busy_503", "failed", "wall_s", "ok_per_s", "ttft_p50_s", "turn_p50_s",
              "turn_p95_s", "alone_turn_p50_s"):
        table.add_row(k, str(lv[k]))
    for k in ("before", "peak", "after"):
        table.add_row(k, ", ".join(f"{name} {value}" for name, value in lv[k].items()))
    if lv["failure_samples"]:
        table.add_row("failures", "\n".join(lv["failure_samples"]))
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
