"""T-Eval "plan": given a set of APIs and a request, write the whole plan of API calls, as a JSON list (`json`
format) or as one "Use <api> to ..." line per step (`str` format). Both formats of T-Eval v1 are items here.

The headline `f1` is T-Eval's own v1 score (open-compass/T-Eval at bab8696, the commit that ships the *_v1.json
data; `PlanningEvaluator`), rule for rule:
- each predicted step is compared with each reference step: 0.75 x cosine of the API names + 0.25 x cosine of the
  argument strings (cosines clipped at 0), both embedded with all-mpnet-base-v2 (puyu.eval.sentence_model);
- pairs above 0.7 are matched one to one by networkx's `max_weight_matching`;
- the longest run of matched steps in the reference's order counts as correct, and a plan always gets at least
  one correct step (T-Eval's run starts at 1, matched or not);
- F1 of that against both plan lengths; a trailing FinishAction is dropped from both plans first;
- the score is the mean of the json and the str format's mean F1, as T-Eval's leaderboard "plan" column.
T-Eval at HEAD keeps these rules but raises the threshold to 0.8 for its v2 data; v1 data is scored at 0.7.

puyu's reading beside it, `f1_matched_only`: the same, except that a plan earns only the steps that matched.
A plan of nothing but FinishAction makes T-Eval's code raise (the max of no steps), which stops its whole run;
here it scores 0 (no step of the reference was planned) and is counted in `finish_only`. A reply that cannot be
read as a plan scores 0 and is counted in `parse_failures`, as in T-Eval.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from statistics import mean

import numpy as np

from puyu.eval.benchmarks.base import Chat, GenerateBenchmark, Item, LoadOptions, Parity
from puyu.eval.data import need, pick
from puyu.eval.sentence_model import OFFICIAL, Encoder, plan_encoder

FORMATS = ("json", "str")
NAME_WEIGHT, ARGS_WEIGHT, THRESHOLD = 0.75, 0.25, 0.7
METRICS = ("precision", "recall", "f1", "f1_matched_only", "parse_rate")


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
        except Exception:  # noqa: BLE001, S112 - any failure to read is T-Eval's "cannot parse"
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
    """One step per line (or sentence) that names an API; the API named first in it is the step's name (of two
    named at the same place, the one listed first), the whole line its arguments (as T-Eval does)."""
    steps = []
    for line in (text or "").replace(". ", "\n").split("\n"):
        found = [(line.find(api), k) for k, api in enumerate(apis) if api in line]
        if found:
            steps.append({"id": len(steps), "name": apis[min(found)[1]], "args": line})
    return steps or None


# ---- matching --------------------------------------------------------------------------------------------------

def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosines clipped at 0, computed as T-Eval computes them (sentence-transformers' cos_sim, float32): steps that
    are equally good matches then tie exactly as they tie there, and the matching breaks the tie the same way."""
    import torch
    from sentence_transformers import util

    return np.maximum(util.cos_sim(torch.as_tensor(a), torch.as_tensor(b)).numpy(), 0)


def similarity(pred: list[dict], ref: list[dict], encode) -> np.ndarray:
    """0.75 x name cosine + 0.25 x argument cosine for every (predicted, reference) pair. Each of the four lists is
    encoded on its own, as T-Eval encodes them (a text's embedding shifts in the last bits with its batch)."""
    names = _cosine(encode([s["name"] for s in pred]), encode([s["name"] for s in ref]))
    args = _cosine(encode([str(s["args"]) for s in pred]), encode([str(s["args"]) for s in ref]))
    return (names * np.float32(NAME_WEIGHT) + args * np.float32(ARGS_WEIGHT)).astype(np.float64)


def _drop_finish(plan: list[dict]) -> list[dict]:
    plan = sorted(plan, key=lambda s: s["id"])
    return plan[:-1] if plan and plan[-1]["name"] == "FinishAction" else plan


def best_matching(similarity: np.ndarray) -> dict[int, int]:
    """Predicted step -> reference step: networkx's maximum-weight matching over the pairs above THRESHOLD, built
    in T-Eval's node order (which decides between equally good matchings)."""
    import networkx as nx

    graph = nx.Graph()
    for i, row in enumerate(similarity):
        for j, value in enumerate(row):
            if value > THRESHOLD:
                graph.add_edge(i, str(j), weight=value)
    pairs = {}
    for a, b in nx.max_weight_matching(graph):
        i, j = (a, b) if isinstance(a, int) else (b, a)
        pairs[i] = int(j)
    return pairs


def in_order(pairs: dict[int, int], n: int) -> tuple[int, int]:
    """The longest chain of matched steps whose reference steps keep the predicted order: (T-Eval's count, which
    is at least 1 for any plan, puyu's count, which is 0 when nothing matched)."""
    chain = [1] * n
    for i in range(n):
        if i in pairs:
            chain[i] += max((chain[j] for j in range(i) if j in pairs and pairs[j] < pairs[i]), default=0)
    return max(chain, default=0), max((chain[i] for i in pairs), default=0)


def _f1(correct: int, n_pred: int, n_ref: int) -> tuple[float, float, float]:
    precision, recall = correct / n_pred, correct / n_ref
    return precision, recall, (2 * precision * recall / (precision + recall) if correct else 0.0)


def match_plans(pred: list[dict], ref: list[dict], encode) -> dict[str, float]:
    """T-Eval's precision, recall and F1 of a predicted plan against the reference, and puyu's `f1_matched_only`."""
    pred, ref = _drop_finish(pred), _drop_finish(ref)
    if not pred or not ref:  # T-Eval raises on a FinishAction-only plan; it planned none of the reference
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "f1_matched_only": 0.0, "finish_only": float(not pred)}
    n, m = len(pred), len(ref)
    official, matched_only = in_order(best_matching(similarity(pred, ref, encode)), n)
    precision, recall, f1 = _f1(official, n, m)
    return {"precision": precision, "recall": recall, "f1": f1, "f1_matched_only": _f1(matched_only, n, m)[2],
            "finish_only": 0.0}


class TEvalPlan(GenerateBenchmark):
    name = "teval-plan"
    main_metric = "f1"
    max_new_tokens = 1024

    def __init__(self, encoder: Encoder | None = None):
        self._encoder = encoder
        self._vectors: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = plan_encoder()
        return self._encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of a list of texts, each list encoded once per run (a reference plan's lists recur)."""
        key = tuple(texts)
        if key not in self._vectors:
            self._vectors[key] = np.asarray(self.encoder.encode(list(texts)), dtype=np.float32)
        return self._vectors[key]

    def parity(self) -> Parity:
        model = self.encoder.name
        official = model == OFFICIAL
        note = "" if official else f" ({OFFICIAL} is not installed, so F1 is not T-Eval's)"
        return Parity(scorer=f"T-Eval v1 PlanningEvaluator with {model}{note}",
                      setting="T-Eval v1 plan prompts, json and str", comparable=official,
                      published="T-Eval leaderboard, plan" if official else
                      f"T-Eval's plan F1 needs {OFFICIAL} (scored here with {model})", lenient="f1_matched_only",
                      lenient_reading="a plan earns only the steps that matched (T-Eval gives one free)")

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
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "f1_matched_only": 0.0, "parse_rate": 0.0,
                    "finish_only": 0.0}
        return {**match_plans(pred, ref, self.encode), "parse_rate": 1.0}

    def summarize(self, items, scores):
        """Each metric is the mean of its json and str means (T-Eval's leaderboard averages the two formats)."""
        by_format: dict[str, list[dict]] = {}
        for item, s in zip(items, scores):
            by_format.setdefault(item.data["format"], []).append(s)
        per_format = {fmt: {k: 100 * mean(s[k] for s in group) for k in METRICS} for fmt, group in by_format.items()}
        out: dict = {"n": len(items)}
        for k in METRICS:
            if per_format:
                out[k] = round(mean(f[k] for f in per_format.values()), 2)
        for fmt, values in per_format.items():
            out[f"f1_{fmt}"] = round(values["f1"], 2)
        out["parse_failures"] = sum(1 for s in scores if s["parse_rate"] == 0)
        out["finish_only"] = int(sum(s["finish_only"] for s in scores))
        out["sentence_model"] = self.encoder.name if scores else None
        return out
