"""Arithmetic: bare expressions, powers and roots, and everyday word problems (shopping, bills, leftovers)."""
from __future__ import annotations

import math
from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, reply_number
from puyu.training.data.phrasing import OPEN, POLITE, clean, join, noisy, phrasebook, say_number

_BOOK = phrasebook("arithmetic")
ASK_EXPR = _BOOK.slots("ask_expr")
ASK_POWER = _BOOK.slots("ask_power")
ASK_ROOT = _BOOK.slots("ask_root")
ASK_SHOP = _BOOK.slots("ask_shop")
ASK_SPLIT = _BOOK.slots("ask_split")
ASK_LEFT = _BOOK.slots("ask_left")
_OPS_SYM = _BOOK.table("operator_symbols")
_OPS_WORD = _BOOK.table("operator_words")
_ITEMS = _BOOK.table("items")
_MONEY = _BOOK.table("money")
_FRAC_OP = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _operand(rng) -> int | float:
    r = rng.random()
    if r < 0.55:
        return rng.randint(2, 99)
    if r < 0.85:
        return rng.randint(100, 9999)
    return round(rng.uniform(0.5, 500), rng.choice([1, 2]))


def expression(ctx: Ctx) -> Problem:
    rng, lang = ctx.rng, ctx.lang
    while True:
        n = 2 if rng.random() < 0.65 else 3
        nums = [_operand(rng) for _ in range(n)]
        ops = [rng.choice("+-*/") for _ in range(n - 1)]
        if ctx.ok_numbers("expr", *nums, *ops):
            break
    paren = n == 3 and rng.random() < 0.4 and ops[0] in "+-" and ops[1] in "*/"
    words = rng.random() < 0.3 and not paren
    parts, code_parts = [], []
    for i, x in enumerate(nums):
        parts.append(say_number(x, rng, lang) if words else clean(x))
        code_parts.append(clean(x))
        if i < len(ops):
            op = ops[i]
            spoken = rng.choice(_OPS_WORD[lang][op]) if words else rng.choice(_OPS_SYM[op])
            parts.append(spoken)
            code_parts.append(op)
    tight = not words and rng.random() < 0.3
    spoken = ("" if tight else " ").join(parts)
    code = " ".join(code_parts)
    if paren:
        k = spoken.index(parts[3]) - (0 if tight else 1)
        spoken = "(" + spoken[:k] + ")" + spoken[k:]
        code = "(" + " ".join(code_parts[:3]) + ") " + " ".join(code_parts[3:])
    # the expected value in exact fractions, independent of the program
    vals = [Fraction(str(x)) for x in nums]
    if paren:
        value = _FRAC_OP[ops[1]](_FRAC_OP[ops[0]](vals[0], vals[1]), vals[2])
    else:  # precedence: * and / first
        terms, cur_ops = [vals[0]], []
        for op, v in zip(ops, vals[1:]):
            if op in "*/":
                terms[-1] = _FRAC_OP[op](terms[-1], v)
            else:
                terms.append(v)
                cur_ops.append(op)
        value = terms[0]
        for op, v in zip(cur_ops, terms[1:]):
            value = _FRAC_OP[op](value, v)
    var = ctx.names.fresh("result")
    exact = "/" not in ops and all(isinstance(x, int) for x in nums)
    program = f"{var} = {code}\nprint({var})" if exact else f"{var} = {code}\nprint(round({var}, 4))"
    ph = ctx.ph
    q = ph(ASK_EXPR[lang], key=True, e=spoken)
    q = noisy(join(ph(OPEN[lang]), q, ph(POLITE[lang]) if q.endswith(("?", "？", ".", "。")) is False else ""),
              rng, lang)
    return Problem("arithmetic", q, program, float(value), reply_number(ph, lang), tuple(nums), var)


def power_or_root(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    if rng.random() < 0.5:
        while True:
            a, b = rng.randint(2, 30), rng.randint(2, 9 if rng.random() < 0.8 else 15)
            if a ** b < 10 ** 15 and ctx.ok_numbers("pow", a, b):
                break
        var = ctx.names.fresh("result")
        q = ph(ASK_POWER[lang], key=True, a=a, b=b)
        code = f"{var} = {a} ** {b}\nprint({var})"
        return Problem("arithmetic", noisy(join(ph(OPEN[lang]), q), rng, lang), code, float(a ** b),
                       reply_number(ph, lang), (a, b), var)
    while True:
        r = rng.randint(2, 200)
        a = r * r if rng.random() < 0.6 else rng.randint(2, 50000)
        if ctx.ok_numbers("root", a):
            break
    var = ctx.names.fresh("root")
    q = ph(ASK_ROOT[lang], key=True, a=say_number(a, rng, lang))
    code = f"import math\n{var} = math.sqrt({a})\nprint(round({var}, 4))"
    return Problem("arithmetic", noisy(join(ph(OPEN[lang]), q), rng, lang), code, math.sqrt(a),
                   reply_number(ph, lang), (a,), var)


def _money(rng, lang, p) -> str:
    return rng.choice(_MONEY[lang]).format(p=clean(p) if rng.random() < 0.7 else f"{p:.2f}")


def word_problem(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    kind = rng.choice(["shop", "shop", "split", "left"])
    if kind == "shop":
        while True:
            n, price = rng.randint(2, 40), round(rng.choice([rng.randint(1, 200), rng.uniform(0.5, 99)]), 2)
            if ctx.ok_numbers("shop", n, price):
                break
        item = rng.choice(_ITEMS[lang])
        q = ph(ASK_SHOP[lang], key=True, n=say_number(n, rng, lang), item=item, price=_money(rng, lang, price))
        total, cnt, pr = ctx.names.fresh("total"), ctx.names.fresh("count"), ctx.names.fresh("price")
        code = f"{pr} = {clean(price)}\n{cnt} = {n}\n{total} = {pr} * {cnt}\nprint(round({total}, 2))"
        value, nums = float(Fraction(str(price)) * n), (n, price)
    elif kind == "split":
        while True:
            n, bill = rng.randint(2, 12), round(rng.uniform(20, 2000), rng.choice([0, 2]))
            if ctx.ok_numbers("split", n, bill):
                break
        q = ph(ASK_SPLIT[lang], key=True, n=say_number(n, rng, lang), total=_money(rng, lang, bill))
        total, share = ctx.names.fresh("bill"), ctx.names.fresh("share")
        code = f"{total} = {clean(bill)}\n{share} = {total} / {n}\nprint(round({share}, 2))"
        value, nums = bill / n, (n, bill)
    else:
        while True:
            a = round(rng.uniform(50, 5000), rng.choice([0, 2]))
            b = round(rng.uniform(1, a), rng.choice([0, 2]))
            if ctx.ok_numbers("left", a, b):
                break
        q = ph(ASK_LEFT[lang], key=True, a=_money(rng, lang, a), b=_money(rng, lang, b))
        total, share = ctx.names.fresh("balance"), ctx.names.fresh("left")
        code = f"{total} = {clean(a)}\n{share} = {total} - {clean(b)}\nprint(round({share}, 2))"
        value, nums = float(Fraction(str(a)) - Fraction(str(b))), (a, b)
    var = code.splitlines()[-1][len("print(round("):].split(",")[0]
    q = noisy(join(ph(OPEN[lang]), q, ph(POLITE[lang]) if q[-1] not in "?？.。" else ""), rng, lang)
    return Problem("arithmetic", q, code, value, reply_number(ph, lang), nums, var)


FAMILY = {"arithmetic": [(expression, 5), (power_or_root, 1), (word_problem, 3)]}
