"""Reading answers out of free text: the number a reply gives as its answer (GSM8K, tool tasks) and option
letters (CMMLU). Whether a number is right is puyu.core.answers.numbers_match, the rule training uses too."""
from __future__ import annotations

import re

from puyu.core.answers import NUMBER_PATTERN, written_numbers

# Where a model states its answer explicitly; these win over "the last number in the text".
_MARKED = [re.compile(p, re.IGNORECASE) for p in (
    r"\\boxed\{\s*\$?\s*(" + NUMBER_PATTERN + r")",
    r"####\s*\$?\s*(" + NUMBER_PATTERN + r")",
    r"(?:final answer|the answer is|answer\s*:)\s*(?:is\s*)?[:=]?\s*\**\s*[$€£¥]?\s*(" + NUMBER_PATTERN + r")",
    r"(?:答案|结果)\s*(?:是|为|：|:)\s*[$¥]?\s*(" + NUMBER_PATTERN + r")",
)]


def parse_number(text: str) -> float | None:
    """`text` as a number when it is one (commas, currency signs, % and trailing units ignored), else None."""
    text = str(text).strip().strip("*").strip()
    text = re.sub(r"^[$€£¥]\s*", "", text).replace(",", "").rstrip(".")
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?|-?\.\d+)\s*(?:%|[A-Za-z\u4e00-\u9fff/ .]{0,20})?", text)
    if match is None:
        match = re.fullmatch(r"(-?\d+)\s*/\s*(\d+)", text)  # a plain fraction
        if match is None or int(match.group(2)) == 0:
            return None
        return int(match.group(1)) / int(match.group(2))
    try:
        return float(match.group(1))
    except ValueError:
        return None


def answer_number_text(text: str) -> str | None:
    """The answer number of a free-text reply as written: an explicitly marked one ("The answer is 18",
    "#### 18", "\\boxed{18}", "答案是 18"), else the last number in the text."""
    for pattern in _MARKED:
        found = pattern.findall(text or "")
        if found:
            return found[-1].replace(",", "")
    found = written_numbers(text)
    return found[-1][0] if found else None


def extract_number(text: str) -> float | None:
    found = answer_number_text(text)
    return None if found is None else float(found)


# ---- multiple choice -------------------------------------------------------------------------------------------

def _choice_patterns(letters: str) -> list[re.Pattern]:
    c = f"[{letters}]"
    return [re.compile(p) for p in (
        rf"答案\s*(?:应该|应|可能)?\s*(?:是|为|选|：|:)\s*(?:选项)?\s*[\(（\[【]?\s*({c})(?![A-Za-z])",
        rf"(?i:answer)\s*(?i:is|:)\s*(?i:option\s*)?[\(\[]?\s*({c})(?![A-Za-z])",
        rf"选(?:择|项)?\s*[\(（\[【]?\s*({c})(?![A-Za-z])",
        rf"^\s*[\(（\[【]?\s*({c})\s*(?:[\.\)）\]】:：、,，]|$|\s)",
        rf"({c})\s*(?:项)?\s*(?:是正确|正确|是对|对)",
        rf"(?<![A-Za-z])({c})(?![A-Za-z])",
    )]


def extract_choice(text: str, letters: str = "ABCD", options: list[str] | None = None) -> str | None:
    """The option letter a reply picks: "答案是 B", "Answer: B", "选B", "B. ...", "(B)", else the first standalone
    letter; failing those, the one option whose text the reply quotes. None when nothing can be read."""
    text = (text or "").strip()
    for pattern in _choice_patterns(letters):
        match = pattern.search(text)
        if match:
            return match.group(1).upper()
    if options:
        quoted = [letters[i] for i, o in enumerate(options) if str(o).strip() and str(o).strip() in text]
        if len(quoted) == 1:
            return quoted[0]
    return None
