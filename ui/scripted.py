"""A stand-in for a model that plays written replies through the real agent, tools and page: for demos, the
browser test and the latency bench (chosen with PUYU_FAKE_MODEL, see ui/backend.py)."""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

from puyu.models.base import ChatModel, GenerationConfig, ModelError
from puyu.models.replay import ReplayModel

_ANNOUNCED = re.compile(r'"path": "([^"]+)"')
"""A file path in a `user name=file` turn (InternLM2's `[{"path": ..., "size": ...}]`)."""


class ScriptedTurns(ChatModel):
    """models/replay.py's scripted replies, one script per question: the file is a replay script, or
    `{"turns": [script, script, ...], "delay_s": 0.05}` where the conversation's n-th question replays the n-th
    script (the last one for any later question). In a reply, `{file}` stands for the path of the last file the
    conversation announced, which is only known once it is uploaded."""

    name = "scripted"

    def __init__(self, path: str, delay_s: float | None = None, chunk_chars: int = 4):
        try:
            script = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot read the scripted model {path}: {e}") from None
        turns = script.get("turns") if isinstance(script, dict) and "turns" in script else [script]
        if not isinstance(turns, list) or not turns:
            raise ModelError(f"{path}: `turns` must be a non-empty list of replay scripts")
        self.turns = [ReplayModel(t["replies"] if isinstance(t, dict) else t) for t in turns]
        default = script.get("delay_s", 0) if isinstance(script, dict) else 0
        self.delay_s = float(default if delay_s is None else delay_s)
        self.chunk_chars = chunk_chars

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        question = prompt.count("<|im_start|>user\n")
        files = _ANNOUNCED.findall(prompt)
        replay = self.turns[min(max(question, 1), len(self.turns)) - 1]
        reply = "".join(replay.stream(prompt, gen)).replace("{file}", files[-1] if files else "")
        for i in range(0, len(reply), self.chunk_chars):
            time.sleep(self.delay_s)
            yield reply[i:i + self.chunk_chars]
