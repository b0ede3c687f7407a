"""Saving and restoring a run, and exporting a model as a standard Hugging Face checkpoint directory.

A checkpoint holds only what cannot be rebuilt: the trainable parameters (all of them for pretraining, just the
adapter for LoRA), optimizer and scheduler state, every process's RNG state, the step (which fixes the data
position, see dataset.RowOrder) and the metrics so far. It is written to a temporary file and renamed, so a run
killed mid-save still has the previous one.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import torch
from puyu.training.averaging import WeightAverage
from puyu.training.distributed import Dist
from puyu.training.metrics import Metrics

STATE_FILE = "state.pt"


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def rng_state() -> dict:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(directory: Path, step: int, model, optimizer, scheduler, metrics: Metrics, dist: Dist,
         average: WeightAverage | None = None) -> None:
    """Called on every process (each contributes its RNG state); the main one writes."""
    rngs = dist.gather(rng_state())
    if dist.main:
        directory.mkdir(parents=True, exist_ok=True)
        state = {"step": step, "params": trainable_state(model), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "rng": rngs, "metrics": metrics.state()}
        if average:
            state["average"] = average.state_dict()
        tmp = directory / (STATE_FILE + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, directory / STATE_FILE)
    dist.barrier()


def load(directory: Path, model, optimizer, scheduler, dist: Dist,
         average: WeightAverage | None = None) -> tuple[int, Metrics] | None:
    """Restore a run in place; None if there is no checkpoint. Returns (step, metrics)."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    expected = {n for n, p in model.named_parameters() if p.requires_grad}
    if set(state["params"]) != expected:
        missing, extra = sorted(expected - set(state["params"])), sorted(set(state["params"]) - expected)
        raise SystemExit(f"{path} does not match this model (missing {missing[:3]}, unexpected {extra[:3]}); "
                         "use another out_dir or --resume false")
    model.load_state_dict(state["params"], strict=False)
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, ValueError) as e:
        raise SystemExit(f"{path}: its optimizer state does not fit this run's optimizer ({e}); resume with the "
                         "optimizer it was written with, or use another out_dir") from None
    scheduler.load_state_dict(state["scheduler"])
    rngs = state["rng"]
    if len(rngs) != dist.world:
        raise SystemExit(f"{path} was written by {len(rngs)} process(es), this run has {dist.world}; "
                         "resume with the same number or start a new out_dir")
    set_rng_state(rngs[dist.rank])
    if average and "average" not in state:
        raise SystemExit(f"{path} was written without ema_decay, so it has no weight average to continue; "
                         "resume with --ema-decay 0 or start a new out_dir")
    if average:
        average.load_state_dict(state["average"])
    return state["step"], Metrics.from_state(state["metrics"])


def export(model, tokenizer, directory: Path) -> Path:
    """config.json, model.safetensors, generation_config.json and the tokenizer (with its chat_template)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory
