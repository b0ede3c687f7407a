"""Every offline tool puyu ships, by the name the model calls it, so that a conversation can switch
each one on or off: `Toolbox(default_tools(workdir, kb_dir, enabled={"ocr", "solve"}))`."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from agentlego.tools import BaseTool

from tools.knowledge import KnowledgeSearch
from tools.ocr import OCR
from tools.plot import Plot, PlotData
from tools.qr import QRMake, QRRead
from tools.symbolic import Calculator, Solve
from tools.vision import FaceDetect, ImageEdit, ImageInfo

VLM_ENV = "PUYU_VLM_PATH"
"""Where the vision-language checkpoint for `vqa` is, when the caller does not say."""

_BUILDERS: dict[str, Callable[[Path, Path | None, str | None], BaseTool]] = {
    "ocr": lambda wd, kb, vlm: OCR(wd),
    "qr_read": lambda wd, kb, vlm: QRRead(wd),
    "qr_make": lambda wd, kb, vlm: QRMake(wd),
    "face_detect": lambda wd, kb, vlm: FaceDetect(wd),
    "image_info": lambda wd, kb, vlm: ImageInfo(wd),
    "image_edit": lambda wd, kb, vlm: ImageEdit(wd),
    "plot": lambda wd, kb, vlm: Plot(wd),
    "plot_data": lambda wd, kb, vlm: PlotData(wd),
    "solve": lambda wd, kb, vlm: Solve(wd),
    "calculator": lambda wd, kb, vlm: Calculator(wd),
    "knowledge_search": lambda wd, kb, vlm: KnowledgeSearch(kb, wd),
    "vqa": lambda wd, kb, vlm: _vqa(vlm, wd),
}
TOOL_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def _vqa(path: str, workdir: Path) -> BaseTool:
    from tools.vlm import VQA  # transformers is imported only when a checkpoint is configured

    return VQA(path, workdir)


def default_tools(workdir: str | Path, kb_dir: str | Path | None, enabled: set[str] | None = None,
                  vlm_path: str | None = None) -> list[BaseTool]:
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
    workdir = Path(workdir)
    kb = Path(kb_dir) if kb_dir is not None else None
    return [_BUILDERS[n](workdir, kb, vlm_path) for n in names]
