"""The planner's own cost per turn, with a zero-latency model double and an instant tool.

A turn is: prompt → a reply with a plugin call → the tool → prompt again → the final answer. Rows:
  floor     render the two prompts and parse the two replies by hand (the least any planner must do)
  agent     Agent.run over an in-memory conversation (events, retries bookkeeping, the tool thread)
  session   ChatSession.send: the same plus every message and event written to SQLite before it is shown

    python bench/agent_overhead.py --turns 200 --out runs/bench/agent_overhead.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPLIES = ['Let me add them.<|action_start|><|plugin|>\n{"name": "Add", "parameters": {"a": 2, "b": 40}}<|action_end|>',
           "The sum is 42."]


def add_tool():
    """An instant plugin tool, built here so that `--help` need not import lagent."""
    from lagent.actions import BaseAction, tool_api

    class Add(BaseAction):
        """Add two integers."""

        @tool_api
        def run(self, a: int, b: int) -> dict:
            """Add two integers.

            Args:
                a (int): first
                b (int): second
            """
            return {"sum": a + b}

    return Add()


def floor_turn(proto, box) -> None:
    from puyu.core.messages import Message

    msgs = [Message("user", "2 + 40?")]
    proto.render(msgs, box.schemas(), False)
    call = proto.parse(REPLIES[0]).call
    msgs += [Message("assistant", "", tool_call=call), Message("environment", '{"sum": 42}', name="plugin")]
    proto.render(msgs, box.schemas(), False)
    proto.parse(REPLIES[1])


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    from puyu.agent.agent import answer
    from puyu.agent.factory import build_agent
    from puyu.agent.session import ChatSession
    from puyu.agent.store import Store
    from puyu.core.config import Settings
    from puyu.core.messages import Message
    from puyu.models.replay import ReplayModel
    from puyu.tools.base import Toolbox

    box = Toolbox([add_tool()])
    work = Path(tempfile.mkdtemp(prefix="puyu-bench-agent-"))
    (work / "script.json").write_text(json.dumps({"replies": REPLIES}))
    settings = Settings()
    model = ReplayModel.from_file(work / "script.json", chunk_chars=8)
    agent = build_agent(model, box, settings.agent, settings.gen)
    proto = agent.protocol
    assert answer(agent.run([Message("user", "2 + 40?")])) == "The sum is 42."
    store = Store(work / "bench.db")
    rows = {
        "floor": timed(lambda: floor_turn(proto, box), args.turns),
        "agent": timed(lambda: answer(agent.run([Message("user", "2 + 40?")])), args.turns),
        "session": timed(lambda: answer(ChatSession(store, store.create().id, agent).send("2 + 40?")), args.turns),
    }
    summary = {k: {"median_ms": round(statistics.median(v) * 1e3, 3), "p95_ms": round(sorted(v)[int(.95 * len(v))] * 1e3, 3)}
               for k, v in rows.items()}
    for k in ("agent", "session"):
        summary[k]["x_floor"] = round(summary[k]["median_ms"] / summary["floor"]["median_ms"], 1)
    table = Table(title=f"planner overhead per turn (call + answer), {args.turns} turns")
    for col in ("", "median ms", "p95 ms", "x floor"):
        table.add_column(col)
    for k, v in summary.items():
        table.add_row(k, str(v["median_ms"]), str(v["p95_ms"]), str(v.get("x_floor", 1.0)))
    Console().print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
