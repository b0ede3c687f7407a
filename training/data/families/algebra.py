"""Equations and symbolic math with sympy: linear and quadratic equations, 2x2 systems, derivatives,
integrals, expand and factor."""
from __future__ import annotations

from puyu.training.data.families.base import Ctx, PluginForm, Problem
from puyu.training.data.phrasing import OPEN, POLITE, Parts, join, noisy

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


ASK_EQ = {
    "en": Parts("alg.eq.en", ["Solve {eq}.", "Solve {eq} for x.", "Find x: {eq}", "What is x if {eq}?", "{eq}, x = ?",
                               "Solve the equation {eq}.", "Find the solutions of {eq}.", "solve {eq}",
                              "What value of x makes {eq} true?", "What are the roots of the equation {eq}?",
                              "{eq}. What's x?", "Help me solve this equation: {eq}",
                              "I have the equation {eq}. What does x equal?", "Can you solve {eq}?",
                              "For which x does {eq} hold?", "Compute the solutions of the equation {eq}.",
                              "Please find every x with {eq}.", "My homework says {eq}. What is x?",
                              "Find the root(s) of {eq}.", "x = ? when {eq}",
                              "Figure out the unknown x in the equation {eq}.",
                              "I'm stuck on {eq}. What does x have to be?",
                              "Find all real numbers x such that {eq}.",
                              "Determine the solution set of the equation {eq}.",
                              "Quick one: {eq}, x?",
                              "Exercise 3: solve for the unknown in {eq}.",
                              "Our teacher gave us {eq}. How much is x?",
                              "{eq} — what value does x take?",
                              "Isolate x and solve: {eq}",
                              "Find the zeros of the equation {eq}.",
                              "What number can x be so that {eq} is correct?",
                              "Crack this equation for me: {eq}"],
                ["Which x satisfies {eq}?", "Work out x given {eq}."]),
    "zh": Parts("alg.eq.zh", ["解方程 {eq}", "求解 {eq}", "{eq}，求 x。", "方程 {eq} 的解是多少？", "解一下 {eq}",
                              "求方程 {eq} 的根", "{eq}，x 等于几？", "帮我解这个方程：{eq}",
                              "x 取什么值时 {eq} 成立？", "已知 {eq}，x 是多少？", "请求出方程 {eq} 的所有解。",
                              "解出 {eq} 中的 x", "作业题：{eq}，求 x 的值。", "{eq} 这个方程怎么解？",
                              "计算方程 {eq} 的解",
                              "关于 x 的方程 {eq} 的解是？",
                              "这道题 {eq}，x 得多少？",
                              "求未知数 x：{eq}",
                              "老师布置的题：{eq}，x 等于多少？",
                              "卡在这个方程上了：{eq}，求 x。",
                              "若 {eq}，则 x = ？",
                              "{eq} 里的 x 该填几？",
                              "试求方程 {eq} 的解集。",
                              "考试题：解关于 x 的方程 {eq}。",
                              "算算 {eq}，x 是几？",
                              "在线等，{eq} 的 x 怎么求？",
                              "{eq}，求出 x 的值。"],
                ["满足 {eq} 的 x 是多少？"]),
}
ASK_SYS = {
    "en": Parts("alg.sys.en", ["Solve the system {e1} and {e2}.", "Find x and y: {e1}, {e2}.",
                                "Solve for x and y: {e1}; {e2}", "If {e1} and {e2}, what are x and y?",
                               "Solve simultaneously: {e1} and {e2}.", "{e1}, {e2}. What are x and y?",
                               "Find the values of x and y that make both {e1} and {e2} true.",
                               "Two equations: {e1} and {e2}. Solve them.",
                               "Solve these simultaneous equations: {e1}, {e2}",
                               "What x and y solve {e1} and {e2} at once?", "Help me with this system: {e1}; {e2}",
                               "x and y = ? if {e1} and {e2}", "Where do the lines {e1} and {e2} intersect?",
                               "Solve the pair of equations {e1} and {e2} for x and y.",
                               "Can you find x and y from {e1} and {e2}?", "Compute x and y: {e1}, {e2}.",
                               "Solve the linear system: {e1} and {e2}.",
                               "Use substitution or elimination to solve {e1}, {e2}.",
                               "I've got two equations, {e1} and {e2}. Figure out x and y.",
                               "Find the point (x, y) where {e1} and {e2} meet.",
                               "Which pair (x, y) works for both {e1} and {e2}?",
                               "Solve by elimination: {e1}; {e2}",
                               "What numbers x and y fit {e1} as well as {e2}?",
                               "Homework problem: {e1}, {e2}. Find x and y.",
                               "Find the common solution of {e1} and {e2}.",
                               "Quick one: {e1}, {e2}, x and y?",
                               "Find the ordered pair that solves both {e1} and {e2}.",
                               "Stuck on this system of equations: {e1} and {e2}. What are the unknowns?"],
                ["Given {e1} along with {e2}, determine x and y."]),
    "zh": Parts("alg.sys.zh", ["解方程组 {e1}，{e2}", "求 x 和 y：{e1}，{e2}", "已知 {e1} 且 {e2}，求 x、y。",
                               "求解方程组：{e1}；{e2}", "{e1}，{e2}，x、y 等于多少？",
                               "帮我解一下这个二元一次方程组：{e1}，{e2}", "同时满足 {e1} 和 {e2} 的 x、y 是多少？",
                               "方程组 {e1}、{e2} 的解是什么？", "已知 {e1}，{e2}，求 x 与 y 的值。",
                               "解二元方程组 {e1} 和 {e2}", "两条直线 {e1} 和 {e2} 的交点是？",
                               "请计算 x 和 y：{e1}，{e2}。", "{e1} 并且 {e2}，那么 x 和 y 是多少？",
                               "用消元法解方程组：{e1}，{e2}",
                               "代入法求解：{e1}；{e2}",
                               "把两个式子 {e1}、{e2} 放在一起解，求出 x 和 y",
                               "求直线 {e1} 与直线 {e2} 的交点坐标。",
                               "作业里有个方程组：{e1}，{e2}，未知数 x、y 怎么求？",
                               "已知二元一次方程组 {e1}，{e2}，试求它的解。",
                               "算出 x、y：{e1}，{e2}",
                               "x 和 y 分别等于几？条件是 {e1}，{e2}",
                               "这组方程 {e1}、{e2} 有什么解？",
                               "若 {e1}，且 {e2}，则 x = ？y = ？",
                               "{e1}，{e2}，这个方程组怎么解？"],
                ["联立 {e1} 与 {e2}，x 和 y 各是多少？"]),
}
ASK_SYM = {
    ("diff", "en"): Parts("alg.diff.en", ["What is the derivative of {p}?", "Differentiate {p}.", "d/dx of {p}?",
                                           "Find the derivative of {p} with respect to x.",
                                          "Differentiate {p} with respect to x.", "What's d/dx ({p})?",
                                          "Find f'(x) if f(x) = {p}.", "Compute the derivative: {p}",
                                          "What is the slope function of {p}?", "Derivative of {p}?",
                                          "What do you get when you differentiate {p}?", "If y = {p}, what is dy/dx?",
                                          "Give the first derivative of {p}.", "I need the derivative of {p}.",
                                          "Please differentiate y = {p}.",
                                          "Calculate the derivative of the polynomial {p}.", "d({p})/dx = ?",
                                          "What's the rate of change of {p} with respect to x?",
                                          "Find the gradient function of y = {p}.",
                                          "What is f prime of x when f(x) = {p}?",
                                          "Apply the power rule to differentiate {p}.",
                                          "Differentiation question: {p}. Find the derivative.",
                                          "Quick calc question: derivative of {p}?",
                                          "Find the slope of the tangent line to y = {p} at any x.",
                                          "d by dx of {p}, please.",
                                          "Find the derived function of {p}.",
                                          "My calculus homework: differentiate {p} term by term.",
                                          "What is y' if y = {p}?"],
                          ["Take the derivative of {p} for me."]),
    ("diff", "zh"): Parts("alg.diff.zh", ["求 {p} 的导数", "{p} 对 x 求导", "{p} 的导数是什么？",
                                          "求导：{p}", "{p} 的导函数是什么？", "设 f(x) = {p}，求 f'(x)。",
                                          "帮我算一下 {p} 的导数", "y = {p}，求 dy/dx", "对 {p} 关于 x 微分",
                                          "计算 {p} 的导数。", "请给出 {p} 的导数", "{p} 求导等于多少？",
                                          "函数 {p} 的导数是？",
                                          "求函数 y = {p} 的导函数",
                                          "{p} 微分一下是什么？",
                                          "求曲线 y = {p} 在任意一点处的切线斜率",
                                          "试求 f(x) = {p} 的导数。",
                                          "用求导公式算 {p} 的导数",
                                          "这道求导题不会：{p}",
                                          "{p} 逐项求导后是什么？",
                                          "微积分作业：{p} 求导",
                                          "y = {p}，y' 等于多少？",
                                          "{p} 导一下等于啥？"], ["对 {p} 求一阶导数。"]),
    ("int", "en"): Parts("alg.int.en", ["Integrate {p}.", "What is the integral of {p}?", "Find the antiderivative of {p}.",
                                         "integral of {p} dx",
                                        "Find the indefinite integral of {p}.", "∫ ({p}) dx = ?",
                                        "Integrate {p} with respect to x.", "What's the antiderivative of {p}?",
                                        "Compute ∫ {p} dx.", "What function has derivative {p}?",
                                        "Calculate the integral of {p} dx.", "Please integrate y = {p}.",
                                        "I need the indefinite integral of {p}.", "Integral of {p}?",
                                        "Evaluate the indefinite integral of {p}.",
                                        "What do you get when you integrate {p}?",
                                        "Find the primitive of {p}.",
                                        "Integrate {p} term by term.",
                                        "Which function, when differentiated, gives back {p}?",
                                        "Anti-differentiate {p}.",
                                        "Solve the integral ∫ ({p}) dx.",
                                        "Calc homework: find ∫ {p} dx.",
                                        "Apply the power rule for integration to {p}.",
                                        "What's the general antiderivative of {p} (+ C)?",
                                        "I'm stuck integrating {p}. What's the answer?",
                                        "Find F(x) such that F'(x) = {p}.",
                                        "∫ {p} dx, including the constant."],
                         ["Give me an antiderivative of {p}."]),
    ("int", "zh"): Parts("alg.int.zh", ["求 {p} 的不定积分", "对 {p} 积分", "{p} 的积分是多少？",
                                        "计算 ∫({p})dx", "{p} 的不定积分是什么？", "积分：{p}", "帮我对 {p} 求积分",
                                        "求不定积分 ∫ {p} dx", "{p} 关于 x 积分等于多少？", "请计算 {p} 的不定积分。",
                                        "哪个函数的导数是 {p}？", "算一下 {p} 的积分",
                                        "帮我把 {p} 积个分",
                                        "求 ∫{p}dx，别忘了加常数 C",
                                        "已知 F'(x) = {p}，求 F(x)。",
                                        "逐项积分：{p}",
                                        "用积分公式算 {p} 的不定积分",
                                        "高数作业题：∫({p})dx 等于多少？",
                                        "{p} 对 x 的不定积分怎么求？",
                                        "这个积分怎么做：∫ {p} dx",
                                        "试求不定积分 ∫ ({p}) dx。",
                                        "把 {p} 积出来",
                                        "{p} 积分以后是什么函数？"], ["求 {p} 的原函数。"]),
    ("expand", "en"): Parts("alg.expand.en", ["Expand {p}.", "Multiply out {p}.", "What is {p} expanded?",
                                              "Expand the expression {p}.", "Multiply {p} out.",
                                              "Can you expand {p}?", "Expand and simplify {p}.",
                                              "What is {p} when multiplied out?", "Use the distributive law on {p}.",
                                              "Expand {p} into a polynomial.", "Please multiply out {p} fully.",
                                              "{p} expanded = ?", "Express {p} as a sum of terms.",
                                              "Give the expanded form of {p}.", "Use FOIL to expand {p}.",
                                              "Get rid of the parentheses in {p} and simplify.",
                                              "Open the brackets: {p}",
                                              "Distribute and combine like terms: {p}",
                                              "Multiply the binomials in {p} together.",
                                              "Put {p} into standard polynomial form.",
                                              "What does {p} come out to when you expand it?",
                                              "Remove the parentheses from {p}.",
                                              "Simplify {p} by multiplying it out.",
                                              "Textbook exercise: expand the product {p}.",
                                              "Do the multiplication in {p} and collect like terms.",
                                              "Expand out {p} for me."],
                            ["Write {p} without brackets."]),
    ("expand", "zh"): Parts("alg.expand.zh", ["展开 {p}", "把 {p} 展开", "{p} 展开后是什么？",
                                              "展开并化简 {p}", "{p} 乘开等于多少？", "把 {p} 乘出来",
                                              "计算 {p} 的展开式", "请将 {p} 展开成多项式。", "帮我展开一下 {p}",
                                              "{p} 的展开式是什么？", "用乘法分配律展开 {p}", "展开：{p}",
                                              "{p} 拆开是多少？",
                                              "打开括号，合并同类项：{p}",
                                              "计算整式乘法 {p}",
                                              "用乘法公式计算 {p}",
                                              "{p} 去掉括号后等于什么？",
                                              "把 {p} 化成一般形式的多项式",
                                              "{p} 乘出来再合并同类项，结果是？",
                                              "多项式乘法：{p} 等于多少？",
                                              "作业题：计算 {p}，结果写成多项式",
                                              "{p} 怎么展开？"], ["将 {p} 去括号展开。"]),
    ("factor", "en"): Parts("alg.factor.en", ["Factor {p}.", "Factorize {p}.", "What is {p} factored?",
                                              "Factorise {p}.", "Factor the quadratic {p}.", "Can you factor {p}?",
                                              "Write {p} as a product of two brackets.", "Factor {p} completely.",
                                              "How does {p} factor?", "Express {p} as a product of linear terms.",
                                              "Please factorize the expression {p}.", "{p} factored = ?",
                                              "What's the factorisation of {p}?", "Find the factored form of {p}.",
                                              "Factor this polynomial: {p}",
                                              "Factor the trinomial {p}.",
                                              "Which two binomials multiply to give {p}?",
                                              "What does {p} look like in factored form?",
                                              "Find two brackets that multiply out to {p}.",
                                              "Factoring problem: {p}",
                                              "Stuck on factoring {p}, help?",
                                              "What are the factors of {p}?",
                                              "Factor {p} using two numbers with the right product and sum.",
                                              "Reverse FOIL: factor {p}.",
                                              "Is there a way to factor {p}? Show me the factors."],
                            ["Break {p} into factors."]),
    ("factor", "zh"): Parts("alg.factor.zh", ["因式分解 {p}", "把 {p} 因式分解", "{p} 分解因式",
                                              "对 {p} 进行因式分解", "{p} 怎么因式分解？",
                                              "请把 {p} 写成两个一次式的乘积", "因式分解：{p}", "帮我把 {p} 分解因式",
                                              "{p} 的因式分解结果是什么？", "求 {p} 的因式分解",
                                              "把多项式 {p} 化成乘积形式", "{p} 因式分解后是什么？",
                                              "用十字相乘法分解 {p}",
                                              "{p} 可以写成哪两个一次式相乘？",
                                              "因式分解题：{p}，怎么分？",
                                              "{p} 拆成两个括号相乘是什么？",
                                              "请对二次三项式 {p} 进行因式分解",
                                              "{p} 十字相乘怎么做？",
                                              "哪两个一次因式的积等于 {p}？",
                                              "老师让因式分解 {p}，结果是多少？",
                                              "{p} 的因式有哪些？",
                                              "数学作业：分解 {p}"], ["将 {p} 分解成因式。"]),
}
SOL_REPLY = {
    "en": Parts("alg.reply.en", ["{sol}", "The solution is {sol}.", "So {sol}.", "Answer: {sol}",
                                 "We get {sol}.",
                                 "The answer is {sol}.",
                                 "Solving it gives {sol}."]),
    "zh": Parts("alg.reply.zh", ["{sol}", "解为 {sol}。", "所以 {sol}。", "答案：{sol}",
                                 "得 {sol}。",
                                 "答案是 {sol}。",
                                 "求得 {sol}。"]),
}
EXPR_REPLY = {
    ("diff", "en"): "The derivative is {r}.", ("diff", "zh"): "导数是 {r}。",
    ("int", "en"): "The integral is {r} + C.", ("int", "zh"): "积分结果是 {r} + C。",
    ("expand", "en"): "Expanded: {r}", ("expand", "zh"): "展开后是 {r}。",
    ("factor", "en"): "Factored: {r}", ("factor", "zh"): "因式分解结果是 {r}。",
}
_OR = {"en": " or ", "zh": " 或 "}


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
    template = EXPR_REPLY[(kind, lang)]
    caret = code_expr.replace("**", "^").replace("*", "")
    plugin = PluginForm("solve", {"expression": caret, "operation": fn}, lambda r: template.format(r=r.strip()),
                        shown if any(c in shown for c in _SUP.values()) else None)
    return Problem("algebra", q, code, str(expected), lambda out: template.format(r=out.strip()), key, None,
                   plugin=plugin)


FAMILY = {"algebra": [(equation, 3), (system, 1), (symbolic, 3)]}
