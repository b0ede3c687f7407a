"""`puyu serve` through real HTTP: the openai client, bad requests, API keys, and kill -9 mid-answer."""
import httpx
import openai
import pytest

from tests.serve_helpers import Server, write_script


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    srv = Server(tmp / "data", write_script(tmp / "script.json"))
    yield srv
    srv.stop()


def test_openai_client_streams_an_agent_turn(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    chunks = list(client.chat.completions.create(
        model="puyu", stream=True, messages=[{"role": "user", "content": "what is 6*7?"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("Let me compute that.") and "The answer is 42." in text
    events = [c.model_extra.get("puyu_event") for c in chunks if c.model_extra.get("puyu_event")]
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["result"]["text"].strip() == "42"  # computed by the real interpreter
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_non_streaming_answer_and_conversation_continues(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    first = client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": "6*7?"}])
    assert first.choices[0].message.content == "Let me compute that.\n\nThe answer is 42."
    cid = first.model_extra["conversation_id"]
    client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": "again"}],
                                   extra_body={"conversation_id": cid})
    stored = httpx.get(f"{server.url}/v1/conversations/{cid}").json()
    assert [m["role"] for m in stored["messages"]].count("user") == 2


@pytest.mark.parametrize("body,status,words", [
    ({}, 400, "messages"),
    ({"messages": []}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "x"}], "temperature": 7}, 400, "temperature"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
    ({"messages": [{"role": "assistant", "content": "x"}]}, 400, "last message"),
    ({"messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "one choice per request"),
    ({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}, 400, "JSON"),
    ({"messages": [{"role": "user", "content": "x"}], "best_of": 3}, 400, "best_of"),
    ({"messages": [{"role": "tool", "content": "x"}]}, 400, "must follow the assistant message"),
    ({"messages": [{"role": "user", "content": "x"}], "conversation_id": "nope"}, 404, "no conversation"),
])
def test_bad_requests_get_4xx_with_a_message(server, body, status, words):
    r = httpx.post(server.url + "/v1/chat/completions", json=body)
    assert r.status_code == status and words in r.json()["error"]["message"]


def test_malformed_json_is_a_400(server):
    r = httpx.post(server.url + "/v1/chat/completions", content=b"{not json",
                   headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_api_key_is_enforced(tmp_path):
    srv = Server(tmp_path / "data", write_script(tmp_path / "s.json"), extra=["--server-api-key", "sesame"])
    try:
        body = {"messages": [{"role": "user", "content": "hi"}]}
        assert httpx.post(srv.url + "/v1/chat/completions", json=body).status_code == 401
        ok = httpx.post(srv.url + "/v1/chat/completions", json=body, headers={"Authorization": "Bearer sesame"},
                        timeout=60)
        assert ok.status_code == 200
    finally:
        srv.stop()


def test_kill_9_mid_answer_loses_nothing_already_streamed(tmp_path):
    long_answer = "This answer streams slowly, one small chunk at a time, " * 20
    script = write_script(tmp_path / "s.json", [long_answer], delay_s=0.02)
    srv = Server(tmp_path / "data", script)
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x")
    done = client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": "first"}])
    seen, cid = "", None
    stream = client.chat.completions.create(model="puyu", stream=True,
                                            messages=[{"role": "user", "content": "second"}])
    for chunk in stream:
        cid = chunk.model_extra["conversation_id"]
        seen += chunk.choices[0].delta.content or ""
        if len(seen) > 200:
            srv.kill9()  # mid-answer
            break
    srv = Server(tmp_path / "data", script)  # the server comes back on the same data
    try:
        finished = httpx.get(f"{srv.url}/v1/conversations/{done.model_extra['conversation_id']}").json()
        assert finished["messages"][-1]["content"] == done.choices[0].message.content
        partial = httpx.get(f"{srv.url}/v1/conversations/{cid}").json()
        stored = "".join(e["text"] for e in partial["events"] if e["type"] == "token")
        assert partial["events"][0]["text"] == "second"
        assert stored.startswith(seen) and len(seen) > 200  # everything the client saw was on disk
    finally:
        srv.stop()
