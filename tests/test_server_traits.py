"""The openai backend adapts to the server it talks to (models/server_traits.py): which endpoint, which fields, and
whether tool-call tokens survive, learned once per server, against a fake server of each kind. The real servers
are in tests/test_server_matrix.py."""
from __future__ import annotations

import json

import pytest

from puyu.agent.agent import Agent
from puyu.core.config import AgentConfig, GenerationConfig
from puyu.core.messages import FinalEvent, Message
from puyu.core.protocols import InternLM2Protocol, OpenAIToolsProtocol, ReActProtocol
from puyu.models.base import ModelError
from puyu.models.openai_api import OpenAIModel
from puyu.tools.base import Toolbox
from tests.fakes import DictInterpreter
from tests.test_models_openai import server  # noqa: F401  (the fake OpenAI-compatible server fixture)


def model_folder(tmp_path, special: bool):
    """A served model's folder as puyu finds it: a tokenizer whose <|action_start|> is special or not."""
    folder = tmp_path / ("internlm2" if special else "puyu-tiny")
    folder.mkdir()
    added = [{"id": 6, "content": "<|action_start|>", "special": special}]
    (folder / "tokenizer.json").write_text(json.dumps({"added_tokens": added}))
    return str(folder)


def connect(server, name, **kw):  # noqa: F811
    return OpenAIModel(server.url, model=name, max_retries=0, **kw)


@pytest.mark.parametrize("kind", ["strict", "stripping"])
def test_a_server_that_drops_special_tokens_is_named_not_misread(server, tmp_path, kind):  # noqa: F811
    server.server_kind = kind
    m = connect(server, model_folder(tmp_path, special=True))
    with pytest.raises(ModelError, match=r"drops special tokens .*Fix: .*--agent.protocol openai") as e:
        m.endpoint_for(InternLM2Protocol())
    reason = "refused skip_special_tokens" if kind == "strict" else "forced <|action_start|> came back as empty"
    assert reason in str(e.value) and "\n" not in str(e.value)
    # the same turn through the agent: one clear error, no answer made of the call's remains
    events = list(Agent(m, Toolbox(interpreter=DictInterpreter()), InternLM2Protocol()).run([Message("user", "hi")]))
    assert not any(isinstance(e, FinalEvent) for e in events) and "drops special tokens" in events[-1].message
    assert server.requests == []  # nothing was generated for it
    assert m.endpoint_for(ReActProtocol()) == "prompt"  # ReAct needs no special tokens


def test_puyus_own_tokens_survive_a_strict_server_which_gets_no_unknown_fields(server, tmp_path):  # noqa: F811
    server.server_kind = "strict"
    m = connect(server, model_folder(tmp_path, special=False))
    assert m.endpoint_for(InternLM2Protocol()) == "prompt"
    "".join(m.stream("p", GenerationConfig(max_new_tokens=8)))
    assert "skip_special_tokens" not in server.requests[-1]  # refused once, never sent again
    assert [("skip_special_tokens" in p, "logit_bias" in p) for p in server.probes] == [
        (True, False), (False, False), (False, True)]


def test_lmdeploy_like_server_keeps_the_fields_and_is_asked_once(server, tmp_path):  # noqa: F811
    name = model_folder(tmp_path, special=True)
    m = connect(server, name)
    assert m.endpoint_for(InternLM2Protocol()) == "prompt"
    probes = len(server.probes)
    assert connect(server, name).endpoint_for(InternLM2Protocol()) == "prompt"  # another client: remembered
    assert len(server.probes) == probes
    "".join(m.stream("p", GenerationConfig(max_new_tokens=8)))
    assert server.requests[-1]["skip_special_tokens"] is False


def test_a_chat_only_server_gets_the_conversation_for_its_template(server, tmp_path):  # noqa: F811
    server.server_kind = "chat_only"
    m = connect(server, model_folder(tmp_path, special=False))
    assert m.endpoint_for(InternLM2Protocol()) == "chat"
    agent = Agent(m, Toolbox(interpreter=DictInterpreter()), InternLM2Protocol(style="compact"),
                  AgentConfig(max_steps=1))
    events = list(agent.run([Message("user", "weather?")]))
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["messages"] == [{"role": "user", "content": "weather?"}]
    assert [t["function"]["name"] for t in sent["tools"]] == ["python"]
    assert sent["stop"] == ["<|action_end|>", "<|im_end|>"]
    assert any(getattr(e, "call", None) and e.call.name == "search" for e in events)  # the server's parsed call
    with pytest.raises(ModelError, match="no /v1/completions; use --model.endpoint chat"):
        connect(server, "other", endpoint="completions").endpoint_for(InternLM2Protocol())


def test_endpoint_setting_wins_and_openai_tools_need_chat(server):  # noqa: F811
    assert connect(server, "m", endpoint="chat").endpoint_for(InternLM2Protocol()) == "chat"
    assert connect(server, "m").endpoint_for(OpenAIToolsProtocol()) == "chat"
    with pytest.raises(ModelError, match="drop --model.endpoint completions"):
        connect(server, "m", endpoint="completions").endpoint_for(OpenAIToolsProtocol())
    assert server.probes == []  # neither needed to ask the server


def test_openai_protocol_reads_an_internlm2_call_from_text():
    # a server with no tool parser for puyu's models returns the call as text, tokens included
    parsed = OpenAIToolsProtocol().parse('Let me run it.<|action_start|><|interpreter|>\n```python\nprint(1)\n```'
                                         '<|action_end|>')
    assert parsed.text == "Let me run it." and parsed.call.name == "python"
    assert parsed.call.arguments == {"code": "print(1)"}
    assert OpenAIToolsProtocol().parse(" plain answer ").text == "plain answer"
