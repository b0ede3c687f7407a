"""Plot functions of one variable (`plot`) or data (`plot_data`) to a PNG chart, with matplotlib's object
API on an Agg canvas: no pyplot global state, so tools in several threads do not draw into each other's figures."""
import json
import math
from typing import BinaryIO

import numpy as np
import sympy as sp
from agentlego.types import Annotated, ImageIO, Info
from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from puyu.tools.common import PuyuTool, ToolError, one_of
from puyu.tools.mathparse import parse_many

KINDS = ("line", "scatter", "bar")
MAX_POINTS = 100_000
SAMPLES = 800
CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "SimHei")

Series = tuple[str, np.ndarray, np.ndarray]  # label, x, y


def function_series(expression: str, x_min: float, x_max: float) -> list[Series]:
    if not (math.isfinite(x_min) and math.isfinite(x_max) and x_min < x_max):
        raise ToolError(f"x_min must be less than x_max (got {x_min}, {x_max}).")
    # "y = x^2" plots the right-hand side
    exprs = [e.rhs if isinstance(e, sp.Eq) else e for e in parse_many(expression)]
    free = set().union(*(e.free_symbols for e in exprs))
    if len(free) > 1:
        raise ToolError(f"plot functions of one variable; found {', '.join(sorted(s.name for s in free))}.")
    var = free.pop() if free else sp.Symbol("x")
    xs = np.linspace(x_min, x_max, SAMPLES)
    out = []
    for e in exprs:
        try:
            with np.errstate(all="ignore"):
                ys = np.asarray(sp.lambdify(var, e, modules="numpy")(xs), dtype=complex) * np.ones_like(xs)
        except (TypeError, ValueError, NameError, AttributeError) as err:
            raise ToolError(f"cannot evaluate {e} numerically ({err}).") from None
        # complex values and poles (1/x at 0) are left out of the line
        ys = np.where((np.abs(ys.imag) < 1e-12) & np.isfinite(ys), ys.real, np.nan)
        out.append((str(e), xs, ys))
    return out


def _numbers(values, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ToolError(f"{what} must be a list of numbers.") from None
    if arr.ndim != 1 or arr.size == 0 or arr.size > MAX_POINTS:
        raise ToolError(f"{what} must be a flat list of 1..{MAX_POINTS} numbers.")
    return arr


def data_series(data: str) -> tuple[list[Series], list[str] | None]:
    """Data as JSON: [y...], [[x, y]...], {"x": [...], "name": [y...]...} or {"label": value...} (categories)."""
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as e:
        raise ToolError(f"data is not valid JSON ({e.msg} at char {e.pos}).") from None
    if isinstance(obj, list) and obj and all(isinstance(p, list) and len(p) == 2 for p in obj):
        pairs = _numbers([v for p in obj for v in p], "data pairs").reshape(-1, 2)
        return [("", pairs[:, 0], pairs[:, 1])], None
    if isinstance(obj, list):
        y = _numbers(obj, "data")
        return [("", np.arange(len(y)), y)], None
    if not isinstance(obj, dict) or not obj:
        raise ToolError("data must be a JSON list or object.")
    if all(isinstance(v, (int, float)) for v in obj.values()):
        labels = [str(k) for k in obj]
        return [("", np.arange(len(labels)), _numbers(list(obj.values()), "data"))], labels
    x = _numbers(obj.pop("x"), "data.x") if "x" in obj else None
    series = []
    for name, ys in obj.items():
        y = _numbers(ys, f"data.{name}")
        xs = np.arange(len(y)) if x is None else x
        if len(xs) != len(y):
            raise ToolError(f"data.{name} has {len(y)} values but x has {len(xs)}.")
        series.append((str(name), xs, y))
    return series, None


def font_families() -> list[str]:
    """matplotlib falls back along a family list glyph by glyph, so Chinese labels render with whichever
    CJK font is installed (fonts-wqy-zenhei on Debian)."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[f for f in CJK_FONTS if f in known]]


def draw(series: list[Series], kind: str, title: str, xlabel: str, ylabel: str,
         labels: list[str] | None, out: BinaryIO) -> None:
    """Draw the chart as a PNG into `out` (an open file: the tool's output, see PuyuTool.output)."""
    with rc_context({"font.family": font_families()}):
        _draw(series, kind, title, xlabel, ylabel, labels, out)


def _draw(series: list[Series], kind: str, title: str, xlabel: str, ylabel: str,
          labels: list[str] | None, out: BinaryIO) -> None:
    fig = Figure(figsize=(7, 4.5), dpi=110, layout="tight")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    for i, (name, x, y) in enumerate(series):
        if kind == "bar":
            ax.bar(x + (i - (len(series) - 1) / 2) * width, y, width=width, label=name or None)
        elif kind == "scatter":
            ax.scatter(x, y, s=12, label=name or None)
        else:
            ax.plot(x, y, label=name or None)
    if labels:
        ax.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels)) > 6 else 0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if any(name for name, _, _ in series):
        ax.legend()
    fig.savefig(out, format="png")


class Plot(PuyuTool):
    default_desc = ("Plot one or more functions of one variable to a PNG chart, e.g. expression='sin(x); x^2/10'. "
                    "Optional: x_min and x_max (default -10 and 10), title, xlabel, ylabel.")
    tool_name = "plot"

    def apply(
        self,
        expression: Annotated[str, Info("Function(s) of one variable, separated by ';'.")],
        x_min: Annotated[float, Info("Left end of the x range.")] = -10.0,
        x_max: Annotated[float, Info("Right end of the x range.")] = 10.0,
        title: Annotated[str, Info("Chart title.")] = "",
        xlabel: Annotated[str, Info("x-axis label.")] = "",
        ylabel: Annotated[str, Info("y-axis label.")] = "",
    ) -> tuple[Annotated[str, Info("What was drawn")], Annotated[ImageIO, Info("The chart (PNG)")]]:
        series = function_series(expression, float(x_min), float(x_max))
        with self.output("plot") as (f, path):
            draw(series, "line", title, xlabel, ylabel, None, f)
        return f"line chart of {', '.join(n for n, _, _ in series)}", ImageIO(str(path))


class PlotData(PuyuTool):
    default_desc = ("Chart data as a PNG. data is JSON: [1, 4, 9] (y values), [[0, 1], [1, 3]] (x, y pairs), "
                    "{\"x\": [1, 2, 3], \"sales\": [5, 7, 6], \"costs\": [3, 4, 4]} (named series) or "
                    "{\"apples\": 3, \"pears\": 5} (categories). Optional: kind (line, scatter, bar; default line), "
                    "title, xlabel, ylabel.")
    tool_name = "plot_data"

    def apply(
        self,
        data: Annotated[str, Info("The data, as JSON (see the tool description).")],
        kind: Annotated[str, Info("Chart kind: line, scatter or bar.")] = "line",
        title: Annotated[str, Info("Chart title.")] = "",
        xlabel: Annotated[str, Info("x-axis label.")] = "",
        ylabel: Annotated[str, Info("y-axis label.")] = "",
    ) -> tuple[Annotated[str, Info("What was drawn")], Annotated[ImageIO, Info("The chart (PNG)")]]:
        kind = one_of("kind", kind, KINDS)
        series, labels = data_series(data)
        with self.output("chart") as (f, path):
            draw(series, kind, title, xlabel, ylabel, labels, f)
        names = ", ".join(n for n, _, _ in series if n) or f"{len(series[0][1])} points"
        return f"{kind} chart of {names}", ImageIO(str(path))
