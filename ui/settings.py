"""The settings the app answers with: where they start, what each conversation keeps for itself, and what the app
remembers for its user across restarts (the interface language, the knowledge base uploads go to)."""
from __future__ import annotations

import json
import os
import sys

from puyu.agent.store import Conversation
from puyu.core.card import ModelCard
from puyu.core.config import SHORT_NAMES, Settings, as_dict, knobs, leaf_paths
from puyu.models.base import ModelError

SETTINGS_ENV = "PUYU_UI_SETTINGS"
"""JSON of the Settings `puyu ui` was started with (the Streamlit script runs in a process of its own)."""

PER_CONVERSATION = ("model.name", "model.backend", "model.base_url", "model.adapter", "gen.", "agent.system_prompt",
                    "agent.tools", "agent.knowledge", "agent.interpreter", "agent_url", *knobs(Settings))
"""Settings a conversation keeps for itself in the store (a path, or a section ending in a dot; every setting the
settings panel draws as a knob); the rest (where data lives, the API key, the sandbox) are the app's."""


def kept(path: str) -> bool:
    return any(path == p or (p.endswith(".") and path.startswith(p)) for p in PER_CONVERSATION)


def base_settings() -> Settings:
    """The app's starting settings: what `puyu ui` was given, else the user's config file, else defaults."""
    from puyu.settings import load_settings

    raw = os.environ.get(SETTINGS_ENV)
    return Settings().replace(**json.loads(raw)) if raw else load_settings()


def conversation_settings(base: Settings, conv: Conversation | None) -> Settings:
    """`base` with what the conversation chose for itself (entries that no longer apply are dropped). A replay run
    (a demo, a test, a benchmark) answers every conversation with its script."""
    stored = {SHORT_NAMES.get(k, k): v for k, v in (conv.settings if conv else {}).items()}
    stored = {k: v for k, v in stored.items() if kept(k) and k in leaf_paths(Settings)}
    if base.model.backend == "replay":
        stored = {k: v for k, v in stored.items() if not k.startswith("model.")}
    try:
        return base.replace(**stored)
    except (TypeError, ValueError):
        return base


def to_store(settings: Settings) -> dict:
    """What a conversation keeps of `settings`, as {dotted path: value}."""
    flat = _flat(as_dict(settings))
    return {k: v for k, v in flat.items() if kept(k)}


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def tools_ready() -> bool:
    """Whether the tools have been imported (see backend.warm_up), so that listing them costs nothing."""
    return "puyu.tools.registry" in sys.modules and "puyu.runtime" in sys.modules


def default_tool_choice(settings: Settings) -> list[str]:
    """The plugins a conversation gets when it chose none itself, as the agent factory decides (all of them, but
    only a few for puyu's own small models)."""
    from puyu.agent.factory import default_plugins
    from puyu.models import model_card

    try:
        card = model_card(settings.model)
    except (ModelError, ValueError):  # a malformed puyu.json: listing tools must not fail (loading says why)
        card = ModelCard()
    chosen = default_plugins(card, settings.knowledge_dir)
    return list(tool_names()) if chosen is None else sorted(chosen)


def tool_names() -> tuple[str, ...]:
    """The plugin tools a user can switch on here (the interpreter is a setting of its own; `vqa` needs a
    vision-language checkpoint, --agent.vlm-path)."""
    from puyu.tools.registry import TOOL_NAMES, VLM_ENV

    return tuple(n for n in TOOL_NAMES if n != "vqa" or os.environ.get(VLM_ENV))


def default_system_prompt(settings: Settings, language: str) -> str:
    """The opening system prompt the agent uses when the user wrote none: that of the model's prompt style."""
    from puyu.core.protocols.internlm2 import InternLM2Protocol
    from puyu.models import prompt_style

    try:
        style = prompt_style(settings.model)
    except (ModelError, ValueError):
        style = "internlm2"  # the model cannot load; the model check says why
    return InternLM2Protocol(language if language in ("en", "zh") else "en", style=style).meta


# ---- what the app remembers across restarts ----------------------------------------------------------------

def load_prefs(settings: Settings) -> dict:
    """What belongs to no conversation: the interface language, the upload knowledge base."""
    try:
        data = json.loads((settings.data_path / "ui.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_prefs(settings: Settings, **prefs) -> None:
    path = settings.data_path / "ui.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**load_prefs(settings), **prefs}), "utf-8")
