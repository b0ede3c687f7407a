"""The one interface every model backend implements. A ChatModel knows nothing about tools."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from puyu.core.card import ModelCard
from puyu.core.config import GenerationConfig


class ModelError(RuntimeError):
    """A generation failed (backend down, bad answer, model not loadable). Ends the agent's turn."""


class PromptTooLong(ModelError):
    """One prompt does not fit the model's context. That prompt's failure, not the backend's: a batch it was in
    can be answered without it (see `generate_each`)."""


class ChatModel(ABC):
    """Streams text for a raw prompt. Special tokens (`<|action_start|>` …) are kept in the output;
    stop strings are cut off, as OpenAI-compatible servers do."""

    name: str = "model"
    prompt_style: str = "internlm2"
    """The system prompts the model was trained with (puyu/core/card.py PROMPT_STYLES); a model folder says
    so in its puyu.json."""
    card: ModelCard = ModelCard()
    """The model's card (prompt style, default tools), as `puyu.models.load` found it, whichever backend serves it."""

    def endpoint_for(self, protocol) -> str:
        """How this model takes `protocol`'s requests: "prompt" (a rendered prompt to `stream`) or "chat"
        (messages and tools to a `chat` method, which only a server's chat endpoint has)."""
        if getattr(protocol, "native_tools", False):
            raise ModelError(f"the {type(protocol).__name__} needs a server's chat endpoint (--base-url URL)")
        return "prompt"

    def count_tokens(self, text: str, prompt: bool = False) -> int | None:
        """How many tokens `text` is for this model, as a prompt (with what the model adds, e.g. <s>) or as generated
        text; None where the backend cannot tell."""
        return None

    @abstractmethod
    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        """Yield text deltas for `prompt` (already rendered by a protocol)."""

    def generate(self, prompts: list[str], gen: GenerationConfig) -> list[str]:
        """Complete many prompts. Backends override this with real batching."""
        return ["".join(self.stream(p, gen)) for p in prompts]

    def apply_chat_template(self, messages: list[dict]) -> str:
        """Render role/content dicts with the model's own chat template (tokenizer_config.json)."""
        raise NotImplementedError(f"{type(self).__name__} has no chat template")

    def close(self) -> None:
        """Free the model's resources."""


def generate_each(model: ChatModel, prompts: list[str], gen: GenerationConfig) -> list[str | PromptTooLong]:
    """`model.generate(prompts)`, except that a prompt too long for the model gets its PromptTooLong in its place
    instead of failing the whole batch. Other errors still raise."""
    try:
        return model.generate(prompts, gen)
    except PromptTooLong as e:
        if len(prompts) == 1:
            return [e]
        return [out for p in prompts for out in generate_each(model, [p], gen)]
