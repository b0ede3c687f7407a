"""`puyu serve` over real HTTP against malformed and oversized input, keys, a full pool and a damaged store: each
gets a 4xx/503 with an OpenAI-style error object, nothing half-written in the store, and a normal request after
it still works."""
from __future__ import annotations

import base64
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

import httpx
import openai
import pytest
from PIL import Image

from tests.serve_helpers import REPO, Server, write_script

pytestmark = pytest.mark.timeout(180)
KEY = "sesame"
AUTH = {"authorization": f"Bearer {KEY}"}
ANSWER = "Let me compute that.\n\nThe answer is 42."
"""What the agent's turn says (every step's text) with the server's script, after running the code."""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sec-serve")
    srv = Server(tmp / "data", write_script(tmp / "script.json"), extra=["--server.api-key", KEY])
    srv.data = tmp / "data"
    yield srv
    srv.stop()


def conversations(server) -> list[str]:
    ids = [c["id"] for c in httpx.get(server.url + "/v1/conversations", headers=AUTH).json()["data"]]
    folder = server.data / "conversations"
    return sorted(ids + [f"dir:{p.name}" for p in folder.iterdir()] if folder.exists() else ids)


def still_works(server) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    answer = client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": "6*7?"}])
    assert answer.choices[0].message.content == ANSWER


def refused(response: httpx.Response, status: int, words: str) -> None:
    """An OpenAI error object (message, type, param, code) of the type that goes with `status`."""
    assert response.status_code == status, response.text
    err = response.json()["error"]
    kind = "authentication_error" if status == 401 else "invalid_request_error"
    assert words in err["message"] and err["type"] == kind and set(err) == {"message", "type", "param", "code"}, err


def post(server, body: bytes | dict, headers=AUTH) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(server.url + "/v1/chat/completions", content=data,
                      headers={**headers, "content-type": "application/json"}, timeout=60)


def raw_post(url: str, content_length: int, first_bytes: bytes, chunked: bool = False) -> tuple[int, str]:
    """POST with only the start of a (declared or chunked) huge body; the status line and body of the answer."""
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        length = "transfer-encoding: chunked" if chunked else f"content-length: {content_length}"
        s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\n"
                   f"content-type: application/json\r\n{length}\r\n\r\n").encode())
        try:
            if chunked:
                for _ in range(content_length // len(first_bytes)):
                    s.sendall(f"{len(first_bytes):x}\r\n".encode() + first_bytes + b"\r\n")
            else:
                s.sendall(first_bytes)
        except OSError:
            pass  # the server may answer and close before it has all we send
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.find(b"\r\n\r\n") + 60:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def test_a_lone_surrogate_is_a_400_and_leaves_no_conversation(server):
    before = conversations(server)
    r = post(server, b'{"messages": [{"role": "user", "content": "bad \\ud800 text"}]}')
    refused(r, 400, "lone surrogate")
    assert conversations(server) == before
    still_works(server)


@pytest.mark.parametrize("authorization", [KEY, "Basic " + KEY, "Bearer ключ".encode(), b"Bearer \xff\xfe", ""])
def test_keys_without_bearer_or_with_odd_bytes_are_a_401(server, authorization):
    r = post(server, {"messages": [{"role": "user", "content": "hi"}]}, headers={"authorization": authorization})
    refused(r, 401, "API key")
    still_works(server)


@pytest.mark.parametrize("carried_as", ["file message", "image part"])
def test_a_decompression_bomb_upload_is_a_400_and_leaves_nothing(server, carried_as):
    png = io.BytesIO()
    Image.new("1", (30000, 30000)).save(png, "PNG")  # ~100 KB on disk, 900 million pixels decoded
    data = base64.b64encode(png.getvalue()).decode()
    if carried_as == "file message":
        messages = [{"role": "user", "content": "look"},
                    {"role": "user", "name": "file", "content": json.dumps([{"name": "bomb.png", "data_base64": data}])}]
    else:
        messages = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                                 {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]}]
    before = conversations(server)
    refused(post(server, {"messages": messages}), 400, "pixels")
    assert conversations(server) == before
    still_works(server)


def test_a_50_mb_message_and_ten_29_mb_files_are_a_413_unread(server):
    before = conversations(server)
    status, body = raw_post(server.url, 50 * 2**20, b'{"messages": [{"role": "user", "content": "' + b"x" * 2**20)
    assert status == 413 and "larger than 48 MB" in json.loads(body)["error"]["message"]
    status, body = raw_post(server.url, 10 * 29 * 2**20 * 4 // 3, b'{"messages": [')
    assert status == 413
    status, body = raw_post(server.url, 64 * 2**20, b"x" * 2**20, chunked=True)  # no length said: counted
    assert status == 413
    assert conversations(server) == before
    still_works(server)


def test_a_full_pool_is_a_503_with_retry_after_not_a_failure_inside_a_200(tmp_path):
    slow = [("Working.<|action_start|><|interpreter|>\n```python\nimport time; time.sleep(3); print(42)\n```"
             "<|action_end|>"), "The answer is 42."]
    srv = Server(tmp_path / "data", write_script(tmp_path / "s.json", slow),
                 extra=["--server.pool-size", "1", "--server.busy-wait-s", "0"])
    try:
        first = {}
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
        holder = threading.Thread(target=lambda: first.update(answer=client.chat.completions.create(
            model="puyu", messages=[{"role": "user", "content": "slow"}]).choices[0].message.content))
        holder.start()
        time.sleep(1.5)
        r = httpx.post(srv.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "me too"}]},
                       timeout=30)
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1, r.text
        assert r.json()["error"]["type"] == "server_error" and "interpreters are in use" in r.json()["error"]["message"]
        holder.join()
        assert first["answer"] == "Working.\n\nThe answer is 42."
        again = client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": "me too"}])
        assert again.choices[0].message.content == "Working.\n\nThe answer is 42."
        assert len(httpx.get(srv.url + "/v1/conversations").json()["data"]) == 2  # the refused one left nothing
    finally:
        srv.stop()


def test_a_damaged_store_is_one_line_at_start_and_a_failing_health_while_running(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "puyu.db").write_bytes(os.urandom(8192))
    done = subprocess.run([sys.executable, "-m", "puyu", "serve", "--backend", "replay", "--model",
                           str(write_script(tmp_path / "s.json")), "--data-dir", str(bad)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    said = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2 and len(said) == 1 and "damaged or not a puyu store" in said[0], said

    srv = Server(tmp_path / "data", write_script(tmp_path / "s.json"))
    try:
        still_works_plain(srv)
        db = tmp_path / "data" / "puyu.db"
        with sqlite3.connect(db) as other:  # what the server wrote is in the file, not only in its WAL
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with open(db, "r+b") as f:  # damaged under the running server
            f.write(os.urandom(db.stat().st_size))
        r = httpx.get(srv.url + "/health")
        assert r.status_code == 503 and "damaged" in r.json()["error"]["message"]
    finally:
        srv.stop()


def still_works_plain(srv) -> None:
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    answer = client.chat.completions.create(model="puyu", messages=[{"role": "user", "content": "6*7?"}])
    assert answer.choices[0].message.content == ANSWER
    assert httpx.get(srv.url + "/health").json() == {"ok": True}


def test_sandboxes_stopped_between_calls_die_with_a_killed_server(tmp_path):
    srv = Server(tmp_path / "data", write_script(tmp_path / "s.json"))
    try:
        still_works_plain(srv)  # its sandbox now waits, stopped, for the conversation's next call
        sandbox = alive_below(srv.proc.pid)
        assert sandbox
    finally:
        srv.kill9()
    deadline = time.monotonic() + 15
    while [p for p in sandbox if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in sandbox if alive(p)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def alive_below(pid: int) -> list[int]:
    below, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for tid in os.listdir(f"/proc/{parent}/task"):
            with open(f"/proc/{parent}/task/{tid}/children") as f:
                kids = [int(c) for c in f.read().split()]
            below += kids
            todo += kids
    return below
