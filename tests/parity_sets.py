"""Fixed prediction sets for the parity tests (this module holds no tests).

Each set is built from the shared data alone, so the same predictions can be scored by puyu and, once, by the
official code: the values tests/test_eval_parity.py pins were computed that way (docs/eval-parity.md says how).
"""
from __future__ import annotations

import json
from pathlib import Path

OFFICIAL_FILE = Path(__file__).with_name("eval_parity_official.json")


def official() -> dict:
    """The official scorers' values on these sets, computed once (see tests/test_eval_parity.py)."""
    return json.loads(OFFICIAL_FILE.read_text("utf-8"))


PLAN_ITEMS = 12
"""The first items of each T-Eval plan format, in file order."""
PLAN_SETS = ("perfect", "half", "reversed", "args_blanked", "duplicated", "names_shifted", "parseable_wrong",
             "malformed")
REVIEW_SETS = ("perfect", "constant_a", "answer_is", "shifted", "malformed")
CMMLU_SETS = ("perfect", "the_answer_is", "reasoned_letter_first", "constant_a", "lowercase", "malformed")


def plan_items(root: Path, fmt: str) -> list[tuple[str, dict]]:
    data = json.loads((root / "teval" / f"plan_{fmt}_v1.json").read_text("utf-8"))
    return list(data.items())[:PLAN_ITEMS]


def _steps(kind: str, ref: list[dict], apis: list[str]) -> list[dict] | None:
    """The predicted steps of prediction set `kind` for a reference plan (FinishAction last, as written)."""
    body, finish = ref[:-1], ref[-1:]
    if kind == "perfect":
        steps = body
    elif kind == "half":
        steps = body[:max(1, len(body) // 2)]
    elif kind == "reversed":
        steps = body[::-1]
    elif kind == "args_blanked":
        steps = [dict(s, args={}) for s in body]
    elif kind == "duplicated":
        steps = [s for s in body for _ in range(2)]
    elif kind == "names_shifted":
        steps = [dict(s, name=body[(i + 1) % len(body)]["name"]) for i, s in enumerate(body)]
    elif kind == "parseable_wrong":
        first, last = min(apis), max(apis)
        wrong = first if all(s["name"] != first for s in body) else last
        steps = [{"name": wrong, "args": {"note": f"unrelated request {i}"}} for i in range(len(body))]
    else:
        return None
    return [{"id": i, "name": s["name"], "args": s["args"]} for i, s in enumerate(steps + finish)]


def plan_reply(kind: str, fmt: str, datum: dict) -> str:
    """The model's reply of prediction set `kind`: a JSON list (json format) or one line per step (str format)."""
    steps = _steps(kind, datum["ground_truth"], datum["meta"]["API_list"])
    if steps is None:  # malformed
        return '[{"id": 0, "name": "' if fmt == "json" else "I would first look things up and then answer."
    if fmt == "json":
        return json.dumps(steps, ensure_ascii=False)
    return "\n".join(f"Step {i + 1}: call {s['name']} with {json.dumps(s['args'], ensure_ascii=False)}"
                     for i, s in enumerate(steps) if s["name"] != "FinishAction")


FINISH_ONLY = json.dumps([{"id": 0, "name": "FinishAction", "args": {}}])


def review_items(root: Path, n: int = 60) -> list[tuple[str, dict]]:
    return list(json.loads((root / "teval" / "review_str_v1.json").read_text("utf-8")).items())[:n]


def review_reply(kind: str, gold: str) -> str:
    nxt = "ABCDE"[("ABCDE".index(gold) + 1) % 5]
    return {"perfect": f"Answer: {gold}", "constant_a": "A", "answer_is": f"The answer is {gold}.",
            "shifted": f"Answer: {nxt}", "malformed": "I cannot tell."}[kind]


def cmmlu_reply(kind: str, gold: str) -> str:
    return {"perfect": f"答案是: {gold}", "the_answer_is": f"The answer is {gold}.",
            "reasoned_letter_first": f"A项错误，所以答案是{gold}", "constant_a": "A", "lowercase": gold.lower(),
            "malformed": "不知道"}[kind]


# GSM8K replies and tool outputs whose reading differs between rules (reference 1234 unless given).
GSM8K_REPLIES = [
    ("The answer is 1234.", "1234"), ("The answer is $1,234.", "1234"), ("#### 1,234", "1234"),
    ("\\boxed{1234}", "1234"), ("\\boxed{1,234}", "1234"), ("So she earns \\boxed{\\$1234} in total.", "1234"),
    ("1234.0", "1234"), ("1234.00 dollars", "1234"), ("It is 1234 dollars. Question: what about 5?", "1234"),
    ("The answer is 18.", "18"), ("18 apples, then 3 more", "18"), ("The final answer is 18%", "18"),
    ("\\boxed{18.5}", "18"), ("x = 18", "18"), ("-18", "-18"), ("The answer is -18.", "-18"),
    ("\\boxed{\\frac{36}{2}}", "18"), ("36/2", "18"), ("1.8e1", "18"), ("eighteen", "18"), ("", "18"),
    ("The answer is 0.18", "18"),
]
GSM8K_OUTPUTS = [("18", "18"), ("18\n", "18"), ("18.0", "18"), ("x = 18", "18"), ("1,234", "1234"),
                 ("The answer is 18", "18"), ("", "18"), ("18\n19", "18")]


# ---- puyu's scores of the same sets (the test compares them with `official()`; scripts/eval_parity.py prints both)

def puyu_plan(bench, root: Path, fmt: str) -> dict[str, dict[str, float]]:
    """set -> puyu's mean precision, recall, f1, parse_rate and f1_matched_only (percent) on one format's items."""
    from statistics import mean

    from puyu.eval.benchmarks.base import Item

    data = plan_items(root, fmt)
    items = [Item(f"{fmt}/{key}", {"reference": d["ground_truth"], "apis": d["meta"]["API_list"], "format": fmt},
                  subject=fmt) for key, d in data]
    replies = {kind: [plan_reply(kind, fmt, d) for _, d in data] for kind in PLAN_SETS}
    out = {}
    for kind in PLAN_SETS:
        scores = [bench.score(i, {"outputs": [r]}) for i, r in zip(items, replies[kind])]
        out[kind] = {k: 100 * mean(s[k] for s in scores)
                     for k in ("precision", "recall", "f1", "parse_rate", "f1_matched_only")}
    return out


def puyu_review(root: Path) -> dict[str, dict[str, float]]:
    from statistics import mean

    from puyu.eval.benchmarks.base import Item
    from puyu.eval.benchmarks.teval_review import TEvalReview

    bench = TEvalReview()
    items = [Item(key, {"answer": d["ground_truth"]["answer"]}) for key, d in review_items(root)]
    out = {}
    for kind in REVIEW_SETS:
        scores = [bench.score(i, {"outputs": [review_reply(kind, i.data["answer"])]}) for i in items]
        out[kind] = {k: 100 * mean(s[k] for s in scores) for k in ("accuracy", "parse_rate", "accuracy_lenient")}
    return out


def puyu_cmmlu(root: Path) -> dict[str, dict[str, float]]:
    from puyu.eval.benchmarks.base import LoadOptions
    from puyu.eval.benchmarks.cmmlu import CMMLU, rotate

    bench = CMMLU()
    items = bench.load(root, LoadOptions(subjects=["agronomy"]))[:40]
    out = {}
    for kind in CMMLU_SETS:
        scores = [bench.score(i, {"outputs": [cmmlu_reply(kind, rotate(i.data["options"], i.data["answer"], r)[1])
                                              for r in range(4)]}) for i in items]
        out[kind] = {k: v for k, v in bench.summarize(items, scores).items() if k != "by_subject"}
    return out


def puyu_gsm8k() -> dict[str, tuple[bool, bool, bool, bool]]:
    """reply -> (OpenCompass GSM8K rule, OpenCompass MATH v2 rule, InternLM math_equal, puyu's lenient reading)."""
    from puyu.eval.benchmarks.gsm8k import answer_right
    from puyu.eval.official import internlm
    from puyu.eval.official import opencompass as oc

    return {reply: (oc.gsm8k_equal(oc.gsm8k_answer(reply), ref), oc.math_equal(oc.math_answer(reply), ref),
                    internlm.math_equal(internlm.extract_answer(reply), ref), answer_right(reply, float(ref)))
            for reply, ref in GSM8K_REPLIES}
