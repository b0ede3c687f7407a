"""Charts of eval results: each benchmark's headline (official-scorer) score as a bar, several runs side by side,
puyu's own reading of the same predictions as a hollow diamond on each bar, and published scores as dashed marks,
only where the benchmark's setting and scorer are the published ones."""
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
    """One group of bars per benchmark (its headline metric), one bar per run, puyu's reading as a diamond; a
    published score is a short black line across the group, labelled, drawn only for a benchmark whose headline is
    comparable to it. Returns the file written, or None when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(b for r in runs.values() for b in r.get("benchmarks", {})))
    if not names:
        return None
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.6 * len(names) + 1.5), 5.0))
    readings = False
    for k, (label, results) in enumerate(runs.items()):
        xs, values, lenient_xs, lenient = [], [], [], []
        for i, b in enumerate(names):
            summary = results.get("benchmarks", {}).get(b)
            if summary and summary.get(summary.get("main_metric", "")) is not None:  # a run without it: no bar
                xs.append(i - 0.4 + width * (k + 0.5))
                values.append(summary[summary["main_metric"]])
                other = summary.get("parity", {}).get("lenient")
                if other and summary.get(other) is not None:
                    lenient_xs.append(xs[-1])
                    lenient.append(summary[other])
        bars = ax.bar(xs, values, width * 0.92, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        if lenient:
            ax.scatter(lenient_xs, lenient, marker="D", s=22, facecolors="none", edgecolors="black", linewidths=0.8,
                       zorder=3, label="puyu's reading" if not readings else None)
            readings = True
    comparable = {b: any(r.get("benchmarks", {}).get(b, {}).get("parity", {}).get("comparable", True)
                         for r in runs.values()) for b in names}
    for i, b in enumerate(names):
        marks = refs.get(b, []) if comparable[b] else []
        for (label, score), y in zip(marks, spread([s for _, s in marks], 3.2)):
            ax.hlines(score, i - 0.42, i + 0.42, colors="black", linewidth=1.0, linestyles="--")
            ax.text(i - 0.41, y + 0.6, f"{short_label(label)} {score:g}", fontsize=5.5, color="dimgray",
                    va="bottom", ha="left", clip_on=True)
    metrics = [next((r["benchmarks"][b].get("main_metric", "") for r in runs.values()
                     if b in r.get("benchmarks", {})), "") for b in names]
    ax.set_xticks(range(len(names)), [f"{b}\n({m})" + ("" if comparable[b] else "\nnot comparable")
                                      for b, m in zip(names, metrics)], fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("headline score (%), official scorer")
    drawn = any(refs.get(b) and comparable[b] for b in names)
    ax.set_title(title + ("   (dashed: published, same setting)" if drawn else ""), fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
