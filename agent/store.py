"""SQLite persistence: conversations, their messages (the agent's memory) and the events shown to the user.

Rows are written as things happen, each in its own short transaction, so that a killed process loses nothing
that was already shown. WAL mode lets the UI and `puyu serve` read while another process writes.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from puyu.core.messages import Event, Message, event_from_dict, event_to_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    data TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    turn INTEGER NOT NULL, data TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX IF NOT EXISTS events_by_conversation ON events(conversation_id, id);
"""


@dataclass
class Conversation:
    id: str
    title: str
    created: float
    updated: float
    settings: dict


class StoreError(RuntimeError):
    """The conversation store cannot be used (not a database, damaged, not writable); the message says what to do."""


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(_explain(self.path, e)) from None

    def check(self) -> None:
        """Raise StoreError if the file is no longer a healthy store (read afresh: this process's own connections
        may still hold pages from before it was damaged)."""
        try:
            db = sqlite3.connect(self.path, timeout=5)
            try:
                db.execute("SELECT count(*) FROM conversations").fetchone()
            finally:
                db.close()
        except sqlite3.Error as e:
            raise StoreError(_explain(self.path, e)) from None

    def _db(self) -> sqlite3.Connection:
        """One connection per thread (sqlite3 connections must not cross threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    # ---- conversations -------------------------------------------------------------------------------
    def create(self, title: str = "New chat", settings: dict | None = None) -> Conversation:
        now = time.time()
        conv = Conversation(uuid.uuid4().hex[:16], title, now, now, settings or {})
        self._db().execute("INSERT INTO conversations VALUES (?,?,?,?,?)",
                           (conv.id, conv.title, now, now, json.dumps(conv.settings)))
        return conv

    def get(self, conversation_id: str) -> Conversation | None:
        row = self._db().execute("SELECT * FROM conversations WHERE id=?", (conversation_id,)).fetchone()
        return Conversation(*row[:4], json.loads(row[4])) if row else None

    def list(self) -> list[Conversation]:
        rows = self._db().execute("SELECT * FROM conversations ORDER BY updated DESC").fetchall()
        return [Conversation(*r[:4], json.loads(r[4])) for r in rows]

    def rename(self, conversation_id: str, title: str) -> None:
        self._db().execute("UPDATE conversations SET title=?, updated=? WHERE id=?",
                           (title, time.time(), conversation_id))

    def update_settings(self, conversation_id: str, settings: dict) -> None:
        self._db().execute("UPDATE conversations SET settings=?, updated=? WHERE id=?",
                           (json.dumps(settings), time.time(), conversation_id))

    def delete(self, conversation_id: str) -> None:
        self._db().execute("DELETE FROM conversations WHERE id=?", (conversation_id,))

    def _touch(self, conversation_id: str) -> None:
        self._db().execute("UPDATE conversations SET updated=? WHERE id=?", (time.time(), conversation_id))

    # ---- messages (what the model remembers) ---------------------------------------------------------
    def add_message(self, conversation_id: str, message: Message) -> None:
        self._db().execute("INSERT INTO messages (conversation_id, data, created) VALUES (?,?,?)",
                           (conversation_id, json.dumps(message.to_dict(), ensure_ascii=False), time.time()))
        self._touch(conversation_id)

    def messages(self, conversation_id: str) -> list[Message]:
        rows = self._db().execute("SELECT data FROM messages WHERE conversation_id=? ORDER BY id",
                                  (conversation_id,)).fetchall()
        return [Message.from_dict(json.loads(r[0])) for r in rows]

    def rewind(self, conversation_id: str, turn: int) -> None:
        """Forget user turn number `turn` (0-based) and everything after it: for regenerate and edit."""
        for table in ("messages", "events"):
            ids = [r[0] for r in self._db().execute(
                f"SELECT id, data FROM {table} WHERE conversation_id=? ORDER BY id", (conversation_id,))
                if _is_turn_start(table, r[1])]
            if turn < len(ids):
                self._db().execute(f"DELETE FROM {table} WHERE conversation_id=? AND id>=?",
                                   (conversation_id, ids[turn]))

    # ---- events (what the user saw) -----------------------------------------------------------------
    def add_event(self, conversation_id: str, turn: int, event: Event | dict) -> None:
        data = event if isinstance(event, dict) else event_to_dict(event)
        self._db().execute("INSERT INTO events (conversation_id, turn, data, created) VALUES (?,?,?,?)",
                           (conversation_id, turn, json.dumps(data, ensure_ascii=False), time.time()))

    def add_text(self, conversation_id: str, turn: int, text: str, row: int | None) -> int:
        """Append streamed text to token row `row` (a new row when None); returns the row. Called before the
        text is shown, so what a user saw is on disk even if the process is killed the next moment."""
        db = self._db()
        if row is None:
            return db.execute("INSERT INTO events (conversation_id, turn, data, created) VALUES (?,?,?,?)",
                              (conversation_id, turn, json.dumps({"type": "token", "text": text}, ensure_ascii=False),
                               time.time())).lastrowid
        db.execute("UPDATE events SET data=json_set(data, '$.text', json_extract(data, '$.text') || ?) WHERE id=?",
                   (text, row))
        return row

    def events(self, conversation_id: str) -> list[tuple[int, dict]]:
        """(turn, event dict) in order. Besides agent events there are `{"type": "user", "text", "files"}`
        rows that open each turn."""
        rows = self._db().execute("SELECT turn, data FROM events WHERE conversation_id=? ORDER BY id",
                                  (conversation_id,)).fetchall()
        return [(t, json.loads(d)) for t, d in rows]

    def turn_count(self, conversation_id: str) -> int:
        row = self._db().execute("SELECT COALESCE(MAX(turn)+1, 0) FROM events WHERE conversation_id=?",
                                 (conversation_id,)).fetchone()
        return row[0]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _explain(path: Path, e: Exception) -> str:
    """One line: what is wrong with the store and how to get going again."""
    if isinstance(e, OSError):
        return (f"the data dir {path.parent} cannot be used ({e.strerror or e}); choose a writable folder with "
                "--data-dir")
    return (f"the conversation store {path} is damaged or not a puyu store ({e}); move it away (puyu starts a new "
            "one) or choose another --data-dir")


def _is_turn_start(table: str, data: str) -> bool:
    d = json.loads(data)
    if table == "events":
        return d.get("type") == "user"
    return d.get("role") == "user" and d.get("name") != "file"


def agent_event(data: dict) -> Event | None:
    """An event row as an agent Event (None for the `user` rows that open turns)."""
    return None if data.get("type") == "user" else event_from_dict(data)
