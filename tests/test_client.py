"""The UI's `puyu serve` client: a ChatSession whose agent runs on a real server subprocess."""
import json

import httpx
import pytest
from PIL import Image
from puyu.agent.session import ChatSession
from puyu.agent.store import Store
from puyu.tools.files import save_uploads
from puyu.ui import backend

from puyu.client import RemoteAgent
from puyu.core.messages import ErrorEvent, FinalEvent, ToolResultEvent
from puyu.core.config import Settings
from tests.serve_helpers import Server, write_script

# The interpreter keeps `x` between turns of one server conversation: 41 on the first turn, then 42, 43...
COUNTER = ["Counting.<|action_start|><|interpreter|>\n```python\ntry:\n    x += 1\nexcept NameError:\n    x = 41\n"
           "print(x)\n```<|action_end|>", "Counted."]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("client")
    srv = Server(tmp / "server-data", write_script(tmp / "script.json", COUNTER))
    yield srv
    srv.stop()


def session(server, tmp_path, cid=None):
    store = Store(tmp_path / "ui.db")
    cid = cid or store.create().id
    agent = RemoteAgent(server.url, links=tmp_path / "remote.json", local_id=cid)
    return ChatSession(store, cid, agent), store, cid


def counted(events) -> str:
    return next(e.result.text.strip() for e in list(events) if isinstance(e, ToolResultEvent))


def test_turns_continue_one_server_conversation_with_its_interpreter(server, tmp_path):
    chat, store, cid = session(server, tmp_path)
    first = list(chat.send("count"))
    assert counted(first) == "41" and isinstance(first[-1], FinalEvent) and first[-1].text == "Counted."
    assert counted(chat.send("again")) == "42"  # same server conversation: x survived
    local = store.messages(cid)
    remote_id = json.loads((tmp_path / "remote.json").read_text())[cid]["id"]
    remote = httpx.get(f"{server.url}/v1/conversations/{remote_id}").json()["messages"]
    assert [m["role"] for m in remote] == [m.role for m in local]  # both sides hold the same history
    assert [m.role for m in local].count("environment") == 2


def test_a_restarted_ui_picks_up_the_same_server_conversation(server, tmp_path):
    chat, store, cid = session(server, tmp_path)
    assert counted(chat.send("count")) == "41"
    chat2 = ChatSession(store, cid, RemoteAgent(server.url, links=tmp_path / "remote.json", local_id=cid))
    assert counted(chat2.send("again")) == "42"


def test_regenerate_starts_a_new_server_conversation_from_the_local_history(server, tmp_path):
    chat, store, cid = session(server, tmp_path)
    list(chat.send("count"))
    old = json.loads((tmp_path / "remote.json").read_text())[cid]["id"]
    events = list(chat.regenerate())
    assert counted(events) == "41"  # a fresh interpreter on the server
    assert json.loads((tmp_path / "remote.json").read_text())[cid]["id"] != old
    assert [m.role for m in store.messages(cid)] == ["user", "assistant", "environment", "assistant"]


def test_uploads_travel_inline_and_land_in_the_servers_work_dir(server, tmp_path):
    chat, store, cid = session(server, tmp_path)
    img = tmp_path / "dot.png"
    Image.new("RGB", (8, 8), "red").save(img)
    message = save_uploads(tmp_path / "ui-work", [("dot.png", img.read_bytes())])
    list(chat.send("what is in the picture?", [message]))
    remote_id = json.loads((tmp_path / "remote.json").read_text())[cid]["id"]
    remote = httpx.get(f"{server.url}/v1/conversations/{remote_id}").json()["messages"]
    file_turn = next(m for m in remote if m["name"] == "file")
    path = json.loads(file_turn["content"])[0]["path"]
    assert "server-data" in path and path.endswith("dot.png")  # the server's own copy, not the UI's path
    assert str(tmp_path / "ui-work") not in path


def test_a_refused_upload_is_a_clear_400(server):
    bad = [{"role": "user", "content": "look"},
           {"role": "user", "name": "file", "content": json.dumps([{"name": "x.png", "data_base64": "bm90IGFuIGltYWdl"}])}]
    r = httpx.post(server.url + "/v1/chat/completions", json={"messages": bad})
    assert r.status_code == 400 and "not a valid image" in r.json()["error"]["message"]


def test_server_down_is_a_backend_error_not_a_traceback(tmp_path):
    settings = Settings().replace(agent_url="http://127.0.0.1:9", data_dir=str(tmp_path))
    with pytest.raises(backend.BackendError, match="puyu serve"):
        backend.open_chat(settings, "c1")


def test_server_dying_mid_conversation_is_an_error_event(tmp_path):
    srv = Server(tmp_path / "data", write_script(tmp_path / "s.json", COUNTER))
    chat, store, cid = session(srv, tmp_path)
    list(chat.send("count"))
    srv.kill9()
    events = list(chat.send("again"))
    assert isinstance(events[-1], ErrorEvent) and "puyu serve" in events[-1].message
    assert store.messages(cid)[-1].role == "user"  # the question is kept for a retry
