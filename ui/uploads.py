"""Files attached in the chat: checked first (type, size, count) with a message a person can act on, then saved
into the conversation's work dir by tools/files.py (where the interpreter and the image tools open them) and
announced to the model in a `user name=file` turn. Documents also go into a knowledge base, so that
`knowledge_search` finds them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from puyu.core.config import Settings
from puyu.core.messages import Message
from puyu.tools import files
from puyu.tools.workdir import PathRefused, WorkDir
from puyu.ui import knowledge
from puyu.ui.i18n import t

IMAGE_TYPES = tuple(s.lstrip(".") for s in files.IMAGE_TYPES)
DOC_TYPES = tuple(s.lstrip(".") for s in files.DOCUMENT_TYPES + files.TEXT_TYPES)
ACCEPTED = IMAGE_TYPES + DOC_TYPES
MAX_IMAGE_MB = 20
MAX_DOC_MB = files.MAX_UPLOAD_BYTES // 2**20
MAX_UPLOAD_MB = max(MAX_IMAGE_MB, MAX_DOC_MB)
"""What the browser lets through; the limit per kind is checked here."""
MAX_FILES = 10
"""Files attached to one question."""

UploadError = files.UploadError


class Upload(Protocol):
    """What Streamlit's UploadedFile offers and this module uses (tests pass plain objects)."""

    name: str

    def getvalue(self) -> bytes: ...


@dataclass
class Received:
    messages: list[Message] = field(default_factory=list)
    """The `user name=file` turn that tells the model about the files (none without files)."""
    paths: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What else happened (documents added to a knowledge base, or why not), for the page to show."""


def kind_of(name: str) -> str | None:
    ext = Path(name).suffix.lower().lstrip(".")
    return "image" if ext in IMAGE_TYPES else "document" if ext in DOC_TYPES else None


def check(name: str, size: int, lang: str) -> str | None:
    """Why this file is refused, or None."""
    kind = kind_of(name)
    if kind is None:
        return t(lang, "upload_type", name=name, images=", ".join(IMAGE_TYPES), docs=", ".join(DOC_TYPES))
    if size == 0:
        return t(lang, "upload_empty", name=name)
    limit = MAX_IMAGE_MB if kind == "image" else MAX_DOC_MB
    if size > limit * 2**20:
        return t(lang, "upload_size", name=name, size=size / 2**20, limit=limit,
                 kind=t(lang, "images" if kind == "image" else "documents"))
    return None


def check_all(uploads: list[Upload], lang: str) -> list[str]:
    if len(uploads) > MAX_FILES:
        return [t(lang, "upload_count", limit=MAX_FILES)]
    return [p for p in (check(f.name, len(f.getvalue()), lang) for f in uploads) if p]


def receive(uploads: list[Upload], settings: Settings, conversation_id: str, lang: str) -> Received:
    """Save the (already checked) files and say what became of them. Raises UploadError (nothing saved)."""
    out = Received()
    if not uploads:
        return out
    workdir = settings.conversation_dir(conversation_id)
    workdir.mkdir(parents=True, exist_ok=True)
    message = files.save_uploads(workdir,
                                 [(f.name, f.getvalue()) for f in uploads])
    out.messages.append(message)
    out.paths = files.uploaded_paths(message)
    for path in out.paths:
        if kind_of(path) == "document" and knowledge.indexable(path):
            out.notes.append(_index(settings, Path(path), lang, workdir))
    return out


def _index(settings: Settings, path: Path, lang: str, workdir: Path) -> str:
    """Index an upload from a private copy read through `WorkDir`: the interpreter's code shares the folder and may
    have put a link where the upload was."""
    from puyu.tools.rag import ExtractError, KnowledgeError

    try:
        with WorkDir(workdir).private_copy(path, files.MAX_UPLOAD_BYTES) as copy:
            result = knowledge.add_document(settings, copy)
    except (KnowledgeError, ExtractError, OSError, PathRefused) as e:
        return t(lang, "kb_failed", name=path.name, error=e)
    if result.status == "unchanged":  # the same bytes again, under any name: indexed once
        return t(lang, "already_in_kb", name=path.name, kb=knowledge.upload_kb(settings))
    return t(lang, "added_to_kb", name=path.name, kb=knowledge.upload_kb(settings), chunks=result.chunks)
