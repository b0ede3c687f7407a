"""Reading numbers out of text and deciding whether a reply states an expected answer.

One rule for the whole project: training's data checks (does a program's output agree with the value computed
independently?) and eval's lenient scoring (does the model's reply state the reference?) both call
`numbers_match` and `answer_matches`. Benchmark-specific readers (GSM8K's "#### 18", option letters) live in
puyu.eval.answers and hand their numbers to this rule.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

NUMBER_PATTERN = r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+"
"""A number as written in text: "-3", "1,234.5", ".5", "2.5e-3"."""
_NUMBER = re.compile(NUMBER_PATTERN)
_NOISE = 1e-9
"""Relative difference that is float noise, not a different number."""


def written_numbers(text: str) -> list[tuple[str, float]]:
    """Every number in `text` as (written, value), in order; commas are dropped ("1,234.5" -> "1234.5")."""
    out = []
    for match in _NUMBER.finditer(text or ""):
        written = match.group().replace(",", "")
        try:
            out.append((written, float(written)))
        except ValueError:  # a lone "1," or ",," run that is no number
            pass
    return out


def numbers_in(text: str) -> list[float]:
    """Every number written in `text` ("1,234.5" counts as one)."""
    return [value for _, value in written_numbers(text)]


def decimals(written: str) -> int:
    """How many decimal places a number is written with: "3.14" 2, "1200" 0, "2.5e-3" 4."""
    try:
        exponent = Decimal(written.replace(",", "")).as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -exponent) if isinstance(exponent, int) else 0


def numbers_match(got: float | None, want: float | None, written: str | None = None) -> bool:
    """Whether `got`, a number read from a reply (written there as `written`), states the expected `want`.

    Accepted: equal up to float noise (relative 1e-9), or, when the reply wrote decimals, `want` rounded to as
    many decimals: within half a unit of the last written place. So 33.3333 is stated by "33.33" and by "33.3",
    3.14159 by "3.14" and "3.1"; a whole number gets no rounding allowance (33.3333 is not stated by "33", 18 is by
    "18" and "18.0"). Without `written` only the float-noise reading applies.
    """
    if got is None or want is None:
        return False
    places = decimals(written) if written else 0
    allowance = 0.5 * 10.0 ** -places if places else 0.0
    return abs(got - want) <= allowance + _NOISE * max(1.0, abs(want))


def states_number(text: str, want: float) -> bool:
    """Whether any number written in `text` states `want` (not only the last one)."""
    return any(numbers_match(value, want, written) for written, value in written_numbers(text))


def answer_matches(reply: str, answer: Any) -> bool:
    """Does a final reply state the expected answer? A number: the reply's last number states it
    (`numbers_match`); a list: every listed value is stated somewhere in the reply; a bool or a string:
    case-insensitive containment; None: anything goes."""
    if answer is None:
        return True
    if isinstance(answer, bool):
        return str(answer).lower() in reply.lower()
    if isinstance(answer, (int, float)):
        found = written_numbers(reply)
        return bool(found) and numbers_match(found[-1][1], float(answer), found[-1][0])
    if isinstance(answer, list):
        return all(states_number(reply, float(a)) if isinstance(a, (int, float)) and not isinstance(a, bool)
                   else answer_matches(reply, a) for a in answer)
    return str(answer).lower() in reply.lower()
