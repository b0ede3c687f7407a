"""Every registered tool builds and converts to a lagent action with a clean schema; AgentLego's own tools and
lagent actions plug into the Toolbox unchanged; uploads become `user name=file` turns; and an uploaded image
goes through the agent loop to OCR and back as text and an annotated image."""
import json
import re
import subprocess

import pytest
from agentlego.tools import Calculator as AgentLegoCalculator
from lagent.actions import BaseAction, tool_api
from PIL import Image, ImageDraw, ImageFont
from puyu.tools.base import Toolbox, as_action, tool_schema
from puyu.tools.files import UploadError, human_size, save_upload, save_uploads, uploaded_paths
from puyu.tools.registry import TOOL_NAMES, default_tools

from puyu.core.messages import FinalEvent, Message, ToolCall, ToolCallEvent, ToolResultEvent


def test_every_tool_builds_with_a_clean_schema(tmp_path):
    tools = default_tools(tmp_path / "work", tmp_path / "kb")
    assert [t.name for t in tools] == [n for n in TOOL_NAMES if n != "vqa"]  # vqa needs a checkpoint
    for tool in tools:
        schema = tool_schema(as_action(tool))
        assert re.fullmatch(r"[a-z][a-z_]{1,20}", schema["name"])
        assert len(schema["description"]) > 40, schema["name"]
        assert schema["required"], schema["name"]
        for p in schema["parameters"]:
            assert p["type"] in ("STRING", "NUMBER", "FLOAT", "BOOLEAN") and len(p["description"]) > 5, p
            if p["name"] not in schema["required"]:
                assert "Default:" in p["description"], p  # the model sees no defaults otherwise
    box = Toolbox(tools, workdir=tmp_path / "work")
    assert [s["name"] for s in box.schemas()] == [t.name for t in tools]


def test_tools_switch_on_and_off(tmp_path):
    assert [t.name for t in default_tools(tmp_path, tmp_path, {"ocr", "solve"})] == ["ocr", "solve"]
    assert "knowledge_search" not in [t.name for t in default_tools(tmp_path, None)]
    with pytest.raises(ValueError, match="unknown tool"):
        default_tools(tmp_path, tmp_path, {"ocr", "teleport"})
    with pytest.raises(ValueError, match="vqa needs a local vision-language checkpoint"):
        default_tools(tmp_path, tmp_path, {"vqa"}, vlm_path="")


class WordCount(BaseAction):
    """Count the words in a text."""

    @tool_api
    def run(self, text: str) -> dict:
        """Count the words in a text.

        Args:
            text (str): the text
        """
        return {"words": len(text.split())}


def test_agentlego_and_lagent_tools_plug_in_unchanged(tmp_path):
    box = Toolbox([AgentLegoCalculator(), WordCount(), *default_tools(tmp_path, None, {"calculator"})])
    assert box.run(ToolCall("Calculator", {"expression": "2 + 3 * 4"})).text == "14"  # AgentLego's, offline
    assert json.loads(box.run(ToolCall("WordCount", {"text": "one two three"})).text) == {"words": 3}
    assert box.run(ToolCall("calculator", {"expression": "2 + 3 * 4"})).text == "14"
    failed = box.run(ToolCall("Calculator", {"expression": "1/0"}))
    assert not failed.ok and failed.text == "Calculator failed: ZeroDivisionError: division by zero"


def png_bytes(size=(60, 40), colour="red") -> bytes:
    import io
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def test_upload_becomes_a_file_turn(tmp_path):
    msg = save_upload(tmp_path, "../../etc/照片.PNG", png_bytes())
    assert (msg.role, msg.name) == ("user", "file")
    [entry] = json.loads(msg.content)
    assert entry["path"] == str((tmp_path / "uploads" / "照片.png").resolve()) and entry["size"].endswith("B")
    assert Image.open(entry["path"]).size == (60, 40)
    again = save_uploads(tmp_path, [("照片.png", png_bytes()), ("data.csv", b"a,b\n1,2\n")])
    assert [p.rsplit("/", 1)[1] for p in uploaded_paths(again)] == ["照片-1.png", "data.csv"]
    assert human_size(512) == "512B" and human_size(10 * 1024) == "10K" and human_size(1536 * 1024) == "1.5M"


def test_bad_uploads_are_refused_with_reasons(tmp_path):
    cases = {
        "not accepted": ("virus.exe", b"MZ..."),
        "not a valid image": ("fake.png", b"this is text"),
        "is not a PDF": ("doc.pdf", b"hello"),
        "not a zip container": ("doc.docx", b"hello"),
        "is empty": ("empty.txt", b""),
        "uploads up to": ("big.txt", b"x" * 2048),
    }
    for expected, (name, data) in cases.items():
        with pytest.raises(UploadError, match=expected):
            save_upload(tmp_path, name, data, max_bytes=1024)
    assert not (tmp_path / "uploads").exists()  # nothing was written
    with pytest.raises(UploadError, match="at most 2 uploads"):
        save_uploads(tmp_path, [(f"{i}.txt", b"x") for i in range(3)], max_files=2)


def _font():
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout.split(":")[0].strip()
    return ImageFont.truetype(out, 36) if out else ImageFont.load_default(36)


def test_uploaded_image_goes_through_the_agent_to_ocr(tmp_path):
    from puyu.agent.agent import Agent

    from tests.fakes import ScriptedModel

    img = Image.new("RGB", (700, 120), "white")
    ImageDraw.Draw(img).text((20, 35), "Meeting moved to Friday", font=_font(), fill="black")
    buf = __import__("io").BytesIO()
    img.save(buf, "PNG")
    workdir = tmp_path / "conv"
    upload = save_upload(workdir, "note.png", buf.getvalue())
    path = uploaded_paths(upload)[0]

    call = json.dumps({"name": "ocr", "parameters": {"image": path}})
    model = ScriptedModel([f"Let me read it.<|action_start|><|plugin|>\n{call}<|action_end|>",
                           "The note says the meeting moved to Friday."])
    agent = Agent(model, Toolbox(default_tools(workdir, None, {"ocr"}), workdir=workdir))
    messages = [Message("user", "What does my note say?"), upload]
    events = list(agent.run(messages))

    assert f'"path": "{path}"' in model.prompts[0] and "user name=file" in model.prompts[0]
    [called] = [e for e in events if isinstance(e, ToolCallEvent)]
    assert called.call.name == "ocr" and called.call.arguments == {"image": path}
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.result.ok
    assert "Meeting moved to Friday" in json.loads(result.result.text.split("\n[image:")[0])["text"]
    assert len(result.result.images) == 1 and str(workdir.resolve()) in result.result.images[0]
    assert Image.open(result.result.images[0]).size == (700, 120)
    assert "Meeting moved to Friday" in model.prompts[1]  # the model saw the tool's text
    assert isinstance(events[-1], FinalEvent) and "Friday" in events[-1].text


def test_a_path_to_no_file_is_read_as_the_upload_it_most_likely_means(tmp_path):
    workdir = (tmp_path / "conv").resolve()
    for name, color in [("first.png", "red"), ("invoice.png", "blue")]:
        buf = __import__("io").BytesIO()
        Image.new("RGB", (30, 20), color).save(buf, "PNG")
        save_upload(workdir, name, buf.getvalue())
    box = Toolbox(default_tools(workdir, None, {"image_info"}), workdir=workdir)

    def info(image):
        return box.run(ToolCall("image_info", {"image": image}))

    garbled = info("/home/user/.local/share/puyu/conversations/0a1b/uploads/picture.png")  # a small model's copy
    assert garbled.ok and "used the upload invoice.png" in garbled.text  # the latest image, said so
    assert info("/somewhere/else/first.png").text.startswith("(There is no file /somewhere/else/first.png; "
                                                             "used the upload first.png.)")
    relative = info("uploads/first.png")  # relative to the conversation's work dir, where the interpreter runs
    assert relative.ok and "There is no file" not in relative.text
    bare = Toolbox(default_tools(tmp_path / "empty", None, {"image_info"}), workdir=tmp_path / "empty")
    assert not bare.run(ToolCall("image_info", {"image": "/nowhere/picture.png"})).ok  # nothing to fall back on
