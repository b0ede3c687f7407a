"""SQLite persistence and sessions: what was shown is written as it happens and survives a restart."""
from puyu.agent.agent import Agent
from puyu.agent.session import ChatSession
from puyu.agent.store import Store, agent_event
from puyu.tools.base import Toolbox

from puyu.core.messages import FinalEvent, Message, TokenEvent, ToolCallEvent
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
