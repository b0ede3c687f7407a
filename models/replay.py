"""A backend that replays written replies instead of running a model (`--backend replay --model script.json`): for
demos of the app and server, and for tests and benchmarks of the real CLI, HTTP and browser paths.

The script is JSON, one of:
- a list of replies in the InternLM2 format;
- `{"replies": [...], "delay_s": 0.05}`, to stream slowly (a pause before each chunk);
- `{"turns": [script, script, ...], "delay_s": ..., "log": "calls.jsonl"}`: the conversation's n-th question
  replays the n-th script (the last one for any later question);
- `{"sequence": [...]}`: each call takes the next reply, whatever the prompt (for tests that regenerate).
A script may carry the `card` (puyu/core/card.py) of the model it stands in for: `{"card": {"default_tools": ["ocr"]}}`.

Which reply a prompt gets depends on the prompt alone (the number of tool results since its last user turn), so a
script reads like one turn (call, then answer) and replays the same way for any number of concurrent conversations.
In a reply, `{file}` stands for the path of the last file the conversation announced, known only once uploaded.
With `log`, every call appends a JSON line: the prompt, when the call came and when its first chunk left, which is
how tests see what the model was shown and how benchmarks time the path around the model.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from puyu.core.card import ModelCard
from puyu.core.config import GenerationConfig
from puyu.models.base import ChatModel, ModelError

_ANNOUNCED = re.compile(r'"path": "([^"]+)"')
"""A file path in a `user name=file` turn (InternLM2's `[{"path": ..., "size": ...}]`)."""


def cut_at_stop(text: str, stop: list[str]) -> str:
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    return text[:min(cuts)] if cuts else text


def _read(path: str | Path):
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read replay script {path}: {e}") from None


def script_card(path: str | Path) -> ModelCard:
    """The card a replay script declares (the default card when it names none, or cannot be read yet)."""
    try:
        script = _read(path)
    except ModelError:
        return ModelCard()
    card = script.get("card") if isinstance(script, dict) else None
    return ModelCard(**card) if isinstance(card, dict) else ModelCard()


def _replies(script, where: str) -> list[str]:
    replies = script.get("replies") if isinstance(script, dict) else script
    if not isinstance(replies, list) or not replies or not all(isinstance(r, str) for r in replies):
        raise ModelError(f"{where}: a replay script must be a non-empty JSON list of strings")
    return replies


class ReplayModel(ChatModel):
    name = "replay"

    def __init__(self, turns: list[list[str]], chunk_chars: int = 4, delay_s: float = 0.0, log: str | None = None,
                 sequence: list[str] | None = None, card: ModelCard | None = None):
        self.turns = turns
        self.sequence = list(sequence) if sequence else None
        self.chunk_chars = chunk_chars
        self.delay_s = delay_s
        self.log = Path(log) if log else None
        self.prompt_style = (card or ModelCard()).prompt_style
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, **kw) -> ReplayModel:
        script = _read(path)
        if isinstance(script, dict) and "sequence" in script:
            kw["sequence"] = _replies({"replies": script["sequence"]}, str(path))
        turns = script.get("turns") if isinstance(script, dict) and "turns" in script else [script]
        if not isinstance(turns, list) or not turns:
            raise ModelError(f"{path}: `turns` must be a non-empty list of replay scripts")
        if isinstance(script, dict):
            kw.setdefault("delay_s", float(script.get("delay_s", 0)))
            kw.setdefault("log", script.get("log"))
            try:
                kw.setdefault("card", script_card(path))
            except (TypeError, ValueError) as e:
                raise ModelError(f"{path}: bad card: {e}") from None
        return cls([] if "sequence" in kw else [_replies(t, str(path)) for t in turns], **kw)

    def _reply(self, prompt: str) -> str:
        if self.sequence is not None:
            with self._lock:
                if not self.sequence:
                    raise ModelError("the replay script has no more replies")
                return self.sequence.pop(0)
        question = prompt.count("<|im_start|>user\n")
        replies = self.turns[min(max(question, 1), len(self.turns)) - 1]
        step = prompt[prompt.rfind("<|im_start|>user\n"):].count("<|im_start|>environment")
        return replies[min(step, len(replies) - 1)]

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        called = time.time()
        files = _ANNOUNCED.findall(prompt)
        reply = self._reply(prompt).replace("{file}", files[-1] if files else "")
        reply = cut_at_stop(reply, gen.stop)
        for i in range(0, len(reply), self.chunk_chars):
            if self.delay_s:
                time.sleep(self.delay_s)
            if i == 0:
                self._record(prompt, called)
            yield reply[i:i + self.chunk_chars]
        if not reply:
            self._record(prompt, called)

    def count_tokens(self, text: str, prompt: bool = False) -> int:
        """A replayed reply's tokens are the chunks it streams in (chunk_chars characters each), its prompt's too."""
        return -(-len(text) // self.chunk_chars)

    def _record(self, prompt: str, called: float) -> None:
        if self.log is None:
            return
        line = json.dumps({"prompt": prompt, "called": called, "first_chunk": time.time()}, ensure_ascii=False)
        with self._lock, open(self.log, "a", encoding="utf-8") as f:
            f.write(line + "\n")
