"""Turn a config dataclass into a command line: `--config file.yaml`, then environment variables, then flags.

Every workflow (chat, serve, train, lora, eval, ...) declares its options once, as a dataclass with a docstring per
field; this module makes the CLI from it, so the signature, the YAML files and `--help` cannot drift apart. A field
whose type is itself a dataclass is a section: its fields are `--section.field` flags and a `section:` mapping in
YAML. Short aliases (`--temperature` for `--gen.temperature`) come from the caller.
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from puyu.core.config import build, env_values, leaf_paths, resolve

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


def field_help(cls) -> dict[str, tuple[Any, str, Any]]:
    """{dotted path: (type, docstring, default)} for every setting of `cls`, sections included."""
    out = {}
    hints, docs = typing.get_type_hints(cls), _field_docs(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out.update({f"{f.name}.{k}": v for k, v in field_help(hints[f.name]).items()})
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out[f.name] = (hints[f.name], docs.get(f.name, ""), default)
    return out


def converter(tp: Any):
    """How the text of a flag or an environment variable becomes a value of type `tp`."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = converter(args[0]) if args else str
        return lambda s: None if s.strip() in ("", "null") else inner(s)
    if tp is bool:
        return _boolean
    if origin in (list, tuple):
        inner = converter(typing.get_args(tp)[0]) if typing.get_args(tp) else str
        return lambda s: [inner(x.strip()) for x in s.split(",") if x.strip()]
    if tp in (int, float, str, Path):
        return tp
    return yaml.safe_load  # dicts and anything else: give YAML/JSON inline


class Parser(argparse.ArgumentParser):
    """argparse with a usage line that fits (`puyu ask [options] question`; --help lists every option) and errors
    that are one line saying what is wrong, not the whole usage."""

    def format_usage(self) -> str:
        positionals = " ".join(a.metavar or a.dest for a in self._actions if not a.option_strings)
        return f"usage: {self.prog} [options] {positionals}".rstrip() + "\n"

    def format_help(self) -> str:
        self.usage = self.format_usage().removeprefix("usage: ").strip()
        return super().format_help()

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _boolean(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {text!r}")


def add_arguments(cls, parser: argparse.ArgumentParser, aliases: dict[str, str] | None = None
                  ) -> argparse.ArgumentParser:
    """Add `--config` and one `--flag` per setting of `cls` (`--section.field` for sections) to `parser`, plus the
    short `aliases` ({short name: dotted path})."""
    parser.add_argument("--config", type=Path, help="YAML file with any of the options below")
    short = {}
    for name, path in (aliases or {}).items():
        short.setdefault(path, []).append(name)
    hints, groups = typing.get_type_hints(cls), {}
    for path, (tp, doc, default) in field_help(cls).items():
        section = path.split(".")[0] if "." in path else None
        if section not in groups:  # one --help group per section, headed by its docstring
            kind = hints[section] if section else None
            groups[section] = parser.add_argument_group(section, (kind.__doc__ or "").strip()) if kind else parser
        flags = [f"--{path.replace('_', '-')}"] + [f"--{a.replace('_', '-')}" for a in short.get(path, [])]
        # A bare boolean flag means true (`--fresh`); `--fresh false` still says it outright.
        bare = {"nargs": "?", "const": "true"} if tp is bool else {}
        groups[section].add_argument(*dict.fromkeys(flags), dest=path, default=argparse.SUPPRESS,
                                     metavar=path.split(".")[-1].upper(), help=f"{doc} (default: {default!r})", **bare)
    return parser


def from_args(cls: type[T], args: dict[str, Any], aliases: dict[str, str] | None = None,
              env: bool = False) -> T:
    """Build `cls` from parsed flags over the environment (with `env`) over the `--config` file.
    Raises ValueError with one line saying what is wrong."""
    values: dict[str, Any] = {}
    config = args.get("config")
    if config:
        values = resolve(cls, load_yaml(config), aliases, where=str(config))
    types_ = {p: t for p, (t, _, _) in field_help(cls).items()}
    values.update(env_values(cls) if env else {})
    values.update({k: v for k, v in args.items() if k in types_})
    return build(cls, {path: coerce(types_[path], value, path) for path, value in values.items()})


def coerce(tp: Any, value: Any, path: str = "") -> Any:
    """`value` (text from a flag or the environment, or what YAML read) as type `tp`; ValueError if it is not one."""
    try:
        if isinstance(value, str):
            return converter(tp)(value)
        plain = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_origin(tp) in (
            typing.Union, types.UnionType) else [tp]
        if value is None and type(None) in typing.get_args(tp):
            return None
        base = typing.get_origin(plain[0]) or plain[0]
        if base is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if base in (int, float, bool, list, str) and not isinstance(value, base) or (
                base in (int, float) and isinstance(value, bool)):
            raise ValueError(f"expected {getattr(base, '__name__', base)}, got {value!r}")
        if base is Path:
            return Path(value)
        return value
    except (ValueError, TypeError, yaml.YAMLError) as e:
        raise ValueError(f"{path}: {e}" if path else str(e)) from None


def parse(cls: type[T], argv: list[str] | None = None, prog: str | None = None,
          aliases: dict[str, str] | None = None) -> T:
    """Build `cls` from `--config FILE` (YAML) and `--name value` flags (flags win); a bad value or file ends the
    program with one line saying what is wrong."""
    parser = add_arguments(cls, Parser(prog=prog, description=(cls.__doc__ or "").strip()), aliases)
    try:
        return from_args(cls, vars(parser.parse_args(argv)), aliases)
    except ValueError as e:
        parser.error(str(e))


def load_yaml(path: Path) -> dict:
    """A YAML mapping of option: value; ValueError (one line) for a missing file, bad YAML or another shape."""
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"{path} is not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of option: value")
    return data


__all__ = ["Parser", "add_arguments", "coerce", "converter", "field_help", "from_args", "leaf_paths", "load_yaml", "parse"]
