"""A client of `puyu serve` that stands in for the in-process Agent: the UI (or any ChatSession) can draw a
conversation whose agent, model and tools run on a server.

`RemoteAgent.run(messages)` has the Agent's contract: it answers the last user turn of `messages`, yields the
same Events (rebuilt from the `puyu_event` field of the server's SSE chunks) and appends the assistant and
environment turns to `messages` (copied from the server's stored conversation, so both sides hold the same
history). The server keeps the interpreter state of its conversation; when the local history no longer matches
what the server has (an edited or regenerated turn, a restarted server), a new server conversation is started
from the whole local history, and its interpreter starts empty.

Uploads travel inline (base64 in the `user name=file` message) and the server keeps its own copy, so the two
need not share a disk. Documents are indexed into the UI's knowledge bases, not the server's.
"""
from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from puyu.core.messages import ErrorEvent, Event, Message, TokenEvent, event_from_dict
from puyu.models.base import ModelError
from puyu.models.openai_api import OpenAIModel
from puyu.tools.files import MAX_UPLOAD_BYTES, uploaded_paths
from puyu.tools.workdir import PathRefused, WorkDir


class ServerError(RuntimeError):
    """`puyu serve` cannot be reached or refused the request; the message says which and why."""


class RemoteAgent:
    def __init__(self, url: str, *, api_key: str | None = None, links: Path | None = None, local_id: str = "",
                 sampling: dict | None = None, timeout_s: float = 300.0):
        """`links` is a JSON file remembering which server conversation each local one continues (so that a
        restarted UI picks up the same server conversation, with its interpreter variables)."""
        self.http = OpenAIModel(url, model="puyu", api_key=api_key, timeout_s=timeout_s, max_retries=1)
        self.http.server_hint = "puyu serve"
        self.url = self.http.root
        self.links, self.local_id = links, local_id
        self.sampling = {k: v for k, v in (sampling or {}).items() if v is not None}

    def check(self) -> None:
        """Raise ServerError unless the server answers (called before a page starts a conversation)."""
        try:
            self.http.get_json("/models")
        except ModelError as e:
            raise ServerError(f"puyu serve at {self.url} is not answering: {e}") from None

    def close(self) -> None:
        self.http.close()

    # ---- the Agent contract ------------------------------------------------------------------------------

    def run(self, messages: list[Message], cancel: threading.Event | None = None) -> Iterator[Event]:
        start = max((i for i, m in enumerate(messages) if m.role == "user" and m.name != "file"), default=None)
        if start is None:
            yield ErrorEvent("There is no question to answer.")
            return
        link = self._link()
        if link and link["messages"] == start:  # the server holds exactly the history before this turn
            cid, sent = link["id"], messages[start:]
        else:
            cid, sent = None, messages
        body = {"model": "puyu", "stream": True, "messages": [_wire(m) for m in sent], **self.sampling}
        if cid:
            body["conversation_id"] = cid
        chunks = self.http.stream_chunks("/chat/completions", body)
        try:
            for chunk in chunks:
                cid = chunk.get("conversation_id") or cid
                if cancel is not None and cancel.is_set():
                    yield ErrorEvent("Stopped.", kind="stopped")
                    return
                if "puyu_event" in chunk:
                    yield event_from_dict(chunk["puyu_event"])
                    continue
                if chunk.get("puyu_separator"):  # the blank line between two steps' texts in `content`
                    continue
                choices = chunk.get("choices") or [{}]
                text = (choices[0].get("delta") or {}).get("content")
                if text:
                    yield TokenEvent(text)
        except ModelError as e:
            yield ErrorEvent(f"puyu serve failed: {e}", kind="model")
            return
        finally:
            chunks.close()  # leaving early closes the connection, and the server stops its agent
            if cid:
                self._sync(cid, messages)

    # ---- keeping both histories the same -------------------------------------------------------------------

    def _sync(self, cid: str, messages: list[Message]) -> None:
        """Append what the server added after the user turn (its assistant and environment turns) to
        `messages`, and remember how far the two histories agree."""
        try:
            stored = self.http.get_json(f"/conversations/{cid}")["messages"]
        except (ModelError, KeyError, TypeError, httpx.HTTPError):
            self._save_link(None)  # unknown state: the next turn starts a fresh server conversation
            return
        server = [Message.from_dict(m) for m in stored]
        # Both sides store the same turns one for one, so what is new is what lies past the local copy.
        messages.extend(server[len(messages):])
        self._save_link({"id": cid, "messages": len(messages)})

    def _link(self) -> dict | None:
        if not self.links or not self.links.is_file():
            return None
        try:
            link = json.loads(self.links.read_text("utf-8")).get(self.local_id)
        except (OSError, ValueError, AttributeError):
            return None
        return link if isinstance(link, dict) and "id" in link and "messages" in link else None

    def _save_link(self, link: dict | None) -> None:
        if not self.links:
            return
        try:
            data = json.loads(self.links.read_text("utf-8")) if self.links.is_file() else {}
        except (OSError, ValueError):
            data = {}
        if link is None:
            data.pop(self.local_id, None)
        else:
            data[self.local_id] = link
        self.links.parent.mkdir(parents=True, exist_ok=True)
        self.links.write_text(json.dumps(data), "utf-8")


def _upload_bytes(path: Path) -> bytes | None:
    """An upload of the app's conversation (`<work dir>/uploads/<name>`, as it was announced), read through
    `WorkDir`; None when it is gone or not a regular file there."""
    try:
        return WorkDir(path.parent.parent).read(f"uploads/{path.name}", MAX_UPLOAD_BYTES)
    except PathRefused:
        return None


def _wire(m: Message) -> dict:
    """A stored message as the chat API carries it: tool results as `tool` turns, calls as their JSON, and
    uploads inline (the server saves them into its own copy of the conversation)."""
    if m.role == "user" and m.name == "file":
        inline = []
        for path in map(Path, uploaded_paths(m)):
            data = _upload_bytes(path)
            if data is not None:
                inline.append({"name": path.name, "data_base64": base64.b64encode(data).decode("ascii")})
        return {"role": "user", "name": "file", "content": json.dumps(inline)}
    role = {"environment": "tool"}.get(m.role, m.role)
    content = m.content
    if m.tool_call is not None:
        call = json.dumps({"name": m.tool_call.name, "parameters": m.tool_call.arguments}, ensure_ascii=False)
        content = f"{content}\n{call}".strip()
    return {"role": role, "content": content, **({"name": m.name} if m.name else {})}
