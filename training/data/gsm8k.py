"""GSM8K train as program-of-thought conversations.

Each calculator annotation `<<48/2=24>>` becomes one line of a short Python program (`clips = 48 / 2`), numbers
that repeat an earlier step's result become that step's variable, and the program prints the step that equals
GSM8K's `#### answer`. The program really runs; the environment turn holds its output; rows whose annotations are
wrong, or whose program does not print the reference answer, are dropped with a counted reason.
"""
from __future__ import annotations

import ast
import builtins
import json
import keyword
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

from puyu.core.answers import numbers_in, numbers_match, written_numbers
from puyu.core.config import shared_data_dir
from puyu.core.messages import INTERPRETER
from puyu.core.records import Record, Turn
from puyu.training.data.phrasing import THOUGHT, Phraser, clean, phrasebook
from puyu.training.data.runner import Session

_ANNOTATION = re.compile(r"<<([^<>]*)>>")
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Add, ast.Sub, ast.Mult, ast.Div,
            ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd)
_WEAK = {"in", "of", "and", "to", "for", "on", "at", "is", "are", "was", "were", "from", "with", "by", "so", "which",
         "that", "this", "it", "he", "she", "they", "we", "i", "you", "each", "every", "more", "less", "left", "total",
         "altogether", "now", "then", "after", "before", "than", "as", "or", "but", "if", "her", "his", "their"}
_ARTICLES = {"a", "an", "the"}
_RESERVED = set(dir(builtins)) | {"math"}


class Dropped(Exception):
    """Why a row cannot become a faithful conversation (counted in stats.json)."""


@dataclass
class Step:
    expr: ast.expr
    result: float
    result_text: str
    name: str


@dataclass
class Converted:
    question: str
    code: str
    output: str
    answer: float
    """GSM8K's reference answer (`####`)."""
    substituted: bool
    """Whether later steps use earlier steps' variables (False: the literal-number fallback was needed)."""


def gsm8k_path(split: str = "train") -> Path:
    return shared_data_dir() / "gsm8k" / f"{split}.jsonl"


def load(path: str | Path | None = None) -> list[dict]:
    path = Path(path) if path else gsm8k_path()
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def final_answer(answer: str) -> float:
    if "####" not in answer:
        raise Dropped("no_final_answer")
    text = answer.split("####")[-1].strip().replace(",", "").replace("$", "")
    try:
        return float(text)
    except ValueError:
        raise Dropped("final_unparseable") from None


def _name_from(after: str, used: set[str], index: int) -> str:
    """A variable name from the words right after a result ("24 clips in May" -> clips), else step<i>."""
    text = re.split(r"[.,;:!?()\n]", after, maxsplit=1)[0]
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", text) if w.lower() not in _ARTICLES]
    name = ""
    if words and words[0] == "per" and len(words) > 1:
        name = f"per_{words[1]}"
    elif words and words[0] not in _WEAK and len(words[0]) > 2:
        name = words[0]
    if not name or name in used or keyword.iskeyword(name) or name in _RESERVED or not name.isidentifier():
        name = f"step{index}"
        while name in used:
            name += "_"
    used.add(name)
    return name


def parse_steps(answer: str) -> list[Step]:
    """The annotations of a GSM8K solution, checked: each expression must evaluate to its stated result."""
    steps: list[Step] = []
    used: set[str] = set()
    matches = list(_ANNOTATION.finditer(answer))
    if not matches:
        raise Dropped("no_annotations")
    for i, m in enumerate(matches, 1):
        body = m.group(1)
        if body.count("=") != 1:
            raise Dropped("malformed_annotation")
        expr_text, result_text = (s.strip() for s in body.split("="))
        try:
            tree = ast.parse(expr_text.replace("^", "**"), mode="eval")
        except SyntaxError:
            raise Dropped("unparseable_expression") from None
        if not all(isinstance(n, _ALLOWED) for n in ast.walk(tree)) or any(
                isinstance(n, ast.Constant) and not isinstance(n.value, (int, float)) for n in ast.walk(tree)):
            raise Dropped("unparseable_expression")
        try:
            result = float(result_text.replace(",", "").rstrip("%$"))
            value = eval(compile(tree, "<annotation>", "eval"), {"__builtins__": {}})  # numbers and operators only
        except (ValueError, ZeroDivisionError, OverflowError):
            raise Dropped("unparseable_expression") from None
        if not (math.isclose(value, result, rel_tol=1e-6, abs_tol=1e-9) or round(value, 2) == round(result, 2)):
            raise Dropped("annotation_mismatch")
        after = answer[m.end():]
        after = after[len(result_text):] if after.startswith(result_text) else re.sub(r"^\$?[\d,.]*", "", after)
        steps.append(Step(tree.body, result, result_text, _name_from(after, used, i)))
    return steps


class _Substitute(ast.NodeTransformer):
    """Numbers that repeat an earlier step's result (and are not in the question) become its variable."""

    def __init__(self, earlier: list[Step], question_numbers: set[float]):
        self.earlier, self.question_numbers = earlier, question_numbers

    def visit_Constant(self, node):
        if isinstance(node.value, (int, float)) and float(node.value) not in self.question_numbers:
            for step in reversed(self.earlier):
                if math.isclose(step.result, node.value, rel_tol=1e-9, abs_tol=1e-12):
                    return ast.Name(step.name, ast.Load())
        return node


def build_program(question: str, steps: list[Step], final: float, substitute: bool = True) -> str:
    last = max((i for i, s in enumerate(steps) if math.isclose(s.result, final, rel_tol=1e-9, abs_tol=1e-9)),
               default=None)
    if last is None:
        raise Dropped("final_not_computed")
    qnums = set(numbers_in(question))
    lines = []
    for i, step in enumerate(steps[:last + 1]):
        expr = _Substitute(steps[:i], qnums).visit(ast.parse(ast.unparse(step.expr), mode="eval").body) \
            if substitute else step.expr
        lines.append(f"{step.name} = {ast.unparse(expr)}")
    lines.append(f"print({steps[last].name})")
    return "\n".join(lines)


def _noisy_float(output: str) -> bool:
    """12.000000000000002 and 0.30000000000000004: float noise a reply should not repeat."""
    last = output.strip().splitlines()[-1] if output.strip() else ""
    return "." in last and len(last.split(".")[-1]) > 6


def convert(row: dict) -> Converted:
    """One GSM8K row as a checked program; raises Dropped(reason)."""
    final = final_answer(row["answer"])
    steps = parse_steps(row["answer"])
    for substitute in (True, False):
        code = build_program(row["question"], steps, final, substitute)
        run = Session().run(code)
        if run.ok and _noisy_float(run.output):
            head, last_line = code.rsplit("\n", 1)
            code = f"{head}\nprint(round({last_line[len('print('):-1]}, 2))"
            run = Session().run(code)
        if not run.ok:
            raise Dropped(f"program_error:{run.error}")
        printed = written_numbers(run.output)
        if printed and numbers_match(printed[-1][1], final, printed[-1][0]):
            return Converted(row["question"], code, run.output, final, substitute)
    raise Dropped("final_mismatch")


FINAL = phrasebook("gsm8k").table("final")


def conversation(conv: Converted, rng: random.Random, split: str = "train", index: int | None = None) -> Record:
    ph = Phraser(rng)
    thought = ph(THOUGHT["en"])
    ans = clean(float(conv.output.strip().splitlines()[-1])) if conv.output.strip() else clean(conv.answer)
    turns = [Turn("user", conv.question),
             Turn("assistant", thought, tool_call={"name": INTERPRETER, "arguments": {"code": conv.code}}, loss=True),
             Turn("environment", conv.output, name="interpreter"),
             Turn("assistant", rng.choice(FINAL["en"]).format(ans=ans), loss=True)]
    meta = {"family": "gsm8k", "category": "gsm8k", "lang": "en", "split": split, "parts": sorted(set(ph.used)),
            "unseen_phrasing": False, "answer": float(clean(conv.answer)), "expect_tool": INTERPRETER,
            "substituted": conv.substituted}
    if index is not None:
        meta["gsm8k_index"] = index
    rec = Record(turns, [], True, meta)
    rec.validate()
    return rec
