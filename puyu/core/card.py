"""The model card: `puyu.json` beside a model's weights (or a tokenizer's files) says how puyu must prompt it.

    {"prompt_style": "compact", "default_tools": ["ocr"]}

No file means an ordinary InternLM2-style model. The tokenizer step writes the card, training renders its data
by it, export copies it, and every backend reads it (a server's model from the folder its served name points to),
so a model is always prompted as it was trained, and gets the same default tools, whoever serves it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

CARD_FILE = "puyu.json"
PROMPT_STYLES = ("internlm2", "compact")
"""InternLM2's own system prompts, and the short ones puyu's small models are trained with (one line per tool, one
sentence per system turn), since a 5M-parameter model otherwise spends most of its compute reading them."""


def check_style(style: str, where: str = "", field: str = "prompt style") -> str:
    """`style` if it is one of PROMPT_STYLES; else a ValueError that says where it came from (a file, an option)."""
    if style not in PROMPT_STYLES:
        raise ValueError(f"{where}{': ' if where else ''}unknown {field} {style!r} "
                         f"(known: {', '.join(PROMPT_STYLES)})")
    return style


@dataclass
class ModelCard:
    prompt_style: str = "internlm2"
    """The system prompts the model was trained with: internlm2 or compact."""
    default_tools: list[str] | None = None
    """The plugin tools a conversation gets when it chose none: None for the default (every tool that works here,
    but only a few for a compact-prompt model, whose small context every tool's schema would fill)."""

    def __post_init__(self):
        check_style(self.prompt_style, field="prompt_style")

    @classmethod
    def read(cls, directory: str | Path | None) -> ModelCard:
        """The card of a model folder; the default card when there is no folder or no file."""
        path = Path(directory or "") / CARD_FILE
        if not directory or not path.is_file():
            return cls()
        data = json.loads(path.read_text("utf-8"))
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: {e}") from None

    def write(self, directory: str | Path) -> None:
        """Write the card; a default card is no file at all."""
        path = Path(directory) / CARD_FILE
        if self == ModelCard():
            path.unlink(missing_ok=True)
        else:
            path.write_text(json.dumps(asdict(self)) + "\n", "utf-8")


def model_folder(name: str | Path | None) -> Path | None:
    """The folder here that holds the model a path names: the folder itself, or a weights file's folder (a GGUF
    file beside its puyu.json and tokenizer files, as scripts/make_gguf.py writes them). None for a plain name."""
    if not name:
        return None
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.is_file() and ((path.parent / CARD_FILE).is_file() or (path.parent / "tokenizer.json").is_file()):
        return path.parent
    return None


def read_style(directory: str | Path | None) -> str:
    """The prompt style a model or tokenizer folder was trained with."""
    return ModelCard.read(directory).prompt_style


def write_style(directory: str | Path, style: str) -> None:
    ModelCard(prompt_style=check_style(style, str(Path(directory) / CARD_FILE))).write(directory)
