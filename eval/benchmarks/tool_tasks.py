"""puyu's own held-out agent tasks: does the tuned model call tools well on requests it was not trained on?

The split is `data/agent/heldout.jsonl` when you built agent data yourself (`puyu train data`, which writes it beside
train.jsonl), else the one shipped here, `tool_tasks_heldout.jsonl`: the held-out split of the bundled model's own
data build (`puyu train data --n-train 100000 --gsm8k-share 0.05 --seed 0`, as `puyu train bundled` runs it), so a
fresh clone evaluates the bundled model on requests it never saw. `--heldout FILE` picks another.

Each record is a reference conversation (puyu/core/records.py). Its user turns are asked again, one after the
other, in one conversation with a live interpreter; the model's own calls run for real. Plugin tools are replayed
from the record: a call whose arguments equal a recorded call gets the recorded result, any other call fails
(after a garbled upload path is read as the upload it most likely means, as the app's tools read it).

Metrics (percent):
- `answer_acc`: the last reply states `meta.answer` (puyu.core.answers.answer_matches, training's own check).
- `call_valid`: of items where the model tried a call, the share whose calls were all well formed, named an
  available tool and had arguments that fit its schema.
- `tool_choice`: the first call is the reference's (`meta.expect_tool`), or no call where none is expected.
- `no_tool_chat`: chat and out-of-scope requests answered without any tool call.
- `multi_turn_acc`: multi-turn items right after every user turn (`meta.answers`): later turns reuse earlier work.
- `unseen_acc` / `seen_acc`: `answer_acc` on requests phrased in held-out ways, and on the others.
- `grounded`: of right answers to tool requests, the share whose value a tool printed in that turn (computed,
  not guessed).
"""
from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable
from pathlib import Path

from lagent.actions import BaseAction

from puyu.core.answers import answer_matches, states_number
from puyu.core.config import REPO_ROOT
from puyu.core.messages import INTERPRETER, Message
from puyu.core.records import Record, read_jsonl
from puyu.eval.benchmarks.base import AgentBenchmark, Item, LoadOptions, Parity, by_subject, mean_percent
from puyu.eval.data import DataMissing, pick
from puyu.tools.base import check_arguments
from puyu.tools.files import FILE_ARGUMENTS, replace_missing_files, uploaded_paths

DEFAULT_FILE = REPO_ROOT / "data" / "agent" / "heldout.jsonl"
SHIPPED_FILE = Path(__file__).with_name("tool_tasks_heldout.jsonl")
TOOL_CATEGORIES = ("tool", "multi_turn", "gsm8k")
NO_TOOL_CATEGORIES = ("chat", "out_of_scope")


def _canonical(value):
    """Arguments compared as a person would: 3 == 3.0, case and surrounding spaces of strings ignored."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


class RecordedTool(BaseAction):
    """A plugin tool that answers with the result recorded in the reference conversation. A file argument that
    names no file of the record is first replaced by the upload it most likely means, with a note, as the app's
    tools do (tools/files.py), so a garbled upload path is scored as it would fare in the app."""

    def __init__(self, schema: dict, results: list[tuple[dict, str]], uploads: Iterable[str] = ()):
        super().__init__(description=json.loads(json.dumps(schema)))
        self.results = [(_canonical(args), text) for args, text in results]
        self.uploads = list(uploads)
        self.files = {_canonical(v): v for args, _ in results for k, v in args.items()
                      if k in FILE_ARGUMENTS and isinstance(v, str)} | {_canonical(p): p for p in uploads}

    def run(self, **kwargs):
        kwargs, notes = replace_missing_files(kwargs, lambda v: self.files.get(_canonical(v)), self.uploads)
        wanted = _canonical(kwargs)
        for args, text in self.results:
            if args == wanted:
                return "\n".join([*notes, text])
        raise ValueError("the tool returned no result for these arguments")


def _record(item: Item) -> Record:
    return Record.from_dict(item.data["record"])


class ToolTasks(AgentBenchmark):
    name = "tool-tasks"
    main_metric = "answer_acc"
    max_new_tokens = 512

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else DEFAULT_FILE if DEFAULT_FILE.is_file() else SHIPPED_FILE

    def parity(self) -> Parity:
        return Parity(scorer="puyu's own (puyu.core.answers, as training checks its data)",
                      setting=f"puyu's held-out agent tasks ({self.path})", comparable=False,
                      published="puyu's own benchmark: nothing published to compare with")

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        if not self.path.is_file():
            raise DataMissing(f"the tool-tasks held-out split {self.path} does not exist; pass --heldout FILE, "
                              "or leave it out for the split puyu ships")
        items = []
        for n, record in enumerate(read_jsonl(self.path)):
            meta = record.meta
            if opts.subjects and meta.get("category") not in opts.subjects:
                continue
            # Keyed by line and content, so a rebuilt split never reuses predictions made for other items.
            digest = hashlib.sha1(record.to_json().encode()).hexdigest()[:10]
            items.append(Item(f"{n}-{digest}", {"record": record.to_dict()}, subject=meta.get("category", "")))
        return pick(items, opts.limit, opts.seed)

    def turns(self, item: Item) -> list[list[Message]]:
        """The record's non-assistant turns, cut where the reference answered: the model answers there."""
        groups, current = [], []
        for turn in _record(item).conversation:
            if turn.role in ("assistant", "environment"):
                if current:
                    groups.append(current)
                current = []
            else:
                current.append(turn.to_message())
        return groups

    def uses_interpreter(self, item: Item) -> bool:
        return _record(item).interpreter

    def language(self, item: Item) -> str:
        return _record(item).lang

    def tools(self, item: Item) -> list:
        record = _record(item)
        results: dict[str, list[tuple[dict, str]]] = {}
        turns = record.conversation
        for turn, nxt in itertools.pairwise(turns):
            if turn.tool_call and turn.tool_call["name"] != INTERPRETER and nxt.role == "environment":
                results.setdefault(turn.tool_call["name"], []).append((turn.tool_call["arguments"], nxt.content))
        uploads = [path for turn in turns if turn.role == "user" and turn.name == "file"
                   for path in uploaded_paths(turn.to_message())]
        return [RecordedTool(schema, results.get(schema["name"], []), uploads) for schema in record.tools]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        ref = _record(item)
        meta = ref.meta
        category = meta.get("category", "")
        turns = record.get("turns") or [{"final": "", "events": []}]
        events = [e for t in turns for e in t["events"]]
        attempts = [e for e in events if e["type"] == "tool_call" or (e["type"] == "error" and e["recoverable"])]
        schemas = {s["name"]: s for s in ref.tools}
        valid = all(e["type"] == "tool_call" and self._call_ok(e["call"], schemas, ref.interpreter) for e in attempts)
        first = next((e["call"]["name"] for e in events if e["type"] == "tool_call"), None)
        answer = meta.get("answer")
        final = turns[-1]["final"]
        right = answer_matches(final, answer) if answer is not None else None
        out: dict[str, float | None] = {
            "answer_acc": _f(right),
            "call_valid": float(valid) if attempts else None,
            "tool_choice": float(first == meta.get("expect_tool")) if "expect_tool" in meta else None,
            "no_tool_chat": float(not attempts) if category in NO_TOOL_CATEGORIES else None,
            "multi_turn_acc": None, "unseen_acc": None, "seen_acc": None, "grounded": None,
            # GSM8K word problems are reasoning, not tool use: scored apart, so that they neither hide nor
            # inflate how well the generated tool tasks are done.
            "tool_answer_acc": _f(right) if category != "gsm8k" else None,
            "gsm8k_acc": _f(right) if category == "gsm8k" else None,
        }
        if category == "multi_turn":
            expected = meta.get("answers") or [answer]
            got = [t["final"] for t in turns]
            out["multi_turn_acc"] = float(len(got) == len(expected) and all(
                a is None or answer_matches(g, a) for g, a in zip(got, expected)))
        if right is not None and category != "gsm8k":
            out["unseen_acc" if meta.get("unseen_phrasing") else "seen_acc"] = _f(right)
        if right and category in TOOL_CATEGORIES:
            printed = "\n".join(e["result"]["text"] for e in turns[-1]["events"] if e["type"] == "tool_result")
            out["grounded"] = float(_states(printed, answer))
        return out

    @staticmethod
    def _call_ok(call: dict, schemas: dict[str, dict], interpreter: bool) -> bool:
        if call["name"] == INTERPRETER:
            code = call["arguments"].get("code")
            return interpreter and isinstance(code, str) and bool(code.strip())
        return call["name"] in schemas and check_arguments(schemas[call["name"]], call["arguments"]) is None

    def summarize(self, items, scores):
        return {"n": len(items), **mean_percent(scores),
                "by_subject": by_subject(items, scores, ("answer_acc", "call_valid", "tool_choice"))}


def _f(value: bool | None) -> float | None:
    return None if value is None else float(value)


def _states(text: str, answer) -> bool:
    """Whether tool output `text` contains the answer value anywhere (not only as its last number)."""
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return states_number(text, float(answer))
    if isinstance(answer, list):
        return all(_states(text, a) for a in answer)
    return answer_matches(text, answer)
