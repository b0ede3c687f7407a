"""Print the parity table of docs/eval-parity.md: for every fixed prediction set (tests/parity_sets.py), the official
scorer's value (tests/eval_parity_official.json, computed once with the official code) beside puyu's headline and
puyu's own reading, computed now with puyu's scorers.

    .venv/bin/python scripts/eval_parity.py > /tmp/parity.md      # needs ../shared/data and all-mpnet-base-v2
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from puyu.eval.benchmarks.teval_plan import TEvalPlan
from puyu.eval.data import shared_data
from puyu.eval.sentence_model import plan_encoder
from tests import parity_sets as ps


def row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def number(official: float, puyu: float, reading: float | None = None) -> list[str]:
    return [f"{official:.2f}", f"{puyu:.2f}", f"{puyu - official:+.2f}", "—" if reading is None else f"{reading:.2f}"]


def main() -> int:
    root, official = shared_data(), ps.official()
    encoder = plan_encoder()
    lines = [f"T-Eval plan scored with {encoder.name}.", "",
             row("benchmark", "metric", "prediction set", "official", "puyu (headline)", "Δ", "puyu's reading"),
             "|---|---|---|---|---|---|---|"]
    bench = TEvalPlan(encoder)
    for fmt in ("json", "str"):
        for kind, got in ps.puyu_plan(bench, root, fmt).items():
            f1 = official["teval_plan"][fmt][kind][2]
            lines.append(row(f"T-Eval plan ({fmt}, {ps.PLAN_ITEMS} items)", "F1", kind,
                             *number(f1, got["f1"], got["f1_matched_only"])))
    for kind, got in ps.puyu_review(root).items():
        lines.append(row("T-Eval review (60 items)", "review_quality", kind,
                         *number(official["teval_review"][kind][0], got["accuracy"], got["accuracy_lenient"])))
    for kind, got in ps.puyu_cmmlu(root).items():
        for k, (metric, value) in enumerate(zip(("acc_origin", "acc_circular", "perf_circular"),
                                                official["cmmlu"][kind])):
            lines.append(row("CMMLU agronomy (40 questions x 4 rotations)", metric, kind,
                             *number(value, got[metric], got[f"{metric}_lenient"])))
    rules = ("OpenCompass GSM8K rule", "OpenCompass MATH v2 rule", "InternLM math_equal")
    lines += ["", row("GSM8K reply", "reference", *(f"{r}: official / puyu" for r in rules), "puyu's reading"),
              "|---|---|---|---|---|---|"]
    refs = dict(ps.GSM8K_REPLIES)
    for reply, got in ps.puyu_gsm8k().items():
        want = official["gsm8k_right"][reply]
        cells = [f"{'right' if w else 'wrong'} / {'right' if g else 'wrong'}" for w, g in zip(want, got)]
        lines.append(row(f"`{reply}`" if reply else "(empty)", refs[reply], *cells, "right" if got[3] else "wrong"))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
