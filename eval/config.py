"""The options of `puyu eval`, one dataclass: it is the CLI (puyu/core/dataclass_cli.py) and the YAML file format.
The model, sampling and agent sections are the same dataclasses `puyu chat` reads (puyu/core/config.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from puyu.core.config import SHORT_NAMES, AgentConfig, GenerationConfig, ModelSpec, as_dict
from puyu.eval.benchmarks import BENCHMARKS

DEFAULT_BENCH = ["tool-tasks", "gsm8k-agent", "teval-plan", "teval-review", "cmmlu"]
PROMPTS_VERSION = 2
"""Raised when a benchmark's prompts change, so a resumed run never mixes predictions for old and new prompts
(2: CMMLU names subjects in Chinese as OpenCompass does; gsm8k-cot is a plain chat without the agent prompt)."""

EVAL_NAMES = {**{k: v for k, v in SHORT_NAMES.items() if v.split(".")[0] in ("model", "gen", "agent")},
              "dtype": "model.dtype", "trust_remote_code": "model.trust_remote_code"}
"""`puyu eval` takes the chat commands' short flags for its model, sampling and agent (`--model`, `--temperature`)."""


@dataclass
class EvalConfig:
    """Run offline benchmarks on a model and write predictions, results.json, results.md and charts."""

    model: ModelSpec = field(default_factory=lambda: ModelSpec(name=""))
    """The model: `--model` a checkpoint dir, or the URL of an OpenAI-compatible server (lmdeploy serve api_server /
    proxy); `--model.base-url URL --model NAME` names the served model."""
    gen: GenerationConfig = field(default_factory=GenerationConfig)
    """Sampling. Temperature 0 (greedy) is how published scores are measured; a max_new_tokens left at its default
    gives each benchmark its own."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """The agent benchmarks' agent: its protocol (internlm2 or react) and max_steps."""
    bench: list[str] = field(default_factory=lambda: list(DEFAULT_BENCH))
    """Comma-separated benchmarks: tool-tasks, gsm8k-agent (puyu's own setting), gsm8k-opencompass-agent and
    gsm8k-internlm-interpreter (the published agent settings), gsm8k-fewshot and gsm8k-cot (OpenCompass's plain
    settings), teval-plan, teval-review, cmmlu."""
    limit: int | None = None
    """At most this many items per benchmark: a seeded sample, the same for the same seed."""
    subjects: list[str] = field(default_factory=list)
    """Only these CMMLU subjects / tool-task categories (comma-separated); empty = all."""
    seed: int = 0
    """Seeds the item sample behind --limit and sampled decoding."""
    out: Path = Path("runs/eval")
    """The run folder: predictions/ (the resume cache), results.json, results.md, scores.png."""
    concurrency: int = 16
    """Agent conversations in flight at once; for an openai backend also the requests in flight."""
    batch_size: int = 16
    """In-process backends: prompts per generate() call (agent runs are micro-batched to this size)."""
    max_wait_ms: float = 50.0
    """In-process agent runs: longest a model call waits for others to fill its batch."""
    chat_format: str = "internlm2"
    """How plain chats (CMMLU, T-Eval) are written: internlm2 (puyu's renderer) or model (its chat template)."""
    data: Path | None = None
    """The shared data folder; default $PUYU_SHARED_DATA, else <repo root>/../shared/data."""
    heldout: Path | None = None
    """tool-tasks: the held-out split; default <repo root>/data/agent/heldout.jsonl when you built agent data,
    else the split puyu ships (the bundled model's own held-out items)."""
    fresh: bool = False
    """Delete the cached predictions of the chosen benchmarks first instead of resuming."""
    progress: bool = True
    """Draw a progress bar (items/s) on stderr."""

    def __post_init__(self):
        if isinstance(self.model, str):  # EvalConfig(model="/ckpt" or "http://...") in code
            self.model = ModelSpec(name=self.model)
        unknown = [b for b in self.bench if b not in BENCHMARKS]
        if unknown or not self.bench:
            raise ValueError(f"unknown benchmark(s) {', '.join(unknown) or '(none given)'}; "
                             f"choose from {', '.join(BENCHMARKS)}")
        if self.model.backend not in ("transformers", "openai", "lmdeploy"):
            raise ValueError(f"backend must be transformers, openai or lmdeploy, not {self.model.backend!r}")
        if self.agent.protocol not in ("internlm2", "react"):
            raise ValueError(f"the agent benchmarks speak internlm2 or react, not {self.agent.protocol!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be >= 1")
        if self.concurrency < 1 or self.batch_size < 1 or self.max_wait_ms < 0:
            raise ValueError("concurrency and batch_size must be >= 1, max_wait_ms >= 0")
        if self.chat_format not in ("internlm2", "model"):
            raise ValueError(f"chat_format must be internlm2 or model, not {self.chat_format!r}")
        self.out = Path(self.out)

    @property
    def backend(self) -> str:
        return self.model.backend

    @property
    def remote(self) -> bool:
        return self.model.backend == "openai"

    def max_new_tokens(self, bench_default: int) -> int:
        """A benchmark's token budget: the one asked for, else the benchmark's own."""
        chosen = self.gen.max_new_tokens
        return bench_default if chosen == GenerationConfig().max_new_tokens else chosen

    def fingerprint(self) -> dict:
        """What makes predictions differ: a resumed run must match these, or it would mix two models' outputs."""
        model = {k: v for k, v in as_dict(self.model).items() if k not in ("api_key", "timeout_s", "max_retries")}
        return {"model": model, "gen": as_dict(self.gen), "agent": as_dict(self.agent),
                "chat_format": self.chat_format, "seed": self.seed, "prompts": PROMPTS_VERSION}
