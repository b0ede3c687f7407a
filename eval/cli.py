"""`puyu eval ...` and `puyu eval compare RUN RUN...`.

    puyu eval --model PATH|URL --bench tool-tasks,gsm8k-agent,teval-plan,teval-review,cmmlu --limit N --out runs/NAME
    puyu eval compare runs/base runs/lora [--chart FILE]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from puyu.core.dataclass_cli import parse


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:
        return compare_main(argv[1:])
    from puyu.eval.config import EVAL_NAMES, EvalConfig

    cfg = parse(EvalConfig, argv, prog="puyu eval", aliases=EVAL_NAMES)
    if not (cfg.model.name or cfg.model.base_url):
        print("puyu eval: error: --model is required (a checkpoint dir or a server URL)", file=sys.stderr)
        return 2
    return _run(cfg)


def _run(cfg) -> int:
    from puyu.eval.data import DataMissing
    from puyu.eval.runner import RunError, run_eval
    from puyu.models.base import ModelError

    try:
        results = run_eval(cfg, log=lambda msg: print(msg, file=sys.stderr))
    except (DataMissing, RunError, ModelError) as e:
        print(f"puyu eval: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\npuyu eval: interrupted; finished items are cached in {cfg.out}/predictions, rerun to resume",
              file=sys.stderr)
        return 130
    for name, summary in results["benchmarks"].items():
        main_metric = summary["main_metric"]
        print(f"{name:14s} {main_metric} {summary.get(main_metric, float('nan')):6.2f}   (n={summary['n']})")
    print(f"results: {cfg.out / 'results.md'}  chart: {cfg.out / 'scores.png'}")
    return 0


def compare_main(argv: list[str]) -> int:
    from puyu.eval.report import compare

    parser = argparse.ArgumentParser(prog="puyu eval compare",
                                     description="Put eval runs side by side: every metric and its change.")
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (the --out of `puyu eval`)")
    parser.add_argument("--chart", type=Path, help="where to write the chart (default: beside the first run)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        parser.error("give at least two run folders")
    try:
        table, chart = compare(args.runs, args.chart)
    except (FileNotFoundError, ValueError) as e:
        print(f"puyu eval compare: error: {e}", file=sys.stderr)
        return 1
    print(table, end="")
    if chart:
        print(f"chart: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
