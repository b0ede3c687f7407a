"""What several bench scripts share: a puyu front end run as its own process on a free loopback port, and a
checkpoint with fresh random weights.

Random weights stand in for a trained model where only speed is measured: the cost of a token depends on the
architecture and the vocabulary, not on the values of the weights, and a random model does not end its replies
early the way a trained one does, so every method decodes the same number of tokens.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"
# What a checkpoint folder holds besides its weights and config: the tokenizer, its chat template, puyu's card.
KEEP = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "puyu.json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_puyu(args: list[str], health: str, log: Path, env: dict | None = None,
               timeout_s: float = 90) -> tuple[subprocess.Popen, str]:
    """Run `python -m puyu ARGS --host 127.0.0.1 --port P` and return it and its URL once GET `health` answers.

    The command gets a process group of its own, so that `stop` also ends what it starts (`puyu ui` runs
    Streamlit as a child process)."""
    port = free_port()
    cmd = [sys.executable, "-m", "puyu", *args, "--host", HOST, "--port", str(port)]
    return start_process(cmd, f"http://{HOST}:{port}", health, log, f"puyu {args[0]}", env, timeout_s)


def start_process(cmd: list[str], url: str, health: str, log: Path, name: str, env: dict | None = None,
                  timeout_s: float = 90) -> tuple[subprocess.Popen, str]:
    """Run `cmd` (a server that will listen on `url`) in a process group of its own, its output in `log`, and
    return it and `url` once GET `health` answers 200; RuntimeError with the log's tail if it does not."""
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`{name}` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + health, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"`{name}` did not answer on {url}{health} within {timeout_s:g} s:\n"
                       f"{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, grace_s: float = 15) -> None:
    """End the process group `start_puyu` made: SIGTERM, then SIGKILL after `grace_s`."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def random_weights(source: str | Path, out: str | Path, seed: int = 0, **overrides) -> Path:
    """Write to `out` a checkpoint with `source`'s tokenizer and architecture (its config.json with `overrides`,
    e.g. a smaller `hidden_size`) and freshly initialised weights; return `out`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging

    logging.disable_progress_bar()  # a bench's output is its table
    source, out = Path(source), Path(out)
    config = AutoConfig.from_pretrained(source)
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise ValueError(f"{source}/config.json has no field {key!r} to override")
        setattr(config, key, value)
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    for name in KEEP:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    return out


def llama_shape(hidden_size: int, num_layers: int) -> dict:
    """Config overrides for a Llama of this width and depth, with 64-wide heads as puyu's own models have."""
    heads = max(1, hidden_size // 64)
    return {"hidden_size": hidden_size, "num_hidden_layers": num_layers, "num_attention_heads": heads,
            "num_key_value_heads": heads, "head_dim": hidden_size // heads, "intermediate_size": 2 * hidden_size}
