"""The shapes of puyu's own models: small Llama-architecture decoders that train from scratch on a CPU.

Llama because transformers, LMDeploy and llama.cpp all run it natively, so the bundled model needs no custom code
anywhere it is served. Sizes are chosen for a 2-core CPU: the whole run must fit in an hour, and greedy decoding
with the transformers backend must stay above 200 tokens/s, which rules out anything much past ~10M parameters.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from transformers import LlamaConfig, LlamaForCausalLM


@dataclass(frozen=True)
class ModelShape:
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    context: int = 1024
    """Longest sequence the model is trained on (max_position_embeddings); RoPE, so no learned positions."""
    rope_theta: float = 10000.0
    tie_embeddings: bool = True
    """Input and output embeddings share one matrix: with a small hidden size the vocab is most of the weights."""

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads {self.num_heads} is not a multiple of num_kv_heads {self.num_kv_heads}")


PRESETS: dict[str, ModelShape] = {
    # For tests and smoke runs: trains a step in milliseconds.
    "puyu-micro": ModelShape(hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=64),
    # The bundled default: the 3.6M prototype shape (hidden 256, 4 layers) with 64-wide heads.
    "puyu-tiny": ModelShape(hidden_size=256, num_layers=4, num_heads=4, num_kv_heads=4, intermediate_size=768),
    # Roughly 3x the compute of puyu-tiny; for a machine with more cores or more time.
    "puyu-small": ModelShape(hidden_size=384, num_layers=6, num_heads=6, num_kv_heads=6, intermediate_size=1024),
}


def shape(preset: str, overrides: dict | None = None) -> ModelShape:
    """A preset by name, with some of its fields replaced."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose one of {', '.join(PRESETS)}")
    overrides = overrides or {}
    unknown = set(overrides) - set(asdict(PRESETS[preset]))
    if unknown:
        raise ValueError(f"unknown model field(s) {', '.join(sorted(unknown))}; "
                         f"fields are {', '.join(asdict(PRESETS[preset]))}")
    return replace(PRESETS[preset], **overrides)


def build(shape: ModelShape, vocab_size: int, bos_id: int | None, eos_id: int, pad_id: int | None,
          seed: int = 0) -> LlamaForCausalLM:
    """A freshly initialised model; the same seed gives the same weights (resume rebuilds it before loading)."""
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=shape.hidden_size, intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers, num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_kv_heads, max_position_embeddings=shape.context,
        rope_theta=shape.rope_theta, tie_word_embeddings=shape.tie_embeddings,
        bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id,
    )
    config._attn_implementation = "sdpa"
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
