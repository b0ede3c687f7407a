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
class Source:
    """A passage an answer may draw on (what `knowledge_search` found): the file, where in it, and the text."""

    file: str
    passage: str
    page: int | None = None
    """1-based, for formats with pages (PDF, Word)."""
    section: str | None = None
    """The heading the passage falls under, for formats without pages (Markdown, HTML, text)."""
    knowledge_base: str | None = None
    score: float | None = None


@dataclass
class ToolResult:
    """What a tool gave back. `images` and `files` are paths inside the conversation's work dir."""

    text: str
    images: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    ok: bool = True
    sources: list[Source] = field(default_factory=list)
    """The passages the tool returned, for the answer to cite (knowledge_search)."""
    arguments: dict[str, Any] | None = None
    """The arguments the tool really ran with, where the toolbox corrected the call's (a file name the model
    made up, replaced by the upload it meant); None when they are the call's own."""
    unknown_tool: bool = False
    """The call named a tool that does not exist, so nothing ran."""

    @classmethod
    def from_dict(cls, d: dict) -> ToolResult:
        sources = [Source(**s) for s in d.get("sources", [])]
        return cls(**{**d, "sources": sources})


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


ERROR_KINDS = ("stopped", "model", "malformed", "interpreter_off", "gave_up", "max_steps", "repetition")
"""What an ErrorEvent is about, so that a front end can say it in its own words and language."""


@dataclass
class ErrorEvent:
    """Something went wrong. `recoverable` errors were shown to the model, which got another try;
    an unrecoverable one (backend down, step budget spent, cancelled) ends the turn. `message` says it in plain
    words; `detail` holds what a person only needs when they ask (the tool's traceback, the parser's complaint)."""

    message: str
    recoverable: bool = False
    detail: str = ""
    kind: str = ""
    """One of ERROR_KINDS (empty in conversations stored before kinds existed)."""
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
        return ToolResultEvent(ToolCall(**d["call"]), ToolResult.from_dict(d["result"]))
    if kind == "final":
        return FinalEvent(d["text"])
    if kind == "error":
        return ErrorEvent(d["message"], d.get("recoverable", False), d.get("detail", ""), d.get("kind", ""))
    raise ValueError(f"unknown event type {kind!r}")
