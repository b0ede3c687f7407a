"""GSM8K in the two published agent settings, each with its own answer rule.

- `gsm8k-opencompass-agent`: OpenCompass's `gsm8k_agent` (gsm8k_agent_gen_c3dff3 with the ReAct agent of
  examples/eval_chat_agent.py): a ReAct text protocol (`Tool:` / `Tool Input:` / `Response:` / `FinalAnswer:`), its
  system prompt, 3 worked examples, at most 3 turns (the last one told to answer from what it has), and a
  `PythonInterpreter` that runs the program and returns `str(solution())`. Scored as OpenCompass does:
  `gsm8k_postprocess` of the final answer and `Gsm8kAgentEvaluator`'s follow / reasoning / code / action metrics.
- `gsm8k-internlm-interpreter`: InternLM's interpreter evaluation (InternLM/InternLM 2b221a9,
  agent/streaming_inference.py): the InternLM2 protocol with its interpreter prompt and no meta prompt, at most 3
  turns (lagent's default), the question without '$'; the answer is read by its `extract_answer` and compared by
  `math_equal`. A turn that runs out of steps has no answer here (there, its last thought is read).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from puyu.core.messages import INTERPRETER, Message, ToolCall
from puyu.core.protocols import InternLM2Protocol, Protocol
from puyu.core.protocols.base import Parsed, Segment, chat_turn
from puyu.core.protocols.react import chatml
from puyu.eval.benchmarks.base import AgentBenchmark, Item, LoadOptions, Parity
from puyu.eval.benchmarks.gsm8k import (
    agent_scores,
    answer_right,
    last_action,
    last_turn,
    load_gsm8k,
    prompts,
    train_rows,
)
from puyu.eval.official import internlm
from puyu.eval.official import opencompass as oc

TOOL = "PythonInterpreter"
TURNS = 3


def program_of(tool_input: str) -> str:
    """The code in a `Tool Input:` as OpenCompass's interpreter takes it: the first ```python block, else the first
    ``` block, else all of it."""
    if "```python" in tool_input:
        return tool_input.split("```python")[1].split("```")[0]
    if "```" in tool_input:
        return tool_input.split("```")[1].split("```")[0]
    return tool_input


def solution_call(tool_input: str) -> ToolCall:
    """The interpreter call that does what OpenCompass's PythonInterpreter does: run the program in a fresh
    namespace and print `solution()`; `input` keeps the text the model wrote, for the transcript."""
    code = f"_namespace = {{}}\nexec({program_of(tool_input)!r}, _namespace)\nprint(_namespace['solution']())"
    return ToolCall(INTERPRETER, {"code": code, "input": tool_input})


class OpenCompassReAct(Protocol):
    """OpenCompass's ReAct text protocol for gsm8k_agent (lagent's ReActProtocol with its markers)."""

    stop: ClassVar[list[str]] = ["Response:", "<|im_end|>"]
    call_markers = ("Tool:",)

    def __init__(self, system: str, force_stop: str, turns: int = TURNS,
                 chat_template: Callable[[list[dict]], str] | None = None):
        self.system, self.force_stop, self.turns, self.chat_template = system, force_stop, turns, chat_template

    def chat_messages(self, messages: list[Message]) -> list[dict]:
        out = [{"role": "system", "content": self.system}]
        for m in messages:
            if m.role == "environment":
                out.append({"role": "system", "content": f"Response:{m.content}"})
            elif m.role == "assistant" and m.tool_call is not None:
                tool_input = m.tool_call.arguments.get("input", "")
                out.append({"role": "assistant", "content": f"{m.content}Tool:{TOOL}\nTool Input:{tool_input}"})
            else:
                out.append(chat_turn(m))
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        if sum(m.role == "assistant" for m in messages[last_user + 1:]) == self.turns - 1:
            out.append({"role": "system", "content": self.force_stop})  # the last turn: answer now
        return out

    def segments(self, messages, tools, interpreter):
        return [Segment(chatml(self.chat_messages(messages)), False, -1)]

    def render(self, messages, tools, interpreter):
        chat = self.chat_messages(messages)
        return self.chat_template(chat) if self.chat_template else chatml(chat) + "<|im_start|>assistant\n"

    def parse(self, text: str) -> Parsed:
        if "FinalAnswer:" in text:
            return Parsed(text.split("FinalAnswer:")[-1].strip())
        names = re.findall(r"Tool:(.*?)\n", text)
        inputs = re.findall(r"Tool Input:(.*)", text, re.DOTALL)
        thought = text.split("Tool:")[0]
        if not names or not inputs:
            return Parsed(text, error="Please follow the format")  # lagent's NoAction
        if names[-1].strip() != TOOL:
            return Parsed(thought, error=f"{names[-1].strip()} is not a tool; use {TOOL}")
        return Parsed(thought, solution_call(inputs[-1].strip().strip('"')))


class Gsm8kOpenCompassAgent(AgentBenchmark):
    name = "gsm8k-opencompass-agent"
    main_metric = "follow_acc"
    max_new_tokens = 512
    max_steps = TURNS

    def parity(self) -> Parity:
        return Parity(scorer="OpenCompass gsm8k_postprocess + Gsm8kAgentEvaluator",
                      setting="OpenCompass gsm8k_agent (3-shot ReAct, def solution(), 3 turns)", comparable=True,
                      published="none in the shared data", lenient="accuracy_lenient",
                      lenient_reading="puyu's number reading of the final answer")

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        setting = prompts()["opencompass_agent"]
        history: list[Message] = []
        for shot, row in zip(setting["shots"], train_rows(root, [s["row"] for s in setting["shots"]])):
            answer = row["answer"].rsplit("#### ", 1)[-1].strip()
            history += [Message("user", row["question"]),
                        Message("assistant", "", tool_call=solution_call(f"```python\n{shot['program']}\n```")),
                        Message("environment", answer, name="interpreter"),
                        Message("assistant", f"{setting['thought']}\nFinalAnswer: {answer}")]
        items = load_gsm8k(root, opts)
        for item in items:
            item.data["history"] = history
        return items

    def protocol(self, item: Item, chat_template) -> Protocol:
        setting = prompts()["opencompass_agent"]
        return OpenCompassReAct(setting["system"], setting["force_stop"], TURNS, chat_template)

    def turns(self, item: Item) -> list[list[Message]]:
        return [[*item.data["history"], Message("user", item.data["question"])]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        turn = last_turn(record)
        right = oc.gsm8k_equal(oc.gsm8k_answer(turn["final"]), item.data["reference"])
        return {**agent_scores(right, last_action(turn["events"]), item.data["reference"]),
                "accuracy_lenient": float(answer_right(turn["final"], item.data["answer"]))}


class Gsm8kInternLMInterpreter(AgentBenchmark):
    name = "gsm8k-internlm-interpreter"
    main_metric = "accuracy"
    max_new_tokens = 512
    max_steps = TURNS

    def parity(self) -> Parity:
        return Parity(scorer="InternLM extract_answer + math_equal (agent/streaming_inference.py)",
                      setting="InternLM's interpreter evaluation (InternLM2 protocol, \\boxed, 3 turns)",
                      comparable=True,
                      published="InternLM2-Chat-20B with a code interpreter (InternLM agent README, January 2024; "
                                "the evaluation script was published in March 2024)",
                      lenient="accuracy_lenient", lenient_reading="puyu's number reading of the final reply")

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        return load_gsm8k(root, opts)

    def protocol(self, item: Item, chat_template) -> Protocol:
        return InternLM2Protocol(meta="", interpreter_prompt=prompts()["internlm_interpreter"]["interpreter"],
                                 plugin_prompt="")

    def turns(self, item: Item) -> list[list[Message]]:
        return [[Message("user", item.data["question"].replace("$", ""))]]

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        turn = last_turn(record)
        final = turn["final"]
        right = bool(final) and internlm.math_equal(internlm.extract_answer(final),
                                                    item.data["final"].replace("$", ""))
        action = last_action(turn["events"])
        return {"accuracy": float(right), "accuracy_lenient": float(answer_right(final, item.data["answer"])),
                "action_pct": float(action is not None)}
