"""What a benchmark is: a loader, the prompts (or agent conversations) of its items, and a scorer.

Two kinds, because they run differently:
- `GenerateBenchmark`: each item is one or more chats completed in one go; the runner batches them straight
  into `model.generate` (CMMLU, T-Eval).
- `AgentBenchmark`: each item is a conversation run through the real agent loop and code interpreter
  (tool tasks, GSM8K); the runner runs many in threads.

Predictions are cached as plain JSON records (one per item), and scoring reads only those records, so a
finished run can be re-scored without the model.

Every benchmark says what its headline number can stand beside (`Parity`): the headline metric reproduces the
official scorer of its setting, and puyu's own, more lenient reading of the same predictions is a second column.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any, ClassVar

from puyu.core.messages import Message

Chat = list[dict]
"""A chat to complete: [{"role": "system"|"user"|"assistant", "content": ...}, ...]."""


@dataclass
class Item:
    id: str
    """Unique within the benchmark and stable across runs: the resume cache is keyed by it."""
    data: dict[str, Any]
    subject: str = ""
    """A group that results are also broken down by (CMMLU subject, tool-task category, T-Eval format)."""


@dataclass(frozen=True)
class Parity:
    """What a benchmark's headline metric reproduces, and whether a published number can stand beside it."""

    scorer: str
    """The official scorer whose rules the headline metric follows, on the same predictions."""
    setting: str
    """The prompts and protocol the items are asked in."""
    comparable: bool
    """Whether this setting and scorer are the ones published numbers were measured with: only then are published
    numbers drawn beside ours."""
    published: str = ""
    """Where comparable published numbers come from, or why there are none."""
    lenient: str | None = None
    """The metric that holds puyu's own reading of the same predictions."""
    lenient_reading: str = ""
    """What puyu's reading accepts that the official rule does not (or the other way round)."""


@dataclass
class LoadOptions:
    limit: int | None = None
    seed: int = 0
    subjects: list[str] = field(default_factory=list)


class Benchmark(ABC):
    name: ClassVar[str]
    kind: ClassVar[str]
    main_metric: ClassVar[str]
    """The one score charts show for this benchmark."""
    max_new_tokens: ClassVar[int] = 512

    @abstractmethod
    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        """The items, from the shared data folder `root`; a clear DataMissing error when the files are absent."""

    @abstractmethod
    def parity(self) -> Parity:
        """What the headline metric reproduces and can be compared with."""

    @abstractmethod
    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        """Per-item scores in [0, 1]; None where a metric does not apply to this item."""

    def summarize(self, items: list[Item], scores: list[dict[str, float | None]]) -> dict[str, Any]:
        """Metric -> percentage over the items where it applies, plus `n`; subclasses add breakdowns."""
        return {"n": len(items), **mean_percent(scores)}


class GenerateBenchmark(Benchmark):
    kind = "generate"

    @abstractmethod
    def chats(self, item: Item) -> list[Chat]:
        """The chats to complete for this item; the record's `outputs` holds one reply per chat, in order."""


class AgentBenchmark(Benchmark):
    kind = "agent"
    interpreter: ClassVar[bool] = True
    max_steps: ClassVar[int | None] = None
    """Caps the agent's steps per user turn; None = --max-steps."""

    @abstractmethod
    def turns(self, item: Item) -> list[list[Message]]:
        """The messages to add before each agent run, in order: one conversation and one interpreter session
        for the whole item, so later questions can reuse what earlier answers computed. The record's `turns`
        holds one {"final", "events"} per entry."""

    def uses_interpreter(self, item: Item) -> bool:
        return self.interpreter

    def protocol(self, item: Item, chat_template):
        """The tool protocol a published setting prescribes, or None for the one --agent.protocol chooses.
        `chat_template` renders chat turns for protocols written as plain chats (--chat-format model)."""
        return

    def tools(self, item: Item) -> list:
        """Plugin tools (lagent actions) this item's conversation may call, besides the interpreter."""
        return []

    def language(self, item: Item) -> str:
        return "en"


def mean_percent(scores: list[dict[str, float | None]]) -> dict[str, float]:
    keys = list(dict.fromkeys(k for s in scores for k in s))
    out = {}
    for k in keys:
        values = [s[k] for s in scores if s.get(k) is not None]
        if values:
            out[k] = round(100 * mean(values), 2)
    return out


def by_subject(items: list[Item], scores: list[dict], metrics: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """The chosen metrics per subject, for the per-subject tables."""
    groups: dict[str, list[dict]] = {}
    for item, s in zip(items, scores):
        groups.setdefault(item.subject, []).append({k: s.get(k) for k in metrics})
    return {subject: {"n": len(g), **mean_percent(g)} for subject, g in sorted(groups.items())}
