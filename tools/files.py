"""User uploads into a conversation's work dir, announced to the model the way InternLM2 does:
a `user name=file` turn whose content is `[{"path": ..., "size": ...}]`.

The saved path is absolute and inside the work dir, so the interpreter (which runs there) and every
tool open the same file. Contents are checked against their extension before anything is written.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath

from PIL import Image, UnidentifiedImageError

from puyu.core.messages import Message

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
DOCUMENT_TYPES = (".pdf", ".docx", ".xlsx", ".pptx")
TEXT_TYPES = (".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".html", ".htm", ".xml", ".py",
              ".yaml", ".yml", ".log")
ALLOWED = IMAGE_TYPES + DOCUMENT_TYPES + TEXT_TYPES
MAX_UPLOAD_BYTES = 30 * 2**20
MAX_FILES = 50  # uploads per conversation


class UploadError(ValueError):
    """An upload was refused; the message says why, for the user."""


def human_size(n: int) -> str:
    """Sizes the way InternLM2's file turns write them: "512B", "3.2K", "10K", "1.5M"."""
    if n < 1024:
        return f"{n}B"
    value, unit = (n / 1024, "K") if n < 2**20 else (n / 2**20, "M")
    return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"


def safe_name(name: str) -> str:
    """The base name only, without path tricks or control characters; keeps Chinese names readable."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", base).strip(" .")
    stem, suffix = Path(base).stem[:80] or "upload", Path(base).suffix.lower()
    return stem + suffix


def check_content(name: str, data: bytes) -> None:
    suffix = Path(name).suffix.lower()
    if suffix in IMAGE_TYPES:
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise UploadError(f"{name} is not a valid image ({e}).") from None
    elif suffix == ".pdf":
        if not data.lstrip()[:5] == b"%PDF-":
            raise UploadError(f"{name} is not a PDF (it does not start with %PDF-).")
    elif suffix in DOCUMENT_TYPES:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise UploadError(f"{name} is not a valid {suffix[1:].upper()} file (not a zip container).")
    elif b"\x00" in data[:8192] and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise UploadError(f"{name} looks binary, not text.")


def save_uploads(workdir: str | Path, uploads: Iterable[tuple[str, bytes]],
                 max_bytes: int = MAX_UPLOAD_BYTES, max_files: int = MAX_FILES) -> Message:
    """Check every (file name, bytes) upload, write them under `workdir/uploads`, and return the
    `user name=file` message that announces them. Nothing is written if any upload is refused."""
    uploads = list(uploads)
    folder = Path(workdir).resolve() / "uploads"
    existing = len(list(folder.iterdir())) if folder.is_dir() else 0
    if not uploads:
        raise UploadError("no files were given.")
    if existing + len(uploads) > max_files:
        raise UploadError(f"a conversation takes at most {max_files} uploads; it has {existing}.")
    checked = []
    for name, data in uploads:
        clean = safe_name(name)
        if Path(clean).suffix not in ALLOWED:
            raise UploadError(f"{clean}: files of type {Path(clean).suffix or '(none)'} are not accepted; "
                              f"accepted: {', '.join(ALLOWED)}.")
        if not data:
            raise UploadError(f"{clean} is empty.")
        if len(data) > max_bytes:
            raise UploadError(f"{clean} is {len(data) / 2**20:.1f} MB; uploads up to {max_bytes / 2**20:.0f} MB "
                              "are accepted.")
        check_content(clean, data)
        checked.append((clean, data))
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for clean, data in checked:
        path = _free_path(folder / clean)
        path.write_bytes(data)
        entries.append({"path": str(path), "size": human_size(len(data))})
    return Message("user", json.dumps(entries, ensure_ascii=False), name="file")


def save_upload(workdir: str | Path, name: str, data: bytes, **limits) -> Message:
    return save_uploads(workdir, [(name, data)], **limits)


def uploaded_paths(message: Message) -> list[str]:
    """The paths a `user name=file` message announces."""
    return [e["path"] for e in json.loads(message.content)]


def _free_path(path: Path) -> Path:
    """Never overwrite an earlier upload: photo.png, photo-1.png, photo-2.png, ..."""
    n, candidate = 0, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


# Argument names that hold a file path, for every tool (puyu's, AgentLego's and lagent's use these).
FILE_ARGUMENTS = ("image", "file", "path")


def uploads_in(workdir: str | Path) -> list[str]:
    """The conversation's uploads, oldest first."""
    folder = Path(workdir) / "uploads"
    if not folder.is_dir():
        return []
    return [str(p) for p in sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.stat().st_mtime_ns)]


def _pick_upload(uploads: list[str], given: str, image: bool) -> str | None:
    """The upload (of `uploads`, oldest first) a tool argument most likely means when `given` names no file: the
    upload with the same file name, else (for an image argument) the latest uploaded image."""
    same_name = [p for p in uploads if PurePath(p).name == PurePath(given).name]
    if same_name:
        return same_name[-1]
    images = [p for p in uploads if PurePath(p).suffix.lower() in IMAGE_TYPES]
    return images[-1] if image and images else None


def replace_missing_files(arguments: dict, existing: Callable[[str], str | None],
                          uploads: list[str]) -> tuple[dict, list[str]]:
    """`arguments` with each file argument that names no file (`existing` gives the file a value names, or None)
    replaced by the upload it most likely means, and a note for each replacement, for the tool's result.
    Small models copy a long upload path badly but pick the right tool; the note says which file was used."""
    out, notes = dict(arguments), []
    for name, value in arguments.items():
        if name not in FILE_ARGUMENTS or not isinstance(value, str) or not value.strip():
            continue
        found = existing(value)
        if found is None:
            found = _pick_upload(uploads, value, image=name == "image")
            if found is not None:
                notes.append(f"(There is no file {value}; used the upload {PurePath(found).name}.)")
        if found is not None:
            out[name] = found
    return out, notes
