"""Turns that need no tool: small talk, and requests outside what a tiny offline model does well (general
knowledge, poems, advice, translation, news; Chinese ones partly from CMMLU), answered honestly and without a
tool call so that the model does not learn to invent calls."""
from __future__ import annotations

import csv
import re
import unicodedata
import zlib
from functools import cache

from puyu.core.config import shared_data_dir
from puyu.training.data.phrasing import HELDOUT_PARTS, Phraser, noisy, phrasebook

_BOOK = phrasebook("chat")
ASK_CHAT = _BOOK.slots("ask_chat")
_CAPS = _BOOK.table("capabilities")
REPLY_CHAT = {kind: {lang: [reply.format(capabilities=_CAPS[lang]) for reply in replies]
                     for lang, replies in by_lang.items()} for kind, by_lang in _BOOK.table("reply_chat").items()}
"""{kind: {language: replies}}"""
_FILL = _BOOK.table("fill")
ASK_OOS = _BOOK.slots("ask_oos")
_LIMIT = _BOOK.table("limit")
_SORRY = _BOOK.table("sorry")
_CAN = _BOOK.table("can")
_LARGER = _BOOK.table("larger")


def chat_turn(ph: Phraser, rng, lang: str, kind: str | None = None) -> tuple[str, str, str]:
    """(kind, user text, reply)."""
    kind = kind or rng.choice(["greet", "greet", "who", "can", "thanks", "bye", "how"])
    user = noisy(ph(ASK_CHAT[(kind, lang)], key=True), rng, lang, rate=0.25)
    return kind, user, rng.choice(REPLY_CHAT[kind][lang])


# ---- out of scope ---------------------------------------------------------------------------------------

def oos_reply(rng, lang: str, kind: str) -> str:
    sep = " " if lang == "en" else ""
    pieces = [rng.choice(_SORRY[lang]) + rng.choice(_LIMIT[kind][lang]), rng.choice(_CAN[lang]),
              rng.choice(_LARGER[lang])]
    return sep.join(p for p in pieces if p)


_RADICALS = re.compile("[\u2e80-\u2fdf]")


def heldout_subject(subject: str) -> bool:
    return zlib.crc32(subject.encode()) % 5 == 0


@cache
def cmmlu_questions() -> dict[str, list[tuple[str, list[str]]]]:
    """CMMLU test questions by subject, {subject: [(question, options)]}; {} when the shared data is absent.
    A few files write characters as Kangxi radicals (⻛ for 风): NFKC maps them back; what it cannot map is skipped."""
    root = shared_data_dir() / "cmmlu" / "test"
    out: dict[str, list] = {}
    if not root.is_dir():
        return out
    for path in sorted(root.glob("*.csv")):
        rows = []
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                fixed = "".join(unicodedata.normalize("NFKC", c) if _RADICALS.match(c) else c for c in row["Question"])
                opts = [row.get(k, "") for k in "ABCD"]
                if _RADICALS.search(fixed) or len(fixed) > 160 or not fixed.strip():
                    continue
                rows.append((fixed.strip(), opts))
        out[path.stem] = rows
        if heldout_subject(path.stem):
            HELDOUT_PARTS.add(f"cmmlu/{path.stem}")
    return out


def oos_turn(ph: Phraser, rng, lang: str, split: str) -> tuple[str, str, str]:
    """(kind, user text, reply)."""
    kinds = ["knowledge", "knowledge", "creative", "advice", "translate", "news"]
    cm = cmmlu_questions() if lang == "zh" else {}
    if cm and rng.random() < 0.4:
        subjects = [s for s in cm if heldout_subject(s) == (split == "heldout")]
        subject = rng.choice(subjects)
        q, opts = rng.choice(cm[subject])
        if rng.random() < 0.4 and all(opts):
            q += "\n" + "\n".join(f"{k}. {o}" for k, o in zip("ABCD", opts))
        ph.used.append(f"cmmlu/{subject}")
        return "knowledge", q, oos_reply(rng, lang, "knowledge")
    kind = rng.choice(kinds)
    fill = {k: rng.choice(v) for k, v in _FILL[lang].items()}
    user = noisy(ph(ASK_OOS[(kind, lang)], key=True, **fill), rng, lang, rate=0.25)
    return kind, user, oos_reply(rng, lang, kind)
