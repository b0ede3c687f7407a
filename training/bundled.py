"""`puyu train bundled`: rebuild the bundled model from nothing, data to exported checkpoint, inside one time budget.

    puyu train bundled                 # data → tokenizer → puyu-tiny, 60 minutes on a 2-core CPU
    puyu train bundled --minutes 90 --export-dir runs/my-tiny

The three steps are the same commands a user can run one by one (README, "Train and evaluate"); this only chains
them and gives training whatever is left of the budget, so the whole retrain ends on time however fast the data
steps were on this machine.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from puyu.core.dataclass_cli import parse


@dataclass
class BundledConfig:
    """Retrain the bundled default model from scratch: agent data, tokenizer, then training."""

    minutes: float = 60.0
    """Budget for all three steps together; training gets what the data and tokenizer steps leave."""
    train_config: str = "training/configs/puyu-tiny.yaml"
    """Training config (its data/tokenizer paths are where the first two steps write)."""
    export_dir: str = "models/bundled/puyu-tiny"
    """Where the finished model goes."""
    n_train: int = 100000
    """Training conversations to generate (about 1.1 epochs fit in the hour with compact prompts and bf16)."""
    gsm8k_share: float = 0.05
    """Share of GSM8K trajectories: a 5M-parameter model solves few of them, and they are long."""
    prompt_style: str = "compact"
    """System prompts to train with (see agent/prompts/internlm2-compact.yaml); the exported model keeps them."""
    seed: int = 0
    margin_minutes: float = 1.0
    """Kept back at the end for writing files and leaving the process."""


def main(argv: list[str] | None = None) -> int:
    cfg = parse(BundledConfig, argv, prog="puyu train bundled")
    started = time.monotonic()
    from puyu.training import pretrain, tokenizer
    from puyu.training.data import build

    train_cfg = parse(pretrain.PretrainConfig, ["--config", cfg.train_config], prog="puyu train")
    data_dir = str(Path(train_cfg.data).parent)

    def step(name: str) -> None:
        print(f"[bundled] {name} ({(time.monotonic() - started) / 60:.1f} min elapsed)", file=sys.stderr, flush=True)

    step(f"1/3 agent data → {data_dir}")
    build.main(["--out", data_dir, "--n-train", str(cfg.n_train), "--seed", str(cfg.seed),
                "--gsm8k-share", str(cfg.gsm8k_share)])
    step(f"2/3 tokenizer → {train_cfg.tokenizer}")
    tokenizer.main(["--data", str(train_cfg.data), "--out", str(train_cfg.tokenizer),
                    "--prompt-style", cfg.prompt_style])
    left = cfg.minutes - cfg.margin_minutes - (time.monotonic() - started) / 60
    if left < 5:
        raise SystemExit(f"puyu train bundled: only {left:.1f} minutes left for training; raise --minutes")
    step(f"3/3 training for {left:.1f} min → {cfg.export_dir}")
    code = pretrain.main(["--config", cfg.train_config, "--max-minutes", f"{left:.2f}", "--export-dir", cfg.export_dir,
                          "--seed", str(cfg.seed), "--resume", "false"])  # from scratch, whatever out_dir holds
    step("done")
    return code


if __name__ == "__main__":
    sys.exit(main())
