"""Text out of PDF, DOCX, HTML, Markdown and plain-text files, page by page where the format has pages."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files are reported once, by ExtractError
SUPPORTED = (".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt")
_BLOCK_TAGS = ["p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
               "section", "article", "table", "ul", "ol", "dt", "dd", "header", "footer"]


class ExtractError(ValueError):
    """The file could not be read as its type says; the message says why, for the user."""


@dataclass
class Page:
    number: int | None  # 1-based; None for formats without pages (Markdown, TXT, HTML)
    text: str


def extract(path: str | Path, kind: str | None = None) -> list[Page]:
    """`kind` is the file type as a suffix (".pdf"); by default the path's own suffix."""
    path = Path(path)
    kind = (kind or path.suffix).lower()
    if kind not in SUPPORTED:
        raise ExtractError(f"{path.name}: unsupported file type {kind or '(none)'}; "
                           f"supported: {', '.join(SUPPORTED)}.")
    reader = {".pdf": _pdf, ".docx": _docx, ".html": _html, ".htm": _html}.get(kind, _text)
    pages = [Page(p.number, _tidy(p.text)) for p in reader(path)]
    pages = [p for p in pages if p.text]
    if not pages:
        hint = " It may be a scanned PDF: run OCR on its pages first." if kind == ".pdf" else ""
        raise ExtractError(f"{path.name}: no text could be extracted.{hint}")
    return pages


def _tidy(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _pdf(path: Path) -> list[Page]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError(f"{path.name}: the PDF is password-protected.")
        pages = []
        for i, page in enumerate(reader.pages, start=1):
            try:
                pages.append(Page(i, page.extract_text() or ""))
            except Exception:  # one damaged page should not cost the rest of the document
                pages.append(Page(i, ""))
        return pages
    except ExtractError:
        raise
    except Exception as e:  # pypdf raises many types for broken files
        raise ExtractError(f"{path.name}: not a readable PDF ({type(e).__name__}: {e}).") from None


def _docx(path: Path) -> list[Page]:
    """DOCX has no stored pages; explicit page breaks (and, failing those, the breaks Word recorded when it
    last laid the document out) give page numbers. A document without either is one page."""
    import docx
    from docx.table import Table

    try:
        doc = docx.Document(str(path))
    except Exception as e:
        raise ExtractError(f"{path.name}: not a readable DOCX ({type(e).__name__}: {e}).") from None
    body = doc.element.body
    explicit = bool(body.xpath('.//w:br[@w:type="page"] | .//w:pageBreakBefore'))
    query = './/w:br[@w:type="page"] | ./w:pPr/w:pageBreakBefore' if explicit else ".//w:lastRenderedPageBreak"
    page, texts = 1, {1: []}
    for block in doc.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(c.text.strip() for c in row.cells) for row in block.rows]
            texts[page].append("\n".join(rows))
            continue
        page += len(block._p.xpath(query))
        texts.setdefault(page, []).append(block.text)
    return [Page(n, "\n".join(t)) for n, t in texts.items()]


def _html(path: Path) -> list[Page]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "lxml")  # bytes: bs4 detects the encoding
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.append("\n")  # keep paragraphs apart without splitting inline text
    return [Page(None, soup.get_text())]


def _text(path: Path) -> list[Page]:
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return [Page(None, data.decode("utf-16"))]
    if b"\x00" in data[:8192]:
        raise ExtractError(f"{path.name}: looks like a binary file, not text.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return [Page(None, data.decode(encoding))]
        except UnicodeDecodeError:
            continue
    return [Page(None, data.decode("latin-1"))]
