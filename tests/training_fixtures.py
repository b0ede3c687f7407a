"""Small training records and run options shared by test_training.py, test_lora.py and bench/packing.py."""
from __future__ import annotations

import json
import random
from pathlib import Path

CALC_TOOL = {"name": "calculator", "description": "Evaluate an arithmetic expression.",
             "parameters": [{"name": "expression", "type": "STRING", "description": "e.g. 2+2"}],
             "required": ["expression"]}


def make_records(n: int, seed: int = 0) -> list[dict]:
    """Conversations of the shapes the real data has: plain replies, interpreter calls, plugin calls,
    a system message, and an assistant turn marked loss=false."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        kind = i % 3
        if kind == 0:
            conv = [{"role": "user", "content": f"What is {a} + {b}?", "loss": False},
                    {"role": "assistant", "content": f"It is {a + b}.", "loss": True}]
            records.append({"conversation": conv, "tools": [], "interpreter": False, "meta": {"kind": "chat"}})
        elif kind == 1:
            conv = [{"role": "system", "content": "Be brief.", "loss": False},
                    {"role": "user", "content": f"Multiply {a} by {b} with Python.", "loss": False},
                    {"role": "assistant", "content": "I will run it.", "loss": True,
                     "tool_call": {"name": "python", "arguments": {"code": f"print({a} * {b})"}}},
                    {"role": "environment", "content": str(a * b), "name": "interpreter", "loss": False},
                    {"role": "assistant", "content": f"{a} * {b} = {a * b}.", "loss": True}]
            records.append({"conversation": conv, "tools": [], "interpreter": True, "meta": {"kind": "code"}})
        else:
            conv = [{"role": "user", "content": f"Compute {a} - {b}.", "loss": False},
                    {"role": "assistant", "content": "Thinking aloud that should not be learned.", "loss": False},
                    {"role": "user", "content": "Use the calculator.", "loss": False},
                    {"role": "assistant", "content": "", "loss": True,
                     "tool_call": {"name": "calculator", "arguments": {"expression": f"{a}-{b}"}}},
                    {"role": "environment", "content": str(a - b), "name": "plugin", "loss": False},
                    {"role": "assistant", "content": f"The answer is {a - b}.", "loss": True}]
            records.append({"conversation": conv, "tools": [CALC_TOOL], "interpreter": False,
                            "meta": {"kind": "plugin"}})
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_tokenizer(path: Path) -> Path:
    from tiny_model import build_tiny_tokenizer

    build_tiny_tokenizer().save_pretrained(path)
    return path


def tiny_run_args(tmp: Path, out: str = "run", **over) -> list[str]:
    """CLI arguments for a seconds-long pretraining run of the puyu-micro preset."""
    data = tmp / "train.jsonl"
    if not data.exists():
        write_jsonl(data, make_records(40))
    tok = tmp / "tokenizer"
    if not tok.exists():
        write_tokenizer(tok)
    opts = {"data": data, "tokenizer": tok, "out_dir": tmp / out, "model": "puyu-micro", "max_len": 768,
            "batch_size": 2, "max_steps": 6, "warmup_steps": 2, "lr": 0.01, "eval_every": 3, "save_every": 3,
            "threads": 1, "progress": "false", **over}
    return [x for k, v in opts.items() for x in (f"--{k.replace('_', '-')}", str(v))]
