"""Batched in-process eval against one item at a time, measured in the same run on the same items.

    python bench/eval_batching.py [PATH_TO_CHECKPOINT] [--limit 16 --batch-size 8 --max-new-tokens 64 --repeats 2]
    python bench/eval_batching.py --random-weights   # the bundled model's shape and tokenizer, random weights:
                                                     # every reply runs to --max-new-tokens (bench/harness.py)

For each benchmark the runner predicts the same items twice with the model loaded once: with --batch-size 1 and
--concurrency 1 (one item at a time), then with --batch-size B and --concurrency B (plain benchmarks batched into
generate(); agent benchmarks as B conversations in threads behind the BatchingModel). Prints items/s, the speed-up
and how many predictions agree (greedy decoding should give the same text either way). With --repeats R the two
modes alternate R times and the median time of each is used, which evens out a busy machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import random_weights


def predictions(run: Path, bench: str) -> dict[str, object]:
    rows = [json.loads(line) for line in (run / "predictions" / f"{bench}.jsonl").read_text().splitlines()]
    # agent records: compare the final answers (tool-call ids are random)
    return {r["id"]: r.get("outputs") or [t["final"] for t in r["turns"]] for r in rows}


def measure(model, args, bench: str, batch: int, out: Path) -> tuple[float, Path]:
    from puyu.core.config import GenerationConfig, ModelSpec
    from puyu.eval.config import EvalConfig
    from puyu.eval.runner import run_eval

    cfg = EvalConfig(model=ModelSpec(args.model, device=args.device), bench=[bench], limit=args.limit, out=out,
                     gen=GenerationConfig(max_new_tokens=args.max_new_tokens), batch_size=batch,
                     subjects=args.subjects.split(",") if args.subjects and bench == "cmmlu" else [],
                     concurrency=batch, max_wait_ms=args.max_wait_ms, progress=False)
    start = time.perf_counter()
    run_eval(cfg, model=model, log=lambda m: None)
    return time.perf_counter() - start, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a Hugging Face checkpoint dir (default: the bundled model)")
    parser.add_argument("--random-weights", action="store_true",
                        help="the checkpoint's shape and tokenizer with fresh random weights")
    parser.add_argument("--bench", default="gsm8k-agent,gsm8k-cot,cmmlu")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--subjects", default="", help="CMMLU subjects (a full run goes subject by subject, so "
                        "a batch can share the subject's five shots); default: items sampled across all")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-wait-ms", type=float, default=50.0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    from puyu.agent.factory import load_model
    from puyu.core.config import GenerationConfig, ModelSpec
    from puyu.models import BUNDLED_MODEL

    work = Path(tempfile.mkdtemp(prefix="puyu-bench-eval-"))
    args.model = args.model or str(BUNDLED_MODEL)
    if args.random_weights:
        args.model = str(random_weights(args.model, work / "random"))
    model = load_model(ModelSpec(args.model, device=args.device))
    model.generate(["warm up"], GenerationConfig(max_new_tokens=2))
    params = sum(p.numel() for p in model.model.parameters()) if hasattr(model, "model") else 0
    print(f"model {args.model} ({params / 1e6:.1f}M parameters)  threads {os.environ.get('PUYU_THREADS', 'auto')}  limit {args.limit}  "
          f"batch {args.batch_size}  max_new_tokens {args.max_new_tokens}")
    print(f"{'benchmark':14s} {'one-by-one':>12s} {'batched':>12s} {'speed-up':>9s} {'agree':>7s}")
    for bench in args.bench.split(","):
        times: dict[int, list[float]] = {1: [], args.batch_size: []}
        for r in range(args.repeats):
            for batch, spent in times.items():
                seconds, _ = measure(model, args, bench, batch, work / f"{bench}-{batch}-{r}")
                spent.append(seconds)
        t1, tb = statistics.median(times[1]), statistics.median(times[args.batch_size])
        run1, runb = work / f"{bench}-1-0", work / f"{bench}-{args.batch_size}-0"
        a, b = predictions(run1, bench), predictions(runb, bench)
        agree = sum(a[k] == b.get(k) for k in a) / max(len(a), 1)
        n = len(a)
        print(f"{bench:14s} {n / t1:9.2f} it/s {n / tb:9.2f} it/s {t1 / tb:8.2f}x {100 * agree:6.1f}%")
    model.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
