"""`puyu train merge --base B --adapter A --out M`: fold a LoRA adapter into its base, write a plain checkpoint.

The result loads with AutoModelForCausalLM (and LMDeploy, llama.cpp's converter) without peft. A QLoRA adapter
merges into the base loaded in full precision, as it was trained against the dequantised weights.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from puyu.core.dataclass_cli import parse

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class MergeConfig:
    """Merge a LoRA adapter into its base model and save a standalone Hugging Face checkpoint."""

    base: str = ""
    """Base model directory the adapter was trained on."""
    adapter: str = ""
    """Adapter directory written by `puyu train lora` (adapter_config.json, adapter_model.safetensors)."""
    out: str = ""
    """Output directory for the merged model and its tokenizer."""
    dtype: str = "auto"
    """Weights' dtype in the output: auto (the base's own), fp32, bf16 or fp16."""
    trust_remote_code: bool = False
    """Allow the base's own modeling code (InternLM2 needs it)."""

    def __post_init__(self):
        for name in ("base", "adapter", "out"):
            if not getattr(self, name):
                raise ValueError(f"--{name} is required")
        if self.dtype != "auto" and self.dtype not in DTYPES:
            raise ValueError(f"dtype must be auto or one of {', '.join(DTYPES)}")


def merge(cfg: MergeConfig) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for path, what in ((cfg.base, "config.json"), (cfg.adapter, "adapter_config.json")):
        if not Path(path, what).is_file():
            raise SystemExit(f"puyu train merge: {path} has no {what}")
    dtype = "auto" if cfg.dtype == "auto" else DTYPES[cfg.dtype]
    base = AutoModelForCausalLM.from_pretrained(cfg.base, dtype=dtype, trust_remote_code=cfg.trust_remote_code)
    merged = PeftModel.from_pretrained(base, cfg.adapter).merge_and_unload()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out, safe_serialization=True)
    # The adapter dir carries the tokenizer it was trained with; fall back to the base's.
    source = cfg.adapter if Path(cfg.adapter, "tokenizer_config.json").is_file() else cfg.base
    AutoTokenizer.from_pretrained(source, trust_remote_code=cfg.trust_remote_code).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    cfg = parse(MergeConfig, argv, prog="puyu train merge")
    out = merge(cfg)
    print(f"merged {cfg.adapter} into {cfg.base}: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
