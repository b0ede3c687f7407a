"""The chat page, driven by Streamlit's AppTest with a replay model (--backend replay, set through the environment
as a user would) and a temp data dir."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import puyu.runtime
import puyu.tools.registry  # noqa: F401
from puyu.agent.store import Store
from puyu.core.messages import ToolCall
from puyu.ui import backend
from puyu.ui.settings import SETTINGS_ENV, base_settings, conversation_settings, tool_names

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
CALL = "Let me compute.<|action_start|><|interpreter|>\n```python\nprint(sum(i * i for i in range(1, 11)))\n```<|action_end|>"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PUYU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    monkeypatch.setenv("PUYU_CONFIG", str(tmp_path / "no-config.yaml"))
    backend.reset()
    yield tmp_path
    backend.reset()


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


def test_sending_a_message_streams_the_answer_and_stores_the_conversation(data_dir, monkeypatch):
    scripted(monkeypatch, ["Here is **bold** and $x^2$ and \\(y\\).\n\n```python\nprint(1)\n```"], data_dir)
    at = ask(app(), "Hello there")
    assert "Hello there" in texts(at)
    assert "Here is **bold** and $x^2$ and $y$.\n\n```python\nprint(1)\n```" in texts(at)  # \( \) became $ $
    assert "Hello there" in [b.label for b in at.sidebar.button]  # the first question names the conversation
    convs = stored(data_dir).list()
    assert [c.title for c in convs] == ["Hello there"]
    assert at.query_params["c"] == convs[0].id
    kinds = [d["type"] for _, d in stored(data_dir).events(convs[0].id)]
    assert kinds[0] == "user" and kinds[-1] == "final" and "token" in kinds
    assert {"regenerate", "edit"} <= {b.key for b in at.main.button}


def test_model_text_is_never_rendered_as_html(data_dir, monkeypatch):
    scripted(monkeypatch, ["<script>alert(1)</script><b>bold?</b>"], data_dir)
    at = ask(app(), "<img src=x onerror=alert(2)>")
    shown = [m for m in at.main.markdown if "alert" in m.value]
    assert len(shown) == 2 and not any(m.proto.allow_html for m in at.markdown)


def test_tool_steps_show_code_output_errors_and_images(data_dir, monkeypatch):
    qr = '<|action_start|><|plugin|>\n{"name": "qr_make", "parameters": {"text": "https://example.org"}}<|action_end|>'
    bad = "Oops.<|action_start|><|interpreter|>\n```python\n1 / 0\n```<|action_end|>"
    scripted(monkeypatch, [CALL, bad, "Making a code." + qr, "The sum is **385**."], data_dir)
    at = app()
    setting(at, "multiselect", "set_tools").set_value(["qr_make"]).run()
    ask(at, "Sum the squares")
    steps = at.main.status
    assert [s.state for s in steps] == ["complete", "error", "complete"]
    assert steps[0].label == "Python · `print(sum(i * i for i in range(1, 11)))`"
    assert [c.value for c in steps[0].code] == ["print(sum(i * i for i in range(1, 11)))", "385"]
    assert steps[0].code[0].proto.language == "python"
    assert "ZeroDivisionError" in steps[1].code[1].value and steps[1].label.startswith("Python")
    assert steps[2].label.startswith("qr_make") and len(at.main.image) == 1  # the QR image, inline
    assert texts(at)[-1] == "The sum is **385**."
    assert ["Let me compute.", "Oops.", "Making a code."] == texts(at)[1:4]


def test_switching_conversations_shows_each_ones_history(data_dir, monkeypatch):
    scripted(monkeypatch, ["First answer.", "Second answer."], data_dir)
    at = ask(app(), "First question")
    at.sidebar.button(key="new_chat").click().run()
    assert "First answer." not in texts(at) and at.main.button(key="example-0")  # the welcome screen
    ask(at, "Second question")
    assert "Second answer." in texts(at) and "First answer." not in texts(at)
    first = next(c for c in stored(data_dir).list() if c.title == "First question")
    at.sidebar.button(key=f"conv-{first.id}").click().run()
    assert "First answer." in texts(at) and "Second answer." not in texts(at)
    assert at.query_params["c"] == first.id


def test_a_reload_reopens_the_conversation_in_the_url(data_dir, monkeypatch):
    scripted(monkeypatch, ["Kept."], data_dir)
    cid = ask(app(), "Remember me").query_params["c"]
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["c"] = cid
    at.run()
    assert "Kept." in texts(at)


def test_settings_changes_are_kept_per_conversation_and_reach_the_agent(data_dir, monkeypatch):
    model = scripted(monkeypatch, ["One.", "Two."], data_dir)
    at = ask(app(), "Question")
    cid = stored(data_dir).list()[0].id
    setting(at, "slider", "set_temperature").set_value(0.7).run()
    setting(at, "number_input", "set_max_steps").set_value(3).run()
    setting(at, "text_area", "set_system_prompt").input("You answer in haiku.").run()
    setting(at, "toggle", "set_interpreter").set_value(False).run()
    settings = stored(data_dir).get(cid).settings
    assert (settings["gen.temperature"], settings["agent.max_steps"], settings["agent.interpreter"]) == (0.7, 3, False)
    assert settings["agent.system_prompt"] == "You answer in haiku."
    assert "<|interpreter|>" in model.prompts[0]
    ask(at, "Again")
    assert "You answer in haiku." in model.prompts[1] and "<|interpreter|>" not in model.prompts[1]
    at.sidebar.button(key="new_chat").click().run()  # a new chat starts from the settings on screen
    assert setting(at, "slider", "set_temperature").value == 0.7
    assert setting(at, "multiselect", "set_tools").value == ["ocr"]  # the small bundled model's default
    setting(at, "selectbox", "set_source").set_value("server").run()
    assert setting(at, "multiselect", "set_tools").value == list(tool_names())  # a bigger model: all


def test_plugins_can_be_switched_on_and_off(data_dir, monkeypatch):
    model = scripted(monkeypatch, ["Fine.", "Still fine."], data_dir)
    at = app()
    assert setting(at, "multiselect", "set_tools").value == ["ocr"]  # what the small bundled model gets by default
    setting(at, "multiselect", "set_tools").set_value(["qr_make", "solve"]).run()
    ask(at, "Which tools?")
    assert '"name": "solve"' in model.prompts[0] and '"name": "qr_make"' in model.prompts[0]
    assert '"name": "ocr"' not in model.prompts[0]
    setting(at, "multiselect", "set_tools").set_value([]).run()
    ask(at, "And now?")
    assert "<|plugin|>" not in model.prompts[1]


def test_a_conversation_chooses_the_knowledge_bases_it_searches(data_dir, monkeypatch):
    from puyu.tools.rag import KnowledgeBases

    kbs = KnowledgeBases(data_dir / "knowledge")
    kbs.create("work"), kbs.create("private")
    scripted(monkeypatch, ["Noted.", "Noted again."], data_dir)
    at = app()
    assert sorted(setting(at, "multiselect", "set_knowledge").value) == ["private", "work"]  # all, by default
    setting(at, "multiselect", "set_tools").set_value(["knowledge_search"]).run()
    setting(at, "multiselect", "set_knowledge").set_value(["work"]).run()
    ask(at, "What is in my notes?")
    cid = stored(data_dir).list()[0].id
    assert stored(data_dir).get(cid).settings["agent.knowledge"] == ["work"]
    settings = conversation_settings(base_settings(), stored(data_dir).get(cid))
    box = backend.runtime(settings).toolbox(cid, settings)
    refused = box.run(ToolCall("knowledge_search", {"query": "x", "kb": "private"}))
    assert "not open in this conversation (open: work)" in refused.text


def test_a_model_that_cannot_load_gives_a_message_not_a_traceback(data_dir, monkeypatch):
    monkeypatch.setenv("PUYU_MODEL_BACKEND", "replay")
    monkeypatch.setenv("PUYU_MODEL_NAME", "/nowhere/script.json")
    at = ask(app(), "Hello?")
    assert not at.exception
    assert any("could not be loaded: cannot read replay script /nowhere/script.json" in e.value for e in at.error)
    assert stored(data_dir).list() == []  # nothing half-made is left behind
    assert any(c.value == "Hello?" for c in at.main.code)  # the unsent question can be copied


def test_a_local_path_without_a_checkpoint_is_explained(data_dir):
    at = app()
    setting(at, "selectbox", "set_source").set_value("local").run()
    setting(at, "text_input", "set_model_path").input(str(data_dir / "missing")).run()
    ask(at, "Hello?")
    assert any("does not exist" in e.value for e in at.error)


def test_an_unreachable_server_is_explained(data_dir):
    at = app()
    setting(at, "selectbox", "set_source").set_value("server").run()
    setting(at, "text_input", "set_base_url").input("http://127.0.0.1:9").run()  # nothing listens on port 9
    assert at.session_state.settings.model.endpoint == "auto"
    setting(at, "selectbox", "set_endpoint").set_value("chat").run()  # Settings > Model > Endpoint
    assert at.session_state.settings.model.endpoint == "chat"
    ask(at, "Hello?")
    assert any("cannot reach http://127.0.0.1:9" in e.value for e in at.error), [e.value for e in at.error]


def test_regenerate_and_edit_answer_the_last_question_again(data_dir, monkeypatch):
    scripted(monkeypatch, ["First try.", "Second try.", "About cats."], data_dir)
    at = ask(app(), "Tell me something")
    at.main.button(key="regenerate").click().run()
    assert "Second try." in texts(at) and "First try." not in texts(at)
    at.main.button(key="edit").click().run()
    at.main.text_area(key="edit_text").input("Tell me about cats").run()
    at.main.button(key="edit_send").click().run()
    assert texts(at)[:2] == ["Tell me about cats", "About cats."]
    cid = stored(data_dir).list()[0].id
    assert [d["text"] for _, d in stored(data_dir).events(cid) if d["type"] == "user"] == ["Tell me about cats"]


def test_rename_export_and_delete(data_dir, monkeypatch):
    scripted(monkeypatch, [CALL, "It is 385."], data_dir)
    at = ask(app(), "Squares")
    at.sidebar.text_input(key="rename_title").input("Sum of squares")
    at.sidebar.button(key="rename_submit").click().run()
    conv = stored(data_dir).list()[0]
    assert conv.title == "Sum of squares"
    assert "Sum of squares" in [b.label for b in at.sidebar.button]
    at.sidebar.button(key="delete").click().run()
    at.sidebar.button(key="delete_yes").click().run()
    assert stored(data_dir).list() == [] and not (data_dir / "conversations" / conv.id).exists()
    assert at.main.button(key="example-0")


def test_the_interface_speaks_chinese(data_dir, monkeypatch):
    model = scripted(monkeypatch, ["你好！"], data_dir)
    at = app()
    setting(at, "segmented_control", "set_language").set_value("zh").run()
    assert "有什么可以帮你？" in " ".join(texts(at))
    assert json.loads((data_dir / "ui.json").read_text())["language"] == "zh"
    ask(at, "你好")
    assert "你是浦语" in model.prompts[0]  # the agent's system prompt follows the interface language


def test_a_turn_stopped_during_a_tool_call_is_redrawn_as_stopped(data_dir):
    from puyu.core.messages import ErrorEvent, ToolCall, ToolCallEvent

    store = stored(data_dir)
    cid = store.create("Stopped one").id
    store.add_event(cid, 0, {"type": "user", "text": "Loop forever", "files": []})
    store.add_event(cid, 0, ToolCallEvent(ToolCall("python", {"code": "while True: pass"})))
    store.add_event(cid, 0, ErrorEvent("Stopped."))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["c"] = cid
    at.run()
    [step] = at.main.status
    assert (step.label, step.state) == ("Python · `while True: pass` (stopped)", "error")
    assert any(c.value.endswith("Stopped.") for c in at.main.caption)


def test_the_page_can_run_against_puyu_serve(data_dir, tmp_path_factory):
    from tests.serve_helpers import Server, write_script

    tmp = tmp_path_factory.mktemp("agent-server")
    srv = Server(tmp / "data", write_script(tmp / "script.json", [CALL, "It is 385."]))
    try:
        at = app()
        setting(at, "selectbox", "set_source").set_value("agent").run()
        setting(at, "text_input", "set_agent_url").input(srv.url).run()
        ask(at, "sum of squares up to 10?")
        assert "It is 385." in texts(at)
        assert any("385" in c.value for c in at.main.code), "the server's tool step is drawn"
        conv = backend.conversations(stored(data_dir))[0]
        assert conv.settings["agent_url"] == srv.url
        srv.stop()
        ask(at, "and again?")
        assert any("puyu serve" in e.value for e in at.error), [e.value for e in at.error]
    finally:
        srv.stop()


def test_one_widgets_change_writes_only_its_own_setting(data_dir, monkeypatch):
    scripted(monkeypatch, ["One."], data_dir)
    at = ask(app(), "Question")
    cid = stored(data_dir).list()[0].id
    at.session_state[setting(at, "slider", "set_top_p").key] = 0.05  # another widget's state gone stale
    setting(at, "slider", "set_temperature").set_value(0.7).run()
    settings = stored(data_dir).get(cid).settings
    assert settings["gen.temperature"] == 0.7 and settings["gen.top_p"] == 1.0


def test_settings_widgets_fall_back_to_the_setting_not_to_their_minimum(data_dir, monkeypatch):
    """A browser widget that missed a run (an interrupted rerun that never drew the sidebar) comes back showing its
    default and sends it with the next event: seen in CI as every setting reset to its widget's minimum (top-p
    0.05, one agent step). So each widget's default must be the setting itself."""
    scripted(monkeypatch, ["One."], data_dir)
    at = ask(app(), "Question")
    setting(at, "slider", "set_top_p").set_value(0.5).run()
    setting(at, "number_input", "set_max_steps").set_value(3).run()
    setting(at, "toggle", "set_interpreter").set_value(False).run()
    setting(at, "text_area", "set_system_prompt").input("Be brief.").run()
    assert list(setting(at, "slider", "set_top_p").proto.default) == [0.5]
    assert setting(at, "number_input", "set_max_steps").proto.default == 3
    assert setting(at, "number_input", "set_max_new_tokens").proto.default == at.session_state.settings.gen.max_new_tokens
    assert setting(at, "toggle", "set_interpreter").proto.default is False
    assert setting(at, "text_area", "set_system_prompt").proto.default == "Be brief."
    tools = setting(at, "multiselect", "set_tools")
    assert [tools.options[i] for i in tools.proto.default] == ["ocr"]
    source = setting(at, "selectbox", "set_source")
    assert source.options[source.proto.default] == "Scripted replies (demo)"  # the replay this test runs

    setting(at, "button", "reset_settings").click().run()  # new settings on screen: new widgets with them
    assert list(setting(at, "slider", "set_top_p").proto.default) == [1.0]
    assert setting(at, "toggle", "set_interpreter").proto.default is True
