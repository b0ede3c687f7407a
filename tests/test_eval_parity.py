"""puyu's headline scorers against the official code, on the fixed prediction sets of tests/parity_sets.py.

The official values (tests/eval_parity_official.json) were computed once by running the official scorers, unchanged,
on these same predictions (docs/eval-parity.md has the table, `python scripts/eval_parity.py` prints it anew):
- T-Eval: open-compass/T-Eval at bab8696 (the commit that ships the *_v1.json data), `PlanningEvaluator` with its
  defaults (0.75/0.25, threshold 0.7, all-mpnet-base-v2) and `ReviewEvaluator`; HEAD (58f2240) keeps the plan
  rules but defaults to the v2 data's threshold 0.8;
- OpenCompass at a5acc4b: datasets/gsm8k.py (`gsm8k_postprocess`, `Gsm8kEvaluator`, `Gsm8kAgentEvaluator`),
  datasets/math.py (`math_postprocess_v2`, `MATHEvaluator(version="v2")`), utils/text_postprocessors.py
  (`first_capital_postprocess`), datasets/circular.py (`CircularEvaluator`, its rotations);
- InternLM at 2b221a9: agent/streaming_inference.py (`extract_answer`, `math_equal`).
puyu must reproduce each to within 0.1 point.
"""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from puyu.eval.benchmarks.base import Item, LoadOptions
from puyu.eval.benchmarks.gsm8k import Gsm8kFewShot
from puyu.eval.benchmarks.teval_plan import TEvalPlan
from puyu.eval.data import DataMissing, shared_data
from puyu.eval.official import internlm
from puyu.eval.official import opencompass as oc
from tests import parity_sets as ps

try:
    DATA = shared_data()
except DataMissing:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="the shared data folder (../shared/data) is absent")

OFFICIAL = ps.official()
# (format, set) -> T-Eval bab8696's (precision, recall, f1_score, parse_rate), in percent, over the first 30 items.
TEVAL_PLAN = {(fmt, kind): tuple(v) for fmt, sets in OFFICIAL["teval_plan"].items() for kind, v in sets.items()}
# set -> T-Eval bab8696's (review_quality, parse_rate) over the first 60 review items.
TEVAL_REVIEW = {k: tuple(v) for k, v in OFFICIAL["teval_review"].items()}
# set -> OpenCompass's CircularEvaluator (acc_origin, acc_circular, perf_circular) over agronomy's first 40 questions.
CMMLU_CIRCULAR = {k: tuple(v) for k, v in OFFICIAL["cmmlu"].items()}
# reply -> (OpenCompass gsm8k_postprocess + is_equal, math_postprocess_v2 + is_equiv v2, InternLM math_equal)
GSM8K_RIGHT = {k: tuple(v) for k, v in OFFICIAL["gsm8k_right"].items()}
# tool output -> OpenCompass Gsm8kAgentEvaluator.soft_equal
GSM8K_SOFT = OFFICIAL["gsm8k_soft"]
FEWSHOT_SHA256 = OFFICIAL["fewshot_sha256"]
"""sha256 of OpenCompass gsm8k_gen_1d7fe4's eight worked-example turns, joined by NUL."""


# ---- T-Eval ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plan_bench():
    from puyu.eval.sentence_model import OFFICIAL, plan_encoder

    encoder = plan_encoder()
    if encoder.name != OFFICIAL:
        pytest.skip(f"{OFFICIAL} is not installed (scripts/setup.sh installs it)")
    return TEvalPlan(encoder)


@needs_data
@pytest.mark.skipif(not os.environ.get("PUYU_SLOW_TESTS"),
                    reason="encodes 24 items x 8 plan sets with all-mpnet-base-v2, a few minutes (set PUYU_SLOW_TESTS=1)")
@pytest.mark.timeout(900)  # ~1-2 minutes per format on 2 idle cores, several times that on a busy machine
@pytest.mark.parametrize("fmt", ["json", "str"])
def test_teval_plan_reproduces_teval_v1(plan_bench, fmt):
    for kind, got in ps.puyu_plan(plan_bench, DATA, fmt).items():
        values = tuple(got[k] for k in ("precision", "recall", "f1", "parse_rate"))
        assert values == pytest.approx(TEVAL_PLAN[fmt, kind], abs=0.1), kind


@needs_data
def test_a_plan_of_only_finish_action_scores_zero_where_teval_raises():
    """T-Eval's own code raises on this plan (max() of no steps); puyu scores it 0 and counts it."""
    from tests.test_eval_scorers import BAG

    key, datum = ps.plan_items(DATA, "json")[0]
    item = Item(f"json/{key}", {"reference": datum["ground_truth"], "apis": [], "format": "json"}, subject="json")
    s = TEvalPlan(BAG).score(item, {"outputs": [ps.FINISH_ONLY]})
    assert (s["f1"], s["parse_rate"], s["finish_only"]) == (0, 1, 1)


@needs_data
def test_teval_review_reproduces_teval():
    for kind, got in ps.puyu_review(DATA).items():
        assert (got["accuracy"], got["parse_rate"]) == pytest.approx(TEVAL_REVIEW[kind], abs=0.1), kind


# ---- CMMLU ----------------------------------------------------------------------------------------------------

@needs_data
def test_cmmlu_reproduces_opencompass_circular_eval():
    for kind, got in ps.puyu_cmmlu(DATA).items():
        values = tuple(got[k] for k in ("acc_origin", "acc_circular", "perf_circular"))
        assert values == pytest.approx(CMMLU_CIRCULAR[kind], abs=0.1), kind


# ---- GSM8K ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reply, ref", ps.GSM8K_REPLIES)
def test_gsm8k_answer_rules_reproduce_the_official_ones(reply, ref):
    got = (oc.gsm8k_equal(oc.gsm8k_answer(reply), ref), oc.math_equal(oc.math_answer(reply), ref),
           internlm.math_equal(internlm.extract_answer(reply), ref))
    assert got == GSM8K_RIGHT[reply]


@pytest.mark.parametrize("output, ref", ps.GSM8K_OUTPUTS)
def test_gsm8k_reasoning_reads_tool_output_as_opencompass(output, ref):
    assert oc.gsm8k_output_equal(output, ref) == GSM8K_SOFT[output]


@needs_data
def test_gsm8k_fewshot_prompt_is_opencompass_gsm8k_gen():
    """The 4 worked examples, rebuilt from the train rows, are OpenCompass's to the character (compared by hash)."""
    item = Gsm8kFewShot().load(DATA, LoadOptions(limit=1))[0]
    turns = [m["content"] for m in Gsm8kFewShot().chats(item)[0][:-1]]
    assert hashlib.sha256("\0".join(turns).encode()).hexdigest() == FEWSHOT_SHA256


def test_pinned_tables_are_complete():
    assert set(TEVAL_PLAN) == {(f, k) for f in ("json", "str") for k in ps.PLAN_SETS}
    assert set(TEVAL_REVIEW) == set(ps.REVIEW_SETS) and set(CMMLU_CIRCULAR) == set(ps.CMMLU_SETS)
    assert set(GSM8K_RIGHT) == {r for r, _ in ps.GSM8K_REPLIES} and json.dumps(GSM8K_SOFT)
