"""Build puyu's agent training data: `python -m puyu.training.data.build --out data/agent --n-train 40000 --seed 0`.

Writes train.jsonl, heldout.jsonl (500 eval items whose numbers, and for a third or more whose phrasings, never
occur in train) and stats.json (counts per family and language, drop reasons, held-out composition).
Deterministic for a seed: every item draws from its own Random("seed:split:index:attempt").
"""
from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from puyu.core.dataclass_cli import parse
from puyu.core.records import Record, render, write_jsonl
from puyu.training.data import feedback, gsm8k
from puyu.training.data.conversation import Dialog, Drop
from puyu.training.data.phrasing import ALL_PARTS
from puyu.training.data.recipes import RECIPES

# Shares of the generated (non-GSM8K) training items.
TRAIN_MIX = {"arithmetic": 13, "percent": 9, "units": 6, "currency": 4, "algebra": 8, "stats": 4, "dates": 5,
             "multi_turn": 22, "chat_then_tool": 3, "recovery": 5, "chat": 8, "out_of_scope": 7, "plugin": 14}
# Held-out composition by eval category, and which recipes make each.
HELDOUT_MIX = {"gsm8k": 0.12, "tool": 0.40, "multi_turn": 0.16, "chat": 0.12, "out_of_scope": 0.20}
HELDOUT_RECIPES = {"tool": ["arithmetic", "arithmetic", "percent", "units", "currency", "algebra", "stats", "dates",
                            "plugin", "plugin"],
                   "multi_turn": ["multi_turn"], "chat": ["chat"], "out_of_scope": ["out_of_scope"]}
UNSEEN_SHARE = {"tool": 0.75, "multi_turn": 0.6, "chat": 0.5, "out_of_scope": 0.5, "gsm8k": 0.0}
ATTEMPTS = 8


@dataclass
class BuildConfig:
    """Build the agent training data (train.jsonl, heldout.jsonl, stats.json)."""

    out: Path = Path("data/agent")
    """Output folder."""
    n_train: int = 40000
    """Training conversations in all, GSM8K ones included."""
    n_heldout: int = 500
    """Held-out eval items."""
    seed: int = 0
    """Everything drawn follows from this seed."""
    zh_share: float = 0.4
    """Share of generated conversations in Chinese."""
    gsm8k: str = ""
    """GSM8K train file; empty: <repo>/../shared/data/gsm8k/train.jsonl; 'none': no GSM8K items."""
    gsm8k_limit: int = 0
    """Read at most this many GSM8K rows (0: all); for quick builds."""
    gsm8k_share: float = 0.2
    """Largest share of train that GSM8K may take (all usable rows are used when n_train is large)."""
    plugins: bool = True
    """Plugin-call conversations through puyu's real tools (skipped, with a note, when the tools are missing)."""
    plugin_tools: list[str] | None = None
    """Only these plugin tools get conversations (default: every registered tool the data knows)."""
    plugin_pool_scale: float = 1.0
    """Scales the number of distinct generated images per split (OCR reads each once, about a second each)."""
    max_chars: int = 3600
    """Drop conversations whose rendered text is longer (about 4 characters a token: ~900 tokens)."""
    progress: bool = True
    """Show tqdm progress bars."""

    def __post_init__(self):
        if self.n_train < 1 or self.n_heldout < 0:
            raise ValueError("n_train must be >= 1 and n_heldout >= 0")
        if not 0 <= self.zh_share <= 1 or not 0 <= self.gsm8k_share <= 1:
            raise ValueError("zh_share and gsm8k_share must be within [0, 1]")
        self.out = Path(self.out)


class Builder:
    def __init__(self, cfg: BuildConfig):
        self.cfg = cfg
        self.drops: Counter = Counter()
        self.notes: list[str] = []
        self.plugin = None
        if cfg.plugins:
            try:
                from puyu.training.data.families.plugins import PluginMaker
                self.plugin = PluginMaker(cfg.plugin_pool_scale, cfg.plugin_tools)
            except (ImportError, RuntimeError) as e:
                self.notes.append(f"plugin conversations skipped: {e}")
        self.schemas = self.plugin.schemas if self.plugin else []

    # ---- one item -----------------------------------------------------------------------------------------

    def make(self, recipe: str, split: str, key: str, unseen: bool = False, lang: str | None = None) -> Record | None:
        for attempt in range(ATTEMPTS):
            rng = random.Random(f"{self.cfg.seed}:{split}:{key}:{attempt}")
            item_lang = lang or ("zh" if rng.random() < self.cfg.zh_share else "en")
            d = Dialog(rng, item_lang, split, unseen)
            try:
                rec = self.plugin.make(d) if recipe == "plugin" else RECIPES[recipe](d, self.schemas)
                if len(render(rec)) > self.cfg.max_chars:
                    raise Drop("too_long")
                return rec
            except Drop as e:
                self.drops[f"{split}:{recipe}:{e}"] += 1
        return None

    # ---- GSM8K --------------------------------------------------------------------------------------------

    def gsm8k_items(self) -> tuple[list[tuple[int, gsm8k.Converted]], Counter]:
        if self.cfg.gsm8k == "none":
            return [], Counter()
        path = Path(self.cfg.gsm8k) if self.cfg.gsm8k else gsm8k.gsm8k_path()
        if not path.exists():
            self.notes.append(f"GSM8K skipped: {path} not found")
            return [], Counter()
        ok, reasons = [], Counter()
        rows = gsm8k.load(path)
        rows = rows[:self.cfg.gsm8k_limit] if self.cfg.gsm8k_limit else rows
        for i, row in enumerate(tqdm(rows, desc="gsm8k", disable=not self.cfg.progress)):
            try:
                ok.append((i, gsm8k.convert(row)))
            except gsm8k.Dropped as e:
                reasons[str(e)] += 1
        return ok, reasons

    # ---- splits -------------------------------------------------------------------------------------------

    def build(self) -> dict:
        cfg, started = self.cfg, time.time()
        converted, gsm_drops = self.gsm8k_items()
        random.Random(f"{cfg.seed}:gsm8k").shuffle(converted)
        n_gsm_held = round(cfg.n_heldout * HELDOUT_MIX["gsm8k"]) if converted else 0
        gsm_held, gsm_train = converted[:n_gsm_held], converted[n_gsm_held:]
        gsm_train = gsm_train[:int(cfg.n_train * cfg.gsm8k_share)]

        mix = {k: v for k, v in TRAIN_MIX.items() if k != "plugin" or self.plugin}
        n_gen = cfg.n_train - len(gsm_train)
        kinds = random.Random(f"{cfg.seed}:mix").choices(list(mix), list(mix.values()), k=n_gen)
        train: list[Record] = []
        for i, (idx, conv) in enumerate(gsm_train):
            train.append(gsm8k.conversation(conv, random.Random(f"{cfg.seed}:gsm8k:{idx}"), "train", idx))
        seen: Counter = Counter()
        for i, kind in enumerate(tqdm(kinds, desc="train", disable=not cfg.progress)):
            rec = self.make(kind, "train", str(i))
            if rec is None:
                continue
            text = render(rec)
            seen[text] += 1
            if seen[text] > 2:  # small talk repeats; keep at most two copies of any conversation
                self.drops[f"train:{kind}:duplicate"] += 1
                continue
            train.append(rec)
        random.Random(f"{cfg.seed}:order").shuffle(train)

        train_users = {u for r in train for u in r.user_turns()}
        heldout = [gsm8k.conversation(conv, random.Random(f"{cfg.seed}:gsm8k:{idx}"), "heldout", idx)
                   for idx, conv in gsm_held]
        for category, share in HELDOUT_MIX.items():
            if category == "gsm8k":
                continue
            n = round(cfg.n_heldout * share) if category != "tool" else 0
            if category == "tool":  # the rest, so that the total is exact
                n = cfg.n_heldout - len(heldout) - sum(round(cfg.n_heldout * s) for c, s in HELDOUT_MIX.items()
                                                       if c not in ("tool", "gsm8k"))
            recipes = [r for r in HELDOUT_RECIPES[category] if r != "plugin" or self.plugin]
            rng = random.Random(f"{cfg.seed}:heldout:{category}")
            bar = tqdm(range(n), desc=f"heldout {category}", disable=not cfg.progress)
            for i in bar:
                rec = None
                for tries in range(40):  # short chat turns often repeat train; draw until one is new
                    unseen = rng.random() < UNSEEN_SHARE[category] or tries >= 10
                    rec = self.make(rng.choice(recipes), "heldout", f"{category}:{i}:{tries}", unseen)
                    if rec is not None and not set(rec.user_turns()) & train_users:
                        break
                    self.drops[f"heldout:{category}:seen_in_train"] += rec is not None
                    rec = None
                if rec is not None:
                    heldout.append(rec)
                    train_users.update(rec.user_turns())  # no two held-out items ask the same either

        for rec in heldout:  # eval replays the user turns; the assistant turns are a reference, not a script
            rec.meta["reference"] = True
            rec.meta.setdefault("answer", None)
        if self.plugin:
            self.plugin.close()
        cfg.out.mkdir(parents=True, exist_ok=True)
        write_jsonl(cfg.out / "train.jsonl", train)
        write_jsonl(cfg.out / "heldout.jsonl", heldout)
        stats = self.stats(train, heldout, gsm_drops, len(converted), time.time() - started)
        (cfg.out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2), "utf-8")
        return stats

    def stats(self, train, heldout, gsm_drops, gsm_ok, seconds) -> dict:
        def count(records, key):
            return dict(sorted(Counter(key(r) for r in records).items()))
        return {
            "seconds": round(seconds, 1),
            "config": {k: str(v) for k, v in vars(self.cfg).items()},
            "train": {"total": len(train), "by_family": count(train, lambda r: r.meta["family"]),
                      "by_lang": count(train, lambda r: r.lang),
                      "by_family_lang": count(train, lambda r: f"{r.meta['family']}/{r.lang}"),
                      "chars_mean": round(sum(len(render(r)) for r in train) / max(1, len(train)), 1)},
            "heldout": {"total": len(heldout), "by_category": count(heldout, lambda r: r.meta["category"]),
                        "unseen_phrasing": sum(bool(r.meta.get("unseen_phrasing")) for r in heldout),
                        "by_category_unseen_lang": count(heldout, lambda r: f"{r.meta['category']}/"
                                                         f"{'unseen' if r.meta.get('unseen_phrasing') else 'seen'}/{r.lang}"),
                        "by_family": count(heldout, lambda r: r.meta["family"])},
            "new_words": new_words(train),
            "gsm8k": {"usable": gsm_ok, "dropped": dict(gsm_drops)},
            "drops": dict(sorted(self.drops.items())),
            "notes": self.notes,
        }


_ENGLISH_WORD = re.compile(r"[a-z]{3,}")


def new_words(train: list[Record]) -> dict:
    """Held-out phrasings that contain a word no training question ever uses.

    A model trained from scratch knows only the words of its data; a held-out phrasing with such a word tests
    vocabulary it could not have learnt, not generalisation to a new sentence. Reported so the unseen score can be
    read against it. Words: English runs of 3+ letters; Chinese words of 2+ characters as jieba cuts them."""
    import jieba

    users = "\n".join(u for r in train for u in r.user_turns()).lower()
    english = set(_ENGLISH_WORD.findall(users))
    missing = {}
    for slot in ALL_PARTS.values():
        for part in slot.heldout:
            text = re.sub(r"\{\w+\}", " ", part.text).lower()
            words = [w for w in _ENGLISH_WORD.findall(text) if w not in english]
            words += [w for w in jieba.lcut(text) if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w)
                      and w not in users]
            if words:
                missing[part.id] = sorted(set(words))
    total = sum(len(s.heldout) for s in ALL_PARTS.values())
    return {"heldout_choices": total, "with_new_words": len(missing), "words": missing}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if feedback.FLAG in argv:  # the answers people liked in the app, instead of generated data
        return feedback.main([a for a in argv if a != feedback.FLAG])
    cfg = parse(BuildConfig, argv, prog="python -m puyu.training.data.build")
    stats = Builder(cfg).build()
    print(f"wrote {stats['train']['total']} train and {stats['heldout']['total']} held-out conversations to "
          f"{cfg.out} in {stats['seconds']} s")
    for note in stats["notes"]:
        print("note:", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
