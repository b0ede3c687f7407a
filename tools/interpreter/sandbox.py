"""How the interpreter's child process is fenced in: resource limits, bubblewrap, the launch command, the work dir.

Two layers, so that one bug does not open everything:
- **bubblewrap** (when `bwrap` works here): own PID, network, IPC and UTS namespaces, the whole filesystem
  read-only except the work dir and a private size-capped /tmp, dies with the server. Without bwrap the child is a
  plain process in its own session ("rlimits-only": no filesystem or network isolation).
- **rlimits and an unprivileged user**, applied by the kernel itself before it runs any code: address space,
  CPU time, processes, file size, no core dumps. When the server runs as root the kernel drops to
  `SandboxLimits.sandbox_uid` (nobody), because RLIMIT_NPROC does not bind uid 0 and root could write anywhere.

Why bwrap runs as root here rather than as nobody: an unprivileged bwrap cannot mount a directory that nobody
cannot reach (this machine's Python lives under /root, mode 0700). So a root bwrap lays out the mounts — replacing
such unreachable parents with an empty tmpfs and binding back only what the kernel needs — and the kernel drops to
nobody once it has started. Mounts are nosuid, so a setuid binary cannot take root back.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

from puyu.core.config import SandboxLimits

log = logging.getLogger(__name__)

KERNEL = Path(__file__).with_name("kernel.py")
BUBBLEWRAP = "bubblewrap"
_FALLBACK = "rlimits-only (no filesystem/network isolation)"
_FALLBACK_AS_ROOT = "rlimits-only (no filesystem/network isolation; runs as root, so no process limit)"


class Sandbox:
    """Decides once how one conversation's kernel is fenced in, then starts and kills it."""

    def __init__(self, workdir: Path, limits: SandboxLimits):
        _check_workdir(workdir)
        self.workdir, self.limits = workdir, limits
        self.is_root = os.geteuid() == 0
        self.use_bwrap = _choose_bwrap(limits.isolation)
        uid = limits.sandbox_uid
        # Dropping root needs everything the kernel reads to be reachable by that uid; bwrap arranges that with
        # mounts, the fallback cannot, so there it may have to stay root (and says so in `kind`).
        self.uid = uid if self.is_root and (self.use_bwrap or _fallback_can_drop(workdir, uid)) else None
        if self.use_bwrap:
            self.kind = BUBBLEWRAP
        elif self.is_root and self.uid is None:
            self.kind = _FALLBACK_AS_ROOT
        else:
            self.kind = _FALLBACK
        if self.uid is not None:
            give_to(workdir, self.uid)

    @property
    def limits_processes(self) -> bool:
        """Whether RLIMIT_NPROC can stop a fork bomb (it does not bind root)."""
        return not self.is_root or self.uid is not None

    def start(self) -> subprocess.Popen:
        config = {
            "workdir": str(self.workdir), "uid": self.uid,
            "memory_mb": self.limits.memory_mb, "cpu_s": self.limits.cpu_s, "file_mb": self.limits.max_file_mb,
            "max_output_chars": self.limits.max_output_chars, "pid_namespace": self.use_bwrap,
            # RLIMIT_NPROC counts every process of the user, not just ours: allow max_procs on top of what it has.
            "nproc": _tasks_of(self.uid if self.uid is not None else os.getuid()) + self.limits.max_procs,
        }
        argv = [sys.executable, "-I", str(KERNEL), json.dumps(config)]
        if self.use_bwrap:
            argv = self._bwrap_args() + argv
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self._env(), cwd=self.workdir, start_new_session=True, close_fds=True)

    def kill(self, proc: subprocess.Popen) -> None:
        """Kill the kernel and everything in its process group. Under bwrap that takes the whole PID namespace
        with it (--die-with-parent); under the fallback a process that left the group with setsid() survives."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("interpreter process %d did not die", proc.pid)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass

    def _env(self) -> dict[str, str]:
        """Built from nothing, so no secret of the server's environment reaches the code."""
        threads = str(min(4, os.cpu_count() or 1))
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.workdir), "TMPDIR": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1",  # python subprocesses print in order, and nothing is lost when killed
            # One thread pool per core of a big server, each with its own stacks and malloc arena, would eat the
            # address-space limit before the code allocates anything.
            "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "MALLOC_ARENA_MAX": "2",
        }

    def _bwrap_args(self) -> list[str]:
        args = ["bwrap", *_namespace_flags(self.is_root, self.limits.network), "--die-with-parent", "--new-session",
                "--hostname", "sandbox", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--perms", "1777", "--size", str(self.limits.tmp_mb << 20), "--tmpfs", "/tmp",
                "--perms", "1777", "--size", str(self.limits.tmp_mb << 20), "--tmpfs", "/dev/shm"]
        needed = {Path(p) for p in (sys.base_prefix, sys.prefix, KERNEL.parent, *sys.path)
                  if os.path.isabs(p) and os.path.isdir(p)}
        tmpfs = [Path("/tmp")]
        if self.uid is not None:  # hide what the sandbox user cannot reach anyway, so that paths under it can be
            for path in sorted(needed | {self.workdir}):  # mounted back reachable
                top = _first_unreachable(path, self.uid)
                if top and not any(_under(top, t) for t in tmpfs):
                    tmpfs.append(top)
                    args += ["--perms", "0755", "--tmpfs", str(top)]
        made: set[Path] = set()
        for path in sorted(needed | {self.workdir}):
            root = next((t for t in tmpfs if _under(path, t) and path != t), None)
            if root is None and path != self.workdir:
                continue  # visible through the read-only root already
            if root is not None:  # bwrap would create the mount point's parents 0700, unreachable after the drop
                for parent in reversed(path.parents):
                    if _under(parent, root) and parent != root and parent not in made:
                        made.add(parent)
                        args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--bind" if path == self.workdir else "--ro-bind", str(path), str(path)]
        return args + ["--chdir", str(self.workdir), "--"]


def _check_workdir(workdir: Path) -> None:
    """The work dir is handed to the code (and, as root, to the sandbox user): it must be a directory of its own."""
    if not workdir.is_dir():
        raise ValueError(f"the interpreter's work dir {workdir} is not a directory")
    if workdir.stat().st_mode & stat.S_ISVTX or any(_under(Path(p), workdir) for p in (sys.prefix, KERNEL)):
        raise ValueError(f"the interpreter's work dir must be a dedicated directory, not {workdir} "
                         "(a shared temp dir, or one holding the server's own files)")


def _namespace_flags(is_root: bool, network: bool) -> list[str]:
    # As root, no user namespace: the kernel must be able to setuid() to a real unprivileged uid afterwards.
    if is_root:
        return ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
                *([] if network else ["--unshare-net"])]
    return ["--unshare-all", *(["--share-net"] if network else [])]


@functools.cache
def _bwrap_problem(is_root: bool) -> str | None:
    """Why bubblewrap cannot be used here (None when it can): it may be missing, or user namespaces disabled."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed"
    probe = ["bwrap", *_namespace_flags(is_root, False), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
             "--", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bwrap failed to start: {e}"
    return None if done.returncode == 0 else f"bwrap does not work here: {done.stderr.strip()[:300]}"


def _choose_bwrap(isolation: str) -> bool:
    if isolation == "auto":
        isolation = os.environ.get("PUYU_SANDBOX", "auto").strip().lower() or "auto"
        if isolation not in ("auto", "bwrap", "none"):
            raise ValueError(f"PUYU_SANDBOX must be 'auto', 'bwrap' or 'none', got {isolation!r}")
    if isolation == "none":
        return False
    problem = _bwrap_problem(os.geteuid() == 0)
    if problem and isolation == "bwrap":
        raise RuntimeError(f"bubblewrap isolation was required but {problem}")
    if problem:
        log.warning("Python interpreter falls back to %s: %s", _FALLBACK, problem)
    return problem is None


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _can_enter(st: os.stat_result, uid: int) -> bool:
    """Whether `uid` (with the same-numbered gid and no other groups) may search a directory."""
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == uid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _first_unreachable(path: Path, uid: int) -> Path | None:
    """The topmost strict parent of `path` that `uid` cannot search, if any."""
    for parent in reversed(path.parents):
        if not _can_enter(os.stat(parent), uid):
            return parent
    return None


def _fallback_can_drop(workdir: Path, uid: int) -> bool:
    """Without mounts to help, the sandbox user must reach the Python installation, the kernel and the work dir
    (which it is about to own)."""
    inside = [Path(sys.base_prefix) / "x", Path(sys.prefix) / "x", KERNEL, workdir]
    return all(_first_unreachable(p, uid) is None for p in inside)


def _tasks_of(uid: int) -> int:
    """Threads currently run by `uid`, which is what RLIMIT_NPROC counts."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass  # the process ended while we looked
    return count


# ---- the work dir: what the code wrote, and handing uploads to the sandbox user ------------------------------

Snapshot = dict[str, tuple[int, int]]


def give_to(path: Path, uid: int) -> None:
    """Make the work dir itself the sandbox user's (as root)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if os.fstat(fd).st_uid != uid:
            os.fchown(fd, uid, uid)
    finally:
        os.close(fd)


def snapshot(workdir: Path, owner: int | None = None, max_entries: int = 5000) -> Snapshot:
    """Regular files under the work dir, relative path -> (mtime_ns, size); dot-files and dot-dirs are skipped
    (caches, HOME dotfiles). With `owner`, files and dirs the server put there since the last call (uploads) are
    handed to the sandbox user so the code can change them.

    The code may be running in the background while we look, so nothing here follows a symlink or re-walks a path:
    os.fwalk works from directory fds, and ownership changes go through an fd of the very inode that was checked.
    """
    files: Snapshot = {}
    seen = 0
    for dirpath, dirnames, filenames, dirfd in os.fwalk(workdir, follow_symlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = os.path.relpath(dirpath, workdir)
        for name in dirnames + [f for f in filenames if not f.startswith(".")]:
            seen += 1
            if seen > max_entries:
                return files
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            if owner is not None and st.st_uid != owner and not stat.S_ISLNK(st.st_mode):
                _hand_over(name, dirfd, owner)
            if stat.S_ISREG(st.st_mode):
                files[os.path.normpath(os.path.join(rel, name))] = (st.st_mtime_ns, st.st_size)
    return files


def _hand_over(name: str, dirfd: int, owner: int) -> None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        # Only what the server itself made: never a hard link to some other file of ours.
        if st.st_uid == os.geteuid() and (stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)):
            os.fchown(fd, owner, owner)
    finally:
        os.close(fd)
