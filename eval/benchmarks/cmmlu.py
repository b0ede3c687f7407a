"""CMMLU, Chinese multiple-choice knowledge questions in 67 subjects, scored with CircularEval.

Every question is asked four times, its options rotated (ABCD, BCDA, CDAB, DABC: in rotation r the option shown
as letter i is the original option (i + r) mod 4) and the gold letter moved with them. Reported, as OpenCompass
names them: `acc_origin` (accuracy in the original order: plain CMMLU accuracy), `acc_circular` (accuracy over all
four rotations) and `perf_circular` (share of questions right in all four). Prompts are 5-shot, the shots being
the subject's `dev/` questions, in original order, as earlier chat turns.
"""
from __future__ import annotations

import csv
from pathlib import Path

from puyu.eval.answers import extract_choice
from puyu.eval.benchmarks.base import Chat, GenerateBenchmark, Item, LoadOptions, by_subject, mean_percent
from puyu.eval.data import DataMissing, need, pick

LETTERS = "ABCD"
ROTATIONS = 4
SHOTS = 5


def rotate(options: list[str], answer: str, r: int) -> tuple[list[str], str]:
    """The options in rotation `r`, and where the gold answer's letter moved."""
    n = len(options)
    shown = [options[(i + r) % n] for i in range(n)]
    return shown, LETTERS[(LETTERS.index(answer) - r) % n]


def question_text(subject: str, question: str, options: list[str]) -> str:
    lines = [f"以下是关于{subject.replace('_', ' ')}的单项选择题，请直接给出正确答案的选项。", f"题目：{question}"]
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
        right, parsed = [], []
        for r, reply in enumerate(record["outputs"]):
            options, gold = rotate(item.data["options"], item.data["answer"], r)
            choice = extract_choice(reply, LETTERS, options)
            right.append(choice == gold)
            parsed.append(choice is not None)
        return {"acc_origin": float(right[0]), "acc_circular": sum(right) / len(right),
                "perf_circular": float(all(right)), "parse_rate": sum(parsed) / len(parsed)}

    def summarize(self, items, scores):
        return {"n": len(items), **mean_percent(scores),
                "by_subject": by_subject(items, scores, ("acc_origin", "acc_circular", "perf_circular"))}
