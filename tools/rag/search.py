"""Hybrid retrieval: dense (MiniLM vectors in chromadb) and sparse (BM25 over jieba tokens), fused by
reciprocal rank fusion. MiniLM only knows English, so BM25 carries Chinese queries; RRF needs no score
calibration between the two lists, only their ranks."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps
from rank_bm25 import BM25Okapi

from puyu.tools.rag.embed import embed
from puyu.tools.rag.split import tokenize
from puyu.tools.rag.store import KnowledgeBase

RRF_K = 60
CANDIDATES = 30  # per retriever, before fusion
MIN_COSINE = 0.2  # MiniLM similarity below which a dense hit is taken as unrelated
MODES = ("hybrid", "dense", "sparse")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass
class Hit:
    kb: str
    file: str
    page: int | None
    text: str
    score: float  # fused score, 1.0 = ranked first by both retrievers
    id: str
    section: str | None = None

    @property
    def cite(self) -> str:
        return f"[{self.file} p.{self.page}]" if self.page else f"[{self.file}]"


class _Sparse:
    """BM25 over one knowledge base, held in memory and rebuilt when the base's revision changes.
    rank-bm25 computes the statistics (idf, lengths); scoring reads one column of a sparse term-document
    matrix per query word, so a query costs what its words occur, not the size of the corpus
    (BM25Okapi.get_scores loops over every chunk in Python: 13x slower at 10,200 chunks, see bench/rag.py)."""

    def __init__(self, kb: KnowledgeBase, revision: int):
        got = kb.collection.get(include=["documents", "metadatas"])
        self.revision = revision
        self.ids, self.docs, self.metas = got["ids"], got["documents"], got["metadatas"]
        corpus = [m.get("tokens", "").split() for m in self.metas]
        self.bm25 = BM25Okapi(corpus) if any(corpus) else None
        if self.bm25 is None:
            return
        bm = self.bm25
        self.vocab = {w: j for j, w in enumerate(bm.idf)}
        indptr, indices, tfs = [0], [], []
        for freqs in bm.doc_freqs:
            indices.extend(map(self.vocab.__getitem__, freqs))
            tfs.extend(freqs.values())
            indptr.append(len(indices))
        self.tf = sps.csr_matrix((np.array(tfs, dtype=float), np.array(indices), np.array(indptr)),
                                 shape=(len(corpus), len(self.vocab))).tocsc()
        # each chunk's length normalisation, k1 * (1 - b + b * len / average len)
        self.norm = bm.k1 * (1 - bm.b + bm.b * np.asarray(bm.doc_len, dtype=float) / bm.avgdl)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """The same numbers as BM25Okapi.get_scores."""
        bm, out = self.bm25, np.zeros(len(self.ids))
        for word in query_tokens:
            j = self.vocab.get(word)
            if j is None:
                continue
            start, stop = self.tf.indptr[j], self.tf.indptr[j + 1]
            rows, tf = self.tf.indices[start:stop], self.tf.data[start:stop]
            out[rows] += bm.idf[word] * tf * (bm.k1 + 1) / (tf + self.norm[rows])
        return out

    def top(self, query_tokens: list[str], n: int) -> list[int]:
        if self.bm25 is None or not query_tokens:
            return []
        scores = self.scores(query_tokens)
        best = np.argsort(-scores)[:n]
        return [int(i) for i in best if scores[i] > 0]


_sparse: dict[str, _Sparse] = {}
_sparse_lock = threading.Lock()


def _sparse_index(kb: KnowledgeBase) -> _Sparse:
    revision, key = kb.revision, str(kb.dir.resolve())
    with _sparse_lock:
        index = _sparse.get(key)
        if index is None or index.revision != revision:
            index = _sparse[key] = _Sparse(kb, revision)
        return index


def dense_weight(query: str) -> float:
    """How much to trust MiniLM for this query: fully for English, not at all for mostly-Chinese text,
    whose MiniLM vectors are noise that would push BM25's right answers down the fused list."""
    cjk, latin = len(_CJK.findall(query)), len(_LATIN.findall(query))
    return 1.0 if cjk <= latin else 0.0


def search_kb(kb: KnowledgeBase, query: str, k: int = 5, mode: str = "hybrid",
              query_vector: np.ndarray | None = None) -> list[Hit]:
    """`mode` is hybrid, dense or sparse (the last two are the baselines the benchmark compares)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    n = kb.count()
    if n == 0:
        return []
    ranked: list[tuple[float, list[str]]] = []  # (weight, ids best first)
    found: dict[str, tuple[str, dict]] = {}
    if mode == "dense" or (mode == "hybrid" and dense_weight(query) > 0):
        vec = embed([query]) if query_vector is None else query_vector[None, :]
        res = kb.collection.query(query_embeddings=vec, n_results=min(CANDIDATES, n),
                                  include=["documents", "metadatas", "distances"])
        # nearest neighbours exist for any query; unrelated ones are not passages worth citing
        keep = [j for j, d in enumerate(res["distances"][0]) if 1 - d >= MIN_COSINE]
        ids = [res["ids"][0][j] for j in keep]
        found.update((res["ids"][0][j], (res["documents"][0][j], res["metadatas"][0][j])) for j in keep)
        ranked.append((dense_weight(query) if mode == "hybrid" else 1.0, ids))
    if mode in ("hybrid", "sparse"):
        sparse = _sparse_index(kb)
        rows = sparse.top(tokenize(query), CANDIDATES)
        ids = [sparse.ids[i] for i in rows]
        found.update((sparse.ids[i], (sparse.docs[i], sparse.metas[i])) for i in rows)
        ranked.append((1.0, ids))
    scores: dict[str, float] = {}
    for weight, ids in ranked:
        for rank, id_ in enumerate(ids):
            scores[id_] = scores.get(id_, 0.0) + weight / (RRF_K + rank + 1)
    best_possible = sum(w for w, _ in ranked) / (RRF_K + 1)
    top = sorted(scores, key=scores.get, reverse=True)[:k]
    return [Hit(kb.name, found[i][1]["file"], found[i][1].get("page") or None, found[i][0],
                round(scores[i] / best_possible, 3), i, found[i][1].get("section") or None) for i in top]


def search(kbs: list[KnowledgeBase], query: str, k: int = 5) -> list[Hit]:
    """Search several knowledge bases; the query is embedded once."""
    if not query.strip():
        return []
    vec = embed([query])[0] if dense_weight(query) > 0 else None
    hits = [h for kb in kbs for h in search_kb(kb, query, k, query_vector=vec)]
    return sorted(hits, key=lambda h: h.score, reverse=True)[:k]


def format_hits(query: str, hits: list[Hit]) -> str:
    """The text the agent reads: one block per passage, headed by the citation to use."""
    if not hits:
        return f"No passages found for {query!r}."
    blocks = [f"{h.cite} (score {h.score:.2f}, knowledge base {h.kb!r})\n{h.text}" for h in hits]
    head = f"{len(hits)} passages for {query!r}. Cite them as written before each passage, e.g. {hits[0].cite}."
    return head + "\n\n" + "\n\n".join(blocks)
