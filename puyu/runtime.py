"""What a running puyu holds: one model and one store shared by all conversations, and a toolbox (with its
interpreter) per conversation. The CLI, the app and `puyu serve` each keep one Runtime and ask it for sessions;
the agents themselves are built by `puyu.agent.factory`."""
from __future__ import annotations

import threading
from pathlib import Path

from puyu.agent.factory import build_agent, build_toolbox, default_plugins, load_model
from puyu.agent.session import ChatSession
from puyu.agent.store import Store
from puyu.core.config import Settings
from puyu.models.base import ChatModel
from puyu.tools.base import Toolbox

MAX_LIVE_TOOLBOXES = 32
"""Interpreters kept running at once; the least recently used conversation's is closed beyond this."""


class Runtime:
    def __init__(self, settings: Settings, model: ChatModel | None = None):
        self.settings = settings
        self.store = Store(settings.store_path)
        self._model = model
        self._toolboxes: dict[str, tuple[tuple, Toolbox]] = {}
        self._lock = threading.Lock()

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
        agent = settings.agent
        # the default plugins can change under a conversation (knowledge_search joins once a document is indexed)
        card = self.model.card  # the model's default tools; taken before the lock, which loading the model takes
        plugins = default_plugins(card, self.settings.knowledge_dir) if agent.tools is None else agent.tools
        key = (None if plugins is None else tuple(sorted(plugins)), agent.interpreter, settings.sandbox,
               None if agent.knowledge is None else tuple(agent.knowledge), agent.vlm_path)
        with self._lock:
            old_key, box = self._toolboxes.pop(conversation_id, (None, None))
            closing = []
            if box is not None and old_key != key:  # tools switched on or off: build it anew
                closing.append(box)
                box = None
            if box is None:
                box = build_toolbox(agent, settings.sandbox, card, self.workdir(conversation_id),
                                    self.settings.knowledge_dir)
            self._toolboxes[conversation_id] = (key, box)  # dicts keep order: the last is the most recently used
            idle = list(self._toolboxes)[:-MAX_LIVE_TOOLBOXES]
            closing += [self._toolboxes.pop(cid)[1] for cid in idle]
        for old in closing:
            old.close()
        return box

    def session(self, conversation_id: str, settings: Settings | None = None,
                client_tools: list[dict] | None = None) -> ChatSession:
        """The conversation, ready to answer with `settings` (default: the runtime's own) and, beside its own tools,
        `client_tools` the caller runs itself (schemas; see Agent)."""
        settings = settings or self.settings
        agent = build_agent(self.model, self.toolbox(conversation_id, settings), settings.agent, settings.gen,
                            client_tools=client_tools)
        return ChatSession(self.store, conversation_id, agent)

    def forget(self, conversation_id: str) -> None:
        """Close a conversation's interpreter (it restarts on the next message)."""
        with self._lock:
            _, box = self._toolboxes.pop(conversation_id, (None, None))
        if box is not None:
            box.close()

    def close(self) -> None:
        for cid in list(self._toolboxes):
            self.forget(cid)
        if self._model is not None:
            self._model.close()
