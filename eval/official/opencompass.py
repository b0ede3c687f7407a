"""OpenCompass's answer rules (open-compass/opencompass, commit a5acc4b): GSM8K (opencompass/datasets/gsm8k.py),
its 0-shot `\\boxed` setting's MATH rule (opencompass/datasets/math.py) and CMMLU's option letter
(opencompass/utils/text_postprocessors.py)."""
from __future__ import annotations

import re

from puyu.eval.official.latex import boxed_content, normalize_final_answer, strip_answer

_GSM8K_NUMBER = re.compile(r"-?\d+\.\d+|-?\d+")


def gsm8k_answer(reply: str) -> str:
    """`gsm8k_postprocess`: the last number of the reply before any "Question:" it goes on to invent, as written
    but for its commas, which split it ("$1,234" reads 234); "NULL" when there is none."""
    numbers = _GSM8K_NUMBER.findall(reply.split("Question:")[0])
    return numbers[-1] if numbers else "NULL"


def gsm8k_reference(solution: str) -> str:
    """`gsm8k_dataset_postprocess`: the text after "#### ", commas removed."""
    return solution.split("#### ")[1].replace(",", "")


def gsm8k_equal(pred: str, ref: str) -> bool:
    """`Gsm8kEvaluator.is_equal`: the same text, or a number within 1e-6 of the integer reference (a reference that
    is not an integer matches only as text)."""
    if pred == ref:
        return True
    try:
        return abs(float(pred) - int(ref)) < 1e-6
    except ValueError:
        return False


def gsm8k_output_equal(output: str, ref: str) -> bool:
    """`Gsm8kAgentEvaluator.soft_equal`: the tool's whole output read as one number (`float()`, so "18\\n" is 18 but
    "x = 18" is no number) within 1e-6 of the reference."""
    try:
        return abs(float(output) - int(ref)) < 1e-6
    except ValueError:
        return False


def first_capital(reply: str) -> str:
    """`first_capital_postprocess`: the first upper-case character of the reply, whatever it is ("" if none)."""
    return next((c for c in reply if c.isupper()), "")


def math_answer(reply: str) -> str:
    """`math_postprocess_v2`: what the last `\\boxed{}` holds; else the first sentence that says "final answer" or
    "answer is", normalized; else the first sentence, normalized."""
    boxed = boxed_content(reply)
    if boxed:
        return boxed
    sentences = reply.split(".")
    said = next((s for s in sentences if re.search("final answer|answer is", s.lower())), sentences[0])
    return normalize_final_answer(said)


def math_equal(pred: str | None, ref: str | None) -> bool:
    """`MATHEvaluator(version="v2").is_equiv`: equal after `strip_answer`, or after normalizing that, or after
    normalizing the raw texts; else only the same text. A step that raises ends its stage, as it does there."""
    if pred is None or ref is None:
        return pred is None and ref is None
    try:
        a, b = strip_answer(pred, strict_fractions=True), strip_answer(ref, strict_fractions=True)
        if a == b or normalize_final_answer(a) == normalize_final_answer(b):
            return True
    except ValueError:
        pass
    try:
        if normalize_final_answer(pred) == normalize_final_answer(ref):
            return True
    except ValueError:
        pass
    return pred == ref
