"""Knowledge bases on real files made here: a 3-page PDF (reportlab), a DOCX with a page break, Chinese
Markdown; retrieval with pages, re-indexing, deletion, corrupt files and limits; the knowledge_search tool."""
import json

import docx
import pytest
import torch
from puyu.tools.base import Toolbox
from puyu.tools.knowledge import KnowledgeSearch
from puyu.tools.rag import ExtractError, KnowledgeBases, KnowledgeError, Limits
from puyu.tools.rag.extract import extract
from puyu.tools.rag.search import _sparse_index, search, search_kb
from puyu.tools.rag.split import split_pages, tokenize
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from puyu.core.messages import ToolCall

torch.set_num_threads(1)

PDF_PAGES = [
    ["Annual report of Puyu Labs.", "The weather in the north was mild this year and the team moved offices."],
    ["Finance.", "Revenue grew by 12 percent to 4.2 million dollars in 2023, driven by licence sales."],
    ["Outlook.", "Next year the company plans to hire twenty engineers and open a lab in Shenzhen."],
]


def make_pdf(path, pages):
    c = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        for i, line in enumerate(lines):
            c.drawString(72, 780 - 18 * i, line)
        c.showPage()
    c.save()


def make_docx(path):
    doc = docx.Document()
    doc.add_heading("Onboarding guide", 1)
    doc.add_paragraph("New employees receive a laptop and a badge on their first day.")
    doc.add_page_break()
    doc.add_paragraph("The office cafeteria serves a vegetarian lunch every Wednesday.")
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "VPN", "rotates its password monthly"
    doc.save(str(path))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    make_pdf(src / "report.pdf", PDF_PAGES)
    make_docx(src / "guide.docx")
    notes = "# 笔记\n\n公司年会将在上海举行，员工可以携带家属参加。\n\n报销需要在三十天内提交发票。"
    (src / "notes.md").write_text(notes, encoding="utf-8")
    kbs = KnowledgeBases(tmp_path_factory.mktemp("kb"))
    kb = kbs.create("company")
    results = {f: kb.add_file(src / f) for f in ("report.pdf", "guide.docx", "notes.md")}
    return kbs, kb, src, results


def test_files_are_indexed_with_pages(library):
    _, kb, _, results = library
    assert results["report.pdf"].status == "added" and results["report.pdf"].pages == 3
    assert results["guide.docx"].pages == 2 and results["notes.md"].pages is None
    assert {f.name: f.chunks for f in kb.files()} == {n: r.chunks for n, r in results.items()}
    assert kb.count() == sum(r.chunks for r in results.values())


def test_question_finds_the_right_passage_and_page(library):
    _, kb, _, _ = library
    top = search([kb], "How much did revenue grow in 2023?", k=3)[0]
    assert (top.file, top.page) == ("report.pdf", 2) and "12 percent" in top.text and top.cite == "[report.pdf p.2]"
    lunch = search([kb], "When is the vegetarian lunch served?", k=3)[0]
    assert (lunch.file, lunch.page) == ("guide.docx", 2)
    vpn = search([kb], "VPN password", k=1)[0]
    assert "VPN | rotates its password monthly" in vpn.text  # table rows keep their cells together


def test_chinese_questions_are_found_by_the_bm25_half(library):
    _, kb, _, _ = library
    assert "上海" in search([kb], "年会在哪里举行？", k=1)[0].text
    sparse = search_kb(kb, "发票 报销", k=1, mode="sparse")
    assert sparse and sparse[0].file == "notes.md"


def test_posting_list_scores_equal_rank_bm25(library):
    _, kb, _, _ = library
    index = _sparse_index(kb)
    query = tokenize("How much did revenue grow? 年会在哪里 lunch lunch")
    assert index.scores(query).tolist() == pytest.approx(index.bm25.get_scores(query).tolist())
    assert index.scores(query).max() > 0


def test_reindexing_adds_nothing_and_new_versions_replace(library, tmp_path):
    _, kb, src, _ = library
    before = kb.count()
    again = kb.add_file(src / "report.pdf")
    assert again.status == "unchanged" and kb.count() == before
    (tmp_path / "copy.pdf").write_bytes((src / "report.pdf").read_bytes())
    assert kb.add_file(tmp_path / "copy.pdf").status == "unchanged" and kb.count() == before

    (tmp_path / "notes.md").write_text("# 笔记\n\n年会改在杭州举行。", encoding="utf-8")
    replaced = kb.add_file(tmp_path / "notes.md")
    assert replaced.status == "replaced" and kb.count() == before - 1 + replaced.chunks
    assert "杭州" in search([kb], "年会在哪里举行？", k=1)[0].text
    assert not any("上海" in h.text for h in search([kb], "年会 上海", k=5))
    kb.add_file(src / "notes.md")  # restore for the other tests


def test_delete_file_removes_its_chunks(library, tmp_path):
    kbs, _, _, _ = library
    scratch = kbs.create("scratch")
    (tmp_path / "a.txt").write_text("Zebras are striped animals of the African savanna.")
    (tmp_path / "b.txt").write_text("Penguins live in the southern hemisphere.")
    scratch.add_file(tmp_path / "a.txt")
    scratch.add_file(tmp_path / "b.txt")
    assert scratch.delete_file("a.txt") == 1
    assert [f.name for f in scratch.files()] == ["b.txt"] and scratch.count() == 1
    assert all(h.file == "b.txt" for h in search([scratch], "zebra stripes", k=5))
    with pytest.raises(KnowledgeError, match="no file 'a.txt'"):
        scratch.delete_file("a.txt")
    kbs.delete("scratch")
    assert "scratch" not in kbs.names()


def test_corrupt_and_unsupported_files_are_reported(library, tmp_path):
    _, kb, _, _ = library
    before = kb.count()
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    with pytest.raises(ExtractError, match="broken.pdf: not a readable PDF"):
        kb.add_file(tmp_path / "broken.pdf")
    (tmp_path / "tool.exe").write_bytes(b"MZ")
    with pytest.raises(KnowledgeError, match="unsupported file type .exe"):
        kb.add_file(tmp_path / "tool.exe")
    (tmp_path / "empty.pdf").write_bytes(b"")
    with pytest.raises(ExtractError):
        kb.add_file(tmp_path / "empty.pdf")
    assert kb.count() == before and "broken.pdf" not in {f.name for f in kb.files()}


def test_upload_limits(tmp_path):
    kbs = KnowledgeBases(tmp_path / "kb", Limits(max_file_bytes=200, max_files=1))
    kb = kbs.create("small")
    (tmp_path / "big.txt").write_text("word " * 100)
    with pytest.raises(KnowledgeError, match="files up to 0 MB|can be indexed"):
        kb.add_file(tmp_path / "big.txt")
    (tmp_path / "one.txt").write_text("first file")
    (tmp_path / "two.txt").write_text("second file")
    kb.add_file(tmp_path / "one.txt")
    with pytest.raises(KnowledgeError, match="already holds 1 files, the limit"):
        kb.add_file(tmp_path / "two.txt")
    with pytest.raises(KnowledgeError, match="not a valid knowledge base name"):
        kbs.create("../escape")


def test_knowledge_search_tool(library, tmp_path):
    kbs, _, _, _ = library
    box = Toolbox([KnowledgeSearch(kbs.root, tmp_path)])
    res = box.run(ToolCall("knowledge_search", {"query": "How much did revenue grow?", "top_k": 2}))
    assert res.ok and res.text.splitlines()[2].startswith("[report.pdf p.2] (score 1.00")
    assert "Cite them" in res.text
    one = box.run(ToolCall("knowledge_search", {"query": "lunch", "kb": "company", "top_k": 1}))
    assert "[guide.docx p.2]" in one.text
    assert "no knowledge base 'nope'" in box.run(ToolCall("knowledge_search", {"query": "x", "kb": "nope"})).text
    assert "top_k must be" in box.run(ToolCall("knowledge_search", {"query": "x", "top_k": 100})).text
    empty = Toolbox([KnowledgeSearch(tmp_path / "none")]).run(ToolCall("knowledge_search", {"query": "x"}))
    assert empty.ok and "no knowledge bases yet" in empty.text and empty.sources == []


def test_knowledge_search_results_carry_their_sources(library, tmp_path):
    """What the answer shows under it: the file, the page (or the Markdown section) and the passage."""
    kbs, _, _, _ = library
    box = Toolbox([KnowledgeSearch(kbs.root, tmp_path)])
    res = box.run(ToolCall("knowledge_search", {"query": "How much did revenue grow?", "top_k": 2}))
    top = res.sources[0]
    assert (top.file, top.page, top.knowledge_base) == ("report.pdf", 2, "company") and "12 percent" in top.passage
    assert len(res.sources) == res.text.count("(score ") and top.score == 1.0 and top.passage in res.text
    notes = box.run(ToolCall("knowledge_search", {"query": "年会 上海", "top_k": 1})).sources[0]
    assert (notes.file, notes.page, notes.section) == ("notes.md", None, "笔记")


def test_a_files_passages_can_be_previewed_in_order(library):
    _, kb, _, results = library
    passages = kb.passages("report.pdf")
    assert len(passages) == results["report.pdf"].chunks and "Annual report" in passages[0]
    assert len(kb.passages("report.pdf", limit=1)) == 1
    with pytest.raises(KnowledgeError):
        kb.passages("missing.pdf")


def test_a_conversation_searches_only_the_knowledge_bases_it_opened(tmp_path):
    kbs = KnowledgeBases(tmp_path / "kb")
    for name, text in [("work", "The secret code of the project is Falcon."),
                       ("private", "The secret code of my locker is 7419.")]:
        (tmp_path / f"{name}.md").write_text(text, encoding="utf-8")
        kbs.create(name).add_file(tmp_path / f"{name}.md")
    scoped = Toolbox([KnowledgeSearch(kbs.root, tmp_path, only=("work",))])
    hits = scoped.run(ToolCall("knowledge_search", {"query": "secret code", "top_k": 5})).text
    assert "[work.md" in hits and "private.md" not in hits
    refused = scoped.run(ToolCall("knowledge_search", {"query": "locker", "kb": "private"}))
    assert not refused.ok and "not open in this conversation" in refused.text
    everything = Toolbox([KnowledgeSearch(kbs.root, tmp_path)])
    assert "[private.md" in everything.run(ToolCall("knowledge_search", {"query": "secret code"})).text
    closed = Toolbox([KnowledgeSearch(kbs.root, tmp_path, only=())]).run(ToolCall("knowledge_search", {"query": "x"}))
    assert closed.ok and "No knowledge base is switched on" in closed.text


def test_extract_html_and_encodings(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>T</title><script>var secret = 1;</script><style>p {}</style></head>"
        "<body><h1>Heading</h1><p>First <b>bold</b> paragraph.</p><p>Second.</p></body></html>")
    text = extract(tmp_path / "page.html")[0].text
    assert "First bold paragraph." in text and "secret" not in text and "Heading\n" in text
    (tmp_path / "gbk.txt").write_bytes("中文编码测试".encode("gb18030"))
    assert extract(tmp_path / "gbk.txt")[0].text == "中文编码测试"
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01binary")
    with pytest.raises(ExtractError, match="binary"):
        extract(tmp_path / "bin.txt")


def test_split_keeps_chinese_sentences_whole():
    from puyu.tools.rag.extract import Page

    sentence = "这是一个关于检索增强生成的测试句子，用来检查切分。"  # 25 characters
    chunks = split_pages([Page(4, sentence * 60)])
    assert len(chunks) > 2 and all(len(c.text) <= 500 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks) and all(c.page == 4 for c in chunks)
    assert chunks[1].text.startswith(sentence)  # the overlap repeats whole sentences
    assert tokenize("Revenue grew 12%，年会在上海举行") == ["revenue", "grew", "12", "年会", "在", "上海", "举行"]


def test_ingest_report_message(library):
    _, _, _, results = library
    assert json.dumps(results["report.pdf"].__dict__)  # plain data for the UI
    assert results["report.pdf"].message == f"report.pdf: added, {results['report.pdf'].chunks} chunks from 3 pages."
