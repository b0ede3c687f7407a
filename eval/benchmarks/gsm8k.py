"""GSM8K (test, 1,319 grade-school word problems), solved by the agent with the code interpreter, or by plain
chain of thought.

Agent metrics follow OpenCompass's `Gsm8kAgentEvaluator`, so they can be put beside its published numbers.
Its names do not say what it computes, so here is what each is, per item (the action is the last interpreter call):
- `follow_acc`: the final answer is right (with or without an action). This is GSM8K accuracy.
- `reasoning_acc`: the final answer is right, or it is wrong but the action ran and printed the right number.
- `code_acc`: an action was taken and either the final answer is right or the code ran without an error.
- `action_pct`: an action was taken.
puyu adds three that say directly what the names above suggest:
- `call_valid`: of items where the model tried to call the interpreter, the share whose calls were all well formed.
- `code_output_acc`: of items with an action, the share whose last interpreter output states the right number.
- `accuracy`: the same as `follow_acc`, under the name the CoT mode and published tables use.
"""
from __future__ import annotations

from pathlib import Path

from puyu.core.answers import numbers_match
from puyu.core.messages import INTERPRETER, Message
from puyu.eval.answers import answer_number_text, parse_number
from puyu.eval.benchmarks.base import AgentBenchmark, Item, LoadOptions
from puyu.eval.data import need, pick, read_jsonl

COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def reference_answer(solution: str) -> float:
    value = parse_number(solution.rsplit("####", 1)[-1])
    if value is None:
        raise ValueError(f"no '#### <number>' at the end of the GSM8K solution {solution[-60:]!r}")
    return value


def load_gsm8k(root: Path, opts: LoadOptions) -> list[Item]:
    path = need(root / "gsm8k" / "test.jsonl", "the GSM8K test set")
    rows = list(read_jsonl(path))
    items = [Item(f"test/{i}", {"question": r["question"], "answer": reference_answer(r["answer"])})
             for i, r in enumerate(rows)]
    return pick(items, opts.limit, opts.seed)


def output_number(text: str) -> float | None:
    """What an interpreter run printed, as a number: its last non-empty line (OpenCompass reads the whole output
    as one number; a last line is as strict for programs that print only the answer)."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return parse_number(lines[-1]) if lines else None


def answer_right(reply: str, ref: float) -> bool:
    text = answer_number_text(reply)
    return text is not None and numbers_match(parse_number(text), ref, text)


class Gsm8kAgent(AgentBenchmark):
    name = "gsm8k-agent"
    main_metric = "accuracy"
    max_new_tokens = 512

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        return load_gsm8k(root, opts)

    def turns(self, item: Item) -> list[list[Message]]:
        return [[Message("user", item.data["question"])]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        turn = record["turns"][-1] if record.get("turns") else {"final": "", "events": []}
        ref = item.data["answer"]
        right = answer_right(turn["final"], ref)
        events = turn["events"]
        results = [e for e in events if e["type"] == "tool_result" and e["call"]["name"] == INTERPRETER]
        attempts = [e for e in events if e["type"] == "tool_call" or (e["type"] == "error" and e["recoverable"])]
        malformed = [e for e in attempts if e["type"] == "error"]
        action = results[-1] if results else None
        ran = bool(action and action["result"]["ok"])
        out_right = bool(action) and numbers_match(output_number(action["result"]["text"]), ref)
        return {
            "accuracy": float(right),
            "follow_acc": float(right),
            "reasoning_acc": float(right or (ran and out_right)),
            "code_acc": float(bool(action) and (right or ran)),
            "action_pct": float(bool(action)),
            "call_valid": (0.0 if malformed else 1.0) if attempts else None,
            "code_output_acc": float(out_right) if action else None,
        }


class Gsm8kCoT(Gsm8kAgent):
    """The same problems without tools: the model reasons in text and ends on its answer."""

    name = "gsm8k-cot"
    interpreter = False
    max_steps = 1

    def turns(self, item: Item) -> list[list[Message]]:
        return [[Message("user", f"{item.data['question']}\n{COT_INSTRUCTION}")]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        turn = record["turns"][-1] if record.get("turns") else {"final": ""}
        return {"accuracy": float(answer_right(turn["final"], item.data["answer"]))}
