"""What a run leaves in `runs/<name>/`: results.json, results.md (tables) and scores.png; and `compare`, which
puts several runs side by side (e.g. the base model and its LoRA-tuned version)."""
from __future__ import annotations

import json
from pathlib import Path

from puyu.eval.charts import plot_runs
from puyu.eval.data import DataMissing, shared_data
from puyu.eval.references import published

# Columns that are bookkeeping, not scores.
_META = ("n", "missing", "too_long", "seconds", "main_metric", "by_subject", "parity")


def empty_results() -> dict:
    return {"benchmarks": {}, "config": {}}


def load_results(run: Path) -> dict:
    path = Path(run) / "results.json"
    if not path.is_file():
        return empty_results()
    return json.loads(path.read_text("utf-8"))


def _refs(results: dict) -> dict:
    try:
        return published(shared_data(results.get("config", {}).get("data")))
    except DataMissing:
        return {}


def metrics_of(summary: dict) -> dict[str, float]:
    return {k: v for k, v in summary.items() if k not in _META and isinstance(v, (int, float))}


def _published(name: str, s: dict, refs: dict) -> str:
    parity = s.get("parity", {})
    if not parity.get("comparable"):
        return f"not comparable: {parity.get('published') or 'no published counterpart'}"
    marks = ", ".join(f"{label} {score:g}" for label, score in refs.get(name, []))
    return f"comparable: {marks or parity.get('published', '')}"


def markdown(results: dict, refs: dict | None = None) -> str:
    """The run as a page: the headline table (each benchmark's official-parity score, puyu's reading beside it,
    and whether published numbers are comparable), each benchmark's scorer and setting, every metric, subjects."""
    cfg = results.get("config", {})
    model = cfg.get("model", "?")
    model = model.get("name") or model.get("base_url") if isinstance(model, dict) else model
    benches = results.get("benchmarks", {})
    lines = [f"# Eval: {model}", "",
             (f"backend `{cfg.get('backend') or cfg.get('model', {}).get('backend', '?')}`, "
              f"protocol `{cfg.get('protocol') or cfg.get('agent', {}).get('protocol', '?')}`, "
              f"seed {cfg.get('seed', '?')}, limit {cfg.get('limit') or 'none'}"), "",
             ("**Headline** is the official scorer's number on these predictions (its rules, quirks included); "
              "**puyu's reading** scores the same predictions with puyu's own answer reader. Only a headline whose "
              "setting is the published one can stand beside published numbers."), "",
             "| benchmark | items | headline (official scorer) | puyu's reading | published numbers (same setting, same scorer) |",
             "|---|---|---|---|---|"]
    for name, s in benches.items():
        main, parity = s.get("main_metric", ""), s.get("parity", {})
        lenient = parity.get("lenient")
        reading = f"{lenient} {s[lenient]:.2f}" if lenient and lenient in s else "—"
        missing = f" ({s['missing']} missing)" if s.get("missing") else ""
        missing += f" ({s['too_long']} too long for the model)" if s.get("too_long") else ""
        lines.append(f"| {name} | {s.get('n', 0)}{missing} | {main} **{s.get(main, float('nan')):.2f}** | "
                     f"{reading} | {_published(name, s, refs or {})} |")
    lines += ["", "## Scorers and settings", ""]
    for name, s in benches.items():
        parity = s.get("parity", {})
        if parity:
            reading = f"; puyu's reading: {parity['lenient_reading']}" if parity.get("lenient_reading") else ""
            lines.append(f"- **{name}**: {parity.get('scorer', '?')}, in {parity.get('setting', '?')}{reading}.")
    lines += ["", "## All metrics", "", "| benchmark | metrics |", "|---|---|"]
    for name, s in benches.items():
        lines.append(f"| {name} | " + ", ".join(f"{k} {v:g}" for k, v in metrics_of(s).items()) + " |")
    for name, s in benches.items():
        groups = s.get("by_subject")
        if not groups:
            continue
        cols = list(dict.fromkeys(k for g in groups.values() for k in g if k != "n"))
        lines += ["", f"## {name} by subject", "", "| subject | n | " + " | ".join(cols) + " |",
                  "|---" * (len(cols) + 2) + "|"]
        for subject, g in groups.items():
            lines.append(f"| {subject or '-'} | {g['n']} | " + " | ".join(f"{g.get(c, float('nan')):.1f}"
                                                                          for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_run(out: Path, results: dict) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
    refs = _refs(results)
    (out / "results.md").write_text(markdown(results, refs), "utf-8")
    plot_runs({out.name: results}, refs, out / "scores.png", title=f"puyu eval: {out.name}")


# ---- comparing runs ---------------------------------------------------------------------------------------------

def compare(runs: list[Path], chart: Path | None = None) -> tuple[str, Path | None]:
    """A table of every metric the runs share, each run's value and the change from the first run; and a chart."""
    loaded = {}
    for run in runs:
        run = Path(run)
        if not (run / "results.json").is_file():
            raise FileNotFoundError(f"{run} has no results.json; is it a `puyu eval` run folder?")
        label = run.name if run.name not in loaded else str(run)
        loaded[label] = load_results(run)
    labels = list(loaded)
    header = "| benchmark | metric | " + " | ".join(labels) + "".join(f" | Δ {lb}" for lb in labels[1:]) + " |"
    lines = [header, "|---" * (2 + len(labels) + len(labels) - 1) + "|"]
    names = list(dict.fromkeys(b for r in loaded.values() for b in r["benchmarks"]))
    for name in names:
        metrics = list(dict.fromkeys(k for r in loaded.values() for k in metrics_of(r["benchmarks"].get(name, {}))))
        for metric in metrics:
            values = [loaded[lb]["benchmarks"].get(name, {}).get(metric) for lb in labels]
            cells = ["—" if v is None else f"{v:g}" for v in values]
            deltas = ["—" if v is None or values[0] is None else f"{v - values[0]:+.2f}" for v in values[1:]]
            lines.append(f"| {name} | {metric} | " + " | ".join(cells + deltas) + " |")
    chart = Path(chart) if chart else Path(runs[0]).parent / ("compare_" + "_vs_".join(labels) + ".png")
    drawn = plot_runs(loaded, _refs(next(iter(loaded.values()))), chart, title="puyu eval: " + " vs ".join(labels))
    return "\n".join(lines) + "\n", drawn
