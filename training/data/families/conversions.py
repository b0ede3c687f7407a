"""Unit conversions (standard factors, written in the program), temperatures, and currencies at a rate the
question states."""
from __future__ import annotations

from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, printed_value, say_result
from puyu.training.data.phrasing import OPEN, POLITE, Parts, clean, join, noisy, say_number

# key: (English names, Chinese names, variable name)
UNITS = {
    "km": (["km", "kilometers"], ["公里", "千米"], "km"), "mile": (["miles"], ["英里"], "miles"),
    "m": (["meters", "m"], ["米"], "meters"), "ft": (["feet", "ft"], ["英尺"], "feet"),
    "inch": (["inches"], ["英寸"], "inches"), "cm": (["cm", "centimeters"], ["厘米"], "cm"),
    "kg": (["kg", "kilograms"], ["公斤", "千克"], "kg"), "lb": (["pounds", "lb"], ["磅"], "pounds"),
    "g": (["grams", "g"], ["克"], "grams"), "oz": (["ounces", "oz"], ["盎司"], "ounces"),
    "jin": (["jin"], ["斤"], "jin"), "l": (["liters", "L"], ["升"], "liters"),
    "gal": (["gallons"], ["加仑"], "gallons"), "h": (["hours"], ["小时"], "hours"),
    "min": (["minutes"], ["分钟"], "minutes"), "s": (["seconds"], ["秒"], "seconds"),
    "day": (["days"], ["天"], "days"), "week": (["weeks"], ["周", "个星期"], "weeks"),
    "kmh": (["km/h"], ["公里/小时", "千米每小时"], "kmh"), "ms": (["m/s"], ["米/秒", "米每秒"], "mps"),
    "mph": (["mph"], ["英里/小时"], "mph"), "m2": (["square meters", "m²"], ["平方米"], "sq_m"),
    "ft2": (["square feet"], ["平方英尺"], "sq_ft"), "mu": (["mu"], ["亩"], "mu"),
    "gb": (["GB"], ["GB"], "gb"), "mb": (["MB"], ["MB"], "mb"),
}
# (a, b, factor): b = a * factor
PAIRS = [("mile", "km", "1.609344"), ("ft", "m", "0.3048"), ("inch", "cm", "2.54"), ("lb", "kg", "0.45359237"),
         ("oz", "g", "28.349523125"), ("kg", "jin", "2"), ("gal", "l", "3.785411784"), ("h", "min", "60"),
         ("min", "s", "60"), ("day", "h", "24"), ("week", "day", "7"), ("ms", "kmh", "3.6"),
         ("mph", "kmh", "1.609344"), ("m2", "ft2", "10.763910417"), ("mu", "m2", "10000 / 15"), ("gb", "mb", "1024")]

ASK_UNIT = {
    "en": Parts("conv.unit.en", ["Convert {x} {a} to {b}.", "How many {b} is {x} {a}?", "{x} {a} in {b}?",
                                  "What is {x} {a} in {b}?", "How many {b} are there in {x} {a}?", "{x} {a} = ? {b}",
                                  "Change {x} {a} into {b}.", "{x} {a} to {b}",
                                  "Turn {x} {a} into {b}.",
                                  "What's {x} {a} when written in {b}?",
                                  "Please convert {x} {a} into {b}.",
                                  "{x} {a} equals how many {b}?",
                                  "My measurement reads {x} {a}. What does that come to in {b}?",
                                  "{x} {a} is how many {b}?",
                                  "Switch {x} {a} to {b}.",
                                  "Can you convert {x} {a} to {b} for me?",
                                  "{a} to {b}: {x}",
                                  "Give me {x} {a} in {b}.",
                                  "Rewrite {x} {a} as {b}.",
                                  "What's the {b} equivalent of {x} {a}?",
                                  "Translate {x} {a} into {b}.",
                                  "How many {b} make up {x} {a}?",
                                  "Work out {x} {a} in terms of {b}.",
                                  "{x} {a} corresponds to how many {b}?",
                                  "Quick unit conversion: {x} {a} to {b}, please.",
                                  "Calculate the number of {b} in {x} {a}.",
                                  "Could you tell me what {x} {a} amounts to in {b}?",
                                  "The label says {x} {a}. How many {b} would that be?",
                                  "Figure out how many {b} there are in {x} {a}.",
                                  "Do the conversion for me: {x} {a} into {b}.",
                                  "The spec sheet lists {x} {a}, but I need the figure in {b}."],
                ["Express {x} {a} in {b}.", "I have {x} {a}; what's that in {b}?"]),
    "zh": Parts("conv.unit.zh", ["{x}{a}等于多少{b}？", "把{x}{a}换算成{b}", "{x}{a}是多少{b}？", "{x}{a}合多少{b}？",
                                  "{x} {a} 换成 {b} 是多少？", "{x}{a}换算成{b}",
                                  "{x}{a}相当于多少{b}？",
                                  "{x}{a}换成{b}",
                                  "请把{x}{a}转换为{b}。",
                                  "{x} {a} 等于几{b}？",
                                  "{a}转{b}：{x}{a}是多少？",
                                  "{x}{a}，用{b}表示是多少？",
                                  "{x}{a}算成{b}有多少？",
                                  "帮我换算一下，{x}{a}是多少{b}",
                                  "把{x}{a}化成{b}。",
                                  "单位换算：{x}{a}=（　）{b}",
                                  "转成{b}的话，{x}{a}有多少？",
                                  "以{b}为单位，{x}{a}是多少？",
                                  "{x}{a}对应多少{b}？",
                                  "求{x}{a}等于多少{b}。",
                                  "按{b}折算，{x}{a}是多少？",
                                  "{x}{a}，改用{b}来计量是多少？",
                                  "{x}{a}能换算出多少{b}？",
                                  "把{x}{a}改写成以{b}为单位的数。",
                                  "请问{x}{a}是几{b}？"],
                ["{x}{a}折合成{b}是多少？"]),
}
ASK_TEMP = {
    "en": Parts("conv.temp.en", ["Convert {x}°{a} to {b}.", "What is {x} degrees {an} in {bn}?", "{x}°{a} in °{b}?",
                                  "It's {x}°{a} outside. What is that in {bn}?",
                                  "{x}°{a} = ?°{b}",
                                  "Turn {x} degrees {an} into {bn}.",
                                  "What's {x} {an} in {bn}?",
                                  "The thermometer reads {x}°{a}. What would it read in {bn}?",
                                  "Change {x}°{a} to °{b}.",
                                  "How much is {x}°{a} in degrees {bn}?",
                                  "{x} degrees {an} equals how many degrees {bn}?",
                                  "The recipe says {x}°{a}. What's that in °{b}?",
                                  "Convert {an} to {bn}: {x}°{a}.",
                                  "The forecast says {x} degrees {an}. In {bn}, please?",
                                  "{x}°{a} is how many degrees {bn}?",
                                  "Water is at {x}°{a}. What temperature is that in {bn}?",
                                  "What's {x}°{a} on the {bn} scale?",
                                  "My kid has a fever of {x}°{a}. How high is that in {bn}?",
                                  "Preheat the oven to {x}°{a}: what setting is that in {bn}?",
                                  "Translate {x} degrees {an} to the {bn} scale.",
                                  "Give me the {bn} equivalent of {x}°{a}.",
                                  "{x}°{a} corresponds to what in °{b}?",
                                  "The weather app shows {x}°{a}, but I think in {bn}. What is it?",
                                  "Work out {x}°{a} in degrees {bn}.",
                                  "I set the thermostat to {x}°{a}. What's the reading in {bn}?",
                                  "Degrees {an} to degrees {bn}: {x}.",
                                  "Please figure out what {x} degrees {an} comes to in {bn}."],
                ["How warm is {x}°{a} in {bn}?"]),
    "zh": Parts("conv.temp.zh", ["{x}°{a}是多少°{b}？", "{x}{an}度等于多少{bn}度？", "把{x}°{a}换算成{bn}温度",
                                  "{x}°{a}换算成°{b}是多少？",
                                  "{an}{x}度相当于{bn}多少度？",
                                  "温度计显示{x}°{a}，换成{bn}是多少度？",
                                  "{x}{an}度是{bn}几度？",
                                  "今天气温{x}°{a}，用{bn}表示是多少？",
                                  "把{an}{x}度转换为{bn}度。",
                                  "{x}°{a}等于多少{bn}度？",
                                  "{x}°{a} = ?°{b}",
                                  "烤箱要{x}°{a}，那是{bn}多少度？",
                                  "体温{x}°{a}，换算成{bn}是多少度？",
                                  "{x}°{a}用{bn}温标表示是多少？",
                                  "天气预报说{x}{an}度，按{bn}算是几度？",
                                  "{an}温度{x}度，转成{bn}温度是多少？",
                                  "把{x}°{a}化为{bn}温度。",
                                  "跟{x}°{a}对应的{bn}温度是多少？",
                                  "洗澡水{x}°{a}，换成{bn}的话是多少度？",
                                  "请计算{x}°{a}对应的{bn}温度。",
                                  "菜谱上写烤箱预热到{x}°{a}，{bn}是多少度？",
                                  "室温{x}°{a}，用{bn}度数表示是多少？",
                                  "{x}°{a}，{bn}是几度？"],
                ["{x}{an}度折合{bn}多少度？"]),
}
_TEMP_NAMES = {"en": {"C": "Celsius", "F": "Fahrenheit"}, "zh": {"C": "摄氏", "F": "华氏"}}

CURRENCIES = {"USD": ("dollars", "美元"), "CNY": ("yuan", "人民币"), "EUR": ("euros", "欧元"), "JPY": ("yen", "日元"),
              "GBP": ("pounds", "英镑"), "HKD": ("Hong Kong dollars", "港币")}
_RATES = {("USD", "CNY"): 7.2, ("EUR", "CNY"): 7.8, ("USD", "JPY"): 150, ("GBP", "USD"): 1.27,
          ("EUR", "USD"): 1.08, ("USD", "HKD"): 7.8, ("GBP", "CNY"): 9.1, ("CNY", "JPY"): 20.5}
ASK_FX = {
    "en": Parts("conv.fx.en", ["If 1 {A} = {r} {B}, how much is {x} {A} in {B}?",
                                "The exchange rate is {r} {B} per {A}. Convert {x} {A} to {B}.",
                                "At {r} {B} to the {A}, what is {x} {An} worth in {Bn}?",
                                "1 {A} buys {r} {B}. How many {B} do I get for {x} {A}?",
                                "With a rate of 1 {A} = {r} {B}, change {x} {A} into {B}.",
                                "Exchange {x} {A} to {B} at a rate of {r} {B} per {A}.",
                                "One {A} is worth {r} {B}. What are {x} {A} worth in {B}?",
                                "Changing {x} {An} into {Bn} at 1 {A} = {r} {B}. How much do I get?",
                                "{x} {A} -> {B} at 1 {A} = {r} {B}?",
                                "Using 1 {A} = {r} {B}, turn {x} {A} into {B}.",
                                "The bank gives {r} {B} per {A}. How much do I receive for {x} {A}?",
                                "How many {Bn} is {x} {An} when 1 {A} trades at {r} {B}?",
                                "Today 1 {A} equals {r} {B}. What's {x} {A} in {B}?",
                                "I'm traveling with {x} {An}. At 1 {A} = {r} {B}, how many {Bn} is that?",
                                "Rate: 1 {A} = {r} {B}. Amount: {x} {A}. Value in {B}?",
                                "Convert {x} {A} into {B} using an exchange rate of {r} ({r} {B} to 1 {A}).",
                                "If one {A} gets you {r} {B}, what do {x} {A} get you in {B}?",
                                "Each {A} is worth {r} {B}. What do {x} {A} come to in {B}?",
                                "{A} is trading at {r} {B}. How much is {x} {A} in {B}?",
                                "The {A}/{B} rate is {r}. Convert {x} {A} to {B}.",
                                "What will {x} {An} fetch in {Bn} if one {A} fetches {r} {B}?",
                                "I want to swap {x} {A} for {B}. The quote is {r} {B} per {A}. How much will I end up with?",
                                "The money changer pays {r} {B} for every {A}. What do I get for {x} {A}?",
                                "Cash out {x} {A} into {B}; each {A} is worth {r} {B}.",
                                "At an exchange rate of 1 {A} : {r} {B}, what's the {B} equivalent of {x} {A}?",
                                "My salary is {x} {A}. With the {A} at {r} {B}, how much is that in {B}?",
                                "I'm wiring {x} {A} abroad and the recipient gets {B} at {r} {B} per {A}. How much do they receive?",
                                "The airport kiosk offers {r} {B} for one {A}. How many {B} will {x} {A} bring?",
                                "Work out the value of {x} {An} in {Bn}, knowing that one {A} equals {r} {B}."],
                ["Given {r} {B} for each {A}, how many {B} is {x} {A}?"]),
    "zh": Parts("conv.fx.zh", ["汇率是 1 {A} = {r} {B}，{x} {A}能换多少{B}？", "如果 1{An}兑换{r}{Bn}，{x}{An}是多少{Bn}？",
                                "按 1 {A} 兑 {r} {B} 计算，{x} {A} 等于多少 {B}？", "1{An}={r}{Bn}，那么{x}{An}值多少{Bn}？",
                                "1{An}能换{r}{Bn}，{x}{An}能换多少{Bn}？",
                                "现在汇率 1 {A} 兑 {r} {B}，把 {x} {A} 换成 {B} 是多少？",
                                "{x}{An}等于多少{Bn}？（1{An}={r}{Bn}）",
                                "我有{x}{An}，按1{An}={r}{Bn}兑换，能拿到多少{Bn}？",
                                "汇率：1 {A} = {r} {B}。{x} {A} 换算成 {B}。",
                                "一{An}值{r}{Bn}，{x}{An}值多少{Bn}？",
                                "出国旅游带了{x}{An}，1{An}兑{r}{Bn}，相当于多少{Bn}？",
                                "把{x}{An}兑换成{Bn}，汇率 1{An}={r}{Bn}，结果是多少？",
                                "1 {A} 兑换 {r} {B} 的情况下，{x} {A} 是多少 {B}？",
                                "{An}兑{Bn}汇率为{r}，{x}{An}折合多少{Bn}？",
                                "每{An}可兑换{r}{Bn}，{x}{An}一共能兑换多少{Bn}？",
                                "{An}对{Bn}的汇率是{r}，把{x}{An}换成{Bn}。",
                                "我要去银行换汇，牌价是1{An}换{r}{Bn}，{x}{An}能换到多少{Bn}？",
                                "{x}{An}合计多少{Bn}？1{An}折{r}{Bn}。",
                                "工资{x}{An}，按1{An}={r}{Bn}算，合多少{Bn}？",
                                "按{An}兑{Bn} 1:{r} 计算，{x}{An}可以换成多少{Bn}？",
                                "在机场换钱，1{An}只能换{r}{Bn}，{x}{An}换完有多少{Bn}？",
                                "请计算{x}{An}兑换成{Bn}的金额，1{An}兑{r}{Bn}。",
                                "给国外汇款{x}{An}，对方收{Bn}，1{An}={r}{Bn}，对方能收到多少{Bn}？",
                                "每一{An}价值{r}{Bn}，{x}{An}总共值多少{Bn}？"],
                ["以 1{An}折合{r}{Bn}的汇率，{x}{An}可换多少{Bn}？"]),
}


def _amount(rng) -> int | float:
    r = rng.random()
    return rng.randint(1, 100) if r < 0.45 else rng.randint(100, 10000) if r < 0.7 else round(rng.uniform(0.5, 500), 1)


def _unit_name(key: str, lang: str, rng) -> str:
    return rng.choice(UNITS[key][0 if lang == "en" else 1])


def unit(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    while True:
        a, b, factor = rng.choice(PAIRS)
        forward = rng.random() < 0.6
        x = _amount(rng)
        if ctx.ok_numbers("unit", a, b, forward, x):
            break
    src, dst = (a, b) if forward else (b, a)
    v = ctx.names.fresh(UNITS[dst][2])
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
    li = 0 if lang == "en" else 1
    # the rate is always stated A->B; asking backward gives an amount in B to turn into A
    q = ph(ASK_FX[lang] if forward else ASK_FX_BACK[lang], key=True, A=A, B=B, r=clean(r),
           An=CURRENCIES[A][li], Bn=CURRENCIES[B][li], x=clean(x))
    q = noisy(join(ph(OPEN[lang]), q), rng, lang)
    unit_name = dst
    def reply(out):
        return say_result(ph, lang, printed_value(out), unit_name)
    return Problem("currency", q, code, float(value), reply, (A, B, r, x, forward), v, unit_name)


ASK_FX_BACK = {
    "en": Parts("conv.fxback.en", ["If 1 {A} = {r} {B}, how many {A} can I get for {x} {B}?",
                                    "The rate is {r} {B} per {A}. Convert {x} {B} to {A}.",
                                    "1 {A} costs {r} {B}. What is {x} {B} in {A}?",
                                    "1 {A} = {r} {B}. How many {A} is {x} {B}?",
                                    "The exchange rate is {r} {B} per {A}. I have {x} {B}. How many {A} is that?",
                                    "Convert {x} {B} back into {A}, where 1 {A} = {r} {B}.",
                                    "One {A} sells for {r} {B}. How many {An} can {x} {Bn} get me?",
                                    "With 1 {A} = {r} {B}, what is {x} {B} worth in {A}?",
                                    "I'm holding {x} {Bn} and the rate is 1 {A} = {r} {B}. How many {An} is it?",
                                    "If it takes {r} {B} to get 1 {A}, how many {A} does {x} {B} get?",
                                    "Rate 1 {A} = {r} {B}. Change {x} {B} into {A}.",
                                    "A single {A} costs {r} {B}. How many {A} do {x} {B} pay for?",
                                    "{x} {B} to {A}, with 1 {A} = {r} {B}?",
                                    "The rate is 1 {A} to {r} {B}. Turn {x} {B} into {A}.",
                                    "How many {An} will I receive for {x} {Bn} if 1 {A} = {r} {B}?",
                                    "Each {A} costs {r} {B}. How many {A} can I buy with {x} {B}?",
                                    "{A} is trading at {r} {B}. How many {A} do {x} {B} get me?",
                                    "The {A}/{B} rate is {r}. Convert {x} {B} into {A}.",
                                    "I've got {x} {Bn} left over. If one {A} is worth {r} {B}, how many {An} can I change it back into?",
                                    "The money changer sells {A} at {r} {B} each. How many {A} can I purchase with {x} {B}?",
                                    "What is {x} {B} equal to in {A}, with each {A} worth {r} {B}?",
                                    "To get one {A} you pay {r} {B}. How many {A} would {x} {B} fetch?",
                                    "My budget is {x} {Bn}. With one {A} priced at {r} {B}, how many {An} is my budget worth?",
                                    "Work out how many {An} you'd get for {x} {Bn} when the rate is 1 {A} : {r} {B}.",
                                    "Reverse conversion: {x} {B} to {A}, the rate being {r} {B} for one {A}.",
                                    "Buying {A} with {x} {B} at {r} {B} apiece: how many {A} is that?",
                                    "Exchange {x} {B} for {A}. One {A} goes for {r} {B}."],
                ["At {r} {B} per {A}, {x} {B} buys how many {A}?"]),
    "zh": Parts("conv.fxback.zh", ["汇率 1 {A} = {r} {B}，{x} {B}能换多少{A}？", "按 1 {A} 兑 {r} {B}，{x} {B} 是多少 {A}？",
                                    "1 {A} = {r} {B}，{x} {B} 等于多少 {A}？",
                                    "汇率是 1{An}兑{r}{Bn}，我有{x}{Bn}，能换成多少{An}？",
                                    "把{x}{Bn}换回{An}，汇率 1{An}={r}{Bn}，能得到多少{An}？",
                                    "1{An}要{r}{Bn}，那么{x}{Bn}能买多少{An}？",
                                    "按 1 {A} = {r} {B} 计算，{x} {B} 换成 {A} 是多少？",
                                    "{x}{Bn}可以兑换多少{An}？汇率：1{An}={r}{Bn}。",
                                    "一{An}值{r}{Bn}，{x}{Bn}相当于多少{An}？",
                                    "手里有{x}{Bn}，1{An}兑{r}{Bn}，能换几{An}？",
                                    "{x} {B} 兑换成 {A}，汇率 1 {A} 兑 {r} {B}，是多少？",
                                    "用{x}{Bn}去换{An}，1{An}需要{r}{Bn}，一共能换多少{An}？",
                                    "{An}兑{Bn}汇率为{r}，{x}{Bn}能兑换多少{An}？",
                                    "每{An}要花{r}{Bn}，用{x}{Bn}能买到多少{An}？",
                                    "{An}对{Bn}的汇率是{r}，把{x}{Bn}换成{An}。",
                                    "去银行购汇，牌价1{An}={r}{Bn}，{x}{Bn}能购入多少{An}？",
                                    "1{An}折{r}{Bn}，{x}{Bn}换成{An}是多少？",
                                    "预算{x}{Bn}，1{An}卖{r}{Bn}，最多能换多少{An}？",
                                    "按{An}兑{Bn} 1:{r} 计算，{x}{Bn}可以换回多少{An}？",
                                    "在换汇点，{r}{Bn}换1{An}，{x}{Bn}一共能换几{An}？",
                                    "请算一下{x}{Bn}值多少{An}，汇价是1{An}兑{r}{Bn}。",
                                    "出国前拿{x}{Bn}去换{An}，每{An}{r}{Bn}，能换到多少{An}？",
                                    "每一{An}价值{r}{Bn}，{x}{Bn}相当于几{An}？"],
                ["{x} {B} 按 1 {A} 合 {r} {B} 折算，是多少 {A}？"]),
}

FAMILY = {"units": [(unit, 3), (temperature, 1)], "currency": [(currency, 1)]}
