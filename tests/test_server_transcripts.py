"""LMDeploy and vLLM need a GPU, so CI replays what they do instead: tests/transcripts/*.json hold, for puyu-tiny
served by each, the requests puyu must send and the responses the server gives, written from the servers' own
source and documentation (each file's `sources`, each exchange's `why`). A transcript server answers them in order
and fails on a request that differs; `puyu ask` must end with the expected answer, calls or error.
bench/server_matrix.py runs the same questions against the real servers on a GPU machine."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_server_matrix import matrix

TRANSCRIPTS = Path(__file__).parent / "transcripts"
CASES = [(path.stem, name) for path in sorted(TRANSCRIPTS.glob("*.json"))
         for name in json.loads(path.read_text("utf-8"))["scenarios"]]


def load(server: str) -> dict:
    from puyu.models import BUNDLED_MODEL

    text = (TRANSCRIPTS / f"{server}.json").read_text("utf-8")
    return json.loads(text.replace("{bundled}", str(BUNDLED_MODEL)))


def mismatch(want: dict, method: str, path: str, body: dict) -> str | None:
    """How a request differs from the transcript's, or None."""
    if (method, path) != (want["method"], want["path"]):
        return f"expected {want['method']} {want['path']}, got {method} {path}"
    for key, value in want.get("body", {}).items():
        if body.get(key) != value:
            return f"{path}: expected {key}={value!r}, got {body.get(key)!r}"
    for key, parts in want.get("contains", {}).items():
        text = json.dumps(body.get(key), ensure_ascii=False) if not isinstance(body.get(key), str) else body[key]
        missing = [p for p in parts if p not in text]
        if missing:
            return f"{path}: {key} lacks {missing}"
    return None


class Replay:
    """A server that answers a transcript's exchanges in order and notes every request that differs."""

    def __init__(self, exchanges: list[dict]):
        self.exchanges, self.problems, self.lock = list(exchanges), [], threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                replay.answer(self, {})

            def do_POST(self):
                replay.answer(self, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        with self.lock:
            exchange = self.exchanges.pop(0) if self.exchanges else None
        problem = "an extra request" if exchange is None else mismatch(exchange["request"], handler.command,
                                                                     handler.path, body)
        if problem:
            self.problems.append(problem)
            return self.send(handler, 500, "application/json", json.dumps({"message": problem}).encode())
        response = exchange["response"]
        if "sse" in response:
            events = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in response["sse"])
            return self.send(handler, response["status"], "text/event-stream", events.encode())
        return self.send(handler, response["status"], "application/json", json.dumps(response["json"]).encode())

    @staticmethod
    def send(handler, status: int, ctype: str, data: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("server, scenario", CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_puyu_ask_against_a_recorded_server(server, scenario, tmp_path, monkeypatch):
    monkeypatch.setenv("PUYU_CONFIG", str(tmp_path / "none.yaml"))
    case = load(server)["scenarios"][scenario]
    replay = Replay(case["exchanges"])
    try:
        question, *args = case["ask"]
        got = matrix.ask(question, ["--base-url", replay.url, *args], tmp_path)
    finally:
        replay.close()
    assert replay.problems == [] and replay.exchanges == [], (replay.problems, len(replay.exchanges))
    want = case["expect"]
    assert got["ok"] is want["ok"], got
    if want["ok"]:
        assert (got["answer"], got["calls"]) == (want["answer"], want["calls"])
    else:
        assert any(want["error"] in e for e in got["errors"]), got["errors"]


def test_every_exchange_says_where_its_behaviour_is_documented():
    for path in TRANSCRIPTS.glob("*.json"):
        data = json.loads(path.read_text("utf-8"))
        assert data["sources"] and all(v.startswith("http") for v in data["sources"].values()), path.name
        assert all(e.get("why") for s in data["scenarios"].values() for e in s["exchanges"]), path.name
