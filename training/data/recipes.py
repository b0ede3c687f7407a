"""One function per kind of conversation: it draws the problems, plays the turns and returns a checked Record.
Every raises Drop when the item cannot be built faithfully."""
from __future__ import annotations

import random
from collections.abc import Callable

from puyu.core.messages import INTERPRETER
from puyu.core.records import Record
from puyu.training.data.conversation import Dialog, Drop, follow_up, names_defined, names_used, recover
from puyu.training.data.families import PROBLEMS
from puyu.training.data.families.base import Problem
from puyu.training.data.families.chat import chat_turn, oos_turn

# Which plugin would do a family's job: when it is in the tools list, the interpreter is not the right call,
# so interpreter items never show it (plugin items teach calling it).
FITTING_PLUGIN = {"arithmetic": {"calculator"}, "percent": {"calculator"}, "units": {"calculator"},
                  "currency": {"calculator"}, "algebra": {"solve", "calculator"}, "stats": {"calculator"},
                  "dates": set(), "gsm8k": {"calculator"}}


def pick_problem(d: Dialog, family: str, numeric: bool = False, tries: int = 20) -> Problem:
    makers = PROBLEMS[family]
    for _ in range(tries):
        fn = d.rng.choices([m for m, _ in makers], [w for _, w in makers])[0]
        p = fn(d.ctx())
        if not numeric or (p.var and isinstance(p.expected, float)):
            return p
        d.names.used.difference_update(names_defined(p.code))  # give back the names the unused problem took
    raise Drop("no_numeric_problem")


def decoy_tools(rng: random.Random, schemas: list[dict], avoid: set[str], k_max: int = 2) -> list[dict]:
    """A few plugin schemas the conversation does not need: the model learns that a tool's presence is no
    reason to call it."""
    pool = [s for s in schemas if s["name"] not in avoid]
    if not pool or rng.random() < 0.7:  # a schema costs ~200+ tokens: decoys are rare and few
        return []
    return rng.sample(pool, 1 if rng.random() < 0.85 else min(k_max, len(pool)))


def single(d: Dialog, family: str, schemas: list[dict]) -> Record:
    p = pick_problem(d, family)
    d.tools = decoy_tools(d.rng, schemas, FITTING_PLUGIN.get(family, set()))
    d.user(p.question)
    d.solve(p)
    return d.record(family, "tool", expect_tool=INTERPRETER)


def multi_turn(d: Dialog, schemas: list[dict]) -> Record:
    """Follow-ups whose programs use variables an earlier program defined ("now double it", "和上一个结果相加")."""
    families = ["arithmetic", "arithmetic", "percent", "units", "currency", "stats"]
    first = pick_problem(d, d.rng.choice(families), numeric=True)
    avoid = set().union(*(FITTING_PLUGIN[f] for f in families))
    d.tools = decoy_tools(d.rng, schemas, avoid)
    d.user(first.question)
    d.solve(first)
    done = [first]
    if d.rng.random() < 0.45:
        second = pick_problem(d, d.rng.choice(families), numeric=True)
        d.user(second.question)
        d.solve(second)
        done.append(second)
    earlier = set().union(*(names_defined(p.code) for p in done))
    follow_up(d, done)
    last_code = d.turns[-3].tool_call["arguments"]["code"]
    reused = sorted(names_used(last_code) & earlier - names_defined(last_code))
    if not reused:
        raise Drop("follow_up_reuses_nothing")
    return d.record("multi_turn", "multi_turn", expect_tool=INTERPRETER, reuses=reused)


def chat_then_tool(d: Dialog, schemas: list[dict]) -> Record:
    """Small talk around a tool turn: a greeting before it, or thanks after it."""
    family = d.rng.choice(["arithmetic", "percent", "units", "stats", "dates", "algebra"])
    p = pick_problem(d, family)
    d.tools = decoy_tools(d.rng, schemas, FITTING_PLUGIN[family])
    before = d.rng.random() < 0.5
    if before:
        _, user, reply = chat_turn(d.ph, d.rng, d.lang, "greet")
        d.user(user)
        d.say(reply)
    d.user(p.question)
    d.solve(p)
    if not before:
        _, user, reply = chat_turn(d.ph, d.rng, d.lang, d.rng.choice(["thanks", "thanks", "bye"]))
        d.user(user)
        d.say(reply)
    return d.record("chat_then_tool", "multi_turn", expect_tool=INTERPRETER)


def recovery(d: Dialog, schemas: list[dict]) -> Record:
    family = d.rng.choice(["arithmetic", "stats", "stats", "algebra", "dates", "percent", "units"])
    p = pick_problem(d, family)
    d.tools = decoy_tools(d.rng, schemas, FITTING_PLUGIN[family])
    kind = recover(d, p)
    return d.record("recovery", "tool", expect_tool=INTERPRETER, mistake=kind)


def chat(d: Dialog, schemas: list[dict]) -> Record:
    d.tools = decoy_tools(d.rng, schemas, set())
    kind, user, reply = chat_turn(d.ph, d.rng, d.lang)
    d.user(user)
    d.say(reply)
    if d.rng.random() < 0.2:
        _, user, reply = chat_turn(d.ph, d.rng, d.lang, d.rng.choice(["who", "can", "thanks", "how"]))
        d.user(user)
        d.say(reply)
    return d.record("chat", "chat", expect_tool=None, answer=None, kind=kind)


def out_of_scope(d: Dialog, schemas: list[dict]) -> Record:
    d.tools = decoy_tools(d.rng, schemas, {"knowledge_search"})
    kind, user, reply = oos_turn(d.ph, d.rng, d.lang, d.split)
    d.user(user)
    d.say(reply)
    return d.record("out_of_scope", "out_of_scope", expect_tool=None, answer=None, kind=kind)


def _single(family: str) -> Callable[[Dialog, list[dict]], Record]:
    return lambda d, schemas: single(d, family, schemas)


RECIPES: dict[str, Callable[[Dialog, list[dict]], Record]] = {
    **{f: _single(f) for f in PROBLEMS},
    "multi_turn": multi_turn, "chat_then_tool": chat_then_tool, "recovery": recovery, "chat": chat,
    "out_of_scope": out_of_scope,
}
