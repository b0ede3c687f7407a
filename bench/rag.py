"""Benchmark: knowledge-base ingestion speed and knowledge_search latency/recall at 10,000 chunks,
hybrid search against its two halves (dense-only MiniLM + chromadb, sparse-only BM25) in one run.

    python bench/rag.py --out runs/bench/rag.json

1. Ingestion: a --pdf-pages page PDF (reportlab, ~1,900 characters a page) through extract -> split ->
   embed -> store; pages per second, with the embedding share.
2. Search: a knowledge base of >= --chunks chunks built from real text (GSM8K questions in English and CMMLU
   questions in Chinese from ../shared/data; synthetic sentences where that is absent), then --queries
   queries, half English, half Chinese, each the first sentence (English) or first 20 characters (Chinese)
   of a random indexed chunk. A query counts as found when a top-5 passage contains that text. Latency is per call
   of `search_kb` (query embedding included), after one warm-up query that builds the BM25 index.
   Baseline for the sparse half: rank-bm25's BM25Okapi.get_scores over the same chunks and tokens, which scans
   every chunk.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODES = ("dense", "sparse", "hybrid")


def load_questions(rng: random.Random) -> tuple[list[str], list[str], str]:
    english, chinese = [], []
    for split in ("train", "test"):
        gsm = DATA / "gsm8k" / f"{split}.jsonl"
        if gsm.exists():
            english += [json.loads(line)["question"] for line in gsm.open(encoding="utf-8")]
    cmmlu = DATA / "cmmlu" / "test"
    if cmmlu.is_dir():
        for f in sorted(cmmlu.glob("*.csv")):
            with f.open(encoding="utf-8") as fh:
                chinese += [row["Question"] for row in csv.DictReader(fh) if len(row["Question"]) >= 20]
    if english and chinese:
        return english, chinese, "GSM8K questions (English) + CMMLU test questions (Chinese)"
    words = ["alpha", "beta", "gamma", "delta", "river", "stone", "market", "engine", "cloud", "paper", "garden", "signal"]
    hanzi = "天地人山水火木金土日月星风云雨雪花草鱼鸟春夏秋冬东西南北"
    english = [" ".join(rng.choice(words) for _ in range(14)) + f" case {i}." for i in range(9000)]
    chinese = ["".join(rng.choice(hanzi) for _ in range(30)) + f"第{i}题。" for i in range(9000)]
    return english, chinese, "synthetic sentences (../shared/data absent)"


def make_pdf(path: Path, pages: int, sentences: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    it = iter(sentences * 10)
    for _ in range(pages):
        y = 790
        text = c.beginText(50, y)
        while y > 60:
            line = next(it)[:95]
            text.textLine(line)
            y -= 14
        c.drawText(text)
        c.showPage()
    c.save()


def ingest(root: Path, pages: int, english: list[str]) -> dict:
    from puyu.tools.rag import KnowledgeBases, store
    from puyu.tools.rag import embed as embed_module

    pdf = root / "ingest.pdf"
    make_pdf(pdf, pages, english)
    kb = KnowledgeBases(root / "kb-ingest").create("ingest")
    embed_module.model()  # load once, outside the timing
    spent = {"embed_s": 0.0}
    real_embed = embed_module.embed

    def timed_embed(texts):
        t = time.perf_counter()
        try:
            return real_embed(texts)
        finally:
            spent["embed_s"] += time.perf_counter() - t

    store.embed = timed_embed  # the store's own reference, so that only its calls are timed
    try:
        t = time.perf_counter()
        res = kb.add_file(pdf)
        total = time.perf_counter() - t
    finally:
        store.embed = real_embed
    return {"pages": pages, "chunks": res.chunks, "seconds": round(total, 2), "pages_per_s": round(pages / total, 2),
            "embed_share": round(spent["embed_s"] / total, 2)}


def build_corpus(root: Path, n_chunks: int, english: list[str], chinese: list[str], rng: random.Random):
    """Text files of questions, each file one language, ~400 characters a paragraph, until the knowledge base
    holds `n_chunks`. An interrupted or finished build in `root` is continued, not redone."""
    from puyu.tools.rag import KnowledgeBases, Limits

    kbs = KnowledgeBases(root / "kb-search", Limits(max_file_bytes=2**30, max_chunks_per_file=10**6))
    kb = kbs.get("bench") if "bench" in kbs.names() else kbs.create("bench")
    t, i, before = time.perf_counter(), len(kb.files()), kb.count()
    if before:
        print(f"  continuing the index in {root}: {before} chunks already there", flush=True)
    while kb.count() < n_chunks:  # files of 250 paragraphs, alternating languages
        lang, pool = ("en", english) if i % 2 == 0 else ("zh", chinese)
        per_para = 2 if lang == "en" else 8  # English questions are ~200 characters, Chinese ones ~40
        picked = rng.sample(pool, min(len(pool), 250 * per_para))
        paras = ["".join(picked[j:j + per_para]) if lang == "zh" else " ".join(picked[j:j + per_para])
                 for j in range(0, len(picked), per_para)]
        path = root / f"part{i:02d}-{lang}.txt"
        path.write_text("\n\n".join(paras), encoding="utf-8")
        kb.add_file(path)
        i += 1
        print(f"  indexed {path.name}: {kb.count()} chunks, {time.perf_counter() - t:.0f} s", flush=True)
    return kb, {"seconds": round(time.perf_counter() - t, 1), "chunks_added": kb.count() - before}


def make_queries(kb, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(language, query) pairs: the first sentence (English) or first 20 characters (Chinese) of random chunks."""
    got = kb.collection.get(include=["documents", "metadatas"])
    by_lang: dict[str, list[str]] = {"en": [], "zh": []}
    for doc, meta in zip(got["documents"], got["metadatas"]):
        by_lang["en" if "-en." in meta["file"] else "zh"].append(doc)
    queries = []
    for lang, docs in by_lang.items():
        for doc in rng.sample(docs, n // 2):
            first = re.split(r"(?<=[.?!])\s", doc)[0]
            queries.append((lang, doc[:20] if lang == "zh" else (first if len(first) >= 25 else doc[:120])))
    return queries


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run_queries(kb, n: int, rng: random.Random) -> dict:
    from puyu.tools.rag.search import search_kb

    queries = make_queries(kb, n, rng)
    t = time.perf_counter()
    search_kb(kb, "warm up the BM25 index", 5)
    bm25_build_s = time.perf_counter() - t
    out = {"bm25_build_s": round(bm25_build_s, 2)}
    for mode in MODES:
        lat, found, by_lang = [], {"en": 0, "zh": 0}, {"en": [], "zh": []}
        for lang, q in queries:
            t = time.perf_counter()
            hits = search_kb(kb, q, 5, mode=mode)
            lat.append(time.perf_counter() - t)
            by_lang[lang].append(lat[-1])
            # the splitter may cut a question across two chunks: compare a short, whitespace-free prefix
            key = "".join(q.split())[:18]
            found[lang] += any(key in "".join(h.text.split()) for h in hits)
        half = n // 2
        out[mode] = {"p50_ms": round(statistics.median(lat) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
                     "p50_ms_en": round(statistics.median(by_lang["en"]) * 1000, 1),
                     "p50_ms_zh": round(statistics.median(by_lang["zh"]) * 1000, 1),
                     "recall5_en": round(found["en"] / half, 3), "recall5_zh": round(found["zh"] / half, 3)}
    # baseline for the sparse half: rank-bm25's own full scan (BM25Okapi.get_scores) instead of posting lists,
    # over the tokens the knowledge base stored with each chunk at indexing time
    from rank_bm25 import BM25Okapi

    from puyu.tools.rag.split import tokenize

    stored = kb.collection.get(include=["metadatas"])["metadatas"]
    bm25 = BM25Okapi([meta.get("tokens", "").split() for meta in stored])
    lat = []
    for _, q in queries:
        t = time.perf_counter()
        bm25.get_scores(tokenize(q)).argsort()
        lat.append(time.perf_counter() - t)
    out["bm25okapi_scan"] = {"p50_ms": round(statistics.median(lat) * 1000, 1),
                             "p95_ms": round(percentile(lat, 95) * 1000, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--pdf-pages", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1, help="torch threads while searching (one short query "
                    "gains nothing from more, and loses under load)")
    ap.add_argument("--build-threads", type=int, default=os.cpu_count() or 1, help="torch threads while indexing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--index-dir", type=Path, help="keep the search index here; a later run continues or "
                    "reuses it (default: a temporary directory)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import torch

    from puyu.tools.rag import embed as embed_module

    torch.set_num_threads(args.build_threads)
    rng = random.Random(args.seed)
    english, chinese, source = load_questions(rng)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("ingestion ...", flush=True)
        ing = ingest(root, args.pdf_pages, english)
        print(f"building a {args.chunks}-chunk knowledge base ...", flush=True)
        index_dir = args.index_dir or root
        index_dir.mkdir(parents=True, exist_ok=True)
        kb, build = build_corpus(index_dir, args.chunks, english, chinese, rng)
        torch.set_num_threads(args.threads)
        result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads "
                             f"{args.build_threads} indexing / {args.threads} searching, embedding on "
                             f"{embed_module.model().device}, load {os.getloadavg()[0]:.1f}",
                  "corpus": source, "ingest": ing, "search_kb_chunks": kb.count(),
                  "search_kb_build_this_run": build, "search": run_queries(kb, args.queries, rng)}
    table = Table(title=f"knowledge_search over {result['search_kb_chunks']} chunks ({args.queries} queries)")
    for col in ("mode", "p50 ms", "p95 ms", "p50 en", "p50 zh", "recall@5 en", "recall@5 zh"):
        table.add_column(col)
    for mode in MODES:
        r = result["search"][mode]
        table.add_row(mode, *(str(r[k]) for k in ("p50_ms", "p95_ms", "p50_ms_en", "p50_ms_zh", "recall5_en",
                                                   "recall5_zh")))
    r = result["search"]["bm25okapi_scan"]
    table.add_row("BM25Okapi scan (baseline)", str(r["p50_ms"]), str(r["p95_ms"]), "", "", "", "")
    console = Console()
    console.print(f"ingestion: {ing['pages']} PDF pages -> {ing['chunks']} chunks in {ing['seconds']} s = "
                  f"{ing['pages_per_s']} pages/s (embedding {ing['embed_share']:.0%} of it)")
    b = result["search_kb_build_this_run"]
    console.print(f"{result['search_kb_chunks']}-chunk index; this run added {b['chunks_added']} chunks in "
                  f"{b['seconds']} s; BM25 build {result['search']['bm25_build_s']} s (first query after a change)")
    console.print(table)
    console.print(result["machine"])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
