"""Test doubles for the eval tests (this module holds no tests): a prompt-driven model that can be called from
many threads, and an in-process interpreter."""
from __future__ import annotations

import contextlib
import io
import threading

from puyu.models.base import ChatModel, ModelError, PromptTooLong

from puyu.core.messages import ToolResult

USER, ENV, ASSISTANT = "<|im_start|>user\n", "<|im_start|>environment", "<|im_start|>assistant\n"


def last_user(prompt: str) -> str:
    return prompt.rsplit(USER, 1)[-1].split("<|im_end|>")[0] if USER in prompt else ""


class PromptModel(ChatModel):
    """Replies with `reply(prompt)`, cut at stop strings like a backend. Stateless, so thread-safe; it counts
    calls, prompts per generate() call, and can fail after `fail_after` calls."""

    name = "prompt-model"

    def __init__(self, reply, fail_after: int | None = None, max_chars: int | None = None):
        self.reply = reply
        self.fail_after = fail_after
        self.max_chars = max_chars  # a longer prompt "does not fit the context"
        self.calls = 0
        self.batch_sizes: list[int] = []
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    def _one(self, prompt, gen) -> str:
        with self._lock:
            self.calls += 1
            self.prompts.append(prompt)
            if self.fail_after is not None and self.calls > self.fail_after:
                raise ModelError("the test backend is down")
        if self.max_chars is not None and len(prompt) > self.max_chars:
            raise PromptTooLong(f"the prompt is {len(prompt)} characters; at most {self.max_chars} fit")
        text = self.reply(prompt)
        cuts = [i for i in (text.find(s) for s in gen.stop) if i >= 0]
        return text[:min(cuts)] if cuts else text

    def stream(self, prompt, gen):
        yield self._one(prompt, gen)

    def generate(self, prompts, gen):
        self.batch_sizes.append(len(prompts))
        return [self._one(p, gen) for p in prompts]


def steps_taken(prompt: str) -> int:
    """Assistant turns already written after the last user turn (the agent's step within this turn)."""
    return prompt.rsplit(USER, 1)[-1].count(ASSISTANT) - 1


def last_output(prompt: str) -> str:
    tail = prompt.rsplit(ENV, 1)[-1]
    return tail.split("\n", 1)[-1].split("<|im_end|>")[0].strip()


def code_call(code: str) -> str:
    return f"<|action_start|><|interpreter|>\n```python\n{code}\n```<|action_end|>"


def plugin_call(name: str, args: str) -> str:
    return f'<|action_start|><|plugin|>\n{{"name": "{name}", "parameters": {args}}}<|action_end|>'


class DictInterpreter:
    """Runs code with exec in one namespace per conversation (the sandboxed one has its own tests)."""

    def __init__(self, workdir=None):
        self.ns: dict = {}

    def run(self, code):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, self.ns)  # noqa: S102 - a test double
        except Exception as e:  # noqa: BLE001 - the program's error is its output
            return ToolResult(f"{out.getvalue()}{type(e).__name__}: {e}", ok=False)
        return ToolResult(out.getvalue())

    def interrupt(self):
        pass

    def close(self):
        pass
