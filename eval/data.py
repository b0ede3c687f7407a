"""Where the benchmark data lives, and the seeded choice of items behind `--limit`."""
from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from puyu.core.config import shared_data_dir

T = TypeVar("T")



class DataMissing(FileNotFoundError):
    """A benchmark's data file or folder is not where it should be."""


def shared_data(override: str | Path | None = None) -> Path:
    """The shared data folder: `override`, else $PUYU_SHARED_DATA, else `<repo root>/../shared/data`."""
    root = Path(override) if override else shared_data_dir()
    if not root.is_dir():
        raise DataMissing(f"the shared data folder {root} does not exist; set PUYU_SHARED_DATA or --data to "
                          "the folder that holds gsm8k/, teval/ and cmmlu/")
    return root


def need(path: Path, what: str) -> Path:
    """`path`, or a DataMissing error that names it and says what it should hold."""
    if not path.exists():
        raise DataMissing(f"{what} not found: {path} does not exist")
    return path


def read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not valid JSON ({e.msg})") from None


def pick(items: Sequence[T], limit: int | None, seed: int) -> list[T]:
    """A seeded sample of `limit` items, in their original order.

    The sample for a smaller limit is a subset of the one for a larger limit (same seed), so raising --limit on
    a resumed run only adds items.
    """
    if limit is None or limit >= len(items):
        return list(items)
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    return [items[i] for i in sorted(order[:max(limit, 0)])]
