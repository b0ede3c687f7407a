"""The runner with a real backend: a tiny random checkpoint through models.load (transformers), batched."""
import json

import pytest

from puyu.core.config import GenerationConfig, ModelSpec
from puyu.eval.config import EvalConfig
from puyu.eval.data import DataMissing, shared_data
from puyu.eval.runner import run_eval
from tests.test_eval_fakes import DictInterpreter
from tests.tiny_model import build_tiny_checkpoint

try:
    DATA = shared_data()
except DataMissing:
    DATA = None

pytestmark = pytest.mark.skipif(DATA is None, reason="the shared data folder (../shared/data) is absent")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


def outputs(run, bench):
    lines = (run / "predictions" / f"{bench}.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def test_tiny_checkpoint_through_the_transformers_backend(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("PUYU_THREADS", "1")
    runs = {}
    for batch in (1, 4):
        cfg = EvalConfig(model=ModelSpec(str(ckpt), device="cpu"), gen=GenerationConfig(max_new_tokens=6),
                         bench=["cmmlu", "gsm8k-cot", "gsm8k-agent"], limit=2, data=DATA,
                         out=tmp_path / f"b{batch}", batch_size=batch, concurrency=batch, progress=False)
        results = run_eval(cfg, make_interpreter=DictInterpreter, log=lambda m: None)
        assert cfg.backend == "transformers"
        for name in cfg.bench:
            assert results["benchmarks"][name]["n"] == 2 and results["benchmarks"][name]["missing"] == 0
        runs[batch] = tmp_path / f"b{batch}"
    # Greedy decoding: batching (padding, micro-batched agent calls) must not change what the model says.
    for bench in ("cmmlu", "gsm8k-cot"):
        assert outputs(runs[1], bench) == outputs(runs[4], bench)
