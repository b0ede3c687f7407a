"""Turn a config dataclass into a command line: `--config file.yaml` then `--field value` overrides.

Every workflow (train, lora, eval, ...) declares its options once, as a dataclass with a docstring per field;
this module makes the CLI from it, so the signature, the YAML files and `--help` cannot drift apart.
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def _field_docs(cls) -> dict[str, str]:
    """Docstrings written under fields (`x: int = 1` then `\"\"\"what x is\"\"\"`), read from the source."""
    import ast
    import inspect
    import textwrap

    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _converter(tp: Any):
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _converter(args[0]) if args else str
    if tp is bool:
        return lambda s: s.lower() in ("1", "true", "yes", "on")
    if origin in (list, tuple):
        inner = _converter(typing.get_args(tp)[0]) if typing.get_args(tp) else str
        return lambda s: [inner(x) for x in s.split(",") if x]
    if tp in (int, float, str, Path):
        return tp
    return yaml.safe_load  # dicts and anything else: give YAML/JSON inline


def add_arguments(cls, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `--config` and one `--flag` per field of `cls` to `parser`."""
    hints = typing.get_type_hints(cls)
    docs = _field_docs(cls)
    parser.add_argument("--config", type=Path, help="YAML file with any of the options below")
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        # A bare boolean flag means true (`--fresh`); `--fresh false` still says it outright.
        bare = {"nargs": "?", "const": True} if hints[f.name] is bool else {}
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=_converter(hints[f.name]),
                            default=argparse.SUPPRESS, help=f"{docs.get(f.name, '')} (default: {default!r})", **bare)
    return parser


def from_args(cls: type[T], args: dict[str, Any]) -> T:
    """Build `cls` from parsed flags: the `--config` file first, flags over it. Raises ValueError."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    config = args.get("config")
    if config:
        values = {k.replace("-", "_"): v for k, v in load_yaml(config).items()}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"{config}: unknown option(s) {', '.join(sorted(unknown))}")
    values.update({k: v for k, v in args.items() if k in names})
    try:
        return cls(**values)
    except TypeError as e:
        raise ValueError(str(e)) from None


def parse(cls: type[T], argv: list[str] | None = None, prog: str | None = None) -> T:
    """Build `cls` from `--config FILE` (YAML) and `--name value` flags (flags win)."""
    parser = add_arguments(cls, argparse.ArgumentParser(prog=prog, description=(cls.__doc__ or "").strip()))
    try:
        return from_args(cls, vars(parser.parse_args(argv)))
    except ValueError as e:
        parser.error(str(e))


def load_yaml(path: Path) -> dict:
    data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a mapping of option: value")
    return data
