"""The one rule for every file the server opens on a conversation's behalf.

A conversation's work dir belongs to code a model wrote: the sandbox can put a symbolic link, a FIFO or a hard
link anywhere in it, at any moment, and the server runs as root. So every upload, tool input and output, figure,
download and ingested document goes through `WorkDir`:

- a path names a place *inside* the work dir: relative (`uploads/photo.png`), or absolute but lying under it
  (the form uploads are announced in). Any other absolute path and any `..` is refused with a message the model
  can act on;
- it is opened from a descriptor of the work dir, one component at a time, each with O_NOFOLLOW: a symbolic link
  anywhere on the way is refused, and what was checked is what is read (no time-of-check/time-of-use gap);
- only regular files are read (not FIFOs or devices), and not a file with other names (a hard link) unless the
  sandbox owns it; new files are created with O_EXCL, so the server only ever writes a file it has just made.

The work dir itself (its own path) is the server's: it makes it and its parents, and the sandbox cannot replace it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # a FIFO must not block us
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_SYMLINK_ERRORS = (errno.ELOOP, errno.ENOTDIR)  # what O_NOFOLLOW (and O_DIRECTORY) answer for a link


class PathRefused(ValueError):
    """A path the server will not open for this conversation; the message says why and what to do instead."""


@dataclass(frozen=True)
class WorkDir:
    """A conversation's work dir, and the only way the server opens what is inside it."""

    root: Path
    named: Path = field(init=False)
    """The root as it was given: paths under it (with a link among the server's parents) name the same files."""

    def __post_init__(self):
        object.__setattr__(self, "named", Path(os.path.abspath(self.root)))
        object.__setattr__(self, "root", Path(os.path.realpath(self.root)))  # its parents are the server's

    # ---- naming --------------------------------------------------------------------------------------------
    def relative(self, given: str | os.PathLike) -> PurePosixPath:
        """`given` as a path relative to the work dir. Raises PathRefused for anything that leaves it."""
        text = os.fspath(given)
        if not isinstance(text, str) or not text.strip() or "\x00" in text:
            raise PathRefused(f"{text!r} is not a file name.")
        path = PurePosixPath(text)
        if path.is_absolute():
            for root in (self.root, self.named):
                if path.is_relative_to(root):
                    path = path.relative_to(root)
                    break
            else:
                raise PathRefused(f"{text} is outside this conversation's files: tools open only files of the "
                                  "conversation; give a path relative to its work dir, like uploads/photo.png.")
        if ".." in path.parts:
            raise PathRefused(f"{text} goes up with '..': give a path relative to the conversation's work dir, "
                              "like uploads/photo.png.")
        parts = [p for p in path.parts if p != "."]
        if not parts:
            raise PathRefused(f"{text} is the work dir itself, not a file in it.")
        return PurePosixPath(*parts)

    def path(self, rel: str | os.PathLike) -> Path:
        """The absolute path of a place inside the work dir (for announcing it; never for opening it)."""
        return self.root / self.relative(rel)

    # ---- reading -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open(self, given: str | os.PathLike) -> Iterator[BinaryIO]:
        """A regular file of the work dir, opened for reading. Raises PathRefused (FileNotFoundError's message is
        kept as such a refusal, with `missing` set)."""
        rel = self.relative(given)
        with self.dir_fd(rel.parent.parts) as dirfd:
            try:
                fd = os.open(rel.name, _READ_FLAGS, dir_fd=dirfd)
            except FileNotFoundError:
                raise Missing(f"there is no file {rel} in this conversation.") from None
            except OSError as e:
                raise _refusal(rel, e) from None
            try:
                _check_regular(fd, rel, owner=os.fstat(dirfd).st_uid)
                os.set_blocking(fd, True)
            except BaseException:
                os.close(fd)
                raise
        with os.fdopen(fd, "rb") as f:
            yield f

    def read(self, given: str | os.PathLike, max_bytes: int) -> bytes:
        """The bytes of a regular file of the work dir, refused if larger than `max_bytes`."""
        with self.open(given) as f:
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise PathRefused(f"{self.relative(given)} is larger than {max_bytes / 2**20:.0f} MB.")
        return data

    @contextlib.contextmanager
    def private_copy(self, given: str | os.PathLike, max_bytes: int) -> Iterator[Path]:
        """A copy of a regular file of the work dir, under its own name in a fresh folder only the server can
        read, for code that wants a path (a tool, a document parser); removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="puyu-file-") as folder, self.open(given) as src:
            copy = Path(folder) / self.relative(given).name
            with open(copy, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    if out.tell() > max_bytes:
                        raise PathRefused(f"{self.relative(given)} is larger than {max_bytes / 2**20:.0f} MB.")
            yield copy

    def find(self, given: str | os.PathLike) -> PurePosixPath | None:
        """The relative path of `given` if it is a regular file of the work dir (reached without links), else None."""
        try:
            with self.open(given):
                return self.relative(given)
        except PathRefused:
            return None

    def files(self, rel_dir: str = ".") -> list[tuple[str, os.stat_result]]:
        """(name, stat) of the regular files directly in a folder of the work dir; links and the rest left out."""
        parts = () if rel_dir in (".", "") else self.relative(rel_dir).parts
        out = []
        try:
            with self.dir_fd(parts) as dirfd:
                for name in os.listdir(dirfd):
                    try:
                        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        out.append((name, st))
        except PathRefused:
            return []
        return out

    # ---- writing -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def create(self, rel_dir: str, name: str, numbered: Iterator[str] | None = None) -> Iterator[tuple[BinaryIO, Path]]:
        """A new file in a folder of the work dir (made if needed), open for writing, and its absolute path.

        The name is `name`, else the next of `numbered` that is free; an existing file (or link) is never opened.
        """
        parts = () if rel_dir in (".", "") else self.relative(rel_dir).parts
        if "/" in name or name in ("", ".", ".."):
            raise PathRefused(f"{name!r} is not a file name.")
        with self.dir_fd(parts, create=True) as dirfd:
            for candidate in [name, *(numbered or ())]:
                try:
                    fd = os.open(candidate, _CREATE_FLAGS, 0o644, dir_fd=dirfd)
                except FileExistsError:
                    continue
                break
            else:
                raise PathRefused(f"no free name for {name} in {rel_dir}.")
        path = self.root.joinpath(*parts, candidate)
        with os.fdopen(fd, "wb") as f:
            yield f, path

    def write(self, rel_dir: str, name: str, data: bytes, numbered: Iterator[str] | None = None) -> Path:
        with self.create(rel_dir, name, numbered) as (f, path):
            f.write(data)
        return path

    # ---- size ----------------------------------------------------------------------------------------------
    def usage(self, max_entries: int) -> tuple[int, int]:
        """(bytes on disk, entries) under the work dir, without following links; counting stops past
        `max_entries` entries, so the answer then says "more than that"."""
        used, entries = 0, 0
        for _dirpath, dirnames, filenames, dirfd in os.fwalk(self.root, follow_symlinks=False):
            for name in dirnames + filenames:
                entries += 1
                if entries > max_entries:
                    return used, entries
                try:
                    used += os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_blocks * 512
                except OSError:
                    pass  # removed while we counted
        return used, entries

    # ---- the walk ------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def dir_fd(self, parts: tuple[str, ...], create: bool = False) -> Iterator[int]:
        """A descriptor of a folder inside the work dir, reached one component at a time without links."""
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise Missing("this conversation has no files yet.") from None
        try:
            for i, part in enumerate(parts):
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise Missing(f"there is no folder {PurePosixPath(*parts[:i + 1])} in this conversation."
                                      ) from None
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=fd)
                    try:
                        child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    except OSError as e:
                        raise _refusal(PurePosixPath(*parts[:i + 1]), e) from None
                except OSError as e:
                    raise _refusal(PurePosixPath(*parts[:i + 1]), e) from None
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)


class Missing(PathRefused):
    """The path names nothing (yet) in the work dir."""


def _refusal(rel: PurePosixPath, e: OSError) -> PathRefused:
    if e.errno in _SYMLINK_ERRORS:
        return PathRefused(f"{rel} is a symbolic link (or passes through one); files are opened only where they "
                           "really are in the conversation's work dir.")
    return PathRefused(f"{rel} cannot be opened: {e.strerror}.")


def _check_regular(fd: int, rel: PurePosixPath, owner: int) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise PathRefused(f"{rel} is not a regular file.")
    # A hard link could give another of the server's files a name in here (the server itself never makes one); links
    # of the code's own files are fine.
    if st.st_nlink > 1 and (st.st_uid != owner or st.st_uid == os.geteuid()):
        raise PathRefused(f"{rel} has other names (hard links) and is not the conversation's own file.")
