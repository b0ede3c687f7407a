"""Every benchmark through the real `puyu eval` command against a scripted OpenAI-compatible server: a model that
knows every answer (an oracle) and one that always says "A". Each benchmark's headline metric must be what such a
model earns under the official rules, and results.md must say which headline can stand beside published numbers."""
import json

import pytest

from puyu.eval import benchmarks
from puyu.eval.benchmarks.base import LoadOptions
from puyu.eval.cli import main
from puyu.eval.data import DataMissing, shared_data
from tests.test_eval_fakes import CompletionServer, oracle

try:
    DATA = shared_data()
except DataMissing:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="the shared data folder (../shared/data) is absent")
LIMIT = 4
EVERY = list(benchmarks.BENCHMARKS)


def run(tmp_path, reply, monkeypatch) -> dict:
    from tests.test_eval_scorers import BAG

    monkeypatch.setattr("puyu.eval.benchmarks.teval_plan.plan_encoder", lambda: BAG)  # all-mpnet: test_eval_parity
    out = tmp_path / "run"
    with CompletionServer(reply) as server:
        code = main(["--model", server.url, "--bench", ",".join(EVERY), "--limit", str(LIMIT), "--out", str(out),
                     "--data", str(DATA), "--progress", "false", "--concurrency", "4"])
    assert code == 0
    return json.loads((out / "results.json").read_text())["benchmarks"]


@needs_data
def test_an_oracle_scores_full_marks_on_every_headline(tmp_path, monkeypatch):
    b = run(tmp_path, oracle(DATA, LIMIT), monkeypatch)
    assert set(b) == set(EVERY)
    for name, summary in b.items():
        assert summary["n"] == LIMIT and summary["missing"] == 0, name
        assert summary[summary["main_metric"]] == 100, (name, summary)
        lenient = summary["parity"]["lenient"]
        assert lenient is None or summary[lenient] == 100, (name, lenient)
    assert b["cmmlu"]["perf_circular"] == 100 and b["teval-plan"]["f1_matched_only"] == 100
    assert b["gsm8k-opencompass-agent"]["reasoning_acc"] == 100 and b["gsm8k-agent"]["code_acc"] == 100
    headline = (tmp_path / "run" / "results.md").read_text().split("## Scorers")[0]
    rows = {line.split(" | ")[0].strip("| "): line for line in headline.splitlines() if line.startswith("| ")}
    assert "comparable: GPT-3.5-Turbo" in rows["teval-review"]  # the leaderboard's review column stands beside it
    assert "InternLM2-Chat-20B with a code interpreter 84.5" in rows["gsm8k-internlm-interpreter"]
    assert "not comparable" in rows["tool-tasks"] and "not comparable" in rows["gsm8k-agent"]
    assert "not comparable" in rows["teval-plan"]  # scored here with a stand-in encoder, not all-mpnet-base-v2
    assert "overall" not in "".join(rows.values()).lower()


@needs_data
def test_a_model_that_always_says_a(tmp_path, monkeypatch):
    b = run(tmp_path, lambda prompt: "A", monkeypatch)
    cm = b["cmmlu"]
    gold_a = sum(i.data["answer"] == "A" for i in benchmarks.get("cmmlu").load(DATA, LoadOptions(limit=LIMIT)))
    assert cm["acc_origin"] == pytest.approx(100 * gold_a / LIMIT)
    assert cm["acc_circular"] == 25 and cm["perf_circular"] == 0  # right in exactly one rotation of each
    gold_review = [i.data["answer"] for i in benchmarks.get("teval-review").load(DATA, LoadOptions(limit=LIMIT))]
    assert b["teval-review"]["accuracy"] == pytest.approx(100 * gold_review.count("A") / LIMIT)
    assert b["teval-plan"]["f1"] == 0 and b["teval-plan"]["parse_failures"] == LIMIT
    for name in ("gsm8k-agent", "gsm8k-cot", "gsm8k-fewshot", "gsm8k-internlm-interpreter"):
        assert b[name]["accuracy"] == 0, name
    assert b["gsm8k-opencompass-agent"]["follow_acc"] == 0 and b["gsm8k-agent"]["action_pct"] == 0
    assert b["tool-tasks"].get("answer_acc", 0) == 0
