"""Equations and symbolic math with sympy: linear and quadratic equations, 2x2 systems, derivatives,
integrals, expand and factor."""
from __future__ import annotations

from puyu.training.data.families.base import Ctx, PluginForm, Problem
from puyu.training.data.phrasing import OPEN, POLITE, join, noisy, phrasebook

_SUP = {2: "²", 3: "³", 4: "⁴"}


def poly_text(coeffs: dict[int, int], style: str, var: str = "x") -> str:
    """A polynomial as people type it. style: caret (3x^2), sup (3x²), code (3*x**2)."""
    out = []
    for power in sorted(coeffs, reverse=True):
        c = coeffs[power]
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        a = abs(c)
        if power == 0:
            body = str(a)
        else:
            num = "" if a == 1 else (f"{a}*" if style == "code" else str(a))
            p = "" if power == 1 else ("**" + str(power) if style == "code" else
                                       "^" + str(power) if style == "caret" else _SUP[power])
            body = f"{num}{var}{p}"
        out.append((sign, body))
    if not out:
        return "0"
    text = ("-" if out[0][0] == "-" else "") + out[0][1]
    for sign, body in out[1:]:
        text += f" {sign} {body}"
    return text


def _style(rng) -> str:
    return rng.choice(["caret", "caret", "sup", "code"])


_BOOK = phrasebook("algebra")
ASK_EQ = _BOOK.slots("ask_eq")
ASK_SYS = _BOOK.slots("ask_sys")
ASK_SYM = _BOOK.slots("ask_sym")
SOL_REPLY = _BOOK.slots("solution_reply")
EXPR_REPLY = _BOOK.table("expression_reply")
"""{kind: {language: reply}}"""
_OR = _BOOK.table("or")


def _roots(out: str) -> list[str]:
    return [s.strip() for s in out.strip().strip("[]").split(",") if s.strip()]


def equation(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    style = _style(rng)
    while True:
        if rng.random() < 0.55:
            a, r = rng.choice([i for i in range(-12, 13) if i]), rng.randint(-20, 20)
            b = rng.randint(-50, 50)
            lhs, rhs = {1: a, 0: b}, {0: a * r + b}
            roots = [r]
        else:
            r1, r2 = rng.randint(-12, 12), rng.randint(-12, 12)
            lhs, rhs = {2: 1, 1: -(r1 + r2), 0: r1 * r2}, {0: 0}
            roots = sorted({r1, r2})
        if ctx.ok_numbers("eq", tuple(lhs.items()), tuple(rhs.items())):
            break
    eq = f"{poly_text(lhs, style)} = {poly_text(rhs, style)}"
    code_l, code_r = poly_text(lhs, "code"), poly_text(rhs, "code")
    v = ctx.names.fresh("solution")
    code = (f"from sympy import symbols, Eq, solve\nx = symbols('x')\n"
            f"{v} = solve(Eq({code_l}, {code_r}), x)\nprint({v})")
    q = ph(ASK_EQ[lang], key=True, eq=eq)
    q = noisy(join(ph(OPEN[lang]), q), rng, lang, rate=0.2)

    def reply(out: str) -> str:
        return ph(SOL_REPLY[lang], sol=_OR[lang].join(f"x = {r}" for r in _roots(out)))

    def tool_reply(result: str) -> str:
        return ph(SOL_REPLY[lang], sol=result.replace("; ", _OR[lang]))
    plugin = PluginForm("solve", {"expression": f"{poly_text(lhs, 'caret')} = {poly_text(rhs, 'caret')}"}, tool_reply,
                        eq if any(c in eq for c in _SUP.values()) else None)
    return Problem("algebra", q, code, [float(r) for r in roots], reply, (tuple(lhs.items()),), None, plugin=plugin)


def system(ctx: Ctx) -> Problem:
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    while True:
        x, y = rng.randint(-15, 15), rng.randint(-15, 15)
        a1, b1, a2, b2 = (rng.choice([i for i in range(-6, 7) if i]) for _ in range(4))
        if a1 * b2 - a2 * b1 != 0 and ctx.ok_numbers("sys", x, y, a1, b1, a2, b2):
            break
    c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y
    style = rng.choice(["caret", "code"])

    def side(a, b):
        return poly_text({1: a}, style) + (f" - {poly_text({1: -b}, style, 'y')}" if b < 0
                                           else f" + {poly_text({1: b}, style, 'y')}")
    e1, e2 = f"{side(a1, b1)} = {c1}", f"{side(a2, b2)} = {c2}"
    v = ctx.names.fresh("solution")
    code = (f"from sympy import symbols, Eq, solve\nx, y = symbols('x y')\n"
            f"{v} = solve([Eq({_code_side(a1, b1)}, {c1}), Eq({_code_side(a2, b2)}, {c2})], [x, y])\nprint({v})")
    q = ph(ASK_SYS[lang], key=True, e1=e1, e2=e2)
    q = noisy(join(ph(OPEN[lang]), q), rng, lang, rate=0.2)

    def reply(out: str) -> str:
        vals = [s.split(":")[1].strip() for s in out.strip().strip("{}").split(",") if ":" in s]
        sol = f"x = {vals[0]}, y = {vals[1]}" if len(vals) == 2 else out.strip()
        return ph(SOL_REPLY[lang], sol=sol)
    caret = [f"{_code_side(a, b).replace('*', '')} = {c}" for a, b, c in ((a1, b1, c1), (a2, b2, c2))]
    plugin = PluginForm("solve", {"expression": "; ".join(caret)}, lambda r: ph(SOL_REPLY[lang], sol=r))
    return Problem("algebra", q, code, [float(x), float(y)], reply, (x, y, a1, b1, a2, b2), None, plugin=plugin)


def _code_side(a: int, b: int) -> str:
    return poly_text({1: a}, "code") + (f" - {poly_text({1: -b}, 'code', 'y')}" if b < 0
                                        else f" + {poly_text({1: b}, 'code', 'y')}")


def symbolic(ctx: Ctx) -> Problem:
    import sympy
    rng, lang, ph = ctx.rng, ctx.lang, ctx.ph
    kind = rng.choice(["diff", "diff", "int", "expand", "factor"])
    style = _style(rng)
    x = sympy.Symbol("x")
    while True:
        if kind in ("diff", "int"):
            deg = rng.randint(1, 4)
            coeffs = {p: rng.randint(-9, 9) for p in range(deg + 1)}
            coeffs[deg] = coeffs[deg] or 1
            shown, code_expr = poly_text(coeffs, style), poly_text(coeffs, "code")
            poly = sum(c * x ** p for p, c in coeffs.items())
            expected = sympy.diff(poly, x) if kind == "diff" else sympy.integrate(poly, x)
            key = tuple(coeffs.items())
        else:
            r1, r2 = rng.choice([i for i in range(-9, 10) if i]), rng.choice([i for i in range(-9, 10) if i])
            f1, f2 = poly_text({1: 1, 0: r1}, "code"), poly_text({1: 1, 0: r2}, "code")
            if kind == "expand":
                if rng.random() < 0.4:
                    shown = code_expr = f"({f1})**2"
                    shown = shown if style == "code" else f"({f1})" + ("²" if style == "sup" else "^2")
                    expected = sympy.expand((x + r1) ** 2)
                else:
                    shown = code_expr = f"({f1})*({f2})"
                    shown = shown if style == "code" else f"({f1})({f2})"
                    expected = sympy.expand((x + r1) * (x + r2))
            else:
                coeffs = {2: 1, 1: r1 + r2, 0: r1 * r2}
                shown, code_expr = poly_text(coeffs, style), poly_text(coeffs, "code")
                expected = sympy.factor((x + r1) * (x + r2))
            key = (r1, r2, kind)
        if ctx.ok_numbers("sym", kind, key):
            break
    fn = {"diff": "diff", "int": "integrate", "expand": "expand", "factor": "factor"}[kind]
    v = ctx.names.fresh({"diff": "derivative", "int": "integral", "expand": "expanded", "factor": "factored"}[kind])
    args = f"{code_expr}, x" if kind in ("diff", "int") else code_expr
    code = f"from sympy import symbols, {fn}\nx = symbols('x')\n{v} = {fn}({args})\nprint({v})"
    q = ph(ASK_SYM[(kind, lang)], key=True, p=shown)
    q = noisy(join(ph(OPEN[lang]), q, ph(POLITE[lang]) if q[-1] not in "?？.。" else ""), rng, lang, rate=0.2)
    template = EXPR_REPLY[kind][lang]
    caret = code_expr.replace("**", "^").replace("*", "")
    plugin = PluginForm("solve", {"expression": caret, "operation": fn}, lambda r: template.format(r=r.strip()),
                        shown if any(c in shown for c in _SUP.values()) else None)
    return Problem("algebra", q, code, str(expected), lambda out: template.format(r=out.strip()), key, None,
                   plugin=plugin)


FAMILY = {"algebra": [(equation, 3), (system, 1), (symbolic, 3)]}
