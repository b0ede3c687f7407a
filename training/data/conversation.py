"""Build conversations turn by turn from problems: every program really runs in the conversation's session and
the environment turn holds what it printed. Single questions, follow-ups that reuse earlier variables, and
recovery after a program error."""
from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, field

from puyu.core.messages import INTERPRETER
from puyu.core.records import Record, Turn
from puyu.training.data.families.base import Ctx, Names, Problem, output_matches, reply_number
from puyu.training.data.phrasing import THOUGHT, Phraser, clean, noisy, phrasebook
from puyu.training.data.runner import Run, Session


class Drop(Exception):
    """The item cannot be built faithfully; the reason is counted in stats.json."""


@dataclass
class Dialog:
    """One conversation under construction."""

    rng: random.Random
    lang: str
    split: str = "train"
    unseen: bool = False
    turns: list[Turn] = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.ph = Phraser(self.rng, self.unseen)
        self.names = Names()
        self.session = Session()
        self.answers: list = []

    def ctx(self) -> Ctx:
        return Ctx(self.rng, self.lang, self.ph, self.names, self.split)

    def user(self, text: str) -> None:
        self.turns.append(Turn("user", text))

    def say(self, text: str) -> None:
        self.turns.append(Turn("assistant", text, loss=True))

    def python(self, code: str, thought: str | None = None) -> Run:
        thought = self.ph(THOUGHT[self.lang]) if thought is None else thought
        self.turns.append(Turn("assistant", thought, tool_call={"name": INTERPRETER, "arguments": {"code": code}},
                               loss=True))
        run = self.session.run(code)
        self.turns.append(Turn("environment", run.output, name="interpreter"))
        return run

    def plugin(self, name: str, arguments: dict, output: str, thought: str = "") -> None:
        self.turns.append(Turn("assistant", thought, tool_call={"name": name, "arguments": arguments}, loss=True))
        self.turns.append(Turn("environment", output, name="plugin"))

    def solve(self, p: Problem, code: str | None = None) -> str:
        """Run the problem's program, check it against the independent answer, reply from its output."""
        run = self.python(code or p.code)
        if not run.ok:
            raise Drop(f"program_error:{run.error}")
        if not output_matches(run.output, p.expected):
            raise Drop("program_disagrees_with_expected")
        self.say(p.reply(run.output))
        self.answers.append(p.answer(run.output))
        return run.output

    def record(self, family: str, category: str, **meta) -> Record:
        m = {"family": family, "category": category, "lang": self.lang, "split": self.split,
             "parts": sorted(set(self.ph.used)), "unseen_phrasing": self.unseen and self.ph.used_heldout}
        if self.answers:
            m["answer"] = self.answers[-1]
            if len(self.answers) > 1:
                m["answers"] = self.answers
        m.update(meta)
        if self.split == "train":  # the app's language setting need not be the user's: mix the system prompts
            other = {"en": "zh", "zh": "en"}[self.lang]
            m["prompt_lang"] = other if self.rng.random() < (0.35 if self.lang == "zh" else 0.1) else self.lang
        rec = Record(self.turns, self.tools, True, m)
        rec.validate()
        return rec


# ---- follow-ups that reuse an earlier variable -----------------------------------------------------------

FOLLOW = phrasebook("conversation").slots("follow")
"""Follow-up requests by (kind, language); the kinds are _ONE's and _TWO's."""
# kind -> (variable base name, code expression, exact value)
_ONE = {"mul2": ("doubled", "{v} * 2", lambda a, k: a * 2), "mul": ("scaled", "{v} * {k}", lambda a, k: a * k),
        "div": ("each", "{v} / {k}", lambda a, k: a / k), "add": ("plus", "{v} + {k}", lambda a, k: a + k),
        "sub": ("minus", "{v} - {k}", lambda a, k: a - k), "pct": ("share", "{v} * {k} / 100", lambda a, k: a * k / 100),
        "square": ("squared", "{v} ** 2", lambda a, k: a * a)}
_TWO = {"sum2": ("combined", "{v} + {w}", lambda a, b: a + b), "diff2": ("difference", "{v} - {w}", lambda a, b: a - b),
        "prod2": ("product", "{v} * {w}", lambda a, b: a * b)}


def follow_up(d: Dialog, prev: list[Problem]) -> None:
    """One follow-up turn whose program uses the variables earlier programs defined."""
    rng, lang, ph = d.rng, d.lang, d.ph
    numeric = [p for p in prev if p.var and isinstance(p.expected, float)]
    if not numeric:
        raise Drop("no_numeric_variable")
    if len(numeric) >= 2 and rng.random() < 0.7:
        kind = rng.choice(list(_TWO))
        (a, b) = numeric[-2:]
        base, expr, fn = _TWO[kind]
        v = d.names.fresh(base)
        code = f"{v} = {expr.format(v=a.var, w=b.var)}\nprint(round({v}, 2))"
        expected = fn(d.session.ns[a.var], d.session.ns[b.var])
        ref_expected = fn(a.expected, b.expected)
        text = ph(FOLLOW[(kind, lang)], key=True)
    else:
        kind = rng.choice(list(_ONE))
        k = rng.choice([2, 3, 4, 5, 10, 12, 100]) if kind in ("mul", "div") else rng.randint(1, 500)
        if kind == "pct":
            k = rng.choice([5, 10, 15, 20, 25, 50, 75])
        a = numeric[-1]
        base, expr, fn = _ONE[kind]
        v = d.names.fresh(base)
        code = f"{v} = {expr.format(v=a.var, k=k)}\nprint(round({v}, 2))"
        expected, ref_expected = fn(d.session.ns[a.var], k), fn(a.expected, k)
        text = ph(FOLLOW[(kind, lang)], key=True, k=k)
    if abs(expected) > 1e15:
        raise Drop("follow_up_too_large")
    text = noisy(text, rng, lang, rate=0.2)
    d.user(text)
    run = d.python(code)
    if not run.ok or not output_matches(run.output, ref_expected):  # it printed ref_expected rounded to 2 places
        raise Drop("follow_up_disagrees")
    d.say(reply_number(ph, lang)(run.output))
    d.answers.append(float(clean(round(expected, 2))))


def names_used(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def names_defined(code: str) -> set[str]:
    out = set()
    for n in ast.walk(ast.parse(code)):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in n.names)
    return out


# ---- recovery after an error ---------------------------------------------------------------------------

FIX = phrasebook("conversation").table("fix")
"""The thought before the fixed program, by mistake and language."""
_WRONG_ATTR = {"statistics.mean": "statistics.average", "statistics.median": "statistics.middle",
               "statistics.stdev": "statistics.std", "math.sqrt": "math.sqroot"}


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 3:
        return name + name[-1]
    i = rng.randrange(0, len(name) - 1)
    swapped = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return swapped if swapped != name else name + "_"


def break_program(code: str, rng: random.Random) -> tuple[str, str, dict] | None:
    """A plausible mistake in `code`: (kind of mistake, broken code, details for the fix thought), or None."""
    options = []
    lines = code.splitlines()
    imports = [i for i, line in enumerate(lines) if line.startswith(("import ", "from "))]
    if imports:
        i = imports[0]
        mod = lines[i].split()[1]
        options.append(("import", "\n".join(lines[:i] + lines[i + 1:]), {"mod": mod}))
    for good, bad in _WRONG_ATTR.items():
        if good in code:
            mod, fn = good.split(".")
            options.append(("attr", code.replace(good, bad, 1), {"mod": mod, "bad": bad.split(".")[1], "good": fn}))
    last = lines[-1]
    m = re.fullmatch(r"print\((round\()?(\w+)(, \d\))?\)", last)
    if m:
        var = m.group(2)
        options.append(("typo", "\n".join(lines[:-1] + [last.replace(var, _typo(var, rng), 1)]), {}))
        options.append(("concat", "\n".join(lines[:-1] + [f"print('Result: ' + {var})"]), {}))
    return rng.choice(options) if options else None


def recover(d: Dialog, p: Problem) -> str:
    """The first program raises, the model reads the traceback and sends the fixed program."""
    broken = break_program(p.code, d.rng)
    if broken is None:
        raise Drop("nothing_to_break")
    kind, code, info = broken
    d.user(p.question)
    run = d.python(code)
    if run.ok:
        raise Drop("broken_program_ran")
    if kind == "concat" and run.error != "TypeError":
        raise Drop("concat_did_not_fail")
    d.turns.append(Turn("assistant", FIX[kind][d.lang].format(**info),
                        tool_call={"name": INTERPRETER, "arguments": {"code": p.code}}, loss=True))
    run = d.session.run(p.code)
    d.turns.append(Turn("environment", run.output, name="interpreter"))
    if not run.ok or not output_matches(run.output, p.expected):
        raise Drop("fixed_program_failed")
    d.say(p.reply(run.output))
    d.answers.append(p.answer(run.output))
    return kind
