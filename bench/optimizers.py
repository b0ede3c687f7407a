"""Muon against AdamW for the bundled model's recipe at one wall-clock budget: held-out loss over training time.

    python bench/optimizers.py --minutes 12 --out bench/results/optimizers.json

Each arm is a real `puyu train` run of training/configs/puyu-tiny.yaml on data/agent (built by `puyu train
bundled` or `puyu train data`) with only the optimizer changed. The budget fits each arm's schedule to the same
minutes, as the bundled run does, so the slower Muon step is paid for in fewer steps. The arms run one after the
other; on a shared machine run the script twice in opposite orders (`--arms muon,adamw`) if the hour is noisy.
A plot of eval loss against training seconds is written next to the JSON.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from puyu.core.dataclass_cli import parse


@dataclass
class BenchConfig:
    """Train puyu-tiny once per optimizer for the same minutes and compare held-out loss."""

    recipe: str = "training/configs/puyu-tiny.yaml"
    """The recipe; only optimizer, max_minutes, out_dir and export_dir are changed."""
    arms: str = "adamw,muon"
    """Optimizers, in the order they run."""
    minutes: float = 12.0
    """Budget per arm (data loading included, as in `puyu train`)."""
    runs: str = "runs/bench-optimizers"
    """Each arm trains in runs/<arm> under this folder."""
    reuse: bool = False
    """Read arms that already finished there instead of training them again (to redraw the plot)."""
    out: str = "bench/results/optimizers.json"
    """Results JSON; the plot is the same path with .png."""


def train(cfg: BenchConfig, arm: str, out_dir: Path) -> None:
    if cfg.reuse and (out_dir / "log.json").exists():
        return
    subprocess.run([sys.executable, "-m", "puyu", "train", "--config", cfg.recipe, "--optimizer", arm,
                    "--max-minutes", str(cfg.minutes), "--out-dir", str(out_dir), "--export-dir",
                    str(out_dir / "export"), "--save-every", "0", "--eval-every", "100", "--resume", "false"],
                   check=True)


def curve(log: dict) -> list[dict]:
    """Eval losses with the training seconds and tokens spent up to them (evals and saves not counted)."""
    elapsed, tokens, at = 0.0, 0, {}
    for entry in log["train"]:
        elapsed, tokens = elapsed + entry["seconds"], tokens + entry["tokens"]
        at[entry["step"]] = (elapsed, tokens)
    return [{"step": e["step"], "seconds": round(at[e["step"]][0], 1), "tokens": at[e["step"]][1],
             "loss": round(e["loss"], 4)} for e in log["eval"] if e["step"] in at]


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, r in results.items():
        points = [p for p in r["curve"] if p["step"] >= 200]  # the first evals (loss > 1) would flatten the rest
        ax.plot([p["seconds"] / 60 for p in points], [p["loss"] for p in points], marker="o",
                label=f"{arm}: {r['steps']} steps, {r['tokens_per_second']:,.0f} tok/s")
    ax.set_xlabel("training minutes")
    ax.set_ylabel("held-out loss")
    ax.set_title("puyu-tiny, same budget per optimizer")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict:
    cfg = parse(BenchConfig, argv, prog="bench/optimizers.py")
    results = {}
    for arm in cfg.arms.split(","):
        out_dir = Path(cfg.runs) / arm
        train(cfg, arm, out_dir)
        log = json.loads((out_dir / "log.json").read_text())
        averaged = log["summary"].get("averaged_eval_loss")  # absent when the recipe has no weight average
        results[arm] = {"steps": log["info"]["steps_done"], "tokens_per_second": log["summary"]["tokens_per_second"],
                        "final_eval_loss": round(log["summary"]["final_eval_loss"], 4),
                        "averaged_eval_loss": None if averaged is None else round(averaged, 4),
                        "curve": curve(log)}
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"bench": asdict(cfg), "results": results}, indent=2) + "\n")
    plot(results, out.with_suffix(".png"))
    for arm, r in results.items():
        print(f"{arm:6s} {r['steps']:5d} steps  {r['tokens_per_second']:7,.0f} tok/s  eval loss {r['final_eval_loss']}"
              f"  (averaged {r['averaged_eval_loss']})")
    return results


if __name__ == "__main__":
    main()
