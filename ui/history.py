"""A stored conversation as the page and the exports see it: turns of (question, attachments, events, the
person's feedback, which version of the turn is on show), and the sources each answer drew on."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from puyu.agent.store import Store, agent_event
from puyu.core.messages import ErrorEvent, Event, FinalEvent, Source, TokenEvent, ToolCallEvent, ToolResultEvent
from puyu.ui.components import output_text, where
from puyu.ui.i18n import t

_PATH = re.compile(r"(?:^|[\s:'\"(])(/[^\s'\"()]+\.[A-Za-z0-9]{1,5})\b")


@dataclass
class Turn:
    index: int
    text: str
    attachments: list[str] = field(default_factory=list)
    """Paths of the files uploaded with the question."""
    events: list[Event] = field(default_factory=list)
    rating: str | None = None
    """The person's verdict on the answer: "up", "down" or None."""
    comment: str = ""
    version: int = 1
    versions: int = 1
    """Which of the turn's answers is on show, and how many it has had (regenerated, edited)."""


def attachment_paths(content: str) -> list[str]:
    """The files a `user name=file` message announces: InternLM2's JSON `[{"path", "size"}]` (or one such
    object), else the absolute paths in its text."""
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    items = data if isinstance(data, list) else [data]
    paths = [d["path"] for d in items if isinstance(d, dict) and isinstance(d.get("path"), str)]
    return paths or [m.group(1) for m in _PATH.finditer(content)]


def turns(store: Store, conversation_id: str) -> list[Turn]:
    """The conversation's turns in order; an event row belongs to the turn its number says (feedback on an early
    answer is written after later turns)."""
    by_turn: dict[int, Turn] = {}
    for index, data in store.events(conversation_id):
        kind = data.get("type")
        if kind == "user":
            paths = [p for c in data.get("files", []) for p in attachment_paths(c)]
            by_turn[index] = Turn(index, data.get("text", ""), paths)
        elif index in by_turn and kind == "feedback":
            by_turn[index].rating, by_turn[index].comment = data.get("rating"), data.get("comment", "")
        elif index in by_turn:
            event = agent_event(data)
            if event is not None:
                by_turn[index].events.append(event)
    for index, (shown, count) in store.versions(conversation_id).items():
        if index in by_turn:
            by_turn[index].version, by_turn[index].versions = shown, count
    return [by_turn[i] for i in sorted(by_turn)]


def sources(turn: Turn) -> list[Source]:
    """The passages the turn's answer drew on (from knowledge_search), each once, best first."""
    seen, out = set(), []
    for e in turn.events:
        if isinstance(e, ToolResultEvent):
            for s in e.result.sources:
                key = (s.knowledge_base, s.file, s.page, s.passage)
                if key not in seen:
                    seen.add(key)
                    out.append(s)
    return sorted(out, key=lambda s: -(s.score or 0))


def answer_text(turn: Turn) -> str:
    """The answer's words (no tool steps), as the copy button copies them."""
    return "\n\n".join(str(v) for k, v in answer_parts(turn) if k == "text")


def answer_parts(turn: Turn) -> list[tuple[str, object]]:
    """The turn as ("text", str) / ("call", ToolCall) / ("result", ToolResult) / ("error", ErrorEvent) parts:
    streamed text is joined, and a final answer replaces the text streamed for it."""
    parts: list[tuple[str, object]] = []
    text = ""

    def flush():
        nonlocal text
        if text.strip():
            parts.append(("text", text.strip()))
        text = ""

    for e in turn.events:
        if isinstance(e, TokenEvent):
            text += e.text
        elif isinstance(e, FinalEvent):
            text = e.text
            flush()
        else:
            flush()
            if isinstance(e, ToolCallEvent):
                parts.append(("call", e.call))
            elif isinstance(e, ToolResultEvent):
                parts.append(("result", e.result))
            elif isinstance(e, ErrorEvent):
                parts.append(("error", e))
    flush()
    return parts


def to_markdown(store: Store, conversation_id: str, lang: str = "en") -> str:
    """The conversation as a Markdown document: questions, tool steps (code and output) and answers."""
    conv = store.get(conversation_id)
    lines = [f"# {conv.title}", "", f"_{t(lang, 'export_heading', date=time.strftime('%Y-%m-%d %H:%M'))}_", ""]
    for turn in turns(store, conversation_id):
        lines += [f"## {t(lang, 'you')}", "", turn.text, ""]
        lines += [f"- {t(lang, 'attached', names=Path(p).name)}" for p in turn.attachments]
        lines += [f"## {t(lang, 'assistant')}", ""]
        for kind, value in answer_parts(turn):
            if kind == "text":
                lines += [value, ""]
            elif kind == "call":
                if value.is_interpreter:
                    lines += [f"**{t(lang, 'python')}**", "", *fence(str(value.arguments.get("code", "")), "python"), ""]
                else:
                    args = json.dumps(value.arguments, ensure_ascii=False, indent=2)
                    lines += [f"**{value.name}**", "", *fence(args, "json"), ""]
            elif kind == "result":
                head = t(lang, "output") if value.ok else t(lang, "error")
                body = output_text(value) or t(lang, "no_output")
                lines += [f"<details><summary>{head}</summary>", "", *fence(body, "text"), "", "</details>", ""]
                lines += [f"![{Path(p).name}]({p})" for p in value.images] + [""] * bool(value.images)
            elif kind == "error":
                lines += [f"> {value.message}", ""]
        found = sources(turn)
        if found:
            lines += [f"**{t(lang, 'sources')}**", ""]
            for s in found:
                quoted = "\n".join(f"  > {line}" for line in s.passage.splitlines())
                lines += [f"- {where(s, lang)}", "", quoted, ""]
    return "\n".join(lines).rstrip() + "\n"


def fence(body: str, lang: str) -> list[str]:
    """A fenced block that the body's own backticks cannot close."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    return [ticks + lang, body, ticks]


def to_json(store: Store, conversation_id: str) -> str:
    """Everything stored about the conversation: its record, the model's messages and the shown events."""
    conv = store.get(conversation_id)
    data = {"conversation": conv.__dict__,
            "messages": [m.to_dict() for m in store.messages(conversation_id)],
            "events": [{"turn": i, **d} for i, d in store.events(conversation_id)]}
    return json.dumps(data, ensure_ascii=False, indent=2)
