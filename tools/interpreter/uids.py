"""A uid of its own for each live sandbox, so that what the kernel counts per user (RLIMIT_NPROC: processes and
threads) is counted per conversation, and one conversation's files are not another's.

The uids come from a range no account uses (`SandboxLimits.sandbox_uid` and the `sandbox_uids` after it). A uid is
taken with an exclusive lock on a file named after it (in a folder only root may write), held for as long as the
sandbox lives, so two puyu processes on one machine (the app and `puyu serve`) never hand out the same uid; the
kernel drops the lock when its holder dies, however it dies.
"""
from __future__ import annotations

import fcntl
import os
import stat
import tempfile
import threading
from pathlib import Path

_LOCKS = (Path("/run/puyu-sandbox-uids"), Path(tempfile.gettempdir()) / "puyu-sandbox-uids")
_held: dict[int, int] = {}  # uid -> fd of its lock, for this process
_mutex = threading.Lock()


class NoFreeUid(RuntimeError):
    """Every uid of the range is taken by a live sandbox."""


def take(first: int, count: int, prefer: int | None = None) -> int:
    """A uid of [first, first + count) that no live sandbox uses (`prefer`, the work dir's owner, when free: the
    conversation keeps its files' owner). Release it with `give_back`."""
    folder = _lock_folder()
    candidates = range(first, first + count)
    order = ([prefer] if prefer in candidates else []) + list(candidates)
    running = _running_uids()
    with _mutex:
        for uid in order:
            if uid in _held or uid in running:
                continue
            fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _held[uid] = fd
            return uid
    raise NoFreeUid(f"all {count} sandbox uids from {first} are in use; raise sandbox.sandbox_uids")


def give_back(uid: int) -> None:
    with _mutex:
        fd = _held.pop(uid, None)
    if fd is not None:
        os.close(fd)  # drops the lock


def _lock_folder() -> Path:
    """The first of _LOCKS that is (or can be made) a real folder of root's, writable by root only."""
    for folder in _LOCKS:
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            st = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022:
            return folder
    raise RuntimeError(f"no safe folder for the sandbox uid locks (tried {', '.join(map(str, _LOCKS))})")


def _running_uids() -> set[int]:
    """The uids anything runs as now (a sandbox of a puyu process that died without cleaning up keeps its uid)."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                found.add(entry.stat().st_uid)
            except OSError:
                pass
    return found
