"""`puyu serve`: the agent behind an OpenAI-compatible HTTP API.

POST /v1/chat/completions runs the agent on the request's messages and answers like a chat model would
(streaming with SSE when asked). Tool steps travel beside the text in each chunk's `puyu_event` field, which
OpenAI clients ignore and puyu's own clients draw. Every turn is written to SQLite as it streams; a client can
continue a conversation by sending its `conversation_id` (returned in each response).
"""
from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import threading
import time
import uuid
from typing import Any, Iterator, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool

from puyu.agent.store import StoreError
from puyu.core.config import Settings
from puyu.core.messages import ErrorEvent, FinalEvent, Message, TokenEvent, event_to_dict
from puyu.http_guard import BodyLimit, bearer_token, key_matches, unstorable_text
from puyu.models.base import ModelError
from puyu.runtime import Busy, Runtime
from puyu.tools.files import UploadError, check_uploads, save_uploads


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "environment"]
    content: str | None = ""
    name: str | None = None


class ChatRequest(BaseModel):
    model: str = "puyu"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    conversation_id: str | None = None
    """puyu extension: continue this stored conversation; `messages` then holds only the new user turn."""


def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="puyu", version="0.1.0", on_startup=[lambda: _threads_for(runtime)])
    server = runtime.settings.server
    api_key = server.api_key
    store_damage: list[str] = []  # what the store said when it failed while running: /health fails from then on
    # Added first, so it runs inside the key check: nobody without the key makes the server read a large body.
    app.add_middleware(BodyLimit, max_bytes=int(server.max_body_mb * 2**20), error=error)

    @app.middleware("http")
    async def check_key(request: Request, call_next):
        if api_key and request.url.path.startswith("/v1"):
            given = bearer_token(request.headers.get("authorization", ""))
            if given is None or not key_matches(given, api_key):
                return error(401, "missing or wrong API key (send `Authorization: Bearer <key>`)",
                             "authentication_error")
        return await call_next(request)

    @app.exception_handler(sqlite3.DatabaseError)
    async def store_failed(_request, exc: sqlite3.DatabaseError):
        store_damage.append(str(exc))
        return error(503, f"the conversation store failed ({exc}); the server needs its operator", "server_error")

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in exc.errors())
        return error(400, f"bad request: {problems}")

    @app.get("/health")
    def health():
        try:
            runtime.store.check()
        except StoreError as e:
            return error(503, str(e), "server_error")
        if store_damage:
            return error(503, f"the conversation store failed while running: {store_damage[-1]}", "server_error")
        return {"ok": True}

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": "puyu", "object": "model", "owned_by": "puyu"}]}

    @app.get("/v1/conversations")
    def conversations():
        return {"data": [c.__dict__ for c in runtime.store.list()]}

    @app.get("/v1/conversations/{cid}")
    def conversation(cid: str):
        if runtime.store.get(cid) is None:
            return error(404, f"no conversation {cid!r}")
        return {"id": cid, "messages": [m.to_dict() for m in runtime.store.messages(cid)],
                "events": [{"turn": t, **d} for t, d in runtime.store.events(cid)]}

    @app.post("/v1/chat/completions")
    def chat_completions(req: ChatRequest):
        problem = unstorable_text(req.model_dump(), "")
        if problem:
            return error(400, f"bad request: {problem}")
        question = _question_index(req.messages)
        if question is None:
            return error(400, "the last message must be the user's (optionally followed by `user` messages "
                              "named `file` carrying its uploads)")
        try:
            model = runtime.model
        except ModelError as e:
            return error(503, f"the model could not be loaded: {e}", "server_error")
        sampling = {"temperature": req.temperature, "top_p": req.top_p, "max_new_tokens": req.max_tokens}
        settings = runtime.settings.replace(gen={k: v for k, v in sampling.items() if v is not None})
        cid, created = req.conversation_id, req.conversation_id is None
        if not created and runtime.store.get(cid) is None:
            return error(404, f"no conversation {cid!r}")
        try:  # every upload is decoded and checked before anything is stored
            for m in req.messages:
                if m.role == "user" and m.name == "file":
                    check_uploads(_decoded_files(m), max_bytes=int(server.max_upload_mb * 2**20))
        except UploadError as e:
            return error(400, f"upload refused: {e}")
        if created:
            cid = runtime.store.create(settings={"origin": "api"}).id
        try:
            session = runtime.session(cid, settings)
            files = [_received_files(runtime, cid, m) for m in req.messages[question + 1:]]
            if created:  # earlier turns the client holds become this conversation's memory
                for m in req.messages[:question]:
                    is_file = m.role == "user" and m.name == "file"
                    runtime.store.add_message(cid, _received_files(runtime, cid, m) if is_file else _to_message(m))
        except (UploadError, Busy) as e:
            if created:
                runtime.forget(cid)
                runtime.store.delete(cid)
            if isinstance(e, Busy):
                response = error(503, f"busy: {e}", "server_error")
                response.headers["Retry-After"] = str(e.retry_after_s)
                return response
            return error(400, f"upload refused: {e}")
        cancel = threading.Event()
        events = session.send(req.messages[question].content or "", files, cancel=cancel)
        rid = f"chatcmpl-{uuid.uuid4().hex[:20]}"
        if req.stream:
            return StreamingResponse(_sse(iterate_in_threadpool(events), rid, cid, model.name, cancel),
                                     media_type="text/event-stream")
        return _complete(events, rid, cid, model.name)

    return app


def _question_index(messages: list[ChatMessage]) -> int | None:
    """Where the user's question is: the last message, or the one before its trailing `user name=file`
    uploads. None when the request does not end with a question."""
    i = len(messages) - 1
    while i >= 0 and messages[i].role == "user" and messages[i].name == "file":
        i -= 1
    return i if i >= 0 and messages[i].role == "user" else None


def _decoded_files(m: ChatMessage) -> list[tuple[str, bytes]]:
    """A `user name=file` message carries its files inline as `[{"name", "data_base64"}]` (the client's paths
    mean nothing here)."""
    try:
        items = json.loads(m.content or "")
        return [(str(f["name"]), base64.b64decode(f["data_base64"], validate=True)) for f in items]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise UploadError('a `file` message must hold a JSON list of {"name", "data_base64"}') from None


def _received_files(runtime: Runtime, cid: str, m: ChatMessage) -> Message:
    """The files of a `user name=file` message, checked and saved into the conversation's work dir like the UI's
    uploads."""
    limits = runtime.settings
    return save_uploads(runtime.workdir(cid), _decoded_files(m), max_bytes=int(limits.server.max_upload_mb * 2**20),
                        quota_bytes=limits.sandbox.workdir_mb << 20)


def _threads_for(runtime: Runtime) -> None:
    """Every streamed turn takes a worker thread while it waits for its next event, and a new conversation may wait
    for an interpreter in one: leave room for a full pool and as many waiting, beyond Starlette's default of 40."""
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, 2 * runtime.settings.server.pool_size + 16)


def _to_message(m: ChatMessage) -> Message:
    role = "environment" if m.role == "tool" else m.role
    name = m.name if role in ("environment", "system") and m.name in ("interpreter", "plugin") else None
    return Message(role, m.content or "", name=name)


def _chunk(rid: str, cid: str, model: str, delta: dict, finish: str | None = None, event: Any = None) -> str:
    body = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "conversation_id": cid, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if event is not None:
        body["puyu_event"] = event
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def _sse(events, rid: str, cid: str, model: str, cancel: threading.Event):
    yield _chunk(rid, cid, model, {"role": "assistant", "content": ""})
    streamed, finish = "", "stop"
    try:
        async for event in events:
            if isinstance(event, TokenEvent):
                streamed += event.text
                yield _chunk(rid, cid, model, {"content": event.text})
            elif isinstance(event, FinalEvent):
                # The final answer differs from the streamed text when the model's reply held a tool call.
                rest = event.text[len(streamed):] if event.text.startswith(streamed) else "\n" + event.text
                yield _chunk(rid, cid, model, {"content": rest} if rest else {}, event=event_to_dict(event))
            else:
                if isinstance(event, ErrorEvent) and not event.recoverable:
                    finish = "error"
                yield _chunk(rid, cid, model, {}, event=event_to_dict(event))
                streamed = ""
        yield _chunk(rid, cid, model, {}, finish)
        yield "data: [DONE]\n\n"
    finally:
        cancel.set()  # the client went away: stop the agent instead of generating into the void


def _complete(events: Iterator, rid: str, cid: str, model: str) -> JSONResponse:
    trace, answer, finish = [], "", "stop"
    for event in events:
        if not isinstance(event, TokenEvent):
            trace.append(event_to_dict(event))
        if isinstance(event, FinalEvent):
            answer = event.text
        elif isinstance(event, ErrorEvent) and not event.recoverable:
            answer, finish = answer or event.message, "error"
    return JSONResponse({
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "conversation_id": cid, "puyu_events": trace,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})


def serve(settings: Settings) -> int:
    import uvicorn

    try:
        runtime = Runtime(settings)
    except StoreError as e:
        print(f"puyu serve: {e}")
        return 2
    try:
        runtime.model  # fail at start, not at the first request
    except ModelError as e:
        print(f"puyu serve: {e}")
        return 2
    host, port = settings.server.host, settings.server.port
    print(f"puyu serve: http://{host}:{port}/v1 (model {settings.model.name}, data {settings.data_dir})", flush=True)
    if settings.agent.interpreter:
        from puyu.tools.interpreter import describe

        print(f"puyu serve: {describe(settings.sandbox)}", flush=True)
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning")
    runtime.close()
    return 0
