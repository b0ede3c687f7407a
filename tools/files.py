"""User uploads into a conversation's work dir, announced to the model the way InternLM2 does:
a `user name=file` turn whose content is `[{"path": ..., "size": ...}]`.

The saved path is absolute and inside the work dir, so the interpreter (which runs there) and every
tool open the same file. Contents are checked against their extension before anything is written, and the files
are written through `WorkDir` (the sandbox may have put a link where `uploads` was).
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
from puyu.tools.workdir import PathRefused, WorkDir

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
DOCUMENT_TYPES = (".pdf", ".docx", ".xlsx", ".pptx")
TEXT_TYPES = (".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".html", ".htm", ".xml", ".py",
              ".yaml", ".yml", ".log")
ALLOWED = IMAGE_TYPES + DOCUMENT_TYPES + TEXT_TYPES
MAX_UPLOAD_BYTES = 30 * 2**20
MAX_FILES = 50  # uploads per conversation
MAX_IMAGE_PIXELS = 40_000_000  # as the image tools' limit: a larger image is refused before it is decoded


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
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    raise UploadError(f"{name} is {img.width}x{img.height} pixels; images up to "
                                      f"{MAX_IMAGE_PIXELS:,} pixels are accepted.")
                img.verify()
        except Image.DecompressionBombError:  # PIL's own guard, for sizes far past ours
            raise UploadError(f"{name} has far too many pixels (a decompression bomb?); images up to "
                              f"{MAX_IMAGE_PIXELS:,} pixels are accepted.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            if isinstance(e, UploadError):
                raise
            raise UploadError(f"{name} is not a valid image ({e}).") from None
    elif suffix == ".pdf":
        if not data.lstrip()[:5] == b"%PDF-":
            raise UploadError(f"{name} is not a PDF (it does not start with %PDF-).")
    elif suffix in DOCUMENT_TYPES:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise UploadError(f"{name} is not a valid {suffix[1:].upper()} file (not a zip container).")
    elif b"\x00" in data[:8192] and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise UploadError(f"{name} looks binary, not text.")


def check_uploads(uploads: Iterable[tuple[str, bytes]], max_bytes: int = MAX_UPLOAD_BYTES
                  ) -> list[tuple[str, bytes]]:
    """The (safe file name, bytes) of every upload, each checked. Raises UploadError for the first bad one."""
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
    if not checked:
        raise UploadError("no files were given.")
    return checked


def save_uploads(workdir: str | Path, uploads: Iterable[tuple[str, bytes]],
                 max_bytes: int = MAX_UPLOAD_BYTES, max_files: int = MAX_FILES,
                 quota_bytes: int | None = None) -> Message:
    """Check every (file name, bytes) upload, write them under `workdir/uploads`, and return the
    `user name=file` message that announces them. Nothing is written if any upload is refused, nor when they
    would take the work dir past `quota_bytes`."""
    return write_uploads(workdir, check_uploads(uploads, max_bytes), max_files, quota_bytes)


def write_uploads(workdir: str | Path, checked: list[tuple[str, bytes]], max_files: int = MAX_FILES,
                  quota_bytes: int | None = None) -> Message:
    """`save_uploads` for uploads that `check_uploads` has already passed (a request checked whole before any of
    it is written)."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    work = WorkDir(Path(workdir).resolve())
    existing = len(work.files("uploads"))
    if existing + len(checked) > max_files:
        raise UploadError(f"a conversation takes at most {max_files} uploads; it has {existing}.")
    if quota_bytes is not None:
        used = work.usage(max_entries=100_000)[0] + sum(len(d) for _, d in checked)
        if used > quota_bytes:
            raise UploadError(f"the conversation's files would take {used / 2**20:.0f} MB, past its "
                              f"{quota_bytes / 2**20:.0f} MB quota; start a new conversation or delete files.")
    entries = []
    try:
        for clean, data in checked:
            stem, suffix = Path(clean).stem, Path(clean).suffix
            path = work.write("uploads", clean, data, (f"{stem}-{n}{suffix}" for n in range(1, 10_000)))
            entries.append({"path": str(path), "size": human_size(len(data))})
    except PathRefused as e:
        raise UploadError(f"the upload could not be saved: {e}") from None
    return Message("user", json.dumps(entries, ensure_ascii=False), name="file")


def save_upload(workdir: str | Path, name: str, data: bytes, **limits) -> Message:
    return save_uploads(workdir, [(name, data)], **limits)


def uploaded_paths(message: Message) -> list[str]:
    """The paths a `user name=file` message announces."""
    return [e["path"] for e in json.loads(message.content)]


# Argument names that hold a file path, for every tool (puyu's, AgentLego's and lagent's use these).
FILE_ARGUMENTS = ("image", "file", "path")


def uploads_in(workdir: str | Path) -> list[str]:
    """The conversation's uploads (regular files, not links), oldest first."""
    work = WorkDir(Path(workdir).resolve())
    found = sorted(work.files("uploads"), key=lambda item: item[1].st_mtime_ns)
    return [str(work.root / "uploads" / name) for name, _ in found]


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
