"""Percentages: a share of a number, increases and discounts (Chinese 折 too), what percent, change, tips."""
from __future__ import annotations

from fractions import Fraction

from training.data.families.base import Ctx, Problem, printed_value, reply_number
from training.data.phrasing import OPEN, POLITE, Parts, clean, join, noisy, say_number, zh_numeral

ASK = {
    ("of", "en"): Parts("pct.of.en", ["What is {p}% of {x}?", "{p}% of {x}?", "Calculate {p} percent of {x}.",
                                       "How much is {p}% of {x}?", "Find {p}% of {x}.", "what's {p} percent of {x}",
                                       "Work out {p}% of {x}.",
                                       "I need {p}% of {x}. How much is that?",
                                       "Give me {p}% of {x}.",
                                       "What is a {p}% share of {x}?",
                                       "A {p}% portion of {x} is how much?",
                                       "{p} percent of {x} is what number?",
                                       "The tax rate is {p}%. How much tax is due on {x}?",
                                       "Compute {p}% of {x}, please.",
                                       "My paycheck is {x} and I save {p}% of it. How much do I save?",
                                       "How much is {p} per cent of {x}?",
                                       "A tip of {p}% on a bill of {x}: how much is the tip?",
                                       "{x} times {p}% equals what?"],
                        ["Take {p}% of {x}: what do you get?"]),
    ("of", "zh"): Parts("pct.of.zh", ["{x} 的 {p}% 是多少？", "计算 {x} 的百分之{pz}", "{x} 乘以 {p}% 等于多少？", "求 {x} 的 {p}%。",
                                       "算一下 {p}% × {x}",
                                       "{x} 乘以百分之{pz}得多少？",
                                       "工资 {x} 元，拿出 {p}% 存起来，存多少钱？",
                                       "按 {p}% 的税率，{x} 元要交多少税？",
                                       "{x} 里面的 {p}% 有多少？",
                                       "求 {x} 乘 {p}% 的结果。",
                                       "{x} 元的 {p}% 是多少钱？",
                                       "帮我算 {x} 的 {p}%。",
                                       "一共 {x}，其中 {p}% 是多少？",
                                       "百分之{pz}乘以{x}等于？",
                                       "账单 {x} 元，给 {p}% 的小费，小费是多少？"],
                        ["{x} 的百分之{pz}是几？"]),
    ("up", "en"): Parts("pct.up.en", ["Increase {x} by {p}%.", "What is {x} plus {p}%?", "{x} goes up by {p}%. New value?",
                                       "If a price of {x} rises {p}%, what is the new price?",
                                       "My rent of {x} increases by {p} percent. What will I pay?",
                                       "Raise {x} by {p}%.",
                                       "Grow {x} by {p} percent. What's the new number?",
                                       "Mark up {x} by {p}%. What's the selling price?",
                                       "A {x} item gets a {p}% markup. What does it sell for now?",
                                       "{x} increased by {p}% is what?",
                                       "My salary is {x} and I got a {p}% raise. What's my new salary?",
                                       "The population was {x} and grew {p}%. What is it now?",
                                       "What do you get when {x} climbs {p}%?",
                                       "Inflation is {p}%. Something that cost {x} costs how much now?",
                                       "Bump {x} up by {p} percent.",
                                       "{p}% more than {x} is how much?",
                                       "A {p}% hike on {x} gives what?",
                                       "The price of {x} goes up {p}% next month. What will it be?"],
                        ["Add {p}% on top of {x}; what's the result?"]),
    ("up", "zh"): Parts("pct.up.zh", ["{x} 增加 {p}% 是多少？", "价格 {x} 上涨 {p}% 后是多少？", "{x} 涨了百分之{pz}，现在是多少？",
                                       "{x} 上调 {p}%，调整后是多少？",
                                       "房租 {x} 元，涨价 {p}% 以后每月交多少？",
                                       "{x} 增长百分之{pz}后是多少？",
                                       "工资 {x}，涨薪 {p}%，新工资是多少？",
                                       "原价 {x} 元，提价 {p}%，现价多少？",
                                       "比 {x} 多 {p}% 的数是多少？",
                                       "{x} 上浮 {p}% 是多少？",
                                       "产量原来是 {x}，今年增长了 {p}%，现在是多少？",
                                       "{x} 乘以 (1 + {p}%) 等于多少？",
                                       "把 {x} 增加百分之{pz}。",
                                       "价格 {x} 元，涨幅 {p}%，涨完多少钱？"],
                        ["{x} 提高 {p}% 以后变成多少？"]),
    ("down", "en"): Parts("pct.down.en", ["A jacket costs {x} and is {p}% off. What is the sale price?",
                                           "{x} with a {p}% discount?", "What is {x} minus {p}%?",
                                           "Price {x}, discount {p}%. How much do I pay?",
                                           "Reduce {x} by {p} percent.",
                                           "Cut {x} by {p}%.",
                                           "Lower {x} by {p} percent. What's the new value?",
                                           "{x} drops by {p}%. What is it now?",
                                           "The store has a {p}% sale on an item priced {x}. What's the sale price?",
                                           "Decrease {x} by {p}%.",
                                           "What's {x} after a {p} percent reduction?",
                                           "A {p}% price cut on {x}: what's the new price?",
                                           "My {x} bill gets a {p}% discount. How much do I owe?",
                                           "Shrink {x} by {p}%.",
                                           "{x} less {p}%?",
                                           "A car worth {x} loses {p}% of its value. What is it worth now?",
                                           "Coupon: {p}% discount. Original price {x}. Final price?",
                                           "What is {p}% less than {x}?"],
                          ["After knocking {p}% off {x}, what's left to pay?"]),
    ("down", "zh"): Parts("pct.down.zh", ["原价 {x}，便宜 {p}% 后多少钱？", "{x} 减少 {p}% 是多少？", "{x} 降价 {p}% 后是多少？",
                                           "{x} 降低 {p}% 后是多少？",
                                           "{x} 下调百分之{pz}，结果是多少？",
                                           "原价 {x} 元，降价 {p}%，现价多少？",
                                           "{x} 减掉 {p}% 还剩多少？",
                                           "一件东西 {x} 元，减价 {p}%，到手价多少？",
                                           "{x} 下降了 {p}%，现在是多少？",
                                           "比 {x} 少 {p}% 的数是多少？",
                                           "这台手机 {x} 元，现在便宜百分之{pz}，卖多少钱？",
                                           "{x} 乘以 (1 - {p}%) 等于多少？",
                                           "{x} 缩减 {p}% 后剩下多少？",
                                           "成本 {x}，削减 {p}% 以后是多少？"],
                          ["{x} 优惠 {p}% 之后要付多少？"]),
    ("zhe", "zh"): Parts("pct.zhe.zh", ["原价 {x} 元，打{z}折后多少钱？", "一件衣服 {x} 元，打{z}折，要付多少？", "{x} 元的东西打{z}折是多少？",
                                         "{x} 元打{z}折，多少钱？",
                                         "打{z}折的话，{x} 元的东西花多少钱？",
                                         "标价 {x} 元，现在{z}折，卖多少钱？",
                                         "这双鞋 {x} 元，店里打{z}折，我付多少？",
                                         "{x} 元，{z}折后价格是多少？",
                                         "原价 {x} 元，全场{z}折，折后多少？",
                                         "一张 {x} 元的票打{z}折，票价多少？",
                                         "会员打{z}折，{x} 元的账单结账多少？",
                                         "{x} 打{z}折等于多少？"],
                         ["{x} 元商品{z}折优惠，实付多少？"]),
    ("what", "en"): Parts("pct.what.en", ["What percent of {x} is {y}?", "{y} is what percentage of {x}?",
                                           "What percentage is {y} out of {x}?", "I scored {y} out of {x}. What percent is that?",
                                           "What share of {x} is {y}, in percent?",
                                           "{y} out of {x} is what percent?",
                                           "What fraction of {x} is {y}? Give it in percent.",
                                           "What proportion of {x} is {y}, in %?",
                                           "I spent {y} of my {x} budget. What percent did I spend?",
                                           "I've driven {y} km of a {x} km trip. What percent of the way am I?",
                                           "How many percent of {x} is {y}?",
                                           "The ratio of {y} to {x} in percent?",
                                           "{y} over {x}, in percent?",
                                           "Of {x}, {y} is what portion in percent?",
                                           "A {x} L tank has {y} L in it. How full is it, in percent?",
                                           "What percent does {y} make up of {x}?",
                                           "Find what percent {y} is of {x}."],
                          ["Express {y} as a percentage of {x}."]),
    ("what", "zh"): Parts("pct.what.zh", ["{y} 占 {x} 的百分之几？", "{y} 是 {x} 的百分之多少？", "考了 {y} 分，满分 {x}，得分率是多少？",
                                           "{y} 与 {x} 的比例是百分之多少？",
                                           "{x} 里有 {y}，占比百分之几？",
                                           "预算 {x} 元，已经花了 {y} 元，花掉了百分之几？",
                                           "一共 {x}，其中 {y}，占百分之多少？",
                                           "{y} 除以 {x} 是百分之几？",
                                           "水箱容量 {x} 升，现在有 {y} 升，装满了百分之多少？",
                                           "{y} 相当于 {x} 的百分之多少？",
                                           "求 {y} 占 {x} 的比例（用百分数表示）。",
                                           "路程 {x} 公里，已经走了 {y} 公里，完成了百分之几？",
                                           "{y} 和 {x} 相比，是它的百分之几？"],
                          ["{y} 在 {x} 中所占的百分比是多少？"]),
    ("change", "en"): Parts("pct.change.en", ["What is the percentage change from {x} to {y}?",
                                               "It went from {x} to {y}. By what percent did it change?",
                                               "Percent change {x} -> {y}?", "Sales grew from {x} to {y}. What is the growth rate in %?",
                                               "By what percent did the value move from {x} to {y}?",
                                               "What's the percent increase or decrease from {x} to {y}?",
                                               "Old value {x}, new value {y}. Percent change?",
                                               "A stock went from {x} to {y}. What's the return in percent?",
                                               "Price moved {x} to {y}. How much did it rise or fall, in %?",
                                               "Compute the relative change from {x} to {y} in percent.",
                                               "Last year {x}, this year {y}. What's the year-over-year change in %?",
                                               "{x} became {y}. How many percent up or down is that?",
                                               "My weight went from {x} to {y}. What percent change is that?",
                                               "What is the growth in percent from {x} to {y}? (negative means a drop)",
                                               "Starting at {x} and ending at {y}, what's the % change?",
                                               "Calculate the percentage change: before {x}, after {y}."],
                            ["From {x} to {y} is a change of how many percent?"]),
    ("change", "zh"): Parts("pct.change.zh", ["从 {x} 变到 {y}，变化了百分之多少？", "{x} 到 {y} 的增长率是多少？", "销量从 {x} 增加到 {y}，增长了百分之几？",
                                               "从 {x} 到 {y}，涨跌幅是百分之多少？",
                                               "原来 {x}，现在 {y}，变动了百分之几？",
                                               "去年 {x}，今年 {y}，同比增长百分之多少？",
                                               "股价从 {x} 变到 {y}，涨跌了百分之几？",
                                               "{x} → {y}，增幅是百分之多少？",
                                               "之前是 {x}，之后是 {y}，相对变化是百分之几？",
                                               "价格从 {x} 调整为 {y}，调整幅度是百分之多少？",
                                               "从 {x} 到 {y}，增长了百分之几？（下降则为负）",
                                               "体重从 {x} 到 {y}，变了百分之多少？",
                                               "上个月 {x}，这个月 {y}，环比变化百分之几？"],
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
