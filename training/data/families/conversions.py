"""Unit conversions (standard factors, written in the program), temperatures, and currencies at a rate the
question states."""
from __future__ import annotations

from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, printed_value, say_result
from puyu.training.data.phrasing import OPEN, POLITE, clean, join, noisy, phrasebook, say_number

_BOOK = phrasebook("conversions")
UNITS = _BOOK.table("units")
"""key: {en: names, zh: names, var: the program's variable name}"""
ASK_UNIT = _BOOK.slots("ask_unit")
ASK_TEMP = _BOOK.slots("ask_temp")
_TEMP_NAMES = _BOOK.table("temperature_names")
CURRENCIES = _BOOK.table("currencies")
ASK_FX = _BOOK.slots("ask_fx")
ASK_FX_BACK = _BOOK.slots("ask_fx_back")

# (a, b, factor): b = a * factor
PAIRS = [("mile", "km", "1.609344"), ("ft", "m", "0.3048"), ("inch", "cm", "2.54"), ("lb", "kg", "0.45359237"),
         ("oz", "g", "28.349523125"), ("kg", "jin", "2"), ("gal", "l", "3.785411784"), ("h", "min", "60"),
         ("min", "s", "60"), ("day", "h", "24"), ("week", "day", "7"), ("ms", "kmh", "3.6"),
         ("mph", "kmh", "1.609344"), ("m2", "ft2", "10.763910417"), ("mu", "m2", "10000 / 15"), ("gb", "mb", "1024")]
_RATES = {("USD", "CNY"): 7.2, ("EUR", "CNY"): 7.8, ("USD", "JPY"): 150, ("GBP", "USD"): 1.27,
          ("EUR", "USD"): 1.08, ("USD", "HKD"): 7.8, ("GBP", "CNY"): 9.1, ("CNY", "JPY"): 20.5}


def _amount(rng) -> int | float:
    r = rng.random()
    return rng.randint(1, 100) if r < 0.45 else rng.randint(100, 10000) if r < 0.7 else round(rng.uniform(0.5, 500), 1)


def _unit_name(key: str, lang: str, rng) -> str:
    return rng.choice(UNITS[key][lang])


def unit(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    while True:
        a, b, factor = rng.choice(PAIRS)
        forward = rng.random() < 0.6
        x = _amount(rng)
        if ctx.ok_numbers("unit", a, b, forward, x):
            break
    src, dst = (a, b) if forward else (b, a)
    v = ctx.names.fresh(UNITS[dst]["var"])
    op = "*" if forward else "/"
    factor_code = f"({factor})" if " " in factor and not forward else factor
    code = f"{v} = {clean(x)} {op} {factor_code}\nprint(round({v}, 2))"
    f = Fraction(factor.replace(" ", ""))
    value = Fraction(str(x)) * f if forward else Fraction(str(x)) / f
    unit_name = _unit_name(dst, lang, rng)
    q = ph(ASK_UNIT[lang], key=True, x=say_number(x, rng, lang), a=_unit_name(src, lang, rng), b=unit_name)
    q = noisy(join(ph(OPEN[lang]), q, ph(POLITE[lang]) if q[-1] not in "?？.。" else ""), rng, lang)
    def reply(out):
        return say_result(ph, lang, printed_value(out), unit_name)
    return Problem("units", q, code, float(value), reply, (a, b, forward, x), v, unit_name)


def temperature(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    while True:
        a = rng.choice("CF")
        x = rng.randint(-40, 45) if a == "C" else rng.randint(-40, 110)
        if rng.random() < 0.2:
            x = round(x + rng.random(), 1)
        if ctx.ok_numbers("temp", a, x):
            break
    b = "F" if a == "C" else "C"
    names = _TEMP_NAMES[lang]
    if a == "C":
        v = ctx.names.fresh("fahrenheit")
        code, value = f"{v} = {clean(x)} * 9 / 5 + 32", Fraction(str(x)) * 9 / 5 + 32
    else:
        v = ctx.names.fresh("celsius")
        code, value = f"{v} = ({clean(x)} - 32) * 5 / 9", (Fraction(str(x)) - 32) * 5 / 9
    code += f"\nprint(round({v}, 2))"
    q = ph(ASK_TEMP[lang], key=True, x=clean(x), a=a, b=b, an=names[a], bn=names[b])
    q = noisy(join(ph(OPEN[lang]), q), rng, lang)
    unit_name = f"°{b}"
    def reply(out):
        return say_result(ph, lang, printed_value(out), unit_name).replace(" °", "°")
    return Problem("units", q, code, float(value), reply, (a, x), v, unit_name)


def currency(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    while True:
        (A, B), base = rng.choice(list(_RATES.items()))
        r = round(base * rng.uniform(0.9, 1.1), 2 if base < 50 else 1)
        x = _amount(rng)
        forward = rng.random() < 0.7
        if ctx.ok_numbers("fx", A, B, r, x, forward):
            break
    dst = B if forward else A
    rate = ctx.names.fresh("rate")
    v = ctx.names.fresh(dst.lower())
    op = "*" if forward else "/"
    code = f"{rate} = {clean(r)}\n{v} = {clean(x)} {op} {rate}\nprint(round({v}, 2))"
    value = Fraction(str(x)) * Fraction(str(r)) if forward else Fraction(str(x)) / Fraction(str(r))
    # the rate is always stated A->B; asking backward gives an amount in B to turn into A
    q = ph(ASK_FX[lang] if forward else ASK_FX_BACK[lang], key=True, A=A, B=B, r=clean(r),
           An=CURRENCIES[A][lang], Bn=CURRENCIES[B][lang], x=clean(x))
    q = noisy(join(ph(OPEN[lang]), q), rng, lang)
    unit_name = dst
    def reply(out):
        return say_result(ph, lang, printed_value(out), unit_name)
    return Problem("currency", q, code, float(value), reply, (A, B, r, x, forward), v, unit_name)


FAMILY = {"units": [(unit, 3), (temperature, 1)], "currency": [(currency, 1)]}
