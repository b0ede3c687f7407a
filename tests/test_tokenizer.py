"""puyu's tokenizer: special tokens, digits, Chinese, and a chat_template that matches InternLM2Protocol."""
from __future__ import annotations

import json

import pytest

from puyu.core.messages import Message, ToolCall
from puyu.core.protocols.internlm2 import SPECIAL_TOKENS, InternLM2Protocol
from puyu.core.records import render, write_jsonl
from puyu.training.data.build import BuildConfig, Builder
from puyu.training.tokenizer import chat_template, main

TOOLS = [{"name": "calculator", "description": "Evaluate an arithmetic expression.",
          "parameters": [{"name": "expression", "type": "STRING", "description": "e.g. 2*(3+4)"},
                         {"name": "precision", "type": "NUMBER", "description": "digits"}],
          "required": ["expression"]},
         {"name": "knowledge_search", "description": "Search the user's documents. 搜索文档。",
          "parameters": [{"name": "query", "type": "STRING", "description": "what to look for"}],
          "required": ["query"]}]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    """A tokenizer trained through the CLI on a few hundred freshly generated conversations."""
    tmp = tmp_path_factory.mktemp("tok")
    builder = Builder(BuildConfig(gsm8k="none", progress=False, plugins=False))
    recipes = ["arithmetic", "percent", "units", "algebra", "stats", "dates", "multi_turn", "recovery", "chat",
               "out_of_scope"]
    records = [r for i in range(300) if (r := builder.make(recipes[i % len(recipes)], "train", str(i)))]
    write_jsonl(tmp / "train.jsonl", records)
    assert main(["--data", str(tmp / "train.jsonl"), "--out", str(tmp / "tok"), "--vocab-size", "800"]) == 0
    return tmp / "tok"


@pytest.fixture(scope="module")
def tok(tok_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(tok_dir)


def test_special_tokens_are_single_ids(tok):
    seen = set()
    for token in [*SPECIAL_TOKENS, "<s>", "</s>", "<pad>"]:
        ids = tok(token, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, token
        assert tok.decode(ids) == token
        seen.add(ids[0])
    assert len(seen) == len(SPECIAL_TOKENS) + 3
    text = "<|im_start|>assistant\nok<|action_start|><|interpreter|>\n```python\nprint(1)\n```<|action_end|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok.convert_tokens_to_ids("<|action_end|>") in ids


def test_bos_is_added_and_pad_is_set(tok):
    assert tok("hi")["input_ids"][0] == tok.bos_token_id
    assert tok.pad_token == "<pad>" and tok.eos_token == "</s>"


def test_digits_are_one_per_token(tok):
    for text in ("1234567890", "x = 2024 * 365", "价格是 98765 元", "0.125"):
        pieces = tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])
        digits = [p for p in pieces if any(c.isdigit() for c in p)]
        assert all(len(p) == 1 for p in digits), pieces
        assert len(digits) == sum(c.isdigit() for c in text)


def test_chinese_and_any_text_round_trip(tok):
    for text in ["你好，世界！今天天气很好。", "解方程 x² - 5x + 6 = 0", "龘靐齉 𠮷 🙂 é ß", "混合 English 和中文 123"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
        assert tok.unk_token_id not in ids


CONVERSATIONS = [
    ([Message("user", "hi"), Message("assistant", "Hello!")], [], False, "en"),
    ([Message("system", "Be brief."), Message("user", "who are you?"), Message("assistant", "puyu.")], [], False, "en"),
    ([Message("user", "2**10?"),
      Message("assistant", "Let me compute.", tool_call=ToolCall("python", {"code": "print(2**10)\n"})),
      Message("environment", "1024", name="interpreter"), Message("assistant", "1024")], [], True, "en"),
    ([Message("user", "[{\"path\": \"a.png\"}]", name="file"), Message("user", "算一下 3*4"),
      Message("assistant", "", tool_call=ToolCall("calculator", {"expression": "3*4"})),
      Message("environment", "12", name="plugin"), Message("assistant", "等于 12。")], TOOLS, True, "zh"),
    ([Message("user", "搜索 年假"),
      Message("assistant", "", tool_call=ToolCall("knowledge_search", {"query": "年假 天数"})),
      Message("environment", "15 天", name="plugin"), Message("assistant", "15 天。")], TOOLS[1:], False, "en"),
]


@pytest.mark.parametrize("style", ["internlm2", "compact"])
@pytest.mark.parametrize("case", range(len(CONVERSATIONS)))
def test_chat_template_matches_the_protocol(tok, case, style):
    messages, tools, interpreter, lang = CONVERSATIONS[case]
    proto = InternLM2Protocol(language=lang, style=style)
    template = chat_template(style)
    dicts = []
    for m in messages:
        d = {"role": m.role, "content": m.content}
        if m.name:
            d["name"] = m.name
        if m.tool_call:
            d["tool_call"] = {"name": m.tool_call.name, "arguments": m.tool_call.arguments}
        dicts.append(d)
    got = tok.apply_chat_template(dicts, tools=tools or None, interpreter=interpreter, language=lang,
                                  tokenize=False, add_generation_prompt=True, chat_template=template)
    assert got == tok.bos_token + proto.render(messages, tools, interpreter)
    ended = tok.apply_chat_template(dicts, tools=tools or None, interpreter=interpreter, language=lang,
                                    tokenize=False, chat_template=template)
    assert ended == got.removesuffix(proto.generation_prompt)


def test_chat_template_matches_generated_records(tok, tok_dir):
    from puyu.core.records import read_jsonl
    for rec in list(read_jsonl(tok_dir.parent / "train.jsonl"))[:40]:
        dicts = [t.to_dict() for t in rec.conversation]
        got = tok.apply_chat_template(dicts, tools=rec.tools or None, interpreter=rec.interpreter,
                                      language=rec.prompt_lang, tokenize=False)
        assert got == tok.bos_token + render(rec)


def test_saved_folder_is_plain_transformers(tok_dir):
    config = json.loads((tok_dir / "tokenizer_config.json").read_text())
    assert "chat_template" in config and config["tokenizer_class"] == "PreTrainedTokenizerFast"
    stats = json.loads((tok_dir / "tokenizer_stats.json").read_text())
    assert stats["vocab_size"] == 800 and stats["mean"] > 0


def test_cli_reports_a_missing_data_file(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "t")]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_rejects_an_unknown_prompt_style(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "t"), "--prompt-style", "huge"])
    assert "--prompt-style: unknown prompt style 'huge'" in capsys.readouterr().err


# ---- the template on OpenAI-format conversations, as servers hand it over --------------------------------------

def registry_schemas(*names):
    """Real tool schemas (lagent's, with every key a tool has), as the agent hands them to the protocol."""
    import tempfile
    from pathlib import Path

    from puyu.tools.base import Toolbox
    from puyu.tools.registry import default_tools

    work = Path(tempfile.mkdtemp())
    return Toolbox(default_tools(work, work / "kb", set(names))).schemas()


CODE = 'x = 80 * 15 / 100\nprint(f"{x} \\\\ 中文")  # a "quote"\tand a tab'
OPENAI_CASES = [
    ([Message("user", "What is 15% of 80?"),
      Message("assistant", "Let me compute.", tool_call=ToolCall("python", {"code": CODE})),
      Message("environment", "12.0 \\ 中文", name="interpreter"), Message("assistant", "It is 12.")], (), True),
    ([Message("user", "计算 3*4"),
      Message("assistant", "", tool_call=ToolCall("calculator", {"expression": "3*4 乘"})),
      Message("environment", '{"result": "12"}', name="plugin"), Message("assistant", "等于 12。"),
      Message("user", "and x^2 = 4?"),
      Message("assistant", "", tool_call=ToolCall("solve", {"operation": "solve", "expression": "x^2 = 4"})),
      Message("environment", "[-2, 2]", name="plugin")], ("calculator", "solve"), True),
    ([Message("user", "hi"), Message("assistant", "Hello!"), Message("user", "who are you?")], ("calculator",), False),
]


@pytest.mark.parametrize("arguments", ["json", "dict"])
@pytest.mark.parametrize("style", ["internlm2", "compact"])
@pytest.mark.parametrize("case", range(len(OPENAI_CASES)))
def test_chat_template_renders_openai_conversations_as_the_protocol(tok, case, style, arguments):
    """What a server renders from an OpenAI request (function tools, `tool_calls`, `tool` messages) is the prompt
    puyu renders in process: with the arguments as the JSON text OpenAI clients send (llama.cpp hands them to the
    template so), or parsed into a dict (transformers serve and vLLM do that first)."""
    from puyu.core.protocols import OpenAIToolsProtocol

    messages, names, interpreter = OPENAI_CASES[case]
    schemas = registry_schemas(*names) if names else []
    want = tok.bos_token + InternLM2Protocol(style=style).render(messages, schemas, interpreter)
    for protocol in (OpenAIToolsProtocol(), InternLM2Protocol(style=style)):
        chat, tools = protocol.chat_request(messages, schemas, interpreter)
        if arguments == "dict":
            for m in chat:
                for c in m.get("tool_calls") or []:
                    c["function"]["arguments"] = json.loads(c["function"]["arguments"])
        got = tok.apply_chat_template(chat, tools=tools, tokenize=False, add_generation_prompt=True,
                                      chat_template=chat_template(style))
        assert got == want, type(protocol).__name__


def test_llama_cpp_renders_the_bundled_template_as_the_protocol():
    """llama-cpp-python's server renders a GGUF's chat template with its own Jinja environment."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (scripts/setup.sh installs it)")
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from puyu.core.protocols import OpenAIToolsProtocol
    from puyu.models import BUNDLED_MODEL

    template = (BUNDLED_MODEL / "chat_template.jinja").read_text("utf-8")
    formatter = Jinja2ChatFormatter(template, eos_token="</s>", bos_token="<s>")
    for messages, names, interpreter in OPENAI_CASES:
        schemas = registry_schemas(*names) if names else []
        chat, tools = OpenAIToolsProtocol().chat_request(messages, schemas, interpreter)
        got = formatter(messages=chat, tools=tools).prompt
        assert got == "<s>" + InternLM2Protocol(style="compact").render(messages, schemas, interpreter)


# ---- the bundled model: tool-call tokens that survive servers, nothing else changed ------------------------------

def test_bundled_tokenizer_keeps_tool_call_tokens_when_special_ones_are_skipped():
    from transformers import AutoTokenizer

    from puyu.models import BUNDLED_MODEL
    from puyu.training.tokenizer import ALL_SPECIAL

    tok = AutoTokenizer.from_pretrained(BUNDLED_MODEL)
    assert [tok.convert_tokens_to_ids(t) for t in ALL_SPECIAL] == list(range(len(ALL_SPECIAL)))
    call = "ok<|action_start|><|plugin|>\n{\"name\": \"ocr\"}<|action_end|>\n<|im_end|>"
    assert tok.decode(tok(call)["input_ids"], skip_special_tokens=True) == call.removesuffix("<|im_end|>")
    assert (BUNDLED_MODEL / "chat_template.jinja").read_text("utf-8") == chat_template("compact")


@pytest.mark.slow
def test_bundled_model_answers_as_before_its_tokens_became_plain(tmp_path, monkeypatch):
    """The shipped tokenizer differs from the one the model was trained with only in the `special` flag of the
    tool-call tokens: the same ids for every text, and the same greedy answers and calls in process."""
    import shutil

    from transformers import AutoTokenizer

    from puyu.core.protocols.internlm2 import ACTION_TOKENS, SPECIAL_TOKENS
    from puyu.models import BUNDLED_MODEL
    from tests.test_server_matrix import matrix

    before = tmp_path / "puyu-tiny"
    shutil.copytree(BUNDLED_MODEL, before)
    data = json.loads((before / "tokenizer.json").read_text("utf-8"))
    flipped = [t for t in data["added_tokens"] if t["content"] in ACTION_TOKENS and not t["special"]]
    assert len(flipped) == len(ACTION_TOKENS)
    for token in flipped:
        token["special"] = True
    (before / "tokenizer.json").write_text(json.dumps(data), "utf-8")
    config = json.loads((before / "tokenizer_config.json").read_text("utf-8"))
    config["extra_special_tokens"] = list(SPECIAL_TOKENS)
    (before / "tokenizer_config.json").write_text(json.dumps(config), "utf-8")

    old, new = AutoTokenizer.from_pretrained(before), AutoTokenizer.from_pretrained(BUNDLED_MODEL)
    texts = [InternLM2Protocol(style="compact").render(m, [], i) + "ok<|action_start|><|plugin|>\n{}<|action_end|>"
             for m, _, i, _ in CONVERSATIONS] + ["你好 12345 🙂", "<|im_end|><|action_end|><|interpreter|>x"]
    for text in texts:
        assert old(text)["input_ids"] == new(text)["input_ids"]
        assert old.decode(old(text)["input_ids"]) == new.decode(new(text)["input_ids"])
    monkeypatch.setenv("PUYU_CONFIG", str(tmp_path / "none.yaml"))
    for question, args in matrix.QUESTIONS.values():
        now = matrix.ask(question, ["--model", str(BUNDLED_MODEL), *args], tmp_path / "data")
        then = matrix.ask(question, ["--model", str(before), *args], tmp_path / "data")
        assert now["ok"] and (now["answer"], now["calls"]) == (then["answer"], then["calls"]), question
