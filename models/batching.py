"""A micro-batcher: many threads call `stream()` one prompt at a time, one `generate()` call serves them together.

This lets eval (and anything else) run N agent conversations in threads, each through the ordinary agent loop,
while an in-process model still decodes them as one batch. Requests are grouped by identical GenerationConfig,
because one `generate()` call takes one config.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field

from puyu.core.config import GenerationConfig
from puyu.models.base import ChatModel, ModelError, generate_each


def _key(gen: GenerationConfig) -> str:
    return json.dumps(asdict(gen), sort_keys=True)


@dataclass
class _Request:
    prompt: str
    gen: GenerationConfig
    key: str
    since: float = field(default_factory=time.monotonic)
    future: Future = field(default_factory=Future)


class BatchingModel(ChatModel):
    """Wraps `model`; `stream()` blocks until its batch is done, then yields the whole reply in one piece.

    A batch is served once `max_batch` requests with the same config are waiting, or when the oldest waiting
    request has waited `max_wait_ms`. `batch_sizes` records every batch served (for tests and benchmarks).
    """

    def __init__(self, model: ChatModel, max_batch: int = 8, max_wait_ms: float = 20.0):
        if max_batch < 1 or max_wait_ms < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_ms >= 0")
        self.model = model
        self.name, self.prompt_style = model.name, model.prompt_style
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.batch_sizes: list[int] = []
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._serve, name="batching-model", daemon=True)
        self._worker.start()

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        text = self.submit(prompt, gen).result()
        if text:
            yield text

    def submit(self, prompt: str, gen: GenerationConfig) -> Future:
        request = _Request(prompt, gen, _key(gen))
        with self._cond:
            if self._closed:
                raise ModelError("the batching model was closed")
            self._pending.append(request)
            self._cond.notify_all()
        return request.future

    def generate(self, prompts: list[str], gen: GenerationConfig) -> list[str]:
        """A caller that already has a batch goes straight to the model."""
        return self.model.generate(prompts, gen)

    def apply_chat_template(self, messages: list[dict]) -> str:
        return self.model.apply_chat_template(messages)

    def close(self) -> None:
        """Stop the worker (waiting requests fail with ModelError); the wrapped model is left open."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._worker.join()

    # ---- the worker ----------------------------------------------------------------------------------------

    def _take_batch(self) -> list[_Request] | None:
        """Wait for a batch to be due and remove it from the queue; None once closed."""
        with self._cond:
            while True:
                if self._closed:
                    for r in self._pending:
                        r.future.set_exception(ModelError("the batching model was closed"))
                    self._pending.clear()
                    return None
                if self._pending:
                    oldest = self._pending[0]
                    same = [r for r in self._pending if r.key == oldest.key]
                    left = oldest.since + self.max_wait - time.monotonic()
                    if len(same) >= self.max_batch or left <= 0:
                        batch = same[:self.max_batch]
                        taken = set(map(id, batch))
                        self._pending = [r for r in self._pending if id(r) not in taken]
                        return batch
                    self._cond.wait(left)
                else:
                    self._cond.wait()

    def _serve(self) -> None:
        while (batch := self._take_batch()) is not None:
            self.batch_sizes.append(len(batch))
            try:
                texts = generate_each(self.model, [r.prompt for r in batch], batch[0].gen)
                if len(texts) != len(batch):
                    raise ModelError(f"{self.name} returned {len(texts)} texts for {len(batch)} prompts")
            except Exception as e:  # noqa: BLE001 - every caller in the batch sees it; the worker lives on
                err = e if isinstance(e, ModelError) else ModelError(f"{type(e).__name__}: {e}")
                for r in batch:
                    r.future.set_exception(err)
                continue
            for r, text in zip(batch, texts):
                if isinstance(text, Exception):
                    r.future.set_exception(text)
                else:
                    r.future.set_result(text)
