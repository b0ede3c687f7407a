"""Percentages: a share of a number, increases and discounts (Chinese 折 too), what percent, change, tips."""
from __future__ import annotations

from fractions import Fraction

from training.data.families.base import Ctx, Problem, printed_value, reply_number
from training.data.phrasing import OPEN, POLITE, Parts, clean, join, noisy, say_number, zh_numeral

ASK = {
    ("of", "en"): Parts("pct.of.en", ["What is {p}% of {x}?", "{p}% of {x}?", "Calculate {p} percent of {x}.",
                                       "How much is {p}% of {x}?", "Find {p}% of {x}.", "what's {p} percent of {x}"],
                        ["Take {p}% of {x}: what do you get?"]),
    ("of", "zh"): Parts("pct.of.zh", ["{x} 的 {p}% 是多少？", "计算 {x} 的百分之{pz}", "{x} 乘以 {p}% 等于多少？", "求 {x} 的 {p}%。"],
                        ["{x} 的百分之{pz}是几？"]),
    ("up", "en"): Parts("pct.up.en", ["Increase {x} by {p}%.", "What is {x} plus {p}%?", "{x} goes up by {p}%. New value?",
                                       "If a price of {x} rises {p}%, what is the new price?",
                                       "My rent of {x} increases by {p} percent. What will I pay?"],
                        ["Add {p}% on top of {x}; what's the result?"]),
    ("up", "zh"): Parts("pct.up.zh", ["{x} 增加 {p}% 是多少？", "价格 {x} 上涨 {p}% 后是多少？", "{x} 涨了百分之{pz}，现在是多少？"],
                        ["{x} 提高 {p}% 以后变成多少？"]),
    ("down", "en"): Parts("pct.down.en", ["A jacket costs {x} and is {p}% off. What is the sale price?",
                                           "{x} with a {p}% discount?", "What is {x} minus {p}%?",
                                           "Price {x}, discount {p}%. How much do I pay?",
                                           "Reduce {x} by {p} percent."],
                          ["After knocking {p}% off {x}, what's left to pay?"]),
    ("down", "zh"): Parts("pct.down.zh", ["原价 {x}，便宜 {p}% 后多少钱？", "{x} 减少 {p}% 是多少？", "{x} 降价 {p}% 后是多少？"],
                          ["{x} 优惠 {p}% 之后要付多少？"]),
    ("zhe", "zh"): Parts("pct.zhe.zh", ["原价 {x} 元，打{z}折后多少钱？", "一件衣服 {x} 元，打{z}折，要付多少？", "{x} 元的东西打{z}折是多少？"],
                         ["{x} 元商品{z}折优惠，实付多少？"]),
    ("what", "en"): Parts("pct.what.en", ["What percent of {x} is {y}?", "{y} is what percentage of {x}?",
                                           "What percentage is {y} out of {x}?", "I scored {y} out of {x}. What percent is that?"],
                          ["Express {y} as a percentage of {x}."]),
    ("what", "zh"): Parts("pct.what.zh", ["{y} 占 {x} 的百分之几？", "{y} 是 {x} 的百分之多少？", "考了 {y} 分，满分 {x}，得分率是多少？"],
                          ["{y} 在 {x} 中所占的百分比是多少？"]),
    ("change", "en"): Parts("pct.change.en", ["What is the percentage change from {x} to {y}?",
                                               "It went from {x} to {y}. By what percent did it change?",
                                               "Percent change {x} -> {y}?", "Sales grew from {x} to {y}. What is the growth rate in %?"],
                            ["From {x} to {y} is a change of how many percent?"]),
    ("change", "zh"): Parts("pct.change.zh", ["从 {x} 变到 {y}，变化了百分之多少？", "{x} 到 {y} 的增长率是多少？", "销量从 {x} 增加到 {y}，增长了百分之几？"],
                            ["由 {x} 变为 {y}，变化率是多少？"]),
}
PCT_REPLY = {
    "en": Parts("pct.reply.en", ["{ans}%", "It is {ans}%.", "That's {ans}%.", "The answer is {ans}%."]),
    "zh": Parts("pct.reply.zh", ["{ans}%", "是 {ans}%。", "答案是 {ans}%。", "约为 {ans}%。"]),
}


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
