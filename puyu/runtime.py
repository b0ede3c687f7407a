"""What a running puyu holds: one model and one store shared by all conversations, and a toolbox (with its
interpreter) per conversation. The CLI, the app and `puyu serve` each keep one Runtime and ask it for sessions;
the agents themselves are built by `puyu.agent.factory`.

The toolboxes are a pool of at most `server.pool_size`. A conversation holds its toolbox from `session()` until its
turn ends; one that is not in a turn is closed to make room for a new conversation, and after `server.idle_s`
without use (its variables are lost, and the model is told so on its next call). One in a turn is never closed:
when every toolbox is in a turn, a new conversation waits up to `server.busy_wait_s`, then gets `Busy`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from puyu.agent.factory import build_agent, build_toolbox, default_plugins, load_model
from puyu.agent.session import ChatSession
from puyu.agent.store import Store
from puyu.core.config import Settings, config_file
from puyu.core.messages import Event, Message
from puyu.models.base import ChatModel
from puyu.tools.base import Toolbox

RESERVE_S = 60.0
"""How long a toolbox handed out by `session()` is kept for its turn before that turn has started."""
_LOST = "variables and imports were lost; files in the work dir were kept"


class Busy(RuntimeError):
    """Every interpreter of the pool is in a turn; try again after `retry_after_s` seconds."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class _Live:
    key: tuple
    box: Toolbox
    turns: int = 0
    """Turns running now with this toolbox."""
    reserved: float = field(default_factory=time.monotonic)
    """When `session()` last handed it out, until that turn starts (then 0)."""
    used: float = field(default_factory=time.monotonic)

    def closable(self, now: float) -> bool:
        busy = self.box.interpreter is not None and self.box.interpreter.busy
        return self.turns == 0 and not busy and now - self.reserved > RESERVE_S


class Runtime:
    def __init__(self, settings: Settings, model: ChatModel | None = None):
        self.settings = settings
        self.store = Store(settings.store_path)
        self._model = model
        self._live: dict[str, _Live] = {}  # dicts keep order: the last is the most recently handed out
        self._told: dict[str, str] = {}  # conversation -> why its interpreter was closed, for its next call
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle, name="puyu-reaper", daemon=True)
        self._reaper.start()

    @property
    def model(self) -> ChatModel:
        with self._lock:
            if self._model is None:
                self._model = load_model(self.settings.model)
            return self._model

    def workdir(self, conversation_id: str) -> Path:
        """The conversation's work dir (made on first use)."""
        path = self.settings.conversation_dir(conversation_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def toolbox(self, conversation_id: str, settings: Settings) -> Toolbox:
        """The conversation's toolbox, kept for a turn that starts within RESERVE_S. Raises Busy."""
        agent = settings.agent
        # the default plugins can change under a conversation (knowledge_search joins once a document is indexed)
        card = self.model.card  # the model's default tools; taken before the lock, which loading the model takes
        plugins = default_plugins(card, self.settings.knowledge_dir) if agent.tools is None else agent.tools
        key = (None if plugins is None else tuple(sorted(plugins)), agent.interpreter, settings.sandbox,
               None if agent.knowledge is None else tuple(agent.knowledge), agent.vlm_path)
        closing = []
        try:
            with self._lock:
                live = self._live.pop(conversation_id, None)
                if live is not None and live.key != key and live.turns == 0:  # tools switched on or off: anew
                    closing.append(live.box)
                    live = None
                if live is None:
                    closing += self._make_room(conversation_id)
                    box = build_toolbox(agent, settings.sandbox, card, self.workdir(conversation_id),
                                        self.settings.knowledge_dir, hidden=self._hidden())
                    if conversation_id in self._told and box.interpreter is not None:
                        box.interpreter.tell(self._told.pop(conversation_id))
                    live = _Live(key, box)
                live.reserved = live.used = time.monotonic()
                self._live[conversation_id] = live
        finally:
            for old in closing:
                old.close()
        return live.box

    def session(self, conversation_id: str, settings: Settings | None = None,
                client_tools: list[dict] | None = None) -> ChatSession:
        """The conversation, ready to answer with `settings` (default: the runtime's own) and, beside its own tools,
        `client_tools` the caller runs itself (schemas; see Agent). Raises Busy."""
        settings = settings or self.settings
        box = self.toolbox(conversation_id, settings)
        agent = build_agent(self.model, box, settings.agent, settings.gen, client_tools=client_tools)
        return ChatSession(self.store, conversation_id, _InTurn(agent, self, conversation_id))

    def forget(self, conversation_id: str) -> None:
        """Close a conversation's interpreter (it restarts on the next message)."""
        with self._lock:
            live = self._live.pop(conversation_id, None)
            self._freed.notify_all()
        if live is not None:
            live.box.close()

    def close(self) -> None:
        self._closed.set()
        for cid in list(self._live):
            self.forget(cid)
        if self._model is not None:
            self._model.close()

    # ---- the pool ----------------------------------------------------------------------------------------------
    def _hidden(self) -> list[Path]:
        """What no conversation's code may see: the data dir (the store, the other conversations, the knowledge
        bases) and the user's config (it may hold keys)."""
        return [self.settings.data_path.resolve(), config_file().parent]

    def _make_room(self, conversation_id: str) -> list[Toolbox]:
        """Under the lock: close the least recently used toolbox that is not in a turn if the pool is full, waiting
        for one to leave its turn for at most busy_wait_s. Returns the toolboxes to close (outside the lock)."""
        server = self.settings.server
        deadline = time.monotonic() + server.busy_wait_s
        while len(self._live) >= server.pool_size:
            now = time.monotonic()
            idle = next((cid for cid, live in self._live.items() if live.closable(now)), None)
            if idle is not None:
                self._told[idle] = (f"[The Python session was stopped to make room for another conversation: "
                                    f"{_LOST}.]")
                return [self._live.pop(idle).box]
            if now >= deadline:
                raise Busy(f"all {server.pool_size} interpreters are in use; retry in a few seconds",
                           retry_after_s=max(1, round(server.busy_wait_s)))
            self._freed.wait(timeout=min(1.0, deadline - now))  # also wakes when a reservation runs out
        return []

    def _turn(self, conversation_id: str, delta: int) -> None:
        with self._lock:
            live = self._live.get(conversation_id)
            if live is not None:
                live.turns += delta
                live.used = time.monotonic()
                live.reserved = 0.0  # the turn it was kept for has come
            self._freed.notify_all()

    def _reap_idle(self) -> None:
        """Thread: close toolboxes idle for longer than server.idle_s."""
        idle_s = self.settings.server.idle_s
        while not self._closed.wait(timeout=min(30.0, idle_s / 4)):
            now, closing = time.monotonic(), []
            with self._lock:
                for cid, live in list(self._live.items()):
                    if live.closable(now) and now - live.used > idle_s:
                        self._told[cid] = (f"[The Python session was stopped after {idle_s:g} s without use: "
                                           f"{_LOST}.]")
                        closing.append(self._live.pop(cid).box)
                if closing:
                    self._freed.notify_all()
            for box in closing:
                box.close()


class _InTurn:
    """The agent of a session, counting its runs as turns of its conversation, so that the pool never closes a
    toolbox in use."""

    def __init__(self, agent, runtime: Runtime, conversation_id: str):
        self._agent, self._runtime, self._id = agent, runtime, conversation_id

    def run(self, messages: list[Message], cancel: threading.Event | None = None) -> Iterator[Event]:
        self._runtime._turn(self._id, +1)
        try:
            yield from self._agent.run(messages, cancel)
        finally:
            self._runtime._turn(self._id, -1)

    def __getattr__(self, name: str):
        return getattr(self._agent, name)
