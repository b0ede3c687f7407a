"""The InternLM2 prompt text against lagent's own InternLM2 protocol, and parsing of model output."""
import json
from types import SimpleNamespace

import pytest
from lagent.agents.internlm2_agent import Internlm2Protocol
from lagent.llms.base_llm import LMTemplateParser
from lagent.llms.meta_template import INTERNLM2_META

from puyu.core.messages import Message, ToolCall
from puyu.core.protocols import InternLM2Protocol, ReActProtocol
from puyu.core.protocols.internlm2 import action_text

OCR = {"name": "ocr", "description": "Read the text in an image.", "required": ["image"],
       "parameters": [{"name": "image", "type": "STRING", "description": "image path"},
                      {"name": "lang", "type": "STRING", "description": "language"}]}
SOLVE = {"name": "solve", "description": "解方程", "required": ["equation"],
         "parameters": [{"name": "equation", "type": "STRING", "description": "方程"}]}

CONVERSATIONS = [
    [Message("user", "hello")],
    [Message("user", "hi"), Message("assistant", "Hello! How can I help?"), Message("user", "what is 2**100?")],
    [Message("user", "2**100?"),
     Message("assistant", "I will compute it.", tool_call=ToolCall("python", {"code": "print(2**100)"})),
     Message("environment", "1267650600228229401496703205376", name="interpreter"),
     Message("assistant", "It is 1267650600228229401496703205376."), Message("user", "and halve it")],
    [Message("user", "read this"), Message("user", json.dumps([{"path": "/w/a.png", "size": "3K"}]), name="file"),
     Message("assistant", "", tool_call=ToolCall("ocr", {"image": "/w/a.png"})),
     Message("environment", "OCR: 你好 world", name="plugin")],
    [Message("user", "解方程 x^2=4"),
     Message("assistant", "好的。", tool_call=ToolCall("solve", {"equation": "x**2-4"})),
     Message("environment", "[-2, 2]", name="plugin"), Message("assistant", "x = ±2")],
]


def lagent_prompt(messages, tools, interpreter, ours: InternLM2Protocol) -> str:
    """The same conversation through lagent's Internlm2Protocol and its InternLM2 meta template."""
    steps = []
    for m in messages:
        if m.role == "assistant" and m.tool_call is not None:
            call = m.tool_call
            steps.append(dict(role="language", content=m.content))
            if call.is_interpreter:
                content = dict(name="IPythonInterpreter", parameters=dict(command=f"```python\n{call.arguments['code']}\n```"))
                steps.append(dict(role="tool", name="interpreter", content=content))
            else:
                steps.append(dict(role="tool", name="plugin", content=dict(name=call.name, parameters=call.arguments)))
        else:
            steps.append({k: v for k, v in dict(role=m.role, content=m.content, name=m.name).items() if v is not None})
    lagent = Internlm2Protocol(meta_prompt=ours.meta, interpreter_prompt=ours.interpreter_prompt,
                               plugin_prompt=ours.plugin_prompt.replace("{tools}", "{prompt}"))
    interp = SimpleNamespace(get_actions_info=lambda: [{"description": "python"}]) if interpreter else None
    plugins = SimpleNamespace(actions=tools, get_actions_info=lambda: tools) if tools else None
    return LMTemplateParser(INTERNLM2_META)(lagent.format(steps, plugin_executor=plugins, interpreter_executor=interp))


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("tools,interpreter", [([], True), ([OCR, SOLVE], True), ([OCR], False), ([], False)])
@pytest.mark.parametrize("conv", range(len(CONVERSATIONS)))
def test_prompt_equals_lagent(conv, tools, interpreter, language):
    ours = InternLM2Protocol(language)
    messages = CONVERSATIONS[conv]
    ours_text = "".join(s.text for s in ours.segments(messages, tools, interpreter))
    if messages[-1].role != "assistant":  # lagent, like us, then asks for the assistant's turn
        ours_text = ours.render(messages, tools, interpreter)
    assert ours_text == lagent_prompt(messages, tools, interpreter, ours)


def test_segments_mark_only_model_output_as_trained():
    segs = InternLM2Protocol().segments(CONVERSATIONS[2], [], True)
    trained = "".join(s.text for s in segs if s.trained)
    assert trained == ("I will compute it.<|action_start|><|interpreter|>\n```python\nprint(2**100)\n```<|action_end|>"
                       "It is 1267650600228229401496703205376.<|im_end|>")
    assert {s.index for s in segs if s.trained} == {1, 3}


@pytest.mark.parametrize("call", [ToolCall("python", {"code": "import math\nprint(math.pi)"}),
                                  ToolCall("ocr", {"image": "/tmp/x.png", "lang": "chi_sim"}),
                                  ToolCall("solve", {"equation": "x**2 - 2 = 0"})])
def test_every_call_round_trips_through_parse(call):
    proto = InternLM2Protocol()
    # the backend cuts the stop string <|action_end|>; parse must read the call either way
    for text in ("Sure." + action_text(call), "Sure." + action_text(call).replace("<|action_end|>", "")):
        parsed = proto.parse(text)
        assert parsed.error is None and parsed.text == "Sure."
        assert (parsed.call.name, parsed.call.arguments) == (call.name, call.arguments)


def test_parse_plain_reply_and_trailing_im_end():
    assert InternLM2Protocol().parse("Hello there.<|im_end|>\n<|im_start|>user").text == "Hello there."


def test_parse_accepts_code_without_fence():
    parsed = InternLM2Protocol().parse("<|action_start|><|interpreter|>\nprint(3)<|action_end|>")
    assert parsed.call.arguments == {"code": "print(3)"}


def test_react_round_trip():
    proto = ReActProtocol()
    parsed = proto.parse('Thought: need math\nAction: python\nAction Input: {"code": "print(6*7)"} trailing')
    assert parsed.call.name == "python" and parsed.call.arguments == {"code": "print(6*7)"}
    assert parsed.text == "need math"
    assert proto.parse("Thought: done\nFinal Answer: 42").text == "42"
    assert proto.parse("Action: python\nAction Input: {oops").error
    prompt = proto.render([Message("user", "q"), Message("assistant", "t", tool_call=ToolCall("python", {"code": "1"})),
                           Message("environment", "1", name="interpreter")], [OCR], True)
    assert "Observation: 1" in prompt and "- ocr:" in prompt and prompt.endswith("<|im_start|>assistant\n")


def test_compact_style_is_the_same_protocol_with_short_system_turns():
    """The prompts puyu's small models are trained with: same turns and tokens, a tool per line."""
    tools = [OCR, SOLVE]
    long, short = InternLM2Protocol("en"), InternLM2Protocol("en", style="compact")
    messages = CONVERSATIONS[2]
    assert len(short.render(messages, tools, True)) * 2 < len(long.render(messages, tools, True))
    system = short.system_turns(tools, True)
    assert system.count("<|im_start|>system") == 3 and "<|im_start|>system name=<|plugin|>\n" in system
    first = OCR["description"].split(". ")[0]
    assert f"\n{OCR['name']}({', '.join(OCR['required'])}): {first}" in system
    # replies are written and read the same way in both styles
    long_turns = long.segments(messages, tools, True)[1:]
    assert [s.text for s in short.segments(messages, tools, True)[1:]] == [s.text for s in long_turns]
    with pytest.raises(ValueError, match="unknown prompt style"):
        InternLM2Protocol(style="tiny")


def test_compact_style_shows_small_models_only_the_image_files_they_were_trained_on():
    """puyu-tiny, shown an attached document's path, ran OCR on an invented image; documents reach it through
    knowledge_search. Larger models (the internlm2 style) still see every file."""
    files = json.dumps([{"path": "/w/uploads/handbook.md", "size": "1K"}, {"path": "/w/uploads/r.PNG", "size": "9K"}])
    only_doc = json.dumps([{"path": "/w/uploads/handbook.md", "size": "1K"}])
    images = '[{"path": "/w/uploads/a.png", "size": "2K"}]'
    short, long = InternLM2Protocol("en", style="compact"), InternLM2Protocol("en")
    for content, shown in [(files, '[{"path": "/w/uploads/r.PNG", "size": "9K"}]'), (only_doc, None),
                           (images, images)]:
        messages = [Message("user", "Read these"), Message("user", content, name="file")]
        prompt = short.render(messages, [OCR], True)
        assert ("name=file" in prompt) == (shown is not None) and (shown is None or shown in prompt)
        assert content in long.render(messages, [OCR], True)


def test_a_model_folder_says_its_prompt_style(tmp_path):
    from puyu.core.card import read_style, write_style

    assert read_style(tmp_path) == "internlm2" and read_style(None) == "internlm2"
    write_style(tmp_path, "compact")
    assert read_style(tmp_path) == "compact"
    write_style(tmp_path, "internlm2")  # the default needs no file
    assert not (tmp_path / "puyu.json").exists() and read_style(tmp_path) == "internlm2"
    (tmp_path / "puyu.json").write_text('{"prompt_style": "huge"}')
    with pytest.raises(ValueError, match="unknown prompt_style 'huge'"):
        read_style(tmp_path)
