"""LoRA SFT of a Hugging Face causal LM, and merging the adapter back into the base."""
from __future__ import annotations

import json

import pytest
import torch
from puyu.training import lora, merge
from puyu.training.loop import packing_isolates
from tiny_model import build_tiny_checkpoint
from training_fixtures import make_records, write_jsonl

torch.set_num_threads(1)


def lora_args(tmp_path, **over) -> list[str]:
    opts = {"base": tmp_path / "base", "data": tmp_path / "train.jsonl", "out_dir": tmp_path / "run",
            "max_len": 768, "batch_size": 2, "grad_accum": 2, "max_steps": 4, "warmup_steps": 1, "lr": 0.02,
            "r": 4, "alpha": 8, "eval_every": 2, "save_every": 2, "threads": 1, "progress": "false", **over}
    return [x for k, v in opts.items() for x in (f"--{k.replace('_', '-')}", str(v))]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lora")
    build_tiny_checkpoint(tmp / "base")
    write_jsonl(tmp / "train.jsonl", make_records(30))
    lora.main(lora_args(tmp))
    return tmp


def test_lora_trains_only_the_adapter(trained):
    log = json.loads((trained / "run" / "log.json").read_text())
    assert log["info"]["steps_done"] == 4 and log["info"]["config"]["packing"]  # packing isolates on Llama
    state = torch.load(trained / "run" / "checkpoint" / "state.pt", weights_only=True)
    assert state["params"] and all("lora_" in name for name in state["params"])
    assert (trained / "run" / "adapter" / "adapter_model.safetensors").exists()


def test_merge_gives_the_same_logits_as_base_plus_adapter(trained):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merge.main(["--base", str(trained / "base"), "--adapter", str(trained / "run" / "adapter"),
                "--out", str(trained / "merged")])
    ids = torch.tensor([[1, 5, 9, 200, 17, 3, 42, 8]])
    base = AutoModelForCausalLM.from_pretrained(trained / "base").eval()
    with torch.no_grad():
        plain = base(ids).logits
        adapted = PeftModel.from_pretrained(base, trained / "run" / "adapter").eval()(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(trained / "merged").eval()(ids).logits
    assert (adapted - plain).abs().max() > 1e-3, "the adapter should have learned something"
    torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=1e-4)  # W + BA vs Wx + B(Ax): rounding only
    assert (trained / "merged" / "tokenizer_config.json").exists()
    assert not (trained / "merged" / "adapter_config.json").exists()


def test_packing_probe_detects_leaky_attention(trained):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(trained / "base")
    assert packing_isolates(model)
    real_forward = model.forward
    # A model that ignores position_ids (as remote-code models that build their own causal mask do).
    model.forward = lambda input_ids, position_ids=None, **kw: real_forward(input_ids=input_ids, **kw)
    assert not packing_isolates(model)


def test_qlora_without_cuda_is_a_clear_error(trained):
    if torch.cuda.is_available():
        pytest.skip("has CUDA")
    with pytest.raises(SystemExit, match="QLoRA needs a CUDA GPU"):
        lora.main(lora_args(trained, qlora="true", out_dir=trained / "q"))


def test_merge_reports_missing_inputs(tmp_path):
    with pytest.raises(SystemExit, match="has no adapter_config.json"):
        merge.main(["--base", str(build_tiny_checkpoint(tmp_path / "b")), "--adapter", str(tmp_path / "nope"),
                    "--out", str(tmp_path / "m")])
