"""The training loop both workflows share: pretraining from scratch (pretrain.py) and LoRA SFT (lora.py).

They differ only in how the model is made and what is written at the end; data, loss, optimizer, schedule,
gradient accumulation, DDP, eval, checkpoints, the time budget and the log are all here, once.
"""
from __future__ import annotations

import contextlib
import functools
import math
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from puyu.training import checkpoint, dataset, optimizers
from puyu.training.averaging import WeightAverage
from puyu.training.dataset import IGNORE, EncodeStats, Row
from puyu.training.distributed import Dist, setup
from puyu.training.metrics import Metrics
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from puyu.core.card import read_style


@dataclass
class TrainArgs:
    """Options every training workflow has."""

    data: str = "data/agent/train.jsonl"
    """JSONL training records (format: training/dataset.py)."""
    eval_data: str = ""
    """JSONL held-out records; empty = hold out `eval_size` records of `data` (a seeded random slice)."""
    eval_size: int = 200
    """Records held out of `data` for the eval loss when `eval_data` is empty (at most a tenth of them)."""
    out_dir: str = "runs/puyu"
    """Run directory: checkpoint/, log.json, loss.png."""
    max_len: int = 1024
    """Tokens per packed row; longer conversations are cut to it."""
    packing: bool = True
    """Pack several conversations per row (attention stays within each); false = one per row, padded."""
    batch_size: int = 8
    """Rows per micro-batch per process."""
    grad_accum: int = 1
    """Micro-batches per optimizer step; rows per step = batch_size x grad_accum x processes."""
    max_steps: int = 1000
    """Optimizer steps; the learning-rate schedule spans them. 0 with max_minutes: as many as fit the budget
    (measured over the warm-up steps)."""
    epochs: float = 0.0
    """If > 0, set max_steps from it instead (passes over the training rows)."""
    stop_step: int = 0
    """If > 0, end this run at this step with a checkpoint, schedule unchanged (resume later)."""
    max_minutes: float = 0.0
    """Wall-clock budget for the whole command; training stops early enough to eval, save and export in it."""
    optimizer: str = "adamw"
    """adamw, or muon: Muon for the hidden weight matrices, AdamW for the rest (training/optimizers.py)."""
    lr: float = 1e-3
    """Peak learning rate (both optimizers: Muon's step is scaled to AdamW's)."""
    min_lr_ratio: float = 0.1
    """The cosine decays to lr x this."""
    warmup_steps: int = 50
    """Linear warm-up from 0 to lr."""
    weight_decay: float = 0.1
    """Decoupled weight decay on matrices (not on norms and biases)."""
    beta2: float = 0.95
    """AdamW second-moment decay."""
    grad_clip: float = 1.0
    """Clip the gradient norm to this (0 = off)."""
    ema_decay: float = 0.0
    """If > 0, keep an exponential moving average of the weights with this decay and export it instead of the
    last step's weights (training/averaging.py); 0.998 averages over about the last 500 steps."""
    log_every: int = 10
    """Steps between progress-bar loss updates."""
    eval_every: int = 100
    """Steps between held-out evaluations (0 = only at the end)."""
    save_every: int = 100
    """Steps between checkpoints (0 = only at the end)."""
    seed: int = 0
    """Seeds weights, held-out split and data order."""
    threads: int = 2
    """CPU threads per process for torch (0 = torch's default)."""
    device: str = "auto"
    """auto (CUDA if present), cpu or cuda."""
    precision: str = "auto"
    """auto (bf16 autocast on CUDA and on CPUs with native bf16 instructions, else fp32), bf16 or fp32."""
    resume: bool = True
    """Continue from out_dir/checkpoint if there is one."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self):
        for name in ("max_len", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_steps < 1 and self.epochs <= 0 and self.max_minutes <= 0:
            raise ValueError("set max_steps >= 1, epochs > 0 or max_minutes > 0")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError("precision must be auto, bf16 or fp32")
        if self.optimizer not in optimizers.KINDS:
            raise ValueError(f"optimizer must be one of {', '.join(optimizers.KINDS)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError("device must be auto, cpu or cuda")


@dataclass
class Data:
    train: list[Row]
    eval: list[Row]
    stats: EncodeStats


def start(args: TrainArgs) -> Dist:
    """Process setup before anything random happens: threads, seeds, process group, run directory."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    dist = setup(args.device)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    return dist


@torch.no_grad()
def packing_isolates(model) -> bool:
    """Whether this model keeps packed conversations apart when positions restart (native transformers models
    do; remote-code ones like InternLM2's build their own mask and do not). Checked on two random sequences."""
    device, vocab = next(model.parameters()).device, model.get_input_embeddings().num_embeddings
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randint(vocab, (1, 12), generator=gen), torch.randint(vocab, (1, 12), generator=gen)
    positions = torch.arange(12).repeat(1, 2)
    was_training = model.training
    model.eval()
    packed = model(input_ids=torch.cat([a, b], 1).to(device), position_ids=positions.to(device),
                   use_cache=False).logits[0, 12:]
    alone = model(input_ids=b.to(device), use_cache=False).logits[0]
    model.train(was_training)
    scale = alone.abs().max().clamp(min=1.0)
    return bool(((packed.float() - alone.float()).abs().max() / scale) < 1e-2)


def load_data(args: TrainArgs, tokenizer, model: torch.nn.Module, dist: Dist) -> Data:
    """Read, split, tokenize and pack (if `model` keeps packed conversations apart; else one per row)."""
    if args.packing and not packing_isolates(model):
        if dist.main:
            print("note: this model's attention crosses packed conversations (remote code, or an old transformers); "
                  "training one conversation per row instead", file=sys.stderr)
        args.packing = False
    records = dataset.read_records(args.data)
    if args.eval_data:
        held = dataset.read_records(args.eval_data)
    else:
        n_eval = min(args.eval_size, len(records) // 10)
        order = torch.randperm(len(records), generator=torch.Generator().manual_seed(args.seed)).tolist()
        held = [records[i] for i in order[:n_eval]]
        records = [records[i] for i in sorted(order[n_eval:])]
    style = read_style(getattr(tokenizer, "name_or_path", None))  # the prompts the tokenizer was trained with
    train, stats = dataset.encode(records, tokenizer, args.max_len, args.data, style)
    held_out, _ = dataset.encode(held, tokenizer, args.max_len, args.eval_data or args.data, style)
    rows = dataset.pack if args.packing else lambda ex, _: dataset.unpacked(ex)
    return Data(rows(train, args.max_len), rows(held_out, args.max_len), stats)


class TokenLoss(torch.nn.Module):
    """Summed cross-entropy over the target tokens of a batch (the caller divides by the global count).

    For architectures whose logits are exactly `lm_head(hidden)`, the head runs only at positions with a target:
    with a small model most of the compute is the vocab projection, and most tokens (prompts, tool output)
    have no target. Other models (softcapped or scaled logits) take the full forward.
    """

    PLAIN_HEAD: ClassVar[frozenset[str]] = frozenset({"llama", "mistral", "qwen2", "qwen3", "internlm2", "internlm3"})
    BUCKET: ClassVar[int] = 256
    """The head runs on a multiple of this many positions (the extra ones have no target): CPU bf16 kernels are
    built and kept per shape, and a new count of target positions every step grew a run to 9.3 GB."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.plain_head = getattr(model.config, "model_type", "") in self.PLAIN_HEAD

    def forward(self, input_ids, position_ids, targets):
        if not self.plain_head:
            keep = targets != IGNORE
            logits = self.model(input_ids=input_ids, position_ids=position_ids, use_cache=False).logits[keep]
            return F.cross_entropy(logits.float(), targets[keep], reduction="sum")
        hidden = self.model.get_decoder()(input_ids=input_ids, position_ids=position_ids, use_cache=False)[0]
        at = (targets != IGNORE).flatten().nonzero().squeeze(1)
        extra = -len(at) % self.BUCKET
        wanted = torch.cat([targets.flatten()[at], targets.new_full((extra,), IGNORE)])
        at = torch.cat([at, at.new_zeros(extra)])
        logits = self.model.get_output_embeddings()(hidden.flatten(0, 1)[at])
        return F.cross_entropy(logits.float(), wanted, reduction="sum", ignore_index=IGNORE)


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX): there bf16 autocast trained puyu-tiny 1.77x
    faster than fp32 with the same loss; without them bf16 is emulated and slower. Linux reports it in cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def use_bf16(args: TrainArgs, dist: Dist) -> bool:
    if args.precision != "auto":
        return args.precision == "bf16"
    return dist.device.type == "cuda" or cpu_has_bf16()


def _autocast(args: TrainArgs, dist: Dist):
    bf16 = use_bf16(args, dist)
    if bf16 and dist.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(loss_fn: TokenLoss, rows: list[Row], args: TrainArgs, dist: Dist, pad_id: int) -> float | None:
    """Mean loss per target token over the held-out rows (each process takes every world-th row)."""
    if not rows:
        return None
    loss_fn.eval()
    mine = rows[dist.rank::dist.world]
    total = count = 0.0
    for i in range(0, len(mine), args.batch_size):
        batch = {k: v.to(dist.device) for k, v in dataset.collate(mine[i:i + args.batch_size], pad_id).items()}
        with _autocast(args, dist):
            total += loss_fn(**batch).item()
        count += (batch["targets"] != IGNORE).sum().item()
    loss_fn.train()
    total, count = dist.sum(total), dist.sum(count)
    return total / count if count else None


class Schedule:
    """Linear warm-up, then cosine decay to lr x min_ratio at step `total`; a factor for LambdaLR.

    `total` may stay None through warm-up and be fixed afterwards, once the step time is known (time budget)."""

    def __init__(self, warmup: int, total: int | None, min_ratio: float):
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        if self.total is None:
            return 1.0
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _final_evals(args: TrainArgs) -> int:
    """Held-out evaluations at the end of a run: the last step's weights, and the averaged ones if kept."""
    return 2 if args.ema_decay > 0 else 1


def _steps_that_fit(args: TrainArgs, data: Data, dist: Dist, step: int, seconds_per_step: float,
                    seconds_left: float, margin: float) -> int:
    """How many steps in all fit the time left, counting periodic and final evals (~half a step's time per
    step's worth of held-out rows) and `margin` seconds for the final save and export."""
    rows_per_step = args.batch_size * args.grad_accum * dist.world
    eval_s = seconds_per_step * len(data.eval) / rows_per_step / 2
    per_step = seconds_per_step + (eval_s / args.eval_every if args.eval_every else 0.0)
    more = int(0.97 * (seconds_left - _final_evals(args) * eval_s - margin) / per_step)
    return step + max(1, more)


def _micro_batches(args: TrainArgs, data: Data, order: dataset.RowOrder, dist: Dist, step: int) -> list[list[Row]]:
    """This process's rows for one optimizer step: its disjoint slice of the step's global batch."""
    first = (step * args.grad_accum * dist.world + dist.rank) * args.batch_size
    return [[data.train[i] for i in order.take(first + m * dist.world * args.batch_size, args.batch_size)]
            for m in range(args.grad_accum)]


def fit(args: TrainArgs, model: torch.nn.Module, data: Data, dist: Dist, pad_id: int, started: float,
        average: WeightAverage | None = None) -> Metrics:
    """Train `model`'s trainable parameters; returns the metrics. `started` is time.monotonic() at launch.

    `average` (WeightAverage.of(model, args.ema_decay)) is updated every step and kept in checkpoints; the model
    still holds the last step's weights on return, for the caller to export one or both."""
    out = Path(args.out_dir)
    model.to(dist.device).train()
    rows_per_step = args.batch_size * args.grad_accum * dist.world
    max_steps = (math.ceil(args.epochs * len(data.train) / rows_per_step) if args.epochs > 0
                 else args.max_steps or None)  # None: sized to the time budget after warm-up
    optimizer = optimizers.build(args.optimizer, model, args.lr, args.weight_decay, args.beta2)
    schedule = Schedule(args.warmup_steps, max_steps, args.min_lr_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    step, metrics = 0, Metrics()
    resumed = (checkpoint.load(out / "checkpoint", model, optimizer, scheduler, dist, average) if args.resume
               else None)
    if resumed:
        step, metrics = resumed
        schedule.total = schedule.total or metrics.info.get("max_steps")
    metrics.info.update(config=asdict(args), max_steps=schedule.total, world=dist.world, rows=len(data.train),
                        eval_rows=len(data.eval), data=asdict(data.stats),
                        trainable_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
                        fill=round(sum(len(r) for r in data.train) / (len(data.train) * args.max_len), 4)
                        if args.packing and data.train else None)
    loss_fn = TokenLoss(model)
    runner = DistributedDataParallel(loss_fn) if dist.active else loss_fn
    order = dataset.RowOrder(len(data.train), args.seed)
    deadline = started + args.max_minutes * 60 if args.max_minutes > 0 else math.inf
    margin = min(10.0, 3.0 * args.max_minutes)  # seconds kept for the final save and export
    # The budget must leave room for one more step and the final eval + save (+ export, about a save).
    took = {"step": 0.0, "eval": 0.0, "save": 0.0}
    bar = tqdm(total=schedule.total, initial=step, disable=not (args.progress and dist.main), unit="step",
               dynamic_ncols=True)
    first_step, stop_reason = step, None
    sized_by_time = args.epochs <= 0 and args.max_steps == 0

    def last_step() -> float:
        total = schedule.total or math.inf
        return min(total, args.stop_step) if args.stop_step > 0 else total

    def run_eval(step: int) -> None:
        if metrics.eval and metrics.eval[-1]["step"] == step:
            return  # resumed at the end of a finished run
        t = time.monotonic()
        loss = evaluate(loss_fn, data.eval, args, dist, pad_id)
        if loss is not None:
            metrics.eval.append({"step": step, "loss": loss})
            if dist.main:
                bar.write(f"step {step}: eval loss {loss:.4f}")
        took["eval"] = time.monotonic() - t

    def save(step: int) -> None:
        t = time.monotonic()
        checkpoint.save(out / "checkpoint", step, model, optimizer, scheduler, metrics, dist, average)
        if dist.main:
            metrics.write(out)
        took["save"] = time.monotonic() - t

    final_evals = _final_evals(args)
    while step < last_step():
        if dist.any(time.monotonic() + took["step"] + final_evals * took["eval"] + 2 * took["save"] + margin
                    >= deadline):
            stop_reason = "max_minutes"
            break
        t0 = time.monotonic()
        micro = _micro_batches(args, data, order, dist, step)
        batches = [dataset.collate(rows, pad_id) for rows in micro]
        n_targets = dist.sum(float(sum((b["targets"] != IGNORE).sum().item() for b in batches)))
        loss_sum = 0.0
        for m, batch in enumerate(batches):
            batch = {k: v.to(dist.device) for k, v in batch.items()}
            sync = m == len(batches) - 1 or not dist.active
            with (contextlib.nullcontext() if sync else runner.no_sync()), _autocast(args, dist):
                loss = runner(**batch)
                # DDP averages gradients over processes, hence x world: the step's loss is sum / global count.
                (loss * dist.world / n_targets).backward()
            loss_sum += loss.item()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], args.grad_clip)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if average:
            average.update()
        step += 1
        tokens = dist.sum(float(sum(len(row) for rows in micro for row in rows)))
        entry = {"step": step, "loss": dist.sum(loss_sum) / n_targets, "lr": lr, "tokens": int(tokens),
                 "seconds": time.monotonic() - t0}
        metrics.train.append(entry)
        took["step"] = entry["seconds"]
        bar.update(1)
        if sized_by_time and step >= max(1, args.warmup_steps) and (
                schedule.total is None or step % args.log_every == 0):
            # Fit the schedule's length to the time left, from the mean time of the last 100 steps (warm-up at
            # first), and refit it as a shared machine gets busier or quieter, so the decay ends on time. Shrinking
            # only would ratchet down on every passing slowdown (a 28-minute run used only 22).
            recent = metrics.train[-min(100, step - first_step):]
            per_step = sum(e["seconds"] for e in recent) / len(recent)
            now = time.monotonic()
            fits = int(dist.sum(_steps_that_fit(args, data, dist, step, per_step, deadline - now, margin)
                                if dist.main else 0))
            if schedule.total is None or abs(fits - schedule.total) > 0.02 * schedule.total:
                schedule.total = metrics.info["max_steps"] = bar.total = fits
        if step % args.log_every == 0 or step == last_step():
            bar.set_postfix(loss=f"{entry['loss']:.3f}", lr=f"{lr:.2e}",
                            tok_s=f"{metrics.tokens_per_second(args.log_every):,.0f}")
        if step < last_step() and args.eval_every and step % args.eval_every == 0:
            run_eval(step)
        if step < last_step() and args.save_every and step % args.save_every == 0:
            save(step)
    metrics.info.update(stop=stop_reason or ("stop_step" if step == args.stop_step else "max_steps"),
                        steps_done=step)
    run_eval(step)
    save(step)
    if average and data.eval:
        with average.applied():
            metrics.info["averaged_eval_loss"] = evaluate(loss_fn, data.eval, args, dist, pad_id)
        if dist.main:
            bar.write(f"step {step}: eval loss {metrics.info['averaged_eval_loss']:.4f} with the averaged weights")
    bar.close()
    return metrics
