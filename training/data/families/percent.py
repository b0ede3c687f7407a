"""Percentages: a share of a number, increases and discounts (Chinese 折 too), what percent, change, tips."""
from __future__ import annotations

from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, printed_value, reply_number
from puyu.training.data.phrasing import OPEN, POLITE, clean, join, noisy, phrasebook, say_number, zh_numeral

_BOOK = phrasebook("percent")
ASK = _BOOK.slots("ask")
"""Request frames by (kind, language)."""
PCT_REPLY = _BOOK.slots("reply")


def _pct(rng) -> int | float:
    return rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 12.5]) if rng.random() < 0.5 else rng.randint(1, 99)


def _base(rng) -> int | float:
    return rng.randint(10, 5000) if rng.random() < 0.7 else round(rng.uniform(5, 2000), 2)


def percent(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    kinds = ["of", "up", "down", "what", "change"] + (["zhe"] if lang == "zh" else [])
    kind = rng.choice(kinds)
    while True:
        p, x = _pct(rng), _base(rng)
        y = rng.randint(1, 5000) if kind == "change" else round(rng.uniform(1, x), rng.choice([0, 1]))
        if kind == "zhe":
            z = rng.choice([5, 6, 7, 8, 9, 75, 85, 88, 95])
            p = z * 10 if z < 10 else z
        if ctx.ok_numbers("pct", kind, p, x, y) and x != 0:
            break
    fx, fp, fy = Fraction(str(x)), Fraction(str(p)), Fraction(str(y))
    X, P = clean(x), clean(p)
    n = ctx.names.fresh
    fields = {"x": say_number(x, rng, lang), "p": P, "y": say_number(y, rng, lang),
              "pz": zh_numeral(int(p)) if float(p).is_integer() and p < 100 else P}
    unit_pct = False
    if kind == "of":
        v = n("part")
        code, value = f"{v} = {X} * {P} / 100", fx * fp / 100
    elif kind == "up":
        v = n("new_value")
        code, value = f"{v} = {X} * (1 + {P} / 100)", fx * (1 + fp / 100)
    elif kind == "down":
        v = n("sale_price")
        code, value = f"{v} = {X} * (1 - {P} / 100)", fx * (1 - fp / 100)
    elif kind == "zhe":
        v = n("price")
        zstr = zh_numeral(z) if z < 10 else zh_numeral(z // 10) + zh_numeral(z % 10)
        fields["z"] = zstr if rng.random() < 0.7 else str(z)
        code, value = f"{v} = {X} * {P} / 100", fx * fp / 100
    elif kind == "what":
        v = n("percent")
        code, value, unit_pct = f"{v} = {clean(y)} / {X} * 100", fy / fx * 100, True
    else:
        v = n("change")
        code, value, unit_pct = f"{v} = ({clean(y)} - {X}) / {X} * 100", (fy - fx) / fx * 100, True
    code += f"\nprint(round({v}, 2))"
    q = ph(ASK[(kind, lang)], key=True, **fields)
    q = noisy(join(ph(OPEN[lang]), q, ph(POLITE[lang]) if q[-1] not in "?？.。" else ""), rng, lang)
    if unit_pct:
        reply = lambda out: ph(PCT_REPLY[lang], ans=printed_value(out))
    else:
        reply = reply_number(ph, lang)
    return Problem("percent", q, code, float(value), reply, (p, x, y), v)


FAMILY = {"percent": [(percent, 1)]}
