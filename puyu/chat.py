"""`puyu chat`: a terminal REPL. Tokens stream as they come; each tool call is drawn as a step."""
from __future__ import annotations

import threading

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax

from puyu.core.config import Settings
from puyu.core.messages import ErrorEvent, FinalEvent, TokenEvent, ToolCallEvent, ToolResultEvent
from puyu.models.base import ModelError
from puyu.runtime import Runtime

HELP = "Commands: /new (new conversation), /regen (answer again), /exit. Ctrl-C stops an answer."


def chat(settings: Settings, conversation_id: str | None = None) -> int:
    console = Console()
    runtime = Runtime(settings)
    try:
        runtime.model  # load before the first question, so a bad model fails now, clearly
    except ModelError as e:
        console.print(f"[red]puyu: {e}[/red]")
        return 2
    cid = conversation_id or runtime.store.create().id
    interpreter = runtime.toolbox(cid, settings).interpreter
    sandbox = f"interpreter sandbox: {interpreter.sandbox}; {interpreter.totals}" if interpreter else "interpreter off"
    console.print(f"[bold]puyu[/bold] · {settings.model.name} · {sandbox} · conversation {cid}\n{HELP}")
    try:
        while True:
            try:
                text = console.input("[bold green]you>[/bold green] ").strip()
            except EOFError:
                return 0
            if not text:
                continue
            if text == "/exit":
                return 0
            if text == "/new":
                cid = runtime.store.create().id
                console.print(f"new conversation {cid}")
                continue
            session = runtime.session(cid)
            stream = session.regenerate if text == "/regen" else (lambda cancel: session.send(text, cancel=cancel))
            _show(console, stream)
    finally:
        runtime.close()


def _show(console: Console, start) -> None:
    cancel = threading.Event()
    console.print("[bold blue]puyu>[/bold blue] ", end="")
    streamed = False
    try:
        for event in start(cancel=cancel):
            if isinstance(event, TokenEvent):
                console.print(event.text, end="", markup=False, highlight=False)
                streamed = True
            elif isinstance(event, ToolCallEvent):
                call = event.call
                body = (Syntax(call.arguments["code"], "python", theme="ansi_dark") if call.is_interpreter
                        else Syntax(_json(call.arguments), "json", theme="ansi_dark"))
                console.print()
                console.print(Panel(body, title=f"tool: {call.name}", border_style="cyan"))
            elif isinstance(event, ToolResultEvent):
                res = event.result
                extra = "".join(f"\n[image] {p}" for p in res.images) + "".join(f"\n[file] {p}" for p in res.files)
                extra += "".join(f"\n[source] {s.file}" + (f" p.{s.page}" if s.page else "") for s in res.sources)
                console.print(Panel(res.text.rstrip() + extra, title="result" if res.ok else "error",
                                    border_style="green" if res.ok else "red"), markup=False)
                streamed = False
            elif isinstance(event, FinalEvent) and not streamed:
                console.print(event.text, markup=False, highlight=False)
            elif isinstance(event, ErrorEvent):
                console.print(f"\n[{'yellow' if event.recoverable else 'red'}]{escape(event.message)}[/]")
                if event.detail and not event.recoverable:  # what went wrong underneath, for whoever wants it
                    console.print(event.detail[-1500:], style="dim", markup=False, highlight=False)
    except KeyboardInterrupt:
        cancel.set()
        console.print("\n[yellow]stopped[/yellow]")
    console.print()


def _json(args: dict) -> str:
    import json

    return json.dumps(args, ensure_ascii=False, indent=2)
