"""SQLite persistence: conversations, their messages (the agent's memory) and the events shown to the user.

Rows are written as things happen, each in its own short transaction, so that a killed process loses nothing
that was already shown. WAL mode lets the UI and `puyu serve` read while another process writes.

A turn answered again (regenerated, or its question edited) keeps its earlier answers as *versions*: the one on
show lives in `messages` and `events` like any turn; the others wait in `versions`, each holding the rest of the
conversation as it was from that turn on (later turns and their own versions included), until it is shown again.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
CREATE TABLE IF NOT EXISTS versions (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    turn INTEGER NOT NULL, n INTEGER NOT NULL, tail TEXT, created REAL NOT NULL,
    PRIMARY KEY (conversation_id, turn, n));
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX IF NOT EXISTS events_by_conversation ON events(conversation_id, id);
"""
UNTITLED = ""
"""The title of a conversation that has none yet (the app shows it in the user's language)."""
AGENT_EVENTS = ("token", "tool_call", "tool_result", "final", "error")
"""Event rows that are agent Events; a turn also has a `user` row that opens it, and maybe a `feedback` row."""


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
    def create(self, title: str = UNTITLED, settings: dict | None = None) -> Conversation:
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

    def search(self, query: str) -> list[Conversation]:
        """Conversations whose title, questions or answers contain `query` (case-insensitive for Latin letters),
        newest first."""
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db().execute(
            "SELECT * FROM conversations c WHERE c.title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM events e "
            "WHERE e.conversation_id = c.id AND json_extract(e.data, '$.type') IN ('user', 'token', 'final') "
            "AND json_extract(e.data, '$.text') LIKE ?1 ESCAPE '\\') ORDER BY c.updated DESC", (like,)).fetchall()
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
        """Forget user turn number `turn` (0-based) and everything after it."""
        with self._transaction():
            self._take_tail(conversation_id, turn)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _take_tail(self, conversation_id: str, turn: int) -> str:
        """Remove turn `turn` and everything after it (with the versions of later turns); return them as JSON."""
        db, cid = self._db(), conversation_id
        starts = [i for i, data in db.execute("SELECT id, data FROM messages WHERE conversation_id=? ORDER BY id",
                                              (cid,)) if _is_turn_start(data)]
        first = starts[turn] if turn < len(starts) else None
        messages = [] if first is None else [json.loads(d) for d, in db.execute(
            "SELECT data FROM messages WHERE conversation_id=? AND id>=? ORDER BY id", (cid, first))]
        events = [[t, json.loads(d)] for t, d in db.execute(
            "SELECT turn, data FROM events WHERE conversation_id=? AND turn>=? ORDER BY id", (cid, turn))]
        versions = db.execute("SELECT turn, n, tail FROM versions WHERE conversation_id=? AND turn>? ORDER BY turn, n",
                              (cid, turn)).fetchall()
        if first is not None:
            db.execute("DELETE FROM messages WHERE conversation_id=? AND id>=?", (cid, first))
        db.execute("DELETE FROM events WHERE conversation_id=? AND turn>=?", (cid, turn))
        db.execute("DELETE FROM versions WHERE conversation_id=? AND turn>?", (cid, turn))
        return json.dumps({"messages": messages, "events": events, "versions": versions}, ensure_ascii=False)

    def _put_tail(self, conversation_id: str, tail: str) -> None:
        db, data, now = self._db(), json.loads(tail), time.time()
        db.executemany("INSERT INTO messages (conversation_id, data, created) VALUES (?,?,?)",
                       [(conversation_id, json.dumps(m, ensure_ascii=False), now) for m in data["messages"]])
        db.executemany("INSERT INTO events (conversation_id, turn, data, created) VALUES (?,?,?,?)",
                       [(conversation_id, t, json.dumps(d, ensure_ascii=False), now) for t, d in data["events"]])
        db.executemany("INSERT INTO versions VALUES (?,?,?,?,?)",
                       [(conversation_id, t, n, v, now) for t, n, v in data["versions"]])

    # ---- versions (earlier answers of a turn) -------------------------------------------------------
    def branch(self, conversation_id: str, turn: int) -> None:
        """Keep turn `turn` and everything after it as a version of that turn, and clear the way for a new one
        (regenerate, edit): the new answer becomes the last version, on show."""
        with self._transaction() as db:
            tail = self._take_tail(conversation_id, turn)
            ns = [n for n, in db.execute("SELECT n FROM versions WHERE conversation_id=? AND turn=?",
                                         (conversation_id, turn))]
            if ns:
                db.execute("UPDATE versions SET tail=? WHERE conversation_id=? AND turn=? AND tail IS NULL",
                           (tail, conversation_id, turn))
            else:
                db.execute("INSERT INTO versions VALUES (?,?,1,?,?)", (conversation_id, turn, tail, time.time()))
            db.execute("INSERT INTO versions VALUES (?,?,?,NULL,?)",
                       (conversation_id, turn, max(ns, default=1) + 1, time.time()))

    def versions(self, conversation_id: str) -> dict[int, tuple[int, int]]:
        """{turn: (the version on show, how many there are)} for the turns that have more than one."""
        rows = self._db().execute("SELECT turn, n, tail IS NULL FROM versions WHERE conversation_id=?",
                                  (conversation_id,)).fetchall()
        out: dict[int, tuple[int, int]] = {}
        for turn, n, shown in rows:
            current, count = out.get(turn, (0, 0))
            out[turn] = (n if shown else current, count + 1)
        return out

    def hidden_versions(self, conversation_id: str) -> list[tuple[int, dict]]:
        """(turn, tail) of each version not on show: `tail` is the conversation from that turn on as it was,
        {"messages": [message dicts], "events": [[turn, event dict]], "versions": [[turn, n, tail JSON or None]]}
        (the versions of its own later turns, in the same form)."""
        rows = self._db().execute("SELECT turn, tail FROM versions WHERE conversation_id=? AND tail IS NOT NULL "
                                  "ORDER BY turn, n", (conversation_id,)).fetchall()
        return [(turn, json.loads(tail)) for turn, tail in rows]

    def show_version(self, conversation_id: str, turn: int, n: int) -> None:
        """Put version `n` (1-based) of turn `turn` on show; the one shown until now becomes a version again."""
        with self._transaction() as db:
            rows = dict(db.execute("SELECT n, tail FROM versions WHERE conversation_id=? AND turn=?",
                                   (conversation_id, turn)).fetchall())
            if n not in rows:
                raise ValueError(f"turn {turn} has no version {n}")
            if rows[n] is None:
                return
            current = next(k for k, tail in rows.items() if tail is None)
            db.execute("UPDATE versions SET tail=? WHERE conversation_id=? AND turn=? AND n=?",
                       (self._take_tail(conversation_id, turn), conversation_id, turn, current))
            self._put_tail(conversation_id, rows[n])
            db.execute("UPDATE versions SET tail=NULL WHERE conversation_id=? AND turn=? AND n=?",
                       (conversation_id, turn, n))
        self._touch(conversation_id)

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

    def set_feedback(self, conversation_id: str, turn: int, rating: str | None, comment: str = "") -> None:
        """The user's verdict on the answer of turn `turn`: "up", "down" or None, and an optional comment. Kept
        as a row of that turn, so it moves with the answer when the turn has versions."""
        if rating not in ("up", "down", None):
            raise ValueError(f"rating must be 'up', 'down' or None, not {rating!r}")
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE conversation_id=? AND turn=? AND json_extract(data, '$.type')="
                       "'feedback'", (conversation_id, turn))
            if rating is not None or comment.strip():
                self.add_event(conversation_id, turn, {"type": "feedback", "rating": rating, "comment": comment.strip()})

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


def _is_turn_start(data: str) -> bool:
    """Whether a message row opens a user turn (a question, not the `user name=file` turn of its uploads)."""
    d = json.loads(data)
    return d.get("role") == "user" and d.get("name") != "file"


def agent_event(data: dict) -> Event | None:
    """An event row as an agent Event (None for the `user` rows that open turns and the `feedback` rows)."""
    return event_from_dict(data) if data.get("type") in AGENT_EVENTS else None
