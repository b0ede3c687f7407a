"""OpenAI `tool_calls`, for servers that take `tools` on /v1/chat/completions and return structured calls
(LMDeploy's api_server with a tool parser, vLLM, hosted APIs). There is no prompt text to render: the model
backend's `chat(messages, tools, gen)` yields text and finished tool calls, and the agent reads those. The
interpreter is offered as a function `python(code)`. A server with no tool parser for the model returns the call as
text; an InternLM2 call in that text (puyu's own models write them) is read as the InternLM2 protocol reads it."""
from __future__ import annotations

import json

from puyu.core.messages import Message
from puyu.core.protocols.base import Parsed, Protocol, Segment, chat_turn
from puyu.core.protocols.internlm2 import ACTION_START, parse_reply
from puyu.core.protocols.openai_format import chat_messages, function_tool
from puyu.core.protocols.react import PYTHON_TOOL

__all__ = ["OpenAIToolsProtocol", "function_tool"]


class OpenAIToolsProtocol(Protocol):
    native_tools = True
    stop: list[str] = []
    call_markers = (ACTION_START,)

    def __init__(self, language: str = "en", system: str | None = None):
        """`system`: the opening system prompt; None leaves it to the server's chat template (its model's own)."""
        self.language = language
        self.system = system

    def tools(self, tools: list[dict], interpreter: bool) -> list[dict]:
        return [function_tool(t) for t in ([PYTHON_TOOL] if interpreter else []) + list(tools)]

    def chat_messages(self, messages: list[Message]) -> list[dict]:
        return chat_messages(messages, self.system, turn=chat_turn)

    def chat_request(self, messages, tools, interpreter):
        return self.chat_messages(messages), self.tools(tools, interpreter)

    def segments(self, messages, tools, interpreter):
        return [Segment(json.dumps(self.chat_messages(messages), ensure_ascii=False), False, -1)]

    def parse(self, text: str) -> Parsed:
        return parse_reply(text) if ACTION_START in text else Parsed(text.strip())
