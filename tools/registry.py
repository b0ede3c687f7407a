"""Every offline tool puyu ships, by the name the model calls it, so that a conversation can switch
each one on or off: `Toolbox(default_tools(workdir, kb_dir, enabled={"ocr", "solve"}))`."""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # agentlego takes seconds to import: the names are checked without it
    from agentlego.tools import BaseTool

VLM_ENV = "PUYU_VLM_PATH"
"""Where the vision-language checkpoint for `vqa` is, when the caller does not say."""

@dataclass(frozen=True)
class ToolContext:
    """What a conversation's tools are built with."""

    workdir: Path
    kb_dir: Path | None = None
    vlm_path: str | None = None
    knowledge: tuple[str, ...] | None = None
    """The knowledge bases `knowledge_search` may search (None: all of them)."""


def _plain(module: str, cls: str) -> Callable[[ToolContext], BaseTool]:
    """A tool built with the work dir alone; its module (OpenCV, sympy, ...) is imported only when it is built, so
    that the names can be checked (e.g. `--tools`) without loading every tool."""
    return lambda c: getattr(importlib.import_module(module), cls)(c.workdir)


def _knowledge(c: ToolContext) -> BaseTool:
    from puyu.tools.knowledge import KnowledgeSearch

    return KnowledgeSearch(c.kb_dir, c.workdir, only=c.knowledge)


def _vqa(c: ToolContext) -> BaseTool:
    from puyu.tools.vlm import VQA  # transformers is imported only when a checkpoint is configured

    return VQA(c.vlm_path, c.workdir)


_BUILDERS: dict[str, Callable[[ToolContext], BaseTool]] = {
    "ocr": _plain("puyu.tools.ocr", "OCR"),
    "qr_read": _plain("puyu.tools.qr", "QRRead"),
    "qr_make": _plain("puyu.tools.qr", "QRMake"),
    "face_detect": _plain("puyu.tools.vision", "FaceDetect"),
    "image_info": _plain("puyu.tools.vision", "ImageInfo"),
    "image_edit": _plain("puyu.tools.vision", "ImageEdit"),
    "plot": _plain("puyu.tools.plot", "Plot"),
    "plot_data": _plain("puyu.tools.plot", "PlotData"),
    "solve": _plain("puyu.tools.symbolic", "Solve"),
    "calculator": _plain("puyu.tools.symbolic", "Calculator"),
    "knowledge_search": _knowledge,
    "vqa": _vqa,
}
TOOL_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def check_names(names: list[str] | set[str], vlm_path: str | None = None) -> None:
    """Raise ValueError (one line) if any of `names` is not a tool, or is one that cannot run here."""
    unknown = sorted(set(names) - set(TOOL_NAMES))
    if unknown:
        raise ValueError(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(TOOL_NAMES)} (or `none`)")
    if "vqa" in names and not (vlm_path or os.environ.get(VLM_ENV)):
        raise ValueError(f"vqa needs a local vision-language checkpoint: pass vlm_path or set {VLM_ENV}")


def default_tools(workdir: str | Path, kb_dir: str | Path | None, enabled: set[str] | None = None,
                  vlm_path: str | None = None, knowledge: list[str] | None = None) -> list[BaseTool]:
    """The tools for one conversation. `enabled=None` means every tool that can run here: `knowledge_search`
    needs `kb_dir`, and `vqa` a local checkpoint (`vlm_path`, or the PUYU_VLM_PATH environment variable).
    Naming either in `enabled` without what it needs is an error, as is an unknown name."""
    vlm_path = vlm_path or os.environ.get(VLM_ENV) or None
    if enabled is None:
        names = [n for n in TOOL_NAMES if not (n == "vqa" and not vlm_path)
                 and not (n == "knowledge_search" and kb_dir is None)]
    else:
        check_names(enabled, vlm_path)
        if "knowledge_search" in enabled and kb_dir is None:
            raise ValueError("knowledge_search needs kb_dir, the knowledge bases' data dir")
        names = [n for n in TOOL_NAMES if n in enabled]
    context = ToolContext(Path(workdir), Path(kb_dir) if kb_dir is not None else None, vlm_path,
                          tuple(knowledge) if knowledge is not None else None)
    return [_BUILDERS[n](context) for n in names]
