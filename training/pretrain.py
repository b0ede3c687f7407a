"""`puyu train`: train puyu's own small Llama-architecture model from scratch on agent conversations.

    puyu train --config training/configs/puyu-tiny.yaml
    torchrun --nproc_per_node 2 -m puyu.training.pretrain --config ...      (DDP; gloo on CPU)

Ends with a standard Hugging Face checkpoint in `export_dir` that AutoModelForCausalLM, LMDeploy and llama.cpp's
converter load as they are. Read setup → fit → export in `main`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from puyu.training import checkpoint
from puyu.training import model as models
from puyu.training.averaging import WeightAverage
from puyu.training.dataset import DataError, check_tokenizer
from puyu.training.loop import TrainArgs, fit, load_data, start
from transformers import AutoTokenizer, GenerationConfig

from puyu.core.card import read_style, write_style
from puyu.core.dataclass_cli import parse
from puyu.core.protocols.internlm2 import IM_END


@dataclass
class PretrainConfig(TrainArgs):
    """Train puyu's own Llama-architecture model from scratch (loss on assistant tokens only)."""

    tokenizer: str = "data/tokenizer"
    """Tokenizer directory (with the InternLM2 special tokens and a chat_template)."""
    model: str = "puyu-tiny"
    """Model preset (training/model.py PRESETS)."""
    model_overrides: dict = field(default_factory=dict)
    """Preset fields to change, e.g. {num_layers: 6}."""
    export_dir: str = ""
    """Where the final Hugging Face checkpoint goes (default: out_dir/model)."""

    def __post_init__(self):
        super().__post_init__()
        shape = models.shape(self.model, self.model_overrides)  # raises on an unknown preset or field
        if self.max_len > shape.context:
            raise ValueError(f"max_len {self.max_len} is longer than the model's context {shape.context}")


def load_tokenizer(path: str):
    if not Path(path, "tokenizer_config.json").is_file() and not Path(path, "tokenizer.json").is_file():
        raise DataError(f"{path}: no tokenizer there (train one first, see training/tokenizer.py)")
    tokenizer = AutoTokenizer.from_pretrained(path)
    if not tokenizer.chat_template:
        raise DataError(f"{path}: the tokenizer has no chat_template; the exported model would not chat")
    return tokenizer


def save_model(model, tokenizer, cfg: PretrainConfig, directory: Path) -> None:
    checkpoint.export(model, tokenizer, directory)
    write_style(directory, read_style(cfg.tokenizer))  # the agent renders prompts as training did


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    cfg = parse(PretrainConfig, argv, prog="puyu train")
    dist = start(cfg)
    try:
        tokenizer = load_tokenizer(cfg.tokenizer)
        eos_id = check_tokenizer(tokenizer, cfg.tokenizer)[IM_END]
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
        model = models.build(models.shape(cfg.model, cfg.model_overrides), len(tokenizer),
                             tokenizer.bos_token_id, eos_id, pad_id, seed=cfg.seed)
        data = load_data(cfg, tokenizer, model, dist)
        model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=eos_id,
                                                   pad_token_id=pad_id)
        if dist.main:
            print(f"{cfg.model}: {models.count_parameters(model) / 1e6:.2f}M parameters, vocab {len(tokenizer)}; "
                  f"{len(data.train)} rows of <= {cfg.max_len} tokens ({data.stats.tokens:,} tokens, "
                  f"{data.stats.trained_tokens:,} trained, {data.stats.truncated} conversations cut to max_len); "
                  f"{len(data.eval)} held-out rows; "
                  f"{dist.world} process(es) on {dist.device}", file=sys.stderr)
        average = WeightAverage.of(model, cfg.ema_decay)
        metrics = fit(cfg, model, data, dist, pad_id, started, average)
        if dist.main:
            export_dir = Path(cfg.export_dir or Path(cfg.out_dir) / "model")
            if average:  # the last step's weights stay beside the exported average, to compare the two
                save_model(model, tokenizer, cfg, Path(cfg.out_dir) / "last-step")
                average.copy_to_model()
            save_model(model, tokenizer, cfg, export_dir)
            metrics.info.update(export_dir=str(export_dir), minutes=round((time.monotonic() - started) / 60, 2))
            metrics.write(Path(cfg.out_dir))
            last = metrics.eval[-1]["loss"] if metrics.eval else float("nan")
            averaged = (f" ({metrics.info['averaged_eval_loss']:.4f} averaged, exported)"
                        if metrics.info.get("averaged_eval_loss") is not None else "")
            print(f"done: {metrics.info['steps_done']} steps ({metrics.info['stop']}), eval loss {last:.4f}{averaged}, "
                  f"{metrics.tokens_per_second():,.0f} tokens/s; model in {export_dir}", file=sys.stderr)
    except DataError as e:
        raise SystemExit(f"puyu train: {e}") from None
    finally:
        dist.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
