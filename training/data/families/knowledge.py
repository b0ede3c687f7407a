"""knowledge_search conversations: a small knowledge base of generated documents per split (facts drawn at
random, so held-out documents say other things), questions about them, and replies that quote the passage and
its citation. Every passage comes from really searching the base; items whose search misses are dropped."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from puyu.training.data.phrasing import Parts


@dataclass
class Fact:
    doc: str
    key: str
    value: str
    query: str
    """What the assistant searches for."""

    @property
    def lang(self) -> str:
        return "en" if re.match(r"[\x00-\x7f]+$", self.doc) else "zh"


def _docs(rng: random.Random) -> tuple[dict[str, str], list[Fact]]:
    """Documents (file name -> text) and the facts they hold."""
    v = {"vacation": rng.randint(10, 25), "remote": rng.randint(2, 4), "open": f"{rng.randint(7, 9)}:30",
         "battery": rng.randint(6, 30), "warranty": rng.randint(2, 5), "reset": rng.choice([5, 8, 10, 15]),
         "meal": rng.choice([30, 40, 50, 60]), "loan": rng.choice([14, 21, 28, 30]), "fine": rng.choice([0.1, 0.2, 0.5]),
         "nianjia": rng.randint(5, 20), "baoxiao": rng.choice([15, 30, 60]), "xuhang": rng.randint(8, 48),
         "baoxiu": rng.randint(1, 3), "yajin": rng.randint(1, 3), "zujin": rng.randrange(1500, 9000, 100)}
    product = rng.choice(["X200 speaker", "Aero headphones", "Nova lamp", "Pulse watch"])
    docs = {
        "employee_handbook.md": f"# Employee handbook\n\nFull-time employees get {v['vacation']} vacation days per year.\n"
                                f"You may work from home up to {v['remote']} days a week.\n"
                                f"The office opens at {v['open']} on weekdays.\n",
        "manual.md": f"# {product} manual\n\nBattery life: up to {v['battery']} hours.\n"
                     f"Warranty: {v['warranty']} years from purchase.\n"
                     f"To reset, hold the power button for {v['reset']} seconds.\n",
        "travel_policy.txt": f"Travel policy\n\nThe daily meal allowance is {v['meal']} dollars.\n"
                             "Book economy class for flights under six hours.\n",
        "library_rules.md": f"# Library rules\n\nBooks can be borrowed for {v['loan']} days.\n"
                            f"The late fee is {v['fine']} dollars per day.\n",
        "员工手册.md": f"# 员工手册\n\n正式员工每年有 {v['nianjia']} 天年假。\n出差报销需在 {v['baoxiao']} 天内提交发票。\n",
        "产品说明书.txt": f"产品说明书\n\n充满电后续航约 {v['xuhang']} 小时。\n整机保修 {v['baoxiu']} 年。\n",
        "租房合同.md": f"# 租房合同\n\n月租金为 {v['zujin']} 元。\n押金为 {v['yajin']} 个月租金。\n",
    }
    facts = [
        Fact("employee_handbook.md", "vacation", str(v["vacation"]), "vacation days per year"),
        Fact("employee_handbook.md", "remote", str(v["remote"]), "work from home days"),
        Fact("employee_handbook.md", "open", v["open"], "office opening time"),
        Fact("manual.md", "battery", str(v["battery"]), "battery life"),
        Fact("manual.md", "warranty", str(v["warranty"]), "warranty years"),
        Fact("manual.md", "reset", str(v["reset"]), "how to reset"),
        Fact("travel_policy.txt", "meal", str(v["meal"]), "daily meal allowance"),
        Fact("library_rules.md", "loan", str(v["loan"]), "how long can books be borrowed"),
        Fact("library_rules.md", "fine", str(v["fine"]), "late fee per day"),
        Fact("员工手册.md", "nianjia", str(v["nianjia"]), "年假 天数"),
        Fact("员工手册.md", "baoxiao", str(v["baoxiao"]), "报销 发票 期限"),
        Fact("产品说明书.txt", "xuhang", str(v["xuhang"]), "续航 时间"),
        Fact("产品说明书.txt", "baoxiu", str(v["baoxiu"]), "保修 年限"),
        Fact("租房合同.md", "zujin", str(v["zujin"]), "月租金"),
        Fact("租房合同.md", "yajin", str(v["yajin"]), "押金"),
    ]
    return docs, facts


ASK = {
    "vacation": ("How many vacation days do we get per year?", "我们每年有多少天假期？", "What's our yearly vacation allowance?"),
    "remote": ("How many days a week can I work from home?", "每周可以在家办公几天？", "What does the handbook say about remote days?"),
    "open": ("What time does the office open?", "办公室几点开门？", "When do the office doors open in the morning?"),
    "battery": ("How long does the battery last?", "电池能用多久？", "What's the battery life of the device?"),
    "warranty": ("How long is the warranty?", "保修期是多久？", "For how many years is it under warranty?"),
    "reset": ("How do I reset the device?", "怎么重置这个设备？", "What are the reset steps?"),
    "meal": ("What is the daily meal allowance when travelling?", "出差每天的餐补是多少？", "How much can I spend on meals per day on a trip?"),
    "loan": ("How long can I borrow a book?", "书可以借多久？", "What's the loan period for library books?"),
    "fine": ("What is the late fee?", "逾期还书罚多少钱？", "How much is charged per day for late books?"),
    "nianjia": ("How many days of annual leave do regular staff get?", "正式员工有几天年假？", "年假一年有几天？"),
    "baoxiao": ("How soon must travel receipts be submitted?", "出差报销要在多少天内交发票？", "报销发票的期限是多久？"),
    "xuhang": ("How long does it run on a full charge?", "充满电能用多长时间？", "续航时间是多少？"),
    "baoxiu": ("How many years of warranty does the product have?", "产品保修几年？", "整机保修多长时间？"),
    "zujin": ("How much is the monthly rent?", "月租金是多少？", "每个月房租多少钱？"),
    "yajin": ("How many months of deposit are required?", "押金是几个月的租金？", "要交多少押金？"),
}
# Questions are asked in the document's language; the third phrasing is held out.
QUESTION = {k: Parts(f"kb.{k}", ["According to my documents, " + q[0][0].lower() + q[0][1:], q[0]]
                     if re.match(r"[A-Za-z]", q[2]) else [q[1], "根据我的文档，" + q[1]], [q[2]])
            for k, q in ASK.items()}
REPLY = {"en": ["According to [{doc}]: {sentence}", "{sentence} [{doc}]", "Your documents say: {sentence} [{doc}]"],
         "zh": ["根据 [{doc}]：{sentence}", "{sentence}[{doc}]", "文档中写道：{sentence}[{doc}]"]}


class KnowledgeBase:
    """A knowledge-base folder per split (`<root>/<split>`), built with puyu's own RAG store: real
    embeddings, real search. Held-out documents state other facts than the training ones."""

    def __init__(self, root: Path, scratch: Path):
        from puyu.tools.rag.store import KnowledgeBases
        self.root, self.facts = root, {}
        for split in ("train", "heldout"):
            docs, facts = _docs(random.Random(f"kb:{split}"))
            kb = KnowledgeBases(root / split).create("docs")
            for name, text in docs.items():
                path = scratch / split / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, "utf-8")
                kb.add_file(path)
            self.facts[split] = facts


def sentence_with(passages: str, doc: str, value: str) -> str | None:
    """The line of `doc`'s passage that states `value`, if the search returned that passage."""
    m = re.search(rf"^\[{re.escape(doc)}\] \(score[^\n]*\n(.*?)(?=\n\n\[|\Z)", passages, re.DOTALL | re.MULTILINE)
    if not m:
        return None
    for line in m.group(1).splitlines():
        if not line.startswith("#") and re.search(rf"(?<![\d.]){re.escape(value)}(?!\d|\.\d)", line):
            return line.strip()
    return None
