"""The OpenAI chat-completions wire format of `puyu serve`: what a request may hold, how its messages become puyu's,
and the responses, stream chunks and errors sent back. serve.py routes; this module knows the format.

What a client sees:
- `content` is the text of the whole agent turn as it streamed: each model step's visible text (a thought before a
  tool call, then the answer), steps apart by a blank line; streamed and unstreamed it is the same text.
- puyu's own tool steps ride along in each chunk's `puyu_event` (unstreamed: `puyu_events`); a client's own
  `tools` come back as standard `tool_calls` for the client to run (finish_reason "tool_calls").
- errors are OpenAI error objects: an HTTP status before streaming, an `{"error": ...}` event once it started
  (the openai library raises it as an APIError).
- what puyu cannot honour (n > 1, a JSON response_format, logprobs, penalties, a forced tool_choice) is refused
  with a 400 that says so, never ignored.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from puyu.core.messages import (
    INTERPRETER,
    ErrorEvent,
    Event,
    FinalEvent,
    Message,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
    event_to_dict,
)

MODEL_ID = "puyu"
"""The model name `puyu serve` lists and answers as, whichever model is behind it (its name is the listing's
`root`); a request may name either."""
STEP_SEPARATOR = "\n\n"
"""Between the texts of two model steps in `content` (streamed as a chunk of its own, marked `puyu_separator`)."""
_JSON_TYPES = {"string": "STRING", "number": "NUMBER", "integer": "NUMBER", "boolean": "BOOLEAN"}
_IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
                "image/bmp": ".bmp", "image/tiff": ".tiff"}
_DATA_URL = re.compile(r"data:(?P<mime>[\w/+.-]+)?(?P<b64>;base64)?,(?P<data>.*)", re.DOTALL)


class WireError(Exception):
    """A request puyu cannot answer as asked: an OpenAI error object with an HTTP status."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return error_body(self.message, self.kind, self.param, self.code)


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# ---- the request ------------------------------------------------------------------------------------------------

class ImageURL(BaseModel):
    url: str
    detail: str | None = None


class ContentPart(BaseModel):
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageURL | None = None


class FunctionCall(BaseModel):
    name: str
    arguments: str = ""


class WireToolCall(BaseModel):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class WireMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "environment"]
    content: str | list[ContentPart] | None = ""
    name: str | None = None
    tool_calls: list[WireToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDef(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    strict: bool | None = None


class WireTool(BaseModel):
    type: Literal["function"]
    function: FunctionDef


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """POST /v1/chat/completions. Unknown fields are refused (400), so that nothing a client asks for is ignored."""

    model_config = ConfigDict(extra="forbid")

    model: str = MODEL_ID
    messages: list[WireMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32768)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[WireTool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    conversation_id: str | None = None
    """puyu extension: continue this stored conversation; `messages` then holds only the new turn."""

    def sampling(self) -> dict[str, Any]:
        """The request's settings of `gen` (None: the server's)."""
        stop = [self.stop] if isinstance(self.stop, str) else self.stop
        values = {"temperature": self.temperature, "top_p": self.top_p, "seed": self.seed, "stop": stop,
                  "max_new_tokens": self.max_completion_tokens or self.max_tokens}
        return {k: v for k, v in values.items() if v is not None}


def refusal(req: ChatRequest) -> WireError | None:
    """Why puyu cannot honour `req` as asked (a 400), or None."""
    def no(param: str, why: str) -> WireError:
        return WireError(400, f"{param}: {why}", param=param, code="unsupported_parameter")

    if req.n not in (None, 1):
        return no("n", f"puyu serve answers with one choice per request (n=1), not {req.n}; send n copies")
    kind = (req.response_format or {}).get("type", "text")
    if kind != "text":
        return no("response_format", f"{kind!r} is not available: an agent turn's answer cannot be constrained to "
                                     "JSON; ask for JSON in the message instead, or leave response_format out")
    if req.logprobs or req.top_logprobs:
        return no("logprobs", "an agent turn has no single sequence of token log-probabilities")
    if req.logit_bias:
        return no("logit_bias", "not available through the agent")
    for param in ("frequency_penalty", "presence_penalty"):
        if getattr(req, param):
            return no(param, "not available; leave it out or 0")
    if req.tool_choice not in (None, "auto", "none"):
        return no("tool_choice", "puyu's agent decides itself whether to call a tool; use auto or none")
    if req.stream_options is not None and not req.stream:
        return no("stream_options", "only with stream: true")
    return None


def client_tools(req: ChatRequest, taken: set[str]) -> list[dict]:
    """The client's function tools as tool schemas the agent shows the model (lagent's format); their calls go back
    to the client. `taken`: puyu's own tool names, which a client tool may not reuse."""
    if not req.tools or req.tool_choice == "none":
        return []
    schemas = []
    for i, tool in enumerate(req.tools):
        fn = tool.function
        if fn.name in taken:
            raise WireError(400, f"tools[{i}]: {fn.name!r} is the name of one of puyu's own tools; rename yours",
                            param=f"tools[{i}].function.name")
        props = fn.parameters.get("properties") or {}
        params = [{"name": k, "description": str((v or {}).get("description") or ""),
                   "type": _JSON_TYPES.get(str((v or {}).get("type")), "STRING")} for k, v in props.items()]
        schemas.append({"name": fn.name, "description": fn.description, "parameters": params,
                        "required": [r for r in fn.parameters.get("required") or [] if r in props]})
    return schemas


# ---- messages in --------------------------------------------------------------------------------------------------

Uploads = Callable[[list[tuple[str, bytes]]], Message]
"""Saves a message's files into the conversation and returns the `user name=file` message that announces them."""


def text_of(m: WireMessage, where: str, images: list[tuple[str, bytes]] | None = None) -> str:
    """A message's text; its image parts (data: URLs only) are added to `images`."""
    if m.content is None or isinstance(m.content, str):
        return m.content or ""
    texts = []
    for j, part in enumerate(m.content):
        if part.type == "text":
            texts.append(part.text or "")
        elif images is None:
            raise WireError(400, f"{where}.content[{j}]: images only in user messages", param=f"{where}.content")
        else:
            images.append(image_file(part.image_url.url if part.image_url else "", len(images) + 1,
                                     f"{where}.content[{j}]"))
    return "\n".join(texts)


def image_file(url: str, n: int, where: str) -> tuple[str, bytes]:
    """(file name, bytes) of an image sent as a data: URL; puyu serve fetches no URLs."""
    match = _DATA_URL.fullmatch(url.strip())
    if match is None:
        raise WireError(400, f"{where}: only data: URLs (data:image/png;base64,...) are taken; puyu serve does "
                             "not fetch images from the network", param=where)
    mime = (match["mime"] or "").lower()
    if mime not in _IMAGE_TYPES or not match["b64"]:
        raise WireError(400, f"{where}: a base64 image ({', '.join(_IMAGE_TYPES)}), not {mime or 'no type'}",
                        param=where)
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise WireError(400, f"{where}: the image's base64 data is not valid", param=where) from None
    return f"image-{n}{_IMAGE_TYPES[mime]}", data


def to_messages(wire: list[WireMessage], uploads: Uploads, inline_files: Callable[[WireMessage], Message],
                open_call: ToolCall | None = None) -> list[Message]:
    """The request's messages as puyu's: developer turns as system turns, image parts as uploads after their
    message, each tool call as an assistant turn followed by its `tool` result (as an environment turn).
    `open_call`: the call a continued conversation ended with, which leading `tool` messages answer."""
    out: list[Message] = []
    i = 0
    while open_call is not None and i < len(wire) and wire[i].role == "tool":
        out.append(Message("environment", text_of(wire[i], f"messages[{i}]"),
                           name="interpreter" if open_call.name == INTERPRETER else "plugin"))
        i += 1
    while i < len(wire):
        m, where = wire[i], f"messages[{i}]"
        if m.role == "user" and m.name == "file":
            out.append(inline_files(m))
        elif m.role == "user":
            images: list[tuple[str, bytes]] = []
            out.append(Message("user", text_of(m, where, images)))
            if images:
                out.append(uploads(images))
        elif m.role in ("system", "developer"):
            out.append(Message("system", text_of(m, where)))
        elif m.role == "environment":
            out.append(Message("environment", text_of(m, where), name=m.name if m.name in ("interpreter", "plugin")
                               else None))
        elif m.role == "assistant":
            results = []
            while i + 1 < len(wire) and wire[i + 1].role == "tool":
                i += 1
                results.append((i, wire[i]))
            out += _calls_and_results(m, where, results)
        else:
            raise WireError(400, f"{where}: a tool result must follow the assistant message that called the tool",
                            param=where)
        i += 1
    return out


def _calls_and_results(m: WireMessage, where: str, results: list[tuple[int, WireMessage]]) -> list[Message]:
    """An assistant message and the tool results after it, as puyu's turns: one call per assistant turn, each
    followed by its result (matched by tool_call_id, else in order)."""
    calls = m.tool_calls or []
    if not calls:
        if results:
            raise WireError(400, f"messages[{results[0][0]}]: a tool result must answer a tool call",
                            param=f"messages[{results[0][0]}]")
        return [Message("assistant", text_of(m, where))]
    by_id = {r.tool_call_id: (j, r) for j, r in results if r.tool_call_id}
    out, unused = [], list(results)
    for k, c in enumerate(calls):
        try:
            args = json.loads(c.function.arguments or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            raise WireError(400, f"{where}.tool_calls[{k}].function.arguments must be a JSON object",
                            param=f"{where}.tool_calls")
        call = ToolCall(c.function.name, args, id=c.id or ToolCall(c.function.name, {}).id)
        out.append(Message("assistant", text_of(m, where) if k == 0 else "", tool_call=call))
        found = by_id.get(c.id) or (unused[0] if unused and not unused[0][1].tool_call_id else None)
        if found is not None:
            unused.remove(found)
            out.append(Message("environment", text_of(found[1], f"messages[{found[0]}]"),
                               name="interpreter" if call.name == INTERPRETER else "plugin"))
    if unused:
        raise WireError(400, f"messages[{unused[0][0]}]: tool_call_id {unused[0][1].tool_call_id!r} answers no call "
                             "of the assistant message before it", param=f"messages[{unused[0][0]}].tool_call_id")
    return out


# ---- what goes back ---------------------------------------------------------------------------------------------

@dataclass
class Turn:
    """One agent turn as the client sees it, built from its events the same way streamed and unstreamed. Each
    step's text is sent without its leading and trailing whitespace (held back until more text follows), as the
    agent keeps it, so the answer in `content` is the stored one."""

    client_tools: set[str] = field(default_factory=set)
    content: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    error: ErrorEvent | None = None
    _step_raw: str = ""
    _step_sent: str = ""

    def add(self, event: Event) -> list[tuple[dict, dict | None, bool]]:
        """What `event` sends: [(delta, puyu_event, is_separator)]."""
        if isinstance(event, TokenEvent):
            self._step_raw += event.text
            return self._send(self._step_raw.strip())
        data = event_to_dict(event)
        self.events.append(data)
        if isinstance(event, FinalEvent):
            # the answer as the agent read it; a backend that streamed less of it sends the rest now
            sent = [delta for delta, _, _ in self._send(event.text)] if event.text.startswith(self._step_sent) else []
            delta = {"content": "".join(d["content"] for d in sent)} if sent else {}
            return [(delta, data, False)]
        self._step_raw = self._step_sent = ""
        if isinstance(event, ToolCallEvent) and event.call.name in self.client_tools:
            call = {"id": event.call.id, "type": "function",
                    "function": {"name": event.call.name, "arguments": json.dumps(event.call.arguments,
                                                                                  ensure_ascii=False)}}
            self.tool_calls.append(call)
            return [({"tool_calls": [{"index": len(self.tool_calls) - 1, **call}]}, data, False)]
        if isinstance(event, ErrorEvent) and not event.recoverable:
            self.error = event
        return [({}, data, False)]

    def _send(self, text: str) -> list[tuple[dict, dict | None, bool]]:
        """The part of this step's `text` not sent yet (after a blank line, when it opens the step)."""
        new = text[len(self._step_sent):] if text.startswith(self._step_sent) else ""
        if not new:
            return []
        out = []
        if not self._step_sent and self.content:
            self.content += STEP_SEPARATOR
            out.append(({"content": STEP_SEPARATOR}, None, True))
        self._step_sent += new
        self.content += new
        return [*out, ({"content": new}, None, False)]

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def usage(prompt_tokens: int | None, completion_tokens: int | None) -> dict | None:
    if prompt_tokens is None or completion_tokens is None:
        return None
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chunk(rid: str, cid: str, delta: dict | None, finish: str | None = None, event: dict | None = None,
          separator: bool = False, usage_: dict | None = None, with_usage: bool = False) -> str:
    """One SSE event of a streamed answer (`with_usage`: the last one, with no choices, for
    stream_options.include_usage)."""
    body: dict[str, Any] = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()),
                            "model": MODEL_ID, "conversation_id": cid,
                            "choices": [] if delta is None else [{"index": 0, "delta": delta,
                                                                  "finish_reason": finish}]}
    if event is not None:
        body["puyu_event"] = event
    if separator:
        body["puyu_separator"] = True
    if with_usage:
        body["usage"] = usage_
    return sse(body)


def sse(body: dict | str) -> str:
    return f"data: {body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)}\n\n"


def completion(rid: str, cid: str, turn: Turn, usage_: dict | None) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = turn.tool_calls
    body = {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
            "conversation_id": cid, "puyu_events": turn.events,
            "choices": [{"index": 0, "message": message, "finish_reason": turn.finish_reason}]}
    if usage_ is not None:
        body["usage"] = usage_
    return body


def agent_error(event: ErrorEvent, cid: str) -> dict:
    """The OpenAI error object of a turn the agent could not finish (the model failed, steps ran out)."""
    body = error_body(event.message, "server_error", code="agent_error")
    body["conversation_id"] = cid
    return body
