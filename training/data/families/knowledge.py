"""knowledge_search conversations: a small knowledge base of generated documents per split (facts drawn at
random, so held-out documents say other things), questions about them, and replies that quote the passage and
its citation. Every passage comes from really searching the base; items whose search misses are dropped."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from puyu.training.data.phrasing import phrasebook


@dataclass
class Fact:
    doc: str
    key: str
    value: str
    query: str
    """What the assistant searches for."""

    @property
    def lang(self) -> str:
        return "en" if re.match(r"[\x00-\x7f]+$", self.doc) else "zh"


_BOOK = phrasebook("knowledge")
_PRODUCTS = _BOOK.table("products")
_DOCUMENTS = _BOOK.table("documents")
"""File name -> text, with a {field} for each value `_docs` draws."""
_FACTS = _BOOK.table("facts")
QUESTION = _BOOK.slots("question")
"""By fact key; asked in the document's language."""
REPLY = _BOOK.table("reply")


def _docs(rng: random.Random) -> tuple[dict[str, str], list[Fact]]:
    """Documents (file name -> text) and the facts they hold."""
    v = {"vacation": rng.randint(10, 25), "remote": rng.randint(2, 4), "open": f"{rng.randint(7, 9)}:30",
         "battery": rng.randint(6, 30), "warranty": rng.randint(2, 5), "reset": rng.choice([5, 8, 10, 15]),
         "meal": rng.choice([30, 40, 50, 60]), "loan": rng.choice([14, 21, 28, 30]), "fine": rng.choice([0.1, 0.2, 0.5]),
         "nianjia": rng.randint(5, 20), "baoxiao": rng.choice([15, 30, 60]), "xuhang": rng.randint(8, 48),
         "baoxiu": rng.randint(1, 3), "yajin": rng.randint(1, 3), "zujin": rng.randrange(1500, 9000, 100)}
    product = rng.choice(_PRODUCTS)
    docs = {name: text.format(product=product, **v) for name, text in _DOCUMENTS.items()}
    return docs, [Fact(f["doc"], f["key"], str(v[f["key"]]), f["query"]) for f in _FACTS]


class KnowledgeBase:
    """A knowledge-base folder per split (`<root>/<split>`), built with puyu's own RAG store: real
    embeddings, real search. Held-out documents state other facts than the training ones."""

    def __init__(self, root: Path, scratch: Path):
        from puyu.tools.rag.store import KnowledgeBases
        self.root, self.facts = root, {}
        for split in ("train", "heldout"):
            docs, facts = _docs(random.Random(f"kb:{split}"))
            kb = KnowledgeBases(root / split).create("docs")
            for name, text in docs.items():
                path = scratch / split / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, "utf-8")
                kb.add_file(path)
            self.facts[split] = facts


def sentence_with(passages: str, doc: str, value: str) -> str | None:
    """The line of `doc`'s passage that states `value`, if the search returned that passage."""
    m = re.search(rf"^\[{re.escape(doc)}\] \(score[^\n]*\n(.*?)(?=\n\n\[|\Z)", passages, re.DOTALL | re.MULTILINE)
    if not m:
        return None
    for line in m.group(1).splitlines():
        if not line.startswith("#") and re.search(rf"(?<![\d.]){re.escape(value)}(?!\d|\.\d)", line):
            return line.strip()
    return None
