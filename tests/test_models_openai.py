"""The openai backend against a fake OpenAI-compatible server (http.server in a thread) that can misbehave."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from puyu.models import load
from puyu.core.config import ModelSpec
from puyu.models.base import ModelError
from puyu.core.config import GenerationConfig
from puyu.models.openai_api import ChatToolCall, OpenAIModel, api_root, sse_data

COMPLETION = ["Let me check.", "<|action_start|>", "<|plugin|>", '\n{"name": "search", ', '"parameters": {}}',
              "<|action_end|>", "\n", "你好", "<|im_end|>", "after"]
TOOL_DELTAS = [
    {"index": 0, "id": "call_a", "type": "function", "function": {"name": "search", "arguments": ""}},
    {"index": 0, "function": {"arguments": '{"query": '}},
    {"index": 0, "function": {"arguments": '"weather"}'}},
    {"index": 1, "id": "call_b", "type": "function", "function": {"name": "python", "arguments": '{"code": "1+1"}'}},
]


class FakeServer:
    """State shared with the handler: what to answer and what was asked."""

    def __init__(self):
        self.mode = "ok"
        self.failures = 0          # for fail_then_ok / 429: how many bad answers before good ones
        self.server_kind = "lmdeploy"  # what the unstreamed one-token probes find: see probe_answer
        self.probes: list[dict] = []
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()


def make_handler(state: FakeServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _json(self, code: int, obj, extra_headers=()):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra_headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _sse_start(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _chunk(self, text: str):
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _event(self, obj):
            self._chunk("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n")

        def do_GET(self):
            if self.path == "/v1/models":
                state.headers.append(dict(self.headers))
                self._json(200, {"object": "list", "data": [{"id": "internlm2-chat-7b", "object": "model"}]})
            else:
                self._json(404, {"detail": "Not Found"})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("stream") is False:  # the backend's one-token probes (models/server_traits.py)
                state.probes.append({"path": self.path, **body})
                return self._json(*probe_answer(state.server_kind, self.path, body))
            with state.lock:
                state.requests.append({"path": self.path, **body})
                state.headers.append(dict(self.headers))
                n = len(state.requests)
            mode = state.mode
            if mode == "hang":
                time.sleep(3)
                return
            if mode in ("fail_then_ok", "always_500") and (mode == "always_500" or n <= state.failures):
                return self._json(500, {"error": {"message": "engine overloaded", "type": "server_error"}})
            if mode == "429_then_ok" and n <= state.failures:
                return self._json(429, {"error": {"message": "slow down"}}, [("Retry-After", "0")])
            if mode == "error_json":
                return self._json(400, {"object": "error", "message": "The model `x` does not exist.", "code": 404})
            if mode == "html":
                page = b"<html>proxy error</html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            self._sse_start()
            if mode == "garbage":
                self._event("this is not json")
            elif mode == "empty":
                pass
            elif mode == "no_finish":  # a server that failed mid-answer and just closed the stream (llama.cpp)
                self._event({"choices": [{"index": 0, "text": "The result is"}]})
            elif mode == "error_chunk":
                self._event({"error": {"message": "CUDA out of memory"}})
            elif mode == "break_after_tokens":
                self._event({"choices": [{"index": 0, "text": "partial"}]})
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-chunked-body: the client sees a broken stream
                return
            elif self.path == "/v1/completions":
                pieces = COMPLETION if not body["prompt"].startswith("echo:") else [body["prompt"][5:], "!"]
                for p in pieces:
                    self._event({"object": "text_completion", "choices": [{"index": 0, "text": p}]})
                self._event("[DONE]")
            elif self.path == "/v1/chat/completions":
                self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                for p in ["I will ", "search."]:
                    self._event({"choices": [{"index": 0, "delta": {"content": p}}]})
                if body.get("tools"):
                    for d in TOOL_DELTAS:
                        self._event({"choices": [{"index": 0, "delta": {"tool_calls": [d]}}]})
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._event("[DONE]")
            self._chunk("")  # end of chunked body

    return Handler


def probe_answer(kind: str, path: str, body: dict) -> tuple[int, dict]:
    """A one-token completion as each kind of server answers it: lmdeploy (takes the fields, keeps special
    tokens), strict (refuses unknown fields and ignores logit_bias on completions, like transformers serve),
    stripping (takes and ignores the fields, drops special tokens, like llama.cpp) and chat_only (no
    /v1/completions)."""
    if path != "/v1/completions" or kind == "chat_only":
        return 404, {"detail": "Not Found"}
    if kind == "strict" and "skip_special_tokens" in body:
        return 422, {"detail": "Unexpected fields in the request: {'skip_special_tokens', "
                               "'spaces_between_special_tokens'}"}
    forced = "<|action_start|>" if body.get("logit_bias") and kind != "strict" else "x"
    text = "" if kind == "stripping" and forced.startswith("<|") else forced
    return 200, {"object": "text_completion", "choices": [{"index": 0, "text": text, "finish_reason": "length"}]}


@pytest.fixture
def server():
    state = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def client(state, **kw) -> OpenAIModel:
    kw.setdefault("model", "m")
    kw.setdefault("backoff_s", 0.01)
    return OpenAIModel(state.url, **kw)


GEN = GenerationConfig(max_new_tokens=32)


def test_completions_stream_keeps_special_tokens_and_sends_lmdeploy_fields(server):
    m = client(server, api_key="sk-test")
    text = "".join(m.stream("<|im_start|>user\nhi<|im_end|>\n", GenerationConfig(max_new_tokens=32, seed=5)))
    assert text == "".join(COMPLETION)
    req = server.requests[-1]
    assert req["path"] == "/v1/completions" and req["prompt"].startswith("<|im_start|>")
    assert req["skip_special_tokens"] is False and req["spaces_between_special_tokens"] is False
    assert req["stream"] is True and req["max_tokens"] == 32 and req["seed"] == 5 and req["model"] == "m"
    assert server.headers[-1]["Authorization"] == "Bearer sk-test"


def test_stop_strings_cut_client_side(server):
    m = client(server)
    gen = GenerationConfig(max_new_tokens=32, stop=["<|action_end|>"])
    assert "".join(m.stream("p", gen)) == "".join(COMPLETION[:5])
    assert server.requests[-1]["stop"] == ["<|action_end|>"]
    # spans two server chunks: '...{}}' + '<|action_end|>'
    assert "".join(m.stream("p", GenerationConfig(stop=["}}<|action"]))) == "".join(COMPLETION[:4]) + '"parameters": {'


def test_model_name_discovered_from_v1_models(server):
    m = load(ModelSpec(backend="openai", base_url=server.url + "/v1/", max_retries=0))
    assert m.model == m.name == "internlm2-chat-7b"
    "".join(m.stream("p", GEN))
    assert server.requests[-1]["model"] == "internlm2-chat-7b"


def test_generate_is_concurrent_and_ordered(server):
    m = client(server)
    prompts = [f"echo:{i}" for i in range(6)]
    assert m.generate(prompts, GEN) == [f"{i}!" for i in range(6)]


def test_chat_yields_text_then_complete_tool_calls(server):
    m = client(server)
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    out = list(m.chat([{"role": "user", "content": "weather?"}], tools, GEN))
    text = "".join(p for p in out if isinstance(p, str))
    calls = [p for p in out if isinstance(p, ChatToolCall)]
    assert text == "I will search."
    assert [(c.id, c.name) for c in calls] == [("call_a", "search"), ("call_b", "python")]
    assert calls[0].parsed_arguments() == {"query": "weather"}
    assert calls[1].parsed_arguments() == {"code": "1+1"}
    assert isinstance(out[-1], ChatToolCall)  # calls come after all text
    assert server.requests[-1]["tools"] == tools and server.requests[-1]["path"] == "/v1/chat/completions"
    with pytest.raises(ValueError, match="JSON object"):
        ChatToolCall("x", "f", "[1]").parsed_arguments()


def test_retries_5xx_then_succeeds(server):
    server.mode, server.failures = "fail_then_ok", 2
    assert "".join(client(server, max_retries=3).stream("p", GEN)) == "".join(COMPLETION)
    assert len(server.requests) == 3


def test_retries_429_with_retry_after(server):
    server.mode, server.failures = "429_then_ok", 1
    assert "".join(client(server, max_retries=1).stream("p", GEN)) == "".join(COMPLETION)
    assert len(server.requests) == 2


def test_gives_up_after_max_retries(server):
    server.mode = "always_500"
    with pytest.raises(ModelError, match=r"HTTP 500: engine overloaded \(after 3 tries\)"):
        "".join(client(server, max_retries=2).stream("p", GEN))
    assert len(server.requests) == 3


def test_error_json_is_reported_and_not_retried(server):
    server.mode = "error_json"
    with pytest.raises(ModelError, match="HTTP 400: The model `x` does not exist"):
        "".join(client(server).stream("p", GEN))
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode, message", [
    ("garbage", "not JSON: 'this is not json'"),
    ("error_chunk", "error mid-stream: CUDA out of memory"),
    ("html", "did not answer an event stream"),
    ("empty", "empty stream"),
    ("no_finish", "ended the stream before the answer was finished"),
])
def test_bad_answers_are_clear_errors(server, mode, message):
    server.mode = mode
    with pytest.raises(ModelError, match=message):
        "".join(client(server).stream("p", GEN))


def test_no_retry_once_tokens_were_streamed(server):
    server.mode = "break_after_tokens"
    stream = client(server, max_retries=3).stream("p", GEN)
    assert next(stream) == "partial"
    with pytest.raises(ModelError, match="broke off"):
        next(stream)
    assert len(server.requests) == 1


def test_hanging_server_times_out(server):
    server.mode = "hang"
    start = time.monotonic()
    with pytest.raises(ModelError, match="sent nothing for 0.3 s"):
        "".join(client(server, timeout_s=0.3, max_retries=3).stream("p", GEN))
    assert time.monotonic() - start < 2.5 and len(server.requests) == 1


def test_closed_port_says_start_the_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(ModelError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1: is `lmdeploy serve api_server`"):
        "".join(OpenAIModel(url, model="m", max_retries=1, backoff_s=0.01).stream("p", GEN))
    with pytest.raises(ModelError, match="cannot reach"):
        load(ModelSpec(backend="openai", base_url=url, max_retries=0))


def test_api_root_and_sse_parsing():
    assert api_root("http://h:1") == api_root("http://h:1/v1/") == "http://h:1/v1"
    with pytest.raises(ModelError, match="http://"):
        api_root("localhost:23333")
    lines = [": comment", "event: x", "data: {\"a\":", "data: 1}", "", "data: [DONE]", ""]
    assert list(sse_data(iter(lines))) == ['{"a":\n1}', "[DONE]"]
    with pytest.raises(ValueError, match="base_url"):
        ModelSpec(backend="openai")


def test_prompt_style_of_a_served_puyu_model_comes_from_its_folder(server, tmp_path):
    # `lmdeploy serve api_server models/bundled/puyu-tiny` serves it under that path: its puyu.json is readable
    folder = tmp_path / "puyu-tiny"
    folder.mkdir()
    (folder / "puyu.json").write_text('{"prompt_style": "compact"}')
    assert load(ModelSpec(backend="openai", base_url=server.url, name=str(folder))).prompt_style == "compact"
    # a name that is no local folder: InternLM2's own prompts; an explicit setting wins over either
    assert load(ModelSpec(backend="openai", base_url=server.url, name="m")).prompt_style == "internlm2"
    assert load(ModelSpec(backend="openai", base_url=server.url, name="m",
                          prompt_style="compact")).prompt_style == "compact"
    assert load(ModelSpec(backend="openai", base_url=server.url, name=str(folder),
                          prompt_style="internlm2")).prompt_style == "internlm2"
    with pytest.raises(ValueError, match="prompt_style 'short'"):
        ModelSpec(backend="openai", base_url=server.url, prompt_style="short")
