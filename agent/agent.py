"""The planner: ask the model, run the tool it calls, hand back the result, repeat — a bounded loop that
yields typed events as they happen. Everything else (UI, CLI, server, eval) only consumes these events."""
from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator

from puyu.core.config import AgentConfig, GenerationConfig
from puyu.core.messages import (
    ErrorEvent,
    Event,
    FinalEvent,
    Message,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
)
from puyu.core.protocols import InternLM2Protocol, Protocol
from puyu.models.base import ChatModel, ModelError
from puyu.tools.base import Toolbox, check_arguments


def held_back(text: str, markers: tuple[str, ...]) -> int:
    """How much of streamed `text` is safe to show: up to a call marker, and never a marker's first half."""
    cut = min((i for i in (text.find(m) for m in markers) if i >= 0), default=len(text))
    for m in markers:
        for k in range(min(len(m) - 1, cut), 0, -1):
            if text[:cut].endswith(m[:k]):
                return cut - k
    return cut


@dataclasses.dataclass
class Usage:
    """Tokens one run read and wrote, summed over its model calls; None once a call's count is unknown (a backend
    that cannot count, or a server that rendered the prompt itself)."""

    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0

    def add(self, prompt: int | None, completion: int | None) -> None:
        self.prompt_tokens = None if prompt is None or self.prompt_tokens is None else self.prompt_tokens + prompt
        self.completion_tokens = (None if completion is None or self.completion_tokens is None
                                  else self.completion_tokens + completion)


class Agent:
    def __init__(self, model: ChatModel, toolbox: Toolbox | None = None, protocol: Protocol | None = None,
                 config: AgentConfig | None = None, gen: GenerationConfig | None = None,
                 client_tools: list[dict] | None = None):
        """`client_tools`: schemas of tools the caller runs itself (a `puyu serve` client's own `tools`): the model
        sees them beside the toolbox's, and a call to one ends the run with its ToolCallEvent, for the caller to
        run and to continue the conversation with its result."""
        self.model = model
        self.client_tools = list(client_tools or [])
        self.toolbox = toolbox or Toolbox()
        self.protocol = protocol or InternLM2Protocol()
        self.config = config or AgentConfig()
        self.gen = gen or GenerationConfig()
        self.usage = Usage()
        """What the last run() read and wrote (puyu serve reports it as the answer's `usage`)."""

    def schemas(self) -> list[dict]:
        """The tools the model is shown: the toolbox's, then the caller's own."""
        return self.toolbox.schemas() + self.client_tools

    def prompt(self, messages: list[Message]) -> str:
        return self.protocol.render(messages, self.schemas(), interpreter=self.toolbox.interpreter is not None)

    def run(self, messages: list[Message], cancel: threading.Event | None = None) -> Iterator[Event]:
        """Answer the last user turn of `messages`, appending the assistant and environment turns to it."""
        cancel = cancel or threading.Event()
        self.usage = Usage()
        failures: list[str] = []
        failed_calls: set[str] = set()
        for _ in range(self.config.max_steps):
            try:
                text, parsed = yield from self._generate(messages, cancel)
            except ModelError as e:
                yield ErrorEvent(f"The model failed: {e}")
                return
            if cancel.is_set():
                yield ErrorEvent("Stopped.")
                return
            if parsed.call is None and parsed.error is None:
                messages.append(Message("assistant", parsed.text))
                yield FinalEvent(parsed.text)
                return
            if parsed.error is not None:  # the model tried to call a tool and wrote it wrong
                messages.append(Message("assistant", text))
                messages.append(Message("environment", f"Error: {parsed.error}", name="plugin"))
                failures.append(parsed.error)
                yield ErrorEvent(parsed.error, recoverable=True)
            else:
                call = parsed.call
                messages.append(Message("assistant", parsed.text, tool_call=call))
                client = next((t for t in self.client_tools if t["name"] == call.name), None)
                problem = check_arguments(client, call.arguments) if client else None
                if problem:  # a call of the caller's own tool that it could not run: the model gets another try
                    error = f"Bad arguments for {call.name}: {problem}."
                    messages.append(Message("environment", f"Error: {error}", name="plugin"))
                    failures.append(error)
                    yield ErrorEvent(error, recoverable=True)
                else:
                    yield ToolCallEvent(call)
                    if client:
                        return  # the caller runs its own tool and continues the conversation with the result
                    result = self._run_tool(call, failed_calls, cancel)
                    yield ToolResultEvent(call, result)
                    messages.append(self.protocol.observation(call, self._for_model(result)))
                    if not result.ok:
                        failures.append(result.text)
                        failed_calls.add(_key(call))
            if len(failures) > self.config.max_retries:
                yield ErrorEvent(f"Giving up after {len(failures)} failed tool calls; the last error was: "
                                 f"{failures[-1]}")
                return
        yield ErrorEvent(f"No answer within {self.config.max_steps} steps; ask again or raise max_steps.")

    def _generate(self, messages: list[Message], cancel: threading.Event):
        """Stream one model reply, yielding the user-visible part as TokenEvents; return its text and how it
        reads (a reply, a call, or a malformed call)."""
        gen = dataclasses.replace(self.gen, stop=list(dict.fromkeys(self.gen.stop + self.protocol.stop)))
        if self.model.endpoint_for(self.protocol) == "chat":
            return (yield from self._generate_chat(messages, gen, cancel))
        prompt = self.prompt(messages)
        text, shown = "", 0
        for delta in self.model.stream(prompt, gen):
            text += delta
            visible = held_back(text, self.protocol.call_markers)
            if visible > shown:
                yield TokenEvent(text[shown:visible])
                shown = visible
            if cancel.is_set():
                break
        self.usage.add(self.model.count_tokens(prompt, prompt=True), self.model.count_tokens(text))
        return text, self.protocol.parse(text)

    def _generate_chat(self, messages: list[Message], gen: GenerationConfig, cancel: threading.Event):
        """A server's chat endpoint: the backend's chat() yields text, then the calls the server parsed (the first
        counts); without one, the text is read as the protocol reads its replies."""
        if not hasattr(self.model, "chat"):
            raise ModelError(f"the {type(self.protocol).__name__} needs a backend with chat() (use --backend openai)")
        chat, tools = self.protocol.chat_request(messages, self.schemas(), self.toolbox.interpreter is not None)
        text, shown, call = "", 0, None
        for item in self.model.chat(chat, tools, gen):
            if isinstance(item, str):
                text += item
                visible = held_back(text, self.protocol.call_markers)
                if visible > shown:
                    yield TokenEvent(text[shown:visible])
                    shown = visible
            elif call is None:
                call = item
            if cancel.is_set():
                break
        self.usage.add(None, self.model.count_tokens(text))
        if call is None:
            return text, self.protocol.parse(text)
        return text, self.protocol.read_call(text, call.name, call.arguments, call.id)

    def _run_tool(self, call: ToolCall, failed_calls: set[str], cancel: threading.Event) -> ToolResult:
        if _key(call) in failed_calls:
            return ToolResult("This exact call already failed in this turn. Change the code or arguments, "
                              "or answer without the tool.", ok=False)
        # Tools run in a worker so that a cancel can interrupt the interpreter mid-run.
        box: list[ToolResult] = []
        worker = threading.Thread(target=lambda: box.append(self.toolbox.run(call)), daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            if cancel.is_set() and call.is_interpreter and self.toolbox.interpreter is not None:
                self.toolbox.interpreter.interrupt()
                worker.join()
        return box[0] if box else ToolResult("The tool ended without a result.", ok=False)

    def _for_model(self, result: ToolResult) -> str:
        limit = self.config.max_observation_chars
        text = result.text if len(result.text) <= limit else result.text[:limit] + "\n[... output cut ...]"
        return text or "(no output)"


def _key(call: ToolCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True)


def answer(events: Iterator[Event]) -> str:
    """Drain a run and return its final answer (or its last error)."""
    final = ""
    for event in events:
        if isinstance(event, FinalEvent):
            final = event.text
        elif isinstance(event, ErrorEvent) and not event.recoverable:
            final = final or f"[error] {event.message}"
    return final
