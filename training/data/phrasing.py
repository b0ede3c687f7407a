"""Phrasings composed from parts, so that a tiny model learns what a request means, not one template.

A `Parts` is one slot of a phrasing (an opener, a request frame, a politeness suffix ...) with its choices.
Every choice has a stable id; some are held out: they never appear in train, and held-out items with
`unseen_phrasing=true` are built from them. `HELDOUT_PARTS` collects those ids for the leak test.

The phrasings themselves are data: one YAML file per family in `phrasings/`, read here (`phrasebook`) and nowhere
else; the family modules keep only the logic that fills them in.
"""
from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

HELDOUT_PARTS: set[str] = set()
ALL_PARTS: dict[str, Parts] = {}


@dataclass(frozen=True)
class Part:
    id: str
    text: str
    heldout: bool


class Parts:
    """One slot's choices. `train` choices build training data; `heldout` ones only build eval items."""

    def __init__(self, id: str, train: list[str], heldout: list[str] = ()):
        if id in ALL_PARTS:
            raise ValueError(f"duplicate phrasing slot {id!r}")
        if not train:
            raise ValueError(f"slot {id!r} needs at least one training choice")
        self.id = id
        self.train = [Part(f"{id}/{i}", t, False) for i, t in enumerate(train)]
        self.heldout = [Part(f"{id}/h{i}", t, True) for i, t in enumerate(heldout)]
        HELDOUT_PARTS.update(p.id for p in self.heldout)
        ALL_PARTS[id] = self

    def __repr__(self) -> str:
        return f"Parts({self.id!r}, {len(self.train)}+{len(self.heldout)})"


@dataclass
class Phraser:
    """Picks parts for one item and remembers which (for meta and the leak test).

    unseen=False: train choices only. unseen=True: every slot that has held-out choices takes one for `key`
    slots (the request frames), and with probability 1/2 for the others."""

    rng: random.Random
    unseen: bool = False
    used: list[str] = field(default_factory=list)

    def part(self, parts: Parts, key: bool = False) -> str:
        pool = parts.train
        if self.unseen and parts.heldout and (key or self.rng.random() < 0.5):
            pool = parts.heldout
        p = self.rng.choice(pool)
        self.used.append(p.id)
        return p.text

    def __call__(self, parts: Parts, key: bool = False, **fields) -> str:
        text = self.part(parts, key)
        return text.format(**fields) if fields else text

    @property
    def used_heldout(self) -> bool:
        return any(p in HELDOUT_PARTS for p in self.used)


# ---- numbers ----------------------------------------------------------------------------------------

def split_of(*values) -> str:
    """Whether a problem's numbers belong to train or held-out: a stable hash, so the held-out split's numbers
    never occur in a training problem of the same family."""
    return "heldout" if zlib.crc32(repr(values).encode()) % 8 == 0 else "train"


def clean(x: float) -> str:
    """A number as code and answers write it: no trailing .0, no float noise."""
    if isinstance(x, float):
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return repr(round(x, 10))
    return str(x)


_EN_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
             "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_ZH_DIGITS = "零一二三四五六七八九"


def zh_numeral(n: int) -> str:
    """0..99 in Chinese characters (二十五)."""
    if n < 10:
        return _ZH_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _ZH_DIGITS[tens]) + "十" + (_ZH_DIGITS[ones] if ones else "")


def say_number(x: float, rng: random.Random, lang: str = "en") -> str:
    """A number as a person might type it: 1234, 1,234, words for small ones."""
    s = clean(x)
    if isinstance(x, int) or float(x).is_integer():
        n = int(float(s))
        r = rng.random()
        if 0 <= n <= 20 and lang == "en" and r < 0.15:
            return _EN_SMALL[n]
        if 0 <= n <= 99 and lang == "zh" and r < 0.12:
            return zh_numeral(n)
        if abs(n) >= 1000 and r < 0.4:
            return f"{n:,}"
    return s


# ---- noise ------------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]{4,}")


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap two letters
    if kind < 0.7:
        return word[:i] + word[i + 1:]  # drop one
    return word[:i] + word[i] + word[i:]  # double one


def noisy(text: str, rng: random.Random, lang: str = "en", rate: float = 0.35) -> str:
    """Casing, punctuation and typo noise the way people type; never touches digits."""
    if rng.random() > rate:
        return text
    r = rng.random()
    if lang == "en":
        if r < 0.3:
            words = list(_WORD.finditer(text))
            if words:
                m = rng.choice(words)
                text = text[:m.start()] + _typo(m.group(), rng) + text[m.end():]
        elif r < 0.55:
            text = text.lower()
        elif r < 0.65:
            text = text.upper() if len(text) < 60 else text.lower()
        elif r < 0.85:
            text = text.rstrip("?.!")
        else:
            text = text.replace(" ", "  ", 1)
    else:
        if r < 0.4:
            text = text.rstrip("？。！?.!")
        elif r < 0.7:
            text = text.replace("？", "?").replace("，", ",").replace("：", ":")
        else:
            text = text.replace(" ", "")
    return text


def join(*pieces: str) -> str:
    """Glue parts, tidying spaces around them."""
    text = "".join(pieces)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text[0].upper() + text[1:] if text and text[0].isalpha() and text[0].islower() else text


# ---- the phrasing files ----------------------------------------------------------------------------------

class PhrasingError(ValueError):
    """A phrasing file, table or slot is missing or malformed."""


class Phrasebook:
    """One file of `phrasings/`: tables of slots (`slots`) and plain tables of words (`table`).

    A slot is a mapping `{slot: id, train: [...], heldout: [...]}` (heldout optional); a table of slots nests
    such leaves under the keys the family looks them up by: `{of: {en: <slot>}}` is looked up as ("of", "en")."""

    def __init__(self, name: str, data: dict):
        self.name, self.data = name, data
        self.read: set[str] = set()

    def table(self, name: str) -> Any:
        if name not in self.data:
            raise PhrasingError(f"phrasings/{self.name}.yaml has no table {name!r} (it has {', '.join(self.data)})")
        self.read.add(name)
        return self.data[name]

    def slots(self, name: str) -> dict[Any, Parts]:
        """A table of slots as {key: Parts}; keys are tuples where the table nests more than one level."""
        out: dict[Any, Parts] = {}
        self._leaves(self.table(name), (), out, name)
        if len({len(k) for k in out}) > 1:
            raise PhrasingError(f"phrasings/{self.name}.yaml: the slots of {name!r} nest to different depths")
        return {k[0] if len(k) == 1 else k: parts for k, parts in out.items()}

    def unread(self) -> list[str]:
        """Tables no code has asked for (dead phrasings)."""
        return [name for name in self.data if name not in self.read]

    def _leaves(self, node: Any, path: tuple, out: dict, where: str) -> None:
        if not isinstance(node, dict) or not node:
            raise PhrasingError(f"phrasings/{self.name}.yaml: {where} is not a slot or a mapping of slots")
        if "train" not in node:
            for key, child in node.items():
                self._leaves(child, (*path, key), out, f"{where}.{key}")
            return
        if set(node) - {"slot", "train", "heldout"} or not isinstance(node.get("slot"), str):
            raise PhrasingError(f"phrasings/{self.name}.yaml: slot {where} needs 'slot' (its id), 'train' and "
                                "optionally 'heldout', nothing else")
        train, heldout = node["train"], node.get("heldout", [])
        if not all(isinstance(choices, list) and all(isinstance(c, str) for c in choices)
                   for choices in (train, heldout)):
            raise PhrasingError(f"phrasings/{self.name}.yaml: slot {where}: 'train' and 'heldout' are lists of text")
        out[path] = Parts(node["slot"], train, heldout)


@cache
def phrasebook(name: str) -> Phrasebook:
    """`phrasings/<name>.yaml` (package data), read once."""
    path = resources.files("puyu.training.data").joinpath("phrasings", f"{name}.yaml")
    if not path.is_file():
        raise PhrasingError(f"no phrasing file {name}.yaml in training/data/phrasings")
    data = yaml.load(path.read_text("utf-8"), Loader=_Loader)
    if not isinstance(data, dict):
        raise PhrasingError(f"phrasings/{name}.yaml must map table names to tables")
    return Phrasebook(name, data)


# ---- parts shared by many families ------------------------------------------------------------------

_COMMON = phrasebook("common")
OPEN = _COMMON.slots("open")
POLITE = _COMMON.slots("polite")
THOUGHT = _COMMON.slots("thought")
