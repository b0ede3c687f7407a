"""The options of `puyu eval`, one dataclass: it is the CLI (puyu/dataclass_cli.py) and the YAML file format."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from puyu.eval.benchmarks import BENCHMARKS

from puyu.core.protocols import PROTOCOLS

DEFAULT_BENCH = ["tool-tasks", "gsm8k-agent", "teval-plan", "teval-review", "cmmlu"]


@dataclass
class EvalConfig:
    """Run offline benchmarks on a model and write predictions, results.json, results.md and charts."""

    model: str = ""
    """A checkpoint dir, or the URL of an OpenAI-compatible server (lmdeploy serve api_server / proxy)."""
    backend: str = "auto"
    """transformers, openai, lmdeploy, or auto (openai for an http(s) URL, else transformers)."""
    bench: list[str] = field(default_factory=lambda: list(DEFAULT_BENCH))
    """Comma-separated benchmarks: tool-tasks, gsm8k-agent, gsm8k-cot, teval-plan, teval-review, cmmlu."""
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
    max_new_tokens: int | None = None
    """Per model call; empty = each benchmark's own default."""
    temperature: float = 0.0
    """0 = greedy, as published scores are measured."""
    max_steps: int = 6
    """Model calls the agent may make for one user turn."""
    protocol: str = "internlm2"
    """Tool protocol of the agent benchmarks: internlm2 or react."""
    chat_format: str = "internlm2"
    """How plain chats (CMMLU, T-Eval) are written: internlm2 (puyu's renderer) or model (its chat template)."""
    served_model: str = ""
    """openai backend: the served model's name; empty = ask the server."""
    api_key: str | None = None
    """openai backend: bearer token."""
    adapter: str | None = None
    """A LoRA adapter dir applied on --model."""
    device: str = "auto"
    """transformers backend: auto, cpu or cuda."""
    dtype: str = "auto"
    """auto, float32, bfloat16 or float16."""
    trust_remote_code: bool = False
    """Run the checkpoint's own modelling code (InternLM2 ships some)."""
    data: Path | None = None
    """The shared data folder; default $PUYU_SHARED_DATA, else <repo root>/../shared/data."""
    heldout: Path | None = None
    """tool-tasks: the held-out split; default <repo root>/data/agent/heldout.jsonl."""
    fresh: bool = False
    """Delete the cached predictions of the chosen benchmarks first instead of resuming."""
    progress: bool = True
    """Draw a progress bar (items/s) on stderr."""

    def __post_init__(self):
        unknown = [b for b in self.bench if b not in BENCHMARKS]
        if unknown or not self.bench:
            raise ValueError(f"unknown benchmark(s) {', '.join(unknown) or '(none given)'}; "
                             f"choose from {', '.join(BENCHMARKS)}")
        if self.backend == "auto":
            self.backend = "openai" if self.model.startswith(("http://", "https://")) else "transformers"
        if self.backend not in ("transformers", "openai", "lmdeploy"):
            raise ValueError(f"backend must be transformers, openai, lmdeploy or auto, not {self.backend!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be >= 1")
        if self.concurrency < 1 or self.batch_size < 1 or self.max_wait_ms < 0 or self.max_steps < 1:
            raise ValueError("concurrency, batch_size and max_steps must be >= 1, max_wait_ms >= 0")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if self.chat_format not in ("internlm2", "model"):
            raise ValueError(f"chat_format must be internlm2 or model, not {self.chat_format!r}")
        self.out = Path(self.out)

    @property
    def remote(self) -> bool:
        return self.backend == "openai"

    def fingerprint(self) -> dict:
        """What makes predictions differ: a resumed run must match these, or it would mix two models' outputs."""
        return {"model": self.model, "backend": self.backend, "served_model": self.served_model,
                "adapter": self.adapter, "protocol": self.protocol, "chat_format": self.chat_format,
                "temperature": self.temperature, "seed": self.seed, "max_new_tokens": self.max_new_tokens,
                "max_steps": self.max_steps}
