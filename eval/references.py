"""Published scores to draw beside ours, read from the shared data folder (never typed into the code), each only
beside the benchmark whose setting and scorer produced it:
- T-Eval's leaderboard (`teval/leaderboard_scores.csv`): its `plan` and `review` columns beside teval-plan and
  teval-review. Its `overall` averages six dimensions, of which puyu runs two, so it is never drawn;
- the GSM8K line of the data's `README.md`: plain scores (OpenCompass's 4-shot chain of thought) beside
  gsm8k-fewshot, "with a code interpreter" beside gsm8k-internlm-interpreter; settings puyu does not run (PAL) and
  the T-Eval overall line are left out."""
from __future__ import annotations

import csv
import re
from pathlib import Path

# Leaderboard rows drawn on charts: the strongest API models and a few open 7B models.
TEVAL_SHOWN = ("GPT-4-Turbo", "GPT-3.5-Turbo", "Qwen-7B", "InternLM-7B", "LLaMA2-7B")
_ENTRY = re.compile(r"^(?P<name>.+?)\s+(?P<score>\d+(?:\.\d+)?)\s*(?:\((?P<extra>[^)]*)\))?$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in parts + [cur] if p.strip()]


def readme_scores(text: str) -> dict[str, list[tuple[str, float]]]:
    """"- GSM8K: A 70.7, B 79.6 (84.5 with a code interpreter)" -> {"GSM8K": [("A", 70.7), ("B", 79.6),
    ("B with a code interpreter", 84.5)]}; a parenthesis without a score qualifies the name."""
    out: dict[str, list[tuple[str, float]]] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*-\s*([^:]+):\s*(.+)$", line)
        if not match:
            continue
        entries = []
        for part in _split_top(match.group(2).rstrip(".")):
            m = _ENTRY.match(part)
            if not m:
                continue
            name, extra = m.group("name"), m.group("extra")
            inner = re.match(r"^(\d+(?:\.\d+)?)\s+(.+)$", extra or "")
            entries.append((f"{name} ({extra})" if extra and not inner else name, float(m.group("score"))))
            if inner:
                entries.append((f"{name} {inner.group(2)}", float(inner.group(1))))
        if entries:
            out[match.group(1).strip()] = entries
    return out


def published(root: Path | None) -> dict[str, list[tuple[str, float]]]:
    """Benchmark name -> [(label, score)] of published results measured in its setting with its headline scorer."""
    refs: dict[str, list[tuple[str, float]]] = {}
    if root is None:
        return refs
    readme = Path(root) / "README.md"
    if readme.is_file():
        gsm = readme_scores(readme.read_text("utf-8")).get("GSM8K", [])
        refs["gsm8k-internlm-interpreter"] = [(n, s) for n, s in gsm if "code interpreter" in n]
        refs["gsm8k-fewshot"] = [(n, s) for n, s in gsm if " with " not in n]
    board = Path(root) / "teval" / "leaderboard_scores.csv"
    if board.is_file():
        with open(board, encoding="utf-8", newline="") as f:
            rows = [r for r in csv.DictReader(f, skipinitialspace=True)
                    if any(r["Model"].startswith(name) for name in TEVAL_SHOWN)]
        refs["teval-plan"] = [(r["Model"], float(r["plan"])) for r in rows]
        refs["teval-review"] = [(r["Model"], float(r["review"])) for r in rows]
    return {k: v for k, v in refs.items() if v}
