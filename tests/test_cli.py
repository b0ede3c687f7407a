"""The `puyu` command through real subprocesses, as a user would run it."""
import json
import os
import subprocess
import sys

import pytest

from puyu.models import BUNDLED_MODEL
from tests.serve_helpers import REPO, write_script

PROGRAM = "values = [3, 141, 59, 26]\nprint(sum(v * v for v in values))"
SCRIPT = [f"I will compute it.<|action_start|><|interpreter|>\n```python\n{PROGRAM}\n```<|action_end|>",
          "Done: the interpreter printed the sum of squares."]


def puyu(*args, stdin: str | None = None, env: dict | None = None, timeout: int = 120):
    return subprocess.run([sys.executable, "-m", "puyu", *args], cwd=REPO, input=stdin, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_ask_json_returns_the_interpreters_value_and_the_trace(tmp_path):
    script = write_script(tmp_path / "s.json", SCRIPT)
    out = puyu("ask", "sum of squares of 3, 141, 59, 26?", "--json", "--backend", "replay", "--model", str(script),
               "--data-dir", str(tmp_path / "d"), "--tools", "none")
    assert out.returncode == 0, out.stderr
    trace = json.loads(out.stdout)
    kinds = [e["type"] for e in trace["events"]]
    assert kinds == ["token", "tool_call", "tool_result", "token", "final"]
    result = trace["events"][2]["result"]
    assert result["ok"] and result["text"].strip() == str(3 * 3 + 141 * 141 + 59 * 59 + 26 * 26)
    assert trace["events"][1]["call"]["arguments"]["code"] == PROGRAM
    assert trace["answer"] == SCRIPT[1] and trace["ok"]


@pytest.mark.skipif(not (BUNDLED_MODEL / "config.json").exists(), reason="the bundled model is not trained yet")
def test_ask_bundled_model_answers_from_the_interpreter(tmp_path):
    """The bundled model, through the real CLI: it writes an interpreter call that runs, and its answer quotes
    what the interpreter printed. (Whether it copied the question's numbers right is eval's business.)"""
    out = puyu("ask", "What is 1234 * 5678?", "--json", "--data-dir", str(tmp_path / "d"), timeout=300)
    assert out.returncode == 0, out.stderr
    trace = json.loads(out.stdout)
    calls = [e["call"] for e in trace["events"] if e["type"] == "tool_call"]
    results = [e["result"] for e in trace["events"] if e["type"] == "tool_result"]
    assert calls and calls[0]["name"] == "python" and results and results[-1]["ok"]
    printed = results[-1]["text"].strip()
    assert printed and printed in trace["answer"].replace(",", "")


def test_missing_model_is_a_clear_message_not_a_traceback(tmp_path):
    out = puyu("ask", "hi", "--model", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "puyu:" in out.stderr


def test_unreachable_server_is_a_clear_message(tmp_path):
    out = puyu("ask", "hi", "--base-url", "http://127.0.0.1:9", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and "127.0.0.1:9" in out.stderr


def test_chat_repl_streams_and_shows_tool_steps(tmp_path):
    script = write_script(tmp_path / "s.json", SCRIPT)
    out = puyu("chat", "--backend", "replay", "--model", str(script), "--data-dir", str(tmp_path / "d"),
               "--tools", "none", stdin="sum of squares?\n/exit\n")
    assert out.returncode == 0, out.stderr
    assert "tool: python" in out.stdout and str(sum(v * v for v in (3, 141, 59, 26))) in out.stdout and "interpreter printed" in out.stdout
    assert "interpreter sandbox:" in out.stdout


def test_help_and_unknown_command():
    assert puyu("--help").returncode == 0
    bad = puyu("frobnicate")
    assert bad.returncode == 2 and "commands:" in bad.stderr
    assert "--base-url" in puyu("ask", "--help").stdout
