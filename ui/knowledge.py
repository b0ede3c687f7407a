"""The app's knowledge bases: documents attached in the chat are indexed into one, knowledge_search searches those
a conversation chose, and the sidebar lists, previews and deletes what they hold (ui/kb_panel.py)."""
from __future__ import annotations

from pathlib import Path

from puyu.core.config import Settings
from puyu.ui.settings import load_prefs, save_prefs

DEFAULT_KB = "documents"


def knowledge(settings: Settings):
    from puyu.tools.rag import KnowledgeBases

    return KnowledgeBases(settings.knowledge_dir)


def upload_kb(settings: Settings) -> str:
    """The knowledge base that documents attached in the chat go into."""
    return str(load_prefs(settings).get("kb") or DEFAULT_KB)


def set_upload_kb(settings: Settings, name: str) -> None:
    save_prefs(settings, kb=name)


def kb_names(settings: Settings) -> list[str]:
    return knowledge(settings).names()


def kb_files(settings: Settings, name: str) -> list:
    kbs = knowledge(settings)
    return kbs.get(name).files() if name in kbs.names() else []


def create_kb(settings: Settings, name: str) -> str:
    """Create a knowledge base (raises KnowledgeError for a bad name) and send uploads there."""
    kb = knowledge(settings).create(name)
    save_prefs(settings, kb=kb.name)
    return kb.name


def preview(settings: Settings, kb: str, name: str, limit: int) -> list[str]:
    """The first passages of a document, as indexed."""
    return knowledge(settings).get(kb).passages(name, limit)


def delete_document(settings: Settings, kb: str, name: str) -> int:
    """Remove a document from a knowledge base, its passages from the index; how many passages went."""
    return knowledge(settings).get(kb).delete_file(name)


def delete_kb(settings: Settings, kb: str) -> None:
    """Remove a knowledge base, its documents and their passages."""
    from puyu.tools.rag import KnowledgeError

    try:
        knowledge(settings).delete(kb)
    except KnowledgeError:
        pass  # already gone (another tab deleted it)


def indexable(path: str | Path) -> bool:
    from puyu.tools.rag.extract import SUPPORTED

    return Path(path).suffix.lower() in SUPPORTED


def add_document(settings: Settings, path: Path):
    """Index an uploaded document in the upload knowledge base (created on first use); its IngestResult.
    Raises KnowledgeError or ExtractError with a message for the user."""
    kbs, name = knowledge(settings), upload_kb(settings)
    kb = kbs.get(name) if name in kbs.names() else kbs.create(name)
    return kb.add_file(path, Path(path).name)
