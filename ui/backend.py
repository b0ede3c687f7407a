"""The UI's door to the agent: settings in, a `Chat` out, plus the conversation store.

Everything the app does to a conversation goes through `Chat` (send / regenerate / edit_last, each an iterator
of agent Events). `open_chat` builds a `ChatSession` whose agent runs in this process (`puyu.runtime.Runtime`),
or, with `settings.agent_url`, on a `puyu serve` (`puyu.client.RemoteAgent`); the page cannot tell them apart.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from puyu.agent.store import Conversation, Store
from puyu.models.base import ChatModel, ModelError

from puyu.core.messages import Event, Message, TokenEvent
from puyu.settings import Settings

if TYPE_CHECKING:
    from puyu.runtime import Runtime

FAKE_MODEL_ENV = "PUYU_FAKE_MODEL"
"""A script of replies (ui/scripted.py) the app answers with instead of a model: for demos, the browser test
and the latency bench."""
FAKE_DELAY_ENV = "PUYU_FAKE_MODEL_DELAY_S"
"""Seconds the scripted model waits before each chunk, to look like a real model's time to first token."""
TIMINGS_ENV = "PUYU_UI_TIMINGS"
"""A file the app appends one JSON line to per answer: when the run started and the backend's time to first
token (bench/ui_latency.py compares it with what the browser saw)."""
SETTINGS_ENV = "PUYU_UI_SETTINGS"
"""JSON of the Settings `puyu ui` was started with (the Streamlit script runs in its own process)."""

# Settings a conversation keeps for itself in the store; the rest (where data lives, the API key) are the app's.
PER_CONVERSATION = ("model", "backend", "base_url", "agent_url", "adapter", "system_prompt", "temperature",
                    "top_p", "max_new_tokens", "max_steps", "tools", "knowledge", "interpreter")
MODEL_FIELDS = ("model", "backend", "base_url", "api_key", "adapter", "device", "data_dir")

log = logging.getLogger("puyu.ui")

HEAVY_MODULES = ("puyu.runtime", "puyu.tools.registry", "puyu.tools.interpreter", "puyu.tools.rag")
"""What answering needs but the first page does not: the agent, the tools (torch, sympy, OpenCV, chromadb...).
They take seconds to import, so they load in the background while the page is already up."""


def scripted_model() -> ChatModel:
    from puyu.ui.scripted import ScriptedTurns

    delay = os.environ.get(FAKE_DELAY_ENV)
    return ScriptedTurns(os.environ[FAKE_MODEL_ENV], float(delay) if delay else None)


def _load_model(settings: Settings) -> ChatModel:
    from puyu.runtime import load_model

    return load_model(settings)


model_loader: Callable[[Settings], ChatModel] = _load_model
"""How a model is loaded. Tests replace it to hand the app a scripted model."""

_warming: threading.Thread | None = None


def warm_up() -> None:
    """Start importing HEAVY_MODULES in a thread (once per process)."""
    global _warming
    if _warming is None:
        import importlib

        _warming = threading.Thread(target=lambda: [importlib.import_module(m) for m in HEAVY_MODULES],
                                    name="puyu-warm-up", daemon=True)
        _warming.start()


class BackendError(RuntimeError):
    """The agent cannot be reached or built (model not loadable, server down); the message says why."""


class Chat(Protocol):
    """One conversation as the page sees it. `ChatSession` is one; a `puyu serve` client can be another."""

    def send(self, text: str, files: list[Message] = (), cancel: threading.Event | None = None
             ) -> Iterator[Event]: ...

    def regenerate(self, cancel: threading.Event | None = None) -> Iterator[Event]: ...

    def edit_last(self, text: str | None, cancel: threading.Event | None = None) -> Iterator[Event]: ...


# ---- settings ----------------------------------------------------------------------------------------------

def base_settings() -> Settings:
    """The app's starting settings: what `puyu ui` was given, else the user's config file, else defaults."""
    raw = os.environ.get(SETTINGS_ENV)
    if raw:
        settings = Settings(**{k: v for k, v in json.loads(raw).items() if k in _names()})
    else:
        from puyu.settings import settings_from_args

        settings = settings_from_args({})
    fake = os.environ.get(FAKE_MODEL_ENV)
    if fake:
        settings = settings.replace(backend="replay", model=fake, base_url=None)
    return settings


def conversation_settings(base: Settings, conv: Conversation | None) -> Settings:
    """`base` with what the conversation chose for itself (entries that no longer apply are dropped)."""
    stored = {k: v for k, v in (conv.settings if conv else {}).items() if k in PER_CONVERSATION}
    if os.environ.get(FAKE_MODEL_ENV):
        stored = {k: v for k, v in stored.items() if k not in MODEL_FIELDS}
    try:
        return base.replace(**stored)
    except (TypeError, ValueError):
        return base


def to_store(settings: Settings) -> dict:
    return {k: v for k, v in asdict(settings).items() if k in PER_CONVERSATION}


def _names() -> set[str]:
    return {f.name for f in dataclasses.fields(Settings)}


def tools_ready() -> bool:
    """Whether the tools have been imported (see warm_up), so that listing them costs nothing."""
    return "puyu.tools.registry" in sys.modules and "puyu.runtime" in sys.modules


def default_tool_choice(settings: Settings) -> list[str]:
    """The plugins a conversation gets when it chose none itself, as the runtime decides (all of them, but only a
    few for puyu's own small models)."""
    from puyu.runtime import default_plugins

    chosen = default_plugins(settings)
    return list(tool_names()) if chosen is None else sorted(chosen)


def tool_names() -> tuple[str, ...]:
    """The plugin tools a user can switch on here (the interpreter is a setting of its own; `vqa` needs a
    vision-language checkpoint named by PUYU_VLM_PATH)."""
    from puyu.tools.registry import TOOL_NAMES, VLM_ENV

    return tuple(n for n in TOOL_NAMES if n != "vqa" or os.environ.get(VLM_ENV))


def default_system_prompt(settings: Settings, language: str) -> str:
    """The opening system prompt the agent uses when the user wrote none: that of the model's prompt style."""
    from puyu.core.protocols.internlm2 import InternLM2Protocol
    from puyu.runtime import prompt_style

    try:
        style = prompt_style(settings)
    except (ModelError, ValueError):
        style = "internlm2"  # the model cannot load; the model check says why
    return InternLM2Protocol(language if language in ("en", "zh") else "en", style=style).meta


def load_prefs(settings: Settings) -> dict:
    """What the app remembers across restarts that belongs to no conversation (the interface language)."""
    try:
        data = json.loads((Path(settings.data_dir).expanduser() / "puyu.ui.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_prefs(settings: Settings, **prefs) -> None:
    path = Path(settings.data_dir).expanduser() / "puyu.ui.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**load_prefs(settings), **prefs}), "utf-8")


# ---- runtimes --------------------------------------------------------------------------------------------

_lock = threading.Lock()
_runtimes: dict[tuple, Runtime] = {}
_stores: dict[str, Store] = {}
_turn_locks: dict[str, threading.Lock] = {}


def turn_lock(conversation_id: str) -> threading.Lock:
    """Held while a conversation answers. Streamlit may start the next page run before the previous one has
    wound down its agent (fast reruns), and two answers must never write into one conversation at once."""
    with _lock:
        return _turn_locks.setdefault(conversation_id, threading.Lock())


def wait_idle(conversation_id: str, timeout_s: float = 10.0) -> None:
    """Wait (a little) until no answer is being written into the conversation."""
    lock = turn_lock(conversation_id)
    if lock.acquire(timeout=timeout_s):
        lock.release()


def store(settings: Settings) -> Store:
    """The conversation store under `settings.data_dir` (one per process, shared by all browser tabs)."""
    with _lock:
        path = str(Path(settings.data_dir).expanduser() / "puyu.db")
        if path not in _stores:
            _stores[path] = Store(path)
        return _stores[path]


def conversations(store: Store) -> list[Conversation]:
    """The app's conversations, newest first; those `puyu serve` made for its API clients stay out (a UI
    running against that server, on the same data dir, already shows its own copy)."""
    return [c for c in store.list() if (c.settings or {}).get("origin") != "api"]


def _model_key(settings: Settings) -> tuple:
    return tuple(getattr(settings, f) for f in MODEL_FIELDS) + (os.environ.get(FAKE_DELAY_ENV),)


def runtime(settings: Settings) -> Runtime:
    """The Runtime (model + toolboxes) for these settings' model, loading it if needed.

    Only one model is kept in memory: choosing another closes the previous one and its interpreters.
    Raises BackendError with a readable reason when the model cannot be had."""
    key = _model_key(settings)
    with _lock:
        rt = _runtimes.get(key)
        if rt is not None:
            return rt
        try:
            model = scripted_model() if os.environ.get(FAKE_MODEL_ENV) and settings.backend == "replay" \
                else model_loader(settings)
        except ModelError as e:
            raise BackendError(str(e)) from None
        except (ValueError, OSError, ImportError) as e:
            raise BackendError(f"{type(e).__name__}: {e}") from None
        from puyu.runtime import Runtime

        for old in _runtimes.values():
            old.close()
        _runtimes.clear()
        rt = _runtimes[key] = Runtime(settings, model=model)
        return rt


def remote_agent(settings: Settings, conversation_id: str = ""):
    """The agent of a `puyu serve` (settings.agent_url), checked to be answering. Raises BackendError."""
    from puyu.client import RemoteAgent, ServerError

    sampling = {"temperature": settings.temperature, "top_p": settings.top_p, "max_tokens": settings.max_new_tokens}
    try:
        agent = RemoteAgent(settings.agent_url, api_key=os.environ.get("PUYU_API_KEY"), sampling=sampling,
                            links=Path(settings.data_dir).expanduser() / "remote.json", local_id=conversation_id)
        agent.check()
    except (ServerError, ModelError) as e:
        raise BackendError(str(e)) from None
    return agent


def open_chat(settings: Settings, conversation_id: str) -> Chat:
    """The conversation, ready to answer with these settings. Raises BackendError."""
    if settings.agent_url:
        from puyu.agent.session import ChatSession

        return ChatSession(store(settings), conversation_id, remote_agent(settings, conversation_id))
    rt = runtime(settings)
    try:
        return rt.session(conversation_id, settings)
    except ModelError as e:
        raise BackendError(str(e)) from None
    except (ImportError, OSError, ValueError) as e:
        raise BackendError(f"the tools could not be set up: {type(e).__name__}: {e}") from None


def model_name(settings: Settings) -> str:
    """Load the model (as `open_chat` would) and say what it is; for the settings' "check" button."""
    if settings.agent_url:
        remote_agent(settings).close()
        return f"puyu serve, {settings.agent_url}"
    model = runtime(settings).model
    name = getattr(model, "model", None) if settings.backend == "openai" else None
    try:
        return str(name or model.name)
    except ModelError as e:
        raise BackendError(str(e)) from None


def workdir(settings: Settings, conversation_id: str) -> Path:
    """Where a conversation's uploads and tool outputs live."""
    path = Path(settings.data_dir).expanduser() / "conversations" / conversation_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def delete_conversation(settings: Settings, conversation_id: str) -> None:
    """Forget the conversation: its rows, its interpreter and its files."""
    with _lock:
        for rt in _runtimes.values():
            rt.forget(conversation_id)
    store(settings).delete(conversation_id)
    shutil.rmtree(Path(settings.data_dir).expanduser() / "conversations" / conversation_id, ignore_errors=True)


def reset() -> None:
    """Close every runtime (tests call this between apps)."""
    with _lock:
        for rt in _runtimes.values():
            rt.close()
        _runtimes.clear()
        for s in _stores.values():
            s.close()
        _stores.clear()


# ---- knowledge bases -----------------------------------------------------------------------------------------

DEFAULT_KB = "documents"


def knowledge(settings: Settings):
    from puyu.tools.rag import KnowledgeBases

    return KnowledgeBases(Path(settings.data_dir).expanduser() / "knowledge")


def upload_kb(settings: Settings) -> str:
    """The knowledge base that documents attached in the chat go into."""
    return str(load_prefs(settings).get("kb") or DEFAULT_KB)


def kb_names(settings: Settings) -> list[str]:
    return knowledge(settings).names()


def kb_files(settings: Settings, name: str) -> list:
    kbs = knowledge(settings)
    return kbs.get(name).files() if name in kbs.names() else []


def create_kb(settings: Settings, name: str) -> str:
    """Create a knowledge base (raises KnowledgeError for a bad name) and send uploads there."""
    kb = knowledge(settings).create(name)
    save_prefs(settings, kb=kb.name)
    return kb.name


def indexable(path: str | Path) -> bool:
    from puyu.tools.rag.extract import SUPPORTED

    return Path(path).suffix.lower() in SUPPORTED


def add_document(settings: Settings, path: Path):
    """Index an uploaded document in the upload knowledge base (created on first use); its IngestResult.
    Raises KnowledgeError or ExtractError with a message for the user."""
    kbs, name = knowledge(settings), upload_kb(settings)
    kb = kbs.get(name) if name in kbs.names() else kbs.create(name)
    return kb.add_file(path, Path(path).name)


def timing_hook(conversation_id: str | None, run_started: float | None = None) -> Callable[[Event], None] | None:
    """With PUYU_UI_TIMINGS set: a callback for each streamed event that writes the backend's time to first
    token (from asking the agent to its first TokenEvent) once per answer."""
    path = os.environ.get(TIMINGS_ENV)
    if not path:
        return None
    asked, asked_wall = time.perf_counter(), time.time()
    done = False

    def on_event(event: Event) -> None:
        nonlocal done
        if done or not isinstance(event, TokenEvent):
            return
        done = True
        record = {"conversation_id": conversation_id, "run_started": run_started, "asked": asked_wall,
                  "first_token": time.time(), "backend_ttft_s": time.perf_counter() - asked}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    return on_event
