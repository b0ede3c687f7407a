"""The settings a puyu command runs with: the user's config file (or `--config`), then PUYU_* environment
variables, then flags. The tree itself, and what each setting means, is `puyu.core.config`."""
from __future__ import annotations

import argparse

from puyu.core.config import SHORT_NAMES, Settings, config_file
from puyu.core.dataclass_cli import Parser, add_arguments, from_args


def settings_parser(prog: str, description: str, aliases: dict[str, str] = SHORT_NAMES) -> argparse.ArgumentParser:
    """A command's parser with every setting as a flag (`--gen.temperature`, and the short `--temperature`)."""
    return add_arguments(Settings, Parser(prog=prog, description=description), aliases)


def load_settings(args: dict | None = None) -> Settings:
    """Settings from parsed flags over the environment over `--config` (or, without one, the user's config file
    when it exists). Raises ValueError with one line saying what is wrong."""
    args = dict(args or {})
    if not args.get("config") and config_file().exists():
        args["config"] = config_file()
    return from_args(Settings, args, SHORT_NAMES, env=True)
