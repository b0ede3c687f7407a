"""knowledge_search conversations: a small knowledge base of generated documents per split (facts drawn at
random, so held-out documents say other things), questions about them, and replies that quote the passage and
its citation. Every passage comes from really searching the base; items whose search misses are dropped."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from training.data.phrasing import Parts


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
# Extra training phrasings per fact (in the fact's language), so the model learns the fact, not one sentence.
MORE_ASKS = {
    "vacation": ["How much paid time off do full-time staff get each year?",
                 "Check the employee handbook: how many vacation days a year?",
                 "Look up our annual holiday entitlement.",
                 "How many days of vacation am I entitled to per year?",
                 "Search my files for the number of vacation days per year.",
                 "How many days off do employees get annually?",
                 "Per the employee handbook, how much holiday do we get a year?",
                 "What's the vacation policy: how many days per year?",
                 "As a full-time employee, how many vacation days can I take a year?"],
    "remote": ["How often am I allowed to work remotely each week?",
               "What's the work-from-home policy in the handbook?",
               "Look up how many home-office days we get per week.",
               "Check my files: what's the weekly limit for working from home?",
               "Up to how many days a week may staff work from home?",
               "How many remote working days are allowed per week?",
               "Can I work from home every day, or is there a limit per week?",
               "Find the rule on working from home in my documents.",
               "What's the maximum number of WFH days a week?"],
    "open": ["What are the office opening hours on weekdays?",
             "Look up when the office opens.",
             "At what time does the office open during the week?",
             "Check my documents for the office's opening time.",
             "How early can I get into the office on a weekday?",
             "What time does the workplace open Monday to Friday?",
             "What's the opening time of the office on weekdays?",
             "Search the handbook for the weekday opening time.",
             "What time do we open on weekdays, per the handbook?"],
    "battery": ["How many hours will the battery run?",
                "Look up the battery runtime in the manual.",
                "Check the manual: how long does a charge last?",
                "What battery runtime does the manual promise?",
                "How many hours can I use it before the battery runs out?",
                "Find the battery life figure in my documents.",
                "How long will it go on one battery charge?",
                "Up to how many hours does the battery hold out?"],
    "warranty": ["What's the warranty period?",
                 "How many years does the warranty cover?",
                 "Look up the warranty length in the manual.",
                 "Check my files: how long is it guaranteed for?",
                 "How long am I covered by the warranty after purchase?",
                 "What does the manual say about the warranty?",
                 "When does the warranty run out after I buy it?",
                 "How long is the guarantee on this product?",
                 "Search my documents for the warranty term."],
    "reset": ["How can I reset it?",
              "What's the way to reset this gadget?",
              "Look up how to reset the device in the manual.",
              "How long do I hold the power button to reset it?",
              "Check the manual for resetting instructions.",
              "My device is frozen; how do I reset it?",
              "What does the manual say about resetting?",
              "Find the reset instructions in my documents.",
              "Tell me how to do a reset, according to the manual."],
    "meal": ["What's the per diem for food on business trips?",
             "Look up the daily food allowance in the travel policy.",
             "How much meal money do we get per day when travelling?",
             "Check my files: what's the meal budget per day on trips?",
             "What does the travel policy allow for meals each day?",
             "How many dollars a day can I claim for meals while travelling?",
             "What's the daily limit for food expenses on a business trip?",
             "Find the meal allowance in my documents."],
    "loan": ["How many days can I keep a library book?",
             "Look up how long books can be borrowed.",
             "How many days are books lent out for?",
             "Check the library rules: when do borrowed books have to come back?",
             "For how many days may I check out a book?",
             "How long is a book loan, according to the library rules?",
             "Search my documents for the book borrowing time.",
             "How long do I get to return a borrowed book?"],
    "fine": ["What's the fine for overdue books?",
             "Look up the late fee in the library rules.",
             "How much do I pay if I return a book late?",
             "Check my files: what's the overdue charge per day?",
             "What penalty do I get for each day a book is late?",
             "How much is the daily late fine at the library?",
             "If a book is overdue, what does it cost per day?",
             "Find the late return fee in my documents."],
    "nianjia": ["正式员工的年假是多少天？", "查一下员工手册里的年假规定", "转正以后每年能休几天年休假？", "我们公司带薪年假有几天？",
                "帮我在文档里找找年假天数", "员工手册上说正式员工每年有多少天假？", "一年能请多少天年假？",
                "看看我的文件，年假额度是多少天？"],
    "baoxiao": ["出差回来多少天内要交报销发票？", "查一下出差报销的截止时间", "员工手册规定报销要在几天内提交？",
                "差旅发票最晚多少天内交？", "帮我在文档里查查报销发票的提交时限", "出差的票据要在几天之内交上去报销？",
                "报销超过多少天就不能交发票了？", "手册里对出差报销的时间要求是什么？"],
    "xuhang": ["充一次电能用几个小时？", "查一下说明书里的续航", "电池满电能撑多久？", "这个产品续航有多长？",
               "帮我在文档里找找满电续航小时数", "说明书上写的续航大概多少小时？", "电量充满后可以连续使用多久？",
               "一次充满能坚持多少个小时？"],
    "baoxiu": ["这个产品的保修期有几年？", "查一下说明书里的保修年限", "买了以后能保修多少年？", "质保是几年？",
               "帮我在文件里找找保修政策，保几年？", "说明书上写的保修期限是多久？", "坏了的话几年内可以免费修？",
               "产品的质保年限是多少？"],
    "zujin": ["合同里写的月租是多少？", "查一下租房合同的租金", "一个月要交多少租金？", "帮我在文档里找一下月租金额",
              "按合同，我每月付多少房租？", "租这套房子一个月多少钱？", "租金按月算是多少？", "月租定的是多少？"],
    "yajin": ["押金是按几个月租金算的？", "查一下合同里的押金规定", "租房押几个月？", "押金要付几个月的房租？",
              "帮我在文件里找找押金是多少个月", "合同上写的押金是几个月租金？", "签约时押金收几个月？", "租房合同里押金条款怎么写的？"],
}
# Questions are asked in the document's language; the third phrasing is held out.
QUESTION = {k: Parts(f"kb.{k}", (["According to my documents, " + q[0][0].lower() + q[0][1:], q[0]]
                                 if re.match(r"[A-Za-z]", q[2]) else [q[1], "根据我的文档，" + q[1]])
                     + MORE_ASKS[k], [q[2]])
            for k, q in ASK.items()}
REPLY = {"en": ["According to [{doc}]: {sentence}", "{sentence} [{doc}]", "Your documents say: {sentence} [{doc}]"],
         "zh": ["根据 [{doc}]：{sentence}", "{sentence}[{doc}]", "文档中写道：{sentence}[{doc}]"]}


class KnowledgeBase:
    """A knowledge-base folder per split (`<root>/<split>`), built with puyu's own RAG store: real
    embeddings, real search. Held-out documents state other facts than the training ones."""

    def __init__(self, root: Path, scratch: Path):
        from tools.rag.store import KnowledgeBases
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
