"""The tool interface: AgentLego's `BaseTool`, and the `Toolbox` the agent calls tools through.

Every tool reaches the agent as a lagent action: AgentLego tools (ours included) convert with `to_lagent()`,
lagent actions are taken as they are. So one code path runs all three kinds, and the schema the model sees
is lagent's `description` dict: {"name", "description", "parameters": [{"name", "type", "description"}], "required"}.
"""
from __future__ import annotations

import ast
import contextlib
import json
import re
import shutil
from pathlib import Path, PurePath
from typing import Any, Iterable

from agentlego.tools import BaseTool  # noqa: F401  (re-exported: the base class of puyu's tools)
from lagent.actions import BaseAction
from lagent.schema import ActionStatusCode

from puyu.core.messages import ToolCall, ToolResult
from puyu.tools.files import FILE_ARGUMENTS, replace_missing_files, uploads_in
from puyu.tools.workdir import Missing, PathRefused, WorkDir

_JSON_TYPES = {"STRING": str, "NUMBER": (int, float), "FLOAT": (int, float), "BOOLEAN": bool}


MAX_INPUT_BYTES = 100 * 2**20
"""Largest file a tool is handed (each tool has its own, smaller limits too)."""

_REPR = re.compile(r"^(\w+)\((.*)\)$", re.S)


def readable_error(errmsg: str | None) -> str:
    """AgentLego's lagent wrapper reports `repr(exception)`, e.g. `ToolError('box out of range')`;
    turn that into `box out of range` (ToolError: the message is meant for the model) or `ValueError: ...`."""
    m = _REPR.match(errmsg or "")
    if not m:
        return errmsg or "unknown error"
    try:
        message = ast.literal_eval(m.group(2))
    except (ValueError, SyntaxError):
        return errmsg
    if not isinstance(message, str):
        return errmsg
    return message if m.group(1) == "ToolError" else f"{m.group(1)}: {message}"


def as_action(tool: Any) -> BaseAction:
    """An AgentLego tool or a lagent action, as a lagent action."""
    if isinstance(tool, BaseAction):
        return tool
    if hasattr(tool, "to_lagent"):
        return tool.to_lagent()
    raise TypeError(f"{tool!r} is neither an AgentLego tool nor a lagent action")


def tool_schema(action: BaseAction) -> dict:
    """The schema shown to the model (lagent's api-info format), derived once from the tool's inputs."""
    d = dict(action.description)
    d.setdefault("parameters", [])
    d.setdefault("required", [p["name"] for p in d["parameters"]])
    return d


def check_arguments(schema: dict, args: Any) -> str | None:
    """Why `args` do not fit `schema`, or None when they do."""
    if not isinstance(args, dict):
        return f"arguments must be a JSON object, got {type(args).__name__}"
    params = {p["name"]: p for p in schema["parameters"]}
    missing = [r for r in schema["required"] if r not in args]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}"
    unknown = [a for a in args if a not in params]
    if unknown:
        return f"unknown argument(s): {', '.join(unknown)}; expected {', '.join(params) or 'none'}"
    for name, value in args.items():
        want = _JSON_TYPES.get(str(params[name].get("type", "STRING")).upper())
        if want and (not isinstance(value, want) or (want != bool and isinstance(value, bool))):
            return f"argument {name!r} must be {params[name]['type']}, got {type(value).__name__} {value!r}"
    return None


class Toolbox:
    """The tools one conversation may use. `run` never raises: every failure becomes a ToolResult
    with ok=False and a message the model can act on.

    With a work dir, file arguments name files of the conversation (see `puyu.tools.workdir`): each is opened there
    without following links and handed to the tool as a private copy, so what the tool reads is what was checked;
    the files a tool returns are kept in the work dir, written the same careful way."""

    def __init__(self, tools: Iterable[Any] = (), interpreter: Any = None, workdir: str | Path | None = None):
        self.actions = {a.name: a for a in map(as_action, tools)}
        self.interpreter = interpreter
        self.workdir = Path(workdir).resolve() if workdir else None

    def schemas(self) -> list[dict]:
        return [tool_schema(a) for a in self.actions.values()]

    def run(self, call: ToolCall) -> ToolResult:
        if call.is_interpreter:
            if self.interpreter is None:
                return ToolResult("The Python interpreter is switched off in this conversation.", ok=False)
            code = call.arguments.get("code")
            if not isinstance(code, str) or not code.strip():
                return ToolResult("The interpreter needs a non-empty Python code block.", ok=False)
            return self.interpreter.run(code)
        action = self.actions.get(call.name)
        if action is None:
            known = ", ".join(self.actions) or "none"
            return ToolResult(f"Unknown tool {call.name!r}. Available tools: {known}.", ok=False, unknown_tool=True)
        problem = check_arguments(tool_schema(action), call.arguments)
        if problem:
            return ToolResult(f"Bad arguments for {call.name}: {problem}.", ok=False)
        if self.workdir is None:
            return self._call(action, call, call.arguments, [], None)
        arguments, notes = self._find_files(call.arguments)
        used = arguments if arguments != call.arguments else None  # the arguments the tool really ran with
        with contextlib.ExitStack() as copies:
            try:
                staged, shown = self._stage(arguments, copies)
            except PathRefused as e:
                return ToolResult(f"{call.name} was not run: {e}", ok=False)
            result = self._call(action, call, staged, notes, used)
        for copy, original in shown.items():  # the model should see its own names, not our private copies
            result.text = result.text.replace(copy, original)
        return result

    def _call(self, action: BaseAction, call: ToolCall, arguments: dict, notes: list[str],
              used: dict | None) -> ToolResult:
        try:
            ret = action(json.dumps(arguments, ensure_ascii=False))
        except Exception as e:  # a tool's crash is the model's observation, not ours
            return ToolResult(f"{call.name} failed: {type(e).__name__}: {e}", ok=False, arguments=used)
        if ret.state != ActionStatusCode.SUCCESS:
            return ToolResult(f"{call.name} failed: {readable_error(ret.errmsg)}", ok=False, arguments=used)
        result = self._to_result(ret.result)
        result.arguments = used
        cites = getattr(getattr(action, "tool", action), "read_sources", None)  # AgentLego tools sit in `.tool`
        if cites is not None:
            result.sources = cites(result.text)
        if notes:
            result.text = "\n".join(notes) + "\n" + result.text
        return result

    def _find_files(self, arguments: dict) -> tuple[dict, list[str]]:
        """Arguments with a path to no file of the conversation replaced by the upload they most likely mean, with
        notes. A path outside the work dir is never looked at: it is replaced too, or refused by `_stage`."""
        work = WorkDir(self.workdir)

        def existing(value: str) -> str | None:
            rel = work.find(value)
            return None if rel is None else str(work.root / rel)

        return replace_missing_files(arguments, existing, uploads_in(self.workdir))

    def _stage(self, arguments: dict, copies: contextlib.ExitStack) -> tuple[dict, dict[str, str]]:
        """Each file argument replaced by a private copy of the conversation's file it names (kept until `copies`
        closes), and {copy's path: the path the model gave}. Raises PathRefused for a path that leaves the work dir,
        a link, a missing file or anything that is not a regular file."""
        work, staged, shown = WorkDir(self.workdir), dict(arguments), {}
        for name, value in arguments.items():
            if name not in FILE_ARGUMENTS or not isinstance(value, str) or not value.strip():
                continue
            try:
                copy = copies.enter_context(work.private_copy(value, MAX_INPUT_BYTES))
            except Missing:
                raise PathRefused(f"No such file: {value} in this conversation. Its uploads: "
                                  f"{', '.join(_names(uploads_in(self.workdir))) or 'none'}.") from None
            staged[name], shown[str(copy)] = str(copy), value
        return staged, shown

    def _to_result(self, items: Any) -> ToolResult:
        texts, images, files = [], [], []
        for item in items if isinstance(items, list) else [dict(type="text", content=items)]:
            kind, content = item.get("type", "text"), item.get("content")
            if kind in ("image", "file") and isinstance(content, str):
                path = self._keep(content)
                if path is None:
                    texts.append(f"[{kind} left out: {content} is not a regular file of this conversation]")
                    continue
                (images if kind == "image" else files).append(path)
                texts.append(f"[{kind}: {path}]")
            else:
                texts.append(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
        return ToolResult("\n".join(texts), images=images, files=files)

    def _keep(self, path: str) -> str | None:
        """A tool's output file, kept in the conversation's work dir: one there already (puyu's tools write there)
        if it is a regular file reached without links; one elsewhere (a tool's temp dir) copied into
        tool_outputs/. None for what may not be shown."""
        if self.workdir is None:
            return path
        work = WorkDir(self.workdir)
        try:
            rel = work.relative(path)
        except PathRefused:
            rel = None
        if rel is not None:
            return str(work.root / rel) if work.find(rel) else None
        src = Path(path)
        if not src.is_file():
            return None
        numbered = (f"{src.stem}_{n}{src.suffix}" for n in range(1, 1000))
        try:
            with work.create("tool_outputs", src.name, numbered) as (out, dst), open(src, "rb") as inp:
                shutil.copyfileobj(inp, out)
        except PathRefused:
            return None
        return str(dst)

    def close(self) -> None:
        if self.interpreter is not None:
            self.interpreter.close()


def _names(paths: list[str]) -> list[str]:
    return [f"uploads/{PurePath(p).name}" for p in paths]
