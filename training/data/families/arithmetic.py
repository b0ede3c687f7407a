"""Arithmetic: bare expressions, powers and roots, and everyday word problems (shopping, bills, leftovers)."""
from __future__ import annotations

import math
from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, reply_number
from puyu.training.data.phrasing import OPEN, POLITE, Parts, clean, join, noisy, say_number

ASK_EXPR = {
    "en": Parts("arith.expr.en",
                ["What is {e}?", "What's {e}?", "Calculate {e}.", "Can you calculate {e}?", "Compute {e}.",
                 "How much is {e}?", "{e} = ?", "{e}", "Evaluate {e}.", "Work out {e}.", "Please tell me {e}.",
                 "What does {e} equal?", "Find {e}.", "Could you compute {e} for me?", "calc {e}",
                 "Solve {e}.", "{e} is what?", "Quick one: {e}", "I need the result of {e}.",
                 "What do you get for {e}?", "What's the answer to {e}?", "Result of {e}?",
                 "Help me with this sum: {e}",
                 "Crunch the numbers for me: {e}",
                 "Simplify {e}.",
                 "Check my math: what is {e}?",
                 "I'm doing my homework and need {e} solved.",
                 "Tally up {e}.",
                 "Mental math is hard for me. What's {e}?",
                 "Quick arithmetic question: {e}?",
                 "Punch {e} into a calculator and tell me the result.",
                 "Show me the outcome of {e}.",
                 "What number do you end up with from {e}?"],
                ["Figure out {e} for me.", "Give me the value of {e}.", "{e} comes to what?", "Do the math: {e}."]),
    "zh": Parts("arith.expr.zh",
                ["{e} 等于多少？", "{e}=?", "计算 {e}", "请计算 {e}。", "帮我算一下 {e}", "{e} 是多少？", "算一下 {e}",
                 "{e} 的结果是多少？", "求 {e} 的值。", "{e}", "{e} 等于几？",
                 "算算 {e}", "{e} 等于？", "请问 {e} 是多少", "计算一下：{e}", "帮忙算下 {e} 的结果", "{e}，结果是几？",
                 "问一下，{e} 是多少呀？",
                 "口算一下 {e}",
                 "这道题怎么算：{e}",
                 "{e} 等于几来着？",
                 "帮我验算一下 {e} 等于多少",
                 "用计算器按一下 {e}，结果是？",
                 "列式计算：{e}",
                 "{e} 算出来是多少？",
                 "脱式计算 {e}",
                 "求出 {e} 的计算结果。",
                 "{e} 答案是啥？",
                 "老师布置的作业：{e}，帮我算算。"],
                ["麻烦求一下 {e} 的值", "{e} 得多少？", "你能算出 {e} 吗？"]),
}
_OPS_SYM = {"+": ["+"], "-": ["-"], "*": ["*", "x", "×", "*"], "/": ["/", "÷", "/"]}
_OPS_WORD = {"en": {"+": ["plus", "added to"], "-": ["minus"], "*": ["times", "multiplied by"],
                    "/": ["divided by", "over"]},
             "zh": {"+": ["加", "加上"], "-": ["减", "减去"], "*": ["乘以", "乘"], "/": ["除以"]}}
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


ASK_POWER = {
    "en": Parts("arith.power.en",
                ["What is {a} to the power of {b}?", "Calculate {a}^{b}.", "What's {a}**{b}?", "{a} raised to {b}?",
                 "Compute {a} to the {b}th power.",
                 "{a}^{b} = ?", "Raise {a} to the power of {b}.", "Evaluate {a}**{b}.", "Find {a}^{b}.",
                 "pow({a}, {b})?", "What is {a} with an exponent of {b}?", "Please calculate {a} ** {b}.",
                 "I need {a} raised to the power of {b}.", "{a} to the power of {b} equals what?",
                 "Base {a}, exponent {b}: what's the result?", "Work out {a}^{b}.",
                 "What's {a} to the {b}?",
                 "Exponentiate {a} by {b}.",
                 "If you multiply {b} copies of {a} together, what's the result?",
                 "Find the value of {a} raised to the exponent {b}.",
                 "The {b}th power of {a}, please.",
                 "Math.pow({a}, {b})?",
                 "With {a} as the base and {b} as the power, what number do you get?",
                 "Do the exponentiation {a}^{b}.",
                 "Multiply {a} by itself until there are {b} factors of {a}. What's the product?",
                 "I have a power problem: {a} to the {b}th. Answer?"],
                ["How big is {a} to the power {b}?"]),
    "zh": Parts("arith.power.zh", ["{a} 的 {b} 次方是多少？", "计算 {a}^{b}", "求 {a} 的 {b} 次幂。",
                                       "{a}^{b} 是多少？", "算一下 {a} 的 {b} 次方", "{a} 的 {b} 次幂是多少？", "求 {a}^{b}",
                                       "{b} 个 {a} 相乘是多少？", "请帮我算 {a} 的 {b} 次方。", "{a}**{b} 结果是多少",
                                       "以 {a} 为底、指数为 {b} 的幂是多少？", "{a}的{b}次方",
                                       "计算 {a} 的 {b} 次方的值",
                                       "底数是 {a}，指数是 {b}，幂是多少？",
                                       "做个乘方运算：{a} 的 {b} 次方",
                                       "{b} 个 {a} 连乘，结果是多少？",
                                       "帮我做一下幂运算：{a}^{b}",
                                       "用 pow({a}, {b}) 算一下是多少",
                                       "已知底数 {a}、指数 {b}，求乘方的结果。",
                                       "{a} 的 {b} 次方，口算不出来，帮个忙。",
                                       "乘方题：{a} 的 {b} 次方得数是多少？",
                                       "把 {b} 个 {a} 乘在一起，积是多少？"], ["{a} 的 {b} 次方等于几？"]),
}
ASK_ROOT = {
    "en": Parts("arith.root.en",
                ["What is the square root of {a}?", "sqrt({a})?", "Calculate the square root of {a}.",
                 "Find √{a}.", "square root of {a}",
                 "√{a} = ?", "What's the square root of {a}?", "Compute sqrt({a}).", "Evaluate √{a}.",
                 "I need the square root of {a}.", "What is √{a}?", "Square root for {a}?",
                 "Work out the square root of {a}.", "How much is the square root of {a}?",
                 "What positive number squared gives {a}?", "Give me sqrt {a}.",
                 "Which positive number times itself equals {a}?",
                 "Give √{a} as a decimal.",
                 "Find the principal square root of {a}.",
                 "What's root {a}?",
                 "A square has an area of {a}. How long is each side?",
                 "Get me the sqrt of {a}.",
                 "What is {a} to the power of one half?",
                 "{a}^0.5 = ?",
                 "Math.sqrt({a})?",
                 "Determine √{a} to four decimal places."],
                ["Take the square root of {a} for me."]),
    "zh": Parts("arith.root.zh", ["{a} 的平方根是多少？", "计算 √{a}", "求 {a} 的平方根。", "根号 {a} 等于多少？",
                                      "√{a} 是多少？", "求根号{a}", "{a} 的算术平方根是多少？", "算一下 {a} 的平方根",
                                      "根号下 {a} 等于几？", "{a}的平方根", "请计算 {a} 的平方根。", "帮我求 √{a}",
                                      "哪个正数的平方等于 {a}？", "sqrt({a}) 是多少？",
                                      "帮我把 {a} 开个根号",
                                      "对 {a} 进行开方运算，结果是多少？",
                                      "一个正方形面积是 {a}，边长是多少？",
                                      "{a} 的二分之一次方是多少？",
                                      "什么正数自己乘自己等于 {a}？",
                                      "求 {a} 的正平方根",
                                      "根号{a}约等于多少？保留几位小数就行",
                                      "{a}^0.5 等于？",
                                      "计算器上按 √{a}，会显示多少？",
                                      "开方：{a}",
                                      "{a} 的平方根保留四位小数是多少？"],
                ["{a} 开平方是多少？"]),
}


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


_ITEMS = {"en": ["notebooks", "pens", "apples", "tickets", "coffees", "books", "shirts", "pizzas", "boxes of tea",
                 "bus passes", "chairs", "movie tickets", "bags of rice", "cups", "batteries"],
          "zh": ["笔记本", "支笔", "个苹果", "张票", "杯咖啡", "本书", "件衬衫", "个披萨", "盒茶叶", "把椅子", "袋大米",
                 "个杯子", "节电池"]}
_MONEY = {"en": ["${p}", "{p} dollars", "${p}", "{p} yuan", "€{p}", "{p} euros"],
          "zh": ["{p}元", "{p} 元", "{p}块钱", "{p}块"]}
ASK_SHOP = {
    "en": Parts("arith.shop.en",
                ["I bought {n} {item} at {price} each. How much did I spend?",
                 "{n} {item} cost {price} each. What is the total?",
                 "How much do {n} {item} cost if one costs {price}?",
                 "If each of the {item} is {price}, what do {n} of them cost?",
                 "Total price of {n} {item} at {price} apiece?",
                 "I need {n} {item}; they are {price} each. How much will I pay?",
                 "{item} are {price} each and I want {n}. What's the total cost?",
                 "What do I pay altogether for {n} {item} at {price} each?",
                 "Cost of {n} {item} if each is {price}?",
                 "Ordering {n} {item} at {price} per unit. Total?",
                 "The shop sells {item} for {price} each. I'm getting {n}. How much in total?",
                 "How much should I pay for {n} {item} when each one costs {price}?",
                 "Work out the combined cost of {n} {item}, {price} for each.",
                 "I picked up {n} {item}, each one {price}. What did it all cost?",
                 "We got {n} {item} for the office at {price} each. What was the total spend?",
                 "Calculate the total for {n} {item} costing {price} each.",
                 "{n} {item} at {price} each: sum?",
                 "The price is {price} per item and I bought {n} {item}. How much altogether?",
                 "Unit price {price}, quantity {n}. What's the grand total for the {item}?",
                 "My cart has {n} {item} at {price} a pop. What will checkout come to?",
                 "If the {item} go for {price} each, how much do I need to buy {n}?",
                 "The cashier rang up {n} {item} at {price} per piece. What should the receipt say?",
                 "Purchase: {n} {item}, {price} a unit. Total amount due?",
                 "Each of the {item} sells for {price}. What would a bulk order of {n} come to?",
                 "{n} {item} at {price} each: how much money do I need to bring?",
                 "Stocking up on {item}: {n} of them at {price} apiece. What's that in total?",
                 "For a party I'm buying {n} {item}, and the price tag says {price} each. How much is that?",
                 "Multiply it out for me: {n} {item} at {price} each.",
                 "Add up the cost of {n} {item} if every one is {price}."],
                ["What would {n} {item} set me back at {price} a piece?",
                 "Buying {n} {item} priced {price} each, what's the bill?"]),
    "zh": Parts("arith.shop.zh",
                ["我买了{n}{item}，每个{price}，一共多少钱？", "{item}每个{price}，买{n}个要多少钱？",
                 "一个{item}{price}，{n}个总共多少钱？", "单价{price}的{item}买{n}个，总价是多少？",
                 "买{n}{item}，每个{price}，总共要付多少？", "{n}{item}，每个{price}，一共花多少钱？",
                 "每个{price}，我要买{n}{item}，总价多少？", "我在店里拿了{n}{item}，每个{price}，结账时要付多少？",
                 "一次买{n}{item}，每个卖{price}，总共多少钱？", "算一下：{n}{item}，每个{price}，总价？",
                 "帮我算算{n}{item}要花多少钱，每个{price}。", "{n}{item}每个都是{price}，加起来多少钱？",
                 "公司要采购{n}{item}，每个{price}，总费用是多少？", "每个{price}的话，{n}{item}一共要花多少？",
                 "购物车里放了{n}{item}，每个{price}，下单要付多少钱？",
                 "网购{n}{item}，一个{price}，总共花了多少？",
                 "收银员扫了{n}{item}，每个{price}，小票上的总额应该是多少？",
                 "进货{n}{item}，进价每个{price}，一共要多少本钱？",
                 "给班上买{n}{item}，按每个{price}算，总开销是多少？",
                 "买{n}{item}要多少钱？每个{price}。",
                 "按单价{price}计算，{n}{item}的总金额是多少？",
                 "我下单了{n}{item}，每个{price}，应付金额是多少？",
                 "团购{n}{item}，每个{price}，一共需要支付多少？",
                 "{n}{item}，一个{price}，买单时要给多少钱？",
                 "每个{price}，{n}{item}加在一起花销多少？"],
                ["{n}{item}，单价{price}，合计多少？"]),
}
ASK_SPLIT = {
    "en": Parts("arith.split.en",
                ["We are {n} people and the bill is {total}. How much does each person pay?",
                 "Split {total} evenly among {n} people.", "{total} shared by {n} friends: how much each?",
                 "Divide a bill of {total} between {n} people.",
                 "How much per person if {n} people split {total}?",
                 "{total} divided among {n} people is how much each?",
                 "Our group of {n} owes {total}. What does each person pay?", "Split a {total} check {n} ways.",
                 "{n} roommates pay {total} rent together, split evenly. How much does each one pay?",
                 "What's {total} split {n} ways?", "Per-person cost: {total} for {n} people?",
                 "{n} friends spent {total} on a trip and split the cost evenly. How much per person?",
                 "A {total} bill, {n} people, everyone pays the same. How much is that per head?",
                 "I paid {total} for the group and {n} people (me included) split it evenly. How much should each pay?",
                 "Go Dutch on {total} among {n} people: how much each?",
                 "{n} friends are chipping in equally for a {total} gift. How much does each person put in?",
                 "Divvy up {total} equally among {n} people. What's each share?",
                 "The taxi fare was {total} and {n} passengers are splitting it evenly. What does each owe?",
                 "Our Airbnb cost {total} for {n} guests. Split evenly, what's the per-head cost?",
                 "What is each person's fair share of a {total} tab split evenly between {n}?",
                 "{n} coworkers pitch in equally for a {total} lunch order. How much is each contribution?",
                 "How much does each diner pay when a {total} restaurant check is divided {n} ways?",
                 "Cut {total} into {n} equal portions. How big is each portion?",
                 "Per capita: {total} spread evenly across {n} people. How much?",
                 "Equal split: {n} people, {total} total. Each pays?",
                 "The utility bill is {total} and there are {n} flatmates sharing it equally. How much per flatmate?"],
                ["If {n} of us share a {total} dinner bill equally, what's my part?"]),
    "zh": Parts("arith.split.zh",
                ["我们{n}个人吃饭花了{total}，平均每人多少钱？", "{total}平均分给{n}个人，每人多少？", "{n}个人AA {total}，每人付多少？",
                 "{total}由{n}个人平分，每人多少钱？", "{total}分给{n}个人，人均多少？",
                 "{n}位同事一起订外卖花了{total}，平分下来每人多少？", "把{total}平均分成{n}份，每份多少？",
                 "房租{total}，{n}个人合租平分，每人交多少？", "{n}人聚餐，账单{total}，人均多少钱？",
                 "这顿饭{total}，{n}个人AA，每个人要付多少？", "总共{total}，{n}个人平分，每人付多少？",
                 "团建花了{total}，{n}个人平均分，每人多少钱？",
                 "{n}个人拼车，车费一共{total}，分摊到每个人头上是多少？",
                 "{n}个室友平均分摊{total}的水电费，每人要转账多少？",
                 "{n}个同学凑份子买礼物，总价{total}，每人平均出多少钱？",
                 "{total}的账单，{n}个人分账，各出一样多，一人多少？",
                 "把{total}均分给{n}个人，每个人能分到多少？",
                 "{total}除以{n}个人，人均是多少？",
                 "按{n}个人均摊的话，班费支出的{total}落到每人头上是多少？",
                 "{n}个朋友出去旅游，总花费{total}，大家平均分担，一人承担多少？",
                 "这次聚会的{total}消费由{n}个人平分，每个人摊到多少？"],
                ["一共{total}，{n}人平摊，每人该出多少？"]),
}
ASK_LEFT = {
    "en": Parts("arith.left.en",
                ["I had {a} and spent {b}. How much is left?", "Starting with {a}, after paying {b}, what remains?",
                 "My balance is {a}. If I pay {b}, what is my new balance?", "{a} minus the {b} I spent: what's left?",
                 "I started with {a} and used {b}. What's remaining?",
                 "I had {a} in my wallet and paid {b} for groceries. How much money is left over?",
                 "{a} take away {b}: how much remains?", "My account has {a}. I withdraw {b}. What's the balance now?",
                 "I handed over {a} for something costing {b}. How much change do I get back?",
                 "Budget: {a}. Spent so far: {b}. Remaining?", "How much remains if I spend {b} from {a}?",
                 "There was {a} on my card; a purchase of {b} went through. What's left on it?",
                 "I saved {a} and then bought something for {b}. How much money remains?",
                 "What's left of {a} once {b} is spent?", "A {b} item paid with {a}: how much change?",
                 "You have {a} and spend {b}. How much is left?",
                 "My paycheck was {a} and rent took {b}. How much do I have left for everything else?",
                 "Deduct {b} from a balance of {a}. What's the result?",
                 "Subtract the {b} charge from my {a} account balance.",
                 "My allowance is {a} and I've blown {b} already. What's left to spend?",
                 "A {b} debit hit my account, which had {a}. New balance?",
                 "I went out with {a} in cash and came home having spent {b}. How much cash is in my pocket now?",
                 "Of a {a} budget, {b} has gone on supplies. How much remains in the budget?",
                 "The gift card held {a}, and I used {b} of it. What's the remaining value?",
                 "My savings are {a}. If I pay {b} from them, what will my savings be?",
                 "I gave the cashier {a} and the total rang up at {b}. What change should I receive?",
                 "An account holding {a} had {b} withdrawn. How much is in there now?",
                 "Net amount: {a} less {b}?"],
                ["After spending {b} out of {a}, how much do I still have?"]),
    "zh": Parts("arith.left.zh", ["我有{a}，花了{b}，还剩多少？", "余额{a}，付了{b}之后还有多少？", "原来有{a}，用掉{b}，剩下多少？",
                                      "钱包里有{a}，买东西用了{b}，剩下多少钱？", "卡里原有{a}，消费{b}后余额是多少？",
                                      "{a}减去花的{b}，还剩多少？", "买了{b}的东西，给了店员{a}，找零多少？",
                                      "预算{a}，已经花了{b}，还能用多少？", "我手上有{a}，交了{b}的费用，还剩多少钱？",
                                      "有{a}，用去{b}，剩余多少？", "存款{a}，取出{b}后还有多少？",
                                      "拿{a}去付{b}的账，能找回多少钱？", "{a}，花了{b}，剩多少？",
                                      "这个月工资{a}，交了{b}房租，还剩多少生活费？",
                                      "零花钱{a}，买零食花了{b}，剩下的钱是多少？",
                                      "账户余额{a}，被扣款{b}，现在还有多少？",
                                      "饭卡里有{a}，今天刷了{b}，卡里还剩多少？",
                                      "微信余额{a}，转账出去{b}后，余额变成多少？",
                                      "生活费{a}，开销了{b}，结余多少？",
                                      "付了{b}，原本带了{a}现金，兜里还有多少钱？",
                                      "递给收银员{a}，商品{b}，应该找我多少钱？",
                                      "预算一共{a}，支出{b}以后，余下多少？",
                                      "我带了{a}出门，花出去了{b}，回来还剩下多少？",
                                      "交通卡里有{a}，坐车用了{b}，余额是多少？"],
                ["{a}里花掉{b}，还剩几何？"]),
}


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
