"""InternLM's interpreter evaluation of GSM8K (InternLM/InternLM, agent/streaming_inference.py at commit 2b221a9,
the version that scores GSM8K): the answer is read from the agent's last reply (`extract_answer`) and compared
with `math_equal` (numbers within a relative 1e-4, also as a percentage; else the same expression by sympy)."""
from __future__ import annotations

from math import isclose

from puyu.eval.official.latex import strip_answer


def _brace_content(text: str) -> str:
    """What the braces opening `text` hold (to the brace that closes them, or to the end)."""
    depth, out = 1, []
    for c in text[1:]:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth == 0:
            break
        out.append(c)
    return "".join(out)


def extract_answer(reply: str) -> str:
    """`extract_answer` as it reads GSM8K replies at 2b221a9: after the last "boxed", its braces' content (or the
    text up to a `$`); nothing when the reply has no "boxed" (the fallbacks to "The answer is" and to the last
    number came later, with its MATH-only version). Then the first line, one leading ':', one trailing '.' and
    then one '/' removed, cleaned by `strip_answer`."""
    if "boxed" not in reply:
        return ""
    after = reply.split("boxed")[-1]
    if not after:
        return ""
    answer = _brace_content(after) if after[0] == "{" else after.split("$")[0].strip()
    answer = answer.split("\n")[0].removeprefix(":").removesuffix(".").removesuffix("/")
    return strip_answer(answer)


def _number(text) -> float | None:
    try:
        return float(str(text).replace(",", ""))
    except ValueError:
        return None


def _sympy_equal(a: str, b: str) -> bool:
    from sympy import N, simplify
    from sympy.parsing.latex import parse_latex
    from sympy.parsing.sympy_parser import parse_expr

    def parse(s):
        for reader in (parse_latex, parse_expr):
            try:
                return reader(s)
            except Exception:  # noqa: BLE001, S112 - an unreadable expression stays text, as in the official code
                continue
        return s

    x, y = parse(a), parse(b)
    try:
        if simplify(x - y) == 0:
            return True
    except Exception:  # noqa: BLE001, S110 - sympy cannot subtract these: try numbers next
        pass
    try:
        return isclose(N(x), N(y), rel_tol=1e-3)
    except Exception:  # noqa: BLE001
        return False


def math_equal(pred, ref) -> bool:
    """`math_equal`: two numbers are equal within a relative 1e-4, the reference also read as a percentage (x/100,
    x*100); otherwise the texts, brackets aside, are equal, or element by element for [a, b] and (a, b), or sympy
    finds the two expressions equal."""
    p, r = _number(pred), _number(ref)
    if p is not None and r is not None:
        return any(isclose(want, p, rel_tol=1e-4) for want in (r / 100, r, r * 100))
    if not pred and pred not in (0, False):
        return False
    pred, ref = str(pred).strip(), str(ref).strip()
    a, b = pred, ref
    if (pred.startswith("[") and pred.endswith("]") and not ref.startswith("(")) or \
            (pred.startswith("(") and pred.endswith(")") and not ref.startswith("[")):
        a, b = a.strip("[]()"), b.strip("[]()")
    for bracket in "{}()":
        a, b = a.replace(bracket, ""), b.replace(bracket, "")
    if a == b:
        return True
    pairs = ("[]", "()")
    if any(pred[:1] + pred[-1:] == p2 and ref[:1] + ref[-1:] == p2 for p2 in pairs):
        mine, theirs = pred[1:-1].split(","), ref[1:-1].split(",")
        if len(mine) == len(theirs) and all(math_equal(x, y) for x, y in zip(mine, theirs)):
            return True
    return _sympy_equal(pred, ref)
