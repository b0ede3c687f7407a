"""Every scorer on hand-made predictions, edge cases included."""
import hashlib

import numpy as np
import pytest

from puyu.eval.answers import extract_choice, extract_number, parse_number
from puyu.eval.benchmarks.base import Item
from puyu.eval.benchmarks.cmmlu import CMMLU, LETTERS, rotate
from puyu.eval.benchmarks.gsm8k import Gsm8kAgent, Gsm8kCoT, reference_answer
from puyu.eval.benchmarks.teval_plan import TEvalPlan, in_order, match_plans, parse_json_plan, parse_str_plan
from puyu.eval.benchmarks.teval_review import TEvalReview, read_label
from puyu.eval.sentence_model import Encoder

# ---- answers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, want", [
    ("She makes 9 * 2 = $18 every day.\nThe answer is 18.", 18),
    ("#### 1,234", 1234),
    ("so it is \\boxed{42} apples, not 7", 42),
    ("答案是 7 个苹果。", 7),
    ("First 3 then 5, total 8", 8),
    ("The answer is: $1,200.50", 1200.5),
    ("no digits here", None),
    ("", None),
])
def test_extract_number(text, want):
    assert extract_number(text) == want


def test_parse_number_strips_commas_units_and_currency():
    assert parse_number("$1,200") == 1200
    assert parse_number("18 dollars") == 18
    assert parse_number("50%") == 50
    assert parse_number("3/4") == 0.75
    assert parse_number("12\n13") is None
    assert parse_number("seven") is None


@pytest.mark.parametrize("text, want", [
    ("答案是 B", "B"), ("答案：C", "C"), ("答案应该是(D)", "D"), ("Answer: D", "D"), ("The answer is (A).", "A"),
    ("选B", "B"), ("B. 土地", "B"), ("(C)", "C"), ("我认为C是正确的", "C"), ("D", "D"),
    ("the answer is a dog", None), ("无法确定", None), ("", None),
])
def test_extract_choice(text, want):
    assert extract_choice(text) == want


def test_extract_choice_falls_back_to_quoted_option_text():
    assert extract_choice("应该是土地", options=["农业生产工具", "土地", "劳动力", "资金"]) == "B"
    assert extract_choice("土地和资金都行", options=["农业生产工具", "土地", "劳动力", "资金"]) is None


# ---- GSM8K ----------------------------------------------------------------------------------------------------

def call(code):
    return {"type": "tool_call", "call": {"name": "python", "arguments": {"code": code}, "id": "x"}}


def result(code, text, ok=True):
    return {"type": "tool_result", "call": {"name": "python", "arguments": {"code": code}, "id": "x"},
            "result": {"text": text, "images": [], "files": [], "ok": ok}}


def agent_record(final, events):
    return {"id": "i", "turns": [{"final": final, "error": None, "events": events + [
        {"type": "final", "text": final}]}]}


GSM = Item("test/0", {"question": "q", "answer": 18.0, "reference": "18", "final": "18"})


def test_gsm8k_reference_answer():
    assert reference_answer("16 - 3 - 4 = 9\n#### 1,018") == 1018
    with pytest.raises(ValueError):
        reference_answer("no final line")


def test_gsm8k_agent_right_with_action():
    s = Gsm8kAgent().score(GSM, agent_record("The answer is $18.", [call("print(18)"), result("print(18)", "18\n")]))
    assert s == {"accuracy": 1, "follow_acc": 1, "reasoning_acc": 1, "code_acc": 1, "action_pct": 1,
                 "accuracy_lenient": 1, "call_valid": 1, "code_output_acc": 1}


def test_gsm8k_agent_headline_is_opencompass_reading_and_lenient_is_puyus():
    s = Gsm8kAgent().score(GSM, agent_record("The answer is 18, since 3 * 6 is 18 and 2 is left", []))
    assert s["accuracy"] == 0 and s["accuracy_lenient"] == 1  # OpenCompass reads the last number, 2
    big = Item("test/1", {"question": "q", "answer": 1234.0, "reference": "1234", "final": "1,234"})
    s = Gsm8kAgent().score(big, agent_record("She earns $1,234.", []))
    assert s["accuracy"] == 0 and s["accuracy_lenient"] == 1  # OpenCompass reads "234"


def test_gsm8k_reasoning_acc_reads_the_whole_output_as_one_number():
    printed = Gsm8kAgent().score(GSM, agent_record("So 81.", [call("print(18)"), result("print(18)", "18\n")]))
    worded = Gsm8kAgent().score(GSM, agent_record("So 81.", [call("x"), result("x", "18 apples")]))
    assert printed["reasoning_acc"] == 1 and worded["reasoning_acc"] == 0 and worded["code_output_acc"] == 1


def test_gsm8k_agent_wrong_answer_but_code_printed_it():
    s = Gsm8kAgent().score(GSM, agent_record("So 81.", [call("print(18)"), result("print(18)", "18")]))
    assert (s["follow_acc"], s["reasoning_acc"], s["code_acc"], s["code_output_acc"]) == (0, 1, 1, 1)


def test_gsm8k_agent_failed_code_and_wrong_answer():
    s = Gsm8kAgent().score(GSM, agent_record("I think 20", [call("1/0"), result("1/0", "ZeroDivisionError", ok=False)]))
    assert (s["follow_acc"], s["reasoning_acc"], s["code_acc"], s["action_pct"], s["code_output_acc"]) == \
        (0, 0, 0, 1, 0)


def test_gsm8k_agent_right_without_tool():
    s = Gsm8kAgent().score(GSM, agent_record("It is 18 dollars.", []))
    assert (s["follow_acc"], s["code_acc"], s["action_pct"]) == (1, 0, 0)
    assert s["call_valid"] is None and s["code_output_acc"] is None


def test_gsm8k_agent_malformed_call_counts_against_validity():
    events = [{"type": "error", "message": "bad", "recoverable": True}, call("print(18)"), result("print(18)", "18")]
    s = Gsm8kAgent().score(GSM, agent_record("18", events))
    assert s["call_valid"] == 0 and s["accuracy"] == 1


def test_gsm8k_empty_or_missing_answer_scores_zero():
    assert Gsm8kAgent().score(GSM, agent_record("", []))["accuracy"] == 0
    assert Gsm8kAgent().score(GSM, {"id": "i", "turns": []})["accuracy"] == 0
    assert Gsm8kCoT().score(GSM, {"id": "i", "outputs": [""]})["accuracy"] == 0


def test_gsm8k_cot_reads_the_box_as_opencompass_math_v2():
    assert Gsm8kCoT().score(GSM, {"outputs": ["\\boxed{18} because 3 * 6 = 18 > 5"]})["accuracy"] == 1
    assert Gsm8kCoT().score(GSM, {"outputs": ["The answer is 18,000"]})["accuracy"] == 0
    assert Gsm8kCoT().score(GSM, {"outputs": ["so \\boxed{18.00} apples"]})["accuracy"] == 1


# ---- T-Eval plan ----------------------------------------------------------------------------------------------

def bag_of_words(texts):
    """A stand-in sentence encoder: hashed word counts, so equal texts have cosine 1 and unrelated ones ~0."""
    out = np.zeros((len(texts), 256))
    for i, t in enumerate(texts):
        for w in t.replace("'", " ").replace(".", " ").replace("{", " ").replace("}", " ").split():
            out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 256] += 1
    return out


REF = [{"id": 0, "prev": [], "name": "Search.find", "args": {"q": "berlin"}},
       {"id": 1, "prev": [0], "name": "Hotel.reviews", "args": {"id": 7}},
       {"id": 2, "prev": [1], "name": "Paper.lookup", "args": {"query": "solar"}},
       {"id": 3, "prev": [2], "name": "FinishAction", "args": {}}]


def plan_item(fmt="json"):
    return Item(f"{fmt}/q", {"chat": [], "reference": REF, "format": fmt,
                             "apis": ["Search.find", "Hotel.reviews", "Paper.lookup"]}, subject=fmt)


def as_json(steps):
    import json
    return json.dumps([{"id": i, "name": s["name"], "args": str(s["args"])} for i, s in enumerate(steps)])


BAG = Encoder("bag-of-words", bag_of_words)


def plan_score(reply, fmt="json"):
    return TEvalPlan(BAG).score(plan_item(fmt), {"id": "q", "outputs": [reply]})


def test_plan_exact_match():
    s = plan_score(as_json(REF))
    assert s["f1"] == pytest.approx(1) and s["parse_rate"] == 1 and s["f1_matched_only"] == pytest.approx(1)


def test_plan_extra_steps_lower_precision_only():
    extra = REF[:3] + [{"name": "Weather.today", "args": {"city": "x"}}, REF[3]]
    s = plan_score(as_json(extra))
    assert s["recall"] == pytest.approx(1) and s["precision"] == pytest.approx(3 / 4)


def test_plan_wrong_order_counts_only_the_ordered_part():
    s = plan_score(as_json([REF[2], REF[0], REF[1]]))
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)


def test_plan_missing_step_and_unmatched_names():
    assert plan_score(as_json(REF[:2]))["recall"] == pytest.approx(2 / 3)
    none = plan_score(as_json([{"name": "Other.thing", "args": {"z": 1}}]))
    # T-Eval counts one correct step for any plan (precision 1/1, recall 1/3); puyu's reading counts none
    assert none["f1"] == pytest.approx(0.5) and none["f1_matched_only"] == 0 and none["parse_rate"] == 1


def test_plan_of_only_finish_action_scores_zero_where_teval_raises():
    s = plan_score(as_json([{"name": "FinishAction", "args": {}}]))
    assert s["f1"] == 0 and s["parse_rate"] == 1 and s["finish_only"] == 1


def test_plan_matching_follows_teval_v1_weights_and_threshold():
    """Names weigh 0.75 and arguments 0.25, and a pair needs more than 0.7: right names with unrelated arguments
    (0.75) match, a wrong name with the right arguments (0.25) does not."""
    blank = [dict(s, args={"unrelated": "zzz"}) for s in REF]
    assert plan_score(as_json(blank))["f1_matched_only"] == pytest.approx(1)
    renamed = [dict(s, name=f"Other{i}.thing") for i, s in enumerate(REF[:3])] + REF[3:]
    assert plan_score(as_json(renamed))["f1_matched_only"] == 0


@pytest.mark.parametrize("reply", ['[{"id": 0, "name": "Search.find", "args": ', "I cannot plan this.", "",
                                   '[{"name": "Search.find"}]', '{"id": 0}'])
def test_plan_unreadable_reply_scores_zero_and_counts_as_parse_failure(reply):
    s = plan_score(reply)
    assert s == {"precision": 0, "recall": 0, "f1": 0, "f1_matched_only": 0, "parse_rate": 0, "finish_only": 0}


def test_plan_json_reading_is_lenient_like_teval():
    fenced = "Here it is:\n```json\n" + as_json(REF) + "\n```"
    assert len(parse_json_plan(fenced)) == 4
    pythonic = "[{'id': 0, 'name': 'Search.find', 'args': \"{'q': 'berlin'}\"}]"
    assert parse_json_plan(pythonic)[0]["name"] == "Search.find"


def test_plan_str_format():
    reply = "1. Use Search.find to look for Berlin. 2. Use Hotel.reviews to read reviews\n3. Use Paper.lookup to find"
    steps = parse_str_plan(reply, ["Search.find", "Hotel.reviews", "Paper.lookup"])
    assert [s["name"] for s in steps] == ["Search.find", "Hotel.reviews", "Paper.lookup"]
    s = plan_score(reply, "str")
    assert s["parse_rate"] == 1 and s["f1"] == pytest.approx(1)
    assert parse_str_plan("nothing relevant", ["Search.find"]) is None
    # of two APIs named at the same place, the one listed first (T-Eval's strict "earlier" test)
    assert parse_str_plan("Use Search.find_all now", ["Search.find_all", "Search.find"])[0]["name"] == "Search.find_all"
    assert parse_str_plan("Use Search.find_all now", ["Search.find", "Search.find_all"])[0]["name"] == "Search.find"


def test_plan_summary_averages_the_two_formats_and_counts_failures():
    bench = TEvalPlan(BAG)
    items = [plan_item(), plan_item(), plan_item("str")]
    scores = [plan_score(as_json(REF)), plan_score("garbage"), plan_score("Use Search.find", "str")]
    summary = bench.summarize(items, scores)
    assert summary["parse_failures"] == 1 and summary["f1_json"] == pytest.approx(50)
    assert summary["f1"] == pytest.approx((50 + summary["f1_str"]) / 2, abs=0.01)  # not the mean of three items
    assert summary["sentence_model"] == "bag-of-words"


def test_in_order_counts_teval_and_puyu_ways():
    assert in_order({0: 0, 1: 1, 2: 2}, 3) == (3, 3)
    assert in_order({0: 2, 1: 0, 2: 1}, 3) == (2, 2)
    assert in_order({}, 2) == (1, 0)  # T-Eval: one step for free; puyu: none matched, none correct
    assert in_order({1: 0}, 3) == (1, 1)


def test_plan_matching_with_a_real_sentence_model():
    from puyu.eval.sentence_model import plan_encoder

    encode = plan_encoder().encode
    ref = [{"id": 0, "name": "AirbnbSearch.search_property_by_place", "args": "{'place': 'Berlin'}"},
           {"id": 1, "name": "ArxivSearch.get_arxiv_article_information", "args": "{'query': 'solar energy'}"}]
    assert match_plans(ref, ref, encode)["f1"] == pytest.approx(1)
    swapped = [dict(ref[1], id=0), dict(ref[0], id=1)]
    assert match_plans(swapped, ref, encode)["f1"] == pytest.approx(0.5)


# ---- T-Eval review --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reply, want", [("Answer: B", "B"), ("B", "B"), ("Answer:   E\nbecause", "E"),
                                         ("Answer: F", None), ("", None), ("The answer: maybe A", None)])
def test_review_label(reply, want):
    assert read_label(reply) == want


def test_review_score_and_summary():
    bench = TEvalReview()
    item = Item("1", {"chat": [], "answer": "B"})
    right = bench.score(item, {"outputs": ["Answer: B"]})
    wrong = bench.score(item, {"outputs": ["Answer: A"]})
    broken = bench.score(item, {"outputs": ["I am not sure"]})
    assert right == {"accuracy": 1, "parse_rate": 1, "accuracy_lenient": 1}
    assert wrong["accuracy"] == 0 and broken["parse_rate"] == 0
    stated = bench.score(item, {"outputs": ["The answer is B."]})  # T-Eval reads "T": wrong; puyu reads B
    assert stated["accuracy"] == 0 and stated["accuracy_lenient"] == 1
    summary = bench.summarize([item] * 3, [right, wrong, broken])
    assert summary["accuracy"] == pytest.approx(33.33) and summary["parse_failures"] == 1


# ---- CMMLU CircularEval ---------------------------------------------------------------------------------------

def test_rotation_moves_options_and_gold_together():
    options = ["w", "x", "y", "z"]
    seen = [rotate(options, "C", r) for r in range(4)]
    assert [o for o, _ in seen] == [list("wxyz"), list("xyzw"), list("yzwx"), list("zwxy")]
    for shown, gold in seen:
        assert shown[LETTERS.index(gold)] == "y"
    assert [g for _, g in seen] == ["C", "B", "A", "D"]


CM = Item("agronomy/0", {"question": "哪个？", "options": ["甲", "乙", "丙", "丁"], "answer": "B",
                         "shots": [("示例", ["a", "b", "c", "d"], "D")]}, subject="agronomy")


def test_cmmlu_chats_are_four_rotations_after_the_shots():
    chats = CMMLU().chats(CM)
    assert len(chats) == 4
    assert chats[0][0]["content"].startswith("以下是关于农学的单项选择题")  # the subject in Chinese, as OpenCompass
    for r, chat in enumerate(chats):
        assert chat[1] == {"role": "assistant", "content": "答案是: D"}  # the shot stays in its original order
        shown, _ = rotate(CM.data["options"], "B", r)
        assert f"A. {shown[0]}" in chat[-1]["content"] and chat[-1]["role"] == "user"


def test_cmmlu_circular_scores():
    golds = [rotate(CM.data["options"], "B", r)[1] for r in range(4)]
    always = CMMLU().score(CM, {"outputs": [f"答案是 {g}" for g in golds]})
    assert always == {"acc_origin": 1, "acc_circular": 1, "perf_circular": 1, "parse_rate": 1,
                      "acc_origin_lenient": 1, "acc_circular_lenient": 1, "perf_circular_lenient": 1}
    stated = CMMLU().score(CM, {"outputs": [f"The answer is {g}." for g in golds]})  # first capital: "T"
    assert stated["acc_circular"] == 0 and stated["parse_rate"] == 0 and stated["acc_circular_lenient"] == 1
    position = CMMLU().score(CM, {"outputs": ["B"] * 4})  # always the same letter: right once only
    assert position["acc_origin"] == 1 and position["acc_circular"] == 0.25 and position["perf_circular"] == 0
    junk = CMMLU().score(CM, {"outputs": ["不知道"] * 4})
    assert junk["parse_rate"] == 0 and junk["acc_circular"] == 0


def test_cmmlu_summary_has_subjects():
    other = Item("art/0", CM.data, subject="art")
    s = CMMLU().summarize([CM, other], [
        {"acc_origin": 1.0, "acc_circular": 1.0, "perf_circular": 1.0, "parse_rate": 1.0},
        {"acc_origin": 0.0, "acc_circular": 0.5, "perf_circular": 0.0, "parse_rate": 1.0}])
    assert s["acc_origin"] == 50 and s["acc_circular"] == 75 and s["perf_circular"] == 50
    assert s["by_subject"]["art"]["acc_circular"] == 50 and s["by_subject"]["agronomy"]["n"] == 1
