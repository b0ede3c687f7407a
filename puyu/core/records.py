"""The one conversation record that training, eval and the converters share (`puyu train data` writes it,
`training/dataset.py` trains on it, eval's tool-tasks replays its held-out split).

A record is one JSON line:

    {"conversation": [{"role": "system"|"user"|"assistant"|"environment", "content": str,
                       "name": "interpreter"|"plugin"|"file" (optional),
                       "tool_call": {"name": str, "arguments": {...}} (optional, assistant only),
                       "loss": bool}],
     "tools": [plugin schemas shown in the prompt], "interpreter": bool, "meta": {...}}

It is a superset of Agent-FLAN's `{"conversation": [{"role", "content", "loss"}]}`; `to_agent_flan` and
`from_agent_flan` convert both ways. Text is never written here: `segments` asks InternLM2Protocol, the one
renderer, so what we train on is what the agent serves.

Held-out (eval) records keep the full reference conversation and say so with `meta.reference = true`.
Eval replays the user turns (`user_turns()`) and checks the model's last reply against `meta.answer`
(puyu.core.answers.answer_matches); `meta.answers` holds the expected value after each user turn for multi-turn
items.
`meta.category` is one of tool | chat | out_of_scope | multi_turn | gsm8k; `meta.expect_tool` names the tool
the reference calls first ("python", a plugin name, or null when no call is expected).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from puyu.core.messages import INTERPRETER, Message, ToolCall
from puyu.core.protocols.base import Segment
from puyu.core.protocols.internlm2 import InternLM2Protocol, action_text

ROLES = ("system", "user", "assistant", "environment")
NAMES = ("interpreter", "plugin", "file")
CATEGORIES = ("tool", "chat", "out_of_scope", "multi_turn", "gsm8k")


@dataclass
class Turn:
    """A Message plus whether training puts loss on it."""

    role: str
    content: str = ""
    name: str | None = None
    tool_call: dict | None = None
    """{"name": ..., "arguments": {...}}: the call an assistant turn ends with."""
    loss: bool = False

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")
        if self.name is not None and self.name not in NAMES:
            raise ValueError(f"unknown name {self.name!r}; expected one of {', '.join(NAMES)}")
        if self.tool_call is not None:
            if self.role != "assistant":
                raise ValueError("only assistant turns carry a tool_call")
            if set(self.tool_call) != {"name", "arguments"} or not isinstance(self.tool_call["arguments"], dict):
                raise ValueError(f"tool_call must be {{'name', 'arguments': {{...}}}}, got {self.tool_call!r}")

    def to_message(self) -> Message:
        call = ToolCall(self.tool_call["name"], dict(self.tool_call["arguments"])) if self.tool_call else None
        return Message(self.role, self.content, self.name, call)

    @classmethod
    def from_message(cls, m: Message, loss: bool | None = None) -> Turn:
        call = {"name": m.tool_call.name, "arguments": m.tool_call.arguments} if m.tool_call else None
        return cls(m.role, m.content, m.name, call, m.role == "assistant" if loss is None else loss)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name is not None:
            d["name"] = self.name
        if self.tool_call is not None:
            d["tool_call"] = self.tool_call
        d["loss"] = self.loss
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Turn:
        return cls(d["role"], d.get("content", ""), d.get("name"), d.get("tool_call"),
                   bool(d.get("loss", d["role"] == "assistant")))


@dataclass
class Record:
    conversation: list[Turn]
    tools: list[dict] = field(default_factory=list)
    interpreter: bool = True
    meta: dict = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return self.meta.get("lang", "en")

    @property
    def prompt_lang(self) -> str:
        """The language of the system prompts: the user's language, unless the app runs in the other one."""
        return self.meta.get("prompt_lang", self.lang)

    def messages(self) -> list[Message]:
        return [t.to_message() for t in self.conversation]

    def user_turns(self) -> list[str]:
        return [t.content for t in self.conversation if t.role == "user"]

    def calls(self) -> list[dict]:
        return [t.tool_call for t in self.conversation if t.tool_call]

    def to_dict(self) -> dict:
        return {"conversation": [t.to_dict() for t in self.conversation], "tools": self.tools,
                "interpreter": self.interpreter, "meta": self.meta}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        if not isinstance(d.get("conversation"), list):
            raise ValueError("a record needs a 'conversation' list")  # noqa: TRY004  (bad data, not a bad call)
        return cls([Turn.from_dict(t) for t in d["conversation"]], list(d.get("tools", [])),
                   bool(d.get("interpreter", True)), dict(d.get("meta", {})))

    def validate(self) -> None:
        """Raise ValueError where the turns do not form a conversation the agent could have had."""
        pending: dict | None = None
        for i, t in enumerate(self.conversation):
            if t.role == "environment":
                if pending is None:
                    raise ValueError(f"turn {i}: an environment turn must answer a tool call")
                want = "interpreter" if pending["name"] == INTERPRETER else "plugin"
                if t.name != want:
                    raise ValueError(f"turn {i}: environment name {t.name!r} does not match the call ({want})")
                pending = None
            elif pending is not None:
                raise ValueError(f"turn {i}: the tool call of turn {i - 1} got no environment turn")
            if t.tool_call:
                if t.tool_call["name"] == INTERPRETER and not self.interpreter:
                    raise ValueError(f"turn {i}: interpreter call while the interpreter is off")
                if t.tool_call["name"] != INTERPRETER and t.tool_call["name"] not in {s["name"] for s in self.tools}:
                    raise ValueError(f"turn {i}: call to {t.tool_call['name']!r}, which the tools list lacks")
                pending = t.tool_call
        if not self.conversation or self.conversation[-1].role != "assistant" or pending is not None:
            raise ValueError("a conversation must end with an assistant reply")


@cache
def protocol(lang: str = "en", style: str = "internlm2") -> InternLM2Protocol:
    """The agent's InternLM2 protocol for a language with the default system prompts of a prompt style."""
    return InternLM2Protocol(language=lang, style=style)


def segments(record: Record, style: str = "internlm2") -> list[Segment]:
    """The rendered conversation as pieces; `trained` is the protocol's flag AND the turn's `loss`."""
    segs = protocol(record.prompt_lang, style).segments(record.messages(), record.tools, record.interpreter)
    return [Segment(s.text, s.trained and s.index >= 0 and record.conversation[s.index].loss, s.index)
            for s in segs]


def render(record: Record, style: str = "internlm2") -> str:
    return "".join(s.text for s in segments(record, style))


# ---- Agent-FLAN -------------------------------------------------------------------------------------

def to_agent_flan(record: Record) -> dict:
    """Agent-FLAN style: plain role/content/loss entries; the system turns the protocol builds from the tools
    come first, and an assistant's call is inlined in its content as InternLM2 action text.
    `tools`, `interpreter` and `meta` ride along so that `from_agent_flan` gives back the same record."""
    proto = protocol(record.prompt_lang)
    conv: list[dict] = []
    if proto.meta:
        conv.append({"role": "system", "content": proto.meta, "loss": False})
    if record.interpreter and proto.interpreter_prompt:
        conv.append({"role": "system", "name": "interpreter", "content": proto.interpreter_prompt, "loss": False})
    if record.tools and proto.plugin_prompt:
        from puyu.core.protocols.internlm2 import plugin_list
        conv.append({"role": "system", "name": "plugin", "loss": False,
                     "content": proto.plugin_prompt.format(tools=plugin_list(record.tools))})
    for t in record.conversation:
        content = t.content
        if t.tool_call:
            content += action_text(t.to_message().tool_call)
        entry = {"role": t.role, "content": content, "loss": t.loss}
        if t.name:
            entry["name"] = t.name
        conv.append(entry)
    return {"conversation": conv, "tools": record.tools, "interpreter": record.interpreter, "meta": record.meta}


_ENV_ROLES = {"environment", "function", "tool", "observation"}


def from_agent_flan(d: dict, lang: str | None = None) -> Record:
    """Read an Agent-FLAN style record: assistant text is parsed with InternLM2Protocol.parse, so inlined
    InternLM2 actions become tool calls; the system turns that `to_agent_flan` wrote from the tools are dropped
    (they are rebuilt from `tools` and `interpreter` when rendering)."""
    meta = dict(d.get("meta", {}))
    lang = lang or meta.get("prompt_lang", meta.get("lang", "en"))
    proto = protocol(lang)
    turns: list[Turn] = []
    last_call: ToolCall | None = None
    saw_interpreter = False
    for e in d["conversation"]:
        role, content, name = e["role"], e.get("content", ""), e.get("name")
        if role == "system" and name in ("interpreter", "plugin"):
            saw_interpreter |= name == "interpreter"
            continue
        if role == "system" and not turns and content == proto.meta:
            continue
        loss = bool(e.get("loss", role == "assistant"))
        if role == "assistant":
            parsed = proto.parse(content)
            if parsed.call is not None:
                last_call = parsed.call
                turns.append(Turn("assistant", parsed.text, None,
                                  {"name": parsed.call.name, "arguments": parsed.call.arguments}, loss))
            else:
                turns.append(Turn("assistant", content if parsed.error else parsed.text, None, None, loss))
        elif role in _ENV_ROLES:
            env_name = name or ("interpreter" if last_call is None or last_call.is_interpreter else "plugin")
            turns.append(Turn("environment", content, env_name, None, loss))
        else:
            turns.append(Turn(role, content, name if name in NAMES else None, None, loss))
    interpreter = bool(d.get("interpreter", saw_interpreter or any(
        t.tool_call and t.tool_call["name"] == INTERPRETER for t in turns)))
    return Record(turns, list(d.get("tools", [])), interpreter, meta)


# ---- files ------------------------------------------------------------------------------------------

def read_jsonl(path: str | Path) -> Iterator[Record]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield Record.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError) as e:
                    raise ValueError(f"{path}:{n}: not a conversation record: {e}") from None


def write_jsonl(path: str | Path, records: Iterable[Record]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(r.to_json() + "\n")
            n += 1
    return n
