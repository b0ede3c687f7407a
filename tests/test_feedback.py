"""Answers people liked become training records: `puyu train data --from-feedback`."""
from __future__ import annotations

from puyu.agent.agent import Agent
from puyu.agent.session import ChatSession
from puyu.agent.store import Store
from puyu.cli import main as puyu
from puyu.core.records import read_jsonl
from puyu.tools.base import Toolbox
from puyu.training.data.feedback import from_feedback
from tests.fakes import CODE, DictInterpreter, ScriptedModel


def chat(store: Store, replies: list[str], settings: dict | None = None) -> ChatSession:
    conv = store.create(settings=settings or {"model.name": "bundled", "model.backend": "transformers"})
    return ChatSession(store, conv.id, Agent(ScriptedModel(replies), Toolbox(interpreter=DictInterpreter())))


def test_liked_answers_become_records_with_loss_on_that_answer_only(tmp_path):
    store = Store(tmp_path / "puyu.db")
    a = chat(store, ["Let me compute." + CODE.format("print(6 * 7)"), "It is 42.", "Hello!", "Bye."])
    list(a.send("What is 6 times 7?"))
    list(a.send("hi"))
    list(a.send("bye"))
    store.set_feedback(a.id, 0, "up", "right, and it showed the code")
    store.set_feedback(a.id, 1, "down")
    b = chat(store, ["Wrong.", "Right: 42."])  # regenerated: the liked second answer is kept, the first is not
    list(b.send("6 * 7?"))
    store.set_feedback(b.id, 0, "down")
    list(b.regenerate())
    store.set_feedback(b.id, 0, "up")
    b.show_version(0, 1)  # the liked one need not be on show

    records, skipped = from_feedback(store, tmp_path / "knowledge")
    assert not skipped and len(records) == 2
    first = next(r for r in records if r.meta["conversation"] == a.id)
    assert [(t.role, t.loss) for t in first.conversation] == [
        ("user", False), ("assistant", True), ("environment", False), ("assistant", True)]
    assert first.conversation[1].tool_call == {"name": "python", "arguments": {"code": "print(6 * 7)"}}
    assert first.meta["comment"] == "right, and it showed the code" and first.interpreter
    assert [t["name"] for t in first.tools] == ["ocr"]  # what the small bundled model's prompt showed
    second = next(r for r in records if r.meta["conversation"] == b.id)
    assert [t.content for t in second.conversation] == ["6 * 7?", "Right: 42."]


def test_a_liked_answer_in_a_later_turn_keeps_the_earlier_turns_without_loss(tmp_path):
    store = Store(tmp_path / "puyu.db")
    a = chat(store, ["One.", "Two."], {"agent.tools": ["solve"], "agent.interpreter": False})
    list(a.send("first"))
    list(a.send("second"))
    store.set_feedback(a.id, 1, "up")
    [rec], _ = from_feedback(store, tmp_path / "knowledge")
    assert [(t.content, t.loss) for t in rec.conversation] == [
        ("first", False), ("One.", False), ("second", False), ("Two.", True)]
    assert [t["name"] for t in rec.tools] == ["solve"] and not rec.interpreter


def test_the_command_writes_the_training_format(tmp_path, capsys):
    store = Store(tmp_path / "puyu.db")
    a = chat(store, ["它是 42。", "stopped early"])
    list(a.send("六乘七是多少？"))
    store.set_feedback(a.id, 0, "up")
    out = tmp_path / "feedback.jsonl"
    assert puyu(["train", "data", "--from-feedback", "--data-dir", str(tmp_path), "--out", str(out)]) == 0
    [rec] = list(read_jsonl(out))
    rec.validate()
    assert rec.lang == "zh" and rec.meta["category"] == "feedback"
    assert "wrote 1 training record" in capsys.readouterr().out
    assert puyu(["train", "data", "--from-feedback", "--data-dir", str(tmp_path / "none"), "--out", str(out)]) == 2
