"""The `openai` backend: any OpenAI-compatible server (LMDeploy, vLLM, llama.cpp, `transformers serve`, ...).

Written on httpx rather than the `openai` client: the agent's default path sends LMDeploy's and vLLM's body fields
(`skip_special_tokens`, `spaces_between_special_tokens`) to `/v1/completions`, retries must stop the moment the
first chunk has been streamed, and every failure must become one readable `ModelError`. The SSE parsing that the
client would save is twenty lines; its own retry loop, error classes and pydantic models would have to be worked
around instead.

Two ways to talk to the server, chosen per protocol by `endpoint_for` (the `--model.endpoint` setting, `auto` by
default, from what the server was found to do: models/server_traits.py):
- `stream(prompt)` / `generate(prompts)`: puyu's own rendered prompt, raw, to `/v1/completions`.
- `chat(messages, tools)`: `/v1/chat/completions`, rendered by the server with the model's chat template; yields
  text deltas (`str`), then the tool calls the server parsed, each as one complete `ChatToolCall`.
A stream that breaks off, ends without saying it is finished, or carries an error is a `ModelError`, never an
empty or partial answer.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from puyu.core.config import ENDPOINTS, GenerationConfig
from puyu.models.base import ChatModel, ModelError
from puyu.models.server_traits import KEEP_SPECIAL, learn
from puyu.models.stops import StopCutter, cut_stream


@dataclass
class ChatToolCall:
    """One tool call from `/v1/chat/completions`, assembled from its streamed deltas.

    `arguments` is the JSON text as the server sent it; `parsed_arguments()` decodes it, so a malformed call can
    be shown back to the model by the caller instead of failing here.
    """

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; ValueError if they are not a JSON object."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            # ValueError, like json's own error, so one `except ValueError` covers every malformed call
            raise ValueError(f"arguments of {self.name!r} are not a JSON object: {self.arguments!r}")  # noqa: TRY004
        return value


class _Retryable(Exception):
    """A failure before anything was streamed that is worth another try (connection error, 5xx, 429)."""

    def __init__(self, message: str, wait_s: float | None = None):
        super().__init__(message)
        self.wait_s = wait_s


def api_root(base_url: str) -> str:
    """`http://host:23333`, `.../v1` and `.../v1/` all mean the same API root, `.../v1`."""
    url = (base_url or "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"base URL {base_url!r} must start with http:// or https://")
    return url if url.endswith("/v1") else url + "/v1"


def error_message(body: str) -> str:
    """The human part of an error body: OpenAI's {"error": {"message"}}, lmdeploy's {"message"}, FastAPI's
    {"detail"}, or the raw text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)
        if isinstance(err, str):
            return err
        for key in ("message", "detail"):
            if key in data:
                return str(data[key])
    return body.strip()[:300]


def _is_error_chunk(data: Any) -> bool:
    return isinstance(data, dict) and ("error" in data or data.get("object") == "error")


def sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The `data` payloads of a server-sent event stream (fields other than data, and comments, are ignored)."""
    buf: list[str] = []
    for line in lines:
        if not line:
            if buf:
                yield "\n".join(buf)
                buf = []
        elif line.startswith("data:"):
            buf.append(line[5:].removeprefix(" "))
    if buf:
        yield "\n".join(buf)


class OpenAIModel(ChatModel):
    server_hint = "lmdeploy serve api_server"
    """What an unreachable-server message suggests starting."""

    def __init__(self, base_url: str, *, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 120.0, max_retries: int = 3, endpoint: str = "auto",
                 backoff_s: float = 0.5):
        """`timeout_s` bounds each wait for the server (connecting: at most 10 s); `max_retries` counts extra
        tries on connection errors, 5xx and 429 before the first chunk, `backoff_s * 2**try` apart. `endpoint`:
        auto (what the server offers and the protocol needs), completions or chat."""
        if endpoint not in ENDPOINTS:
            raise ModelError(f"endpoint must be one of {', '.join(ENDPOINTS)}, not {endpoint!r}")
        self.root = api_root(base_url)
        self.endpoint = endpoint
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)))
        self._model = model
        self.name = model or self.root

    # ---- public API ---------------------------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The served model's name: given, or the first one GET /v1/models lists."""
        if self._model is None:
            data = self.get_json("/models")
            models = data.get("data") if isinstance(data, dict) else None
            if not models or not isinstance(models[0], dict) or "id" not in models[0]:
                raise ModelError(f"{self.root}/models lists no model; pass the model name explicitly")
            self._model = self.name = str(models[0]["id"])
        return self._model

    def endpoint_for(self, protocol) -> str:
        """"prompt" (stream) or "chat" (chat) for `protocol`, decided once per server: the setting, else
        /v1/completions where the server has it and the protocol's tool-call tokens come back from it, else the
        chat endpoint. A ModelError names the server's problem and the setting that fixes it when neither works."""
        if getattr(protocol, "native_tools", False):
            if self.endpoint == "completions":
                raise ModelError("--agent.protocol openai sends tools to /v1/chat/completions; drop "
                                 "--model.endpoint completions")
            return "chat"
        if self.endpoint == "chat":
            return "chat"
        markers = bool(getattr(protocol, "kept_tokens", ()))
        traits = learn(self, markers=markers)
        if not traits.completions:
            if self.endpoint == "completions":
                raise ModelError(f"{self.root} has no /v1/completions; use --model.endpoint chat (or auto)")
            return "chat"
        if markers and not traits.keeps_markers:
            raise ModelError(
                f"{self.root} drops special tokens from what it generates ({traits.evidence}), so puyu cannot see "
                "the model's <|action_start|> tool calls. Fix: serve a model whose tool-call tokens are plain tokens "
                "(puyu's own; scripts/make_gguf.py for llama.cpp), a server that takes skip_special_tokens=false "
                "(LMDeploy, vLLM), or use --agent.protocol openai with the server's tool parser")
        return "prompt"

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        traits = learn(self, markers=False)
        if not traits.completions:
            raise ModelError(f"{self.root} has no /v1/completions for a raw prompt; use a protocol over "
                             "--model.endpoint chat")
        body = {"model": self.model, "prompt": prompt, **self._sampling(gen),
                **(KEEP_SPECIAL if traits.keep_special_fields else {})}
        chunks = self.stream_chunks("/completions", body)
        yield from cut_stream((_first_choice(chunk).get("text") for chunk in chunks), gen.stop)

    def generate(self, prompts: list[str], gen: GenerationConfig) -> list[str]:
        """Concurrent requests: the server batches them (continuous batching in lmdeploy)."""
        if not prompts:
            return []
        _ = self.model  # discover once, not from every thread
        with ThreadPoolExecutor(max_workers=min(16, len(prompts))) as pool:
            return list(pool.map(lambda p: "".join(self.stream(p, gen)), prompts))

    def chat(self, messages: list[dict], tools: list[dict] | None, gen: GenerationConfig
             ) -> Iterator[str | ChatToolCall]:
        """Stream `/v1/chat/completions`: text deltas as `str`, then each tool call as one `ChatToolCall`.

        `tools` are OpenAI function tools: [{"type": "function", "function": {"name", "description",
        "parameters"}}]. Tool calls arrive in pieces (name first, arguments in fragments, keyed by `index`); they
        are only yielded once the stream ends, complete.
        """
        body: dict[str, Any] = {"model": self.model, "messages": messages, **self._sampling(gen)}
        if tools:
            body["tools"] = tools
        cutter = StopCutter(gen.stop)
        calls: dict[int, dict[str, str]] = {}
        for chunk in self.stream_chunks("/chat/completions", body):
            delta = _first_choice(chunk).get("delta") or {}
            for piece in delta.get("tool_calls") or []:
                slot = calls.setdefault(int(piece.get("index", len(calls))), {"id": "", "name": "", "arguments": ""})
                fn = piece.get("function") or {}
                slot["id"] = piece.get("id") or slot["id"]
                slot["name"] += fn.get("name") or ""
                slot["arguments"] += fn.get("arguments") or ""
            out = cutter.push(delta.get("content") or "")
            if out:
                yield out
            if cutter.done:
                break
        rest = cutter.flush()
        if rest:
            yield rest
        for i in sorted(calls):
            c = calls[i]
            yield ChatToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])

    def close(self) -> None:
        self._client.close()

    # ---- HTTP ---------------------------------------------------------------------------------------------

    @staticmethod
    def _sampling(gen: GenerationConfig) -> dict[str, Any]:
        body: dict[str, Any] = {"max_tokens": gen.max_new_tokens, "temperature": gen.temperature,
                                "top_p": gen.top_p, "stream": True}
        if gen.stop:
            body["stop"] = gen.stop
        if gen.seed is not None:
            body["seed"] = gen.seed
        return body

    def _unreachable(self, exc: Exception) -> str:
        return f"cannot reach {self.root}: is `{self.server_hint}` running? ({type(exc).__name__}: {exc})"

    def _with_retries(self, call):
        """Run `call`, trying again on `_Retryable` with exponential backoff."""
        for attempt in range(self.max_retries + 1):
            try:
                return call()
            except _Retryable as e:
                if attempt == self.max_retries:
                    tries = f" (after {attempt + 1} tries)" if attempt else ""
                    raise ModelError(f"{e}{tries}") from None
                time.sleep(e.wait_s if e.wait_s is not None else self.backoff_s * 2 ** attempt)

    def _check_status(self, resp: httpx.Response, url: str) -> None:
        if resp.status_code < 400:
            return
        resp.read()
        msg = f"{url} answered HTTP {resp.status_code}: {error_message(resp.text)}"
        if resp.status_code == 429 or resp.status_code >= 500:
            after = resp.headers.get("retry-after", "")
            raise _Retryable(msg, min(float(after), 30.0) if after.replace(".", "", 1).isdigit() else None)
        if resp.status_code == 401:
            msg += " (check the API key)"
        raise ModelError(msg)

    def get_json(self, path: str) -> Any:
        """GET a JSON body (retried like a stream's start); raises ModelError with the reason."""
        return self._with_retries(lambda: self._get_json_once(path))

    def _get_json_once(self, path: str) -> Any:
        url = self.root + path
        resp = self._send("GET", url)
        self._check_status(resp, url)
        try:
            return resp.json()
        except ValueError:
            raise ModelError(f"{url} did not answer JSON: {resp.text[:200]!r}") from None

    def post_json(self, path: str, body: dict) -> tuple[int, str]:
        """POST `body` unstreamed and return (HTTP status, body text) for the caller to judge; connection errors,
        5xx and 429 are retried like a stream's start, then become a ModelError, as does a wrong API key."""
        return self._with_retries(lambda: self._post_once(path, {**body, "stream": False}))

    def _post_once(self, path: str, body: dict) -> tuple[int, str]:
        url = self.root + path
        resp = self._send("POST", url, json=body)
        if resp.status_code in (401, 429) or resp.status_code >= 500:
            self._check_status(resp, url)
        return resp.status_code, resp.text

    def _send(self, method: str, url: str, **kw) -> httpx.Response:
        """One unstreamed request; an unreachable server is worth another try, other failures are not."""
        try:
            return self._client.request(method, url, **kw)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as e:
            raise _Retryable(self._unreachable(e)) from e
        except httpx.TimeoutException as e:
            raise ModelError(f"{url} did not answer within {self.timeout_s:g} s") from e
        except httpx.HTTPError as e:
            raise ModelError(f"request to {url} failed: {e}") from e

    def stream_chunks(self, path: str, body: dict) -> Iterator[dict]:
        """POST with `stream: true` and yield each parsed SSE chunk. Retries only before the first chunk."""
        url = self.root + path
        started = False
        for attempt in range(self.max_retries + 1):
            try:
                with self._client.stream("POST", url, json=body) as resp:
                    self._check_status(resp, url)
                    for chunk in self._chunks(resp, url):
                        started = True
                        yield chunk
                return
            except _Retryable as e:
                failure, wait = str(e), e.wait_s
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError) as e:
                if started:
                    raise ModelError(f"{url} broke off the stream: {type(e).__name__}: {e}") from e
                failure, wait = self._unreachable(e), None
            except httpx.TimeoutException as e:
                # Not retried: the server may still be working on it, and the user has already waited timeout_s.
                raise ModelError(f"{url} sent nothing for {self.timeout_s:g} s (timeout)") from e
            except httpx.HTTPError as e:
                raise ModelError(f"request to {url} failed: {type(e).__name__}: {e}") from e
            if attempt == self.max_retries:
                raise ModelError(failure + (f" (after {attempt + 1} tries)" if attempt else ""))
            time.sleep(wait if wait is not None else self.backoff_s * 2 ** attempt)

    @staticmethod
    def _chunks(resp: httpx.Response, url: str) -> Iterator[dict]:
        ctype = resp.headers.get("content-type", "")
        if "text/event-stream" not in ctype:
            resp.read()
            text = resp.text
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if _is_error_chunk(data):
                raise ModelError(f"{url} answered an error: {error_message(text)}")
            raise ModelError(f"{url} did not answer an event stream (content-type {ctype or 'none'}): {text[:200]!r}")
        finished, count = False, 0
        for payload in sse_data(resp.iter_lines()):
            if payload.strip() == "[DONE]":
                finished = True
                break
            try:
                data = json.loads(payload)
            except ValueError:
                raise ModelError(f"{url} sent an event that is not JSON: {payload[:200]!r}") from None
            if _is_error_chunk(data):
                raise ModelError(f"{url} reported an error mid-stream: {error_message(payload)}")
            if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
                raise ModelError(f"{url} sent an event with no choices: {payload[:200]!r}")
            count += 1
            reasons = {c.get("finish_reason") for c in data["choices"] if isinstance(c, dict)} - {None}
            if reasons & {"error", "abort"}:  # LMDeploy's way to end a stream that failed (e.g. too long a prompt)
                failed = min(reasons & {"error", "abort"})
                raise ModelError(f"{url} ended the answer with finish_reason {failed!r}; its log says why")
            finished = finished or bool(reasons)
            yield data
        if not count:
            raise ModelError(f"{url} answered an empty stream (HTTP 200, no events); its log says why")
        if not finished:
            # llama.cpp's server, for one, just closes the stream when generation fails (a prompt over its context)
            raise ModelError(f"{url} ended the stream before the answer was finished (no finish_reason, no "
                             "[DONE]); its log says why")


def _first_choice(chunk: dict) -> dict:
    choices = chunk["choices"]
    return choices[0] if choices and isinstance(choices[0], dict) else {}
