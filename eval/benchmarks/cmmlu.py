"""CMMLU, Chinese multiple-choice knowledge questions in 67 subjects, scored with CircularEval.

The setting is OpenCompass's `cmmlu_gen` (opencompass/configs/datasets/cmmlu/cmmlu_gen_c13365.py, what `cmmlu_gen`
named from 2023 to March 2025): 5-shot, the shots being the subject's first five `dev/` questions, in original order,
as earlier chat turns; the subject written in Chinese (`以下是关于农学的单项选择题`, names in cmmlu_subjects.yaml); the
reply's first capital letter is its answer (`first_capital_postprocess`).

Every question is asked four times, its options rotated (ABCD, BCDA, CDAB, DABC: in rotation r the option shown
as letter i is the original option (i + r) mod 4) and the gold letter moved with them (OpenCompass's CircularEval).
Reported, as OpenCompass names them: `acc_origin` (accuracy in the original order: plain CMMLU accuracy, the
headline), `acc_circular` (accuracy over all four rotations) and `perf_circular` (share of questions right in all
four). puyu's reading of the same replies (puyu.eval.answers.extract_choice: "答案是 B", "The answer is B", the one
option quoted) gives the `_lenient` columns.
"""
from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from puyu.eval.answers import extract_choice
from puyu.eval.benchmarks.base import Chat, GenerateBenchmark, Item, LoadOptions, Parity, by_subject, mean_percent
from puyu.eval.data import DataMissing, need, pick
from puyu.eval.official.opencompass import first_capital

LETTERS = "ABCD"
ROTATIONS = 4
SHOTS = 5


def rotate(options: list[str], answer: str, r: int) -> tuple[list[str], str]:
    """The options in rotation `r`, and where the gold answer's letter moved."""
    n = len(options)
    shown = [options[(i + r) % n] for i in range(n)]
    return shown, LETTERS[(LETTERS.index(answer) - r) % n]


@cache
def chinese_names() -> dict[str, str]:
    """Subject folder name -> the Chinese name OpenCompass's prompt uses."""
    return yaml.safe_load(resources.files("puyu.eval.benchmarks").joinpath("cmmlu_subjects.yaml").read_text("utf-8"))


def question_text(subject: str, question: str, options: list[str]) -> str:
    name = chinese_names().get(subject, subject.replace("_", " "))  # a subject added to the data after the table
    lines = [f"以下是关于{name}的单项选择题，请直接给出正确答案的选项。", f"题目：{question}"]
    lines += [f"{letter}. {option}" for letter, option in zip(LETTERS, options)]
    return "\n".join(lines)


def answer_text(letter: str) -> str:
    return f"答案是: {letter}"


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for n, row in enumerate(rows, 2):
        if row.get("Answer", "").strip() not in LETTERS or any(row.get(k) is None for k in ("Question", *LETTERS)):
            raise ValueError(f"{path}:{n}: expected columns Question,A,B,C,D,Answer with Answer in A-D")
    return rows


class CMMLU(GenerateBenchmark):
    name = "cmmlu"
    main_metric = "acc_origin"
    max_new_tokens = 64

    def parity(self) -> Parity:
        return Parity(scorer="OpenCompass first_capital_postprocess + CircularEvaluator",
                      setting="OpenCompass cmmlu_gen (5-shot from dev/, Chinese subject names)", comparable=True,
                      published="OpenCompass-reported CMMLU (gen) numbers; none are in the shared data",
                      lenient="acc_origin_lenient",
                      lenient_reading="the letter the reply states (答案是 B, The answer is B), not its first capital")

    def subjects(self, root: Path) -> list[str]:
        folder = need(root / "cmmlu" / "test", "the CMMLU test folder")
        return sorted(p.stem for p in folder.glob("*.csv"))

    def load(self, root: Path, opts: LoadOptions) -> list[Item]:
        known = self.subjects(root)
        wanted = opts.subjects or known
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise DataMissing(f"unknown CMMLU subject(s) {', '.join(unknown)}; the subjects are: {', '.join(known)}")
        items = []
        for subject in wanted:
            dev = read_csv(need(root / "cmmlu" / "dev" / f"{subject}.csv", f"the CMMLU dev set of {subject}"))
            shots = [(r["Question"], [r[k] for k in LETTERS], r["Answer"].strip()) for r in dev[:SHOTS]]
            for n, row in enumerate(read_csv(root / "cmmlu" / "test" / f"{subject}.csv")):
                items.append(Item(f"{subject}/{n}", {
                    "question": row["Question"], "options": [row[k] for k in LETTERS],
                    "answer": row["Answer"].strip(), "shots": shots}, subject=subject))
        return pick(items, opts.limit, opts.seed)

    def chats(self, item: Item) -> list[Chat]:
        shots: list[dict] = []
        for question, options, answer in item.data["shots"]:
            shots += [{"role": "user", "content": question_text(item.subject, question, options)},
                      {"role": "assistant", "content": answer_text(answer)}]
        chats = []
        for r in range(ROTATIONS):
            options, _ = rotate(item.data["options"], item.data["answer"], r)
            chats.append(shots + [{"role": "user",
                                   "content": question_text(item.subject, item.data["question"], options)}])
        return chats

    def score(self, item: Item, record: dict) -> dict[str, float | None]:
        right, lenient, parsed = [], [], []
        for r, reply in enumerate(record["outputs"]):
            options, gold = rotate(item.data["options"], item.data["answer"], r)
            choice = first_capital(reply)
            right.append(choice == gold)
            parsed.append(choice in LETTERS and choice != "")
            lenient.append(extract_choice(reply, LETTERS, options) == gold)
        return {"acc_origin": float(right[0]), "acc_circular": sum(right) / len(right),
                "perf_circular": float(all(right)), "parse_rate": sum(parsed) / len(parsed),
                "acc_origin_lenient": float(lenient[0]), "acc_circular_lenient": sum(lenient) / len(lenient),
                "perf_circular_lenient": float(all(lenient))}

    def summarize(self, items, scores):
        return {"n": len(items), **mean_percent(scores),
                "by_subject": by_subject(items, scores, ("acc_origin", "acc_circular", "perf_circular"))}
