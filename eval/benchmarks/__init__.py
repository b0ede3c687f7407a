"""The benchmarks `puyu eval --bench` knows, by name."""
from __future__ import annotations

from collections.abc import Callable

from puyu.eval.benchmarks.base import AgentBenchmark, Benchmark, GenerateBenchmark, Item, LoadOptions
from puyu.eval.benchmarks.cmmlu import CMMLU
from puyu.eval.benchmarks.gsm8k import Gsm8kAgent, Gsm8kCoT
from puyu.eval.benchmarks.teval_plan import TEvalPlan
from puyu.eval.benchmarks.teval_review import TEvalReview
from puyu.eval.benchmarks.tool_tasks import ToolTasks

BENCHMARKS: dict[str, Callable[..., Benchmark]] = {
    "tool-tasks": ToolTasks,
    "gsm8k-agent": Gsm8kAgent,
    "gsm8k-cot": Gsm8kCoT,
    "teval-plan": TEvalPlan,
    "teval-review": TEvalReview,
    "cmmlu": CMMLU,
}


def get(name: str, **options) -> Benchmark:
    """A benchmark by name; `options` reach the ones that take them (tool-tasks: path)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    if name == "tool-tasks":
        return ToolTasks(options.get("heldout"))
    return BENCHMARKS[name]()


__all__ = ["BENCHMARKS", "AgentBenchmark", "Benchmark", "GenerateBenchmark", "Item", "LoadOptions", "get"]
