"""A conversation in the shapes of OpenAI's chat API: function tools, and messages with `tool_calls` and `tool`
results. The protocols use them to send a conversation to a server's /v1/chat/completions, where the server renders
it with the model's own chat template (puyu's models' template writes the same text as InternLM2Protocol)."""
from __future__ import annotations

import json

from puyu.core.messages import Message

_JSON_TYPE = {"STRING": "string", "NUMBER": "number", "FLOAT": "number", "BOOLEAN": "boolean"}


def function_tool(schema: dict) -> dict:
    """A lagent-style tool schema as an OpenAI function tool."""
    props = {p["name"]: {"type": _JSON_TYPE.get(str(p.get("type", "STRING")).upper(), "string"),
                         "description": p.get("description") or ""} for p in schema["parameters"]}
    return {"type": "function", "function": {"name": schema["name"], "description": schema["description"],
                                             "parameters": {"type": "object", "properties": props,
                                                            "required": list(schema["required"])}}}


def chat_messages(messages: list[Message], system: str | None = None, names: bool = False,
                  turn=None) -> list[dict]:
    """`messages` as OpenAI chat messages: a call as `tool_calls` (arguments as JSON text, characters unescaped),
    a tool's result as a `tool` message answering the last call. `system` opens the conversation when given;
    `names` keeps InternLM2's `name=` qualifiers (user name=file ...), for templates that write them; `turn`
    turns any other message into a chat message (default: role and content)."""
    out = [{"role": "system", "content": system}] if system else []
    last_call = "call"
    for m in messages:
        if m.role == "assistant" and m.tool_call is not None:
            call, last_call = m.tool_call, m.tool_call.id
            # content "" rather than null beside the calls: llama.cpp's server refuses null
            out.append({"role": "assistant", "content": m.content, "tool_calls": [{
                "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}]})
        elif m.role == "environment":
            out.append({"role": "tool", "tool_call_id": last_call, "content": m.content})
        elif turn is not None:
            out.append(turn(m))
        else:
            out.append({"role": m.role, "content": m.content, **({"name": m.name} if names and m.name else {})})
    return out
