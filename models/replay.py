"""A backend that replays written replies instead of running a model: for demos of the UI and server,
and for tests of the real CLI and HTTP paths without a trained model.

The file is JSON: a list of replies in the InternLM2 format, or `{"replies": [...], "delay_s": 0.05}` to
stream slowly (a pause before each chunk). Which reply a prompt gets depends on the prompt
alone — the number of tool results since its last user turn — so a script reads like one turn
(call, then answer) and replays the same way for any number of concurrent conversations.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

from puyu.models.base import ChatModel, GenerationConfig, ModelError


def cut_at_stop(text: str, stop: list[str]) -> str:
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    return text[:min(cuts)] if cuts else text


class ReplayModel(ChatModel):
    name = "replay"

    def __init__(self, replies: list[str], chunk_chars: int = 4, delay_s: float = 0.0):
        if not replies or not all(isinstance(r, str) for r in replies):
            raise ModelError("a replay script must be a non-empty JSON list of strings")
        self.replies = replies
        self.chunk_chars = chunk_chars
        self.delay_s = delay_s

    @classmethod
    def from_file(cls, path: str | Path, **kw) -> "ReplayModel":
        try:
            script = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot read replay script {path}: {e}") from None
        if isinstance(script, dict):
            kw.setdefault("delay_s", float(script.get("delay_s", 0)))
            script = script.get("replies")
        return cls(script, **kw)

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        turn = prompt[prompt.rfind("<|im_start|>user\n"):]
        step = turn.count("<|im_start|>environment")
        reply = cut_at_stop(self.replies[min(step, len(self.replies) - 1)], gen.stop)
        for i in range(0, len(reply), self.chunk_chars):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield reply[i:i + self.chunk_chars]
