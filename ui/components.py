"""How agent events look on the page. `TurnView` draws one assistant turn from its events, the same way whether
they stream in live or are replayed from the store, so a reloaded conversation looks as it did.

Model and tool text only reach the page through `st.markdown` (which never renders raw HTML unless told to, and
is never told to here), `st.code` and `st.json`. Files (images, downloads) are read only from the conversation's
work dir, through `puyu.tools.workdir` (no links followed: the code may have swapped a result for one).
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from puyu.core.messages import (
    ErrorEvent,
    Event,
    FinalEvent,
    Source,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
)
from puyu.tools.workdir import PathRefused, WorkDir
from puyu.ui.i18n import t

STOPPED = "Stopped."
"""The message of the ErrorEvent the agent ends a cancelled turn with."""
REDRAW_S = 0.03
"""Streaming text is redrawn at most this often (the first token always at once): each redraw is a websocket
message, and a page that redraws every token of a fast model falls behind."""
CURSOR = " ▌"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
MAX_SHOWN_BYTES = 64 * 2**20
"""Larger files are not drawn or offered for download in the page (they stay in the work dir)."""

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_DISPLAY_MATH = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_INLINE_MATH = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_BARE_NUMBER = re.compile(r"^([ \t]*-?\d+)\.(?=[ \t]*$)", re.M)  # "36." alone on its line
_REF_LINE = re.compile(r"^\[(?:image|file): [^\]]+\]$", re.MULTILINE)


def display_text(text: str) -> str:
    """Model Markdown as Streamlit should draw it: `\\(x\\)` and `\\[x\\]` (what models often write) become `$x$`
    and `$$x$$` (what Streamlit's KaTeX reads), and a line that is only a number and a full stop ("36.", a short
    answer) stays a number instead of becoming an empty list item numbered 36; code is left as it is."""
    out, last = [], 0
    for m in _CODE.finditer(text):
        out += [_prose(text[last:m.start()]), m.group(0)]
        last = m.end()
    out.append(_prose(text[last:]))
    return "".join(out)


def _prose(s: str) -> str:
    s = _BARE_NUMBER.sub(r"\1\\.", s)
    s = _DISPLAY_MATH.sub(lambda m: f"$${m.group(1)}$$", s)
    return _INLINE_MATH.sub(lambda m: f"${m.group(1)}$", s)


def tool_label(call: ToolCall, lang: str, result: ToolResult | None = None) -> str:
    """A step's title: the tool and what it was given (the code's first line, or the first argument), so that a
    collapsed step still says what it did. Once the result is known, it names what really ran: the file the
    toolbox used when the model named one that does not exist, or that there is no such tool."""
    if result is not None and result.unknown_tool:
        return t(lang, "unknown_tool", name=call.name[:40])
    name = t(lang, "python") if call.is_interpreter else call.name
    arguments = result.arguments if result is not None and result.arguments is not None else call.arguments
    if call.is_interpreter:
        hint = next((ln.strip() for ln in str(arguments.get("code", "")).splitlines() if ln.strip()), "")
    else:
        first = next((v for v in arguments.values() if isinstance(v, (str, int, float))), "")
        hint = Path(first).name if isinstance(first, str) and "/" in first else str(first)
    hint = hint.replace("`", "'")
    return f"{name} · `{hint[:60]}{'…' if len(hint) > 60 else ''}`" if hint else name


def problem(message: str, detail: str = "", lang: str = "en") -> None:
    """An error in plain words, with what only an expert needs (a traceback, the server's reply) one click away."""
    st.error(message, icon=":material/error:")
    if detail.strip() and detail.strip() != message.strip():
        with st.expander(t(lang, "details"), icon=":material/info:"):
            st.code(detail, language=None, wrap_lines=True)


def error_text(event: ErrorEvent, lang: str) -> str:
    """What to tell a person about an agent error, in their language (the agent's own words where the page has
    none, e.g. for conversations stored before errors had kinds)."""
    if event.kind == "model":
        return t(lang, "error_model", detail=event.message.removeprefix("The model failed: "))
    if event.kind in ("gave_up", "max_steps", "repetition", "interpreter_off"):
        return t(lang, f"error_{event.kind}")
    return event.message


def output_text(result: ToolResult) -> str:
    """The tool's text without the `[image: path]` lines the toolbox adds: those images are drawn instead."""
    return _REF_LINE.sub("", result.text).strip()


class TurnView:
    """Draws one assistant turn into the current container, event by event."""

    def __init__(self, lang: str, live: bool = False, workdir: Path | None = None):
        self.lang = lang
        self.live = live
        self.workdir = workdir
        """The conversation's work dir: the only place its images and downloads are read from."""
        self._text = ""
        self._slot: Any = None
        self._drawn_at = 0.0
        self._steps: dict[str, tuple[str, Any, float]] = {}
        """Live steps whose result has not come yet: call id -> (label, status container, start time)."""
        self._pending: ToolCall | None = None
        """Replayed, a step is drawn when its result is known, already in its final state."""
        if live:
            self.waiting()  # the cursor shows at once that an answer is on its way

    def waiting(self) -> None:
        """Nothing new from the agent for a moment: show that it is still at work (the running step's time, or
        the cursor). Drawing also gives Streamlit the chance to interrupt the run when the user pressed Stop."""
        if self._steps:
            label, step, started = list(self._steps.values())[-1]
            running = t(self.lang, "step_running", tool=label)
            # the same state and expansion as when it was opened: an update without them would close it
            step.update(label=f"{running} {time.monotonic() - started:.0f} s", state="running", expanded=True)
            return
        if self._slot is None:
            self._slot = st.empty()
        self._slot.markdown(display_text(self._text) + CURSOR)

    def add(self, event: Event) -> None:
        if self._pending is not None and not (isinstance(event, ToolResultEvent) and event.call.id == self._pending.id):
            self._stopped_step(self._pending)  # replayed: a call that never got its result
        if isinstance(event, TokenEvent):
            self._token(event.text)
        elif isinstance(event, FinalEvent):
            self._final(event.text)
        elif isinstance(event, ToolCallEvent):
            self._end_text()
            self._call(event.call)
        elif isinstance(event, ToolResultEvent):
            self._result(event.call, event.result)
        elif isinstance(event, ErrorEvent):
            self._end_text()
            self._error(event)

    def close(self) -> None:
        """The turn is over: draw the last text without the cursor and mark steps that never finished."""
        self._end_text()
        if self._pending is not None:
            self._stopped_step(self._pending)
        for label, step, _ in self._steps.values():
            step.update(label=t(self.lang, "step_stopped", tool=label), state="error", expanded=False)
        self._steps.clear()

    # ---- text --------------------------------------------------------------------------------------------
    def _token(self, text: str) -> None:
        self._text += text
        if self._slot is None:
            self._slot = st.empty()
        now = time.monotonic()
        if not self.live:
            return
        if now - self._drawn_at >= REDRAW_S or not self._drawn_at:
            self._slot.markdown(display_text(self._text) + CURSOR)
            self._drawn_at = now

    def _final(self, text: str) -> None:
        if self._slot is None:
            self._slot = st.empty()
        self._text = text
        self._end_text()

    def _end_text(self) -> None:
        if self._slot is not None:
            if self._text.strip():
                self._slot.markdown(display_text(self._text))
            else:
                self._slot.empty()
        self._slot, self._text, self._drawn_at = None, "", 0.0

    # ---- tool steps ------------------------------------------------------------------------------------
    def _call(self, call: ToolCall) -> None:
        if not self.live:
            self._pending = call
            return
        label = tool_label(call, self.lang)
        step = self._open(call, t(self.lang, "step_running", tool=label), "running", expanded=True)
        self._steps[call.id] = (label, step, time.monotonic())

    def _open(self, call: ToolCall, title: str, state: str, expanded: bool) -> Any:
        step = st.status(title, state=state, expanded=expanded)
        with step:
            if call.is_interpreter:
                st.code(str(call.arguments.get("code", "")), language="python")
            else:
                st.caption(t(self.lang, "arguments"))
                st.code(json.dumps(call.arguments, ensure_ascii=False, indent=2), language="json", wrap_lines=True)
        return step

    def _stopped_step(self, call: ToolCall) -> None:
        self._pending = None
        self._open(call, t(self.lang, "step_stopped", tool=tool_label(call, self.lang)), "error", expanded=False)

    def _result(self, call: ToolCall, result: ToolResult) -> None:
        label = tool_label(call, self.lang, result)
        title = t(self.lang, "step_done" if result.ok or result.unknown_tool else "step_failed", tool=label)
        state = "complete" if result.ok else "error"
        if call.id in self._steps:
            step = self._steps.pop(call.id)[1]
        else:  # replayed (or a result whose call was not seen): drawn finished at once
            self._pending = None
            step = self._open(call, title, state, expanded=False)
        text = output_text(result)
        with step:
            st.caption(t(self.lang, "output") if result.ok else t(self.lang, "error"))
            _tool_output(text or t(self.lang, "no_output"))
        if self.live:
            step.update(label=title, state=state, expanded=not result.ok)
        for path in result.images:
            show_image(path, self.lang, workdir=self.workdir)
        for i, path in enumerate(result.files):
            if Path(path).suffix.lower() in IMAGE_SUFFIXES and path not in result.images:
                show_image(path, self.lang, workdir=self.workdir)
            else:
                download(path, self.lang, key=f"dl-{call.id}-{i}", workdir=self.workdir)

    # ---- errors ------------------------------------------------------------------------------------------
    def _error(self, event: ErrorEvent) -> None:
        if event.recoverable:
            if event.kind:
                st.caption(":material/replay: " + t(self.lang, "retry_plain"), help=event.detail or None)
            else:  # stored before errors had kinds: the message is the parser's own
                st.caption(":material/replay: " + t(self.lang, "retry", message=event.message))
        elif event.kind == "stopped" or event.message == STOPPED:
            st.caption(":material/stop_circle: " + t(self.lang, "stopped"))
        else:
            problem(error_text(event, self.lang), event.detail, self.lang)


def _tool_output(text: str) -> None:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    structured = isinstance(data, (dict, list))
    if structured:
        text = json.dumps(data, ensure_ascii=False, indent=2)
    st.code(text, language="json" if structured else "text", height=_height(text), wrap_lines=True)


def _height(text: str) -> int | str:
    return 320 if text.count("\n") > 14 else "content"


def conversation_file(path: str, workdir: Path | None) -> bytes | None:
    """The bytes of a file of the conversation, or None when it is gone, too large, or not a regular file of its
    work dir reached without links."""
    if workdir is None:
        return None
    try:
        return WorkDir(workdir).read(path, MAX_SHOWN_BYTES)
    except PathRefused:
        return None


def show_image(path: str, lang: str, width: int | str = "content", workdir: Path | None = None) -> None:
    data = conversation_file(path, workdir)
    if data is not None:
        st.image(data, width=width)
    else:
        st.caption(t(lang, "missing_file", name=Path(path).name))


def download(path: str, lang: str, key: str, workdir: Path | None = None) -> None:
    name = Path(path).name
    data = conversation_file(path, workdir)
    if data is None:
        st.caption(t(lang, "missing_file", name=name))
        return
    st.download_button(t(lang, "download", name=name), data, file_name=name, key=key,
                       on_click="ignore", icon=":material/download:", type="tertiary")


def user_turn(text: str, attachments: Iterable[str], lang: str, workdir: Path | None = None) -> None:
    """The question, with thumbnails of attached images and the names of other files."""
    attachments = list(attachments)
    if text:
        st.markdown(display_text(text))
    images = [a for a in attachments if Path(a).suffix.lower() in IMAGE_SUFFIXES]
    others = [Path(a).name for a in attachments if a not in images]
    for path in images:
        show_image(path, lang, width=240, workdir=workdir)
    if others:
        st.caption(":material/attach_file: " + t(lang, "attached", names=", ".join(others)))


def where(source: Source, lang: str) -> str:
    """Where a passage is: "manual.pdf · p. 3", "handbook.md · Leave", or the file alone."""
    place = t(lang, "page", page=source.page) if source.page else source.section
    return f"{source.file} · {place}" if place else source.file


def show_sources(sources: list[Source], lang: str) -> None:
    """The passages an answer drew on, under it: where each is, and the passage itself one click away."""
    st.caption(f":material/menu_book: {t(lang, 'sources')}")
    for source in sources:
        with st.expander(where(source, lang), icon=":material/description:"):
            st.text(source.passage)
            if source.knowledge_base:
                st.caption(f"{t(lang, 'kb_choose')}: {source.knowledge_base}")
