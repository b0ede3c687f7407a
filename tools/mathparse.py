"""A math-expression parser that never evaluates code: text -> Python AST -> SymPy objects, node by node.

Only numbers, symbols, arithmetic, comparisons and whitelisted functions are accepted. SymPy's own
`parse_expr` and `sympify` call `eval`, which an attacker can steer to arbitrary attribute access, so
they are not used on untrusted text. Sizes that would make SymPy or Python's big integers run away
(10**10**10, factorial(10**6)) are refused before they are built.
"""
from __future__ import annotations

import ast
import math
import re

import sympy as sp

from puyu.tools.common import ToolError

MAX_CHARS = 2000
MAX_NODES = 600
MAX_DIGITS = 100_000  # of an exact power's result
MAX_SYMBOLIC_EXPONENT = 10_000
MAX_FACTORIAL = 10_000

FUNCS = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "atan2": sp.atan2,
    "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh,
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "log10": lambda x: sp.log(x, 10), "log2": lambda x: sp.log(x, 2),
    "sqrt": sp.sqrt, "cbrt": sp.cbrt, "root": sp.root, "abs": sp.Abs, "Abs": sp.Abs, "sign": sp.sign,
    "floor": sp.floor, "ceil": sp.ceiling, "ceiling": sp.ceiling, "factorial": sp.factorial,
    "binomial": sp.binomial, "gamma": sp.gamma, "gcd": sp.gcd, "lcm": sp.lcm,
    "min": sp.Min, "max": sp.Max, "Min": sp.Min, "Max": sp.Max, "re": sp.re, "im": sp.im,
    "conjugate": sp.conjugate, "erf": sp.erf,
}
CONSTANTS = {"pi": sp.pi, "e": sp.E, "E": sp.E, "I": sp.I, "oo": sp.oo, "inf": sp.oo, "infinity": sp.oo}
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Mod: sp.Mod, ast.Pow: None}
_CMP = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq}
_TEXT_FIXES = str.maketrans({"^": "**", "×": "*", "÷": "/", "−": "-", "（": "(", "）": ")", "，": ",", "＝": "=",
                             "π": "pi", "∞": "oo", "≤": "<=", "≥": ">="})
# "2x" and "3(x+1)" and ")(" mean multiplication; "1e5" and names like "log10" do not.
_IMPLICIT = [(re.compile(r"(?<![\w.])(\d+(?:\.\d*)?)(?![eE][+-]?\d)(?=[A-Za-z_(])"), r"\1*"),
             (re.compile(r"\)(?=[\w(])"), ")*")]


def _normalise(text: str) -> str:
    text = text.translate(_TEXT_FIXES)
    for pattern, repl in _IMPLICIT:
        text = pattern.sub(repl, text)
    return text.strip()


def _power(base: sp.Expr, exp: sp.Expr) -> sp.Expr:
    if exp.is_Number and abs(exp) > MAX_SYMBOLIC_EXPONENT and not base.is_Number:
        raise ToolError(f"exponent {exp} is too large (limit {MAX_SYMBOLIC_EXPONENT}).")
    if base.is_Number and exp.is_Number and abs(base) > 1:
        digits = float(abs(exp)) * math.log10(float(abs(base)))
        if digits > MAX_DIGITS:
            raise ToolError(f"{base}**{exp} would have about {digits:.3g} digits; the limit is {MAX_DIGITS:,}.")
    return base ** exp


def _call(name: str, args: list) -> sp.Expr:
    if name == "factorial" and args and args[0].is_Number and abs(args[0]) > MAX_FACTORIAL:
        raise ToolError(f"factorial of {args[0]} is too large (limit {MAX_FACTORIAL}).")
    try:
        return FUNCS[name](*args)
    except TypeError as e:
        raise ToolError(f"{name}() got the wrong number of arguments ({len(args)}).") from e


def _convert(node: ast.AST, symbols: dict[str, sp.Symbol]) -> sp.Basic:
    def conv(n: ast.AST) -> sp.Basic:
        return _convert(n, symbols)

    if isinstance(node, ast.Expression):
        return conv(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        # decimals become exact rationals so that 0.1 + 0.2 is 3/10, not 0.30000000000000004
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise ToolError(f"the number {node.value} is out of range.")
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Rational(repr(node.value))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCS:
            raise ToolError(f"{node.id} is a function; call it like {node.id}(x).")
        if node.id.startswith("_") or len(node.id) > 24:
            raise ToolError(f"{node.id!r} is not a valid variable name.")
        return symbols.setdefault(node.id, sp.Symbol(node.id))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = conv(node.left), conv(node.right)
        return _power(a, b) if isinstance(node.op, ast.Pow) else _BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = conv(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCS:
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ToolError(f"{node.func.id}() takes plain positional arguments only.")
        return _call(node.func.id, [conv(a) for a in node.args])
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else "this"
        raise ToolError(f"unknown function {name}(); allowed: {', '.join(sorted(FUNCS))}.")
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
        return _CMP[type(node.ops[0])](conv(node.left), conv(node.comparators[0]))
    raise ToolError(f"{type(node).__name__} is not allowed in a math expression "
                    "(only numbers, variables, + - * / ** %, comparisons and math functions).")


def parse(text: str, symbols: dict[str, sp.Symbol] | None = None) -> sp.Basic:
    """One expression, equation (`lhs = rhs`) or inequality, as a SymPy object."""
    if not isinstance(text, str) or not text.strip():
        raise ToolError("the expression is empty.")
    if len(text) > MAX_CHARS:
        raise ToolError(f"the expression is {len(text)} characters; the limit is {MAX_CHARS}.")
    symbols = {} if symbols is None else symbols
    src = _normalise(text)
    # a single "=" is an equation; "==", "<=", ">=" and "!=" are left to the Python grammar
    sides = re.split(r"(?<![=<>!])=(?!=)", src)
    if len(sides) > 2:
        raise ToolError(f"{text!r} has more than one '='.")
    if len(sides) == 2:
        return sp.Eq(parse(sides[0], symbols), parse(sides[1], symbols))
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        raise ToolError(f"cannot parse {text!r}: {e.msg}.") from None
    except ValueError as e:  # e.g. an integer literal longer than Python converts
        raise ToolError(f"cannot parse {text!r}: {e}.") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolError(f"the expression is too complex (more than {MAX_NODES} parts).")
    return _convert(tree, symbols)


def parse_many(text: str, symbols: dict[str, sp.Symbol] | None = None) -> list[sp.Basic]:
    """Several expressions separated by ';' or new lines (a system of equations)."""
    symbols = {} if symbols is None else symbols
    parts = [p for p in re.split(r"[;\n；]", text or "") if p.strip()]
    if not parts:
        raise ToolError("the expression is empty.")
    return [parse(p, symbols) for p in parts]


def parse_symbols(text: str, symbols: dict[str, sp.Symbol]) -> list[sp.Symbol]:
    """A comma-separated list of variable names."""
    names = [n.strip() for n in re.split(r"[,，\s]+", text or "") if n.strip()]
    for n in names:
        if not n.isidentifier() or n in FUNCS or n in CONSTANTS or n.startswith("_"):
            raise ToolError(f"{n!r} is not a valid variable name.")
    return [symbols.setdefault(n, sp.Symbol(n)) for n in names]
