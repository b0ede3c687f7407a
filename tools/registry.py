"""Every offline tool puyu ships, by the name the model calls it, so that a conversation can switch
each one on or off: `Toolbox(default_tools(workdir, kb_dir, enabled={"ocr", "solve"}))`."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentlego.tools import BaseTool

from puyu.tools.knowledge import KnowledgeSearch
from puyu.tools.ocr import OCR
from puyu.tools.plot import Plot, PlotData
from puyu.tools.qr import QRMake, QRRead
from puyu.tools.symbolic import Calculator, Solve
from puyu.tools.vision import FaceDetect, ImageEdit, ImageInfo

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


_BUILDERS: dict[str, Callable[[ToolContext], BaseTool]] = {
    "ocr": lambda c: OCR(c.workdir),
    "qr_read": lambda c: QRRead(c.workdir),
    "qr_make": lambda c: QRMake(c.workdir),
    "face_detect": lambda c: FaceDetect(c.workdir),
    "image_info": lambda c: ImageInfo(c.workdir),
    "image_edit": lambda c: ImageEdit(c.workdir),
    "plot": lambda c: Plot(c.workdir),
    "plot_data": lambda c: PlotData(c.workdir),
    "solve": lambda c: Solve(c.workdir),
    "calculator": lambda c: Calculator(c.workdir),
    "knowledge_search": lambda c: KnowledgeSearch(c.kb_dir, c.workdir, only=c.knowledge),
    "vqa": lambda c: _vqa(c.vlm_path, c.workdir),
}
TOOL_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def _vqa(path: str, workdir: Path) -> BaseTool:
    from puyu.tools.vlm import VQA  # transformers is imported only when a checkpoint is configured

    return VQA(path, workdir)


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
        unknown = sorted(set(enabled) - set(TOOL_NAMES))
        if unknown:
            raise ValueError(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(TOOL_NAMES)}")
        if "vqa" in enabled and not vlm_path:
            raise ValueError(f"vqa needs a local vision-language checkpoint: pass vlm_path or set {VLM_ENV}")
        if "knowledge_search" in enabled and kb_dir is None:
            raise ValueError("knowledge_search needs kb_dir, the knowledge bases' data dir")
        names = [n for n in TOOL_NAMES if n in enabled]
    context = ToolContext(Path(workdir), Path(kb_dir) if kb_dir is not None else None, vlm_path,
                          tuple(knowledge) if knowledge is not None else None)
    return [_BUILDERS[n](context) for n in names]
