"""Pages -> overlapping chunks, with separators that end sentences in Chinese as well as in English;
chunks -> word tokens for BM25."""
from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass

import jieba
from langchain_text_splitters import RecursiveCharacterTextSplitter

from puyu.tools.rag.extract import Page

CHUNK_CHARS = 500
OVERLAP_CHARS = 80
_WORD = re.compile(r"\w")
_PUNCT = string.punctuation + "，。！？；：、（）《》“”‘’"
jieba.setLogLevel(logging.WARNING)
# Coarse to fine: paragraphs, lines, sentence ends (。！？ are Chinese full stops), clauses, words, characters.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "；", "; ", "，", ", ", " ", ""]


_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)  # a Markdown (ATX) heading line


@dataclass
class Chunk:
    text: str
    page: int | None
    index: int  # position of the chunk in its file
    section: str | None = None
    """The last Markdown heading at or before the chunk's start: where it is, for files without pages."""


def split_pages(pages: list[Page], chunk_chars: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """Each page is split on its own, so that every chunk has exactly one page to cite."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_chars, chunk_overlap=overlap,
                                              separators=SEPARATORS, keep_separator="end", add_start_index=True)
    chunks: list[Chunk] = []
    for page in pages:
        headings = [(m.start(), m.group(1)) for m in _HEADING.finditer(page.text)]
        for doc in splitter.create_documents([page.text]):
            if doc.page_content.strip():
                start = doc.metadata["start_index"]
                section = next((title for at, title in reversed(headings) if at <= start), None)
                chunks.append(Chunk(doc.page_content.strip(), page.number, len(chunks), section))
    return chunks


def tokenize(text: str) -> list[str]:
    """jieba splits Chinese into words and leaves English words whole; punctuation is dropped ("12%" -> "12")."""
    return [t.strip(_PUNCT) for t in jieba.lcut_for_search(text.lower()) if _WORD.search(t)]
