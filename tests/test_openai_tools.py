"""The OpenAI tool_calls protocol: structured calls from /v1/chat/completions run through the same agent loop."""
from types import SimpleNamespace

from lagent.actions import BaseAction, tool_api
from puyu.agent.agent import Agent
from puyu.core.config import AgentConfig
from puyu.models.base import ChatModel
from puyu.models.openai_api import OpenAIModel
from puyu.tools.base import Toolbox

from puyu.core.messages import ErrorEvent, FinalEvent, Message, ToolCallEvent, ToolResultEvent
from puyu.core.protocols import OpenAIToolsProtocol
from tests.fakes import DictInterpreter
from tests.test_models_openai import server  # noqa: F401  (the fake OpenAI-compatible server fixture)


class search(BaseAction):  # noqa: N801  (the tool's name as the fake server calls it)
    """Search the web."""

    @tool_api
    def run(self, query: str) -> dict:
        """Search the web.

        Args:
            query (str): what to look for
        """
        return {"results": [f"sunny, for {query}"]}


class ChatDouble(ChatModel):
    """A backend double with chat(): yields scripted items (str, or a call namespace) per request."""

    name = "chat-double"

    def __init__(self, turns):
        self.turns, self.requests = list(turns), []

    def endpoint_for(self, protocol):
        return "chat"

    def stream(self, prompt, gen):
        raise AssertionError("the chat protocol sends no raw prompt")

    def chat(self, messages, tools, gen):
        self.requests.append((messages, tools))
        yield from self.turns.pop(0)


def call(name, arguments, id="c1"):
    return SimpleNamespace(name=name, arguments=arguments, id=id)


def test_tool_call_result_and_answer_round_trip():
    model = ChatDouble([["Let me run it. ", call("python", '{"code": "print(6 * 7)"}')], ["It is 42."]])
    agent = Agent(model, Toolbox(interpreter=DictInterpreter()), OpenAIToolsProtocol())
    events = list(agent.run([Message("user", "6*7?")]))
    assert isinstance(events[-1], FinalEvent) and events[-1].text == "It is 42."
    result = next(e for e in events if isinstance(e, ToolResultEvent)).result
    assert result.text.strip() == "42"
    messages, tools = model.requests[1]
    assert [t["function"]["name"] for t in tools] == ["python"]
    assert messages[-2]["tool_calls"][0]["function"]["name"] == "python"
    assert messages[-1] == {"role": "tool", "tool_call_id": "c1", "content": "42\n"}


def test_malformed_arguments_become_an_observation():
    model = ChatDouble([[call("python", '{"code": ')], ["Sorry."]])
    agent = Agent(model, Toolbox(interpreter=DictInterpreter()), OpenAIToolsProtocol())
    events = list(agent.run([Message("user", "x")]))
    assert any(isinstance(e, ErrorEvent) and e.recoverable and "not valid JSON" in e.message for e in events)
    assert isinstance(events[-1], FinalEvent)


def test_through_the_real_openai_backend(server):  # noqa: F811
    model = OpenAIModel(server.url, model="m", max_retries=0)
    agent = Agent(model, Toolbox([search()]), OpenAIToolsProtocol(), AgentConfig(max_steps=2))
    events = list(agent.run([Message("user", "weather?")]))
    first = next(e for e in events if isinstance(e, ToolCallEvent)).call
    assert (first.name, first.arguments) == ("search", {"query": "weather"})
    result = next(e for e in events if isinstance(e, ToolResultEvent)).result
    assert result.ok and "sunny, for weather" in result.text
    sent = server.requests[1]
    assert sent["tools"][0]["function"]["name"] == "search"
    assert sent["messages"][-1]["role"] == "tool" and "sunny" in sent["messages"][-1]["content"]
