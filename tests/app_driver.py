"""Driving the chat page with Streamlit's AppTest and a replay model (--backend replay, set through the environment
as a user would) in a temp data dir: shared by tests/test_ui_app.py and tests/test_ui_features.py."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

import puyu.runtime
import puyu.tools.registry  # noqa: F401
from puyu.agent.store import Store
from puyu.ui import backend

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
CALL = "Let me compute.<|action_start|><|interpreter|>\n```python\nprint(sum(i * i for i in range(1, 11)))\n```<|action_end|>"


class Replayed:
    """What the replay model was shown, read from its log."""

    def __init__(self, log: Path):
        self.log = log

    @property
    def prompts(self) -> list[str]:
        lines = self.log.read_text("utf-8").splitlines() if self.log.exists() else []
        return [json.loads(line)["prompt"] for line in lines]


def scripted(monkeypatch, replies: list, data_dir: Path) -> Replayed:
    """Answer with `replies` in order, standing in for the small bundled model (its default tool: ocr)."""
    backend.reset()
    n = len(list(data_dir.glob("script-*.json")))
    script, log = data_dir / f"script-{n}.json", data_dir / f"calls-{n}.jsonl"
    script.write_text(json.dumps({"sequence": replies, "log": str(log), "card": {"default_tools": ["ocr"]}}))
    monkeypatch.setenv("PUYU_MODEL_BACKEND", "replay")
    monkeypatch.setenv("PUYU_MODEL_NAME", str(script))
    return Replayed(log)


def setting(at: AppTest, kind: str, name: str):
    """The sidebar widget of one setting (its key carries a revision: `set_top_p.3`)."""
    found = [w for w in getattr(at.sidebar, kind) if (w.key or "").split(".")[0] == name]
    assert len(found) == 1, f"{len(found)} {kind} widgets for {name}"
    return found[0]


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def ask(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.main.markdown]


def stored(data_dir: Path) -> Store:
    return Store(data_dir / "puyu.db")
