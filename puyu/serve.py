"""`puyu serve`: the agent behind an OpenAI-compatible HTTP API.

POST /v1/chat/completions runs the agent on the request's messages and answers like a chat model would
(streaming with SSE when asked); puyu/openai_wire.py is the wire format (what a request may hold, the responses,
chunks and error objects). Tool steps travel beside the text in each chunk's `puyu_event` field, which OpenAI
clients ignore and puyu's own clients draw; a client's own `tools` come back as `tool_calls` for it to run. Every
turn is written to SQLite as it streams; a client can continue a conversation by sending its `conversation_id`
(returned in each response).
"""
from __future__ import annotations

import base64
import binascii
import json
import shutil
import sqlite3
import threading
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from puyu import openai_wire as wire
from puyu.agent.store import StoreError
from puyu.core.config import Settings
from puyu.core.messages import Message
from puyu.http_guard import BodyLimit, bearer_token, key_matches, unstorable_text
from puyu.models.base import ModelError
from puyu.runtime import Busy, Runtime
from puyu.tools.files import UploadError, check_uploads, write_uploads


def error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
          code: str | None = None) -> JSONResponse:
    return JSONResponse(wire.error_body(message, kind, param, code), status_code=status)


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
                             "authentication_error", code="invalid_api_key")
        return await call_next(request)

    @app.exception_handler(sqlite3.DatabaseError)
    async def store_failed(_request, exc: sqlite3.DatabaseError):
        store_damage.append(str(exc))
        return error(503, f"the conversation store failed ({exc}); the server needs its operator", "server_error",
                     code="store_failed")

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in exc.errors())
        first = exc.errors()[0]["loc"][1:] if exc.errors() else ()
        return error(400, f"bad request: {problems}", param=".".join(map(str, first)) or None)

    @app.exception_handler(wire.WireError)
    async def refused(_request, exc: wire.WireError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.get("/health")
    def health():
        try:
            runtime.store.check()
        except StoreError as e:
            return error(503, str(e), "server_error", code="store_failed")
        if store_damage:
            return error(503, f"the conversation store failed while running: {store_damage[-1]}", "server_error",
                         code="store_failed")
        return {"ok": True}

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": wire.MODEL_ID, "object": "model", "created": 0,
                                            "owned_by": "puyu", "root": runtime.model.name}]}

    @app.get("/v1/conversations")
    def conversations():
        return {"data": [c.__dict__ for c in runtime.store.list()]}

    @app.get("/v1/conversations/{cid}")
    def conversation(cid: str):
        if runtime.store.get(cid) is None:
            return error(404, f"no conversation {cid!r}", code="conversation_not_found")
        return {"id": cid, "messages": [m.to_dict() for m in runtime.store.messages(cid)],
                "events": [{"turn": t, **d} for t, d in runtime.store.events(cid)]}

    @app.post("/v1/chat/completions")
    def chat_completions(req: wire.ChatRequest):
        refused_ = wire.refusal(req)
        if refused_:
            raise refused_
        problem = unstorable_text(req.model_dump())
        if problem:
            return error(400, f"bad request: {problem}", param=problem.partition(":")[0])
        try:
            model = runtime.model
        except ModelError as e:
            return error(503, f"the model could not be loaded: {e}", "server_error", code="model_unavailable")
        if req.model not in (wire.MODEL_ID, model.name):
            return error(404, f"no model {req.model!r} here; this server answers as {wire.MODEL_ID!r}",
                         param="model", code="model_not_found")
        settings = runtime.settings.replace(gen=req.sampling())
        cid, created = req.conversation_id, req.conversation_id is None
        if not created and runtime.store.get(cid) is None:
            return error(404, f"no conversation {cid!r}", param="conversation_id", code="conversation_not_found")
        stored = [] if created else runtime.store.messages(cid)
        open_call = stored[-1].tool_call if stored and stored[-1].role == "assistant" else None
        held: list[tuple[Message, list[tuple[str, bytes]]]] = []

        def hold(files: list[tuple[str, bytes]]) -> Message:  # checked now, written once the turn has its interpreter
            announced = Message("user", "", name="file")
            held.append((announced, check_uploads(files, max_bytes=int(server.max_upload_mb * 2**20))))
            return announced

        try:  # every message and upload is read and checked before anything is written
            earlier, new = _split_turn(req, open_call, hold)
        except UploadError as e:
            return error(400, f"upload refused: {e}", param="messages")
        if created:
            cid = runtime.store.create(settings={"origin": "api"}).id
        cancel = threading.Event()
        try:
            session, events = _start_turn(runtime, req, cid, created, (earlier, new), held, settings, cancel)
        except (wire.WireError, UploadError, Busy) as e:
            if created:
                _discard(runtime, cid)
            if isinstance(e, Busy):
                response = error(503, f"busy: {e}", "server_error", code="server_busy")
                response.headers["Retry-After"] = str(e.retry_after_s)
                return response
            if isinstance(e, UploadError):
                return error(400, f"upload refused: {e}", param="messages")
            raise
        turn = wire.Turn(client_tools={t["name"] for t in session.agent.client_tools})
        rid = f"chatcmpl-{uuid.uuid4().hex[:20]}"
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(_sse(iterate_in_threadpool(events), turn, session, rid, cid, include_usage,
                                          cancel), media_type="text/event-stream")
        for event in events:
            turn.add(event)
        if turn.error is not None:
            return JSONResponse(wire.agent_error(turn.error, cid), status_code=500)
        return JSONResponse(wire.completion(rid, cid, turn, _usage(session)))

    return app


def _split_turn(req: wire.ChatRequest, open_call, uploads: wire.Uploads) -> tuple[list[Message], list[Message]]:
    """The request's messages as puyu's, split into the earlier turns the client holds and the new ones: a question
    with its uploads, or the results of the client's own tool calls (environment messages). `uploads` takes each
    message's files. Raises WireError for a request that ends with neither, UploadError for a bad upload."""
    incoming = wire.to_messages(req.messages, uploads, lambda m: uploads(_decoded_files(m)), open_call)
    results = 0
    while results < len(incoming) and incoming[-1 - results].role == "environment":
        results += 1
    question = None if results else _question_index(incoming)
    if not results and question is None:
        raise wire.WireError(400, "the last message must be the user's (optionally followed by `user` messages "
                                  "named `file` carrying its uploads), or the results of your tool calls",
                             param="messages")
    cut = len(incoming) - results if results else question
    return incoming[:cut], incoming[cut:]


def _start_turn(runtime: Runtime, req: wire.ChatRequest, cid: str, created: bool,
                turn: tuple[list[Message], list[Message]], held: list[tuple[Message, list[tuple[str, bytes]]]],
                settings: Settings, cancel: threading.Event):
    """The session and the event stream of the request's turn (`_split_turn`'s earlier and new messages): a new
    question, or the agent's next step after the results of the client's own tool calls. The conversation's
    interpreter is taken first (Busy when the pool is full), so that a busy server writes nothing; then the `held`
    uploads, checked already, are written and their messages announce them. Raises Busy, WireError, UploadError."""
    box = runtime.toolbox(cid, settings)
    for announced, files in held:
        announced.content = write_uploads(runtime.workdir(cid), files,
                                          quota_bytes=runtime.settings.sandbox.workdir_mb << 20).content
    earlier, new = turn
    if created:  # earlier turns the client holds become this conversation's memory
        for m in earlier:
            runtime.store.add_message(cid, m)
    taken = {"python", *(s["name"] for s in box.schemas())}
    session = runtime.session(cid, settings, client_tools=wire.client_tools(req, taken))
    if new[0].role == "environment":
        return session, session.resume(new, cancel=cancel)
    return session, session.send(new[0].content, new[1:], cancel=cancel)


def _discard(runtime: Runtime, cid: str) -> None:
    """A conversation made for a request that was then refused: nothing of it is kept. Its interpreter never ran
    code, so its work dir holds only what the server wrote."""
    runtime.forget(cid)
    runtime.store.delete(cid)
    shutil.rmtree(runtime.settings.conversation_dir(cid), ignore_errors=True)


def _question_index(messages: list[Message]) -> int | None:
    """Where the user's question is: the last message, or the one before its trailing `user name=file`
    uploads. None when the request does not end with a question."""
    i = len(messages) - 1
    while i >= 0 and messages[i].role == "user" and messages[i].name == "file":
        i -= 1
    return i if i >= 0 and messages[i].role == "user" else None


def _decoded_files(m: wire.WireMessage) -> list[tuple[str, bytes]]:
    """A `user name=file` message carries its files inline as `[{"name", "data_base64"}]` (the client's paths
    mean nothing here)."""
    try:
        items = json.loads(m.content if isinstance(m.content, str) else "")
        return [(str(f["name"]), base64.b64decode(f["data_base64"], validate=True)) for f in items]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise UploadError('a `file` message must hold a JSON list of {"name", "data_base64"}') from None


def _threads_for(runtime: Runtime) -> None:
    """Every streamed turn takes a worker thread while it waits for its next event, and a new conversation may wait
    for an interpreter in one: leave room for a full pool and as many waiting, beyond Starlette's default of 40."""
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, 2 * runtime.settings.server.pool_size + 16)


def _usage(session) -> dict | None:
    used = session.agent.usage
    return wire.usage(used.prompt_tokens, used.completion_tokens)


async def _sse(events, turn: wire.Turn, session, rid: str, cid: str, include_usage: bool,
               cancel: threading.Event):
    yield wire.chunk(rid, cid, {"role": "assistant", "content": ""})
    try:
        async for event in events:
            for delta, data, separator in turn.add(event):
                yield wire.chunk(rid, cid, delta, event=data, separator=separator)
            if turn.error is not None:  # an error event the openai library raises as APIError
                yield wire.sse(wire.agent_error(turn.error, cid))
                return
        yield wire.chunk(rid, cid, {}, turn.finish_reason)
        if include_usage:  # usage null where the backend cannot count tokens
            yield wire.chunk(rid, cid, None, usage_=_usage(session), with_usage=True)
        yield wire.sse("[DONE]")
    finally:
        cancel.set()  # the client went away: stop the agent instead of generating into the void


def serve(settings: Settings) -> int:
    import uvicorn

    try:
        runtime = Runtime(settings)
    except StoreError as e:
        print(f"puyu serve: {e}")
        return 2
    try:
        runtime.model  # noqa: B018 -- loaded to fail at start, not at the first request
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
