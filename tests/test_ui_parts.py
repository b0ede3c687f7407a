"""The UI's pieces that need no page: texts, Markdown preparation, upload checks, exports, stopping, the
scripted model."""
from __future__ import annotations

import json
import re
import string
import threading
from dataclasses import dataclass

import pytest
from fakes import ScriptedModel
from PIL import Image

from puyu.agent.agent import Agent
from puyu.agent.session import ChatSession
from puyu.agent.store import Store
from puyu.core.config import GenerationConfig, Settings
from puyu.core.messages import TokenEvent, ToolCall, ToolResult
from puyu.models.base import ModelError
from puyu.tools.base import Toolbox
from puyu.ui import backend, history, knowledge, uploads
from puyu.ui import settings as ui_settings
from puyu.ui.components import display_text, output_text, tool_label
from puyu.ui.i18n import TEXTS, t
from puyu.models.replay import ReplayModel
from puyu.ui.turns import LiveTurn


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_both_languages_have_every_text_with_the_same_blanks():
    assert TEXTS["en"].keys() == TEXTS["zh"].keys()
    for key in TEXTS["en"]:
        assert fields(TEXTS["en"][key]) == fields(TEXTS["zh"][key]), key
    assert t("zh", "new_chat") == "新对话" and t("fr", "new_chat") == "New chat"


def test_latex_delimiters_are_converted_outside_code_only():
    text = "Area \\(\\pi r^2\\), and\n\\[E = mc^2\\]\n`\\(kept\\)`\n```\n\\[kept\\]\n```"
    assert display_text(text) == "Area $\\pi r^2$, and\n$$E = mc^2$$\n`\\(kept\\)`\n```\n\\[kept\\]\n```"
    assert display_text("```python\nx = '\\(y\\)'") == "```python\nx = '\\(y\\)'"  # an unclosed fence (streaming)


def test_a_bare_number_answer_is_not_a_list_item():
    """A small model's "36." would render as an empty ordered list starting at 36."""
    assert display_text("36.") == "36\\."
    assert display_text("The answer:\n-4. \n```\n7.\n```") == "The answer:\n-4\\. \n```\n7.\n```"
    assert display_text("1. first\n2. second") == "1. first\n2. second"  # a real list stays a list
    assert display_text("It is 3.11 miles.") == "It is 3.11 miles."


def test_step_labels_and_outputs():
    code = ToolCall("python", {"code": "\n\nimport math  # `why`\nprint(math.pi)"})
    assert tool_label(code, "en") == "Python · `import math  # 'why'`"
    assert tool_label(ToolCall("ocr", {"image": "/a/b/receipt.png"}), "en") == "ocr · `receipt.png`"
    assert tool_label(ToolCall("ocr", {}), "en") == "ocr"
    assert output_text(ToolResult("3.14\n[image: /w/fig.png]", images=["/w/fig.png"])) == "3.14"


@dataclass
class FakeUpload:
    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def test_upload_checks_say_what_is_wrong():
    assert uploads.check("a.exe", 10, "en").startswith("a.exe: this file type is not supported")
    assert uploads.check("a.png", 0, "en") == "a.png is empty."
    big = uploads.check("a.png", (uploads.MAX_IMAGE_MB + 1) * 2**20, "en")
    assert big == f"a.png is {uploads.MAX_IMAGE_MB + 1:.1f} MB; images up to {uploads.MAX_IMAGE_MB} MB are accepted."
    assert uploads.check("notes.PDF", 1000, "en") is None and uploads.check("x.jpg", 5, "zh") is None
    many = [FakeUpload(f"{i}.txt", b"x") for i in range(uploads.MAX_FILES + 1)]
    assert uploads.check_all(many, "en") == [t("en", "upload_count", limit=uploads.MAX_FILES)]


def test_uploads_are_saved_announced_and_documents_indexed(tmp_path, monkeypatch):
    settings = Settings().replace(data_dir=str(tmp_path))
    added = []
    monkeypatch.setattr(knowledge, "add_document", lambda s, path: added.append(path.name) or
                        type("R", (), {"chunks": 3})())
    png = tmp_path / "src.png"
    Image.new("RGB", (8, 8), "red").save(png)
    got = uploads.receive([FakeUpload("../../photo.png", png.read_bytes()), FakeUpload("notes.md", b"# Hi\n")],
                          settings, "c1", "en")
    assert [p.split("/")[-1] for p in got.paths] == ["photo.png", "notes.md"]
    assert all(p.startswith(str(tmp_path / "conversations" / "c1" / "uploads")) for p in got.paths)
    entries = json.loads(got.messages[0].content)
    assert got.messages[0].name == "file" and [e["path"] for e in entries] == got.paths
    assert added == ["notes.md"] and got.notes == ["Added notes.md to the knowledge base “documents” (3 passages)."]
    with pytest.raises(uploads.UploadError, match="not a valid image"):
        uploads.receive([FakeUpload("fake.png", b"not an image")], settings, "c1", "en")


def session(tmp_path, replies) -> ChatSession:
    store = Store(tmp_path / "puyu.db")
    return ChatSession(store, store.create().id, Agent(ScriptedModel(replies, chunk=2), Toolbox()))


class Stop(BaseException):
    """What Streamlit raises in the page's thread when the user presses Stop."""


def test_stopping_a_turn_stores_it_as_far_as_it_got(tmp_path):
    chat = session(tmp_path, ["A long answer that will be cut short."])
    cancel, lock = threading.Event(), threading.Lock()
    lock.acquire()

    def slow(events):  # the model is slow after its first token
        for event in events:
            yield event
            cancel.wait(5)

    live = LiveTurn(chat.id, "q", [], [], slow(chat.send("q", cancel=cancel)), cancel, lock)
    live.begin()

    ticks = []

    def tick():  # the page waits and wakes up; on its second wake-up Streamlit stops it
        ticks.append(1)
        if len(ticks) == 2:
            raise Stop

    with pytest.raises(Stop):
        for _ in live.events(tick):
            pass
    live.finish()  # what the page's `finally` does: the agent is told to stop, winds down, and is stored
    events = [d for _, d in chat.store.events(chat.id)]
    assert events[-1] == {"type": "error", "message": "Stopped.", "recoverable": False}
    assert "".join(d["text"] for d in events if d["type"] == "token") == "A "
    assert not lock.locked()


def test_a_failing_agent_reaches_the_page_as_an_exception(tmp_path):
    def broken():
        yield TokenEvent("x")
        raise RuntimeError("bug")

    live = LiveTurn("c", "q", [], [], broken(), threading.Event(), threading.Lock())
    live.lock.acquire()
    live.begin()
    with pytest.raises(RuntimeError, match="bug"):
        list(live.events(lambda: None))
    live.finish()
    assert not live.lock.locked()


def test_exports_hold_questions_steps_and_answers(tmp_path):
    call = "Computing.<|action_start|><|interpreter|>\n```python\nprint('```')\n```<|action_end|>"
    chat = session(tmp_path, [call, "The answer is 42."])
    chat.agent.toolbox.run = lambda c: ToolResult("```")  # an output with a fence in it
    list(chat.send("What is it?"))
    md = history.to_markdown(chat.store, chat.id)
    assert md.startswith("# What is it?\n")
    assert "## You\n\nWhat is it?" in md and "Computing." in md and "The answer is 42." in md
    assert "````python\nprint('```')\n````" in md and "````text\n```\n````" in md
    data = json.loads(history.to_json(chat.store, chat.id))
    assert data["conversation"]["title"] == "What is it?"
    assert data["events"][0]["type"] == "user" and data["messages"][0]["content"] == "What is it?"
    turn = history.turns(chat.store, chat.id)[0]
    assert [k for k, _ in history.answer_parts(turn)] == ["text", "call", "result", "text"]


def test_the_replay_model_plays_one_script_per_question_and_fills_in_files(tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"turns": [["first {file}"], ["second", "after a tool"]], "delay_s": 0}))
    model = ReplayModel.from_file(str(script))
    gen = GenerationConfig()
    user = "<|im_start|>user\n"
    files = '<|im_start|>user name=file\n[{"path": "/w/a.png", "size": "1K"}]<|im_end|>\n'
    assert "".join(model.stream(user + "q<|im_end|>\n" + files, gen)) == "first /w/a.png"
    two = user + "q<|im_end|>\n" + user + "q2<|im_end|>\n"
    assert "".join(model.stream(two, gen)) == "second"
    assert "".join(model.stream(two + "<|im_start|>environment name=<|interpreter|>\nok", gen)) == "after a tool"
    assert "".join(model.stream(two + user, gen)) == "second"  # later questions replay the last script
    script.write_text("not json")
    with pytest.raises(ModelError, match="cannot read replay script"):
        ReplayModel.from_file(str(script))


def test_attachment_paths_are_read_from_file_turns():
    assert history.attachment_paths('[{"path": "/w/a.png", "size": "1K"}, {"path": "/w/b.md"}]') == \
        ["/w/a.png", "/w/b.md"]
    assert history.attachment_paths("The user uploaded /tmp/x/report.pdf.") == ["/tmp/x/report.pdf"]
    assert history.attachment_paths("nothing here") == []


def test_model_errors_while_loading_become_backend_errors(tmp_path, monkeypatch):
    backend.reset()
    broken = Settings().replace(data_dir=str(tmp_path), backend="replay", model=str(tmp_path / "boom.json"))
    with pytest.raises(backend.BackendError, match="boom.json"):
        backend.runtime(broken)
    assert re.search("boom.json", str(pytest.raises(backend.BackendError, backend.model_name, broken).value))
    backend.reset()


def test_puyu_ui_hands_its_settings_to_the_app(tmp_path, monkeypatch):
    from puyu.ui import launch

    seen = {}
    monkeypatch.setattr(launch.subprocess, "call", lambda cmd, env, cwd: seen.update(cmd=cmd, env=env) or 0)
    settings = Settings().replace(data_dir=str(tmp_path), temperature=0.3, language="zh")
    assert launch.launch(settings, "127.0.0.1", 8601) == 0
    assert seen["cmd"][1:4] == ["-m", "streamlit", "run"] and "8601" in seen["cmd"]
    monkeypatch.setenv(ui_settings.SETTINGS_ENV, seen["env"][ui_settings.SETTINGS_ENV])
    assert ui_settings.base_settings() == settings


def test_the_system_prompt_placeholder_follows_the_prompt_style_the_model_will_get(tmp_path):
    from puyu.core.protocols.internlm2 import InternLM2Protocol

    compact, full = (InternLM2Protocol("en", style=s).meta for s in ("compact", "internlm2"))
    assert compact != full
    folder = tmp_path / "served-tiny"
    folder.mkdir()
    (folder / "puyu.json").write_text('{"prompt_style": "compact"}')
    served = Settings().replace(model=str(folder), base_url="http://127.0.0.1:9", data_dir=str(tmp_path))
    assert ui_settings.default_system_prompt(served, "en") == compact  # served under its folder's name
    assert ui_settings.default_system_prompt(served.replace(prompt_style="internlm2"), "en") == full
    other = Settings().replace(model="internlm2-chat-7b", base_url="http://127.0.0.1:9", data_dir=str(tmp_path))
    assert ui_settings.default_system_prompt(other, "en") == full
    assert ui_settings.default_system_prompt(other.replace(prompt_style="compact"), "en") == compact
    with pytest.raises(ValueError, match="prompt_style"):
        Settings().replace(prompt_style="short")


def test_a_model_puyu_trained_sees_the_few_tools_wherever_it_is_exported(tmp_path):
    # A retrained puyu-tiny in its own folder is as small as the bundled one: every tool's schema would not fit
    # its 1,024-token context (seen in the app with a model exported by `puyu train bundled --export-dir`).
    from puyu.agent.factory import BUNDLED_TOOLS
    from puyu.agent.factory import default_plugins as plugins

    def default_plugins(settings):
        from puyu.models import model_card

        return plugins(model_card(settings.model), settings.knowledge_dir)

    folder = tmp_path / "puyu-tiny-v14"
    folder.mkdir()
    (folder / "puyu.json").write_text('{"prompt_style": "compact"}')
    exported = Settings().replace(model=str(folder), data_dir=str(tmp_path))
    assert default_plugins(exported) == BUNDLED_TOOLS
    (tmp_path / "knowledge" / "docs").mkdir(parents=True)
    assert default_plugins(exported) == BUNDLED_TOOLS | {"knowledge_search"}
    assert ui_settings.default_tool_choice(exported) == sorted(BUNDLED_TOOLS | {"knowledge_search"})
    assert default_plugins(exported.replace(prompt_style="internlm2")) is None  # told to prompt it as a large model
    large = tmp_path / "internlm2-chat-7b"
    large.mkdir()
    assert default_plugins(Settings().replace(model=str(large), data_dir=str(tmp_path))) is None
    served = exported.replace(base_url="http://127.0.0.1:9")  # the same folder, served: the same few tools
    assert served.model.backend == "openai" and default_plugins(served) == BUNDLED_TOOLS | {"knowledge_search"}
    (folder / "puyu.json").write_text('{"prompt_style": "huge"}')
    assert ui_settings.default_tool_choice(exported) == list(ui_settings.tool_names())
