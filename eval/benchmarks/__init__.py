"""The benchmarks `puyu eval --bench` knows, by name."""
from __future__ import annotations

from collections.abc import Callable

from puyu.eval.benchmarks.base import AgentBenchmark, Benchmark, GenerateBenchmark, Item, LoadOptions, Parity
from puyu.eval.benchmarks.cmmlu import CMMLU
from puyu.eval.benchmarks.gsm8k import Gsm8kAgent, Gsm8kCoT, Gsm8kFewShot
from puyu.eval.benchmarks.gsm8k_agents import Gsm8kInternLMInterpreter, Gsm8kOpenCompassAgent
from puyu.eval.benchmarks.teval_plan import TEvalPlan
from puyu.eval.benchmarks.teval_review import TEvalReview
from puyu.eval.benchmarks.tool_tasks import ToolTasks

BENCHMARKS: dict[str, Callable[..., Benchmark]] = {
    "tool-tasks": ToolTasks,
    "gsm8k-agent": Gsm8kAgent,
    "gsm8k-cot": Gsm8kCoT,
    "gsm8k-fewshot": Gsm8kFewShot,
    "gsm8k-opencompass-agent": Gsm8kOpenCompassAgent,
    "gsm8k-internlm-interpreter": Gsm8kInternLMInterpreter,
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


__all__ = ["BENCHMARKS", "AgentBenchmark", "Benchmark", "GenerateBenchmark", "Item", "LoadOptions", "Parity",
           "get"]
