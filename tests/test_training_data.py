"""The agent training data: GSM8K conversion, generated conversations, held-out split, converters."""
from __future__ import annotations

import json
import os
import random
import re

import pytest

from puyu.core.answers import answer_matches
from puyu.core.config import shared_data_dir
from puyu.core.messages import INTERPRETER, Message, ToolCall
from puyu.core.protocols.internlm2 import InternLM2Protocol
from puyu.core.records import Record, Turn, from_agent_flan, read_jsonl, segments, to_agent_flan
from puyu.training.data import gsm8k
from puyu.training.data.build import BuildConfig, Builder, main
from puyu.training.data.conversation import names_defined, names_used
from puyu.training.data.phrasing import ALL_PARTS, HELDOUT_PARTS, split_of
from puyu.training.data.runner import Session

GSM8K = shared_data_dir() / "gsm8k" / "train.jsonl"
needs_gsm8k = pytest.mark.skipif(not GSM8K.exists(), reason=f"shared GSM8K data not found at {GSM8K}")


def gsm8k_rows(n: int) -> list[dict]:
    with open(GSM8K, encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A small real build (every family, both splits), made once for the module."""
    out = tmp_path_factory.mktemp("agent")
    gsm = "none"
    if GSM8K.exists():
        gsm = str(out / "gsm8k.jsonl")
        with open(gsm, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in gsm8k_rows(40))
    # OCR (a second an image) and knowledge_search (loads an embedding model) have their own tests
    assert main(["--out", str(out), "--n-train", "700", "--n-heldout", "120", "--seed", "3", "--gsm8k", gsm,
                 "--progress", "false", "--plugin-tools", "calculator,solve,image_info,image_edit,qr_read,qr_make,plot,plot_data",
                 "--plugin-pool-scale", "0.1"]) == 0
    train = list(read_jsonl(out / "train.jsonl"))
    heldout = list(read_jsonl(out / "heldout.jsonl"))
    stats = json.loads((out / "stats.json").read_text())
    return train, heldout, stats


# ---- GSM8K --------------------------------------------------------------------------------------------

@needs_gsm8k
def test_gsm8k_rows_become_programs_that_print_the_reference_answer():
    rows = gsm8k_rows(30)
    done = 0
    for row in rows:
        try:
            conv = gsm8k.convert(row)
        except gsm8k.Dropped as e:
            assert str(e) in {"final_not_computed", "no_annotations", "final_mismatch"}
            continue
        done += 1
        run = Session().run(conv.code)  # really runs, in a fresh session
        assert run.ok and run.output == conv.output
        assert float(run.output.splitlines()[-1]) == pytest.approx(gsm8k.final_answer(row["answer"]), abs=1e-6)
        rec = gsm8k.conversation(conv, random.Random(0))
        env = [t for t in rec.conversation if t.role == "environment"]
        assert env[0].content == run.output
        assert answer_matches(rec.conversation[-1].content, rec.meta["answer"])
    assert done >= 25


@needs_gsm8k
def test_gsm8k_program_uses_earlier_steps_as_variables():
    row = gsm8k_rows(1)[0]  # Natalia: 48/2 = 24, then 48 + 24 = 72
    conv = gsm8k.convert(row)
    first, second = conv.code.splitlines()[:2]
    assert first.endswith("48 / 2") and first.split(" = ")[0] in second
    assert conv.output in ("72", "72.0")


def test_gsm8k_drop_rules():
    base = "Tom has 3 bags with 4 apples each. How many apples?"
    wrong = {"question": base, "answer": "He has 3*4 = <<3*4=13>>13 apples.\n#### 13"}
    with pytest.raises(gsm8k.Dropped, match="annotation_mismatch"):
        gsm8k.convert(wrong)
    with pytest.raises(gsm8k.Dropped, match="no_annotations"):
        gsm8k.convert({"question": base, "answer": "He has 12 apples.\n#### 12"})
    with pytest.raises(gsm8k.Dropped, match="final_not_computed"):
        gsm8k.convert({"question": base, "answer": "He has 3*4 = <<3*4=12>>12 apples.\n#### 15"})
    with pytest.raises(gsm8k.Dropped, match="unparseable_expression"):
        gsm8k.convert({"question": base, "answer": "<<__import__('os')=1>>\n#### 1"})
    ok = gsm8k.convert({"question": base, "answer": "He has 3*4 = <<3*4=12>>12 apples.\n#### 12"})
    assert ok.output == "12" and "apples = 3 * 4" in ok.code


# ---- generated conversations --------------------------------------------------------------------------

def test_every_call_renders_and_parses_back(built):
    train, heldout, _ = built
    proto = InternLM2Protocol()
    n = 0
    for rec in train + heldout:
        rec.validate()
        segs = segments(rec)
        for i, turn in enumerate(rec.conversation):
            if turn.role != "assistant":
                continue
            generated = "".join(s.text for s in segs if s.index == i and s.trained)
            parsed = proto.parse(generated)
            assert parsed.error is None and parsed.text == turn.content.strip()
            if turn.tool_call:
                n += 1
                assert parsed.call.name == turn.tool_call["name"]
                assert parsed.call.arguments == turn.tool_call["arguments"]
            else:
                assert parsed.call is None
    assert n > 500


def test_environment_turns_are_the_programs_real_output(built):
    train, _, _ = built
    for rec in train[:300]:
        session = Session()
        for turn, nxt in zip(rec.conversation, rec.conversation[1:]):
            if turn.tool_call and turn.tool_call["name"] == INTERPRETER:
                assert session.run(turn.tool_call["arguments"]["code"]).output == nxt.content


def test_in_process_runner_prints_what_the_interpreter_tool_prints(built, tmp_path):
    interpreter = pytest.importorskip("puyu.tools.interpreter")
    train, _, _ = built
    picked = [r for r in train if r.meta["family"] in ("recovery", "multi_turn", "algebra")][:4]
    for k, rec in enumerate(picked):
        with interpreter.PythonInterpreter(tmp_path / str(k)) as real:
            for turn, nxt in zip(rec.conversation, rec.conversation[1:]):
                if turn.tool_call and turn.tool_call["name"] == INTERPRETER:
                    assert real.run(turn.tool_call["arguments"]["code"]).text == nxt.content


def test_final_reply_restates_the_printed_answer(built):
    train, heldout, _ = built
    for rec in train + heldout:
        if rec.meta["category"] not in ("tool", "gsm8k", "multi_turn") or rec.meta.get("answer") is None:
            continue
        last_env = max(i for i, t in enumerate(rec.conversation) if t.role == "environment")
        env, reply = rec.conversation[last_env], rec.conversation[last_env + 1]
        assert answer_matches(reply.content, rec.meta["answer"]), reply.content
        if isinstance(rec.meta["answer"], float):
            assert answer_matches(env.content, rec.meta["answer"])  # the number comes from the program's output


def test_chat_and_out_of_scope_items_call_no_tool(built):
    train, heldout, _ = built
    items = [r for r in train + heldout if r.meta["category"] in ("chat", "out_of_scope")]
    assert len(items) > 50
    for rec in items:
        assert not rec.calls() and not any(t.role == "environment" for t in rec.conversation)
        assert rec.meta["expect_tool"] is None
    oos = [r for r in items if r.meta["category"] == "out_of_scope"]
    assert all(re.search(r"larger model|更大的模型", r.conversation[-1].content) for r in oos)


def test_multi_turn_items_reuse_earlier_variables(built):
    train, heldout, _ = built
    items = [r for r in train + heldout if r.meta["family"] == "multi_turn"]
    assert items
    for rec in items:
        codes = [c["arguments"]["code"] for c in rec.calls()]
        earlier = set().union(*map(names_defined, codes[:-1]))
        reused = names_used(codes[-1]) & earlier - names_defined(codes[-1])
        assert reused and sorted(reused) == rec.meta["reuses"]
        assert not Session().run(codes[-1]).ok  # alone, the last program lacks what earlier turns defined


def test_recovery_items_fix_a_real_error(built):
    train, _, _ = built
    items = [r for r in train if r.meta["family"] == "recovery"]
    assert items
    for rec in items:
        env = [t.content for t in rec.conversation if t.role == "environment"]
        assert len(env) == 2 and ("Traceback" in env[0] or "SyntaxError" in env[0])
        assert "Error" not in env[1]


def test_heldout_phrasings_never_appear_in_train(built):
    train, heldout, _ = built
    for rec in train:
        assert not set(rec.meta["parts"]) & HELDOUT_PARTS, rec.meta["parts"]
    unseen = [r for r in heldout if r.meta["unseen_phrasing"]]
    assert len(unseen) >= len(heldout) / 3
    for rec in unseen:
        assert set(rec.meta["parts"]) & HELDOUT_PARTS
    # the held-out templates' own words do not occur in any training question either
    train_text = "\n".join(u for r in train for u in r.user_turns()).lower()
    for slot in ALL_PARTS.values():
        for part in slot.heldout:
            longest = max(re.split(r"\{\w+\}", part.text), key=len).strip()
            if len(longest) >= 14:
                assert longest.lower() not in train_text, (part.id, longest)
    train_users = {u for r in train for u in r.user_turns()}
    assert not any(set(r.user_turns()) & train_users for r in heldout)


def test_stats_list_the_held_out_words_training_never_shows(built):
    train, _, stats = built
    report = stats["new_words"]
    users = "\n".join(u for r in train for u in r.user_turns()).lower()
    # a 700-conversation build misses many words; each one listed is truly absent and comes from its choice
    assert 0 < report["with_new_words"] == len(report["words"]) <= report["heldout_choices"]
    for part_id, words in report["words"].items():
        slot, _ = part_id.split("/")
        text = next(p.text for p in ALL_PARTS[slot].heldout if p.id == part_id).lower()
        for word in words:
            assert word in text and not re.search(rf"(?<![a-z]){word}(?![a-z])" if word.isascii() else word, users)


def test_every_held_out_slot_trains_on_many_phrasings():
    # With a handful of training frames per question a small model memorises templates (v2: 95 % right on
    # trained phrasings, 50 % on new ones); each slot that has unseen phrasings offers at least eight to learn from.
    import puyu.training.data.families.knowledge  # noqa: F401  (slots register on import: all of them, whatever
    import puyu.training.data.families.plugins  # noqa: F401  the tests before this one imported)

    thin = {s.id: len({p.text for p in s.train}) for s in ALL_PARTS.values() if s.heldout}
    # The knowledge-base questions are the exception: each asks for one fact of a generated document, two trained
    # wordings and one held out, and what is learnt there is to search and quote, not the wording.
    assert {k: n for k, n in thin.items() if n < 8 and not k.startswith("kb.")} == {}
    assert len(thin) >= 130


def test_heldout_meta_carries_what_eval_needs(built):
    _, heldout, stats = built
    cats = {r.meta["category"] for r in heldout}
    assert {"tool", "chat", "out_of_scope", "multi_turn"} <= cats
    for rec in heldout:
        m = rec.meta
        assert m["reference"] is True and m["lang"] in ("en", "zh") and isinstance(m["unseen_phrasing"], bool)
        no_value = m["category"] in ("chat", "out_of_scope") or m.get("answer_kind") in ("image", "none")
        assert "answer" in m and (m["answer"] is None) == no_value
    assert stats["heldout"]["total"] == len(heldout) == 120


def test_plugin_items_list_the_called_tool_and_really_ran_it(built):
    train, heldout, _ = built
    items = [r for r in train + heldout if r.meta["family"].startswith("plugin_") and r.calls()]
    assert {r.meta["family"] for r in items} >= {"plugin_calculator", "plugin_solve", "plugin_image_info"}
    for rec in items:
        names = [s["name"] for s in rec.tools]
        assert 1 <= len(names) <= 4 and all(c["name"] in names for c in rec.calls() if c["name"] != INTERPRETER)
        for turn in rec.conversation:
            if turn.name == "file":
                path = json.loads(turn.content)[0]["path"]
                assert path.startswith("/home/user/.local/share/puyu/conversations/")
        assert "/tmp/" not in json.dumps(rec.to_dict())  # scratch paths never leak into the data


def _plugin_items(only: list[str], n: int, lang: str = "en"):
    from puyu.training.data.conversation import Dialog, Drop
    from puyu.training.data.families.plugins import PluginMaker
    maker = PluginMaker(pool_scale=0.05, only=only)
    out = []
    try:
        for i in range(n):
            try:
                out.append(maker.make(Dialog(random.Random(f"t{i}"), lang)))
            except Drop:
                pass
    finally:
        maker.close()
    return out


def test_ocr_items_answer_from_what_the_tool_read():
    pytest.importorskip("pytesseract")
    import shutil
    if not shutil.which("tesseract"):
        pytest.skip("tesseract is not installed")
    items = _plugin_items(["ocr"], 3)
    assert items
    for rec in items:
        env = next(t for t in rec.conversation if t.role == "environment")
        text = json.loads(env.content.split("\n[image:")[0])["text"]
        answer = rec.meta["answer"]
        assert str(answer if not isinstance(answer, float) else f"{answer:.2f}") in text


@pytest.mark.skipif(not os.environ.get("PUYU_SLOW_TESTS"), reason="loads the embedding model (set PUYU_SLOW_TESTS=1)")
def test_knowledge_items_quote_the_retrieved_passage():
    items = _plugin_items(["knowledge_search"], 4, "zh")
    assert items
    for rec in items:
        env = next(t for t in rec.conversation if t.role == "environment").content
        reply = rec.conversation[-1].content
        cites = re.findall(r"\[([^\]]+)\]", reply)
        assert cites and f"[{cites[0]}]" in env and "(score" not in reply
        assert any(len(line) > 5 and line in reply for line in env.splitlines())  # quotes a retrieved line


def test_number_split_is_a_partition():
    keys = [("expr", a, b) for a in range(40) for b in range(40)]
    held = [k for k in keys if split_of(*k) == "heldout"]
    assert 0.05 < len(held) / len(keys) < 0.2


def test_builds_are_deterministic():
    b1, b2 = (Builder(BuildConfig(gsm8k="none", progress=False, plugins=False)) for _ in range(2))
    for recipe in ("arithmetic", "multi_turn", "recovery", "out_of_scope", "algebra", "dates"):
        r1, r2 = b1.make(recipe, "train", "7"), b2.make(recipe, "train", "7")
        assert r1.to_json() == r2.to_json()


def test_builds_with_tool_output_files_are_deterministic():
    # Tools that write a file name it in their output, which becomes training text: a random name made two builds
    # with one seed differ (a dozen held-out items and a token of the tokenizer).
    cfg = BuildConfig(gsm8k="none", progress=False, plugin_tools=["image_edit", "plot"], plugin_pool_scale=0.1)
    texts = []
    for builder in (Builder(cfg), Builder(cfg)):
        made = [builder.make("plugin", "train", str(i)) for i in range(12)]
        texts.append([r.to_json() if r else None for r in made])
        builder.plugin.close()
    assert sum("[image: " in t for t in texts[0] if t) >= 3
    assert texts[0] == texts[1]


def test_tool_outputs_are_too_many_to_learn_by_heart():
    # The answer to "what does this QR code / sign say" must be copied from the tool's output; a few files seen
    # hundreds of times each teach their contents instead (v5 answered a memorised password for a new sign).
    builder = Builder(BuildConfig(gsm8k="none", progress=False, plugin_tools=["qr_read"]))
    payloads = {"train": [], "heldout": []}
    for split, n in (("train", 150), ("heldout", 40)):
        for i in range(n):
            rec = builder.make("plugin", split, str(i))
            payloads[split] += [json.loads(c.content)["codes"][0]["data"] for c in rec.conversation if
                                c.role == "environment" and '"codes": [{' in c.content] if rec else []
    builder.plugin.close()
    train, held = payloads["train"], payloads["heldout"]
    assert len(train) >= 100 and len(set(train)) >= 0.6 * len(train)
    assert len(set(held) - set(train)) >= 0.8 * len(set(held))


def test_stats_report_families_languages_and_drops(built):
    _, _, stats = built
    fams = stats["train"]["by_family"]
    for fam in ("arithmetic", "percent", "units", "algebra", "stats", "dates", "multi_turn", "recovery", "chat",
                "out_of_scope"):
        assert fams.get(fam, 0) > 0, fam
    assert set(stats["train"]["by_lang"]) == {"en", "zh"}
    assert "dropped" in stats["gsm8k"] and "drops" in stats


# ---- schema and converters ----------------------------------------------------------------------------

def test_agent_flan_round_trip(built):
    train, _, _ = built
    for rec in train[:200]:
        flan = to_agent_flan(rec)
        assert all(set(e) <= {"role", "content", "loss", "name"} for e in flan["conversation"])
        back = from_agent_flan(json.loads(json.dumps(flan)))
        assert back.to_dict() == rec.to_dict()


def test_plain_agent_flan_record_is_parsed_with_the_protocol():
    flan = {"conversation": [
        {"role": "user", "content": "What is 2**10?", "loss": False},
        {"role": "assistant", "content": "Let me compute.<|action_start|><|interpreter|>\n```python\nprint(2**10)\n```"
                                         "<|action_end|>", "loss": True},
        {"role": "environment", "content": "1024", "loss": False},
        {"role": "assistant", "content": "It is 1024.", "loss": True}]}
    rec = from_agent_flan(flan)
    rec.validate()
    assert rec.conversation[1].tool_call == {"name": INTERPRETER, "arguments": {"code": "print(2**10)"}}
    assert rec.conversation[1].content == "Let me compute." and rec.conversation[2].name == "interpreter"
    assert rec.interpreter


def test_turns_convert_to_and_from_messages():
    m = Message("assistant", "hi", tool_call=ToolCall("calculator", {"expression": "1+1"}))
    t = Turn.from_message(m)
    assert t.loss and t.tool_call == {"name": "calculator", "arguments": {"expression": "1+1"}}
    back = t.to_message()
    assert (back.role, back.content, back.tool_call.name, back.tool_call.arguments) == (
        "assistant", "hi", "calculator", {"expression": "1+1"})
    with pytest.raises(ValueError):
        Turn("user", "x", tool_call={"name": "a", "arguments": {}})
    with pytest.raises(ValueError):
        Record([Turn("user", "x"), Turn("assistant", "", tool_call={"name": "nope", "arguments": {}})]).validate()


def test_cli_rejects_bad_options(capsys):
    with pytest.raises(SystemExit):
        main(["--n-train", "0"])
    assert "n_train" in capsys.readouterr().err
