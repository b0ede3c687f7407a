"""The record of a run: per-step train loss, periodic eval loss, throughput; written as JSON and a PNG curve.

It is part of the checkpoint, so a resumed run continues the same curve instead of starting a second one.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Metrics:
    train: list[dict] = field(default_factory=list)
    """One entry per optimizer step: step, loss, lr, tokens (real, non-pad, all processes), seconds."""
    eval: list[dict] = field(default_factory=list)
    """One entry per evaluation: step, loss over the held-out rows."""
    info: dict = field(default_factory=dict)
    """Run facts: config, parameter count, data statistics, why it ended."""

    def state(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> Metrics:
        return cls(**state)

    def tokens_per_second(self, last: int | None = None) -> float:
        entries = self.train[-last:] if last else self.train
        seconds = sum(e["seconds"] for e in entries)
        return sum(e["tokens"] for e in entries) / seconds if seconds else 0.0

    def write(self, out_dir: Path) -> None:
        out_dir = Path(out_dir)
        summary = {"tokens_per_second": round(self.tokens_per_second(), 1)}
        if self.eval:
            summary["final_eval_loss"] = self.eval[-1]["loss"]
        if self.info.get("averaged_eval_loss") is not None:
            summary["averaged_eval_loss"] = self.info["averaged_eval_loss"]
        (out_dir / "log.json").write_text(json.dumps({**self.state(), "summary": summary}, indent=1))
        self.plot(out_dir / "loss.png")

    def plot(self, path: Path) -> None:
        if not self.train:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        ax.plot([e["step"] for e in self.train], [e["loss"] for e in self.train], lw=0.8, alpha=0.8, label="train")
        if self.eval:
            ax.plot([e["step"] for e in self.eval], [e["loss"] for e in self.eval], "o-", label="eval (held out)")
        if self.info.get("averaged_eval_loss") is not None:
            ax.plot([self.train[-1]["step"]], [self.info["averaged_eval_loss"]], "*", ms=12,
                    label="eval, averaged weights (exported)")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss per assistant token")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
