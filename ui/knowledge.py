"""The app's knowledge bases: documents attached in the chat are indexed into one, and knowledge_search searches
those a conversation chose."""
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


def indexable(path: str | Path) -> bool:
    from puyu.tools.rag.extract import SUPPORTED

    return Path(path).suffix.lower() in SUPPORTED


def add_document(settings: Settings, path: Path):
    """Index an uploaded document in the upload knowledge base (created on first use); its IngestResult.
    Raises KnowledgeError or ExtractError with a message for the user."""
    kbs, name = knowledge(settings), upload_kb(settings)
    kb = kbs.get(name) if name in kbs.names() else kbs.create(name)
    return kb.add_file(path, Path(path).name)
