"""Knowledge bases on disk: a persistent chromadb collection per base (chunk text, embedding, metadata)
plus a small manifest of its files. Layout under the data dir:

    <root>/chroma/              chromadb's PersistentClient (all bases)
    <root>/<base>/manifest.json {"name", "revision", "files": {file name: FileRecord}}

A file is identified by the SHA-256 of its bytes: the same content uploaded again adds nothing, and a
new version under the same name replaces the old chunks. Every change bumps `revision`, which tells
the search's in-memory BM25 index when to rebuild.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from puyu.tools.rag.embed import embed
from puyu.tools.rag.extract import SUPPORTED, extract
from puyu.tools.rag.split import split_pages, tokenize

_NAME = re.compile(r"^(?!\.)[\w\- .]{1,64}$")  # \w includes CJK letters
_BATCH = 2000  # below chromadb's max batch size


class KnowledgeError(ValueError):
    """A request the knowledge base refuses (limits, unknown names); the message is for the user."""


@dataclass
class Limits:
    max_file_bytes: int = 30 * 2**20
    """Largest file accepted for indexing."""
    max_files: int = 200
    """Files per knowledge base."""
    max_chunks_per_file: int = 5000
    """About 2.5 M characters of text at the default chunk size."""

    def __post_init__(self):
        if min(self.max_file_bytes, self.max_files, self.max_chunks_per_file) < 1:
            raise ValueError("limits must be positive")


@dataclass
class FileRecord:
    name: str
    sha256: str
    bytes: int
    pages: int | None
    chunks: int
    added: float


@dataclass
class IngestResult:
    file: str
    status: str  # "added", "replaced" or "unchanged"
    chunks: int
    pages: int | None
    message: str


_clients: dict[str, object] = {}
_locks: dict[str, threading.RLock] = {}
_global = threading.Lock()


def _client(path: Path):
    """One chromadb client per directory and process (chromadb refuses two with different settings)."""
    import chromadb
    from chromadb.config import Settings

    key = str(path.resolve())
    with _global:
        if key not in _clients:
            path.mkdir(parents=True, exist_ok=True)
            _clients[key] = chromadb.PersistentClient(path=key, settings=Settings(anonymized_telemetry=False))
        return _clients[key]


def _lock(path: Path) -> threading.RLock:
    with _global:
        return _locks.setdefault(str(path.resolve()), threading.RLock())


def check_name(name: str, what: str = "knowledge base") -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise KnowledgeError(f"{name!r} is not a valid {what} name: use 1-64 letters, digits, spaces, '-', '_' "
                             "or '.', not starting with '.'.")
    return name


class KnowledgeBase:
    def __init__(self, root: Path, name: str, limits: Limits):
        self.root, self.name, self.limits = root, name, limits
        self.dir = root / name
        self.lock = _lock(self.dir)
        # chromadb collection names allow only [a-zA-Z0-9._-]; the user's name may be Chinese
        self.collection = _client(root / "chroma").get_or_create_collection(
            "kb-" + hashlib.sha1(name.encode()).hexdigest()[:24], embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}})

    # ---- manifest ----
    def _read(self) -> dict:
        path = self.dir / "manifest.json"
        if not path.exists():
            return {"name": self.name, "revision": 0, "files": {}}
        return json.loads(path.read_text(encoding="utf-8"))

    def _write(self, manifest: dict) -> None:
        manifest["revision"] += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.dir / "manifest.json")  # atomic: readers never see half a manifest

    @property
    def revision(self) -> int:
        return self._read()["revision"]

    def files(self) -> list[FileRecord]:
        return [FileRecord(**r) for r in self._read()["files"].values()]

    # ---- changes ----
    def add_file(self, path: str | Path, name: str | None = None) -> IngestResult:
        """Index a file. `name` is the name users see and cite (default: the file's own name)."""
        path = Path(path)
        name = check_name(Path(name or path.name).name, "file")
        kind = Path(name).suffix.lower()
        if kind not in SUPPORTED:
            raise KnowledgeError(f"{name}: unsupported file type {kind or '(none)'}; "
                                 f"supported: {', '.join(SUPPORTED)}.")
        if not path.is_file():
            raise KnowledgeError(f"no such file: {path}")
        size = path.stat().st_size
        if size > self.limits.max_file_bytes:
            raise KnowledgeError(f"{name} is {size / 2**20:.1f} MB; files up to "
                                 f"{self.limits.max_file_bytes / 2**20:.0f} MB can be indexed.")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        with self.lock:
            manifest = self._read()
            same = next((r for r in manifest["files"].values() if r["sha256"] == sha), None)
            if same:
                note = "" if same["name"] == name else f" (as {same['name']})"
                return IngestResult(name, "unchanged", same["chunks"], same["pages"],
                                    f"{name} is already indexed{note}; nothing added.")
            replacing = name in manifest["files"]
            if not replacing and len(manifest["files"]) >= self.limits.max_files:
                raise KnowledgeError(f"knowledge base {self.name!r} already holds {self.limits.max_files} files, "
                                     "the limit; delete some first.")
            pages = extract(path, kind)
            chunks = split_pages(pages)
            if len(chunks) > self.limits.max_chunks_per_file:
                raise KnowledgeError(f"{name} gives {len(chunks)} chunks; the limit is "
                                     f"{self.limits.max_chunks_per_file} per file. Split the file.")
            vectors = embed([c.text for c in chunks])
            # also clears chunks that a crash left between an upsert and the manifest write
            self.collection.delete(where={"file": name})
            for start in range(0, len(chunks), _BATCH):
                part = chunks[start:start + _BATCH]
                self.collection.upsert(
                    ids=[f"{sha[:16]}-{c.index}" for c in part],
                    documents=[c.text for c in part],
                    embeddings=vectors[start:start + _BATCH],
                    metadatas=[{"file": name, "page": c.page or 0, "chunk": c.index, "sha": sha[:16],
                                "section": c.section or "", "tokens": " ".join(tokenize(c.text))} for c in part])
            paged = any(p.number for p in pages)
            n_pages = max(p.number for p in pages) if paged else None
            manifest["files"][name] = asdict(FileRecord(name, sha, size, n_pages, len(chunks), time.time()))
            self._write(manifest)
        status = "replaced" if replacing else "added"
        counted = f"{len(chunks)} chunk{'s' if len(chunks) != 1 else ''}"
        return IngestResult(name, status, len(chunks), n_pages,
                            f"{name}: {status}, {counted}" + (f" from {n_pages} pages." if paged else "."))

    def delete_file(self, name: str) -> int:
        """Remove a file and its chunks; returns how many chunks went."""
        with self.lock:
            manifest = self._read()
            if name not in manifest["files"]:
                known = ", ".join(manifest["files"]) or "none"
                raise KnowledgeError(f"no file {name!r} in {self.name!r}; files: {known}.")
            n = manifest["files"].pop(name)["chunks"]
            self.collection.delete(where={"file": name})
            self._write(manifest)
            return n

    def passages(self, name: str, limit: int = 5) -> list[str]:
        """The first `limit` passages of a file, in the order they appear in it: to preview what was indexed."""
        if name not in self._read()["files"]:
            raise KnowledgeError(f"no file {name!r} in {self.name!r}.")
        got = self.collection.get(where={"file": name}, include=["documents", "metadatas"])
        ordered = sorted(zip(got["metadatas"], got["documents"]), key=lambda pair: pair[0].get("chunk", 0))
        return [text for _, text in ordered[:limit]]

    def count(self) -> int:
        return self.collection.count()


class KnowledgeBases:
    """All of a user's knowledge bases under one data dir."""

    def __init__(self, root: str | Path, limits: Limits | None = None):
        self.root = Path(root)
        self.limits = limits or Limits()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "manifest.json").is_file())

    def create(self, name: str) -> KnowledgeBase:
        name = check_name(name)
        if name == "chroma":
            raise KnowledgeError("'chroma' is reserved for the vector store; choose another name.")
        kb = KnowledgeBase(self.root, name, self.limits)
        with kb.lock:
            if not (kb.dir / "manifest.json").exists():
                kb._write({"name": name, "revision": 0, "files": {}})
        return kb

    def get(self, name: str) -> KnowledgeBase:
        name = (name or "").strip()
        if name not in self.names():
            raise KnowledgeError(f"no knowledge base {name!r}; existing: {', '.join(self.names()) or 'none'}.")
        return KnowledgeBase(self.root, name, self.limits)

    def delete(self, name: str) -> None:
        kb = self.get(name)
        with kb.lock:
            _client(self.root / "chroma").delete_collection(kb.collection.name)
            shutil.rmtree(kb.dir)
