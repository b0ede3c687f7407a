"""SQLite persistence and sessions: what was shown is written as it happens and survives a restart."""
import pytest

from puyu.agent.agent import Agent
from puyu.agent.session import ChatSession
from puyu.agent.store import Store, agent_event
from puyu.tools.base import Toolbox

from puyu.core.messages import ErrorEvent, FinalEvent, Message, TokenEvent, ToolCallEvent
from tests.fakes import CODE, DictInterpreter, ScriptedModel


def session(tmp_path, replies):
    store = Store(tmp_path / "puyu.db")
    conv = store.create()
    agent = Agent(ScriptedModel(replies), Toolbox(interpreter=DictInterpreter()))
    return store, ChatSession(store, conv.id, agent)


def test_turn_is_stored_as_it_streams_and_reloads(tmp_path):
    store, chat = session(tmp_path, ["Sure." + CODE.format("print(2+3)"), "It is 5."])
    events = list(chat.send("what is 2+3?"))
    assert isinstance(events[-1], FinalEvent)
    again = Store(tmp_path / "puyu.db")  # a new process would open it like this
    assert [m.role for m in again.messages(chat.id)] == ["user", "assistant", "environment", "assistant"]
    rows = again.events(chat.id)
    assert rows[0][1] == {"type": "user", "text": "what is 2+3?", "files": []}
    kinds = [d["type"] for _, d in rows]
    assert "tool_call" in kinds and kinds[-1] == "final"
    shown = "".join(d["text"] for _, d in rows if d["type"] == "token")
    assert shown == "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert again.get(chat.id).title == "what is 2+3?"
    assert isinstance(agent_event(rows[-1][1]), FinalEvent)


def test_partial_answer_is_on_disk_before_the_turn_ends(tmp_path):
    store, chat = session(tmp_path, ["Sure." + CODE.format("print(1)"), "One."])
    stream = chat.send("q")
    for event in stream:
        if isinstance(event, ToolCallEvent):
            break  # the process "dies" here: nothing after this point runs
    rows = Store(tmp_path / "puyu.db").events(chat.id)
    assert [d["type"] for _, d in rows] == ["user", "token", "tool_call"]
    assert [m.role for m in Store(tmp_path / "puyu.db").messages(chat.id)] == ["user", "assistant"]


def test_regenerate_and_edit_replace_the_last_turn(tmp_path):
    store, chat = session(tmp_path, ["first", "second", "third", "fourth"])
    list(chat.send("one"))
    list(chat.send("two"))
    list(chat.regenerate())
    msgs = store.messages(chat.id)
    assert [m.content for m in msgs] == ["one", "first", "two", "third"]
    list(chat.edit_last("TWO"))
    assert [m.content for m in store.messages(chat.id)] == ["one", "first", "TWO", "fourth"]
    users = [d["text"] for _, d in store.events(chat.id) if d["type"] == "user"]
    assert users == ["one", "TWO"]


def test_files_follow_their_user_turn_and_survive_regenerate(tmp_path):
    store, chat = session(tmp_path, ["a", "b"])
    file_turn = Message("user", '[{"path": "/w/x.png", "size": "1K"}]', name="file")
    list(chat.send("look", [file_turn]))
    list(chat.regenerate())
    assert [(m.role, m.name) for m in store.messages(chat.id)] == [("user", None), ("user", "file"), ("assistant", None)]


def test_conversations_list_rename_delete(tmp_path):
    store = Store(tmp_path / "p.db")
    a, b = store.create("A"), store.create("B")
    store.rename(b.id, "Bee")
    store.add_message(a.id, Message("user", "hi"))
    assert [c.title for c in store.list()][0] == "A"  # most recently updated first
    store.delete(a.id)
    assert [c.title for c in store.list()] == ["Bee"] and store.messages(a.id) == []


def test_regenerate_and_edit_keep_each_answer_as_a_version_that_survives_a_reload(tmp_path):
    store, chat = session(tmp_path, ["first", "second", "third", "fourth", "fifth"])
    list(chat.send("one"))
    list(chat.send("two"))
    list(chat.regenerate())
    assert store.versions(chat.id) == {1: (2, 2)}
    list(chat.edit_last("TWO"))
    assert store.versions(chat.id) == {1: (3, 3)}
    chat.show_version(1, 1)
    again = Store(tmp_path / "puyu.db")
    assert [m.content for m in again.messages(chat.id)] == ["one", "first", "two", "second"]
    assert [d["text"] for _, d in again.events(chat.id) if d["type"] == "user"] == ["one", "two"]
    assert again.versions(chat.id) == {1: (1, 3)}
    chat.show_version(1, 3)
    assert [m.content for m in store.messages(chat.id)] == ["one", "first", "TWO", "fourth"]


def test_a_version_keeps_the_turns_that_followed_it(tmp_path):
    store, chat = session(tmp_path, ["a1", "b1", "b2", "c on b1", "c again"])
    list(chat.send("a"))
    list(chat.send("b"))
    list(chat.regenerate())          # turn 1: b1, b2 (shown)
    chat.show_version(1, 1)
    list(chat.send("c"))              # goes on from b1
    list(chat.regenerate())          # turn 2 of b1 gets versions of its own
    chat.show_version(1, 2)
    assert [m.content for m in store.messages(chat.id)] == ["a", "a1", "b", "b2"]
    assert store.versions(chat.id) == {1: (2, 2)}
    chat.show_version(1, 1)
    assert [m.content for m in store.messages(chat.id)] == ["a", "a1", "b", "b1", "c", "c again"]
    assert store.versions(chat.id) == {1: (1, 2), 2: (2, 2)}


def test_feedback_belongs_to_its_turn_and_moves_with_its_version(tmp_path):
    store, chat = session(tmp_path, ["first", "second", "again"])
    list(chat.send("one"))
    list(chat.send("two"))
    store.set_feedback(chat.id, 0, "up", "  exactly right ")
    store.set_feedback(chat.id, 1, "down")
    store.set_feedback(chat.id, 1, "up")  # a change replaces the verdict
    rows = [(t, d) for t, d in store.events(chat.id) if d["type"] == "feedback"]
    assert rows == [(0, {"type": "feedback", "rating": "up", "comment": "exactly right"}),
                    (1, {"type": "feedback", "rating": "up", "comment": ""})]
    list(chat.regenerate())  # the new answer has no verdict yet; the old one keeps its own
    assert [t for t, d in store.events(chat.id) if d["type"] == "feedback"] == [0]
    chat.show_version(1, 1)
    assert [t for t, d in store.events(chat.id) if d["type"] == "feedback"] == [0, 1]
    store.set_feedback(chat.id, 0, None)
    assert [t for t, d in store.events(chat.id) if d["type"] == "feedback"] == [1]
    with pytest.raises(ValueError):
        store.set_feedback(chat.id, 0, "meh")


def test_search_finds_titles_questions_and_answers(tmp_path):
    store, chat = session(tmp_path, ["The capital is Paris.", "50% off"])
    list(chat.send("capital of France?"))
    other = ChatSession(store, store.create().id, Agent(ScriptedModel(["Sure, 你好！"]), Toolbox()))
    list(other.send("say hello"))
    assert [c.id for c in store.search("PARIS")] == [chat.id]
    assert [c.id for c in store.search("你好")] == [other.id]
    assert [c.id for c in store.search("capital")] == [chat.id]
    assert store.search("%") == [] and store.search("nothing like this") == []
    assert {c.id for c in store.search("")} == {chat.id, other.id}


def test_titles_follow_the_first_question_in_any_language_until_the_user_renames(tmp_path):
    store, chat = session(tmp_path, ["答", "again", "third"])
    list(chat.send("你好，今天天气怎么样？"))
    assert store.get(chat.id).title == "你好，今天天气怎么样？"  # whatever the interface's word for "new chat"
    list(chat.edit_last("What is the weather like today?"))
    assert store.get(chat.id).title == "What is the weather like today?"
    chat.show_version(0, 1)
    assert store.get(chat.id).title == "你好，今天天气怎么样？"
    store.rename(chat.id, "Weather")
    list(chat.edit_last("And tomorrow?"))
    assert store.get(chat.id).title == "Weather"
    legacy = store.create("新对话")  # how the app used to create Chinese conversations
    list(ChatSession(store, legacy.id, Agent(ScriptedModel(["ok"]), Toolbox())).send("早上好"))
    assert store.get(legacy.id).title == "早上好"


def test_a_store_from_before_versions_and_feedback_opens_and_keeps_working(tmp_path):
    import json
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""
    CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}');
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, data TEXT NOT NULL,
        created REAL NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, turn INTEGER NOT NULL,
        data TEXT NOT NULL, created REAL NOT NULL);""")
    db.execute("INSERT INTO conversations VALUES ('old', 'Old chat', 1, 1, '{}')")
    for role, content in (("user", "hi"), ("assistant", "hello")):
        db.execute("INSERT INTO messages (conversation_id, data, created) VALUES ('old', ?, 1)",
                   (json.dumps({"role": role, "content": content}),))
    for data in ({"type": "user", "text": "hi", "files": []}, {"type": "final", "text": "hello"},
                 {"type": "error", "message": "Stopped.", "recoverable": False}):
        db.execute("INSERT INTO events (conversation_id, turn, data, created) VALUES ('old', 0, ?, 1)",
                   (json.dumps(data),))
    db.commit()
    db.close()
    store = Store(path)
    assert [agent_event(d) for _, d in store.events("old")][1:] == [FinalEvent("hello"), ErrorEvent("Stopped.")]
    assert store.versions("old") == {}
    chat = ChatSession(store, "old", Agent(ScriptedModel(["hello again"]), Toolbox()))
    list(chat.regenerate())
    assert store.versions("old") == {0: (2, 2)} and store.get("old").title == "Old chat"
