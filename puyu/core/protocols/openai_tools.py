"""OpenAI `tool_calls`, for servers that take `tools` on /v1/chat/completions and return structured calls
(LMDeploy's api_server with a tool parser, vLLM, hosted APIs). There is no prompt text to render or parse: the
model backend's `chat(messages, tools, gen)` yields text and finished tool calls, and the agent reads those.
The interpreter is offered as a function `python(code)`."""
from __future__ import annotations

import json

from puyu.core.messages import Message, ToolCall
from puyu.core.protocols.base import Parsed, Protocol, Segment, chat_turn, load_prompts
from puyu.core.protocols.react import PYTHON_TOOL

_JSON_TYPE = {"STRING": "string", "NUMBER": "number", "FLOAT": "number", "BOOLEAN": "boolean"}


def function_tool(schema: dict) -> dict:
    """A lagent-style tool schema as an OpenAI function tool."""
    props = {p["name"]: {"type": _JSON_TYPE.get(str(p.get("type", "STRING")).upper(), "string"),
                         "description": p.get("description") or ""} for p in schema["parameters"]}
    return {"type": "function", "function": {"name": schema["name"], "description": schema["description"],
                                             "parameters": {"type": "object", "properties": props,
                                                            "required": list(schema["required"])}}}


class OpenAIToolsProtocol(Protocol):
    native_tools = True
    stop: list[str] = []
    call_markers = ()

    def __init__(self, language: str = "en", system: str | None = None):
        self.system = load_prompts("internlm2")[language]["meta"] if system is None else system

    def tools(self, tools: list[dict], interpreter: bool) -> list[dict]:
        return [function_tool(t) for t in ([PYTHON_TOOL] if interpreter else []) + list(tools)]

    def chat_messages(self, messages: list[Message]) -> list[dict]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        for m in messages:
            if m.role == "assistant" and m.tool_call is not None:
                call = m.tool_call
                out.append({"role": "assistant", "content": m.content or None, "tool_calls": [{
                    "id": call.id, "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}]})
            elif m.role == "environment":
                last_call = next((o["tool_calls"][0]["id"] for o in reversed(out) if o.get("tool_calls")), "call")
                out.append({"role": "tool", "tool_call_id": last_call, "content": m.content})
            else:
                out.append(chat_turn(m))
        return out

    def segments(self, messages, tools, interpreter):
        return [Segment(json.dumps(self.chat_messages(messages), ensure_ascii=False), False, -1)]

    def parse(self, text: str) -> Parsed:
        return Parsed(text.strip())

    def read_call(self, text: str, name: str, arguments: str, call_id: str) -> Parsed:
        """A tool call the server returned, checked like a text protocol checks its calls."""
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as e:
            return Parsed(text.strip(), error=f"The arguments of {name} are not valid JSON ({e.msg}).")
        if not isinstance(args, dict):
            return Parsed(text.strip(), error=f"The arguments of {name} must be a JSON object.")
        return Parsed(text.strip(), ToolCall(name, args, id=call_id or ToolCall(name, {}).id))
