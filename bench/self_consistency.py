"""Would sampling several programs and voting on their printed output (self-consistency) beat greedy decoding?

    python bench/self_consistency.py --model models/bundled/puyu-tiny --heldout data/agent/heldout.jsonl \
        --samples 8 --temperature 1.2 --items 400 --out bench/results/self_consistency.json

Teacher-forced, one interpreter step at a time: for every interpreter call in a held-out conversation the model sees
the reference conversation up to that call, writes one greedy program and `samples` sampled ones, and each runs in a
copy of the variables the reference's earlier programs left. A step counts as right when the printed output equals
the reference's. Reported per kind of item: greedy, majority vote over greedy + samples (ties go to greedy), and the
oracle (any candidate right), which bounds what any reranker of these samples could reach.
The programs are the model's own on trusted eval data and run in this process, not in the sandbox.
"""
from __future__ import annotations

import contextlib
import io
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from puyu.models import ModelSpec, load
from puyu.models.base import GenerationConfig
from puyu.training.data.schema import read_jsonl
from tqdm import tqdm

from puyu.core.dataclass_cli import parse
from puyu.core.protocols import InternLM2Protocol


@dataclass
class VoteConfig:
    """Greedy vs majority vote over sampled programs, one interpreter step at a time."""

    model: str = "models/bundled/puyu-tiny"
    heldout: str = "data/agent/heldout.jsonl"
    samples: int = 8
    """Sampled programs per step, besides the greedy one."""
    temperature: float = 1.2
    top_p: float = 0.95
    items: int = 400
    """Held-out conversations to use (a seeded sample)."""
    out: str = ""
    """Optional JSON file for the results."""


def printed(code: str, variables: dict) -> str | None:
    """What `code` prints when run on a copy of `variables`; None if it raises."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(code, variables)
    except Exception:
        return None
    return buffer.getvalue().strip()


def vote(outputs: list[str | None]) -> str | None:
    counts = Counter(o for o in outputs if o is not None)
    if not counts:
        return None
    top = max(counts.values())
    return outputs[0] if counts.get(outputs[0]) == top else next(o for o in counts if counts[o] == top)


def main(argv: list[str] | None = None) -> dict:
    cfg = parse(VoteConfig, argv)
    model = load(ModelSpec(path_or_name=cfg.model))
    records = list(read_jsonl(cfg.heldout))
    random.Random(0).shuffle(records)
    tally: Counter = Counter()
    for n, record in enumerate(tqdm(records[:cfg.items], desc="items")):
        if not record.interpreter:
            continue
        protocol = InternLM2Protocol(record.lang, style=model.prompt_style)
        kind = {"multi_turn": "multi_turn", "gsm8k": "gsm8k"}.get(record.meta.get("family"), "tool")
        variables: dict = {}
        turns = record.conversation
        for i, turn in enumerate(turns):
            if not (turn.tool_call and turn.tool_call["name"] == "python"):
                continue
            prompt = protocol.render([t.to_message() for t in turns[:i]], record.tools, interpreter=True)
            greedy = GenerationConfig(max_new_tokens=160, stop=protocol.stop)
            sampled = GenerationConfig(max_new_tokens=160, stop=protocol.stop, temperature=cfg.temperature,
                                       top_p=cfg.top_p, seed=n * 101 + i)
            texts = model.generate([prompt], greedy) + model.generate([prompt] * cfg.samples, sampled)
            outputs = []
            for text in texts:
                call = protocol.parse(text).call
                ok = call is not None and call.is_interpreter
                outputs.append(printed(call.arguments.get("code", ""), dict(variables)) if ok else None)
            want = turns[i + 1].content.strip()
            tally[kind, "steps"] += 1
            tally[kind, "greedy"] += outputs[0] == want
            tally[kind, "vote"] += vote(outputs) == want
            tally[kind, "oracle"] += want in outputs
            printed(turn.tool_call["arguments"]["code"], variables)  # the reference's variables for the next step
    result = {kind: {"steps": tally[kind, "steps"],
                     **{k: round(100 * tally[kind, k] / max(tally[kind, "steps"], 1), 1)
                        for k in ("greedy", "vote", "oracle")}}
              for kind in ("tool", "multi_turn", "gsm8k")}
    result["config"] = cfg.__dict__
    print(json.dumps(result, indent=1))
    if cfg.out:
        Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
