"""Training throughput with sequence packing vs one conversation per row padded to the batch's longest, and
(`--bf16`) packed rows under bf16 autocast vs fp32, and (`--attention math,eager`) packed bf16 rows with other
attention kernels than sdpa's default (on CPU, its flash kernel).

    python bench/packing.py --data data/agent/train.jsonl --tokenizer data/tokenizer --model puyu-tiny \
        --steps 15 --out runs/bench/packing.json

Same conversations, same model, same process: each mode runs real optimizer steps (forward, backward, AdamW)
with the training loop's own loss, and counts only real (non-pad) tokens; steps alternate between the modes so
that other load on the machine hits both alike (tokens per CPU-second is printed too, as a check). Both modes see the same number of
conversations per step: the unpadded batch holds as many as `batch_size` packed rows do on average.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from puyu.core.dataclass_cli import parse

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as training/__init__.py does, before torch loads OpenMP


@dataclass
class BenchConfig:
    """Measure training tokens/s with and without packing."""

    data: str = "data/agent/train.jsonl"
    """JSONL training records."""
    tokenizer: str = "data/tokenizer"
    """Tokenizer directory."""
    model: str = "puyu-tiny"
    """Model preset."""
    records: int = 2000
    """Records to read from the start of `data`."""
    max_len: int = 1024
    """Packed row length."""
    batch_size: int = 8
    """Packed rows per step."""
    steps: int = 15
    """Timed optimizer steps per mode."""
    warmup: int = 2
    """Untimed steps first (allocator and thread pools settle)."""
    threads: int = 2
    """torch CPU threads."""
    seed: int = 0
    """Row order and weights."""
    bf16: bool = False
    """Also time packed rows under CPU bf16 autocast (what `precision: auto` picks on CPUs with native bf16)."""
    attention: list[str] = field(default_factory=list)
    """Also time packed bf16 rows with these attention kernels: math (sdpa's reference kernel), eager."""
    out: str = ""
    """Write the results as JSON here too."""


class Mode:
    """One way of batching, with its own model and optimizer, timed a step at a time."""

    def __init__(self, name: str, rows: list, batch: int, cfg: BenchConfig, model, pad_id: int,
                 bf16: bool = False, attention: str = ""):
        import torch
        from torch.nn.attention import SDPBackend, sdpa_kernel

        from puyu.training import dataset
        from puyu.training.loop import TokenLoss

        self.name, self.rows, self.batch, self.pad_id, self.bf16 = name, rows, batch, pad_id, bf16
        if attention == "eager":
            model.config._attn_implementation = "eager"
        self.kernel = (lambda: sdpa_kernel(SDPBackend.MATH)) if attention == "math" else nullcontext
        self.loss_fn = TokenLoss(model)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        self.order = dataset.RowOrder(len(rows), cfg.seed)
        self.real = self.slots = self.steps = 0
        self.wall = self.cpu = 0.0

    def step(self, n: int, timed: bool) -> None:
        import torch

        from puyu.training import dataset

        picked = [self.rows[i] for i in self.order.take(n * self.batch, self.batch)]
        tensors = dataset.collate(picked, self.pad_id)
        wall, cpu = time.perf_counter(), time.process_time()
        with self.kernel(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss = self.loss_fn(**tensors) / (tensors["targets"] != dataset.IGNORE).sum()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if timed:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu
            self.real += sum(len(r) for r in picked)
            self.slots += tensors["input_ids"].numel()
            self.steps += 1

    def result(self) -> dict:
        return {"rows_per_step": self.batch, "real_tokens_per_s": round(self.real / self.wall, 1),
                "real_tokens_per_cpu_s": round(self.real / self.cpu, 1), "padding": round(1 - self.real / self.slots, 4),
                "ms_per_step": round(1000 * self.wall / self.steps, 1), "real_tokens": self.real}


def new_model(cfg: BenchConfig, shape, tokenizer, eos_id: int, pad_id: int):
    from puyu.training import model as models

    return models.build(shape, len(tokenizer), tokenizer.bos_token_id, eos_id, pad_id, seed=cfg.seed).train()


def main(argv: list[str] | None = None) -> dict:
    cfg = parse(BenchConfig, argv, prog="bench/packing.py")
    import torch

    from puyu.training import dataset
    from puyu.training import model as models
    from puyu.training.pretrain import load_tokenizer

    torch.set_num_threads(cfg.threads)
    tokenizer = load_tokenizer(cfg.tokenizer)
    eos_id = dataset.check_tokenizer(tokenizer, cfg.tokenizer)["<|im_end|>"]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    examples, _ = dataset.encode(dataset.read_records(cfg.data)[:cfg.records], tokenizer, cfg.max_len, cfg.data)
    packed_rows = dataset.pack(examples, cfg.max_len)
    per_row = len(examples) / len(packed_rows)
    shape = models.shape(cfg.model, {"context": max(cfg.max_len, models.PRESETS[cfg.model].context)})
    modes = [Mode("packed", packed_rows, cfg.batch_size, cfg, new_model(cfg, shape, tokenizer, eos_id, pad_id), pad_id),
             Mode("padded", dataset.unpacked(examples), max(1, round(per_row * cfg.batch_size)), cfg,
                  new_model(cfg, shape, tokenizer, eos_id, pad_id), pad_id)]
    if cfg.bf16:
        modes.append(Mode("bf16", packed_rows, cfg.batch_size, cfg, new_model(cfg, shape, tokenizer, eos_id, pad_id),
                          pad_id, bf16=True))
    for kernel in cfg.attention:
        if kernel not in ("math", "eager"):
            raise SystemExit(f"bench/packing.py: --attention takes math and/or eager, not {kernel!r}")
        modes.append(Mode(f"bf16-{kernel}", packed_rows, cfg.batch_size, cfg,
                          new_model(cfg, shape, tokenizer, eos_id, pad_id), pad_id, bf16=True, attention=kernel))
    # Steps alternate between the modes, so a busy machine slows both alike.
    for n in range(cfg.warmup + cfg.steps):
        for mode in modes:
            mode.step(n, timed=n >= cfg.warmup)
    results = {mode.name: mode.result() for mode in modes}
    speedup = results["packed"]["real_tokens_per_s"] / results["padded"]["real_tokens_per_s"]
    report = {"config": asdict(cfg), "conversations": len(examples), "conversations_per_packed_row": round(per_row, 2),
              "mean_conversation_tokens": round(sum(map(len, examples)) / len(examples), 1),
              "parameters": models.count_parameters(modes[0].loss_fn.model), "results": results, "speedup": round(speedup, 2)}
    print(f"{cfg.model} ({report['parameters'] / 1e6:.2f}M params), {len(examples)} conversations "
          f"(mean {report['mean_conversation_tokens']:.0f} tokens, {per_row:.1f} per packed row), "
          f"{cfg.threads} threads, {cfg.steps} timed steps each")
    print(f"{'mode':<11}{'rows/step':>10}{'real tok/s':>12}{'tok/cpu-s':>11}{'padding':>9}{'ms/step':>9}")
    for mode, r in results.items():
        print(f"{mode:<11}{r['rows_per_step']:>10}{r['real_tokens_per_s']:>12,.0f}{r['real_tokens_per_cpu_s']:>11,.0f}"
              f"{r['padding']:>9.1%}{r['ms_per_step']:>9,.0f}")
    print(f"packing speed-up: {speedup:.2f}x")
    if cfg.bf16:
        report["bf16_speedup"] = round(results["bf16"]["real_tokens_per_s"] / results["packed"]["real_tokens_per_s"], 2)
        print(f"bf16 autocast vs fp32, both packed: {report['bf16_speedup']:.2f}x")
    if cfg.out:
        Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.out).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
