"""puyu's Python interpreter: one sandboxed, stateful Python process per conversation, used like a notebook.

    interp = PythonInterpreter(workdir, SandboxLimits(timeout_s=10))
    interp.run("import math\\nx = math.pi")      # ToolResult(text="(no output)")
    interp.run("x * 2")                         # ToolResult(text="6.283185307179586")

The child (kernel.py) keeps variables, imports and the working directory between calls; sandbox.py fences it in.
This module speaks to it and turns its replies into ToolResults:
- text: what the code printed (capped, middle dropped), the last expression's value, a traceback of the user's
  frames only, and notes on timeouts and restarts. `run` never raises: every failure is ok=False with a message the
  model can act on.
- images: open matplotlib figures, saved as PNGs under workdir/figures/ and closed; files: regular files in the
  work dir the call created or changed (not figures, not dot-files).
- The wall-clock timeout interrupts the code (SIGINT: variables are kept); code that does not stop within a grace
  period is killed with its whole sandbox, and the session restarts. So does a session whose process died.
- The work dir's size is watched while the code runs: past `workdir_mb` (or `workdir_files`) the code gets
  OSError(EDQUOT), as from a full disk.
- Processes a call leaves running are stopped when it ends, so a fork bomb or a forgotten server cannot outlive it;
  threads it leaves are named in the result and, with everything else in the sandbox, stopped until the next call.
"""
from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from puyu.core.config import SandboxLimits
from puyu.core.messages import ToolResult
from puyu.tools.interpreter import cgroups
from puyu.tools.interpreter.sandbox import Sandbox, describe, snapshot
from puyu.tools.workdir import WorkDir

__all__ = ["PythonInterpreter", "SandboxLimits", "describe"]

log = logging.getLogger(__name__)

_POLL_S = 0.05  # how often a waiting run() looks at interrupt() and at the child's health
_QUOTA_EVERY_S = 0.1  # how often a running call's work dir is measured, at most (a big one less often)
_LOST = "variables and imports were lost; files in the work dir were kept"

# bwrap's --die-with-parent (PR_SET_PDEATHSIG) ends the sandbox when the *thread* that started it exits, and
# tools run on short-lived threads. So every kernel is started from this one thread, which lives as long as
# the process: the sandbox still dies with the server, but not with the caller's thread.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="puyu-interpreter-spawner")


def _ready(fd: int, event: int, timeout_s: float) -> bool:
    """Whether `fd` is ready (or hung up) within the timeout. poll, not select: a busy server has fds > 1024."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(max(0, int(timeout_s * 1000) + 1)))


def _clean(text: object) -> str:
    """Printable text for the model and the store: the code can print lone surrogates, which UTF-8 cannot hold."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


class KernelGone(Exception):
    """The child process ended or broke the protocol."""


class PythonInterpreter:
    """A stateful Python session in a sandbox. One per conversation; not for concurrent calls (they queue)."""

    def __init__(self, workdir: str | Path, limits: SandboxLimits = SandboxLimits(),  # noqa: B008 (frozen)
                 hidden: list[Path] | None = None):
        """`hidden`: folders the code must not see, e.g. puyu's data dir (default: the work dir's parent, where the
        other conversations are)."""
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self._sandbox = Sandbox(self.workdir, limits, hidden)
        self._note = ""  # told with the next result (why the variables are gone)
        self._proc: subprocess.Popen | None = None  # started lazily by the first run()
        self._buffer = bytearray()
        self._calls = 0
        self._cancel = False
        self._closed = False
        self._lock = threading.Lock()
        # Replies hold at most max_output_chars characters, each at most 12 bytes as JSON escapes, plus a traceback.
        self._max_reply = 12 * limits.max_output_chars + (1 << 20)

    @property
    def sandbox(self) -> str:
        """Which isolation is active, for the README and the UI: "bubblewrap" or a description of the fallback."""
        return self._sandbox.kind

    def run(self, code: str) -> ToolResult:
        if not isinstance(code, str):
            return ToolResult(f"The interpreter needs Python code as a string, got {type(code).__name__}.", ok=False)
        with self._lock:
            if self._closed:
                return ToolResult("The interpreter was closed.", ok=False)
            self._cancel = False
            try:
                return self._run(code)
            except Exception as e:  # a bug of ours or a broken machine: reset and tell, never raise
                log.exception("interpreter failure")
                self._stop()
                return ToolResult(f"The interpreter failed ({type(e).__name__}: {e}); the session was restarted, "
                                  f"{_LOST}.", ok=False)

    @property
    def totals(self) -> str:
        """Whether all the sandbox's processes together are limited (cgroups), in one line for people."""
        return cgroups.support().statement

    @property
    def busy(self) -> bool:
        """Whether a call is running now."""
        return self._lock.locked()

    def tell(self, note: str) -> None:
        """Say `note` at the start of the next call's result (e.g. that the session was stopped while idle)."""
        self._note = note

    def interrupt(self) -> None:
        """Cancel the running call, from another thread: it stops within a fraction of a second, keeping the
        variables if the code lets itself be interrupted, else by restarting the session."""
        self._cancel = True

    def restart(self) -> None:
        """A fresh session: variables and imports go, files in the work dir stay."""
        with self._lock:
            self._stop()

    def close(self) -> None:
        self._closed = True
        self._cancel = True
        with self._lock:
            self._stop()

    def __enter__(self) -> PythonInterpreter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self._stop()
        except Exception:
            pass  # at interpreter exit the modules kill() needs may already be gone

    # ---- one call ---------------------------------------------------------------------------------------------

    def _run(self, code: str) -> ToolResult:
        notes = [self._note] if self._note else []
        self._note = ""
        if self._proc is not None and self._proc.poll() is not None:
            notes.append(f"[The Python session had ended ({self._exit_cause()}) and was restarted: {_LOST}.]")
            self._stop()
        if self._proc is None:
            self._start()
        before = self._snapshot()  # while the sandbox is frozen: nothing changes under our feet
        self._sandbox.freeze(self._proc, False)
        self._calls += 1
        started = time.monotonic()
        try:
            self._send({"op": "run", "n": self._calls, "code": code}, started + self.limits.timeout_s)
            reply, stopped = self._wait_reply(started)
            if reply is not None:
                self._sandbox.freeze(self._proc, True)
        except KernelGone as e:
            cause = str(e) or self._exit_cause() + self._last_words()
            self._stop()
            notes.append(f"The Python process died while running this code ({cause}). "
                         f"The session was restarted: {_LOST}.")
            return ToolResult("\n".join(notes), files=self._changed(before, []), ok=False)
        if reply is None:
            self._stop()
            notes.append(f"{stopped} and the code did not stop when interrupted, so the session was restarted: "
                         f"{_LOST}.")
            return ToolResult("\n".join(notes), files=self._changed(before, []), ok=False)
        images = self._images(reply.get("figures"))
        text = [*notes, _clean(reply.get("output", "")).removesuffix("\n"), _clean(reply.get("error") or "").rstrip()]
        if stopped:
            text.append(f"{stopped}: the code was interrupted; variables were kept.")
        threads = [_clean(t) for t in reply.get("threads") or []][:10]
        if threads:
            text.append(f"[{len(threads)} thread(s) the code started still run ({', '.join(threads)}); they are "
                        "paused until the next call.]")
        over = self._over_quota()
        if over and not stopped:
            text.append(f"[{over}: delete files to make room.]")
        text += [f"[image: {p}]" for p in images]
        ok = not reply.get("error") and not reply.get("interrupted")
        return ToolResult("\n".join(t for t in text if t) or "(no output)", images=images,
                          files=self._changed(before, images), ok=ok)

    def _wait_reply(self, started: float) -> tuple[dict | None, str]:
        """The kernel's reply to this call and, if it had to be interrupted, why ("Timed out after 2.0 s ...").
        The reply is None if the code did not stop within the grace period after the interrupt."""
        deadline, stopped, measure = started + self.limits.timeout_s, "", started + _QUOTA_EVERY_S
        while True:
            reply = self._receive(min(_POLL_S, max(0.0, deadline - time.monotonic())))
            if reply is not None and reply.get("n") == self._calls:
                return reply, stopped
            now = time.monotonic()
            if stopped:
                if now >= deadline:
                    return None, stopped
                continue
            over = None
            if now >= measure:
                over = self._over_quota()
                # measuring a big work dir takes a while: spend at most ~5 % of the call's time on it
                measure = time.monotonic() + max(_QUOTA_EVERY_S, 20 * (time.monotonic() - now))
            if self._cancel or now >= deadline or over:
                stopped = (f"Cancelled after {now - started:.1f} s" if self._cancel else
                           f"Timed out after {now - started:.1f} s (limit {self.limits.timeout_s:g} s)"
                           if now >= deadline else over)
                reason = f"Disk quota exceeded: {over[0].lower()}{over[1:]}; delete files to go on" if over else None
                self._send({"op": "interrupt", "reason": reason}, now + self.limits.interrupt_grace_s)
                deadline = now + self.limits.interrupt_grace_s

    # ---- the child process ------------------------------------------------------------------------------------

    def _start(self) -> None:
        self._proc = _SPAWNER.submit(self._sandbox.start).result()
        self._buffer.clear()
        os.set_blocking(self._proc.stdin.fileno(), False)

    def _stop(self) -> None:
        if self._proc is not None:
            self._sandbox.kill(self._proc)
            self._proc = None

    def _snapshot(self):
        return snapshot(self.workdir, self._sandbox.uid, self._sandbox.owners)

    def _over_quota(self) -> str | None:
        """Why the work dir is over its quota, or None."""
        used, entries = WorkDir(self.workdir).usage(max_entries=self.limits.workdir_files)
        if entries > self.limits.workdir_files:
            return f"The work dir holds more than {self.limits.workdir_files} files and folders, its quota"
        if used > self.limits.workdir_mb << 20:
            return f"The work dir takes {used / 2**20:.0f} MB, past its {self.limits.workdir_mb} MB quota"
        return None

    def _send(self, msg: dict, deadline: float) -> None:
        data = (json.dumps(msg) + "\n").encode()
        fd = self._proc.stdin.fileno()
        while data:
            if not _ready(fd, select.POLLOUT, deadline - time.monotonic()):
                raise KernelGone("it stopped reading its input")
            try:
                data = data[os.write(fd, data):]
            except BrokenPipeError:
                raise KernelGone() from None

    def _receive(self, timeout: float) -> dict | None:
        """One reply line, or None if none came within `timeout` seconds."""
        fd = self._proc.stdout.fileno()
        end = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if not _ready(fd, select.POLLIN, end - time.monotonic()):
                if self._proc.poll() is not None:
                    raise KernelGone()
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise KernelGone()
            self._buffer += chunk
            if len(self._buffer) > self._max_reply:
                raise KernelGone("it wrote garbage on the interpreter's private channel")
        line, _, rest = self._buffer.partition(b"\n")
        self._buffer = bytearray(rest)
        try:
            return json.loads(line)
        except ValueError:
            return None  # not ours: something the code wrote to the channel

    def _exit_cause(self) -> str:
        try:
            code = self._proc.wait(timeout=1)  # its pipes close a moment before it is reaped
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return "it stopped answering"
        # bwrap reports a child killed by a signal as 128 + the signal number
        signum = -code if code < 0 else code - 128 if code > 128 and self.sandbox == "bubblewrap" else None
        if signum is None:
            return f"exit code {code}"
        name = signal.Signals(signum).name if signum in signal.valid_signals() else f"signal {signum}"
        hint = {"SIGXCPU": f": CPU time limit of {self.limits.cpu_s} s", "SIGSEGV": ": crashed",
                "SIGKILL": ": killed, maybe out of memory", "SIGXFSZ": ": file size limit"}.get(name, "")
        return f"{name}{hint}"

    def _last_words(self) -> str:
        """What the child (or bwrap) said on stderr before dying: the reason a start failed."""
        fd = self._proc.stderr.fileno()
        if not _ready(fd, select.POLLIN, 0):
            return ""
        said = os.read(fd, 1 << 16).decode(errors="replace").strip()
        if said:
            log.warning("interpreter process said: %s", said)
        return f"; it said: {said[-500:]}" if said else ""

    # ---- what the call produced -------------------------------------------------------------------------------

    def _images(self, paths) -> list[str]:
        """The figures the kernel reports, if they are really regular files in the work dir (it could lie)."""
        work = WorkDir(self.workdir)
        found = [work.find(str(p)) if isinstance(p, str) and os.path.isabs(p) else None
                 for p in (paths if isinstance(paths, list) else [])]
        return [str(self.workdir / rel) for rel in found if rel is not None]

    def _changed(self, before: dict, images: list[str]) -> list[str]:
        after = self._snapshot()
        figures = {os.path.relpath(p, self.workdir) for p in images}
        return [str(self.workdir / rel) for rel, sig in sorted(after.items())
                if before.get(rel) != sig and rel not in figures]
