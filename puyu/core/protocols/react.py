"""A ReAct text protocol (Thought / Action / Action Input / Observation / Final Answer) for models that have
no tool tokens. The interpreter appears as one more tool, `python`, taking {"code": "..."}.

The conversation is written as plain chat turns: the model's steps are assistant turns, each observation is a
user turn. A model's own chat template renders them when it has one (pass `chat_template`), else ChatML.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from puyu.core.messages import INTERPRETER, Message, ToolCall
from puyu.core.protocols.base import Parsed, Protocol, Segment, chat_turn, load_prompts

PYTHON_TOOL = {"name": INTERPRETER, "description": "Run Python code in a stateful notebook and return its output.",
               "parameters": [{"name": "code", "type": "STRING", "description": "the Python code"}],
               "required": ["code"]}

_ACTION = re.compile(r"Action\s*:\s*(.+?)\s*\n\s*Action Input\s*:\s*(.*)", re.DOTALL)
_FINAL = re.compile(r"Final Answer\s*:\s*(.*)", re.DOTALL)


def chatml(messages: list[dict]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def _first_json_object(text: str):
    """The first JSON object at the start of `text` (models often add words after it)."""
    return json.JSONDecoder().raw_decode(text.strip())[0]


class ReActProtocol(Protocol):
    stop = ["Observation:", "<|im_end|>"]
    call_markers = ("Action:",)

    def __init__(self, language: str = "en", chat_template: Callable[[list[dict]], str] | None = None,
                 system: str | None = None):
        self.system = load_prompts("react")[language]["system"] if system is None else system
        self.chat_template = chat_template

    def _tools(self, tools: list[dict], interpreter: bool) -> list[dict]:
        return ([PYTHON_TOOL] if interpreter else []) + list(tools)

    def chat_messages(self, messages: list[Message], tools: list[dict], interpreter: bool) -> list[dict]:
        tools = self._tools(tools, interpreter)
        listing = "\n".join(f"- {t['name']}: {t['description']} Arguments: "
                            f"{json.dumps({p['name']: p.get('type', 'STRING') for p in t['parameters']})}"
                            for t in tools) or "(none)"
        out = [{"role": "system", "content": self.system.format(tools=listing,
                                                                names=", ".join(t["name"] for t in tools))}]
        for m in messages:
            if m.role == "environment":
                out.append({"role": "user", "content": f"Observation: {m.content}"})
            elif m.role == "assistant" and m.tool_call is not None:
                step = (f"Thought: {m.content or 'I should use a tool.'}\nAction: {m.tool_call.name}\n"
                        f"Action Input: {json.dumps(m.tool_call.arguments, ensure_ascii=False)}")
                out.append({"role": "assistant", "content": step})
            else:
                out.append(chat_turn(m))
        return out

    def chat_request(self, messages, tools, interpreter):
        """The ReAct conversation as plain chat turns, for the server's chat template; the tools are in its text."""
        return self.chat_messages(messages, tools, interpreter), None

    def segments(self, messages, tools, interpreter):
        return [Segment(chatml(self.chat_messages(messages, tools, interpreter)), False, -1)]

    def render(self, messages, tools, interpreter):
        chat = self.chat_messages(messages, tools, interpreter)
        if self.chat_template is not None:
            return self.chat_template(chat)
        return chatml(chat) + "<|im_start|>assistant\n"

    def parse(self, text: str) -> Parsed:
        text = text.split("Observation:")[0]
        final = _FINAL.search(text)
        action = _ACTION.search(text)
        if final and (not action or final.start() < action.start()):
            return Parsed(final.group(1).strip())
        if not action:
            if "Action:" in text:
                return Parsed(text.strip(), error="After 'Action:' write 'Action Input:' with a JSON object.")
            return Parsed(re.sub(r"^\s*Thought\s*:\s*", "", text).strip())
        thought = re.sub(r"^\s*Thought\s*:\s*", "", text[:action.start()]).strip()
        name, raw = action.group(1).strip().strip("`[]"), action.group(2)
        try:
            args = _first_json_object(raw)
        except ValueError as e:
            return Parsed(thought, error=f"Action Input must be a JSON object ({e}).")
        if not isinstance(args, dict):
            return Parsed(thought, error="Action Input must be a JSON object.")
        return Parsed(thought, ToolCall(name, args))
