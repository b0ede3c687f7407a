"""What a problem family hands the conversation builder: a question, the program that answers it, and how
to turn the program's printed output into the final reply."""
from __future__ import annotations

import builtins
import keyword
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from puyu.core.answers import numbers_in, numbers_match, written_numbers
from puyu.training.data.phrasing import Phraser, clean, phrasebook

_BUILTIN_NAMES = set(dir(builtins))


@dataclass
class PluginForm:
    """The same problem done with a plugin tool: its arguments and how to reply from the tool's result."""

    tool: str
    args: dict
    reply: Callable[[str], str]
    verbatim: str | None = None
    """The expression as the question writes it, where the tool cannot parse that (x²): a call with it fails."""


@dataclass
class Problem:
    family: str
    question: str
    code: str
    expected: Any
    """The value computed independently of the program; the program's output must agree or the item drops."""
    reply: Callable[[str], str]
    """Printed output -> the assistant's final text (it restates the printed value)."""
    numbers: tuple
    """The problem's numbers, for the train/held-out split."""
    var: str | None = None
    """The variable holding the result, for follow-up turns."""
    unit: str = ""
    plugin: PluginForm | None = None

    def answer(self, output: str) -> Any:
        """The expected value as eval checks it, read from what the program printed."""
        if isinstance(self.expected, (int, float)) and not isinstance(self.expected, bool):
            nums = numbers_in(output)
            return float(clean(nums[-1])) if nums else None
        return self.expected


class Names:
    """Variable names of one conversation: each new problem gets names that do not clash with earlier ones,
    so a follow-up turn can still use them."""

    def __init__(self):
        self.used: set[str] = set()

    def fresh(self, base: str) -> str:
        if keyword.iskeyword(base) or base in _BUILTIN_NAMES:
            base += "_value"
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}{n}", n + 1
        self.used.add(name)
        return name


@dataclass
class Ctx:
    """What a family needs to make one problem."""

    rng: random.Random
    lang: str
    ph: Phraser
    names: Names
    split: str = "train"

    def ok_numbers(self, *values) -> bool:
        from puyu.training.data.phrasing import split_of
        return split_of(*values) == self.split


def output_matches(output: str, expected: Any) -> bool:
    """Whether a program's printed output agrees with the value computed independently of it: the last number
    states it (puyu.core.answers.numbers_match, as eval reads replies); a list: the printed numbers, sorted, are
    the expected ones; otherwise the text is printed."""
    if isinstance(expected, bool) or expected is None:
        return expected is None or str(expected) in output
    if isinstance(expected, (int, float)):
        found = written_numbers(output)
        return bool(found) and numbers_match(found[-1][1], float(expected), found[-1][0])
    if isinstance(expected, list):
        found = sorted(written_numbers(output), key=lambda number: number[1])
        return len(found) == len(expected) and all(numbers_match(value, float(want), written) for (written, value), want
                                                   in zip(found, sorted(expected)))
    return str(expected) in output


def printed_value(output: str) -> str:
    """The last printed line as the reply restates it: as printed, but 24.0 is said 24."""
    line = output.strip().splitlines()[-1].strip() if output.strip() else ""
    return line[:-2] if re.fullmatch(r"-?\d+\.0", line) else line


RESULT = phrasebook("common").slots("result")
RESULT_UNIT = phrasebook("common").slots("result_unit")


def say_result(ph: Phraser, lang: str, ans: str, unit: str = "") -> str:
    if unit:
        return ph(RESULT_UNIT[lang], ans=ans, unit=unit).replace(" 。", "。")
    return ph(RESULT[lang], ans=ans)


def reply_number(ph: Phraser, lang: str, unit: str = "") -> Callable[[str], str]:
    return lambda out: say_result(ph, lang, printed_value(out), unit)
