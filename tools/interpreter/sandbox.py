"""How the interpreter's child process is fenced in: resource limits, bubblewrap, the launch command, the work dir.

Three layers, so that one bug does not open everything:
- **bubblewrap** (when `bwrap` works here): own PID, network, IPC and UTS namespaces, the whole filesystem
  read-only except the work dir (whose `.tmp` is the code's /tmp), puyu's data dir (the store, other conversations,
  the knowledge bases) hidden under an empty tmpfs, dies with the server. Without bwrap the child is a plain process
  in its own session ("rlimits-only": no filesystem or network isolation).
- **rlimits and a uid of its own**, applied by the kernel itself before it runs any code: address space, CPU time,
  processes, file size, no core dumps. When the server runs as root each live sandbox runs as a uid of its own
  (uids.py), so RLIMIT_NPROC, which counts per user, counts per conversation (it does not bind uid 0 at all).
- **a cgroup per sandbox** where the server may make them (cgroups.py): memory and tasks of all its processes
  together. Between calls every process of the sandbox is stopped (SIGSTOP), so that nothing the code left running
  (a thread) goes on unseen.

Why bwrap runs as root here rather than as nobody: an unprivileged bwrap cannot mount a directory that nobody
cannot reach (this machine's Python lives under /root, mode 0700). So a root bwrap lays out the mounts — replacing
such unreachable parents with an empty tmpfs and binding back only what the kernel needs — and the kernel drops to
its uid once it has started. Mounts are nosuid, so a setuid binary cannot take root back.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from puyu.core.config import SandboxLimits
from puyu.tools.interpreter import cgroups, uids
from puyu.tools.workdir import WorkDir

log = logging.getLogger(__name__)

KERNEL = Path(__file__).with_name("kernel.py")
BUBBLEWRAP = "bubblewrap"
_FALLBACK = "rlimits-only (no filesystem/network isolation)"
_FALLBACK_AS_ROOT = "rlimits-only (no filesystem/network isolation; runs as root, so no process limit)"
TMP = ".tmp"
"""The folder of the work dir that is the code's /tmp: on disk, inside the work dir's quota, emptied at each start."""
_names = itertools.count()


class Sandbox:
    """Decides once how one conversation's kernel is fenced in, then starts and kills it (one at a time)."""

    def __init__(self, workdir: Path, limits: SandboxLimits, hidden: Iterable[Path] | None = None):
        _check_workdir(workdir)
        self.workdir, self.limits = workdir, limits
        self.hidden = [Path(p) for p in (hidden if hidden is not None else [workdir.parent])]
        """Folders the code must not see (puyu's data dir: the store and the other conversations)."""
        self.is_root = os.geteuid() == 0
        self.use_bwrap = _choose_bwrap(limits.isolation)
        # Dropping root needs everything the kernel reads to be reachable by that uid; bwrap arranges that with
        # mounts, the fallback cannot, so there it may have to stay root (and says so in `kind`).
        self.drops_root = self.is_root and (self.use_bwrap or _fallback_can_drop(workdir, limits.sandbox_uid))
        if self.use_bwrap:
            self.kind = BUBBLEWRAP
        elif self.is_root and not self.drops_root:
            self.kind = _FALLBACK_AS_ROOT
        else:
            self.kind = _FALLBACK
        self.uid: int | None = None
        """The uid of the running kernel (None before it starts, or when it does not drop root)."""
        self.cgroup: cgroups.SandboxCgroup | None = None
        self._stopped: list[int] = []  # the sandbox's pids stopped with SIGSTOP between calls

    @property
    def limits_processes(self) -> bool:
        """Whether RLIMIT_NPROC can stop a fork bomb (it does not bind root)."""
        return not self.is_root or self.drops_root

    @property
    def owners(self) -> Callable[[int], bool]:
        """Whose files in the work dir are handed to the running kernel's uid: the server's (uploads) and those of
        earlier sandboxes of this conversation, which ran under other uids of the range."""
        first, count, me = self.limits.sandbox_uid, self.limits.sandbox_uids, os.geteuid()
        return lambda uid: uid == me or first <= uid < first + count

    def start(self) -> subprocess.Popen:
        if self.drops_root:
            self.uid = uids.take(self.limits.sandbox_uid, self.limits.sandbox_uids, prefer=self.workdir.stat().st_uid)
            give_to(self.workdir, self.uid)
        try:
            return self._start()
        except BaseException:
            self._release()
            raise

    def _start(self) -> subprocess.Popen:
        tmp_fd = self._fresh_tmp()
        try:
            support = cgroups.support()
            if support.version:
                self.cgroup = cgroups.SandboxCgroup(support, f"sandbox-{next(_names)}",
                                                    self.limits.total_memory_mb << 20, self.limits.max_procs + 8)
            config = {
                "workdir": str(self.workdir), "uid": self.uid,
                "memory_mb": self.limits.memory_mb, "cpu_s": self.limits.cpu_s, "file_mb": self.limits.max_file_mb,
                "max_output_chars": self.limits.max_output_chars, "pid_namespace": self.use_bwrap,
                "server_pid": os.getpid(),
                # RLIMIT_NPROC counts every process of the user: allow max_procs on top of what it already has.
                "nproc": _tasks_of(self.uid if self.uid is not None else os.getuid()) + self.limits.max_procs,
            }
            argv = [sys.executable, "-I", str(KERNEL), json.dumps(config)]
            if self.use_bwrap:
                argv = self._bwrap_args(tmp_fd) + argv
            if self.cgroup is not None:  # the first process joins before it starts anything: all its children follow
                join = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
                argv = ["/bin/sh", "-c", join, "sh", *self.cgroup.procs_files, "--", *argv]
            return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=self._env(), cwd=self.workdir, start_new_session=True, close_fds=True,
                                    pass_fds=(tmp_fd,))
        finally:
            os.close(tmp_fd)

    def kill(self, proc: subprocess.Popen) -> None:
        """Kill the kernel and everything it started: its process group, its cgroup, and under bwrap the whole PID
        namespace with it (--die-with-parent). Under the fallback without cgroups a process that left the group with
        setsid() survives."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in self.cgroup.pids() if self.cgroup else []:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._stopped = []
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("interpreter process %d did not die", proc.pid)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass
        self._release()

    def freeze(self, proc: subprocess.Popen, frozen: bool) -> None:
        """Stop every process of the sandbox between calls (or let them go on): a thread or process the code left
        running does not run on unseen. SIGSTOP, not a cgroup freezer: a stopped task still dies of SIGKILL, so a
        sandbox stopped when the server is killed dies with it (--die-with-parent)."""
        if not frozen:
            for pid in self._stopped:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGCONT)
            self._stopped = []
            return
        # bwrap itself and its init (which reaps what the code's processes leave) go on; the code's processes stop
        spared = {proc.pid, *_descendants(proc.pid, depth=1)} if self.use_bwrap else set()
        for _ in range(10):  # a process may fork while we stop the others: again until none is new
            found = [p for p in (self.cgroup.pids() if self.cgroup else [proc.pid, *_descendants(proc.pid)])
                     if p not in self._stopped and p not in spared]
            if not found:
                break
            for pid in found:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGSTOP)
            self._stopped += found

    def _release(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.uid is not None:
            uids.give_back(self.uid)

    def _fresh_tmp(self) -> int:
        """An empty `.tmp` folder in the work dir, the sandbox's, opened without following links (the code of an
        earlier session may have left anything there); its descriptor is what bwrap mounts as /tmp."""
        work = WorkDir(self.workdir)
        with work.dir_fd(()) as root:
            try:
                st = os.stat(TMP, dir_fd=root, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):
                shutil.rmtree(TMP, dir_fd=root)  # works from descriptors: links inside are removed, not followed
            elif st is not None:
                os.unlink(TMP, dir_fd=root)
        with work.dir_fd((TMP,), create=True) as fd:
            fd = os.dup(fd)
        if self.uid is not None:
            os.fchown(fd, self.uid, self.uid)
        os.fchmod(fd, 0o700)
        return fd

    def _env(self) -> dict[str, str]:
        """Built from nothing, so no secret of the server's environment reaches the code."""
        threads = str(min(4, os.cpu_count() or 1))
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.workdir), "TMPDIR": "/tmp" if self.use_bwrap else str(self.workdir / TMP),
            "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1",  # python subprocesses print in order, and nothing is lost when killed
            # One thread pool per core of a big server, each with its own stacks and malloc arena, would eat the
            # address-space limit before the code allocates anything.
            "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "MALLOC_ARENA_MAX": "2",
        }

    def _bwrap_args(self, tmp_fd: int) -> list[str]:
        args = ["bwrap", *_namespace_flags(self.is_root, self.limits.network), "--die-with-parent", "--new-session",
                "--hostname", "sandbox", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--perms", "1777", "--size", str(self.limits.tmp_mb << 20), "--tmpfs", "/dev/shm"]
        needed = {Path(p) for p in (sys.base_prefix, sys.prefix, KERNEL.parent, *sys.path)
                  if os.path.isabs(p) and os.path.isdir(p)}
        masks = {p for p in self.hidden if p.is_dir() and p != Path("/")}
        if self.uid is not None:  # hide what the sandbox user cannot reach anyway, so that paths under it can be
            masks |= {top for p in needed | {self.workdir} if (top := _first_unreachable(p, self.uid))}  # mounted
        # Every mount, shallowest first (a mask before what is bound back inside it): the Python installation where a
        # mask or the code's own /tmp covers it (a checkout under /tmp), the work dir always, and the code's /tmp.
        covering = masks | {Path("/tmp")}
        mounts = [(p, "tmpfs") for p in masks]
        mounts += [(p, "ro") for p in needed if any(_under(p, m) and p != m for m in covering)]
        mounts += [(self.workdir, "rw"), (Path("/tmp"), "tmp")]
        mounts.sort(key=lambda m: (len(m[0].parts), m[1] != "tmpfs"))
        done: list[tuple[Path, str]] = []
        for path, kind in mounts:
            inside = max((d for d in done if _under(path, d[0]) and path != d[0]), key=lambda d: len(d[0].parts),
                         default=None)
            if inside is not None and inside[1] in ("tmpfs", "tmp"):  # bwrap would make the mount point's parents 0700,
                for parent in reversed(path.parents):  # unreachable after the drop
                    if _under(parent, inside[0]) and parent != inside[0]:
                        args += ["--perms", "0755", "--dir", str(parent)]
            args += {"tmpfs": ["--perms", "0755", "--tmpfs", str(path)], "ro": ["--ro-bind", str(path), str(path)],
                     "rw": ["--bind", str(path), str(path)], "tmp": ["--bind-fd", str(tmp_fd), "/tmp"]}[kind]
            done.append((path, kind))
        return args + ["--chdir", str(self.workdir), "--"]


def describe(limits: SandboxLimits) -> str:
    """What fences the code in, in one line for people (`puyu serve`'s start line, `puyu chat`'s banner)."""
    if not _choose_bwrap(limits.isolation):
        return f"interpreter sandbox: {_FALLBACK}; {cgroups.support().statement}"
    who = "a uid of its own per sandbox" if os.geteuid() == 0 else "the server's own user"
    return f"interpreter sandbox: {BUBBLEWRAP}, {who}; {cgroups.support().statement}"


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


def _descendants(pid: int, depth: int = 1 << 20) -> list[int]:
    """The processes below `pid` (at most `depth` levels down), from /proc's child lists."""
    out, todo = [], [(pid, 0)]
    while todo:
        parent, level = todo.pop()
        if level >= depth:
            continue
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            out += children
            todo += [(c, level + 1) for c in children]
    return out


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
    """Make the work dir itself the sandbox user's (as root); what is inside follows at the next `snapshot`."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if os.fstat(fd).st_uid != uid:
            os.fchown(fd, uid, uid)
    finally:
        os.close(fd)


def snapshot(workdir: Path, owner: int | None = None, adopt: Callable[[int], bool] | None = None,
             max_entries: int = 5000) -> Snapshot:
    """Regular files under the work dir, relative path -> (mtime_ns, size); dot-files and dot-dirs are skipped
    (caches, HOME dotfiles). With `owner`, files and dirs whose owner `adopt` names (by default the server: the
    uploads it put there since the last call) are handed to the sandbox user so the code can change them.

    The code may be running in the background while we look, so nothing here follows a symlink or re-walks a path:
    os.fwalk works from directory fds, and ownership changes go through an fd of the very inode that was checked.
    """
    files: Snapshot = {}
    seen = 0
    adopt = adopt or (lambda uid: uid == os.geteuid())
    for dirpath, dirnames, filenames, dirfd in os.fwalk(workdir, follow_symlinks=False):
        if owner is not None and dirpath == str(workdir):  # the code's /tmp is handed over whole, at each start
            dirnames[:] = [d for d in dirnames if d != TMP]
        elif owner is None:
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
            if owner is not None and st.st_uid != owner and adopt(st.st_uid) and not stat.S_ISLNK(st.st_mode):
                _hand_over(name, dirfd, owner, adopt)
            hidden = name.startswith(".") or any(part.startswith(".") for part in Path(rel).parts)
            if stat.S_ISREG(st.st_mode) and not hidden:
                files[os.path.normpath(os.path.join(rel, name))] = (st.st_mtime_ns, st.st_size)
    return files


def _hand_over(name: str, dirfd: int, owner: int, adopt: Callable[[int], bool]) -> None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        # Only what the server or an earlier sandbox of this conversation made: never a hard link to another file.
        if adopt(st.st_uid) and (stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)):
            os.fchown(fd, owner, owner)
    finally:
        os.close(fd)
