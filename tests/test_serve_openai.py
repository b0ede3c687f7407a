"""`puyu serve` as an OpenAI endpoint, driven by the official `openai` library (sync, async, streaming): the same
content streamed and whole, usage, stop, content parts and image uploads, the developer role, one model id,
refusals, errors as HTTP errors (and as an error event mid-stream), and a client's own tools as `tool_calls`."""
from __future__ import annotations

import asyncio
import base64
import io
import json

import httpx
import openai
import pytest
from PIL import Image

from tests.serve_helpers import Server

CALL = "Let me compute that.<|action_start|><|interpreter|>\n```python\nx = 6 * 7\nprint(x)\n```<|action_end|>"
WEATHER = ('<|action_start|><|plugin|>\n{"name": "get_weather", "parameters": {"city": "Paris"}}'
           "<|action_end|>")
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "the city"}},
                   "required": ["city"]}}}
QUESTION = [{"role": "user", "content": "what is 6*7?"}]


def start(tmp, name, replies, extra=()):
    log = tmp / f"{name}.log.jsonl"
    script = tmp / f"{name}.json"
    script.write_text(json.dumps({"replies": replies, "log": str(log)}))
    return Server(tmp / f"{name}-data", script, extra=list(extra)), log


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv, log = start(tmp_path_factory.mktemp("wire"), "agent", [CALL, "The answer is 42."])
    srv.log = log
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def test_streamed_and_unstreamed_content_are_the_same_text(server, client):
    whole = client.chat.completions.create(model="puyu", messages=QUESTION)
    chunks = list(client.chat.completions.create(model="puyu", messages=QUESTION, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    async def async_stream():
        aclient = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
        parts = [c.choices[0].delta.content or "" async for c in await aclient.chat.completions.create(
            model="puyu", messages=QUESTION, stream=True) if c.choices]
        whole_async = await aclient.chat.completions.create(model="puyu", messages=QUESTION)
        await aclient.close()
        return "".join(parts), whole_async.choices[0].message.content

    async_streamed, async_whole = asyncio.run(async_stream())
    assert whole.choices[0].message.content == streamed == async_streamed == async_whole == (
        "Let me compute that.\n\nThe answer is 42.")
    assert whole.choices[0].finish_reason == chunks[-1].choices[0].finish_reason == "stop"
    steps = [e["type"] for e in whole.model_extra["puyu_events"]]
    assert steps == ["tool_call", "tool_result", "final"]
    assert [c.model_extra["puyu_event"]["type"] for c in chunks if c.model_extra.get("puyu_event")] == steps


def test_usage_counts_the_models_tokens_also_when_streamed(server, client):
    before = len(server.log.read_text().splitlines()) if server.log.exists() else 0
    whole = client.chat.completions.create(model="puyu", messages=QUESTION)
    prompts = [json.loads(line)["prompt"] for line in server.log.read_text().splitlines()[before:]]
    # the replay model's tokens are its 4-character chunks: what the agent read (two prompts) and wrote
    assert whole.usage.prompt_tokens == sum(-(-len(p) // 4) for p in prompts)
    written = CALL.removesuffix("<|action_end|>"), "The answer is 42."
    assert whole.usage.completion_tokens == sum(-(-len(t) // 4) for t in written)
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens
    chunks = list(client.chat.completions.create(model="puyu", messages=QUESTION, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    plain = list(client.chat.completions.create(model="puyu", messages=QUESTION, stream=True))
    assert all(c.usage is None for c in plain)


def test_stop_ends_every_model_reply_there(client):
    answer = client.chat.completions.create(model="puyu", messages=QUESTION, stop=["42"])
    assert answer.choices[0].message.content.rstrip() == "Let me compute that.\n\nThe answer is"


def test_content_parts_developer_role_and_an_image_upload(server, client):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    answer = client.chat.completions.create(model="puyu", messages=[
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "what is 6*7?"},
                                     {"type": "image_url", "image_url": {"url": url}}]}])
    stored = httpx.get(f"{server.url}/v1/conversations/{answer.model_extra['conversation_id']}").json()["messages"]
    assert [(m["role"], m["name"]) for m in stored[:3]] == [("system", None), ("user", None), ("user", "file")]
    assert stored[0]["content"] == "Be brief." and stored[1]["content"] == "what is 6*7?"
    assert json.loads(stored[2]["content"])[0]["path"].endswith("image-1.png")
    with pytest.raises(openai.BadRequestError, match="only data: URLs"):
        client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}}]}])


def test_one_model_id_everywhere(client):
    assert [m.id for m in client.models.list()] == ["puyu"]
    assert client.chat.completions.create(model="puyu", messages=QUESTION).model == "puyu"
    with pytest.raises(openai.NotFoundError, match="no model 'gpt-4o'"):
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)


@pytest.mark.parametrize("kwargs, words", [
    ({"n": 2}, "n: puyu serve answers with one choice"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"logprobs": True}, "logprobs"),
    ({"tool_choice": "required", "tools": [WEATHER_TOOL]}, "tool_choice"),
    ({"presence_penalty": 0.5}, "presence_penalty"),
    ({"extra_body": {"best_of": 2}}, "best_of"),
])
def test_what_puyu_cannot_honour_is_refused(client, kwargs, words):
    with pytest.raises(openai.BadRequestError, match=words) as e:
        client.chat.completions.create(model="puyu", messages=QUESTION, **kwargs)
    assert e.value.status_code == 400 and e.value.body["message"]


def test_a_failed_turn_is_an_http_error_or_an_error_event(tmp_path):
    srv, _ = start(tmp_path, "failing", [CALL], extra=["--max-steps", "1"])
    try:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.InternalServerError, match="No answer within 1 steps") as e:
            client.chat.completions.create(model="puyu", messages=QUESTION)
        assert e.value.body["type"] == "server_error"
        seen = []
        with pytest.raises(openai.APIError, match="No answer within 1 steps"):
            for c in client.chat.completions.create(model="puyu", messages=QUESTION, stream=True):
                seen.append(c)  # noqa: PERF402  (the chunks before the error event)
        assert any(c.model_extra.get("puyu_event", {}).get("type") == "tool_result" for c in seen)
    finally:
        srv.stop()


def test_a_clients_own_tools_come_back_as_tool_calls(tmp_path):
    srv, _ = start(tmp_path, "tools", [WEATHER, "It is sunny in Paris."])
    try:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0)
        ask = [{"role": "user", "content": "Weather in Paris?"}]
        first = client.chat.completions.create(model="puyu", messages=ask, tools=[WEATHER_TOOL])
        message = first.choices[0].message
        assert first.choices[0].finish_reason == "tool_calls"
        call = message.tool_calls[0]
        assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
        streamed = list(client.chat.completions.create(model="puyu", messages=ask, tools=[WEATHER_TOOL],
                                                       stream=True))
        deltas = [d for c in streamed if c.choices for d in c.choices[0].delta.tool_calls or []]
        assert [(d.id, d.function.name, d.function.arguments) for d in deltas] == [
            (d.id, call.function.name, call.function.arguments) for d in deltas[:1]]
        assert streamed[-1].choices[0].finish_reason == "tool_calls"
        # the client runs its tool and sends the result back, statelessly: the agent goes on from there
        history = [*ask, message.model_dump(exclude_none=True),
                   {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"}]
        final = client.chat.completions.create(model="puyu", messages=history, tools=[WEATHER_TOOL])
        assert final.choices[0].message.content == "It is sunny in Paris."
        assert final.choices[0].finish_reason == "stop"
        # ... or in the conversation puyu keeps
        cid = first.model_extra["conversation_id"]
        again = client.chat.completions.create(model="puyu", tools=[WEATHER_TOOL], extra_body={"conversation_id": cid},
                                               messages=[{"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
        assert again.choices[0].message.content == "It is sunny in Paris."
        stored = httpx.get(f"{srv.url}/v1/conversations/{cid}").json()["messages"]
        assert [m["role"] for m in stored] == ["user", "assistant", "environment", "assistant"]
    finally:
        srv.stop()


def test_usage_of_the_bundled_model_is_what_its_tokenizer_counts():
    """The usage puyu serve reports is the agent's: every prompt as the model read it (with <s>) and every reply."""
    from transformers import AutoTokenizer

    from puyu.agent.agent import Agent
    from puyu.core.messages import Message
    from puyu.core.protocols import InternLM2Protocol
    from puyu.models import BUNDLED_MODEL, ModelSpec, load
    from puyu.tools.base import Toolbox
    from tests.fakes import DictInterpreter

    model = load(ModelSpec())
    calls = []
    stream = model.stream
    model.stream = lambda prompt, gen: calls.append([prompt, ""]) or (
        calls[-1].__setitem__(1, calls[-1][1] + d) or d for d in stream(prompt, gen))
    agent = Agent(model, Toolbox(interpreter=DictInterpreter()), InternLM2Protocol(style="compact"))
    list(agent.run([Message("user", "What is 15% of 100?")]))
    tok = AutoTokenizer.from_pretrained(BUNDLED_MODEL)
    assert len(calls) == 2  # the interpreter call, then the answer
    assert agent.usage.prompt_tokens == sum(len(tok(p)["input_ids"]) for p, _ in calls)
    assert agent.usage.completion_tokens == sum(len(tok(t, add_special_tokens=False)["input_ids"]) for _, t in calls)
