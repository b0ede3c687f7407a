"""The phrasing tables: one seed builds the very same conversations from them, whatever form they are kept in.

The hashes below pin what a fixed seed builds from every phrasing table: a small end-to-end build, GSM8K
conversations, every interpreter recipe and every plugin tool, in both splits and both languages. A change to any
phrasing, to the order of a table or to how one is drawn changes a hash. The plugin groups run the real tools, so
their hashes pin this machine's tool outputs too (tesseract, matplotlib, the embedding model): when an upgrade of
one of those moves a hash, confirm that the previous commit builds the same new hash, then pin it.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from puyu.core.config import shared_data_dir
from puyu.training.data import gsm8k, phrasing
from puyu.training.data.build import BuildConfig, Builder, main
from puyu.training.data.phrasing import ALL_PARTS, Phrasebook, PhrasingError, phrasebook
from puyu.training.data.recipes import RECIPES

SEED = 3
CMMLU = shared_data_dir() / "cmmlu" / "test"
PER_RECIPE = 60
"""Items per interpreter recipe, language and split."""
PER_TOOL = {"calculator": 30, "solve": 30, "ocr": 40, "image_info": 60, "image_edit": 50, "qr_read": 50,
            "qr_make": 20, "plot": 10, "plot_data": 8, "knowledge_search": 60}
"""Items per plugin tool, language and split: enough to draw each of its slots (charts render slowly)."""
SLOW = {"ocr": "reads images with tesseract", "plot": "renders charts", "plot_data": "renders charts",
        "knowledge_search": "loads the embedding model"}

PINNED = {
    "build": "3e73430737b5b707",
    "gsm8k": "9d4573b74119ba1d",
    "interpreter": "41f95ee6838ae6de",
    "calculator": "43a10c5ec2290a57",
    "solve": "4b2cf7d3cb34d059",
    "ocr": "f6d5384ac112ec10",
    "image_info": "5b62a1b6f8204ff9",
    "image_edit": "8f44b0974640ff81",
    "qr_read": "fb013f9bdb4bb0ee",
    "qr_make": "17b537f291932d2f",
    "plot": "9a7d1c3195422cb2",
    "plot_data": "c425c872b810ed4e",
    "knowledge_search": "38fd7ff1d5e1324e",
}

UNREACHABLE = {"polite.en"}
"""Held-out choices that no item can draw: every English held-out question ends in "?" or ".", and a politeness
suffix is only added after one that does not (a gap in the data, kept so that the data stays as it is)."""


def _unavailable(group: str) -> str | None:
    """Why a group cannot be built here, or None."""
    if group == "gsm8k" and not gsm8k.gsm8k_path().exists():
        return f"shared GSM8K data not found at {gsm8k.gsm8k_path()}"
    if group in ("build", "interpreter") and not CMMLU.is_dir():  # Chinese out-of-scope questions come from CMMLU
        return f"shared CMMLU data not found at {CMMLU}"
    if group == "ocr" and not shutil.which("tesseract"):
        return "tesseract is not installed"
    if group in SLOW and not os.environ.get("PUYU_SLOW_TESTS"):
        return f"{SLOW[group]} (set PUYU_SLOW_TESTS=1)"
    return None


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _made(builder: Builder, recipes: list[str], n: int) -> list[str]:
    """Each recipe's items in both languages: seen phrasings in train, unseen ones in held-out."""
    out = []
    for split, unseen in (("train", False), ("heldout", True)):
        for recipe in recipes:
            for lang in ("en", "zh"):
                for i in range(n):
                    rec = builder.make(recipe, split, f"{recipe}:{lang}:{i}", unseen, lang)
                    out.append(rec.to_json() if rec else "-")
    return out


@functools.cache
def sample(group: str) -> tuple[str, ...]:
    """The JSON lines one group builds with SEED ("-" where an item dropped)."""
    if group == "build":
        with tempfile.TemporaryDirectory() as tmp:
            assert main(["--out", tmp, "--n-train", "400", "--n-heldout", "80", "--seed", str(SEED), "--gsm8k",
                         "none", "--plugins", "false", "--progress", "false"]) == 0
            return tuple(line for name in ("train.jsonl", "heldout.jsonl")
                         for line in (Path(tmp) / name).read_text("utf-8").splitlines())
    if group == "gsm8k":
        out = []
        for i, row in enumerate(gsm8k.load()[:60]):
            try:
                conv = gsm8k.convert(row)
            except gsm8k.Dropped as e:
                out.append(f"- {e}")
                continue
            out.append(gsm8k.conversation(conv, random.Random(f"{SEED}:{i}"), ("train", "heldout")[i % 2], i).to_json())
        return tuple(out)
    if group == "interpreter":
        builder = Builder(BuildConfig(gsm8k="none", progress=False, seed=SEED, plugins=False))
        return tuple(_made(builder, list(RECIPES), PER_RECIPE))
    builder = Builder(BuildConfig(gsm8k="none", progress=False, seed=SEED, plugin_tools=[group],
                                  plugin_pool_scale=0.05))
    try:
        return tuple(_made(builder, ["plugin"], PER_TOOL[group]))
    finally:
        builder.plugin.close()


@pytest.mark.parametrize("group", list(PINNED))
def test_one_seed_builds_the_pinned_conversations(group):
    if reason := _unavailable(group):
        pytest.skip(reason)
    lines = sample(group)
    assert sum(line[0] != "-" for line in lines) >= 0.6 * len(lines)  # most items build; drops are few
    assert _digest(list(lines)) == PINNED[group], f"{group}: {_digest(list(lines))}"


def test_the_pinned_samples_draw_every_phrasing_slot():
    missing = [g for g in PINNED if _unavailable(g)]
    if missing:
        pytest.skip(f"needs every group; {', '.join(missing)} cannot be built here")
    used = {p for g in PINNED for line in sample(g) if line[0] != "-" for p in json.loads(line)["meta"]["parts"]}
    slots = {p.rsplit("/", 1)[0] for p in used}
    held = {p.rsplit("/", 1)[0] for p in used if "/h" in p}
    assert not set(ALL_PARTS) - slots, "slots no sample draws: raise PER_RECIPE or PER_TOOL"
    unreached = {s for s, parts in ALL_PARTS.items() if parts.heldout} - held
    assert unreached == UNREACHABLE, "held-out choices no sample draws"


# ---- the phrasing files ---------------------------------------------------------------------------------------

def test_every_table_of_every_phrasing_file_is_used():
    import puyu.training.data.build
    import puyu.training.data.families.knowledge
    import puyu.training.data.families.plugins  # noqa: F401

    files = sorted(p.stem for p in (Path(phrasing.__file__).parent / "phrasings").glob("*.yaml"))
    assert len(files) >= 10
    assert {name: phrasebook(name).unread() for name in files} == {name: [] for name in files}


def test_a_missing_file_table_or_malformed_slot_is_named():
    with pytest.raises(PhrasingError, match=r"no phrasing file nope\.yaml"):
        phrasebook("nope")
    with pytest.raises(PhrasingError, match=r"percent\.yaml has no table 'asks' \(it has ask, reply\)"):
        phrasebook("percent").table("asks")
    book = Phrasebook("bad", {"ask": {"en": {"slot": "bad.en", "train": "What is {x}?"}},
                              "extra": {"en": {"slot": "bad.en", "train": ["a"], "heldout": ["b"], "note": "x"}},
                              "empty": {"en": {}}})
    with pytest.raises(PhrasingError, match=r"bad\.yaml: slot ask\.en: 'train' and 'heldout' are lists of text"):
        book.slots("ask")
    with pytest.raises(PhrasingError, match=r"slot extra\.en needs 'slot' \(its id\), 'train' and optionally"):
        book.slots("extra")
    with pytest.raises(PhrasingError, match=r"empty\.en is not a slot or a mapping of slots"):
        book.slots("empty")
    assert "bad.en" not in ALL_PARTS  # nothing half-read was registered
