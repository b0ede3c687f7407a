"""Model backends. `load(ModelSpec(...))` returns a ChatModel; each backend's heavy imports happen only there."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from puyu.models.base import ChatModel, GenerationConfig, ModelError

from puyu.core.card import check_style, read_style

__all__ = ["ChatModel", "GenerationConfig", "ModelError", "ModelSpec", "load"]

BACKENDS = ("transformers", "openai", "lmdeploy")


@dataclass
class ModelSpec:
    backend: Literal["transformers", "openai", "lmdeploy"] = "transformers"
    """transformers: a local checkpoint in this process; openai: an OpenAI-compatible server (lmdeploy serve
    api_server); lmdeploy: an in-process lmdeploy pipeline (CUDA only)."""
    path_or_name: str = ""
    """Checkpoint dir (transformers, lmdeploy), or the served model's name (openai; empty = ask /v1/models)."""
    base_url: str | None = None
    """openai only: the server, e.g. http://127.0.0.1:23333 (with or without /v1)."""
    api_key: str | None = None
    """openai only: sent as `Authorization: Bearer …`."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """transformers only: auto = CUDA when torch sees a GPU."""
    dtype: str = "auto"
    """auto (bf16 on GPU, fp32 on CPU), float32, bfloat16 or float16."""
    adapter: str | None = None
    """A peft LoRA adapter dir applied on the base checkpoint (transformers; lmdeploy via its PyTorch engine)."""
    timeout_s: float = 120.0
    """openai only: longest wait for the server to connect or send the next chunk."""
    max_retries: int = 3
    """openai only: extra tries on connection errors, 5xx and 429, before anything was streamed."""
    chat_api: bool = False
    """openai only: send prompts as a user message to /v1/chat/completions instead of raw to /v1/completions."""
    trust_remote_code: bool = False
    """Run a checkpoint's own modelling code (InternLM2 ships some). Opt-in, since it executes that code."""
    lmdeploy_engine: Literal["turbomind", "pytorch"] = "turbomind"
    """lmdeploy only: which engine the pipeline uses."""
    prompt_style: str = "auto"
    """The system prompts the model was trained with: auto (its puyu.json says; for openai, the puyu.json of a
    served name that is a local folder, as `lmdeploy serve api_server models/bundled/puyu-tiny` names it),
    internlm2 or compact."""

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("the openai backend needs base_url (e.g. http://127.0.0.1:23333)")
        if self.prompt_style != "auto":
            check_style(self.prompt_style, field="prompt_style")
        if self.backend != "openai" and not self.path_or_name:
            raise ValueError(f"the {self.backend} backend needs path_or_name (a checkpoint dir)")


def load(spec: ModelSpec) -> ChatModel:
    """The ChatModel `spec` describes. Raises ModelError with a one-line reason when it cannot be had."""
    model = _load(spec)
    if spec.prompt_style != "auto":
        model.prompt_style = spec.prompt_style
    return model


def _load(spec: ModelSpec) -> ChatModel:
    if spec.backend == "transformers":
        from puyu.models.hf import HFModel

        return HFModel(spec.path_or_name, device=spec.device, dtype=spec.dtype, adapter=spec.adapter,
                       trust_remote_code=spec.trust_remote_code)
    if spec.backend == "openai":
        from puyu.models.openai_api import OpenAIModel

        model = OpenAIModel(spec.base_url or "", model=spec.path_or_name or None, api_key=spec.api_key,
                            timeout_s=spec.timeout_s, max_retries=spec.max_retries, chat_api=spec.chat_api)
        served = model.model  # without a name, ask the server now: an unreachable server fails at load, not mid-turn
        try:
            model.prompt_style = read_style(served)  # a name that is no folder with a puyu.json: internlm2
        except (OSError, ValueError) as e:
            raise ModelError(str(e)) from e
        return model
    from puyu.models.lmdeploy_engine import LMDeployModel

    return LMDeployModel(spec.path_or_name, engine=spec.lmdeploy_engine, adapter=spec.adapter, dtype=spec.dtype,
                         trust_remote_code=spec.trust_remote_code)
