"""Start `puyu serve` as a real subprocess on a free loopback port, for the HTTP tests and the load bench."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CALL_THEN_ANSWER = [
    "Let me compute that.<|action_start|><|interpreter|>\n```python\nx = 6 * 7\nprint(x)\n```<|action_end|>",
    "The answer is 42.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_script(path: Path, replies=CALL_THEN_ANSWER, delay_s: float = 0.0) -> Path:
    path.write_text(json.dumps({"replies": replies, "delay_s": delay_s}))
    return path


class Server:
    def __init__(self, data_dir: Path, script: Path, port: int | None = None, extra: list[str] = ()):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "puyu", "serve", "--backend", "replay", "--model", str(script),
               "--data-dir", str(data_dir), "--port", str(self.port), "--tools", "none", *extra]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"puyu serve exited: {self.proc.stdout.read().decode()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("puyu serve did not come up in 60 s")

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
