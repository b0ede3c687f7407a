"""Symbolic math with SymPy (solve, simplify, differentiate, integrate, limits; LaTeX out) and a safe
calculator. Input text goes through `tools.mathparse`, never through `eval`."""
import sympy as sp
from agentlego.types import Annotated, Info
from func_timeout import FunctionTimedOut, func_timeout

from puyu.tools.common import PuyuTool, ToolError, one_of, to_json
from puyu.tools.mathparse import parse, parse_many, parse_symbols

OPS = ("solve", "simplify", "factor", "expand", "diff", "integrate", "limit")
TIMEOUT_S = 10
MAX_SHOWN_DIGITS = 200


def with_timeout(fn, *args):
    try:
        return func_timeout(TIMEOUT_S, fn, args)
    except FunctionTimedOut:
        raise ToolError(f"SymPy did not finish within {TIMEOUT_S} s; try a simpler form of the problem.") from None


def _one_variable(expr: sp.Basic, given: list[sp.Symbol], op: str) -> sp.Symbol:
    if given:
        return given[0]
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if len(free) != 1:
        names = ", ".join(s.name for s in free) or "none"
        raise ToolError(f"{op} needs the variable (the expression has variables: {names}).")
    return free[0]


def _approx(value: sp.Basic) -> str | None:
    """A decimal next to an exact value, when that adds something (sqrt(2), pi/4, not 3 or x + 1)."""
    if value.free_symbols or value.is_Rational or not value.is_number or not value.is_finite:
        return None
    try:
        return str(sp.N(value, 10))
    except (TypeError, ValueError):
        return None


def _solutions(sols: list[dict], variables: list[sp.Symbol]) -> dict:
    if not sols:
        return {"result": "no solution", "latex": r"\varnothing"}
    text, tex, approx = [], [], []
    for sol in sols:
        keys = [v for v in variables if v in sol] or list(sol)
        text.append(", ".join(f"{k} = {sol[k]}" for k in keys))
        tex.append(", ".join(f"{sp.latex(k)} = {sp.latex(sol[k])}" for k in keys))
        nums = [(k, _approx(sol[k])) for k in keys]
        if any(n for _, n in nums):
            approx.append(", ".join(f"{k} ≈ {n or sol[k]}" for k, n in nums))
    out = {"result": "; ".join(text), "latex": r"\quad ".join(tex)}
    if approx:
        out["approx"] = "; ".join(approx)
    return out


def compute(op: str, expression: str, variable: str, point: str, lower: str, upper: str, order: int) -> dict:
    symbols: dict = {}
    exprs = parse_many(expression, symbols)
    given = parse_symbols(variable, symbols)
    if op == "solve":
        if any(e == sp.false for e in exprs):  # SymPy decides x = x + 1 while parsing
            return {"result": "no solution", "latex": r"\varnothing"}
        exprs = [e for e in exprs if e != sp.true]
        if not exprs:
            return {"result": "every value is a solution (the equation always holds)", "latex": r"\top"}
        variables = given or sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
        if not variables:
            raise ToolError("there is nothing to solve for: the expression has no variables.")
        if len(exprs) == 1 and isinstance(exprs[0], sp.core.relational.Relational) and not isinstance(exprs[0], sp.Eq):
            res = sp.solve(exprs[0], variables[0])  # an inequality: the answer is a condition on the variable
            return {"result": str(res), "latex": sp.latex(res)}
        return _solutions(sp.solve(exprs, variables, dict=True), variables)
    if len(exprs) != 1:
        raise ToolError(f"{op} takes one expression; separate equations with ';' only for solve.")
    expr = exprs[0]
    if op in ("simplify", "factor", "expand"):
        res = getattr(sp, op)(expr)
    elif op == "diff":
        if not 1 <= order <= 10:
            raise ToolError(f"order must be 1..10, got {order}.")
        res = sp.diff(expr, _one_variable(expr, given, op), order)
    elif op == "integrate":
        var = _one_variable(expr, given, op)
        if bool(lower) != bool(upper):
            raise ToolError("a definite integral needs both lower and upper; leave both empty for an antiderivative.")
        res = sp.integrate(expr, (var, parse(lower, symbols), parse(upper, symbols)) if lower else var)
        if isinstance(res, sp.Integral):
            raise ToolError("SymPy found no closed form for this integral.")
    else:
        if not point:
            raise ToolError("limit needs the point, e.g. point='0' or point='oo'.")
        at = parse(point, symbols)
        res = sp.limit(expr, _one_variable(expr, given, op), at, "+-" if at.is_finite else "+")
        if res == sp.zoo:
            raise ToolError("the limit does not exist: the two one-sided limits go to different infinities.")
    out = {"result": str(res), "latex": sp.latex(res)}
    if op == "integrate" and not lower:
        out["note"] = "antiderivative; add a constant C"
    if (n := _approx(res)) is not None:
        out["approx"] = n
    return out


class Solve(PuyuTool):
    default_desc = ("Exact symbolic math with SymPy. operation: solve (equations, inequalities, or a system "
                    "separated by ';'), simplify, factor, expand, diff, integrate, limit. Write math as plain text, "
                    "e.g. x^2 - 4 = 0; sin(x)/x; sqrt(2)*pi. Optional: variable (e.g. 'x' or 'x, y'), "
                    "point (limit, e.g. 0 or oo), lower and upper (definite integral), order (diff). "
                    "Returns JSON with result, latex and approx.")
    tool_name = "solve"

    def apply(
        self,
        expression: Annotated[str, Info("The expression or equation(s), e.g. 'x^2 - 5x + 6 = 0' or "
                                        "'x + y = 3; x - y = 1'.")],
        operation: Annotated[str, Info("One of solve, simplify, factor, expand, diff, integrate, limit.")] = "solve",
        variable: Annotated[str, Info("Variable(s) to solve for or work in, comma separated; empty picks "
                                      "the expression's own.")] = "",
        point: Annotated[str, Info("limit: the point the variable goes to, e.g. 0 or oo.")] = "",
        lower: Annotated[str, Info("integrate: lower bound of a definite integral.")] = "",
        upper: Annotated[str, Info("integrate: upper bound of a definite integral.")] = "",
        order: Annotated[int, Info("diff: order of the derivative.")] = 1,
    ) -> Annotated[str, Info("JSON: result, latex, approx")]:
        op = one_of("operation", operation, OPS)
        return to_json(with_timeout(compute, op, expression, variable, point, lower, upper, order))


def _decimal(value: sp.Basic) -> str:
    s = str(sp.N(value, 15))
    return s.rstrip("0").rstrip(".") if "." in s and "e" not in s and "I" not in s else s


def _small(n: sp.Integer) -> bool:
    """Longer exact numbers would flood the model's context; they are shown as decimals."""
    return abs(n) < 10 ** MAX_SHOWN_DIGITS


def calculate(expression: str) -> str:
    value = parse(expression)
    if value.free_symbols:
        names = ", ".join(sorted(s.name for s in value.free_symbols))
        raise ToolError(f"the expression has unknowns ({names}); use the solve tool for algebra.")
    if isinstance(value, sp.logic.boolalg.BooleanAtom) or value.is_Relational:
        return str(bool(value))
    if value.has(sp.zoo, sp.nan):
        raise ToolError("the result is undefined (division by zero or similar).")
    if value.is_Integer:
        return str(value) if _small(value) else _decimal(value)
    if value.is_Rational:
        return f"{value} ≈ {_decimal(value)}" if _small(value.p) and value.q < 10 ** 12 else _decimal(value)
    decimal = _decimal(value)
    try:
        exact = str(value)
    except ValueError:  # an integer inside too long for Python to print
        return decimal
    return f"{exact} ≈ {decimal}" if len(exact) <= 40 and exact != decimal else decimal


class Calculator(PuyuTool):
    default_desc = ("Evaluate an arithmetic expression exactly, then as a decimal: + - * / ** %, parentheses, "
                    "pi, e, sqrt, sin, cos, tan, log, ln, exp, factorial, ... (angles in radians).")
    tool_name = "calculator"

    def apply(self, expression: Annotated[str, Info("The arithmetic expression, e.g. '(3 + 4) * 2^10 / 7'.")]
              ) -> Annotated[str, Info("The value")]:
        return with_timeout(calculate, expression)
