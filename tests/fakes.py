"""A scripted model double for unit tests of the planner: it replies with pre-written texts in order."""
from __future__ import annotations

from typing import Iterator

from puyu.models.base import ChatModel, ModelError
from puyu.core.config import GenerationConfig
from puyu.models.replay import cut_at_stop

from puyu.core.messages import ToolResult


class ScriptedModel(ChatModel):
    """Streams each scripted reply in small chunks, cutting at stop strings like a real backend, and records
    the prompts it saw. A reply that is an Exception instance is raised instead (to test backend failures)."""

    name = "scripted"

    def __init__(self, replies: list[str | Exception], chunk: int = 3):
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.chunk = chunk

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        self.prompts.append(prompt)
        if not self.replies:
            raise ModelError("the script has no more replies")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        reply = cut_at_stop(reply, gen.stop)
        for i in range(0, len(reply), self.chunk):
            yield reply[i:i + self.chunk]


CODE = "<|action_start|><|interpreter|>\n```python\n{}\n```<|action_end|>"
PLUGIN = '<|action_start|><|plugin|>\n{}<|action_end|>'


class DictInterpreter:
    """A stand-in for the sandboxed interpreter: exec in one namespace (the real one has its own tests)."""

    def __init__(self):
        self.ns, self.calls = {}, []

    def run(self, code):
        import contextlib
        import io
        self.calls.append(code)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, self.ns)
        except Exception as e:
            return ToolResult(f"{type(e).__name__}: {e}", ok=False)
        return ToolResult(out.getvalue())

    def interrupt(self):
        pass

    def close(self):
        pass
