"""The typed values that cross module boundaries: messages, tool calls, tool results and events.

Data flows one way: the UI and CLI hand the agent `Message`s, the agent hands back `Event`s.
Everything here is a plain dataclass so it can go to JSON (CLI `--json`, `puyu serve`, the store) and back.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Union

Role = Literal["system", "user", "assistant", "environment"]

# The interpreter is addressed by this name in ToolCall.name; every other name is a plugin tool.
INTERPRETER = "python"


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class ToolCall:
    """A call the model asked for. For the interpreter, `arguments == {"code": "..."}`."""

    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=new_id)

    @property
    def is_interpreter(self) -> bool:
        return self.name == INTERPRETER


@dataclass
class ToolResult:
    """What a tool gave back. `images` and `files` are paths inside the conversation's work dir."""

    text: str
    images: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    ok: bool = True


@dataclass
class Message:
    """One turn of a conversation.

    `name` qualifies a role the way InternLM2 does: `system name=<|plugin|>`, `environment name=<|interpreter|>`,
    `user name=file`. Values are the short names "plugin", "interpreter", "file".
    An assistant turn that ends in a tool call carries it in `tool_call`; `content` is the text before the call.
    """

    role: Role
    content: str = ""
    name: str | None = None
    tool_call: ToolCall | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Message":
        call = d.get("tool_call")
        return cls(role=d["role"], content=d.get("content", ""), name=d.get("name"),
                   tool_call=ToolCall(**call) if call else None)


# ---- events: the only thing the agent hands outward -------------------------------------------------

@dataclass
class TokenEvent:
    """A piece of streamed model text (already free of protocol tokens where the agent could tell)."""

    text: str
    type: Literal["token"] = "token"


@dataclass
class ToolCallEvent:
    call: ToolCall
    type: Literal["tool_call"] = "tool_call"


@dataclass
class ToolResultEvent:
    call: ToolCall
    result: ToolResult
    type: Literal["tool_result"] = "tool_result"


@dataclass
class FinalEvent:
    """The turn's answer. `text` is the whole final reply, not a delta."""

    text: str
    type: Literal["final"] = "final"


@dataclass
class ErrorEvent:
    """Something went wrong. `recoverable` errors were shown to the model, which got another try;
    an unrecoverable one (backend down, step budget spent, cancelled) ends the turn."""

    message: str
    recoverable: bool = False
    type: Literal["error"] = "error"


Event = Union[TokenEvent, ToolCallEvent, ToolResultEvent, FinalEvent, ErrorEvent]


def event_to_dict(event: Event) -> dict:
    return asdict(event)


def event_from_dict(d: dict) -> Event:
    kind = d["type"]
    if kind == "token":
        return TokenEvent(d["text"])
    if kind == "tool_call":
        return ToolCallEvent(ToolCall(**d["call"]))
    if kind == "tool_result":
        return ToolResultEvent(ToolCall(**d["call"]), ToolResult(**d["result"]))
    if kind == "final":
        return FinalEvent(d["text"])
    if kind == "error":
        return ErrorEvent(d["message"], d.get("recoverable", False))
    raise ValueError(f"unknown event type {kind!r}")
