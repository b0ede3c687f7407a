"""Problem families: each module's FAMILY maps a family name to its problem makers and their weights."""
from __future__ import annotations

from puyu.training.data.families import algebra, arithmetic, conversions, percent, stats

PROBLEMS: dict[str, list] = {}
for _module in (arithmetic, percent, conversions, algebra, stats):
    PROBLEMS.update(_module.FAMILY)
