"""`puyu eval --model http://...`: the openai backend against a fake OpenAI-compatible server, with
--concurrency requests in flight (how eval scales out to lmdeploy servers behind a proxy)."""
import pytest

from puyu.core.config import ModelSpec
from puyu.eval.config import EvalConfig
from puyu.eval.data import DataMissing, shared_data
from puyu.eval.runner import run_eval
from tests.test_eval_fakes import CompletionServer

try:
    DATA = shared_data()
except DataMissing:
    DATA = None


def reply(prompt: str) -> str:
    return "Answer: A" if "Goal:" in prompt else "so \\boxed{3}"


@pytest.fixture
def server():
    with CompletionServer(reply, delay_s=0.05) as srv:  # long enough for concurrent requests to overlap
        yield srv


@pytest.mark.skipif(DATA is None, reason="the shared data folder (../shared/data) is absent")
def test_endpoint_eval_runs_requests_concurrently(server, tmp_path):
    url = server.url
    cfg = EvalConfig(model=ModelSpec(url, api_key="secret"), bench=["teval-review", "gsm8k-cot"], limit=6,
                     concurrency=3, out=tmp_path / "run", data=DATA, progress=False)
    assert cfg.backend == "openai"
    results = run_eval(cfg, log=lambda m: None)
    assert results["benchmarks"]["teval-review"]["n"] == 6 and results["benchmarks"]["teval-review"]["parse_rate"] == 100
    assert results["benchmarks"]["gsm8k-cot"]["n"] == 6
    assert server.requests == 12 and 2 <= server.most <= 3
    assert server.probes == 1  # the server is asked what it accepts once, not once per thread or benchmark
    assert server.keys == {"Bearer secret"}
    assert "secret" not in (tmp_path / "run" / "results.json").read_text()
