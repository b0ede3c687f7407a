"""The runner end to end: every shared-data benchmark through the real agent loop (or batched generate) with a
model double, resume after an interruption, and the errors a user can run into."""
import json

import pytest

from puyu.eval import benchmarks
from puyu.eval.benchmarks.base import LoadOptions
from puyu.eval.cache import PredictionCache
from puyu.eval.cli import main
from puyu.eval.config import EvalConfig
from puyu.eval.data import DataMissing, shared_data
from puyu.eval.runner import RunError, run_eval
from tests.test_eval_fakes import DictInterpreter, PromptModel, oracle

try:
    DATA = shared_data()
except DataMissing:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="the shared data folder (../shared/data) is absent")
SHARED = ["gsm8k-agent", "gsm8k-cot", "teval-plan", "teval-review", "cmmlu"]


@pytest.fixture(autouse=True)
def fake_embeddings(monkeypatch):
    """T-Eval plan scoring with hashed bag-of-words instead of loading a sentence model (tested in
    test_eval_scorers and test_eval_parity)."""
    from tests.test_eval_scorers import BAG

    monkeypatch.setattr("puyu.eval.benchmarks.teval_plan.plan_encoder", lambda: BAG)


def config(tmp_path, **kw):
    kw.setdefault("bench", SHARED)
    return EvalConfig(model="fake", out=tmp_path / "run", data=DATA, progress=False, **kw)


@needs_data
def test_every_benchmark_end_to_end_with_a_perfect_model(tmp_path):
    model = PromptModel(oracle(DATA, 3))
    results = run_eval(config(tmp_path, limit=3, concurrency=3, batch_size=4), model=model,
                       make_interpreter=DictInterpreter, log=lambda m: None)
    b = results["benchmarks"]
    assert {k: b[k]["n"] for k in SHARED} == {k: 3 for k in SHARED}
    assert b["gsm8k-agent"]["accuracy"] == 100 and b["gsm8k-agent"]["code_output_acc"] == 100
    assert b["gsm8k-agent"]["action_pct"] == 100 and b["gsm8k-agent"]["call_valid"] == 100
    assert b["gsm8k-cot"]["accuracy"] == 100
    assert b["cmmlu"]["perf_circular"] == 100 and b["cmmlu"]["acc_origin"] == 100
    assert b["teval-plan"]["parse_failures"] == 0 and b["teval-plan"]["recall"] == 100
    assert b["teval-review"]["accuracy"] == 100
    assert max(model.batch_sizes) > 1  # plain benchmarks were batched
    run = tmp_path / "run"
    for name in ("results.json", "results.md", "scores.png", "run.json"):
        assert (run / name).is_file()
    assert len((run / "predictions" / "cmmlu.jsonl").read_text().splitlines()) == 3
    assert "gsm8k-agent" in (run / "results.md").read_text()


@needs_data
def test_a_model_that_knows_nothing_scores_zero(tmp_path):
    model = PromptModel(lambda prompt: "I do not know.")
    b = run_eval(config(tmp_path, limit=2), model=model, make_interpreter=DictInterpreter,
                 log=lambda m: None)["benchmarks"]
    assert b["gsm8k-agent"]["accuracy"] == 0 and b["gsm8k-agent"]["action_pct"] == 0
    assert b["cmmlu"]["acc_circular"] == 0 and b["cmmlu"]["parse_rate"] == 0
    assert b["teval-plan"]["parse_failures"] == 2 and b["teval-review"]["parse_failures"] == 2


@needs_data
def test_prompts_too_long_for_the_model_are_scored_wrong_not_fatal(tmp_path):
    lengths = sorted(len(p) for p in _prompts(tmp_path / "probe", ["cmmlu"], 4))
    model = PromptModel(oracle(DATA, 4), max_chars=lengths[len(lengths) // 2])  # half of the prompts do not fit
    b = run_eval(config(tmp_path, bench=["cmmlu"], limit=4, batch_size=8), model=model,
                 log=lambda m: None)["benchmarks"]
    assert b["cmmlu"]["n"] == 4 and b["cmmlu"]["missing"] == 0
    assert 0 < b["cmmlu"]["too_long"] < 4 and 0 < b["cmmlu"]["acc_circular"] < 100  # the ones that fit are right
    assert "too long for the model" in (tmp_path / "run" / "results.md").read_text()
    # an agent's conversation that outgrows the context ends that item's turn with an error, not the run
    tiny = PromptModel(oracle(DATA, 4), max_chars=100)
    b = run_eval(config(tmp_path / "agent", bench=["gsm8k-agent"], limit=4), model=tiny,
                 make_interpreter=DictInterpreter, log=lambda m: None)["benchmarks"]
    assert b["gsm8k-agent"]["n"] == 4 and b["gsm8k-agent"]["missing"] == 0 and b["gsm8k-agent"]["accuracy"] == 0


def test_batches_keep_prompts_with_a_shared_beginning_together():
    from puyu.eval.runner import _batches

    shots = {s: f"five shots about {s} " * 20 for s in "AB"}
    rotations = [(None, k, shots[s] + f"question {s} rotation {k}") for s in "AB" for k in range(4)]
    assert [len(b) for b in _batches(rotations, 8)] == [4, 4]  # one question's rotations each, not 8 mixed
    unrelated = [(None, k, f"{k} " + "x" * k) for k in range(10)]
    assert [len(b) for b in _batches(unrelated, 8)] == [8, 2]  # nothing shared: batches stay full


def _prompts(tmp_path, bench, limit):
    model = PromptModel(lambda prompt: "I do not know.")
    run_eval(config(tmp_path, bench=bench, limit=limit), model=model, log=lambda m: None)
    return model.prompts


@needs_data
def test_gsm8k_agent_with_the_real_interpreter(tmp_path):
    from puyu.tools.interpreter import PythonInterpreter

    model = PromptModel(oracle(DATA, 2))
    b = run_eval(config(tmp_path, bench=["gsm8k-agent"], limit=2, concurrency=2), model=model,
                 make_interpreter=PythonInterpreter, log=lambda m: None)["benchmarks"]
    assert b["gsm8k-agent"]["accuracy"] == 100 and b["gsm8k-agent"]["code_output_acc"] == 100


@needs_data
@pytest.mark.parametrize("bench", ["cmmlu", "gsm8k-agent"])
def test_resume_after_an_interrupted_run(tmp_path, bench):
    """The backend dies mid-run; finished items stay cached and a rerun only does the rest."""
    cfg = config(tmp_path, bench=[bench], limit=6, concurrency=1, batch_size=1)
    per_item = 4 if bench == "cmmlu" else 2  # rotations, or agent steps
    dying = PromptModel(oracle(DATA, 6), fail_after=2 * per_item)
    with pytest.raises(RunError, match="failed"):
        run_eval(cfg, model=dying, make_interpreter=DictInterpreter, log=lambda m: None)
    cached = PredictionCache(tmp_path / "run" / "predictions" / f"{bench}.jsonl").records
    assert len(cached) == 2
    healthy = PromptModel(oracle(DATA, 6))
    results = run_eval(cfg, model=healthy, make_interpreter=DictInterpreter, log=lambda m: None)
    assert healthy.calls == 4 * per_item
    assert results["benchmarks"][bench]["n"] == 6 and results["benchmarks"][bench]["missing"] == 0


def test_cache_ignores_a_line_cut_off_by_a_kill(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "outputs": ["x"]}\n{"id": "b", "outp')
    cache = PredictionCache(path)
    assert "a" in cache and "b" not in cache
    cache.add({"id": "b", "outputs": ["y"]})
    assert set(PredictionCache(path).records) == {"a", "b"}
    path.write_text('not json\n{"id": "a"}\n')
    with pytest.raises(ValueError, match="p.jsonl:1"):
        PredictionCache(path)


@needs_data
def test_predictions_of_another_model_are_not_mixed_in(tmp_path):
    run_eval(config(tmp_path, bench=["teval-review"], limit=1), model=PromptModel(lambda p: "A"), log=lambda m: None)
    other = EvalConfig(model="other", bench=["teval-review"], limit=1, out=tmp_path / "run", data=DATA, progress=False)
    with pytest.raises(RunError, match="other settings"):
        run_eval(other, model=PromptModel(lambda p: "A"), log=lambda m: None)
    other.fresh = True
    assert run_eval(other, model=PromptModel(lambda p: "B"), log=lambda m: None)["benchmarks"]["teval-review"]["n"] == 1


def test_missing_data_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PUYU_SHARED_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataMissing, match="nowhere"):
        shared_data()
    assert main(["--model", "m", "--bench", "cmmlu", "--out", str(tmp_path / "r")]) == 1
    assert "nowhere" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--model", "m", "--bench", "gsm8k-agent", "--data", str(empty), "--out", str(tmp_path / "r")]) == 1
    assert "gsm8k" in capsys.readouterr().err


def test_cli_rejects_bad_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--model", "m", "--bench", "nope"])
    assert e.value.code == 2 and "unknown benchmark" in capsys.readouterr().err
    assert main([]) == 2
    assert EvalConfig(model="http://127.0.0.1:23333").backend == "openai"
    assert EvalConfig(model="/ckpt").backend == "transformers"


@needs_data
def test_unknown_cmmlu_subject_lists_the_real_ones(tmp_path):
    with pytest.raises(DataMissing, match="agronomy"):
        benchmarks.get("cmmlu").load(DATA, LoadOptions(subjects=["astrology"]))
    items = benchmarks.get("cmmlu").load(DATA, LoadOptions(subjects=["agronomy"], limit=3))
    assert len(items) == 3 and {i.subject for i in items} == {"agronomy"}


@needs_data
def test_limit_sample_is_seeded_and_nested():
    bench = benchmarks.get("gsm8k-agent")
    small = [i.id for i in bench.load(DATA, LoadOptions(limit=5, seed=1))]
    assert small == [i.id for i in bench.load(DATA, LoadOptions(limit=5, seed=1))]
    assert set(small) <= {i.id for i in bench.load(DATA, LoadOptions(limit=20, seed=1))}
    assert small != [i.id for i in bench.load(DATA, LoadOptions(limit=5, seed=2))]
    assert len(bench.load(DATA, LoadOptions())) == 1319


@needs_data
def test_compare_prints_differences_and_draws(tmp_path, capsys):
    for name, letter in (("base", "A"), ("lora", "B")):
        cfg = EvalConfig(model=name, bench=["teval-review"], limit=20, out=tmp_path / name, data=DATA,
                         progress=False)
        run_eval(cfg, model=PromptModel(lambda p, letter=letter: f"Answer: {letter}"), log=lambda m: None)
    base = json.loads((tmp_path / "base" / "results.json").read_text())["benchmarks"]["teval-review"]["accuracy"]
    lora = json.loads((tmp_path / "lora" / "results.json").read_text())["benchmarks"]["teval-review"]["accuracy"]
    chart = tmp_path / "cmp.png"
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "lora"), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "| accuracy |" in line)
    assert f"{lora - base:+.2f}" in row
    assert chart.is_file() and chart.stat().st_size > 1000
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "missing")]) == 1


def test_published_scores_come_from_the_data_readme(tmp_path):
    from puyu.eval.references import published, readme_scores

    text = "- GSM8K: M-7B 70.7, M-20B 79.6 (84.5 with a code interpreter).\n- Other: X 1.0 (EN)\nplain line"
    parsed = readme_scores(text)
    assert parsed["GSM8K"] == [("M-7B", 70.7), ("M-20B", 79.6), ("M-20B with a code interpreter", 84.5)]
    assert parsed["Other"] == [("X (EN)", 1.0)]
    (tmp_path / "README.md").write_text(text)
    refs = published(tmp_path)
    assert refs["gsm8k-internlm-interpreter"] == [("M-20B with a code interpreter", 84.5)]
    assert refs["gsm8k-fewshot"] == [("M-7B", 70.7), ("M-20B", 79.6)]
    assert "gsm8k-agent" not in refs and "gsm8k-cot" not in refs  # settings nothing published was measured in


def test_chart_draws_runs_side_by_side(tmp_path):
    from puyu.eval.charts import plot_runs, spread

    runs = {"a": {"benchmarks": {"cmmlu": {"main_metric": "acc_origin", "acc_origin": 40.0}}},
            "b": {"benchmarks": {"cmmlu": {"main_metric": "acc_origin", "acc_origin": 55.0}}}}
    path = plot_runs(runs, {"cmmlu": [("ref", 60.0)]}, tmp_path / "c.png")
    assert path.is_file() and path.stat().st_size > 1000
    assert plot_runs({}, {}, tmp_path / "none.png") is None
    assert spread([10.0, 10.5, 30.0], 3) == [10.0, 13.0, 30.0]


@needs_data
def test_teval_is_compared_per_dimension_never_against_overall():
    """The leaderboard's overall averages six dimensions and puyu runs two: only the plan and review columns are
    drawn, each beside its own benchmark, and the data README's "T-Eval overall" line is never read."""
    import csv

    from puyu.eval.references import published

    refs = published(DATA)
    with open(DATA / "teval" / "leaderboard_scores.csv", encoding="utf-8", newline="") as f:
        board = {r["Model"]: r for r in csv.DictReader(f, skipinitialspace=True)}
    for bench, column in (("teval-plan", "plan"), ("teval-review", "review")):
        assert refs[bench] and all(score == float(board[model][column]) for model, score in refs[bench])
    overall = {float(r["overall"]) for r in board.values()}
    drawn = {score for marks in refs.values() for _, score in marks}
    assert not drawn & (overall - {float(r[c]) for r in board.values() for c in ("plan", "review")})
    assert 78.2 not in drawn and 86.4 not in drawn  # the data README's T-Eval overall line
    assert set(refs) <= {"teval-plan", "teval-review", "gsm8k-fewshot", "gsm8k-internlm-interpreter"}
