"""A conversation that remembers: loads its messages from the store, runs the agent, and writes every
message and event back as it happens. The UI, `puyu chat` and `puyu serve` all talk through this."""
from __future__ import annotations

import threading
from collections.abc import Iterator

from puyu.agent.agent import Agent
from puyu.agent.store import Store
from puyu.core.messages import Event, Message, TokenEvent


class ChatSession:
    def __init__(self, store: Store, conversation_id: str, agent: Agent):
        self.store = store
        self.id = conversation_id
        self.agent = agent

    def send(self, text: str, files: list[Message] = (), cancel: threading.Event | None = None) -> Iterator[Event]:
        """Add a user turn (and the `user name=file` turns announcing its uploads) and stream the answer."""
        turn = self.store.turn_count(self.id)
        messages = self.store.messages(self.id)
        if not messages and self.store.get(self.id).title == "New chat":
            self.store.rename(self.id, _title(text))
        new = [Message("user", text), *files]
        self.store.add_event(self.id, turn, {"type": "user", "text": text, "files": [f.content for f in files]})
        for m in new:
            self.store.add_message(self.id, m)
        messages += new
        yield from self._stream(messages, turn, cancel)

    def resume(self, results: list[Message], cancel: threading.Event | None = None) -> Iterator[Event]:
        """Add the results of tool calls the caller ran itself (environment turns answering the last assistant
        turn's call) and stream the agent's next steps, in the same turn."""
        for m in results:
            self.store.add_message(self.id, m)
        yield from self._stream(self.store.messages(self.id), max(self.store.turn_count(self.id) - 1, 0), cancel)

    def _stream(self, messages: list[Message], turn: int, cancel) -> Iterator[Event]:
        """Every event is written before it is handed on: what a user saw is on disk first."""
        saved, text_row = len(messages), None
        for event in self.agent.run(messages, cancel):
            if isinstance(event, TokenEvent):
                text_row = self.store.add_text(self.id, turn, event.text, text_row)
            else:
                for m in messages[saved:]:
                    self.store.add_message(self.id, m)
                saved, text_row = len(messages), None
                self.store.add_event(self.id, turn, event)
            yield event
        for m in messages[saved:]:
            self.store.add_message(self.id, m)

    def regenerate(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Answer the last user turn again."""
        return self.edit_last(None, cancel)

    def edit_last(self, text: str | None, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Replace the last user turn's text (None keeps it) and answer it again; its uploads stay."""
        turns = [d for _, d in self.store.events(self.id) if d["type"] == "user"]
        if not turns:
            raise ValueError("this conversation has no question to answer again")
        old = self.store.messages(self.id)
        start = max(i for i, m in enumerate(old) if m.role == "user" and m.name != "file")
        files = [m for m in old[start + 1:] if m.role == "user" and m.name == "file"]
        self.store.rewind(self.id, len(turns) - 1)
        return self.send(turns[-1]["text"] if text is None else text, files, cancel)


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text[:48] + ("…" if len(text) > 48 else "") or "New chat"
