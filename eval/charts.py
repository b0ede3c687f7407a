"""Charts of eval results: each benchmark's main score, several runs side by side, published scores as marks."""
from __future__ import annotations

import re
from pathlib import Path


def short_label(label: str) -> str:
    """Published-score labels, shortened to fit beside a mark: no dates in parentheses, "with" as "+"."""
    return re.sub(r"\s+with\s+", " + ", re.sub(r"\s*\([^)]*\d{4}\)", "", label)).strip()


def spread(values: list[float], gap: float) -> list[float]:
    """Label heights moved apart by at least `gap`, each as close to its value as that allows."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [0.0] * len(values)
    last = float("-inf")
    for i in order:
        placed[i] = max(values[i], last + gap)
        last = placed[i]
    return placed


def plot_runs(runs: dict[str, dict], refs: dict[str, list[tuple[str, float]]], path: Path,
              title: str = "puyu eval") -> Path | None:
    """One group of bars per benchmark (its main metric), one bar per run; a published score is a short black
    line across the group, labelled. Returns the file written, or None when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(b for r in runs.values() for b in r.get("benchmarks", {})))
    if not names:
        return None
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.6 * len(names) + 1.5), 5.0))
    for k, (label, results) in enumerate(runs.items()):
        xs, values = [], []
        for i, b in enumerate(names):
            summary = results.get("benchmarks", {}).get(b)
            if summary and summary.get(summary.get("main_metric", "")) is not None:  # a run without it: no bar
                xs.append(i - 0.4 + width * (k + 0.5))
                values.append(summary[summary["main_metric"]])
        bars = ax.bar(xs, values, width * 0.92, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    for i, b in enumerate(names):
        marks = refs.get(b, [])
        for (label, score), y in zip(marks, spread([s for _, s in marks], 3.2)):
            ax.hlines(score, i - 0.42, i + 0.42, colors="black", linewidth=1.0, linestyles="--")
            ax.text(i - 0.41, y + 0.6, f"{short_label(label)} {score:g}", fontsize=5.5, color="dimgray",
                    va="bottom", ha="left", clip_on=True)
    metrics = [next((r["benchmarks"][b].get("main_metric", "") for r in runs.values()
                     if b in r.get("benchmarks", {})), "") for b in names]
    ax.set_xticks(range(len(names)), [f"{b}\n({m})" for b, m in zip(names, metrics)], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("score (%)")
    ax.set_title(title + ("   (dashed: published scores)" if any(b in refs for b in names) else ""), fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
