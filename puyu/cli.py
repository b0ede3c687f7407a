"""`puyu`: one dispatcher from verb to function. Each verb's options are its own; model options are shared."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from puyu.core.config import SERVE_NAMES, Settings
from puyu.settings import load_settings, settings_parser

USAGE = """usage: puyu <command> [options]

commands:
  chat      talk to the agent in the terminal (streaming, tool steps shown)
  ask       ask one question: `puyu ask "..." [--json]`
  serve     an OpenAI-compatible HTTP API over the agent
  ui        the Streamlit chat app
  train     train the bundled model: `puyu train [data|tokenizer|lora|merge|bundled] ...`
  eval      benchmark a model: `puyu eval --bench ...`, `puyu eval compare RUN RUN...`

`puyu <command> --help` shows a command's options."""

TRAIN = {"": "puyu.training.pretrain", "data": "puyu.training.data.build", "tokenizer": "puyu.training.tokenizer",
         "lora": "puyu.training.lora", "merge": "puyu.training.merge",
         "bundled": "puyu.training.bundled"}


def _settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    """The command's settings, checked as far as can be without loading anything heavy: a bad value, tool name or
    data dir stops it here with one line."""
    from puyu.tools.registry import check_names

    try:
        settings = load_settings(vars(args))
        check_names(settings.agent.tools or [], settings.agent.vlm_path)
    except ValueError as e:
        parser.error(str(e))
    try:
        settings.data_path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"the data dir {settings.data_path} cannot be created ({e.strerror}); choose a writable "
                     "folder with --data-dir")
    return settings


def _port(text: str) -> int:
    """An argparse type: a TCP port."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, not {port}")
    return port


def cmd_ask(argv: list[str]) -> int:
    parser = settings_parser("puyu ask", "Ask the agent one question.")
    parser.add_argument("question")
    parser.add_argument("--json", action="store_true", help="print the whole trace as JSON")
    parser.add_argument("--conversation", help="continue this conversation id")
    args = parser.parse_args(argv)
    settings = _settings(parser, args)  # checked before the agent's heavy imports: a bad flag answers at once
    from puyu.core.messages import ErrorEvent, FinalEvent, TokenEvent, event_to_dict
    from puyu.models.base import ModelError
    from puyu.runtime import Runtime

    runtime = Runtime(settings)
    try:
        cid = args.conversation or runtime.store.create().id
        if runtime.store.get(cid) is None:
            parser.error(f"no conversation {cid!r}")
        events, answer, failed = [], "", False
        for event in runtime.session(cid).send(args.question):
            if isinstance(event, TokenEvent) and events and isinstance(events[-1], TokenEvent):
                events[-1] = TokenEvent(events[-1].text + event.text)  # the trace keeps streamed text whole
            else:
                events.append(event)
            if isinstance(event, FinalEvent):
                answer = event.text
            elif isinstance(event, ErrorEvent) and not event.recoverable:
                failed = True
                answer = answer or f"error: {event.message}"
            elif not args.json:
                _print_step(event)
    except ModelError as e:
        print(f"puyu: {e}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    if args.json:
        print(json.dumps({"conversation_id": cid, "answer": answer, "ok": not failed,
                          "events": [event_to_dict(e) for e in events]}, ensure_ascii=False, indent=2))
    else:
        print(answer)
    return 1 if failed else 0


def _print_step(event) -> None:
    """Tool steps of `puyu ask` go to stderr, so stdout holds the answer alone."""
    from puyu.core.messages import ToolCallEvent, ToolResultEvent

    if isinstance(event, ToolCallEvent):
        body = event.call.arguments.get("code") if event.call.is_interpreter else json.dumps(event.call.arguments)
        print(f"[{event.call.name}] {body}", file=sys.stderr)
    elif isinstance(event, ToolResultEvent):
        print(f"[{event.call.name} →] {event.result.text.strip()[:2000]}", file=sys.stderr)


def cmd_chat(argv: list[str]) -> int:
    parser = settings_parser("puyu chat", "Talk to the agent in the terminal.")
    parser.add_argument("--conversation", help="continue this conversation id")
    args = parser.parse_args(argv)
    settings = _settings(parser, args)
    from puyu.chat import chat

    return chat(settings, args.conversation)


def cmd_serve(argv: list[str]) -> int:
    parser = settings_parser("puyu serve", "An OpenAI-compatible HTTP API over the agent.", SERVE_NAMES)
    settings = _settings(parser, parser.parse_args(argv))
    from puyu.serve import serve

    return serve(settings)


def cmd_ui(argv: list[str]) -> int:
    from puyu.ui.launch import launch

    parser = settings_parser("puyu ui", "The Streamlit chat app.")
    parser.add_argument("--port", type=_port, default=8501, help="the app's port (default: 8501)")
    parser.add_argument("--host", default="127.0.0.1", help="the app's address (default: 127.0.0.1)")
    args = parser.parse_args(argv)
    settings = _settings(parser, args)
    from puyu.agent.store import Store

    Store(settings.store_path).close()  # a damaged store stops here (StoreError), not inside the page
    return launch(settings, args.host, args.port)


def _run_module(module: str, argv: list[str]) -> int:
    result = importlib.import_module(module).main(argv)
    return result if isinstance(result, int) else 0


def cmd_train(argv: list[str]) -> int:
    sub = argv[0] if argv and argv[0] in TRAIN else ""
    return _run_module(TRAIN[sub], argv[1:] if sub else argv)


def cmd_eval(argv: list[str]) -> int:
    return _run_module("puyu.eval.cli", argv)


COMMANDS = {"ask": cmd_ask, "chat": cmd_chat, "serve": cmd_serve, "ui": cmd_ui, "train": cmd_train,
            "eval": cmd_eval}


def main(argv: list[str] | None = None) -> int:
    from puyu.agent.store import StoreError

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except StoreError as e:  # the store is opened by every command that answers: one line, not a traceback
        print(f"puyu {argv[0]}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
