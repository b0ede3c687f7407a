"""What every tool protocol does: render a conversation to prompt text, and read the model's reply back.

Protocols do no I/O and know no model: they are pure text in, text out, so the training data renderer,
the agent and the tests all share them.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from puyu.core.messages import Message, ToolCall


@dataclass
class Parsed:
    """The model's reply read back: its text, and the tool call it ends with, if any.
    `error` says why a call it attempted could not be read; the agent shows that to the model."""

    text: str
    call: ToolCall | None = None
    error: str | None = None


@dataclass
class Segment:
    text: str
    trained: bool
    """True for text the model itself produced (assistant replies and calls): the tokens training learns."""
    index: int
    """Which message the text belongs to; -1 for the system turns built from tools and prompts."""


@cache
def load_prompts(name: str) -> dict:
    """The prompt texts of a protocol (package data `puyu/core/protocols/prompts/<name>.yaml`), by language."""
    return yaml.safe_load(resources.files("puyu.core.protocols").joinpath("prompts", f"{name}.yaml").read_text("utf-8"))


def chat_turn(m: Message) -> dict:
    """A user, system or plain assistant turn as a chat message; a `user name=file` turn lists the uploads in words
    (chat templates know no file role)."""
    if m.role == "user" and m.name == "file":
        return {"role": "user", "content": f"Uploaded files: {m.content}"}
    return {"role": m.role, "content": m.content}


class Protocol(ABC):
    stop: list[str]
    """Stop strings the model backend should end generation at."""
    call_markers: tuple[str, ...]
    """Text that starts a tool call; streamed text from here on is not shown to the user as reply text."""
    native_tools: bool = False
    """True when the server's chat endpoint parses the calls (OpenAI `tools`); there is then no prompt text."""
    kept_tokens: tuple[str, ...] = ()
    """Special tokens the model's replies must come back with (a server that drops them cannot serve this
    protocol on a raw prompt)."""

    @abstractmethod
    def segments(self, messages: list[Message], tools: list[dict], interpreter: bool) -> list[Segment]:
        """The prompt as pieces in order. Training puts loss on the model-output pieces only."""

    def render(self, messages: list[Message], tools: list[dict], interpreter: bool) -> str:
        """The prompt text that asks the model for its next assistant turn."""
        return "".join(s.text for s in self.segments(messages, tools, interpreter)) + self.generation_prompt

    generation_prompt: str = ""

    @abstractmethod
    def parse(self, text: str) -> Parsed:
        """Read a finished generation (stop string already cut off)."""

    def chat_request(self, messages: list[Message], tools: list[dict], interpreter: bool
                     ) -> tuple[list[dict], list[dict] | None]:
        """The conversation for a server's /v1/chat/completions, which renders it with the model's own chat
        template: OpenAI messages, and OpenAI function tools (None for none)."""
        raise NotImplementedError(f"{type(self).__name__} has no chat form")

    def read_call(self, text: str, name: str, arguments: str, call_id: str) -> Parsed:
        """A tool call the server returned, parsed from OpenAI's `tool_calls`, checked like a text protocol checks
        its calls."""
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as e:
            return Parsed(text.strip(), error=f"The arguments of {name} are not valid JSON ({e.msg}).")
        if not isinstance(args, dict):
            return Parsed(text.strip(), error=f"The arguments of {name} must be a JSON object.")
        return Parsed(text.strip(), ToolCall(name, args, id=call_id or ToolCall(name, {}).id))

    def observation(self, call: ToolCall, text: str) -> Message:
        """The message that hands a tool's result back to the model: an environment turn named for the tool kind."""
        return Message("environment", text, name="interpreter" if call.is_interpreter else "plugin")
