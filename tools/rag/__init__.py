"""Knowledge bases for retrieval-augmented answers: extract -> split -> embed -> store -> search."""
from puyu.tools.rag.extract import ExtractError
from puyu.tools.rag.store import FileRecord, IngestResult, KnowledgeBase, KnowledgeBases, KnowledgeError, Limits

__all__ = ["ExtractError", "FileRecord", "IngestResult", "KnowledgeBase", "KnowledgeBases", "KnowledgeError",
           "Limits"]
