"""The transformers backend on a tiny random checkpoint, plus the stop-string and detokenisation helpers."""
from __future__ import annotations

import contextlib
import os
import random

import pytest

os.environ.setdefault("PUYU_THREADS", "1")  # 2 shared cores: keep torch to one

import torch
from puyu.models import load
from puyu.core.config import ModelSpec
from puyu.models.base import ModelError
from puyu.core.config import GenerationConfig
from puyu.models.hf import HFModel, IncrementalDetokenizer, default_threads
from puyu.models.stops import StopCutter

from tests.tiny_model import SPECIAL_TOKENS, build_tiny_checkpoint

PROMPTS = ["Hello world", "你好，世界！今天", "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def model(ckpt):
    m = load(ModelSpec(backend="transformers", name=str(ckpt), device="cpu"))
    yield m
    m.close()


@contextlib.contextmanager
def scripted(m: HFModel, token_ids: list[int]):
    """Make the model emit `token_ids` in order (every row of a batch the same), whatever it was fed."""
    step = [0]

    def hook(_module, _inputs, logits):
        forced = torch.full_like(logits, -1e4)
        forced[..., -1, token_ids[min(step[0], len(token_ids) - 1)]] = 0
        step[0] += 1
        return forced

    handle = m.model.lm_head.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def ids_of(m: HFModel, text: str) -> list[int]:
    return m.tokenizer(text, add_special_tokens=False)["input_ids"]


# ---- decoding the model's own choices -------------------------------------------------------------------------

def test_stream_matches_hf_generate_greedy(model):
    gen = GenerationConfig(max_new_tokens=24)
    for prompt in PROMPTS:
        deltas = list(model.stream(prompt, gen))
        # reference: transformers' own greedy generate, decoded in one go
        enc = model.tokenizer(prompt, return_tensors="pt", add_special_tokens=not prompt.startswith("<s>"))
        out = model.model.generate(**enc, max_new_tokens=24, do_sample=False, pad_token_id=model._pad)
        new = [t for t in out[0, enc["input_ids"].shape[1]:].tolist() if t not in model._skip]
        assert "".join(deltas) == model.tokenizer.decode(new, skip_special_tokens=False)
        assert "".join(deltas) == model.generate([prompt], gen)[0]
        assert model.last_usage[0].completion_tokens == len(new)


def test_batched_generate_equals_one_by_one(model):
    gen = GenerationConfig(max_new_tokens=16)
    singles = ["".join(model.stream(p, gen)) for p in PROMPTS]
    assert len({len(model.tokenizer(p)["input_ids"]) for p in PROMPTS}) > 1  # so left padding is exercised
    assert model.generate(PROMPTS, gen) == singles
    assert all(singles)


def test_a_shared_prefix_is_run_once_and_changes_nothing(model):
    shots = "<|im_start|>system\nAnswer with one letter.<|im_end|>\n" + "".join(
        f"<|im_start|>user\nQuestion {i}: pick A, B, C or D.<|im_end|>\n<|im_start|>assistant\nB<|im_end|>\n"
        for i in range(4))
    prompts = [shots + f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n"
               for q in ("Which is first?", "最后一个是哪个？", "Two?")]
    gen = GenerationConfig(max_new_tokens=12)
    singles = ["".join(model.stream(p, gen)) for p in prompts]
    lengths = []
    handle = model.model.register_forward_pre_hook(lambda _m, _a, kw: lengths.append(kw["input_ids"].shape),
                                                   with_kwargs=True)
    try:
        batched = model.generate(prompts, gen)
    finally:
        handle.remove()
    assert batched == singles
    shared = len(model.tokenizer(shots)["input_ids"])
    assert lengths[0][0] == 1 and lengths[0][1] >= shared >= 32  # the prefix, once, for the whole batch
    longest = max(len(model.tokenizer(p)["input_ids"]) for p in prompts)
    assert lengths[1] == (3, longest - lengths[0][1])  # then only each prompt's own end


def test_batched_rows_stop_independently(model):
    stop_text = "ok<|im_end|>tail"
    with scripted(model, ids_of(model, stop_text) * 3):
        outs = model.generate(["a", "longer prompt here"], GenerationConfig(max_new_tokens=10, stop=["<|im_end|>"]))
    assert outs == ["ok", "ok"]


def test_sampling_is_seeded_and_tiny_top_p_is_greedy(model):
    greedy = "".join(model.stream("Hello", GenerationConfig(max_new_tokens=20)))
    a = "".join(model.stream("Hello", GenerationConfig(max_new_tokens=20, temperature=1.0, seed=7)))
    b = "".join(model.stream("Hello", GenerationConfig(max_new_tokens=20, temperature=1.0, seed=7)))
    c = "".join(model.stream("Hello", GenerationConfig(max_new_tokens=20, temperature=1.0, seed=8)))
    assert a == b and a != c
    narrow = GenerationConfig(max_new_tokens=20, temperature=1.0, top_p=1e-6, seed=3)
    assert "".join(model.stream("Hello", narrow)) == greedy


# ---- special tokens, Chinese, stops, EOS (scripted outputs) ---------------------------------------------------

def test_special_tokens_survive_and_bos_is_stripped(model):
    text = '我来查一下。<|action_start|><|plugin|>\n{"name": "search"}<|action_end|>\n'
    script = [model.tokenizer.bos_token_id] + ids_of(model, text) + [model.tokenizer.eos_token_id]
    with scripted(model, script):
        deltas = list(model.stream("hi", GenerationConfig(max_new_tokens=64)))
    assert "".join(deltas) == text
    assert all("\ufffd" not in d for d in deltas)  # multi-byte characters never come out in halves


def test_chinese_split_over_byte_tokens(model):
    text = "世界和平"
    script = ids_of(model, text)
    assert len(script) > len(text)  # the tokenizer really splits these characters into byte tokens
    with scripted(model, script + [model.tokenizer.eos_token_id]):
        deltas = list(model.stream("hi", GenerationConfig(max_new_tokens=32)))
    assert "".join(deltas) == text and all("\ufffd" not in d for d in deltas)


@pytest.mark.parametrize("stop, expected", [
    (["<|im_end|>"], "It is 42. Done"),                  # a single special token
    (["2. Do"], "It is 4"),                              # spans several tokens and starts mid-token
    (["zzz", "Done", "<|act"], "It is 42. "),            # the first of several that occurs
    (["42!"], "It is 42. Done<|im_end|><|action_start|>more"),  # a held-back prefix is released at EOS
])
def test_stop_strings_are_cut(model, stop, expected):
    script = ids_of(model, "It is 42. Done<|im_end|><|action_start|>more") + [model.tokenizer.eos_token_id]
    with scripted(model, script):
        deltas = list(model.stream("q", GenerationConfig(max_new_tokens=64, stop=stop)))
    assert "".join(deltas) == expected
    assert model.last_usage[0].completion_tokens < len(script)  # generation really ended there


def test_eos_and_max_new_tokens_end_generation(model):
    eos = model.tokenizer.eos_token_id
    with scripted(model, ids_of(model, "abc") + [eos] + ids_of(model, "never")):
        assert "".join(model.stream("q", GenerationConfig(max_new_tokens=50))) == "abc"
    with scripted(model, ids_of(model, "Hello world! The quick brown fox")):
        model.generate(["q"], GenerationConfig(max_new_tokens=3))
        assert model.last_usage[0].completion_tokens == 3


def test_detokenizer_matches_full_decode_on_random_ids(model):
    tok = model.tokenizer
    rnd = random.Random(0)
    for _ in range(30):
        ids = [rnd.randrange(len(tok)) for _ in range(rnd.randrange(1, 40))]
        detok = IncrementalDetokenizer(tok, model._skip)
        text = "".join(detok.push(i) for i in ids) + detok.flush()
        kept = [i for i in ids if i not in model._skip]
        assert text == tok.decode(kept, skip_special_tokens=False)


def test_detokenizer_keeps_sentencepiece_leading_spaces():
    """SentencePiece-style decoders drop a leading "▁" at the start of a decode; the prompt context keeps it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    sp = Tokenizer(models.BPE(unk_token="<unk>"))
    sp.pre_tokenizer = pre_tokenizers.Metaspace()
    sp.decoder = decoders.Metaspace()
    sp.train_from_iterator(["hello world and hello there"] * 3, trainers.BpeTrainer(special_tokens=["<unk>"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=sp, unk_token="<unk>")
    prompt, answer = tok("hello")["input_ids"], tok(" world and there")["input_ids"]
    assert tok.decode(answer).startswith("world")  # the problem: decoded alone, the space is gone
    detok = IncrementalDetokenizer(tok, set(), context=prompt)
    text = "".join(detok.push(i) for i in answer) + detok.flush()
    assert text == tok.decode(prompt + answer)[len("hello"):] == " world and there"


def test_special_tokens_decode_exactly(model):
    for t in SPECIAL_TOKENS:
        (tid,) = ids_of(model, t)
        detok = IncrementalDetokenizer(model.tokenizer, model._skip)
        assert detok.push(tid) + detok.flush() == t


# ---- stop cutter on its own ------------------------------------------------------------------------------------

def test_stop_cutter_any_chunking():
    rnd = random.Random(1)
    text = "abc <|action_start|> x <|im_end|> tail"
    for stops, expected in [(["<|im_end|>"], "abc <|action_start|> x "), (["<|act", "x <"], "abc "),
                            (["nope"], text), ([], text)]:
        for _ in range(50):
            cuts = sorted(rnd.sample(range(1, len(text)), rnd.randrange(0, 8)))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
            cutter = StopCutter(stops)
            out = ""
            for p in pieces:
                out += cutter.push(p)
                # nothing past or inside a stop string is ever released
                assert expected.startswith(out)
            out += cutter.flush()
            assert out == expected


# ---- adapters, chat template, errors ---------------------------------------------------------------------------

def test_lora_adapter_changes_logits(ckpt, tmp_path, model):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(ckpt)
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    adapted = load(ModelSpec(name=str(ckpt), adapter=str(tmp_path / "adapter"), device="cpu"))

    enc = model.tokenizer("Hello world", return_tensors="pt")
    with torch.no_grad():
        plain = model.model(**enc).logits
        ours = adapted.model(**enc).logits
        reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(ckpt), tmp_path / "adapter")(
            **enc).logits
    assert not torch.allclose(plain, ours, atol=1e-3)
    assert torch.allclose(ours, reference, atol=1e-4)
    assert adapted.name.endswith("+adapter")


def test_chat_template_renders_internlm2_format(model):
    prompt = model.apply_chat_template([{"role": "user", "content": "hi"}])
    assert prompt == "<s><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert "".join(model.stream(prompt, GenerationConfig(max_new_tokens=4)))  # no second <s> breaks anything


def test_clear_errors_for_bad_paths(tmp_path, ckpt):
    with pytest.raises(ModelError, match="does not exist"):
        load(ModelSpec(name=str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a Hugging Face checkpoint"):
        load(ModelSpec(name=str(tmp_path / "empty")))
    with pytest.raises(ModelError, match="not a peft adapter"):
        load(ModelSpec(name=str(ckpt), adapter=str(tmp_path / "empty")))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot load"):
        load(ModelSpec(name=str(broken)))
    with pytest.raises(ValueError, match="backend"):
        ModelSpec(backend="vllm", name="x")


def test_remote_code_needs_opt_in(tmp_path, ckpt):
    import json
    import shutil

    remote = shutil.copytree(ckpt, tmp_path / "remote")
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_x.XConfig", "AutoModelForCausalLM": "modeling_x.XForCausalLM"}
    config["model_type"] = "internlm2"  # a type transformers does not know, as with the real InternLM2
    (remote / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="trust_remote_code"):
        load(ModelSpec(name=str(remote)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_a_clear_error(ckpt):
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load(ModelSpec(name=str(ckpt), device="cuda"))


def test_thread_count_from_env(monkeypatch):
    monkeypatch.setenv("PUYU_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("PUYU_THREADS", "many")
    with pytest.raises(ModelError, match="PUYU_THREADS"):
        default_threads()
    monkeypatch.delenv("PUYU_THREADS")
    assert 1 <= default_threads() <= (os.cpu_count() or 1)
