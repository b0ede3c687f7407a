"""Model backends. `load(ModelSpec(...))` returns a ChatModel; each backend's heavy imports happen only there."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from puyu.core.card import ModelCard, model_folder
from puyu.core.config import GenerationConfig, ModelSpec
from puyu.models.base import ChatModel, ModelError

__all__ = ["BUNDLED_MODEL", "ChatModel", "GenerationConfig", "ModelError", "ModelSpec", "checkpoint", "load",
           "model_card", "prompt_style"]

BUNDLED_MODEL = Path(__file__).resolve().parent / "bundled" / "puyu-tiny"
"""The model puyu trains and ships (`puyu train bundled` makes it again); `--model bundled` means this folder."""


def checkpoint(spec: ModelSpec) -> str:
    """The checkpoint dir or served name `spec.name` means: the bundled model's folder for `bundled` in process,
    and for a server "" (ask it which model it serves). A clear error if the bundled model is missing."""
    if spec.name != "bundled":
        return spec.name
    if spec.backend == "openai":
        return ""
    if not (BUNDLED_MODEL / "config.json").exists():
        raise ModelError(
            f"the bundled model is not in {BUNDLED_MODEL}. Train it with `puyu train bundled`, or point puyu at a "
            "model: `--model /path/to/hf-checkpoint`, or `--base-url http://127.0.0.1:23333` for a server such as "
            "`lmdeploy serve api_server`.")
    return str(BUNDLED_MODEL)


def model_card(spec: ModelSpec) -> ModelCard:
    """The model's card (its folder's puyu.json; for a server, that of the folder its served name points to, if that
    is one here; for a replay script, its `card`), known before the model loads, with `--prompt-style` applied.
    ValueError for a malformed one."""
    if spec.backend == "replay":
        from puyu.models.replay import script_card

        card = script_card(spec.name)
    else:
        card = ModelCard.read(model_folder(checkpoint(spec)))
    return card if spec.prompt_style == "auto" else replace(card, prompt_style=spec.prompt_style)


def prompt_style(spec: ModelSpec) -> str:
    """The prompt style the model will be given: the setting, else its card's."""
    return model_card(spec).prompt_style


def load(spec: ModelSpec) -> ChatModel:
    """The ChatModel `spec` describes, with its card. Raises ModelError with a one-line reason when it cannot be
    had."""
    model = _load(spec)
    try:  # a server's model is known by the name it serves, which may name a folder here
        card = model_card(replace(spec, name=model.model) if spec.backend == "openai" else spec)
    except (OSError, ValueError) as e:
        raise ModelError(str(e)) from e
    model.card, model.prompt_style = card, card.prompt_style
    return model


def _load(spec: ModelSpec) -> ChatModel:
    if spec.backend == "replay":
        from puyu.models.replay import ReplayModel

        return ReplayModel.from_file(spec.name)
    if spec.backend != "openai" and not spec.name:
        raise ModelError(f"the {spec.backend} backend needs --model (a checkpoint dir)")
    path = checkpoint(spec)
    if spec.backend == "transformers":
        from puyu.models.hf import HFModel

        return HFModel(path, device=spec.device, dtype=spec.dtype, adapter=spec.adapter,
                       trust_remote_code=spec.trust_remote_code, threads=spec.threads)
    if spec.backend == "openai":
        from puyu.models.openai_api import OpenAIModel

        model = OpenAIModel(spec.base_url, model=path or None, api_key=spec.api_key, timeout_s=spec.timeout_s,
                            max_retries=spec.max_retries, endpoint=spec.endpoint)
        _ = model.model  # without a name, ask the server now: an unreachable server fails at load, not mid-turn
        return model
    from puyu.models.lmdeploy_engine import LMDeployModel

    return LMDeployModel(path, engine=spec.lmdeploy_engine, adapter=spec.adapter, dtype=spec.dtype,
                         trust_remote_code=spec.trust_remote_code)
