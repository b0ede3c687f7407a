"""Settings in, an agent out: the model, its protocol, a conversation's toolbox and the Agent that joins them.

The CLI, the app, `puyu serve`, eval and the benchmarks all build their agents here, so a question is answered
the same way whichever door it came in by.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from puyu.agent.agent import Agent
from puyu.core.config import AgentConfig, GenerationConfig, ModelSpec, SandboxLimits
from puyu.core.protocols import InternLM2Protocol, OpenAIToolsProtocol, Protocol, ReActProtocol
from puyu.models import ChatModel, load, model_card, prompt_style
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


def default_plugins(spec: ModelSpec, kb_dir: Path) -> set[str] | None:
    """The plugins a conversation gets when it chose none itself: None means every one that works here. A model
    whose card names its default tools gets those. The bundled model run in process gets BUNDLED_TOOLS, and so does
    a model puyu trained and exported elsewhere (its card says compact prompts): with every tool's schema its
    prompt outgrows its 1,024-token context. knowledge_search joins them once there are documents to search."""
    try:
        card = model_card(spec)
        small = spec.backend == "transformers" and (spec.name == "bundled" or prompt_style(spec) == "compact")
    except ValueError:  # a malformed puyu.json: listing tools must not fail on it (loading the model says why)
        return None
    chosen = set(card.default_tools) if card.default_tools is not None else BUNDLED_TOOLS if small else None
    if chosen is None:
        return None
    return chosen | ({"knowledge_search"} if kb_dir.is_dir() and any(kb_dir.iterdir()) else set())


def build_toolbox(cfg: AgentConfig, limits: SandboxLimits, spec: ModelSpec, workdir: Path, kb_dir: Path,
                  hidden: list[Path] | None = None) -> Toolbox:
    """A conversation's tools: the sandboxed interpreter (when on) and the plugins `cfg` switches on, working in
    `workdir`; the interpreter's code does not see `hidden` (default: the other conversations, beside `workdir`).
    Raises ValueError for an unknown tool name."""
    interpreter = None
    if cfg.interpreter:
        from puyu.tools.interpreter import PythonInterpreter

        interpreter = PythonInterpreter(workdir, limits, hidden)
    tools = []
    if cfg.tools != []:
        from puyu.tools.registry import default_tools

        enabled = default_plugins(spec, kb_dir) if cfg.tools is None else set(cfg.tools)
        tools = default_tools(workdir, kb_dir, enabled, vlm_path=cfg.vlm_path, knowledge=cfg.knowledge)
    return Toolbox(tools, interpreter=interpreter, workdir=workdir)


def build_agent(model: ChatModel, toolbox: Toolbox, cfg: AgentConfig, gen: GenerationConfig,
                chat_template: Callable[[list[dict]], str] | None = None) -> Agent:
    return Agent(model, toolbox, build_protocol(cfg, model.prompt_style, chat_template), cfg, gen)
