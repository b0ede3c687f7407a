"""Pretraining from scratch: loss masking, packing isolation, resume, DDP, export, configs."""
from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from puyu.training import dataset, loop
from puyu.training import model as models
from puyu.training.dataset import IGNORE, DataError, Example, collate, encode, pack
from puyu.training.loop import TokenLoss
from puyu.training.lora import LoraConfig
from puyu.training.pretrain import PretrainConfig, main
from tiny_model import build_tiny_tokenizer
from training_fixtures import make_records, tiny_run_args

from puyu.core.dataclass_cli import parse
from puyu.core.messages import Message
from puyu.core.protocols.internlm2 import ACTION_END, IM_END, InternLM2Protocol

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tok():
    return build_tiny_tokenizer()


def trained_runs(example: Example, tok) -> list[str]:
    """The text of each contiguous stretch of target tokens."""
    runs, current = [], []
    for target in example.targets.tolist():
        if target == IGNORE:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(target)
    return [tok.decode(r) for r in runs + ([current] if current else [])]


# ---- masking -------------------------------------------------------------------------------------------

def test_loss_only_on_assistant_output(tok):
    chat, code, plugin = make_records(3)
    (ex_code, ex_plugin, ex_chat), _ = encode([code, plugin, chat], tok, 4096)
    a, b = code["conversation"][1]["content"].split()[1], code["conversation"][1]["content"].split()[3]
    assert trained_runs(ex_code, tok) == [
        f"I will run it.<|action_start|><|interpreter|>\n```python\nprint({a} * {b})\n```{ACTION_END}",
        code["conversation"][4]["content"] + IM_END]
    call = plugin["conversation"][3]["tool_call"]["arguments"]["expression"]
    # The loss=false assistant turn and everything the user, system and tools wrote get no target.
    assert trained_runs(ex_plugin, tok) == [
        f'<|action_start|><|plugin|>\n{{"name": "calculator", "parameters": {{"expression": "{call}"}}}}{ACTION_END}',
        plugin["conversation"][5]["content"] + IM_END]
    assert trained_runs(ex_chat, tok) == [chat["conversation"][1]["content"] + IM_END]
    # Targets are the next tokens: a target at t is input_ids[t + 1].
    ids, targets = ex_code.input_ids.tolist(), ex_code.targets.tolist()
    for t, target in enumerate(targets):
        if target != IGNORE:
            assert target == ids[t + 1]
    assert ids[0] == tok.bos_token_id and targets[-1] == IGNORE


def test_segment_tokenization_matches_whole_text(tok):
    """Per-segment tokens must equal what inference gets from tokenizing the rendered prompt in one go."""
    protocol = InternLM2Protocol()
    for record in make_records(6):
        messages = [Message.from_dict(m) for m in record["conversation"]]
        text = "".join(s.text for s in protocol.segments(messages, record["tools"], record["interpreter"]))
        (example,), _ = encode([record], tok, 100_000)
        assert example.input_ids.tolist() == tok(text)["input_ids"]


def test_real_tokenizer_segments_match_whole_text():
    path = ROOT / "data" / "tokenizer"
    if not (path / "tokenizer.json").exists():
        pytest.skip("data/tokenizer not built yet (python -m puyu.training.tokenizer)")
    from transformers import AutoTokenizer

    real = AutoTokenizer.from_pretrained(path)
    dataset.check_tokenizer(real, str(path))
    protocol = InternLM2Protocol()
    for record in make_records(6):
        messages = [Message.from_dict(m) for m in record["conversation"]]
        text = "".join(s.text for s in protocol.segments(messages, record["tools"], record["interpreter"]))
        (example,), _ = encode([record], real, 100_000)
        assert example.input_ids.tolist() == real(text)["input_ids"]


def test_bad_data_gives_clear_errors(tmp_path, tok):
    with pytest.raises(DataError, match="no such data file"):
        dataset.read_records(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"conversation": []}\n{not json\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: not valid JSON"):
        dataset.read_records(bad)
    with pytest.raises(DataError, match="record 1 cannot be rendered"):
        encode([{"conversation": [{"content": "no role"}]}], tok, 100)
    with pytest.raises(SystemExit, match="no such data file"):
        main(tiny_run_args(tmp_path, data=tmp_path / "missing.jsonl"))


# ---- packing -------------------------------------------------------------------------------------------

def test_pack_keeps_every_conversation_whole(tok):
    examples, _ = encode(make_records(30), tok, 768)
    rows = pack(examples, 768)
    assert all(len(r) <= 768 for r in rows)
    assert sorted(len(e) for e in examples) == sorted(
        len(doc) for r in rows for doc in _split(r.position_ids.tolist()))
    assert sum(len(r) for r in rows) == sum(len(e) for e in examples)
    assert len(rows) < len(examples)
    assert [r.input_ids.tolist() for r in pack(examples, 768)] == [r.input_ids.tolist() for r in rows]


def _split(positions: list[int]) -> list[list[int]]:
    docs = []
    for p in positions:
        if p == 0:
            docs.append([])
        docs[-1].append(p)
    return docs


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_logits_equal_alone(tok, attn):
    """No attention across packed conversations: each one's logits are those it gets on its own."""
    examples, _ = encode(make_records(3), tok, 4096)
    model = models.build(models.shape("puyu-micro"), len(tok), tok.bos_token_id, 0, 0, seed=1).eval()
    model.set_attn_implementation(attn)
    row = pack(examples, sum(len(e) for e in examples))
    assert len(row) == 1
    batch = collate(row, pad_id=0)
    with torch.no_grad():
        # use_cache=False as in training: with a KV cache transformers ignores packed positions.
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        leaky = model(input_ids=batch["input_ids"], use_cache=False).logits[0]  # one long sequence: attends across
    start, differs = 0, []
    for doc in _split(row[0].position_ids.tolist()):
        ids = row[0].input_ids[start:start + len(doc)].long().unsqueeze(0)
        with torch.no_grad():
            alone = model(input_ids=ids).logits[0]
        torch.testing.assert_close(packed[start:start + len(doc)], alone, atol=1e-5, rtol=1e-5)
        differs.append(not torch.allclose(leaky[start:start + len(doc)], alone, atol=1e-3))
        start += len(doc)
    assert differs[1:] and all(differs[1:]), "the control should see across documents"


def test_token_loss_head_shortcut_matches_full_logits(tok):
    examples, _ = encode(make_records(4), tok, 768)
    batch = collate(pack(examples, 768), pad_id=0)
    model = models.build(models.shape("puyu-micro"), len(tok), tok.bos_token_id, 0, 0, seed=2)
    loss_fn = TokenLoss(model)
    assert loss_fn.plain_head
    with torch.no_grad():
        fast = loss_fn(**batch)
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        full = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(), reduction="sum")
    torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-4)
    # the head sees a whole number of buckets, however many targets the batch has (one shape per bucket count)
    rows = []
    model.get_output_embeddings().register_forward_hook(lambda m, args, out: rows.append(args[0].shape[0]))
    with torch.no_grad():
        loss_fn(**batch)
    n = int((batch["targets"] != IGNORE).sum())
    assert rows == [-(-n // TokenLoss.BUCKET) * TokenLoss.BUCKET] and n % TokenLoss.BUCKET


def test_row_order_is_reproducible_and_disjoint_per_process():
    order = dataset.RowOrder(10, seed=3)
    first = order.take(0, 25)
    assert sorted(first[:10]) == list(range(10)) and sorted(first[10:20]) == list(range(10))
    assert dataset.RowOrder(10, seed=3).take(13, 5) == first[13:18]


# ---- the training run ----------------------------------------------------------------------------------

def losses(out: Path) -> list[float]:
    return [e["loss"] for e in json.loads((out / "log.json").read_text())["train"]]


def test_resume_gives_the_same_loss_curve_and_exports(tmp_path, tok):
    main(tiny_run_args(tmp_path, "straight"))
    main(tiny_run_args(tmp_path, "resumed", stop_step=3))
    assert len(losses(tmp_path / "resumed")) == 3
    main(tiny_run_args(tmp_path, "resumed"))
    straight, resumed = losses(tmp_path / "straight"), losses(tmp_path / "resumed")
    assert len(straight) == 6 and straight[-1] < straight[0]
    assert resumed == pytest.approx(straight, rel=1e-6, abs=1e-7)
    log = json.loads((tmp_path / "straight" / "log.json").read_text())
    assert [e["step"] for e in log["eval"]] == [3, 6] and (tmp_path / "straight" / "loss.png").stat().st_size > 0

    from transformers import AutoModelForCausalLM, AutoTokenizer

    export = tmp_path / "straight" / "model"
    model = AutoModelForCausalLM.from_pretrained(export)
    loaded = AutoTokenizer.from_pretrained(export)
    im_end = loaded.convert_tokens_to_ids(IM_END)
    assert model.generation_config.eos_token_id == im_end and model.config.eos_token_id == im_end
    assert loaded.chat_template and (export / "model.safetensors").exists()
    assert model.config.tie_word_embeddings and model.config.model_type == "llama"


def test_time_budget_stops_cleanly_with_checkpoint_and_export(tmp_path):
    main(tiny_run_args(tmp_path, max_minutes=0.001))
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    assert log["info"]["stop"] == "max_minutes" and log["info"]["steps_done"] < 6
    assert (tmp_path / "run" / "checkpoint" / "state.pt").exists()
    assert (tmp_path / "run" / "model" / "config.json").exists()


def test_bf16_autocast_trains_like_fp32_on_cpu(tmp_path):
    # bf16 is what `precision: auto` picks on CPUs with native bf16 (1.77x faster here); it must learn as fp32 does.
    curves = {}
    for precision in ("fp32", "bf16"):
        main(tiny_run_args(tmp_path, precision, precision=precision, eval_every=0, save_every=0))
        curves[precision] = losses(tmp_path / precision)
    assert curves["bf16"][-1] < curves["bf16"][0]
    assert curves["bf16"][0] == pytest.approx(curves["fp32"][0], rel=0.02)
    assert curves["bf16"][-1] == pytest.approx(curves["fp32"][-1], rel=0.1)
    assert curves["bf16"] != curves["fp32"]  # it really ran in bf16


def test_auto_precision_follows_the_device(monkeypatch):
    cpu, cuda = SimpleNamespace(device=torch.device("cpu")), SimpleNamespace(device=torch.device("cuda"))
    args = lambda precision: SimpleNamespace(precision=precision)  # noqa: E731
    for native in (True, False):
        monkeypatch.setattr(loop, "cpu_has_bf16", lambda native=native: native)
        assert loop.use_bf16(args("auto"), cpu) is native
        assert loop.use_bf16(args("auto"), cuda)
        assert loop.use_bf16(args("bf16"), cpu) and not loop.use_bf16(args("fp32"), cuda)


def test_two_process_ddp_run(tmp_path):
    args = tiny_run_args(tmp_path, max_steps=2, eval_every=0, save_every=0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    # Own session, so that a timeout kills torchrun's workers too instead of leaving them waiting on gloo.
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "puyu.training.pretrain", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=280)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    assert log["info"]["world"] == 2 and log["info"]["steps_done"] == 2
    assert (tmp_path / "run" / "checkpoint" / "state.pt").exists()
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


# ---- configs -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((ROOT / "training" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_parse(path):
    cls = LoraConfig if path.name.startswith(("lora", "qlora")) else PretrainConfig
    config = parse(cls, ["--config", str(path)])
    assert config.max_steps >= 1 or config.epochs > 0 or config.max_minutes > 0
    # YAML is not coerced to the field types ("2e-4" is a string to YAML), so check them here.
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        expected = {"int": int, "float": (int, float), "str": str, "bool": bool}.get(getattr(hints[f.name], "__name__", ""))
        if expected:
            assert isinstance(getattr(config, f.name), expected), f"{path.name}: {f.name} should be {expected}"


def test_bad_options_are_rejected(capsys):
    with pytest.raises(SystemExit):
        parse(PretrainConfig, ["--model", "puyu-huge"])
    assert "unknown model preset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(PretrainConfig, ["--model-overrides", "{layers: 3}"])
    assert "unknown model field" in capsys.readouterr().err


def test_a_bare_boolean_flag_means_true():
    assert parse(PretrainConfig, ["--resume", "--seed", "3"]).resume is True
    assert parse(PretrainConfig, ["--resume", "false"]).resume is False
    assert parse(PretrainConfig, ["--packing", "no"]).packing is False


def test_schedule_warms_up_then_decays_to_the_floor():
    from puyu.training.loop import Schedule

    s = Schedule(warmup=4, total=20, min_ratio=0.1)
    factors = [s(i) for i in range(25)]
    assert factors[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert all(a >= b for a, b in itertools.pairwise(factors[4:]))
    assert factors[20] == pytest.approx(0.1) and factors[24] == pytest.approx(0.1)
    sized_later = Schedule(warmup=4, total=None, min_ratio=0.1)
    assert sized_later(10) == 1.0
    sized_later.total = 20
    assert sized_later(12) == pytest.approx(factors[12])


def test_steps_are_sized_to_the_time_budget(tmp_path):
    """max_steps 0 + max_minutes: after warm-up the schedule is fixed to what fits, and the run ends on it."""
    main(tiny_run_args(tmp_path, max_steps=0, max_minutes=0.12, warmup_steps=2, eval_every=0, save_every=0))
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    info = log["info"]
    if info["max_steps"] is None:  # a machine so busy that loading alone used the budget: it must still end cleanly
        assert info["stop"] == "max_minutes" and info["steps_done"] <= 2
        return
    assert info["max_steps"] > 2, "the schedule should be sized after the 2 warm-up steps"
    assert info["steps_done"] == info["max_steps"] or info["stop"] == "max_minutes"
    if info["stop"] == "max_steps":
        assert log["train"][-1]["lr"] < 0.01 * 0.3  # the cosine got (nearly) to its floor, 0.001
    # Without the budget, max_steps 0 would never end; a loaded machine may overrun the final eval and export.
    assert info["minutes"] < 1.0


def test_bundled_retrain_chains_the_three_steps_inside_one_budget(monkeypatch):
    """`puyu train bundled` (the steps themselves are tested above and in test_training_data.py)."""
    from puyu.training import bundled, pretrain, tokenizer
    from puyu.training.data import build

    calls = []
    monkeypatch.setattr(build, "main", lambda argv: calls.append(("data", argv)) or 0)
    monkeypatch.setattr(tokenizer, "main", lambda argv: calls.append(("tokenizer", argv)) or 0)
    monkeypatch.setattr(pretrain, "main", lambda argv: calls.append(("train", argv)) or 0)
    assert bundled.main(["--minutes", "30", "--n-train", "123", "--export-dir", "out/x"]) == 0
    assert [name for name, _ in calls] == ["data", "tokenizer", "train"]
    assert calls[0][1][:4] == ["--out", "data/agent", "--n-train", "123"]
    assert calls[0][1][calls[0][1].index("--gsm8k-share") + 1] == "0.05"
    assert calls[1][1] == ["--data", "data/agent/train.jsonl", "--out", "data/tokenizer", "--prompt-style", "compact"]
    train = calls[2][1]
    assert 28 < float(train[train.index("--max-minutes") + 1]) <= 29  # the budget less the margin and time spent
    assert train[train.index("--resume") + 1] == "false"  # from scratch, whatever an earlier run left behind
    assert train[train.index("--export-dir") + 1] == "out/x"
    with pytest.raises(SystemExit, match="raise --minutes"):
        bundled.main(["--minutes", "5"])


def test_the_tokenizers_prompt_style_is_trained_on_and_travels_with_the_model(tmp_path, tok):
    """A tokenizer made with --prompt-style compact: training renders the conversations with the compact prompts,
    the exported folder says so (puyu.json), and the backends and the agent pick it up from there."""
    from puyu.models.hf import HFModel

    from puyu.core.card import read_style, write_style
    from puyu.runtime import Runtime
    from puyu.core.config import Settings
    from tests.fakes import ScriptedModel

    records = make_records(6)
    long, _ = encode(records, tok, 4096)
    short, _ = encode(records, tok, 4096, style="compact")
    assert all(len(s) < len(lg) for s, lg in zip(short, long))
    assert [trained_runs(s, tok) for s in short] == [trained_runs(lg, tok) for lg in long]  # same replies learned

    args = tiny_run_args(tmp_path, max_steps=1, eval_every=1, save_every=1)
    write_style(tmp_path / "tokenizer", "compact")
    assert main(args) == 0
    export = tmp_path / "run" / "model"
    assert read_style(export) == "compact"
    model = HFModel(export, device="cpu")
    assert model.prompt_style == "compact"

    scripted = ScriptedModel(["Hello."])
    scripted.prompt_style = "compact"
    runtime = Runtime(Settings().replace(data_dir=str(tmp_path / "data"), interpreter=False, tools=[]), model=scripted)
    list(runtime.session(runtime.store.create().id).send("Hi"))
    assert scripted.prompts[0].startswith("<|im_start|>system\nYou are puyu.<|im_end|>")
