"""How the MATH-style scorers normalize a written answer before comparing it: OpenCompass's `MATHEvaluator`
(version v2, `math_postprocess_v2`; open-compass/opencompass, opencompass/datasets/math.py) and InternLM's
interpreter evaluation (InternLM/InternLM, agent/streaming_inference.py at 2b221a9) use the same cleaning steps,
which this module writes once. The two differ in one place, `a/b` fractions, which `strict_fractions` selects.
"""
from __future__ import annotations

import re

_TEXT_UNIT = re.compile(r"\\text{.*?}$")
_MBOX = re.compile(r"\\mbox{.*?}")
_POINT_ZEROS = (re.compile(r"(\d+)\.0+([^\d])"), re.compile(r"(\d+)\.0+$"))
_SQRT_SHORT = re.compile(r"\\sqrt(\w+)")

# Removed wherever they appear (LaTeX spacing, degree marks, currency and percent signs, ...), in this order.
_DROPPED_BEFORE_UNITS = ("\\!", "\\ ")
_DROPPED_AFTER_UNITS = ("^{\\circ}", "^\\circ", "\\$", "$", "\\text", "x\\in", "\\%", "%")


def last_boxed(text: str) -> str | None:
    """The last `\\boxed{...}` (or `\\fbox{...}`) of `text` with its braces balanced, as written; None when there
    is none or its braces never close."""
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if text[i] == "}" and depth == 0:
            return text[start:i + 1]
    return None


def boxed_content(text: str) -> str | None:
    """What the last `\\boxed{...}` holds, one pair of doubled braces removed (`\\boxed{{18}}` holds 18)."""
    boxed = last_boxed(text)
    if boxed is None or not boxed.startswith("\\boxed{") or not boxed.endswith("}"):
        return None
    inner = boxed[len("\\boxed{"):-1]
    doubled = re.match(r"^\{(.*)\}$", inner)
    return doubled.group(1) if doubled else inner


def _fracs(text: str) -> str:
    """`\\frac12` -> `\\frac{1}{2}`, `\\frac1{2}` -> `\\frac{1}{2}`; a `\\frac` with under two characters after it
    leaves the whole text as it was."""
    head, *pieces = text.split("\\frac")
    out = head
    for piece in pieces:
        out += "\\frac"
        if piece.startswith("{"):
            out += piece
            continue
        if len(piece) < 2:
            return text
        a, b, rest = piece[0], piece[1], piece[2:]
        out += f"{{{a}}}{{{b}}}{rest}" if b != "{" else f"{{{a}}}{b}{rest}"
    return out


def _slash_fraction(text: str, strict: bool) -> str:
    """`3/4` -> `\\frac{3}{4}` when both sides are integers written plainly. strict (OpenCompass): a side that is
    not an integer raises ValueError, which its caller catches; else (InternLM) a `sqrt` side is allowed and any
    other text is left as it was."""
    parts = text.split("/")
    if len(parts) != 2:
        return text
    a, b = parts
    try:
        na = a if not strict and "sqrt" in a else int(a)
        nb = b if not strict and "sqrt" in b else int(b)
    except ValueError:
        if strict:
            raise
        return text
    return f"\\frac{{{na}}}{{{nb}}}" if text == f"{na}/{nb}" else text


def strip_answer(text, strict_fractions: bool = False) -> str:
    """A written answer cleaned for comparison: no line breaks, LaTeX spacing, `\\left`/`\\right`, trailing unit
    in `\\text{}`, degree, dollar and percent signs, `x \\in`, "and"; `.5` -> `0.5`, `18.00` -> `18`, `x = 3` ->
    `3` (a name of at most two characters), no spaces, `\\frac` and `a/b` written out."""
    s = str(text).strip().replace("\n", "").rstrip(".")
    for dropped in _DROPPED_BEFORE_UNITS:
        s = s.replace(dropped, "")
    s = s.replace("\\\\", "\\").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac").replace("\\left", "").replace("\\right", "")
    without_unit = _TEXT_UNIT.sub("", s).strip()
    if without_unit and without_unit != s:
        s = without_unit
    for dropped in _DROPPED_AFTER_UNITS:
        s = s.replace(dropped, "")
    s = s.replace(" .", " 0.").replace("{.", "{0.").replace("\\cdot", "")
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty").replace("and", "").replace("\\mathbf", "")
    s = _MBOX.sub("", s)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    s = _POINT_ZEROS[1].sub(r"\1", _POINT_ZEROS[0].sub(r"\1\2", s))
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s).replace(" ", "")
    return _slash_fraction(_fracs(s), strict_fractions)


# normalize_final_answer's tables: substitutions, then words and marks dropped (units, list dots, LaTeX spacing).
_SUBSTITUTIONS = (("an ", ""), ("a ", ""), (".$", "$"), ("\\$", ""), ("\\ ", ""), (" ", ""), ("mbox", "text"),
                  (",\\text{and}", ","), ("\\text{and}", ","), ("\\text{m}", "\\text{}"), ("\\le", "<"))
_DROPPED = ("square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots", "sue",
            "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters", "meals",
            "edges", "students", "childrentickets", "multiples", "\\text{s}", "\\text{.}", "\\text{\ns}",
            "\\text{}^2", "\\text{}^3", "\\text{\n}", "\\text{}", "\\mathrm{th}", "^\\circ", "^{\\circ}", "\\;", ",\\!",
            "{,}", '"', "\\dots", "\n", "\r", "\f")
_UNWRAPPED = (re.compile(r"(\\text\{)\((.*?)\)(\})"), re.compile(r"(\\text\{)(.*?)(\})"),
              re.compile(r"(\\textbf\{)(.*?)(\})"), re.compile(r"(\\overline\{)(.*?)(\})"),
              re.compile(r"(\\boxed\{)(.*)(\})"))
_LAST_OF = (re.compile(r"finalansweris(.*)"), re.compile(r"answer?is:?(.*)"), re.compile(r"oxed\{(.*?)\}"),
            re.compile(r"\$(.*?)\$"))


def normalize_final_answer(answer: str) -> str:
    """OpenCompass's `normalize_final_answer`: units and articles dropped, LaTeX wrappers unwrapped, the part after
    "final answer is" / "answer is" / inside `\\boxed{}` / between `$...$` kept, shorthand `\\frac`/`\\sqrt`
    written out, and `100,000` read as `100000`."""
    for before, after in _SUBSTITUTIONS:
        answer = answer.replace(before, after)
    for dropped in _DROPPED:
        answer = answer.replace(dropped, "")
    for pattern in _UNWRAPPED:
        answer = pattern.sub(r"\2", answer)
    for pattern in _LAST_OF:
        found = pattern.findall(answer)
        if found:
            answer = found[-1]
    answer = answer.strip()
    if "rac" in answer and "\\frac" not in answer:
        answer = answer.replace("rac", "\\frac")
    answer = re.sub(r"(frac)([^{])(.)", r"frac{\2}{\3}", answer)
    answer = re.sub(r"(sqrt)([^{])", r"sqrt{\2}", answer).replace("$", "")
    if answer.replace(",", "").isdigit():
        answer = answer.replace(",", "")
    return answer
