"""T-Eval "review": judge a tool call's outcome by picking one of five labels (A success ... E unable).

The headline `accuracy` is T-Eval's `review_quality` (open-compass/T-Eval at bab8696, `ReviewEvaluator`, unchanged
at HEAD): the reply is read from after its first ':' (so "Answer: B" and a bare "B" both work), and its first
character must be one of A-E; anything else is a parse failure and scores 0. The leaderboard's "review" column is
this number on review_str_v1.

puyu's reading beside it, `accuracy_lenient`, also takes the label wherever the reply states it ("The answer is
B", "I choose (C)"), as puyu reads CMMLU's letters (puyu.eval.answers.extract_choice).
"""
from __future__ import annotations

import json
from pathlib import Path

from puyu.eval.answers import extract_choice
from puyu.eval.benchmarks.base import Chat, GenerateBenchmark, Item, LoadOptions, Parity, mean_percent
from puyu.eval.data import need, pick

LABELS = "ABCDE"


def read_label(reply: str) -> str | None:
    text = (reply or "")[(reply or "").find(":") + 1:].strip()
    return text[0] if text and text[0] in LABELS else None


class TEvalReview(GenerateBenchmark):
    name = "teval-review"
    main_metric = "accuracy"
    max_new_tokens = 256

    def parity(self) -> Parity:
        return Parity(scorer="T-Eval v1 ReviewEvaluator (review_quality)", setting="T-Eval v1 review_str prompts",
                      comparable=True, published="T-Eval leaderboard, review", lenient="accuracy_lenient",
                      lenient_reading="the label is found wherever the reply states it, not only first after ':'")

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        path = need(root / "teval" / "review_str_v1.json", "the T-Eval review set")
        items = [Item(str(key), {"chat": d["origin_prompt"], "answer": d["ground_truth"]["answer"]})
                 for key, d in json.loads(path.read_text("utf-8")).items()]
        return pick(items, opts.limit, opts.seed)

    def chats(self, item: Item) -> list[Chat]:
        return [item.data["chat"]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        reply = record["outputs"][0]
        label = read_label(reply)
        return {"accuracy": float(label == item.data["answer"]), "parse_rate": float(label is not None),
                "accuracy_lenient": float(item.data["answer"] in (label, extract_choice(reply, LABELS)))}

    def summarize(self, items, scores):
        return {"n": len(items), **mean_percent(scores),
                "parse_failures": sum(1 for s in scores if not s["parse_rate"])}
