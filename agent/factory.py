"""Settings in, an agent out: the model, its protocol, a conversation's toolbox and the Agent that joins them.

The CLI, the app, `puyu serve`, eval and the benchmarks all build their agents here, so a question is answered
the same way whichever door it came in by.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from puyu.agent.agent import Agent
from puyu.core.card import ModelCard
from puyu.core.config import AgentConfig, GenerationConfig, ModelSpec, SandboxLimits
from puyu.core.protocols import InternLM2Protocol, OpenAIToolsProtocol, Protocol, ReActProtocol
from puyu.models import ChatModel, load
from puyu.tools.base import Toolbox


def load_model(spec: ModelSpec) -> ChatModel:
    """The model `spec` names. Raises ModelError with a one-line reason."""
    return load(spec)


def build_protocol(cfg: AgentConfig, style: str = "internlm2",
                   chat_template: Callable[[list[dict]], str] | None = None) -> Protocol:
    """The tool protocol `cfg` chooses, prompting in the model's prompt style (InternLM2) or with its own chat
    template (ReAct, when given)."""
    if cfg.protocol == "react":
        return ReActProtocol(cfg.language, chat_template=chat_template)
    if cfg.protocol == "openai":
        return OpenAIToolsProtocol(cfg.language, system=cfg.system_prompt)
    return InternLM2Protocol(cfg.language, meta=cfg.system_prompt, style=style)


BUNDLED_TOOLS = {"ocr"}
"""Plugins puyu's own small models see by default: the few they need (plus knowledge_search once there are documents
to search), since each tool one sees is one more to confuse a 5M-parameter model; larger models get all."""


def default_plugins(card: ModelCard, kb_dir: Path) -> set[str] | None:
    """The plugins a conversation gets when it chose none itself: None means every one that works here. A model
    whose card names its default tools gets those; one prompted in the compact style (the bundled model, and any
    model puyu trained, whoever serves it) gets BUNDLED_TOOLS: with every tool's schema its prompt outgrows its
    1,024-token context. knowledge_search joins them once there are documents to search."""
    if card.default_tools is not None:
        chosen = set(card.default_tools)
    elif card.prompt_style == "compact":
        chosen = set(BUNDLED_TOOLS)
    else:
        return None
    return chosen | ({"knowledge_search"} if kb_dir.is_dir() and any(kb_dir.iterdir()) else set())


def build_toolbox(cfg: AgentConfig, limits: SandboxLimits, card: ModelCard, workdir: Path, kb_dir: Path,
                  hidden: list[Path] | None = None) -> Toolbox:
    """A conversation's tools: the sandboxed interpreter (when on) and the plugins `cfg` switches on (by default
    those the model's card asks for), working in `workdir`; the interpreter's code does not see `hidden` (default:
    the other conversations, beside `workdir`). Raises ValueError for an unknown tool name."""
    interpreter = None
    if cfg.interpreter:
        from puyu.tools.interpreter import PythonInterpreter

        interpreter = PythonInterpreter(workdir, limits, hidden)
    tools = []
    if cfg.tools != []:
        from puyu.tools.registry import default_tools

        enabled = default_plugins(card, kb_dir) if cfg.tools is None else set(cfg.tools)
        tools = default_tools(workdir, kb_dir, enabled, vlm_path=cfg.vlm_path, knowledge=cfg.knowledge)
    return Toolbox(tools, interpreter=interpreter, workdir=workdir)


def build_agent(model: ChatModel, toolbox: Toolbox, cfg: AgentConfig, gen: GenerationConfig,
                chat_template: Callable[[list[dict]], str] | None = None,
                client_tools: list[dict] | None = None) -> Agent:
    """`client_tools`: schemas of tools the caller runs itself (see Agent)."""
    return Agent(model, toolbox, build_protocol(cfg, model.prompt_style, chat_template), cfg, gen, client_tools)
