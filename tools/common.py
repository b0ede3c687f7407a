"""What puyu's own tools share: a base class that names the tool and keeps its outputs in the
conversation's work dir, checked image loading, and the error type for bad input.

A tool's schema is AgentLego's, derived once from the typed `apply` signature and its `Info` notes;
`PuyuTool` adds the defaults of optional arguments to their descriptions, because lagent's schema
(what the model sees) carries no defaults of its own.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from agentlego.schema import ToolMeta
from agentlego.tools import BaseTool
from agentlego.types import ImageIO
from PIL import Image, UnidentifiedImageError

from puyu.tools.workdir import WorkDir

MAX_IMAGE_BYTES = 40 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # ~ 8000 x 5000: larger inputs are refused before they are decoded


class ToolError(ValueError):
    """Bad input or a failure the model can act on; the message is shown to it as it is."""


class PuyuTool(BaseTool):
    """Base of puyu's tools. Subclasses set `tool_name` (short snake_case) and `default_desc`."""

    tool_name: str = ""

    def __init__(self, workdir: str | Path | None = None):
        super().__init__(toolmeta=ToolMeta(name=self.tool_name or type(self).__name__))
        for p in self.toolmeta.inputs:
            if p.optional and p.description and "Default" not in p.description:
                p.description = f"{p.description} Default: {json.dumps(p.default, ensure_ascii=False)}."
        self.workdir = Path(workdir) if workdir else None
        self._last_number: dict[str, int] = {}  # per output stem, where `output` starts looking for a free name

    @contextlib.contextmanager
    def output(self, stem: str, suffix: str = ".png") -> Iterator[tuple[BinaryIO, Path]]:
        """A new output file inside the work dir, so the conversation keeps it (stem-1.png, stem-2.png, ...), open
        for writing, and its path. Made with O_EXCL through `WorkDir`: the sandboxed code shares the folder and
        could put a link where a name was free a moment ago, so the tool writes to this descriptor, never a path.

        Numbered, not random: the training data is made by running these tools, and the same seed must give the
        same text (random names changed a dozen of 500 held-out items and the tokenizer between two builds)."""
        root = self.workdir or Path(tempfile.gettempdir()) / "puyu-tools"
        root.mkdir(parents=True, exist_ok=True)
        start = self._last_number.get(stem, 0) + 1
        names = (f"{stem}-{n}{suffix}" for n in range(start + 1, start + 100_000))
        with WorkDir(root).create(".", f"{stem}-{start}{suffix}", names) as (f, path):
            self._last_number[stem] = int(path.stem.rpartition("-")[2])
            yield f, path

    def save_image(self, image: Image.Image, stem: str) -> Path:
        """Write `image` as a new PNG output (see `output`) and return its path."""
        with self.output(stem) as (f, path):
            image.save(f, format="PNG")
        return path


def load_image(image: ImageIO | str | Path, mode: str = "RGB") -> Image.Image:
    """Open an input image with checks, so that bad input becomes a clear ToolError."""
    if isinstance(image, ImageIO) and image.type != "path":
        return image.to_pil().convert(mode)
    path = Path(image.to_path() if isinstance(image, ImageIO) else image)
    if not path.is_file():
        raise ToolError(f"No such image file: {path}")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ToolError(f"{path.name} is {size / 2**20:.0f} MB; images up to {MAX_IMAGE_BYTES // 2**20} MB "
                        "are accepted.")
    try:
        with warnings.catch_warnings():  # the size is checked below, with a message for the model
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)  # lazy: reads the header only
    except Image.DecompressionBombError:
        raise ToolError(f"{path.name} has too many pixels; the limit is {MAX_IMAGE_PIXELS:,}. "
                        "Resize it first.") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ToolError(f"{path.name} is not an image PIL can read ({e}).") from None
    with img:
        if img.width * img.height > MAX_IMAGE_PIXELS:
            raise ToolError(f"{path.name} is {img.width}x{img.height} pixels; the limit is "
                            f"{MAX_IMAGE_PIXELS:,} pixels. Resize it first.")
        try:
            return img.convert(mode)  # decodes the whole file
        except (OSError, SyntaxError) as e:
            raise ToolError(f"{path.name} is a damaged image ({e}).") from None


def to_json(value: Any) -> str:
    """Structured results go to the model as compact JSON text (non-ASCII kept readable)."""
    return json.dumps(value, ensure_ascii=False)


def one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    v = value.strip().lower()
    if v not in allowed:
        raise ToolError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return v
