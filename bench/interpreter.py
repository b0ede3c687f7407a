"""Benchmark: puyu's sandboxed interpreter against lagent 0.2.4's IPythonInterpreter, in one run.

    python bench/interpreter.py --out runs/bench/interpreter.json

Measures, for each: cold start (constructor + first `1+1`, median of --cold-n), warm round trip of `1+1` (median of
--warm-n), and the real duration of a call to `while True: pass` with a 2 s timeout, plus whether the loop was
still burning CPU afterwards (a timeout that does not stop the code only hides it). Warm round trips stop after
--budget-s seconds (with at least 3 samples; lagent's take ~5 s each) and report how many they took.
lagent's baseline needs `jupyter_client` and `ipykernel` (the `bench` extra); without them it is reported missing.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from puyu.core.config import SandboxLimits
from puyu.tools.interpreter import PythonInterpreter

LOOP, TIMEOUT_S = "while True: pass", 2


def repeat(fn: Callable[[], float], n: int, budget_s: float = float("inf")) -> dict:
    """Call `fn` (which returns seconds) n times, fewer (but >= 3) if the budget runs out; median and samples."""
    samples, start = [], time.monotonic()
    while len(samples) < n and (len(samples) < 3 or time.monotonic() - start < budget_s):
        samples.append(fn())
    return {"median_s": statistics.median(samples), "n": len(samples), "samples_s": samples}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def children_cpu_s(root_pid: int) -> float:
    """CPU seconds used so far by all descendants of a process (from /proc), the process itself not counted."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
                stats[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
            except (OSError, ValueError, IndexError):
                pass
    tree, grew = {root_pid}, True
    while grew:
        more = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(stats[p][1] for p in tree - {root_pid} if p in stats) / os.sysconf("SC_CLK_TCK")


def cpu_after(window_s: float = 2.0) -> dict:
    """CPU this benchmark's child processes (the one interpreter or kernel under test, and what it started) burn
    in the next `window_s`: an idle one uses ~0, a spinning loop gets a core's share even on a loaded machine
    (load 10 on 2 cores still leaves it 0.2 s per second)."""
    before = children_cpu_s(os.getpid())
    time.sleep(window_s)
    used = children_cpu_s(os.getpid()) - before
    return {"cpu_s_in_next_2s": used, "still_running_after_timeout": used > 0.05 * window_s}


# ---- puyu ---------------------------------------------------------------------------------------------------

def bench_puyu(args, root: Path) -> dict:
    def cold() -> float:
        start = time.perf_counter()
        interp = PythonInterpreter(tempfile.mkdtemp(dir=root))
        assert interp.run("1+1").text == "2"
        took = time.perf_counter() - start
        interp.close()
        return took

    result = {"cold_start": repeat(cold, args.cold_n)}
    with PythonInterpreter(tempfile.mkdtemp(dir=root), SandboxLimits(timeout_s=TIMEOUT_S)) as interp:
        result["sandbox"] = interp.sandbox
        interp.run("1+1")
        result["warm_round_trip"] = repeat(lambda: timed(lambda: interp.run("1+1")), args.warm_n, args.budget_s)
        start = time.perf_counter()
        res = interp.run(LOOP)
        result["timeout_wall_s"] = time.perf_counter() - start
        result["timeout_message"] = res.text.splitlines()[-1]
        result |= cpu_after()
        result["next_call_ok"] = interp.run("1+1").text == "2"
        start = time.perf_counter()  # code that ignores the interrupt: the kill-and-restart path
        interp.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" + LOOP)
        result["timeout_sigint_ignored_wall_s"] = time.perf_counter() - start
    return result


# ---- lagent 0.2.4 -------------------------------------------------------------------------------------------

def bench_lagent(args, root: Path) -> dict:
    try:
        import ipykernel  # noqa: F401
        import jupyter_client  # noqa: F401
        from lagent.actions import IPythonInterpreter
    except ImportError as e:
        return {"missing": f"{e} (pip install jupyter_client ipykernel)"}
    logging.disable(logging.WARNING)  # lagent logs the timeout's traceback

    def fresh() -> IPythonInterpreter:
        IPythonInterpreter._KERNEL_CLIENTS.clear()  # lagent keeps one kernel per server process; start a new one
        return IPythonInterpreter(work_dir=tempfile.mkdtemp(dir=root))

    def shut(interp) -> None:
        interp.kernel_manager.shutdown_kernel(now=True)
        interp.kernel_client.stop_channels()

    def cold() -> float:
        start = time.perf_counter()
        interp = fresh()
        assert interp.run("1+1").result[0]["content"] == "2"
        took = time.perf_counter() - start
        shut(interp)
        return took

    result = {"cold_start": repeat(cold, args.cold_n)}
    interp = fresh()
    interp.run("1+1")
    result["warm_round_trip"] = repeat(lambda: timed(lambda: interp.run("1+1")), args.warm_n, args.budget_s)
    start = time.perf_counter()
    res = interp.run(LOOP, timeout=TIMEOUT_S)
    result["timeout_wall_s"] = time.perf_counter() - start
    result["timeout_message"] = (res.errmsg or "").strip().splitlines()[-1][:200]
    result |= cpu_after()
    interp.kernel_manager.interrupt_kernel()
    shut(interp)

    # Where lagent's latency comes from: the same kernel driven by jupyter_client directly.
    from jupyter_client import KernelManager
    km = KernelManager()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.execute_interactive("1+1", timeout=10, output_hook=lambda msg: None)
    result["raw_jupyter_warm_round_trip"] = repeat(
        lambda: timed(lambda: kc.execute_interactive("1+1", timeout=10, output_hook=lambda msg: None)),
        args.warm_n, args.budget_s)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return result


# ---- report -------------------------------------------------------------------------------------------------

def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(report: dict) -> Table:
    puyu, lagent = report["puyu"], report["lagent"]
    t = Table(title=f"Python interpreter: puyu ({puyu['sandbox']}) vs lagent 0.2.4 IPythonInterpreter")
    t.add_column("measure")
    t.add_column("puyu", justify="right")
    t.add_column("lagent", justify="right")

    def cell(r: dict, key: str, sub: str | None = "median_s") -> str:
        if "missing" in r or key not in r:
            return r.get("missing", "-")[:40]
        v = r[key][sub] if sub else r[key]
        n = f" (n={r[key]['n']})" if sub else ""
        return fmt(v) + n if isinstance(v, float) else str(v)

    t.add_row("cold start: constructor + first 1+1 (median)", cell(puyu, "cold_start"), cell(lagent, "cold_start"))
    t.add_row("warm round trip of 1+1 (median)", cell(puyu, "warm_round_trip"), cell(lagent, "warm_round_trip"))
    t.add_row(f"`{LOOP}` with a {TIMEOUT_S} s timeout: returns after", cell(puyu, "timeout_wall_s", None),
              cell(lagent, "timeout_wall_s", None))
    t.add_row("  ...and the loop still burns CPU afterwards", cell(puyu, "still_running_after_timeout", None),
              cell(lagent, "still_running_after_timeout", None))
    t.add_row("  same loop ignoring SIGINT (kill + restart)", cell(puyu, "timeout_sigint_ignored_wall_s", None), "-")
    t.add_row("raw jupyter_client round trip, same kernel (median)", "-",
              cell(lagent, "raw_jupyter_warm_round_trip"))
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--cold-n", type=int, default=5)
    parser.add_argument("--warm-n", type=int, default=100)
    parser.add_argument("--budget-s", type=float, default=30.0, help="time cap for each warm round-trip series")
    parser.add_argument("--skip-lagent", action="store_true")
    args = parser.parse_args()
    if args.cold_n < 1 or args.warm_n < 1 or args.budget_s <= 0:
        parser.error("--cold-n and --warm-n must be >= 1 and --budget-s > 0")
    console = Console(width=None if sys.stdout.isatty() else 120)  # a log file gets the whole table
    with tempfile.TemporaryDirectory(prefix="puyu-bench-") as tmp:
        root = Path(tmp)
        report = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
                  "host": {"python": platform.python_version(), "machine": platform.machine(),
                           "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "uid": os.geteuid()}}
        with console.status("puyu..."):
            report["puyu"] = bench_puyu(args, root)
        with console.status("lagent (its warm calls take ~5 s each)..."):
            report["lagent"] = {"skipped": True, "missing": "skipped"} if args.skip_lagent else bench_lagent(args, root)
    console.print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
