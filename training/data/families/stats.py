"""Statistics of short lists (mean, median, standard deviation, range, sum) and dates (days between,
weekday, a date plus N days)."""
from __future__ import annotations

import datetime as dt
import statistics
from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, printed_value, reply_number, say_result
from puyu.training.data.phrasing import OPEN, POLITE, Parts, clean, join, noisy

_STAT_WORDS = {
    "mean": (["average", "mean", "arithmetic mean"], ["平均数", "平均值", "均值"]),
    "median": (["median"], ["中位数"]),
    "stdev": (["sample standard deviation", "standard deviation", "stdev"], ["样本标准差", "标准差"]),
    "range": (["range"], ["极差"]),
    "sum": (["sum", "total"], ["总和", "和"]),
}
_FUNC = {"mean": "statistics.mean({d})", "median": "statistics.median({d})", "stdev": "statistics.stdev({d})",
         "range": "max({d}) - min({d})", "sum": "sum({d})"}
_CONTEXT = {"en": ["my test scores", "the temperatures this week", "these prices", "the daily sales",
                   "the heights in cm", "these numbers", "the data", "the ages of my team"],
            "zh": ["我的考试成绩", "这周的气温", "这些价格", "每天的销量", "这些数", "这组数据", "几个同学的身高"]}
ASK_STAT = {
    "en": Parts("stat.en", ["What is the {stat} of {list}?", "Find the {stat} of {list}.", "Calculate the {stat}: {list}",
                             "{ctx} are {list}. What is the {stat}?", "Give me the {stat} of {list}.",
                             "{list} -> {stat}?", "Compute the {stat} for {ctx}: {list}.",
                             "{stat} of {list}?", "Please work out the {stat} of these values: {list}.",
                             "Here are {ctx}: {list}. Compute the {stat}.", "For {ctx} ({list}), what is the {stat}?",
                             "Data: {list}. Find the {stat}.", "What's the {stat} for the numbers {list}?",
                             "I recorded {ctx}: {list}. Can you get the {stat}?",
                             "Determine the {stat} of the dataset {list}.", "Need the {stat} of {list}.",
                             "My exam marks this term were {list}. What's the {stat}?",
                             "Crunch these numbers for me and tell me the {stat}: {list}",
                             "Figure out the {stat} of the following figures: {list}.",
                             "Quick question: what does the {stat} come out to for {list}?",
                             "Using the values {list}, evaluate the {stat}.",
                             "The grocery receipts this month came to {list} dollars. Could you tell me the {stat}?",
                             "Our monthly expenses were {list}. What would the {stat} be?",
                             "Readings from the sensor: {list}. Report the {stat}.",
                             "Take the numbers {list} and find their {stat}, please.",
                             "In my spreadsheet column I have {list}. What is the {stat} of that column?",
                             "Sample: {list}. State the {stat} of this sample."],
                ["I have {list}; what's their {stat}?", "Tell me the {stat} given {ctx} = {list}."]),
    "zh": Parts("stat.zh", ["{list} 的{stat}是多少？", "求 {list} 的{stat}", "计算{stat}：{list}", "{ctx}是 {list}，{stat}是多少？",
                             "帮我算 {list} 的{stat}",
                             "{list}，{stat}是多少？", "这组数 {list} 的{stat}等于多少？", "{ctx}分别是 {list}，帮我求{stat}。",
                             "请计算 {list} 的{stat}。", "数据：{list}，求{stat}", "算一算{ctx}的{stat}：{list}",
                             "下面是{ctx}：{list}。它们的{stat}是多少？", "{list} 这几个数的{stat}是？", "统计一下 {list} 的{stat}",
                             "麻烦帮我求一下 {list} 的{stat}。", "这学期的分数是 {list}，{stat}算出来是多少？", "试求样本 {list} 的{stat}。",
                             "{list}，这些数据的{stat}得多少？", "老师给了一组数：{list}，让我们求{stat}，答案是多少？",
                             "这个月每天的花销是 {list}，{stat}是多少钱？", "给我算算{ctx}的{stat}吧：{list}", "{list} 是一个样本，它的{stat}等于几？",
                             "请根据以下数据求出{stat}：{list}。", "{ctx}记录如下：{list}。麻烦算出{stat}。", "问一下，{list} 里这几个数，{stat}是几？"],
                ["已知{ctx}为 {list}，请给出{stat}。"]),
}


def _list_text(nums, rng, lang) -> str:
    items = [clean(x) for x in nums]
    r = rng.random()
    if r < 0.25:
        return "[" + ", ".join(items) + "]"
    if lang == "zh":
        return rng.choice(["、", "，", ", "]).join(items)
    if r < 0.6:
        return ", ".join(items[:-1]) + " and " + items[-1]
    if r < 0.8:
        return ", ".join(items)
    return " ".join(items)


def statistic(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    kind = rng.choice(["mean", "mean", "median", "stdev", "range", "sum"])
    while True:
        n = rng.randint(3, 9)
        if rng.random() < 0.75:
            lo = rng.randint(0, 80)
            nums = [rng.randint(lo, lo + rng.randint(5, 100)) for _ in range(n)]
        else:
            nums = [round(rng.uniform(0, 100), 1) for _ in range(n)]
        if ctx.ok_numbers("stat", kind, *nums):
            break
    words = _STAT_WORDS[kind][0 if lang == "en" else 1]
    data = ctx.names.fresh("data")
    v = ctx.names.fresh({"mean": "mean", "median": "median", "stdev": "stdev", "range": "spread",
                         "sum": "total"}[kind])
    code = (("import statistics\n" if "statistics" in _FUNC[kind] else "")
            + f"{data} = [{', '.join(clean(x) for x in nums)}]\n{v} = {_FUNC[kind].format(d=data)}\n"
            + f"print(round({v}, 2))")
    fr = [Fraction(str(x)) for x in nums]
    expected = {"mean": lambda: float(sum(fr) / len(fr)), "median": lambda: float(statistics.median(fr)),
                "stdev": lambda: statistics.stdev([float(x) for x in nums]), "range": lambda: float(max(fr) - min(fr)),
                "sum": lambda: float(sum(fr))}[kind]()
    q = ph(ASK_STAT[lang], key=True, stat=rng.choice(words), list=_list_text(nums, rng, lang),
           ctx=rng.choice(_CONTEXT[lang]))
    q = noisy(join(ph(OPEN[lang]), q, ph(POLITE[lang]) if q[-1] not in "?？.。" else ""), rng, lang)
    return Problem("stats", q, code, expected, reply_number(ph, lang), tuple(nums), v)


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
ASK_DATE = {
    ("between", "en"): Parts("date.between.en", ["How many days are there between {d1} and {d2}?",
                                                  "Days from {d1} to {d2}?", "How many days from {d1} until {d2}?",
                                                  "Count the days between {d1} and {d2}.",
                                                  "How long is it from {d1} to {d2}, in days?",
                                                  "If today is {d1}, how many days until {d2}?",
                                                  "How many days since {d1}, if today is {d2}?",
                                                  "Days between {d1} and {d2}?", "{d1} to {d2}: how many days?",
                                                  "What's the gap in days between {d1} and {d2}?",
                                                  "A project started on {d1} and ended on {d2}. How many days passed?",
                                                  "Work out how many days lie between {d1} and {d2}.",
                                                  "How many days apart are {d1} and {d2}?",
                                                  "It's {d1} today. How many days are left until {d2}?",
                                                  "How many days elapsed between {d1} and {d2}?",
                                                  "My trip starts {d1} and ends {d2}. How many days apart are those?",
                                                  "I check in on {d1} and check out on {d2}. How many nights is my stay?",
                                                  "Someone born on {d1}: how many days old are they on {d2}?",
                                                  "Calculate the day count from {d1} to {d2}.",
                                                  "By how many days do {d1} and {d2} differ?",
                                                  "We moved in on {d1} and moved out on {d2}. How many days did we live there?",
                                                  "I borrowed the money on {d1} and paid it back on {d2}. For how many days was the loan outstanding?",
                                                  "Tell me how many days there are from {d1} to {d2}.",
                                                  "Countdown: it's {d1} now and the exam is on {d2}. How many days to go?",
                                                  "Subtract {d1} from {d2}: how many days is that?",
                                                  "What's the duration, in days, of a period running from {d1} to {d2}?",
                                                  "The warranty began {d1} and the claim was filed {d2}. How many days had gone by?"],
                             ["What's the number of days separating {d1} and {d2}?"]),
    ("between", "zh"): Parts("date.between.zh", ["{d1} 到 {d2} 有多少天？", "{d1} 和 {d2} 之间相差几天？", "从{d1}到{d2}一共多少天？",
                              "{d1} 和 {d2} 相隔多少天？", "从{d1}到{d2}过了多少天？", "今天是{d1}，到{d2}还有多少天？",
                              "{d1}至{d2}共有多少天？", "算一下{d1}和{d2}之间隔了几天。", "{d1}、{d2}两个日期差多少天？",
                              "项目{d1}开始，{d2}结束，中间经过了多少天？", "{d1} 到 {d2} 之间的天数是多少？",
                              "请计算从{d1}到{d2}的天数。", "{d2} 比 {d1} 晚多少天？",
                              "{d1}入住，{d2}退房，一共住了几晚？", "宝宝{d1}出生，到{d2}那天满多少天了？", "{d2}减去{d1}等于多少天？",
                              "离考试还有多少天？今天{d1}，考试在{d2}。", "我{d1}借的钱，{d2}还上的，借了多少天？", "请问{d1}与{d2}之间的时间间隔是几天？",
                              "倒计时：现在是{d1}，离{d2}还剩几天？", "{d1}搬进来，{d2}搬走，总共住了多少天？", "求两个日期{d1}和{d2}的天数差。",
                              "{d1}下单，{d2}收到货，物流走了几天？", "帮我数一数{d1}到{d2}一共隔了多少日子。"],
                             ["{d1} 距离 {d2} 有几天？"]),
    ("weekday", "en"): Parts("date.weekday.en", ["What day of the week is {d1}?", "Which weekday was {d1}?",
                                                  "{d1} is what day of the week?", "What weekday does {d1} fall on?",
                                                  "Which day of the week was {d1}?", "What weekday is {d1}?",
                                                  "{d1}: which weekday?",
                                                  "The concert is on {d1}. What day of the week is that?",
                                                  "On what day of the week does {d1} fall?",
                                                  "Find the weekday of {d1}.", "Weekday of {d1}?",
                                                  "My appointment is on {d1}. Which weekday is that?",
                                                  "Name the day of the week that {d1} falls on.",
                                                  "Work out which weekday {d1} is.",
                                                  "Our wedding is {d1}. What weekday will that be?",
                                                  "Was {d1} a Monday, a Friday, or some other day?",
                                                  "I was born on {d1}. Which day of the week was it?",
                                                  "Check the calendar for me: {d1} lands on which weekday?",
                                                  "What's the name of the day on {d1}?",
                                                  "Our flight departs on {d1}. What day of the week do we fly?",
                                                  "Which day of the week will {d1} be?",
                                                  "The sale ends on {d1}. Which weekday is the last day of the sale?",
                                                  "Determine the day of the week corresponding to the date {d1}.",
                                                  "Do you know what weekday it was on {d1}?",
                                                  "Payday is {d1}; which day of the week does that land on?"],
                             ["Tell me the day of the week for {d1}."]),
    ("weekday", "zh"): Parts("date.weekday.zh", ["{d1} 是星期几？", "{d1} 是周几？", "请问{d1}是星期几",
                                                   "{d1} 星期几？", "{d1}是周几啊？", "查一下{d1}是星期几。", "{d1}对应星期几？",
                                                   "出发日期是{d1}，是星期几？", "{d1}是一周中的哪一天？", "请问{d1}是周几？",
                                                   "会议定在{d1}，那是星期几？", "帮我算一下{d1}是星期几", "{d1}，周几？",
        "麻烦看下日历，{d1}赶上礼拜几？", "我是{d1}出生的，当天是星期几？", "{d1}落在星期几？", "航班在{d1}起飞，请问是周几？", "推算一下{d1}是星期几。", "帮我看看{d1}是星期几呀", "发工资的日子是{d1}，是星期几？", "请确定{d1}为星期几。", "促销活动截止到{d1}，当天是周几？", "{d1}是周几来着？"], ["{d1} 那天是礼拜几？"]),
    ("add", "en"): Parts("date.add.en", ["What date is {n} days after {d1}?", "Add {n} days to {d1}.",
     "{n} days from {d1} is which date?", "If today is {d1}, what is the date in {n} days?",
                                          "What's the date {n} days later than {d1}?", "{d1} plus {n} days?",
                                          "Which date comes {n} days after {d1}?",
                                          "What will the date be {n} days after {d1}?",
                                          "Starting from {d1}, what's the date after {n} days?",
                                          "A parcel ships on {d1} and arrives {n} days later. When does it arrive?",
                                          "The deadline is {n} days from {d1}. What date is that?",
                                          "Move {d1} forward by {n} days.", "What's {n} days past {d1}?",
                                          "If I start on {d1}, what's the date {n} days later?",
                                          "Give the date that is {n} days after {d1}.",
                                          "{n} days after {d1}: what date is it?",
                                          "Fast-forward {n} days from {d1}. What's the date?",
                                          "A loan taken out on {d1} is due {n} days later. What is the due date?",
                                          "Shift the date {d1} ahead by {n} days.",
                                          "Today is {d1}. What will the calendar say {n} days from now?",
                                          "Our cruise leaves on {d1} and returns after {n} days. On which date do we get back?",
                                          "If I order something on {d1} and delivery takes {n} days, what date will it come?",
                                          "Calculate the date that falls {n} days after {d1}.",
                                          "Jump ahead {n} days from {d1} and tell me the date.",
                                          "{d1} + {n} days = ?",
                                          "The milk was bought on {d1} and expires {n} days after that. What is the expiry date?",
                                          "Please find the calendar date {n} days beyond {d1}."],
                         ["Counting {n} days on from {d1}, where do I land?"]),
    ("add", "zh"): Parts("date.add.zh", ["{d1} 之后 {n} 天是哪一天？", "{d1} 加上 {n} 天是几月几号？", "从{d1}起过{n}天是哪天？",
                          "{d1} 过 {n} 天后是哪天？", "{d1}的{n}天后是哪一天？", "从{d1}开始，{n}天以后是几月几日？",
                          "{d1}再过{n}天是哪天？", "{d1} + {n} 天 = ？", "今天是{d1}，{n}天后是几月几号？",
                          "包裹{d1}发货，{n}天后到，到货是哪天？", "把{d1}推迟{n}天是哪天？", "{d1}加{n}天后的日期是？",
                          "{n}天之后，从{d1}算起是哪一天？",
                          "图书{d1}借出，{n}天后到期，到期日是哪天？", "快递{d1}寄出，路上要走{n}天，几号能送到？", "以{d1}为起点，顺延{n}天是哪一天？",
                          "{d1}下单，预计{n}天后发货，发货日期是？", "出差{d1}出发，{n}天后回来，回来那天是几号？", "把{d1}算作第0天，第{n}天是哪天？",
                          "把日期{d1}延后{n}天，得到哪一天？", "从{d1}算起，{n}天以后日历翻到哪天？", "我{d1}开始健身，{n}天以后是几月几号？",
                          "优惠券{d1}领取，{n}天后过期，过期是哪天？", "保质期从{d1}算，{n}天后是哪天？"],
                         ["{d1} 往后数 {n} 天是什么日期？"]),
}
_WEEKDAYS_ZH = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
DATE_REPLY = {
    "en": Parts("date.reply.en", ["{ans}", "It is {ans}.", "That's {ans}.", "The answer is {ans}.",
        "I make it {ans}.", "The result is {ans}.", "It comes out as {ans}.", "{ans}, by my count."]),
    "zh": Parts("date.reply.zh", ["{ans}", "是{ans}。", "答案是{ans}。",
        "结果是{ans}。", "算出来是{ans}。", "应该是{ans}。", "是{ans}哦。"]),
}


def _date_text(d: dt.date, rng, lang) -> str:
    r = rng.random()
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日" if r < 0.6 else d.isoformat() if r < 0.85 else f"{d.year}/{d.month}/{d.day}"
    if r < 0.35:
        return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"
    if r < 0.6:
        return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
    if r < 0.85:
        return d.isoformat()
    return f"{_MONTHS[d.month - 1][:3]} {d.day} {d.year}"


def _random_date(rng) -> dt.date:
    return dt.date(1990, 1, 1) + dt.timedelta(days=rng.randint(0, 45 * 365))


def dates(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    kind = rng.choice(["between", "between", "weekday", "add"])
    while True:
        d1 = _random_date(rng)
        d2 = d1 + dt.timedelta(days=rng.randint(1, 1500 if rng.random() < 0.7 else 12000))
        n = rng.randint(1, 1000)
        if ctx.ok_numbers("date", kind, d1.toordinal(), d2.toordinal(), n):
            break
    def lit(d):
        return f"date({d.year}, {d.month}, {d.day})"
    if kind == "between":
        v = ctx.names.fresh("days")
        code = f"from datetime import date\n{v} = ({lit(d2)} - {lit(d1)}).days\nprint({v})"
        expected: object = float((d2 - d1).days)
        def reply(out):
            return say_result(ph, lang, printed_value(out), "days" if lang == "en" else "天")
        numbers = (d1.toordinal(), d2.toordinal())
    elif kind == "weekday":
        v = ctx.names.fresh("weekday")
        if lang == "en":
            code = f"from datetime import date\n{v} = {lit(d1)}.strftime('%A')\nprint({v})"
            expected = d1.strftime("%A")
        else:
            names = ctx.names.fresh("names")
            code = (f"from datetime import date\n{names} = {_WEEKDAYS_ZH!r}\n"
                    f"{v} = {names}[{lit(d1)}.weekday()]\nprint({v})")
            expected = _WEEKDAYS_ZH[d1.weekday()]
        def reply(out):
            return ph(DATE_REPLY[lang], ans=out.strip())
        numbers = (d1.toordinal(),)
    else:
        v = ctx.names.fresh("new_date")
        code = f"from datetime import date, timedelta\n{v} = {lit(d1)} + timedelta(days={n})\nprint({v})"
        expected = (d1 + dt.timedelta(days=n)).isoformat()
        def reply(out):
            return ph(DATE_REPLY[lang], ans=out.strip())
        numbers = (d1.toordinal(), n)
    q = ph(ASK_DATE[(kind, lang)], key=True, d1=_date_text(d1, rng, lang), d2=_date_text(d2, rng, lang), n=n)
    q = noisy(join(ph(OPEN[lang]), q), rng, lang, rate=0.25)
    return Problem("dates", q, code, expected, reply, numbers, v if kind == "between" else None)


FAMILY = {"stats": [(statistic, 1)], "dates": [(dates, 1)]}
