"""Statistics of short lists (mean, median, standard deviation, range, sum) and dates (days between,
weekday, a date plus N days)."""
from __future__ import annotations

import datetime as dt
import statistics
from fractions import Fraction

from puyu.training.data.families.base import Ctx, Problem, printed_value, reply_number, say_result
from puyu.training.data.phrasing import OPEN, POLITE, clean, join, noisy, phrasebook

_BOOK = phrasebook("stats")
_STAT_WORDS = _BOOK.table("stat_words")
_CONTEXT = _BOOK.table("contexts")
ASK_STAT = _BOOK.slots("ask_stat")
ASK_DATE = _BOOK.slots("ask_date")
DATE_REPLY = _BOOK.slots("date_reply")
_FUNC = {"mean": "statistics.mean({d})", "median": "statistics.median({d})", "stdev": "statistics.stdev({d})",
         "range": "max({d}) - min({d})", "sum": "sum({d})"}


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
    words = _STAT_WORDS[kind][lang]
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
_WEEKDAYS_ZH = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]


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
