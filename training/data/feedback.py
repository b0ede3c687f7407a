"""Answers people liked in the app, as training rows: `puyu train data --from-feedback --out data/feedback.jsonl`.

Every answer given a thumbs up (in any version of its turn) becomes one record in puyu's training format
(puyu.core.records): the conversation up to and including that answer, with loss on the liked answer's own
assistant turns (its tool calls and its reply) and none on what came before, with the tools and interpreter
setting the conversation answered with. Answers given a thumbs down, or none, are left out; so are those whose
turn did not end in a reply (stopped, failed), which are counted by reason. The rows train like any other:
`puyu train lora --config training/configs/lora-puyu-tiny.yaml --data data/feedback.jsonl`, or appended to
`data/agent/train.jsonl` for the next bundled model.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from puyu.agent.store import Store
from puyu.core.config import ModelSpec, Settings, default_data_dir, env_values
from puyu.core.dataclass_cli import parse
from puyu.core.messages import Message
from puyu.core.records import Record, Turn, write_jsonl

FLAG = "--from-feedback"
"""`puyu train data --from-feedback ...` is this module (the rest of `puyu train data` builds generated data)."""
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class FeedbackConfig:
    """Turn the answers people liked in the app into training records."""

    data_dir: str = field(default_factory=lambda: env_values(Settings).get("data_dir") or default_data_dir())
    """The app's data dir (its conversations' SQLite store is puyu.db there); default $PUYU_DATA_DIR, else the
    app's default."""
    out: Path = Path("data/feedback.jsonl")
    """Where the records go (JSON lines, puyu's training format)."""


@dataclass
class Branch:
    """One way through a conversation: its messages and event rows, and the versions that branch off it."""

    messages: list[dict]
    events: list[tuple[int, dict]]
    versions: list[tuple[int, int, str | None]]
    first_turn: int = 0
    """Turns before this one belong to another path already read (a version shares the turns before it)."""


def turn_spans(messages: list[dict]) -> list[tuple[int, int]]:
    """[start, end) of each user turn in `messages`: a question (not an upload turn) opens one."""
    starts = [i for i, m in enumerate(messages) if m["role"] == "user" and m.get("name") != "file"]
    return list(zip(starts, starts[1:] + [len(messages)]))


def paths(store: Store, conversation_id: str) -> Iterator[Branch]:
    """The conversation as shown, then every hidden version of a turn, each with the turns before it."""
    shown = Branch([m.to_dict() for m in store.messages(conversation_id)], store.events(conversation_id), [])
    yield shown
    todo = [(shown, turn, tail) for turn, tail in store.hidden_versions(conversation_id)]
    while todo:
        base, turn, tail = todo.pop(0)
        spans = turn_spans(base.messages)
        cut = spans[turn][0] if turn < len(spans) else len(base.messages)
        path = Branch(base.messages[:cut] + tail["messages"],
                     [(t, d) for t, d in base.events if t < turn] + [(t, d) for t, d in tail["events"]],
                     tail["versions"], first_turn=turn)
        yield path
        todo += [(path, t, json.loads(v)) for t, _, v in path.versions if v is not None]


def liked(path: Branch) -> dict[int, str]:
    """{turn: comment} of the answers on this path given a thumbs up."""
    return {t: d.get("comment", "") for t, d in path.events
            if d.get("type") == "feedback" and d.get("rating") == "up" and t >= path.first_turn}


def record(path: Branch, turn: int, tools: list[dict], interpreter: bool, meta: dict) -> Record:
    """The record of the liked answer of `turn`: loss on that answer's assistant turns only."""
    start, end = turn_spans(path.messages)[turn]
    turns = [Turn.from_message(Message.from_dict(m), loss=i >= start and m["role"] == "assistant")
             for i, m in enumerate(path.messages[:end])]
    question = path.messages[start]["content"]
    rec = Record(turns, tools, interpreter, {**meta, "turn": turn, "lang": "zh" if _CJK.search(question) else "en"})
    rec.validate()
    return rec


def conversation_tools(settings: dict, kb_dir: Path, called: set[str]) -> tuple[list[dict], bool]:
    """The plugin schemas the conversation's prompt showed (its own choice, else its model's default) plus any
    plugin its answers called, and whether its interpreter was on."""
    from puyu.agent.factory import default_plugins
    from puyu.models import model_card
    from puyu.models.base import ModelError
    from puyu.tools.base import as_action, tool_schema
    from puyu.tools.registry import TOOL_NAMES, default_tools

    chosen = settings.get("agent.tools", settings.get("tools"))
    if chosen is None:
        spec = {k.split(".", 1)[1]: v for k, v in settings.items() if k.startswith("model.")}
        try:
            chosen = default_plugins(model_card(ModelSpec(**spec)), kb_dir)
        except (TypeError, ValueError, ModelError):  # settings or a card this version cannot read
            chosen = None
        chosen = [n for n in TOOL_NAMES if n != "vqa"] if chosen is None else chosen
    names = [n for n in TOOL_NAMES if n in set(chosen) | called and n != "vqa"]
    with _scratch() as workdir:
        schemas = [tool_schema(as_action(t)) for t in default_tools(workdir, kb_dir, set(names))]
    return schemas, bool(settings.get("agent.interpreter", settings.get("interpreter", True)))


def _scratch():
    import tempfile

    return tempfile.TemporaryDirectory(prefix="puyu-feedback-")


def from_feedback(store: Store, kb_dir: Path) -> tuple[list[Record], Counter]:
    """Every liked answer in the store as a record, and why the others that were liked could not be used."""
    records, skipped = [], Counter()
    for conv in store.list():
        for path in paths(store, conv.id):
            picks = liked(path)
            if not picks:
                continue
            called = {m["tool_call"]["name"] for m in path.messages if m.get("tool_call")}
            tools, interpreter = conversation_tools(conv.settings, kb_dir, called)
            for turn, comment in sorted(picks.items()):
                meta = {"category": "feedback", "source": "app", "conversation": conv.id, "comment": comment}
                try:
                    records.append(record(path, turn, tools, interpreter, meta))
                except (ValueError, IndexError) as e:
                    skipped[str(e).split(":")[-1].strip() or type(e).__name__] += 1
    return records, skipped


def main(argv: list[str] | None = None) -> int:
    cfg = parse(FeedbackConfig, argv, prog=f"puyu train data {FLAG}")
    data = Path(cfg.data_dir).expanduser()
    if not (data / "puyu.db").is_file():
        print(f"no conversations at {data / 'puyu.db'} (--data-dir is the app's data dir)", file=sys.stderr)
        return 2
    records, skipped = from_feedback(Store(data / "puyu.db"), data / "knowledge")
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    n = write_jsonl(cfg.out, records)
    print(f"wrote {n} training record(s) from liked answers to {cfg.out}")
    for reason, count in skipped.most_common():
        print(f"skipped {count} liked answer(s): {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
