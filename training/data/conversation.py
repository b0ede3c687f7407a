"""Build conversations turn by turn from problems: every program really runs in the conversation's session and
the environment turn holds what it printed. Single questions, follow-ups that reuse earlier variables, and
recovery after a program error."""
from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, field

from puyu.training.data.families.base import Ctx, Names, Problem, output_matches, reply_number
from puyu.training.data.phrasing import THOUGHT, Parts, Phraser, clean, noisy
from puyu.training.data.runner import Run, Session
from puyu.training.data.schema import Record, Turn

from puyu.core.messages import INTERPRETER


class Drop(Exception):
    """The item cannot be built faithfully; the reason is counted in stats.json."""


@dataclass
class Dialog:
    """One conversation under construction."""

    rng: random.Random
    lang: str
    split: str = "train"
    unseen: bool = False
    turns: list[Turn] = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.ph = Phraser(self.rng, self.unseen)
        self.names = Names()
        self.session = Session()
        self.answers: list = []

    def ctx(self) -> Ctx:
        return Ctx(self.rng, self.lang, self.ph, self.names, self.split)

    def user(self, text: str) -> None:
        self.turns.append(Turn("user", text))

    def say(self, text: str) -> None:
        self.turns.append(Turn("assistant", text, loss=True))

    def python(self, code: str, thought: str | None = None) -> Run:
        thought = self.ph(THOUGHT[self.lang]) if thought is None else thought
        self.turns.append(Turn("assistant", thought, tool_call={"name": INTERPRETER, "arguments": {"code": code}},
                               loss=True))
        run = self.session.run(code)
        self.turns.append(Turn("environment", run.output, name="interpreter"))
        return run

    def plugin(self, name: str, arguments: dict, output: str, thought: str = "") -> None:
        self.turns.append(Turn("assistant", thought, tool_call={"name": name, "arguments": arguments}, loss=True))
        self.turns.append(Turn("environment", output, name="plugin"))

    def solve(self, p: Problem, code: str | None = None) -> str:
        """Run the problem's program, check it against the independent answer, reply from its output."""
        run = self.python(code or p.code)
        if not run.ok:
            raise Drop(f"program_error:{run.error}")
        if not output_matches(run.output, p.expected):
            raise Drop("program_disagrees_with_expected")
        self.say(p.reply(run.output))
        self.answers.append(p.answer(run.output))
        return run.output

    def record(self, family: str, category: str, **meta) -> Record:
        m = {"family": family, "category": category, "lang": self.lang, "split": self.split,
             "parts": sorted(set(self.ph.used)), "unseen_phrasing": self.unseen and self.ph.used_heldout}
        if self.answers:
            m["answer"] = self.answers[-1]
            if len(self.answers) > 1:
                m["answers"] = self.answers
        m.update(meta)
        if self.split == "train":  # the app's language setting need not be the user's: mix the system prompts
            other = {"en": "zh", "zh": "en"}[self.lang]
            m["prompt_lang"] = other if self.rng.random() < (0.35 if self.lang == "zh" else 0.1) else self.lang
        rec = Record(self.turns, self.tools, True, m)
        rec.validate()
        return rec


# ---- follow-ups that reuse an earlier variable -----------------------------------------------------------

FOLLOW = {
    ("mul2", "en"): Parts("follow.mul2.en", ["Now double it.", "What's twice that?", "double that", "And times 2?",
                                              "Multiply the result by 2.", "now double it pls",
                                              "Double that, please.", "Multiply it by 2.",
                                              "Two times the result, please.", "Twice the answer is?",
                                              "Give me double that number.", "Now x2 it.",
                                              "How much is it times two?", "Double the previous answer.",
                                              "Take the result and multiply it by two.", "And double that one?",
                                              "Okay, now two times that.", "What's 2 times what you got?",
                                              "Double this number for me.",
                                              "Can you double the figure you just gave me?",
                                              "Twice as much would be?",
                                              "If that amount doubles, what's the new amount?",
                                              "Give me 2 × the last figure.", "Times it by two.",
                                              "What would two lots of that come to?", "Increase that by 100 percent.",
                                              "Quick one: double the number you just found.",
                                              "If I had a pair of those, what's the total?",
                                              "Doubled, your answer comes to how much?",
                                              "The outcome multiplied by 2 equals?"],
                          ["Make it twice as big.", "What if it were doubled?"]),
    ("mul2", "zh"): Parts("follow.mul2.zh", ["再乘以2", "翻一倍是多少？", "结果乘以 2", "两倍是多少？",
                                              "把结果乘以二", "它乘 2 等于多少？", "刚才的答案乘以2呢？",
                                              "这个数的两倍是多少？", "再乘个 2", "上面的结果 ×2 是多少？",
                                              "这个结果加倍是多少？", "结果的2倍呢？", "用这个结果乘以 2",
                                              "它的二倍是多少？", "那两倍呢？", "帮我把刚才的结果乘 2",
                                              "要是翻一番，得数会是多少？", "上一步的结果再翻番呢？",
                                              "这个值扩大到原来的 2 倍是多少？", "刚算出来的数乘二等于几？",
                                              "你给的答案增加一倍是多少？", "两个这么多是多少？",
                                              "那个得数的双倍是多少？", "前面那个数乘以 2 得几？",
                                              "将该数乘以2，结果是？", "再来个乘 2", "两份这样的量合起来有多少？"],
                          ["把它翻倍呢？"]),
    ("mul", "en"): Parts("follow.mul.en", ["Multiply that by {k}.", "Now times {k}.", "What if I multiply it by {k}?",
                                            "and {k} times that?",
                                            "Multiply the result by {k}.", "What's {k} times that?",
                                            "Take that times {k}.", "Now multiply the answer by {k}, please.",
                                            "{k} times the result is what?", "How much is it multiplied by {k}?",
                                            "Times {k}, please.", "Okay, multiply what you got by {k}.",
                                            "Give me the previous answer times {k}.",
                                            "If I had {k} of those, what would the total be?",
                                            "And that number times {k}?", "Multiply this number by {k}.",
                                            "What's the last value multiplied by {k}?",
                                            "Multiply the figure you just got by {k}.", "What's {k} lots of that?",
                                            "{k}x that amount is how much?", "Grow it {k}-fold.",
                                            "If that's the cost of one, what do {k} cost?",
                                            "Buying {k} at that price, what's the bill?",
                                            "Repeat that amount {k} times over - what's the total?",
                                            "Work out the product of that and {k}.",
                                            "What do you get when the outcome is multiplied by {k}?",
                                            "If each month costs that much, what do {k} months come to?",
                                            "Times it by {k}, then tell me the number."],
                         ["Scale that up by a factor of {k}."]),
    ("mul", "zh"): Parts("follow.mul.zh", ["再乘以 {k}", "结果乘 {k} 是多少？", "它的 {k} 倍呢？",
                                            "把它乘以 {k}", "这个结果乘 {k} 等于多少？", "刚才的答案乘以 {k} 呢？",
                                            "上面的结果 ×{k} 是多少？", "再乘上 {k} 看看", "用这个数乘以 {k}",
                                            "结果的 {k} 倍是多少？", "乘以 {k} 之后是多少？", "那再乘 {k} 呢？",
                                            "它乘 {k} 得多少？", "帮我把刚才的结果乘 {k}",
                                            "{k} 个这么多一共多少？", "如果一件是这个价，买 {k} 件要多少钱？",
                                            "得数乘以 {k} 等于几？", "上一步的结果变成原来的 {k} 倍是多少？",
                                            "按这个数算，{k} 个月一共是多少？", "乘个 {k} 看看是多少",
                                            "你算出来的数再乘 {k}", "{k} 乘以刚才那个数等于几？",
                                            "拿这个得数去乘 {k}", "前面的答案 × {k} 得多少？",
                                            "求该数与 {k} 的乘积。"],
                         ["把结果放大 {k} 倍。"]),
    ("div", "en"): Parts("follow.div.en", ["Divide that by {k}.", "Now divide it by {k}.", "What is that over {k}?",
                                            "split it into {k} equal parts - how much each?",
                                            "Divide the result by {k}.", "What's that divided by {k}?",
                                            "How much is it when divided by {k}?",
                                            "Take the result and divide by {k}.",
                                            "If that amount is spread evenly over {k} people, how much does each get?",
                                            "Divide what you got by {k}.", "Now divide this number by {k}, please.",
                                            "What do I get dividing it by {k}?",
                                            "{k} people split it equally; what does each person get?",
                                            "Divide the previous answer by {k}.", "And the result divided by {k}?",
                                            "Give me that divided by {k}.",
                                            "Share that among {k} friends - how much per head?",
                                            "What's the quotient of that and {k}?",
                                            "If we pay it in {k} equal installments, how much is each payment?",
                                            "Spread over {k} months, what's the monthly amount?",
                                            "What's 1/{k} of the figure you got?",
                                            "If that's the total for {k} servings, how much is one serving?",
                                            "Each of {k} even pieces of the answer would be how big?",
                                            "Divvy it up {k} ways.",
                                            "How much per head if {k} of us chip in equally?",
                                            "That amount over {k} weeks comes to how much a week?",
                                            "How much does each of {k} kids get if they share the outcome fairly?"],
                         ["Cut that into {k} equal shares."]),
    ("div", "zh"): Parts("follow.div.zh", ["再除以 {k}", "结果除以 {k} 呢？", "平均分成 {k} 份，每份多少？",
                                            "把它除以 {k}", "这个结果除以 {k} 等于多少？", "刚才的答案除以 {k} 呢？",
                                            "那除以 {k} 呢？", "上面的结果 ÷{k} 是多少？", "分给 {k} 个人，每人分到多少？",
                                            "用这个数除以 {k}", "它除以 {k} 得多少？", "如果平摊给 {k} 个人，每人是多少？",
                                            "帮我把刚才的结果除以 {k}", "除以 {k} 以后是多少？",
                                            "{k} 个人 AA，每人付多少？", "分 {k} 期付款，每期多少钱？",
                                            "这个数的 {k} 分之一是多少？", "得数被 {k} 除，商是多少？",
                                            "按 {k} 个月均摊，每月多少？", "一共 {k} 个人，人均多少？",
                                            "上一步的结果均分给 {k} 个小组，每组多少？",
                                            "你算出来的数除以 {k} 等于几？", "{k} 个人平分这些，每人能拿到多少？",
                                            "拿得数除以 {k}", "求它和 {k} 的商。"],
                         ["把它 {k} 等分，每份是多少？"]),
    ("add", "en"): Parts("follow.add.en", ["Add {k} to that.", "Plus {k}?", "Now add {k}.", "What do I get if I add {k}?",
                                            "and add {k}",
                                            "Increase it by {k}.", "What's that plus {k}?", "Add {k} to the result.",
                                            "{k} more than that is?", "And if I add another {k}?", "Bump it up by {k}.",
                                            "The answer plus {k}, please.", "Add {k} to what you got.",
                                            "What would it be with {k} more?",
                                            "If I get {k} more, what's the new total?", "Now add {k} to this number.",
                                            "Sum of that and {k}?", "Let's add {k} to the previous answer.",
                                            "Throw in another {k}; what's it now?", "Raise that figure by {k}.",
                                            "If the price goes up by {k}, what's the new price?",
                                            "Put {k} on top of the result.",
                                            "After I deposit {k} more, what's the balance?", "Top it up with {k}.",
                                            "Add on an extra {k}, please.",
                                            "With a {k} surcharge added, what's the total?",
                                            "The outcome increased by {k} equals?",
                                            "Go up {k} from there; where do we land?",
                                            "What's {k} added to your answer?"],
                         ["Tack {k} onto that."]),
    ("add", "zh"): Parts("follow.add.zh", ["再加上 {k}", "加 {k} 是多少？", "结果加 {k} 呢？",
                                            "它加上 {k} 是多少？", "把结果加 {k}", "刚才的答案再加 {k} 呢？",
                                            "上面的结果加上 {k} 等于多少？", "再多 {k} 呢？", "这个数加 {k} 得多少？",
                                            "如果再加 {k}，一共多少？", "给它加上 {k}", "加上 {k} 以后是多少？",
                                            "那再加 {k} 呢？", "结果增加 {k} 是多少？",
                                            "再涨 {k} 是多少？", "往上加 {k}", "又存进去 {k}，现在余额多少？",
                                            "外加 {k} 的运费，总共多少？", "得数再多出 {k} 是几？",
                                            "给刚算出的数添上 {k}", "上调 {k} 以后变成多少？",
                                            "比这个数多 {k} 的是多少？", "你给的结果加 {k} 等于几？",
                                            "再补 {k} 进去，合计多少？", "上一步结果与 {k} 的和是多少？"],
                         ["在此基础上加 {k}。"]),
    ("sub", "en"): Parts("follow.sub.en", ["Subtract {k} from it.", "Now take away {k}.", "minus {k}?",
                                            "What if I subtract {k}?",
                                            "What's that minus {k}?", "Subtract {k} from the result.",
                                            "Reduce it by {k}.",
                                            "Lower that by {k}.", "{k} less than that is?", "The answer minus {k}?",
                                            "If I remove {k}, what's left?", "If I spend {k} of it, how much remains?",
                                            "Decrease the result by {k}.", "Deduct {k} from what you got.",
                                            "Subtract {k} from this number.", "Now the previous answer minus {k}.",
                                            "And with {k} fewer?",
                                            "With a {k} coupon applied, what do I pay?",
                                            "If I withdraw {k}, what's the remaining balance?",
                                            "It drops by {k}; what's the new value?", "Cut the result down by {k}.",
                                            "Give away {k} - how many are left?",
                                            "After paying {k} of it back, how much do I still owe?",
                                            "What remains once {k} is taken out?", "Go down {k} from that.",
                                            "Your answer less {k}?", "If it falls by {k}, where does it end up?",
                                            "If I lose {k} of them, how many remain?"],
                         ["Knock {k} off that."]),
    ("sub", "zh"): Parts("follow.sub.zh", ["再减去 {k}", "减 {k} 之后是多少？", "结果减掉 {k} 呢？",
                                            "它减去 {k} 是多少？", "把结果减 {k}", "刚才的答案减 {k} 呢？",
                                            "上面的结果减去 {k} 等于多少？", "再少 {k} 呢？", "这个数减 {k} 得多少？",
                                            "如果拿走 {k}，还剩多少？", "那再减 {k} 呢？", "结果减少 {k} 是多少？",
                                            "用它减去 {k}", "花掉 {k} 以后还剩多少？",
                                            "便宜 {k} 块的话要付多少？", "再用去 {k}，还剩几？",
                                            "取出 {k}，余额还有多少？", "扣除 {k} 后是多少？", "往下降 {k} 是多少？",
                                            "去掉 {k} 还剩多少？", "比这个数少 {k} 的数是多少？",
                                            "还掉 {k}，还欠多少？", "满减 {k} 后实付多少？", "上一步的结果再扣 {k}",
                                            "你算出来的减去 {k} 得几？"],
                         ["从中扣掉 {k}。"]),
    ("pct", "en"): Parts("follow.pct.en", ["What is {k}% of that?", "And {k}% of the result?", "Take {k} percent of it.",
                                            "Find {k}% of that.", "What's {k} percent of the answer?",
                                            "Now take {k}% of what you got.", "Give me {k}% of it.",
                                            "Calculate {k}% of this.", "What is {k} percent of the previous answer?",
                                            "If I keep only {k}% of it, how much do I keep?",
                                            "{k} percent of that, please.",
                                            "What would {k}% of it be?", "Work out {k}% of the last value.",
                                            "Okay, and {k}% of that one?", "{k}% of the result?",
                                            "If I tip {k}% on that, how big is the tip?",
                                            "A {k}% deposit on that amount would be how much?",
                                            "My commission is {k}% of it; how much do I earn?",
                                            "What's a {k} per cent share of the figure you got?",
                                            "Work out the {k}% portion of the result.",
                                            "{k}% of your answer works out to how much?", "Multiply it by {k}% for me.",
                                            "What's the tax on that at {k}%? Just the tax amount.",
                                            "If {k}% of it goes to savings, how much is saved?",
                                            "{k} percent of the outcome, what's that?"],
                         ["How much is {k}% of that number?"]),
    ("pct", "zh"): Parts("follow.pct.zh", ["它的 {k}% 是多少？", "结果的百分之 {k} 呢？",
                                            "这个结果的 {k}% 是多少？", "刚才答案的百分之{k}是多少？", "算一下它的 {k}%",
                                            "上面结果的 {k}% 呢？", "取它的 {k}%", "这个数的百分之 {k} 等于多少？",
                                            "那它的 {k}% 呢？", "其中的 {k}% 是多少？", "结果乘以 {k}% 是多少？",
                                            "它的百分之{k}等于多少？", "帮我算刚才结果的 {k}%",
                                            "按 {k}% 提成，能拿多少？", "付 {k}% 的定金，要付多少？",
                                            "拿出 {k}% 存起来，存了多少？", "按 {k}% 的税率，税是多少？",
                                            "得数的 {k}% 等于几？", "上一步结果按 {k}% 的比例取，是多少？",
                                            "平台抽成 {k}%，抽走多少？", "给 {k}% 的小费，小费是多少？",
                                            "该数的百分之{k}为多少？", "你给的结果乘上百分之 {k} 是多少？"],
                         ["求它的 {k}%。"]),
    ("square", "en"): Parts("follow.square.en", ["Square it.", "What's that squared?", "now square the result",
                                                  "What is it squared?", "Square the answer.", "Multiply it by itself.",
                                                  "Square that number, please.", "What's the square of the result?",
                                                  "And squared?", "Now square what you got.",
                                                  "Give me that value squared.", "What do I get if I square it?",
                                                  "It times itself?", "Compute the square of the previous answer.",
                                                  "the result squared?", "Now square this.",
                                                  "What's that to the power of 2?", "Give me the result ^2.",
                                                  "If a square has sides that long, what's its area?",
                                                  "What's your answer times your answer?",
                                                  "Now the figure you got, squared, please.",
                                                  "Compute x² where x is the last result.",
                                                  "How much is that number when squared?",
                                                  "Square the outcome for me.",
                                                  "Take what you found and multiply it by the same number.",
                                                  "Square the amount you just worked out."],
                            ["Raise that to the second power."]),
    ("square", "zh"): Parts("follow.square.zh", ["平方一下", "结果的平方是多少？",
                                                  "它的平方是多少？", "把结果平方", "刚才答案的平方呢？",
                                                  "这个数平方等于多少？", "上面的结果平方一下是多少？",
                                                  "算一下这个结果的平方", "平方呢？", "那它平方以后是多少？",
                                                  "再平方一下", "结果的二次方是多少？", "给它做个平方",
                                                  "得数乘以它本身等于多少？", "边长是这个数的正方形，面积是多少？",
                                                  "上一步结果的 2 次幂是多少？", "这个值的平方等于几？",
                                                  "求该数的平方。", "刚得到的数乘以自身呢？", "结果 ^2 是多少？",
                                                  "前面那个数二次方一下", "把这个得数自己乘自己",
                                                  "你算出来的数平方后是多少？"],
                            ["它自乘一次是多少？"]),
    ("sum2", "en"): Parts("follow.sum2.en", ["Add the two results together.", "What is the sum of both answers?",
                                              "Now add this to the previous result.", "add both results",
                                              "What do the two answers add up to?", "Sum the first and second results.",
                                              "What's the total of both results?", "First result plus second result?",
                                              "Add the earlier answer to the later one.",
                                              "Now add up the two numbers you got.", "What is the sum of those two?",
                                              "Add this one and the previous one.", "Total the two answers, please.",
                                              "Both results added up is how much?",
                                              "What do I get if I add the two results?",
                                              "And this plus the previous answer?", "Sum them both.",
                                              "What do the last two answers come to altogether?",
                                              "Put the two figures together: what's the total?",
                                              "Grand total of both results?",
                                              "How much are the previous two numbers in total?",
                                              "Add the earlier outcome and this one, please.",
                                              "Both amounts summed, what do we get?",
                                              "If I pay both of those, what's the bill in total?",
                                              "The two values you found, added - how much?",
                                              "Give me this result plus the one before it.",
                                              "Tally up the two answers."],
                          ["Combine the two answers by adding them."]),
    ("sum2", "zh"): Parts("follow.sum2.zh", ["把两个结果相加", "和上一个结果相加", "两个答案加起来是多少？",
                                              "前面两个结果加起来是多少？", "第一个和第二个结果相加",
                                              "两个答案一共是多少？", "把刚才两个数加在一起",
                                              "这个结果加上上一个结果等于多少？", "上面两个数相加得多少？",
                                              "第一个答案加第二个答案呢？", "两个结果合计多少？", "把两个答案加一下",
                                              "两个数相加是多少？", "把它和上一个答案加起来",
                                              "两个得数合起来是多少？", "这两个数总共多少？",
                                              "把上一步和上上步的结果加总", "连同前一个结果，共计多少？",
                                              "这两次算出来的数汇总一下", "刚才那两个数求和",
                                              "这个加前一个，等于几？", "两个值一起算，总数多少？",
                                              "两个结果加到一块儿是多少？", "把最近两个答案凑在一起，总共多少？"],
                          ["两次的结果之和是多少？"]),
    ("diff2", "en"): Parts("follow.diff2.en", ["Subtract the second result from the first.",
                                                "What is the first answer minus the second?",
                                                "How much bigger is the first result than the second?",
                                                "First result minus second result?",
                                                "Subtract the second answer from the first one.",
                                                "What's the difference, first minus second?",
                                                "Compute answer one minus answer two.",
                                                "How much more is the first number than the second?",
                                                "Start with the first result and subtract the second.",
                                                "The first answer minus the second answer, please.",
                                                "What do I get if I subtract the 2nd result from the 1st?",
                                                "Now the first value minus this one.",
                                                "Subtract this result from the first one.",
                                                "By how much does the first result exceed the second?",
                                                "Deduct the second number from the first.",
                                                "Difference of the two numbers (first minus second)?",
                                                "The first figure less the second figure is?",
                                                "What's the gap between the two results, first minus second?",
                                                "By what margin is the first answer above the second?",
                                                "If I start with the first amount and spend the second, what's left?",
                                                "Previous answer minus this answer - what's that?",
                                                "How much does the first number beat the second by?",
                                                "Result one less result two, please.",
                                                "Compare them: how much is the first over the second?",
                                                "What's left of the first number after removing the second?",
                                                "The previous result minus the current one?"],
                           ["Take the latest result away from the earlier one."]),
    ("diff2", "zh"): Parts("follow.diff2.zh", ["用第一个结果减去第二个", "第一个答案减第二个是多少？",
                                                "第一个减去第二个等于多少？", "拿第一个答案减掉第二个答案",
                                                "用第一个结果减去刚才这个结果", "两个结果相减，第一个减第二个",
                                                "第一个数减第二个数得多少？", "从第一个结果里减去第二个",
                                                "算一下第一个答案减去第二个答案", "第一个结果减掉第二个结果，差是多少？",
                                                "把第二个结果从第一个里减掉", "第一个减第二个呢？",
                                                "那第一个结果减去第二个结果等于多少？",
                                                "用前面那个数减去现在这个数",
                                                "第一个得数与第二个得数的差是多少？（前减后）",
                                                "第一个数超出第二个的部分是多少？",
                                                "两个结果的差额是多少？用第一个减第二个",
                                                "拿上一个结果扣掉这一个结果", "第一个值减去第二个值等于几？",
                                                "前一个答案减后一个答案，是多少？",
                                                "先有第一个数，再拿掉第二个数，还剩多少？", "第一个得数减第二个得数",
                                                "算算第一个答案和第二个答案的差（第一个减第二个）"],
                           ["前一个结果比后一个多多少？"]),
    ("prod2", "en"): Parts("follow.prod2.en", ["Multiply the two results.", "What's the product of both answers?",
                                                "Multiply the first result by the second.",
                                                "What do the two answers multiply to?",
                                                "First answer times second answer?", "Now multiply both results.",
                                                "What's the earlier result multiplied by the later one?",
                                                "Multiply this answer by the previous one.",
                                                "Product of the two numbers, please.",
                                                "What do I get if I multiply the two results?",
                                                "Multiply them with each other.",
                                                "Give me the first value times the second value.",
                                                "The two answers multiplied - what's that?",
                                                "And this times the previous answer?",
                                                "Multiply the two numbers you got.",
                                                "If those are the length and width, what's the area?",
                                                "Treat the first as a price and the second as a quantity: total cost?",
                                                "Multiply one answer by the other.",
                                                "What's the previous result times the current one?",
                                                "Give me the product of the last two figures.",
                                                "Both outcomes multiplied, please.", "Earlier value × this value = ?",
                                                "How much is this number times the number before it?",
                                                "Compute result 1 × result 2.",
                                                "Multiply the pair of results you just found."],
                           ["Times the two answers together."]),
    ("prod2", "zh"): Parts("follow.prod2.zh", ["两个结果相乘是多少？", "把两个答案乘起来",
                                                "第一个结果乘以第二个结果是多少？", "把前面两个结果乘一下",
                                                "两个数相乘等于多少？", "用这个结果乘以上一个结果",
                                                "第一个答案乘第二个答案得多少？", "两个答案乘在一起是多少？",
                                                "上面两个数相乘呢？", "把第一个和第二个结果相乘",
                                                "两个结果乘起来等于多少？", "刚才两个数乘一下是多少？",
                                                "前面两个答案相乘得多少？",
                                                "如果这两个数是长和宽，面积是多少？",
                                                "第一个当单价，第二个当数量，总价多少？", "这两个得数乘一乘是多少？",
                                                "用上一个结果和这个结果做乘法", "前一个数 × 现在这个数 = ？",
                                                "求这两个数的积", "两个值相乘得几？", "把刚得到的两个数乘到一块儿",
                                                "上一步和上上步的结果相乘", "这两个结果互相乘一下是多少？"],
                           ["两次结果的乘积是多少？"]),
}
# kind -> (variable base name, code expression, exact value)
_ONE = {"mul2": ("doubled", "{v} * 2", lambda a, k: a * 2), "mul": ("scaled", "{v} * {k}", lambda a, k: a * k),
        "div": ("each", "{v} / {k}", lambda a, k: a / k), "add": ("plus", "{v} + {k}", lambda a, k: a + k),
        "sub": ("minus", "{v} - {k}", lambda a, k: a - k), "pct": ("share", "{v} * {k} / 100", lambda a, k: a * k / 100),
        "square": ("squared", "{v} ** 2", lambda a, k: a * a)}
_TWO = {"sum2": ("combined", "{v} + {w}", lambda a, b: a + b), "diff2": ("difference", "{v} - {w}", lambda a, b: a - b),
        "prod2": ("product", "{v} * {w}", lambda a, b: a * b)}


def follow_up(d: Dialog, prev: list[Problem]) -> None:
    """One follow-up turn whose program uses the variables earlier programs defined."""
    rng, lang, ph = d.rng, d.lang, d.ph
    numeric = [p for p in prev if p.var and isinstance(p.expected, float)]
    if not numeric:
        raise Drop("no_numeric_variable")
    if len(numeric) >= 2 and rng.random() < 0.7:
        kind = rng.choice(list(_TWO))
        (a, b) = numeric[-2:]
        base, expr, fn = _TWO[kind]
        v = d.names.fresh(base)
        code = f"{v} = {expr.format(v=a.var, w=b.var)}\nprint(round({v}, 2))"
        expected = fn(d.session.ns[a.var], d.session.ns[b.var])
        ref_expected = fn(a.expected, b.expected)
        text = ph(FOLLOW[(kind, lang)], key=True)
    else:
        kind = rng.choice(list(_ONE))
        k = rng.choice([2, 3, 4, 5, 10, 12, 100]) if kind in ("mul", "div") else rng.randint(1, 500)
        if kind == "pct":
            k = rng.choice([5, 10, 15, 20, 25, 50, 75])
        a = numeric[-1]
        base, expr, fn = _ONE[kind]
        v = d.names.fresh(base)
        code = f"{v} = {expr.format(v=a.var, k=k)}\nprint(round({v}, 2))"
        expected, ref_expected = fn(d.session.ns[a.var], k), fn(a.expected, k)
        text = ph(FOLLOW[(kind, lang)], key=True, k=k)
    if abs(expected) > 1e15:
        raise Drop("follow_up_too_large")
    text = noisy(text, rng, lang, rate=0.2)
    d.user(text)
    run = d.python(code)
    if not run.ok or not output_matches(run.output, round(ref_expected, 2)):
        raise Drop("follow_up_disagrees")
    d.say(reply_number(ph, lang)(run.output))
    d.answers.append(float(clean(round(expected, 2))))


def names_used(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def names_defined(code: str) -> set[str]:
    out = set()
    for n in ast.walk(ast.parse(code)):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in n.names)
    return out


# ---- recovery after an error ---------------------------------------------------------------------------

FIX = {
    "import": {"en": "I forgot to import {mod}.", "zh": "忘记导入 {mod} 了。"},
    "typo": {"en": "Typo in the variable name; fixing it.", "zh": "变量名拼错了，改一下。"},
    "concat": {"en": "I can't add a string to a number; printing the value directly.",
               "zh": "字符串不能和数字相加，直接打印数值。"},
    "attr": {"en": "{mod} has no {bad}; using {good} instead.", "zh": "{mod} 没有 {bad}，改用 {good}。"},
}
_WRONG_ATTR = {"statistics.mean": "statistics.average", "statistics.median": "statistics.middle",
               "statistics.stdev": "statistics.std", "math.sqrt": "math.sqroot"}


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 3:
        return name + name[-1]
    i = rng.randrange(0, len(name) - 1)
    swapped = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return swapped if swapped != name else name + "_"


def break_program(code: str, rng: random.Random) -> tuple[str, str, dict] | None:
    """A plausible mistake in `code`: (kind of mistake, broken code, details for the fix thought), or None."""
    options = []
    lines = code.splitlines()
    imports = [i for i, line in enumerate(lines) if line.startswith(("import ", "from "))]
    if imports:
        i = imports[0]
        mod = lines[i].split()[1]
        options.append(("import", "\n".join(lines[:i] + lines[i + 1:]), {"mod": mod}))
    for good, bad in _WRONG_ATTR.items():
        if good in code:
            mod, fn = good.split(".")
            options.append(("attr", code.replace(good, bad, 1), {"mod": mod, "bad": bad.split(".")[1], "good": fn}))
    last = lines[-1]
    m = re.fullmatch(r"print\((round\()?(\w+)(, \d\))?\)", last)
    if m:
        var = m.group(2)
        options.append(("typo", "\n".join(lines[:-1] + [last.replace(var, _typo(var, rng), 1)]), {}))
        options.append(("concat", "\n".join(lines[:-1] + [f"print('Result: ' + {var})"]), {}))
    return rng.choice(options) if options else None


def recover(d: Dialog, p: Problem) -> str:
    """The first program raises, the model reads the traceback and sends the fixed program."""
    broken = break_program(p.code, d.rng)
    if broken is None:
        raise Drop("nothing_to_break")
    kind, code, info = broken
    d.user(p.question)
    run = d.python(code)
    if run.ok:
        raise Drop("broken_program_ran")
    if kind == "concat" and run.error != "TypeError":
        raise Drop("concat_did_not_fail")
    d.turns.append(Turn("assistant", FIX[kind][d.lang].format(**info),
                        tool_call={"name": INTERPRETER, "arguments": {"code": p.code}}, loss=True))
    run = d.session.run(p.code)
    d.turns.append(Turn("environment", run.output, name="interpreter"))
    if not run.ok or not output_matches(run.output, p.expected):
        raise Drop("fixed_program_failed")
    d.say(p.reply(run.output))
    d.answers.append(p.answer(run.output))
    return kind
