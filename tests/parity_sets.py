"""Fixed prediction sets for the parity tests (this module holds no tests).

Each set is built from the shared data alone, so the same predictions can be scored by puyu and, once, by the
official code: the values tests/test_eval_parity.py pins were computed that way (docs/eval-parity.md says how).
"""
from __future__ import annotations

import json
from pathlib import Path

PLAN_ITEMS = 30
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
