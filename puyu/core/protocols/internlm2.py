"""InternLM2's native chat and tool format, as InternLM's chat-format document defines it.

    <|im_start|>system name=<|interpreter|>\n...<|im_end|>\n            tools are declared in system turns
    <|im_start|>assistant\nthought<|action_start|><|interpreter|>\n```python\ncode\n```<|action_end|>\n<|im_end|>\n
    <|im_start|>environment name=<|interpreter|>\noutput<|im_end|>\n   results come back in environment turns

This module is the only place that writes this text: the agent, the training data and the tokenizer's
chat_template test all go through it (tests/test_protocols.py checks it against lagent).
"""
from __future__ import annotations

import json
import re

from puyu.core.card import check_style
from puyu.core.messages import INTERPRETER, ToolCall
from puyu.core.protocols.base import Parsed, Protocol, Segment, load_prompts

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
ACTION_START, ACTION_END = "<|action_start|>", "<|action_end|>"
INTERPRETER_TOKEN, PLUGIN_TOKEN = "<|interpreter|>", "<|plugin|>"
SPECIAL_TOKENS = [IM_START, IM_END, ACTION_START, ACTION_END, INTERPRETER_TOKEN, PLUGIN_TOKEN]
"""InternLM2's chat tokens: each is one token, never split or merged."""
ACTION_TOKENS = [ACTION_START, ACTION_END, INTERPRETER_TOKEN, PLUGIN_TOKEN]
"""The chat tokens a tool call is written with. puyu's tokenizers keep them as added tokens that are not *special*,
so that a server which drops special tokens from what it returns (llama.cpp, `transformers serve`) still returns
them; <|im_start|> and <|im_end|> stay special (the end of a turn is the end of generation)."""

# `name=` values that InternLM2 writes as tokens; any other name (e.g. "file") is written as it is.
_NAME_TOKENS = {"interpreter": INTERPRETER_TOKEN, "plugin": PLUGIN_TOKEN}
_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:\n```|$)", re.DOTALL)

# lagent prefixes each plugin's description with this line; kept so that prompts match what InternLM2 saw.
API_PREFIX = ("This is the subfunction for tool '{tool_name}', you can use this tool. "
              "The description of this function is: \n{description}")


def code_block(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


PROMPT_FILES = {"internlm2": "internlm2", "compact": "internlm2-compact"}
"""The prompt file (prompts/<file>.yaml) of each prompt style the model card can name."""


def summary(description: str) -> str:
    """A tool description's first sentence (the compact style's tool line)."""
    return description.split(". ")[0]


def plugin_list(tools: list[dict], style: str = "internlm2") -> str:
    """The tools for the `system name=<|plugin|>` turn. internlm2: lagent's JSON list (required parameters only);
    compact: one line per tool, `name(required, ...): first sentence`."""
    if style == "compact":
        return "\n".join(f"{t['name']}({', '.join(t['required'])}): {summary(t['description'])}" for t in tools)
    shown = []
    for tool in tools:
        tool = dict(tool)
        tool["description"] = API_PREFIX.format(tool_name=tool["name"].split(".")[0],
                                                description=tool["description"])
        tool["parameters"] = [p for p in tool["parameters"] if p["name"] in tool["required"]]
        shown.append(tool)
    return json.dumps(shown, ensure_ascii=False, indent=4)


def turn(role: str, content: str, name: str | None = None) -> str:
    head = role if name is None else f"{role} name={_NAME_TOKENS.get(name, name)}"
    return f"{IM_START}{head}\n{content}{IM_END}\n"


def action_text(call: ToolCall) -> str:
    """A call as the model writes it, up to and including <|action_end|>."""
    if call.is_interpreter:
        return f"{ACTION_START}{INTERPRETER_TOKEN}\n{code_block(call.arguments['code'])}{ACTION_END}"
    body = json.dumps({"name": call.name, "parameters": call.arguments})
    return f"{ACTION_START}{PLUGIN_TOKEN}\n{body}{ACTION_END}"


class InternLM2Protocol(Protocol):
    stop = [ACTION_END, IM_END]
    call_markers = (ACTION_START,)
    kept_tokens = (ACTION_START,)
    generation_prompt = f"{IM_START}assistant\n"

    def __init__(self, language: str = "en", meta: str | None = None, interpreter_prompt: str | None = None,
                 plugin_prompt: str | None = None, style: str = "internlm2"):
        self.style, self.language = check_style(style), language
        prompts = load_prompts(PROMPT_FILES[style])[language]
        self.meta = prompts["meta"] if meta is None else meta
        self.interpreter_prompt = prompts["interpreter"] if interpreter_prompt is None else interpreter_prompt
        self.plugin_prompt = prompts["plugin"] if plugin_prompt is None else plugin_prompt

    def system_turns(self, tools: list[dict], interpreter: bool) -> str:
        text = turn("system", self.meta) if self.meta else ""
        if interpreter and self.interpreter_prompt:
            text += turn("system", self.interpreter_prompt, "interpreter")
        if tools and self.plugin_prompt:
            text += turn("system", self.plugin_prompt.format(tools=plugin_list(tools, self.style)), "plugin")
        return text

    def segments(self, messages, tools, interpreter):
        out = [Segment(self.system_turns(tools, interpreter), False, -1)]
        for i, m in enumerate(messages):
            if m.role != "assistant":
                out.append(Segment(turn(m.role, m.content, m.name), False, i))
                continue
            out.append(Segment(f"{IM_START}assistant\n", False, i))
            if m.tool_call is None:
                out += [Segment(m.content + IM_END, True, i), Segment("\n", False, i)]
            else:
                out += [Segment(m.content + action_text(m.tool_call), True, i), Segment(f"\n{IM_END}\n", False, i)]
        return [s for s in out if s.text]

    def parse(self, text: str) -> Parsed:
        return parse_reply(text)

    def chat_request(self, messages, tools, interpreter):
        """For a server that renders the model's chat template: the messages with their InternLM2 names, the
        tools as OpenAI functions (`python` for the interpreter). puyu's models' template renders them as
        `render` does; a custom system prompt becomes a system turn after the template's own."""
        from puyu.core.protocols.openai_format import chat_messages, function_tool
        from puyu.core.protocols.react import PYTHON_TOOL

        system = None if self.meta == load_prompts(PROMPT_FILES[self.style])[self.language]["meta"] else self.meta
        functions = [function_tool(t) for t in ([PYTHON_TOOL] if interpreter else []) + list(tools)]
        return chat_messages(messages, system, names=True), functions or None


def parse_reply(text: str) -> Parsed:
    """Read an InternLM2 reply: its text, and the <|action_start|> call it ends with, if any."""
    text = text.split(IM_END)[0]
    if ACTION_START not in text:
        return Parsed(text.strip())
    before, _, action = text.partition(ACTION_START)
    before = before.strip()
    closed = ACTION_END in action
    body = action.split(ACTION_END)[0]
    if body.startswith(INTERPRETER_TOKEN):
        return _parse_code(before, body[len(INTERPRETER_TOKEN):], closed)
    if body.startswith(PLUGIN_TOKEN):
        return _parse_plugin(before, body[len(PLUGIN_TOKEN):])
    return Parsed(before, error=f"An action must start with {INTERPRETER_TOKEN} or {PLUGIN_TOKEN}.")


def _parse_code(before: str, body: str, closed: bool) -> Parsed:
    body = body.strip("\n")
    match = _FENCE.search(body)
    if match is None and "```" in body:
        return Parsed(before, error="The code block is not well formed; write ```python, the code, then ```.")
    code = match.group(1) if match else body
    if match and not body.rstrip().endswith("```") and not closed:
        return Parsed(before, error="The code block was cut off before it was closed; send a shorter program.")
    if not code.strip():
        return Parsed(before, error="The interpreter call has no code.")
    return Parsed(before, ToolCall(INTERPRETER, {"code": code.strip("\n")}))


def _parse_plugin(before: str, body: str) -> Parsed:
    try:
        data = json.loads(body.strip())
    except json.JSONDecodeError as e:
        return Parsed(before, error=f"The plugin call is not valid JSON ({e.msg} at char {e.pos}); "
                                    'write {"name": "<tool>", "parameters": {...}}.')
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return Parsed(before, error='A plugin call must be a JSON object {"name": "<tool>", "parameters": {...}}.')
    args = data.get("parameters", data.get("arguments", {}))
    if not isinstance(args, dict):
        return Parsed(before, error='"parameters" must be a JSON object.')
    return Parsed(before, ToolCall(data["name"], args))
