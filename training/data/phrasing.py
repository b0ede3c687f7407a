"""Phrasings composed from parts, so that a tiny model learns what a request means, not one template.

A `Parts` is one slot of a phrasing (an opener, a request frame, a politeness suffix ...) with its choices.
Every choice has a stable id; some are held out: they never appear in train, and held-out items with
`unseen_phrasing=true` are built from them. `HELDOUT_PARTS` collects those ids for the leak test.
"""
from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field

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


# ---- parts shared by many families ------------------------------------------------------------------

OPEN = {
    "en": Parts("open.en", ["", "", "", "Hi, ", "Hey, ", "Hello! ", "Quick question: ", "Question: ",
                            "I need some help. ", "Help me out: ", "OK so ", "Hmm, ",
                            "", "", "", "", "Good afternoon! ", "Good evening. ", "Evening! ", "Afternoon, ", "Yo, ",
                            "Another one: ", "Homework help: ", "Hello, ", "Hey! ", "Hiya, ", "Greetings. ",
                            "One more: ", "Next question: ", "Can you help? ", "Alright, ", "Hi again! ",
                            "A question for you: ", "Good day! ", "Howdy! "],
                ["Good morning! ", "Math time: ", "Hey there, quick one: "]),
    "zh": Parts("open.zh", ["", "", "", "你好，", "请问，", "问一下，", "帮个忙：", "嗨，", "我想问问，",
                            "", "", "下午好！", "晚上好，", "再问一个：", "您好，", "哈喽，", "嘿，", "请教一下，",
                            "有个问题：", "帮我算算：", "在吗？", "作业题：", "下一个问题：", "中午好！", "还有一题：",
                            "求助："],
                ["早上好！", "打扰一下，"]),
}
POLITE = {
    "en": Parts("polite.en", ["", "", "", " please", " thanks", " Thank you!", " Thanks in advance.",
                              " pls", " thx", " thank you", " if you can", " if you don't mind", " Thanks a lot!",
                              " please and thank you", " Thanks so much."],
                [" cheers", " much appreciated"]),
    "zh": Parts("polite.zh", ["", "", "", "，谢谢", "，谢谢！", "，麻烦了",
                              "，麻烦你了", "，辛苦了", "，感谢！", "，拜托了", "，谢谢你", "，先谢过", "，感谢感谢",
                              "，谢了"],
                ["，多谢啦"]),
}

THOUGHT = {
    "en": Parts("thought.en", ["", "", "Let me calculate.", "I'll compute it in Python.", "Computing it:",
                               "I'll use Python for this.", "Let me run the numbers.",
                               "", "Let me work that out.", "I'll run this in Python.", "Calculating:",
                               "Let me check with code.", "Here's the calculation:"]),
    "zh": Parts("thought.zh", ["", "", "我来计算一下。", "用 Python 算一下。", "计算如下：", "我用代码算一下。",
                               "", "算一下：", "我来算算。", "用代码计算：", "我写段代码算一下。"]),
}
