"""`puyu train lora`: LoRA / QLoRA supervised fine-tuning of any Hugging Face causal LM on agent conversations.

    puyu train lora --config training/configs/lora-internlm2-1_8b.yaml
    puyu train lora --base models/bundled/puyu-tiny --data data/agent/train.jsonl --out-dir runs/lora

The loop, data, checkpoints and log are training/loop.py's; this file only makes the model (base + adapter,
4-bit for QLoRA) and saves the adapter. `puyu train merge` folds it into the base afterwards.
"""
from __future__ import annotations

import importlib.util
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from puyu.training.averaging import WeightAverage
from puyu.training.dataset import DataError, check_tokenizer
from puyu.training.loop import TrainArgs, fit, load_data, start

from puyu.core.dataclass_cli import parse


@dataclass
class LoraConfig(TrainArgs):
    """LoRA (or 4-bit QLoRA) fine-tuning of a Hugging Face causal LM; loss on assistant tokens only."""

    base: str = ""
    """Base model: a local Hugging Face checkpoint directory (nothing is downloaded)."""
    trust_remote_code: bool = False
    """Allow the base's own modeling code (InternLM2 needs it)."""
    qlora: bool = False
    """Load the base in 4-bit NF4 (bitsandbytes, CUDA only) and train the adapter on top."""
    r: int = 16
    """LoRA rank."""
    alpha: int = 32
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    dropout: float = 0.05
    """Dropout on the adapter's input."""
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    """Modules that get an adapter: names (q_proj,v_proj / wqkv,wo for InternLM2) or all-linear."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory for long rows on big models, ~30% slower."""
    adapter_dir: str = ""
    """Where the adapter goes (default: out_dir/adapter)."""
    lr: float = 2e-4
    """Peak learning rate (AdamW)."""
    max_len: int = 2048
    """Tokens per packed row; longer conversations are cut to it."""
    batch_size: int = 1
    """Rows per micro-batch per process."""
    grad_accum: int = 8
    """Micro-batches per optimizer step."""
    weight_decay: float = 0.0
    """AdamW decay (usually none for adapters)."""

    def __post_init__(self):
        super().__post_init__()
        if not self.base:
            raise ValueError("set --base to a local Hugging Face model directory")
        if self.r < 1 or self.alpha < 1:
            raise ValueError("r and alpha must be at least 1")


def _dtype(cfg: LoraConfig, device: torch.device) -> torch.dtype:
    if cfg.precision == "fp32" or (cfg.precision == "auto" and device.type != "cuda"):
        return torch.float32
    return torch.bfloat16


def check_inputs(cfg: LoraConfig, device: torch.device) -> None:
    """Fail in a second, with a reason, rather than after loading a large model."""
    if not Path(cfg.base, "config.json").is_file():
        raise DataError(f"{cfg.base}: not a Hugging Face model directory (no config.json)")
    if cfg.qlora and device.type != "cuda":
        raise DataError("QLoRA needs a CUDA GPU (bitsandbytes 4-bit); on CPU use plain LoRA (--qlora false)")
    if cfg.qlora and importlib.util.find_spec("bitsandbytes") is None:
        raise DataError("QLoRA needs bitsandbytes: pip install bitsandbytes (or use --qlora false)")


def load_base(cfg: LoraConfig, device: torch.device):
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    kwargs = {"trust_remote_code": cfg.trust_remote_code, "dtype": _dtype(cfg, device)}
    if cfg.qlora:
        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute)
        kwargs["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(cfg.base, **kwargs)
    model.config.use_cache = False
    return model if cfg.qlora else model.to(device)


def add_adapter(cfg: LoraConfig, model):
    import peft

    if cfg.qlora:
        model = peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    elif cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    target = cfg.target_modules[0] if cfg.target_modules == ["all-linear"] else cfg.target_modules
    lora = peft.LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=target,
                           task_type="CAUSAL_LM")
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)  # the same adapter init every time, so a resumed run rebuilds the same model
        return peft.get_peft_model(model, lora)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    cfg = parse(LoraConfig, argv, prog="puyu train lora")
    dist = start(cfg)
    try:
        from transformers import AutoTokenizer

        check_inputs(cfg, dist.device)
        tokenizer = AutoTokenizer.from_pretrained(cfg.base, trust_remote_code=cfg.trust_remote_code)
        try:
            check_tokenizer(tokenizer, cfg.base)
        except DataError as e:
            print(f"warning: {e}; the model will learn them as ordinary text", file=sys.stderr)
        pad_id = next(i for i in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if i is not None)
        model = add_adapter(cfg, load_base(cfg, dist.device))
        data = load_data(cfg, tokenizer, model, dist)
        if dist.main:
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            print(f"{cfg.base}: {trainable / 1e6:.2f}M trainable parameters ({'QLoRA' if cfg.qlora else 'LoRA'} "
                  f"r={cfg.r}); {len(data.train)} rows; {dist.world} process(es) on {dist.device}", file=sys.stderr)
        average = WeightAverage.of(model, cfg.ema_decay)  # over the adapter's weights, the only trainable ones
        metrics = fit(cfg, model, data, dist, pad_id, started, average)
        if dist.main:
            if average:
                average.copy_to_model()
            adapter_dir = Path(cfg.adapter_dir or Path(cfg.out_dir) / "adapter")
            model.save_pretrained(adapter_dir)
            tokenizer.save_pretrained(adapter_dir)
            metrics.info.update(adapter_dir=str(adapter_dir), minutes=round((time.monotonic() - started) / 60, 2))
            metrics.write(Path(cfg.out_dir))
            print(f"done: {metrics.info['steps_done']} steps ({metrics.info['stop']}); adapter in {adapter_dir}; "
                  f"merge with: puyu train merge --base {cfg.base} --adapter {adapter_dir} --out <dir>",
                  file=sys.stderr)
    except DataError as e:
        raise SystemExit(f"puyu train lora: {e}") from None
    finally:
        dist.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
