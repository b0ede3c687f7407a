"""BatchingModel: concurrent stream() calls are served by batched generate() calls, one config per batch."""
import threading
import time

import pytest
from puyu.agent.agent import Agent, answer
from puyu.models.base import ChatModel, ModelError
from puyu.core.config import GenerationConfig
from puyu.models.batching import BatchingModel
from puyu.tools.base import Toolbox

from puyu.core.messages import Message


class RecordingModel(ChatModel):
    """Answers each prompt with itself upper-cased; records every batch it was given."""

    name = "recording"

    def __init__(self, delay=0.01, fail_on=None):
        self.batches: list[tuple[int, float]] = []
        self.delay = delay
        self.fail_on = fail_on

    def stream(self, prompt, gen):
        yield from self.generate([prompt], gen)

    def generate(self, prompts, gen):
        self.batches.append((len(prompts), gen.temperature))
        time.sleep(self.delay)
        if self.fail_on and any(self.fail_on in p for p in prompts):
            raise RuntimeError("boom")
        return [p.upper() for p in prompts]


def call_together(model, prompts, gens):
    """Call stream() from one thread per prompt, all released at once; return the texts (or exceptions)."""
    out = [None] * len(prompts)
    barrier = threading.Barrier(len(prompts))

    def worker(i):
        barrier.wait()
        try:
            out[i] = "".join(model.stream(prompts[i], gens[i]))
        except Exception as e:  # noqa: BLE001 - the test inspects it
            out[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out


def test_concurrent_calls_are_batched():
    inner = RecordingModel()
    model = BatchingModel(inner, max_batch=8, max_wait_ms=500)
    prompts = [f"p{i}" for i in range(8)]
    out = call_together(model, prompts, [GenerationConfig()] * 8)
    model.close()
    assert out == [p.upper() for p in prompts]
    assert [n for n, _ in inner.batches] == [8]
    assert model.batch_sizes == [8]


def test_batches_never_exceed_max_batch():
    inner = RecordingModel()
    model = BatchingModel(inner, max_batch=3, max_wait_ms=300)
    out = call_together(model, [f"q{i}" for i in range(7)], [GenerationConfig()] * 7)
    model.close()
    assert out == [f"Q{i}" for i in range(7)]
    sizes = [n for n, _ in inner.batches]
    assert sum(sizes) == 7 and max(sizes) <= 3 and sizes.count(3) == 2


def test_batches_hold_one_generation_config():
    inner = RecordingModel()
    model = BatchingModel(inner, max_batch=8, max_wait_ms=300)
    gens = [GenerationConfig(temperature=0.0)] * 4 + [GenerationConfig(temperature=0.7)] * 4
    out = call_together(model, [f"r{i}" for i in range(8)], gens)
    model.close()
    assert out == [f"R{i}" for i in range(8)]
    assert sorted(inner.batches) == [(4, 0.0), (4, 0.7)]


def test_a_lone_call_waits_at_most_max_wait():
    model = BatchingModel(RecordingModel(delay=0), max_batch=8, max_wait_ms=30)
    start = time.perf_counter()
    assert "".join(model.stream("solo", GenerationConfig())) == "SOLO"
    assert time.perf_counter() - start < 2
    model.close()


def test_failure_reaches_every_caller_of_the_batch_and_the_worker_survives():
    model = BatchingModel(RecordingModel(fail_on="bad"), max_batch=4, max_wait_ms=300)
    out = call_together(model, ["ok", "bad", "ok2", "ok3"], [GenerationConfig()] * 4)
    assert all(isinstance(o, ModelError) and "boom" in str(o) for o in out)
    assert "".join(model.stream("later", GenerationConfig())) == "LATER"
    model.close()


def test_closed_model_refuses_calls():
    model = BatchingModel(RecordingModel(), max_batch=2)
    model.close()
    with pytest.raises(ModelError, match="closed"):
        list(model.stream("x", GenerationConfig()))


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError):
        BatchingModel(RecordingModel(), max_batch=0)


def test_agent_loops_in_threads_share_batches():
    """The agent loop is unchanged: N conversations in threads, each a plain stream() caller."""

    class Echo(RecordingModel):
        def generate(self, prompts, gen):
            self.batches.append((len(prompts), gen.temperature))
            return [f"answer to {p.rsplit('<|im_start|>user', 1)[1].split('<|im_end|>')[0].strip()}" for p in prompts]

    inner = Echo()
    model = BatchingModel(inner, max_batch=6, max_wait_ms=500)
    results = [None] * 6
    barrier = threading.Barrier(6)

    def converse(i):
        barrier.wait()
        results[i] = answer(Agent(model, Toolbox()).run([Message("user", f"question {i}")]))

    threads = [threading.Thread(target=converse, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    model.close()
    assert results == [f"answer to question {i}" for i in range(6)]
    assert max(model.batch_sizes) >= 3
