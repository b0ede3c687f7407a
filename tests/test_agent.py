"""The planner loop, driven by a scripted model double."""
import threading

import pytest
from lagent.actions import BaseAction, tool_api

from puyu.agent.agent import Agent, answer, held_back, repetition
from puyu.core.config import AgentConfig
from puyu.core.messages import ErrorEvent, FinalEvent, Message, TokenEvent, ToolCallEvent, ToolResultEvent
from puyu.models.base import ModelError
from puyu.tools.base import Toolbox
from tests.fakes import CODE, PLUGIN, DictInterpreter, ScriptedModel


class Adder(BaseAction):
    """Add two integers."""

    @tool_api
    def run(self, a: int, b: int) -> dict:
        """Add two integers.

        Args:
            a (int): first
            b (int): second
        """
        return {"sum": a + b}


def run(replies, toolbox=None, **cfg):
    model = ScriptedModel(replies)
    agent = Agent(model, toolbox or Toolbox(interpreter=DictInterpreter()), config=AgentConfig(**cfg))
    messages = [Message("user", "question")]
    events = list(agent.run(messages))
    return events, messages, model


def test_interpreter_call_then_answer():
    events, messages, model = run(["Let me compute." + CODE.format("x = 6 * 7\nprint(x)"), "The answer is 42."])
    kinds = [type(e) for e in events if not isinstance(e, TokenEvent)]
    assert kinds == [ToolCallEvent, ToolResultEvent, FinalEvent]
    assert events[-1].text == "The answer is 42."
    result = next(e for e in events if isinstance(e, ToolResultEvent)).result
    assert result.text.strip() == "42"
    # memory: the call and its environment turn are in the conversation, and in the second prompt
    assert [m.role for m in messages] == ["user", "assistant", "environment", "assistant"]
    assert "<|im_start|>environment name=<|interpreter|>\n42\n<|im_end|>" in model.prompts[1]


def test_streamed_tokens_never_show_the_action():
    events, _, _ = run(["Computing now" + CODE.format("print(1)"), "Done."])
    shown = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert "<|action" not in shown and "Computing now" in shown and "Done." in shown


@pytest.mark.parametrize("text,markers,safe", [
    ("hello <|act", ("<|action_start|>",), 6), ("hello", ("<|action_start|>",), 5),
    ("a<|action_start|>b", ("<|action_start|>",), 1), ("Thought: x\nAct", ("Action:",), 11)])
def test_held_back(text, markers, safe):
    assert held_back(text, markers) == safe


def test_plugin_call_with_lagent_action():
    box = Toolbox([Adder()], interpreter=DictInterpreter())
    events, _, model = run([PLUGIN.format('{"name": "Adder", "parameters": {"a": 2, "b": 40}}'), "It is 42."], box)
    result = next(e for e in events if isinstance(e, ToolResultEvent)).result
    assert result.ok and "42" in result.text
    assert '"name": "Adder"' in model.prompts[0]  # the tool was declared in the system prompt


@pytest.mark.parametrize("bad,expect", [
    (PLUGIN.format('{"name": "Adder", "parameters": {"a": 2,'), "not valid JSON"),
    (PLUGIN.format('{"name": "Nope", "parameters": {}}'), "Unknown tool"),
    (PLUGIN.format('{"name": "Adder", "parameters": {"a": "two", "b": 1}}'), "must be NUMBER"),
    ("<|action_start|><|interpreter|>\n```python\nprint(1", "cut off"),
    ("<|action_start|><|weird|>\nx", "must start with"),
])
def test_malformed_output_becomes_an_observation_and_a_retry(bad, expect):
    box = Toolbox([Adder()], interpreter=DictInterpreter())
    events, messages, model = run([bad, "Sorry, here is my answer."], box)
    assert isinstance(events[-1], FinalEvent)
    assert expect in model.prompts[1]  # the model was told what was wrong
    assert any(m.role == "environment" and expect in m.content for m in messages)


def test_repeated_failing_call_is_not_rerun_and_retries_are_bounded():
    interp = DictInterpreter()
    bad = CODE.format("1/0")
    events, _, model = run([bad, bad, bad, "unused"], Toolbox(interpreter=interp), max_retries=2)
    assert len(interp.calls) == 1  # the identical second call was refused, not executed
    assert "already failed" in model.prompts[2]
    last = events[-1]
    assert isinstance(last, ErrorEvent) and not last.recoverable and "Giving up" in last.message
    # plain words for the person; the traceback one click away
    assert last.kind == "gave_up" and "ZeroDivisionError" in last.detail and "Error" not in last.message


def test_step_budget_ends_the_turn():
    loop = [CODE.format(f"print({i})") for i in range(10)]
    events, _, _ = run(loop, max_steps=3)
    assert isinstance(events[-1], ErrorEvent) and "3 steps" in events[-1].message


def test_backend_failure_is_a_clear_error_not_a_crash():
    events, _, _ = run([ModelError("cannot reach http://127.0.0.1:1")])
    assert events == [ErrorEvent("The model failed: cannot reach http://127.0.0.1:1", kind="model")]


def test_cancel_stops_the_turn():
    cancel = threading.Event()
    agent = Agent(ScriptedModel(["a long answer " * 20]), Toolbox())
    stream = agent.run([Message("user", "hi")], cancel)
    next(stream)
    cancel.set()
    assert isinstance(list(stream)[-1], ErrorEvent)


def test_multi_turn_memory_reaches_the_model():
    interp = DictInterpreter()
    model = ScriptedModel([CODE.format("x = 5"), "x is 5.", CODE.format("print(x * 2)"), "Doubled: 10."])
    agent = Agent(model, Toolbox(interpreter=interp))
    messages = [Message("user", "set x to 5")]
    assert answer(agent.run(messages)) == "x is 5."
    messages.append(Message("user", "now double it"))
    assert answer(agent.run(messages)) == "Doubled: 10."
    assert "set x to 5" in model.prompts[-1] and interp.ns["x"] == 5


@pytest.mark.parametrize("text,loop", [
    ("Here is the plot of y" + "y" * 300, "y"),
    ("Answer: " + "The sum is 5. " * 20, "The sum is 5. "),
    ("x = 1\n" * 40, "x = 1\n"),
])
def test_repetition_finds_degenerate_loops(text, loop):
    start, unit = repetition(text)
    assert text[start:].replace(unit, "") == "" and len(unit) == len(loop) and unit in text


@pytest.mark.parametrize("text", [
    "Normal prose that never repeats itself for long, like most answers. " * 2,
    "| a | b | c | d |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n| 1 | 2 | 3 | 4 |",
    "0." + "0" * 30 + "1", "",
])
def test_repetition_leaves_ordinary_text_alone(text):
    assert repetition(text) is None


class EndlessModel(ScriptedModel):
    """Writes "y" for ever (what puyu-tiny did for "plot y = sin(x)"), and counts what it was asked for."""

    def __init__(self):
        super().__init__([])
        self.sent, self.closed = 0, False

    def stream(self, prompt, gen):
        self.prompts.append(prompt)
        try:
            yield "Here is y"
            while True:
                self.sent += 1
                yield "y"
        finally:
            self.closed = True


def test_a_degenerate_loop_is_stopped_and_said():
    model = EndlessModel()
    messages = [Message("user", "plot y = sin(x)")]
    events = list(Agent(model, Toolbox()).run(messages))
    last = events[-1]
    assert isinstance(last, ErrorEvent) and last.kind == "repetition" and not last.recoverable
    assert "repeating itself" in last.message and "'y'" in last.detail
    assert model.closed and model.sent < 200  # the model was stopped soon, not at its token limit
    assert messages[-1].role == "assistant" and messages[-1].content == "Here is y"


def test_with_the_interpreter_off_a_python_call_ends_the_turn_plainly():
    events, _, model = run([CODE.format("print(2 + 2)"), "unused"], Toolbox())
    assert not any(isinstance(e, (ToolCallEvent, ToolResultEvent)) for e in events)  # nothing pretended to run
    last = events[-1]
    assert last.kind == "interpreter_off" and "Settings" in last.message and last.detail == "print(2 + 2)"
    assert len(model.prompts) == 1  # no retries of a call that cannot run
    assert "<|interpreter|>" not in model.prompts[0]


def test_a_malformed_call_is_explained_plainly_with_the_parser_detail():
    box = Toolbox([Adder()], interpreter=DictInterpreter())
    events, _, _ = run([PLUGIN.format('{"name": "Adder", "parameters": {"a": 2,'), "Fine."], box)
    error = next(e for e in events if isinstance(e, ErrorEvent))
    assert error.recoverable and error.kind == "malformed" and "JSON" in error.detail and "JSON" not in error.message
