"""The server matrix: the bundled model served by real model servers, asked the same questions under each protocol
through `puyu ask`, against the same questions asked in process. tests/test_server_matrix.py runs it in CI for the
servers that run on a CPU (transformers serve, llama.cpp); on a GPU machine this script runs it for all of them:

    .venv/bin/python bench/server_matrix.py --servers lmdeploy,vllm --out runs/server-matrix
    .venv/bin/python bench/server_matrix.py --servers transformers,llama.cpp         # what CI runs, as a table

A server that is not installed is skipped with the reason. Each server gets its own port and log (in --out); the
results go to --out/matrix.json and a Markdown table (docs/servers.md shows the latest).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness import free_port, start_process, stop

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"

QUESTIONS = {
    "interpreter": ("What is 15% of 100?", []),
    "plugin": ("Solve x^2 - 4 = 0", ["--tools", "solve"]),
    "chat": ("Hello, who are you?", []),
}
"""What each cell asks: the bundled model answers the first with the interpreter, the second with the `solve`
plugin, and the third in words (its answers in process are in docs/servers.md)."""
PROTOCOLS = ("internlm2", "react", "openai")
BASELINE = {"internlm2": "internlm2", "react": "react", "openai": "internlm2"}
"""What each protocol's answers are compared with in process: a server's chat template renders the OpenAI request
as the InternLM2 prompt (tests/test_tokenizer.py), so `openai` must answer as `internlm2` does."""


@dataclass
class ServerKind:
    """How to start one kind of server on `port` for a model folder (or, for llama.cpp, its GGUF)."""

    module: str
    """The Python module that must be importable (else: skipped, with why)."""
    command: list[str]
    """Arguments, with {python}, {model}, {port} and {host} filled in."""
    gguf: bool = False
    protocols: tuple[str, ...] = PROTOCOLS
    note: str = ""
    env: dict[str, str] = field(default_factory=dict)


SERVERS = {
    "transformers": ServerKind(
        "transformers", ["{python}", "-m", "transformers.cli.transformers", "serve", "{model}", "--host", "{host}",
                         "--port", "{port}", "--device", "cpu"],
        note="decodes without special tokens and refuses LMDeploy's fields (HTTP 422)"),
    "llama.cpp": ServerKind(
        "llama_cpp.server", ["{python}", "-m", "llama_cpp.server", "--model", "{model}", "--n_ctx", "1024",
                             "--host", "{host}", "--port", "{port}"], gguf=True,
        note="llama-cpp-python; a GGUF made by scripts/make_gguf.py"),
    "lmdeploy": ServerKind(
        "lmdeploy", ["lmdeploy", "serve", "api_server", "{model}", "--server-name", "{host}", "--server-port",
                     "{port}", "--backend", "pytorch", "--tool-call-parser", "internlm"],
        note="GPU; --tool-call-parser internlm turns <|plugin|> calls into tool_calls"),
    "vllm": ServerKind(
        "vllm", ["vllm", "serve", "{model}", "--host", "{host}", "--port", "{port}", "--dtype", "float32",
                 "--max-model-len", "1024", "--enable-auto-tool-choice", "--tool-call-parser", "internlm"],
        note="GPU; float32 to stay close to the CPU answers"),
}


def missing(kind: str) -> str | None:
    """Why server `kind` cannot run here, or None."""
    server = SERVERS[kind]
    try:
        found = importlib.util.find_spec(server.module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        return f"{kind}: `{server.module}` is not installed (scripts/setup.sh installs the CPU ones)"
    if server.command[0] != "{python}" and shutil.which(server.command[0]) is None:
        return f"{kind}: `{server.command[0]}` is not on PATH"
    return None


def make_gguf(model: Path, out: Path) -> Path:
    """The model as GGUF, by scripts/make_gguf.py (llama.cpp's own converter)."""
    path = out / f"{model.name}.gguf"
    if not path.is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_gguf.py"), "--model", str(model), "--out",
                        str(out)], check=True, stdout=subprocess.DEVNULL)
    return path


def start(kind: str, served: Path, log: Path, timeout_s: float = 300) -> tuple[subprocess.Popen, str]:
    """Start server `kind` for `served` (a model folder, or a GGUF) and return it and its URL once it lists it."""
    port = free_port()
    values = {"python": sys.executable, "model": str(served), "port": str(port), "host": HOST}
    cmd = [part.format(**values) for part in SERVERS[kind].command]
    return start_process(cmd, f"http://{HOST}:{port}", "/v1/models", log, kind, SERVERS[kind].env, timeout_s)


def ask(question: str, args: list[str], data_dir: Path) -> dict:
    """`puyu ask QUESTION --json ARGS`, through the CLI's own entry point: its answer, tool calls and errors."""
    from puyu.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["ask", question, "--json", "--data-dir", str(data_dir), *args])
    if not out.getvalue().strip():
        return {"ok": False, "answer": "", "calls": [], "errors": [f"puyu ask exited with {code}"]}
    trace = json.loads(out.getvalue())
    return {"ok": trace["ok"], "answer": trace["answer"],
            "calls": [[e["call"]["name"], e["call"]["arguments"]] for e in trace["events"] if e["type"] == "tool_call"],
            "errors": [e["message"] for e in trace["events"] if e["type"] == "error"]}


def in_process(model: Path, data_dir: Path) -> dict[tuple[str, str], dict]:
    """{(question, protocol): result} asked in process, for the protocols a served answer is compared with."""
    return {(q, p): ask(text, ["--model", str(model), "--protocol", p, *extra], data_dir)
            for q, (text, extra) in QUESTIONS.items() for p in sorted(set(BASELINE.values()))}


def cells(kind: str, url: str, data_dir: Path) -> dict[tuple[str, str], dict]:
    """{(question, protocol): result} from the server at `url`."""
    return {(q, p): ask(text, ["--base-url", url, "--protocol", p, *extra], data_dir)
            for q, (text, extra) in QUESTIONS.items() for p in SERVERS[kind].protocols}


def same(served: dict, local: dict) -> bool:
    return served["ok"] and (served["answer"], served["calls"]) == (local["answer"], local["calls"])


def table(results: dict) -> str:
    rows = ["| server | protocol | " + " | ".join(QUESTIONS) + " |", "|---|---|" + "---|" * len(QUESTIONS)]
    for kind, entry in results.items():
        if "skipped" in entry:
            rows.append(f"| {kind} | (skipped: {entry['skipped']}) |" + " |" * len(QUESTIONS))
            continue
        for p in SERVERS[kind].protocols:
            marks = []
            for q in QUESTIONS:
                cell = entry["cells"][f"{q}/{p}"]
                marks.append("same" if cell["same"] else f"differs: {cell['answer'][:40]!r}")
            rows.append(f"| {kind} | {p} | " + " | ".join(marks) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="lmdeploy,vllm", help="comma-separated: " + ", ".join(SERVERS))
    parser.add_argument("--model", type=Path, default=None, help="a puyu model folder (default: the bundled one)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "server-matrix")
    args = parser.parse_args(argv)
    from puyu.models import BUNDLED_MODEL

    model = (args.model or BUNDLED_MODEL).resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PUYU_CONFIG", str(args.out / "no-config.yaml"))
    data_dir = Path(tempfile.mkdtemp(prefix="puyu-matrix-"))
    local = in_process(model, data_dir)
    results: dict[str, dict] = {}
    for kind in args.servers.split(","):
        why = missing(kind)
        if why:
            results[kind] = {"skipped": why}
            print(f"skipped {why}", flush=True)
            continue
        served = make_gguf(model, args.out / "gguf") if SERVERS[kind].gguf else model
        proc, url = start(kind, served, args.out / f"{kind}.log")
        try:
            got = cells(kind, url, data_dir)
        finally:
            stop(proc)
        results[kind] = {"url": url, "cells": {f"{q}/{p}": {**r, "same": same(r, local[q, BASELINE[p]])}
                                               for (q, p), r in got.items()}}
    (args.out / "matrix.json").write_text(json.dumps({"in_process": {f"{q}/{p}": r for (q, p), r in local.items()},
                                                      "servers": results}, ensure_ascii=False, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
