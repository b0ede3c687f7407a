"""The app's door to the agent: settings in, a `Chat` out, plus the conversation store.

Everything the app does to a conversation goes through `Chat` (send / regenerate / edit_last, each an iterator of
agent Events). `open_chat` builds a `ChatSession` whose agent runs in this process (`puyu.runtime.Runtime`), or,
with `settings.agent_url`, on a `puyu serve` (`puyu.client.RemoteAgent`); the page cannot tell them apart.
Demos, tests and benchmarks use the same path with `--backend replay` (puyu.models.replay).
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from puyu.agent.store import Conversation, Store
from puyu.core.config import Settings, as_dict
from puyu.core.messages import Event, Message
from puyu.models.base import ModelError

if TYPE_CHECKING:
    from puyu.runtime import Runtime

log = logging.getLogger("puyu.ui")

HEAVY_MODULES = ("puyu.runtime", "puyu.tools.registry", "puyu.tools.interpreter", "puyu.tools.rag")
"""What answering needs but the first page does not: the agent, the tools (torch, sympy, OpenCV, chromadb...).
They take seconds to import, so they load in the background while the page is already up."""

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


# ---- runtimes and stores, shared by every browser tab of this process ------------------------------------------

_lock = threading.Lock()
_runtimes: dict[str, Runtime] = {}
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
        path = str(settings.store_path)
        if path not in _stores:
            _stores[path] = Store(path)
        return _stores[path]


def conversations(store: Store, query: str = "") -> list[Conversation]:
    """The app's conversations, newest first (only those whose title, questions or answers mention `query`, when
    given); those `puyu serve` made for its API clients stay out (a UI running against that server, on the same
    data dir, already shows its own copy)."""
    found = store.search(query) if query.strip() else store.list()
    return [c for c in found if (c.settings or {}).get("origin") != "api"]


def runtime(settings: Settings) -> Runtime:
    """The Runtime (model + toolboxes) for these settings' model, loading it if needed.

    Only one model is kept in memory: choosing another closes the previous one and its interpreters.
    Raises BackendError with a readable reason when the model cannot be had."""
    key = json.dumps([as_dict(settings.model), settings.data_dir, as_dict(settings.sandbox)])
    with _lock:
        rt = _runtimes.get(key)
        if rt is not None:
            return rt
        from puyu.agent.factory import load_model
        from puyu.runtime import Runtime

        try:
            model = load_model(settings.model)
        except ModelError as e:
            raise BackendError(str(e)) from None
        except (ValueError, OSError, ImportError) as e:
            raise BackendError(f"{type(e).__name__}: {e}") from None
        for old in _runtimes.values():
            old.close()
        _runtimes.clear()
        rt = _runtimes[key] = Runtime(settings, model=model)
        return rt


def remote_agent(settings: Settings, conversation_id: str = ""):
    """The agent of a `puyu serve` (settings.agent_url), checked to be answering. Raises BackendError."""
    from puyu.client import RemoteAgent, ServerError

    sampling = {"temperature": settings.gen.temperature, "top_p": settings.gen.top_p,
                "max_tokens": settings.gen.max_new_tokens}
    try:
        agent = RemoteAgent(settings.agent_url, api_key=settings.server.api_key, sampling=sampling,
                            links=settings.data_path / "remote.json", local_id=conversation_id)
        agent.check()
    except (ServerError, ModelError) as e:
        raise BackendError(str(e)) from None
    return agent


def open_chat(settings: Settings, conversation_id: str) -> Chat:
    """The conversation, ready to answer with these settings. Raises BackendError."""
    if settings.agent_url:
        from puyu.agent.session import ChatSession

        return ChatSession(store(settings), conversation_id, remote_agent(settings, conversation_id))
    from puyu.runtime import Busy

    rt = runtime(settings)
    try:
        return rt.session(conversation_id, settings)
    except (ModelError, Busy) as e:  # Busy: every interpreter is in a turn; the message says to retry
        raise BackendError(str(e)) from None
    except (ImportError, OSError, ValueError) as e:
        raise BackendError(f"the tools could not be set up: {type(e).__name__}: {e}") from None


def model_name(settings: Settings) -> str:
    """Load the model (as `open_chat` would) and say what it is; for the settings' "check" button."""
    if settings.agent_url:
        remote_agent(settings).close()
        return f"puyu serve, {settings.agent_url}"
    model = runtime(settings).model
    name = getattr(model, "model", None) if settings.model.backend == "openai" else None
    try:
        return str(name or model.name)
    except ModelError as e:
        raise BackendError(str(e)) from None


def set_feedback(settings: Settings, conversation_id: str, turn: int, rating: str | None, comment: str) -> None:
    """The person's thumbs up or down ("up", "down", None) and comment on the answer of a turn."""
    store(settings).set_feedback(conversation_id, turn, rating, comment)


def show_version(settings: Settings, conversation_id: str, turn: int, n: int) -> None:
    """Put version `n` of a turn's answer on show (once no answer is being written into the conversation)."""
    from puyu.agent.session import show_version as show

    wait_idle(conversation_id)
    show(store(settings), conversation_id, turn, n)


def delete_conversation(settings: Settings, conversation_id: str) -> None:
    """Forget the conversation: its rows, its interpreter and its files."""
    with _lock:
        for rt in _runtimes.values():
            rt.forget(conversation_id)
    store(settings).delete(conversation_id)
    shutil.rmtree(settings.conversation_dir(conversation_id), ignore_errors=True)


def reset() -> None:
    """Close every runtime (tests call this between apps)."""
    with _lock:
        for rt in _runtimes.values():
            rt.close()
        _runtimes.clear()
        for s in _stores.values():
            s.close()
        _stores.clear()
