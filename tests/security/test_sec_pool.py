"""The runtime's pool of interpreters under load (as `puyu serve` and the app use it): an interpreter whose turn is
running is never closed, a full pool makes a new conversation wait and then say "busy", and idle interpreters are
reaped with the model told. A replay model drives real agent turns through the real interpreter."""
from __future__ import annotations

import json
import threading
import time

import pytest

from puyu.core.config import Settings
from puyu.core.messages import FinalEvent, ToolResultEvent
from puyu.runtime import Busy, Runtime

pytestmark = pytest.mark.timeout(120)


def call(code: str) -> str:
    return f"Running it.<|action_start|><|interpreter|>\n```python\n{code}\n```<|action_end|>"


def runtime(tmp_path, replies: list[str], **server) -> Runtime:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": replies}))
    settings = Settings(data_dir=str(tmp_path / "data")).replace(
        model={"name": str(script), "backend": "replay"}, agent={"tools": []}, server=server)
    rt = Runtime(settings)
    for cid in ("a", "b", "c"):  # conversations with short names, as the store keeps them
        rt.store._db().execute("INSERT INTO conversations VALUES (?, 'New chat', 0, 0, '{}')", (cid,))
    return rt


def results(events) -> tuple[list[str], str]:
    """The tool results' texts and the final answer of one turn."""
    events = list(events)
    return ([e.result.text for e in events if isinstance(e, ToolResultEvent)],
            next((e.text for e in events if isinstance(e, FinalEvent)), ""))


def test_an_interpreter_in_a_turn_is_never_closed_and_a_full_pool_says_busy(tmp_path):
    rt = runtime(tmp_path, [call("import time; time.sleep(2); print('slept')"), "Done."], pool_size=2,
                 busy_wait_s=0.5)
    try:
        first = {}
        runner = threading.Thread(target=lambda: first.update(out=results(rt.session("a").send("go"))))
        runner.start()
        time.sleep(0.8)  # conversation a is inside its interpreter call
        rt.session("b")  # the second slot
        with pytest.raises(Busy, match="interpreters are in use") as busy:
            rt.session("c")
        assert busy.value.retry_after_s >= 1
        runner.join()
        assert first["out"] == (["slept"], "Done."), first  # a's call was not cut short
        texts, final = results(rt.session("c").send("now"))  # a's turn is over: its slot can be reused
        assert texts == ["slept"] and final == "Done."
        texts, _ = results(rt.session("a").send("again"))
        assert "stopped to make room for another conversation" in texts[0]
    finally:
        rt.close()


def test_a_new_conversation_waits_for_a_slot_instead_of_failing(tmp_path):
    rt = runtime(tmp_path, [call("import time; time.sleep(1); print('ok')"), "Done."], pool_size=1,
                 busy_wait_s=10)
    try:
        out = {}
        threads = [threading.Thread(target=lambda c=c: out.update({c: results(rt.session(c).send("go"))}))
                   for c in ("a", "b", "c")]
        for t in threads:
            t.start()
            time.sleep(0.2)
        for t in threads:
            t.join()
        assert all(texts[-1].endswith("ok") and final == "Done." for texts, final in out.values()), out
    finally:
        rt.close()


def test_idle_interpreters_are_reaped_and_the_model_is_told(tmp_path):
    rt = runtime(tmp_path, [call("x = globals().get('x', 0) + 1; print(x)"), "Done."], idle_s=1)
    try:
        assert results(rt.session("a").send("one"))[0] == ["1"]
        assert results(rt.session("a").send("two"))[0] == ["2"]  # variables live between turns
        deadline = time.monotonic() + 10
        while "a" in rt._live and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "a" not in rt._live  # reaped: no process kept for an idle conversation
        texts, _ = results(rt.session("a").send("three"))
        assert "stopped after 1 s without use" in texts[0] and texts[0].endswith("1")
    finally:
        rt.close()
