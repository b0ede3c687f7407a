"""The `knowledge_search` tool: hybrid search over the user's knowledge bases, passages ready to cite."""
from pathlib import Path

from agentlego.types import Annotated, Info

from puyu.core.messages import Source
from puyu.tools.common import PuyuTool, ToolError
from puyu.tools.rag.search import Hit, format_hits, search
from puyu.tools.rag.store import KnowledgeBases, KnowledgeError

MAX_K = 20


class KnowledgeSearch(PuyuTool):
    default_desc = ("Search the user's knowledge bases (their uploaded PDF, Word, Markdown, HTML and text files) "
                    "and return the most relevant passages with file name, page and score. Cite passages in "
                    "your answer as [file p.N]. Optional: kb (one knowledge base's name; default all), top_k "
                    "(default 5).")
    tool_name = "knowledge_search"

    def __init__(self, kb_dir: str | Path, workdir: str | Path | None = None, only: tuple[str, ...] | None = None):
        """`only` limits the search to these knowledge bases (a conversation's choice); None allows all."""
        super().__init__(workdir)
        self.kbs = KnowledgeBases(kb_dir)
        self.only = None if only is None else tuple(only)
        self._found: tuple[str, list[Hit]] = ("", [])
        """The last search's text and its passages: `read_sources` hands them on with the tool's result."""

    def read_sources(self, text: str) -> list[Source]:
        """The passages behind `text` (this tool's last output), for the answer to show as its sources."""
        said, hits = self._found
        if said != text:
            return []
        return [Source(h.file, h.text, h.page, h.section, h.kb, h.score) for h in hits]

    def allowed(self) -> list[str]:
        names = self.kbs.names()
        return names if self.only is None else [n for n in names if n in self.only]

    def apply(
        self,
        query: Annotated[str, Info("What to look for, in English or Chinese.")],
        kb: Annotated[str, Info("Name of one knowledge base to search; empty searches all of them.")] = "",
        top_k: Annotated[int, Info(f"How many passages to return (1-{MAX_K}).")] = 5,
    ) -> Annotated[str, Info("The passages, each headed by its citation")]:
        if not query.strip():
            raise ToolError("query is empty.")
        if not 1 <= top_k <= MAX_K:
            raise ToolError(f"top_k must be 1..{MAX_K}, got {top_k}.")
        allowed = self.allowed()
        if kb.strip() and kb.strip() in self.kbs.names() and kb.strip() not in allowed:
            known = ", ".join(allowed) or "none"
            raise ToolError(f"knowledge base {kb.strip()!r} is not open in this conversation (open: {known}).")
        try:
            bases = [self.kbs.get(n) for n in ([kb.strip()] if kb.strip() else allowed)]
        except KnowledgeError as e:
            raise ToolError(str(e)) from None
        if not bases:
            if self.only is not None and self.kbs.names():
                return "No knowledge base is switched on for this conversation: the user can choose some in Settings."
            return "There are no knowledge bases yet: the user can create one and upload files to it."
        hits = search(bases, query, top_k)
        text = format_hits(query, hits)
        self._found = (text, hits)
        return text
