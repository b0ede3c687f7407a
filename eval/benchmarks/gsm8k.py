"""GSM8K (test, 1,319 grade-school word problems) in puyu's own agent setting and in OpenCompass's two plain
settings. The official agent settings (OpenCompass's ReAct agent, InternLM's interpreter evaluation) are in
gsm8k_agents.py.

- `gsm8k-agent` (default): puyu's own setting: 0-shot, the agent's system prompt, the code interpreter, up to
  --max-steps steps. No published number was measured this way. Its headline `accuracy` reads the final reply with
  OpenCompass's GSM8K rule (last `-?\\d+\\.\\d+|-?\\d+`, within 1e-6 of the reference), and the agent metrics are
  OpenCompass's `Gsm8kAgentEvaluator`'s, per item (the action is the last interpreter call):
  `follow_acc` the final answer is right (= accuracy); `reasoning_acc` it is right, or it is wrong but the action
  ran and its whole output, read with `float()`, is the answer; `code_acc` an action was taken and either the
  answer is right or the code ran without an error; `action_pct` an action was taken.
  puyu's readings beside them: `accuracy_lenient` (a marked answer such as "The answer is 1,234" first, commas
  kept, else the last number; puyu.core.answers' matching), `call_valid` (of items that tried a call, the share whose
  calls were all well formed) and `code_output_acc` (of items with an action, the share whose output states the
  answer in its last line).
- `gsm8k-cot`: OpenCompass's 0-shot `\\boxed` setting (gsm8k_0shot_v2_gen_a58960), no tools, scored with its
  `math_postprocess_v2` and `MATHEvaluator(version="v2")`.
- `gsm8k-fewshot`: OpenCompass's 4-shot chain of thought (gsm8k_gen_1d7fe4), the setting of InternLM2-Chat's
  published GSM8K scores, scored with its GSM8K rule.
"""
from __future__ import annotations

import re
from abc import abstractmethod
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from puyu.core.answers import numbers_match
from puyu.core.messages import INTERPRETER, Message
from puyu.eval.answers import answer_number_text, parse_number
from puyu.eval.benchmarks.base import AgentBenchmark, Chat, GenerateBenchmark, Item, LoadOptions, Parity
from puyu.eval.data import need, pick, read_jsonl
from puyu.eval.official import opencompass as oc


@cache
def prompts() -> dict:
    """The published settings' prompts (eval/prompts/gsm8k.yaml)."""
    return yaml.safe_load(resources.files("puyu.eval").joinpath("prompts", "gsm8k.yaml").read_text("utf-8"))


def reference_answer(solution: str) -> float:
    value = parse_number(solution.rsplit("####", 1)[-1])
    if value is None:
        raise ValueError(f"no '#### <number>' at the end of the GSM8K solution {solution[-60:]!r}")
    return value


def load_gsm8k(root: Path, opts: LoadOptions) -> list[Item]:
    path = need(root / "gsm8k" / "test.jsonl", "the GSM8K test set")
    rows = list(read_jsonl(path))
    items = [Item(f"test/{i}", {"question": r["question"], "answer": reference_answer(r["answer"]),
                                "reference": oc.gsm8k_reference(r["answer"]),
                                "final": r["answer"].rsplit("#### ", 1)[-1].strip()})
             for i, r in enumerate(rows)]
    return pick(items, opts.limit, opts.seed)


def train_rows(root: Path, lines: list[int]) -> list[dict]:
    """GSM8K train rows by line number (the published settings' worked examples)."""
    wanted = set(lines)
    found = {n: row for n, row in enumerate(read_jsonl(need(root / "gsm8k" / "train.jsonl", "the GSM8K train set")))
             if n in wanted}
    return [found[n] for n in lines]


def output_number(text: str) -> float | None:
    """puyu's reading of what an interpreter run printed: its last non-empty line, as a number."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return parse_number(lines[-1]) if lines else None


def answer_right(reply: str, ref: float) -> bool:
    """puyu's lenient reading of a reply's answer."""
    text = answer_number_text(reply)
    return text is not None and numbers_match(parse_number(text), ref, text)


def last_turn(record: dict) -> dict:
    return record["turns"][-1] if record.get("turns") else {"final": "", "events": []}


def agent_scores(right: bool, action: dict | None, reference: str) -> dict[str, float]:
    """OpenCompass's Gsm8kAgentEvaluator for one item, from whether the final answer is right and the last action."""
    ran = bool(action and action["result"]["ok"])
    soft = ran and oc.gsm8k_output_equal(action["result"]["text"], reference)
    return {"follow_acc": float(right), "reasoning_acc": float(right or soft),
            "code_acc": float(bool(action) and (right or ran)), "action_pct": float(bool(action))}


def last_action(events: list[dict]) -> dict | None:
    results = [e for e in events if e["type"] == "tool_result" and e["call"]["name"] == INTERPRETER]
    return results[-1] if results else None


class Gsm8kAgent(AgentBenchmark):
    name = "gsm8k-agent"
    main_metric = "accuracy"
    max_new_tokens = 512

    def parity(self) -> Parity:
        return Parity(scorer="OpenCompass gsm8k_postprocess + Gsm8kAgentEvaluator",
                      setting="puyu's own: 0-shot, puyu's agent prompt and interpreter", comparable=False,
                      published="no published number uses this setting (see gsm8k-opencompass-agent, "
                                "gsm8k-internlm-interpreter)",
                      lenient="accuracy_lenient",
                      lenient_reading="a marked answer first (The answer is 1,234), commas kept, rounding as written")

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        return load_gsm8k(root, opts)

    def turns(self, item: Item) -> list[list[Message]]:
        return [[Message("user", item.data["question"])]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        turn = last_turn(record)
        reference = item.data["reference"]
        right = oc.gsm8k_equal(oc.gsm8k_answer(turn["final"]), reference)
        events = turn["events"]
        attempts = [e for e in events if e["type"] == "tool_call" or (e["type"] == "error" and e["recoverable"])]
        action = last_action(events)
        out_right = bool(action) and numbers_match(output_number(action["result"]["text"]), item.data["answer"])
        return {
            "accuracy": float(right),
            **agent_scores(right, action, reference),
            "accuracy_lenient": float(answer_right(turn["final"], item.data["answer"])),
            "call_valid": (0.0 if any(e["type"] == "error" for e in attempts) else 1.0) if attempts else None,
            "code_output_acc": float(out_right) if action else None,
        }


class Gsm8kChat(GenerateBenchmark):
    """The problems without tools, in one plain chat: the headline is `official_right`, puyu's reading beside it."""

    main_metric = "accuracy"
    max_new_tokens = 512

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        return load_gsm8k(root, opts)

    @abstractmethod
    def official_right(self, reply: str, reference: str) -> bool:
        """Whether the official rule of this setting reads `reply` as the reference answer."""

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        reply = record["outputs"][0]
        return {"accuracy": float(self.official_right(reply, item.data["reference"])),
                "accuracy_lenient": float(answer_right(reply, item.data["answer"]))}


class Gsm8kCoT(Gsm8kChat):
    """0-shot: the model reasons in text and puts its answer in \\boxed{}."""

    name = "gsm8k-cot"

    def parity(self) -> Parity:
        return Parity(scorer="OpenCompass math_postprocess_v2 + MATHEvaluator v2",
                      setting="OpenCompass gsm8k_0shot_v2_gen_a58960 (0-shot, \\boxed)", comparable=True,
                      published="none in the shared data (InternLM2-Chat's GSM8K numbers are gsm8k-fewshot's)",
                      lenient="accuracy_lenient", lenient_reading="puyu's number reading of the whole reply")

    def chats(self, item: Item) -> list[Chat]:
        return [[{"role": "user", "content": prompts()["cot"]["question"].format(question=item.data["question"])}]]

    def official_right(self, reply: str, reference: str) -> bool:
        return oc.math_equal(oc.math_answer(reply), reference)


def fewshot_solution(solution: str) -> str:
    """A train solution as OpenCompass's 4-shot prompt shows it: no <<...>> notes, "The answer is N" last."""
    return re.sub(r"#### (.*)", r"The answer is \1", re.sub(r"<<.*?>>", "", solution)) + "\n"


class Gsm8kFewShot(Gsm8kChat):
    """4-shot chain of thought in chat turns, as OpenCompass measured InternLM2-Chat's published GSM8K scores."""

    name = "gsm8k-fewshot"

    def parity(self) -> Parity:
        return Parity(scorer="OpenCompass gsm8k_postprocess + Gsm8kEvaluator",
                      setting="OpenCompass gsm8k_gen_1d7fe4 (4-shot chain of thought)", comparable=True,
                      published="InternLM2-Chat's GSM8K (InternLM README, OpenCompass keyset)",
                      lenient="accuracy_lenient", lenient_reading="puyu's number reading (a marked answer first)")

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        setting = prompts()["fewshot"]
        shots: list[dict] = []
        for row in train_rows(root, setting["shots"]):
            shots += [{"role": "user", "content": setting["question"].format(question=row["question"])},
                      {"role": "assistant", "content": fewshot_solution(row["answer"])}]
        items = load_gsm8k(root, opts)
        for item in items:
            item.data["shots"] = shots
        return items

    def chats(self, item: Item) -> list[Chat]:
        question = prompts()["fewshot"]["question"].format(question=item.data["question"])
        return [item.data["shots"] + [{"role": "user", "content": question}]]

    def official_right(self, reply: str, reference: str) -> bool:
        return oc.gsm8k_equal(oc.gsm8k_answer(reply), reference)
