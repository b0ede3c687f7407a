"""Starting an answer (checks, the conversation, the uploads, the agent's event stream) and ending it cleanly
however the page run ends: finished, stopped, interrupted by another click, or the tab closed.

The agent runs in a thread of its own from `begin` on, so the model is already working while the page draws the
sidebar and the conversation; the page takes its events from a queue. Waiting on that queue, the page wakes up
every `TICK_S` so that Streamlit can interrupt it (Stop) even while a tool runs for a long time.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from puyu.core.config import Settings
from puyu.core.messages import Event
from puyu.ui import backend, history, uploads
from puyu.ui import settings as ui_settings
from puyu.ui.i18n import t

LOCK_WAIT_S = 60.0
"""How long a new question waits for the conversation's previous answer to wind down."""
TICK_S = 0.25
"""How often the page wakes up while it waits for the agent's next event."""
_DONE = object()


@dataclass
class _Failed:
    error: BaseException


@dataclass
class Problem:
    """Why something did not work, in plain words; `detail` is what only an expert needs, one click away."""

    message: str
    detail: str = ""

    @classmethod
    def of(cls, key: str, error: BaseException | str, lang: str) -> Problem:
        """The text `key` with the error's first line in it (shortened); the whole error as the detail."""
        text = str(error).strip()
        first = text.splitlines()[0] if text else ""
        short = first if len(first) <= 160 else first[:160] + "…"
        return cls(t(lang, key, error=short), text if text != short else "")


class Refused(Exception):
    """The turn cannot start; `problems` say why, for the page."""

    def __init__(self, *problems: Problem):
        super().__init__(*problems)
        self.problems = list(problems)


@dataclass
class LiveTurn:
    conversation_id: str
    question: str
    attachments: list[str]
    notes: list[str]
    source: Iterator[Event]
    """The session's events; `begin` runs it in a thread."""
    cancel: threading.Event
    lock: threading.Lock
    replaces: bool = False
    """It answers the last question again (regenerate, edit), so it is drawn where the old answer was."""
    _queue: queue.Queue = field(default_factory=queue.Queue, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def begin(self) -> None:
        """Start the agent now, in a thread of its own."""
        def run():
            try:
                for event in self.source:
                    self._queue.put(event)
            except BaseException as e:  # noqa: BLE001 - handed to the page, which shows it
                self._queue.put(_Failed(e))
            finally:
                self._queue.put(_DONE)

        self._thread = threading.Thread(target=run, name=f"puyu-turn-{self.conversation_id}", daemon=True)
        self._thread.start()

    def events(self, tick: Callable[[], None]) -> Iterator[Event]:
        """The agent's events as they come; `tick` is called whenever none came for TICK_S."""
        while True:
            try:
                item = self._queue.get(timeout=TICK_S)
            except queue.Empty:
                tick()
                continue
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def finish(self) -> None:
        """Tell the agent to stop if it is still going, let it wind down so the session stores the turn as far as
        it got (ending with "Stopped."), and free the conversation. Safe after a complete answer too."""
        self.cancel.set()
        try:
            if self._thread is None:  # never begun: the session still records the question
                for _ in self.source:
                    pass
            else:
                self._thread.join()
        finally:
            self.lock.release()


def start(action: dict, settings: Settings, conversation_id: str | None, lang: str) -> LiveTurn:
    """Start answering `action` ({"kind": "send" | "regenerate" | "edit", "text", "files"}) in the conversation
    (a new one when None). The model must already be loaded (`backend.runtime`). Raises Refused."""
    files = action.get("files", [])
    problems = uploads.check_all(files, lang)
    if problems:
        raise Refused(*map(Problem, problems))
    store = backend.store(settings)
    created = conversation_id is None or store.get(conversation_id) is None
    if created:  # untitled: its first question names it, in whatever language
        conversation_id = store.create(settings=ui_settings.to_store(settings)).id
    lock = backend.turn_lock(conversation_id)
    if not lock.acquire(timeout=LOCK_WAIT_S):
        raise Refused(Problem(t(lang, "busy")))
    try:
        return _begin(action, settings, conversation_id, lang, lock, files)
    except (backend.BackendError, uploads.UploadError, ValueError) as e:
        lock.release()
        if created:
            backend.delete_conversation(settings, conversation_id)
        raise Refused(Problem.of("turn_failed", e, lang)) from None
    except BaseException:
        lock.release()
        raise


def _begin(action: dict, settings: Settings, cid: str, lang: str, lock: threading.Lock, files) -> LiveTurn:
    store = backend.store(settings)
    store.update_settings(cid, ui_settings.to_store(settings))
    # documents are indexed before the conversation's tools are set up, so knowledge_search is among them
    received = uploads.receive(files, settings, cid, lang) if action["kind"] == "send" else None
    chat = backend.open_chat(settings, cid)
    cancel = threading.Event()
    if received is not None:
        text = action["text"] or t(lang, "files_only")
        return LiveTurn(cid, text, received.paths, received.notes, chat.send(text, received.messages, cancel),
                        cancel, lock)
    turns = history.turns(store, cid)
    if not turns:
        raise ValueError(t(lang, "nothing_to_redo"))
    last = turns[-1]
    if action["kind"] == "regenerate":
        events = chat.regenerate(cancel)
        return LiveTurn(cid, last.text, last.attachments, [], events, cancel, lock, replaces=True)
    events = chat.edit_last(action["text"], cancel)
    return LiveTurn(cid, action["text"], last.attachments, [], events, cancel, lock, replaces=True)
