"""`puyu eval --model http://...`: the openai backend against a fake OpenAI-compatible server, with
--concurrency requests in flight (how eval scales out to lmdeploy servers behind a proxy)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from puyu.core.config import ModelSpec
from puyu.eval.config import EvalConfig
from puyu.eval.data import DataMissing, shared_data
from puyu.eval.runner import run_eval

try:
    DATA = shared_data()
except DataMissing:
    DATA = None


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.in_flight = self.most = self.requests = self.probes = 0
        self.keys = set()
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, body: bytes, kind: str):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(json.dumps({"data": [{"id": "fake-internlm2"}]}).encode(), "application/json")

    def do_POST(self):
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("max_tokens") == 1:  # the backend asking once what the server accepts (server_traits)
            with srv.lock:
                srv.probes += 1
            self._send(json.dumps({"choices": [{"index": 0, "text": "H", "finish_reason": "length"}]}).encode(),
                       "application/json")
            return
        with srv.lock:
            srv.in_flight += 1
            srv.requests += 1
            srv.most = max(srv.most, srv.in_flight)
            srv.keys.add(self.headers.get("Authorization"))
        time.sleep(0.05)  # long enough for concurrent requests to overlap
        text = "Answer: A" if "Goal:" in body["prompt"] else "so \\boxed{3}"
        events = [{"choices": [{"index": 0, "text": text[i:i + 4]}]} for i in range(0, len(text), 4)]
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        with srv.lock:
            srv.in_flight -= 1
        self._send(payload.encode(), "text/event-stream")


@pytest.fixture
def server():
    srv = Server()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.skipif(DATA is None, reason="the shared data folder (../shared/data) is absent")
def test_endpoint_eval_runs_requests_concurrently(server, tmp_path):
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cfg = EvalConfig(model=ModelSpec(url, api_key="secret"), bench=["teval-review", "gsm8k-cot"], limit=6,
                     concurrency=3, out=tmp_path / "run", data=DATA, progress=False)
    assert cfg.backend == "openai"
    results = run_eval(cfg, log=lambda m: None)
    assert results["benchmarks"]["teval-review"]["n"] == 6 and results["benchmarks"]["teval-review"]["parse_rate"] == 100
    assert results["benchmarks"]["gsm8k-cot"]["n"] == 6
    assert server.requests == 12 and 2 <= server.most <= 3
    assert server.probes == 1  # asked once per server, not once per thread or benchmark
    assert server.keys == {"Bearer secret"}
    assert "secret" not in (tmp_path / "run" / "results.json").read_text()
