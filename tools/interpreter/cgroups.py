"""Per-sandbox totals through control groups: all the processes of one conversation's sandbox together get at most
`total_memory_mb` of memory (its /dev/shm included) and `max_procs` tasks, and the server can list them all.

Both cgroup versions are used where the server may write them: v1 (separate `memory` and `pids` hierarchies, as on
this project's build machine) or v2 (one unified hierarchy, most hosts today; the server's own
cgroup must have the memory and pids controllers delegated, e.g. systemd's `Delegate=yes`). A sandbox's cgroup is
made under the server's own (`<own>/puyu-<server pid>/<sandbox>`), so whatever limits the server lives under still
cover its sandboxes. Where neither can be written, `support().statement` says so and the sandboxes run with
per-process limits only.

Not the freezer: a task frozen by cgroup v1 ignores even SIGKILL until thawed, so a sandbox frozen when the server is
killed would outlive it. Sandboxes are stopped between calls with SIGSTOP instead (sandbox.py), which SIGKILL ends.
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class Support:
    """Which cgroups the sandboxes get, and one line saying so (for `puyu chat`'s banner and the logs)."""

    version: str | None  # "v1", "v2" or None
    statement: str
    bases: dict[str, Path] = field(default_factory=dict)
    """v1: controller -> the folder sandbox cgroups go in; v2: {"unified": that folder}."""


class SandboxCgroup:
    """One sandbox's cgroup(s): made with their limits, joined by the sandbox's first process, listing every process
    of the sandbox, removed when the sandbox is gone."""

    def __init__(self, support: Support, name: str, memory_bytes: int, max_tasks: int):
        self.version = support.version
        self.dirs = {c: base / name for c, base in support.bases.items()}
        for d in self.dirs.values():
            d.mkdir(exist_ok=True)
        if self.version == "v1":
            memory = self.dirs["memory"]
            _write(memory / "memory.limit_in_bytes", memory_bytes)
            if (memory / "memory.memsw.limit_in_bytes").exists():  # swap must not stretch the total
                _write(memory / "memory.memsw.limit_in_bytes", memory_bytes)
            _write(self.dirs["pids"] / "pids.max", max_tasks)
        else:
            unified = self.dirs["unified"]
            _write(unified / "memory.max", memory_bytes)
            if (unified / "memory.swap.max").exists():
                _write(unified / "memory.swap.max", 0)
            _write(unified / "pids.max", max_tasks)

    @property
    def procs_files(self) -> list[str]:
        """Where the sandbox's first process writes its pid to join (before it starts anything else)."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def pids(self) -> list[int]:
        d = self.dirs.get("pids") or self.dirs["unified"]
        try:
            return [int(p) for p in (d / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self) -> None:
        """Remove the (empty) cgroups; their last processes may take a moment to be reaped."""
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                log.warning("sandbox cgroup %s could not be removed", d)


@functools.cache
def support() -> Support:
    """What this machine allows, decided once per process (only root may make cgroups here)."""
    if os.geteuid() != 0:
        return Support(None, "cgroups off (the server does not run as root): per-process limits only")
    own = _own_cgroups()
    problems = []
    v1 = _try_v1(own, problems)
    if v1 is not None:
        return v1
    v2 = _try_v2(own, problems)
    if v2 is not None:
        return v2
    return Support(None, "cgroups off (" + "; ".join(problems or ["no cgroup filesystem"]) + "): per-process "
                   "limits only, no per-sandbox memory or process totals")


def _own_cgroups() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path."""
    out = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _parent_folder(mount: Path, own_path: str) -> Path:
    """This process's folder for its sandboxes' cgroups, after removing those of puyu processes that are gone (killed
    before they could clean up: their sandboxes died with them, their empty cgroups stayed)."""
    home = mount / own_path.lstrip("/")
    for stale in home.glob("puyu-*"):
        pid = stale.name.removeprefix("puyu-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove([*stale.glob("sandbox-*"), stale])
    return home / f"puyu-{os.getpid()}"


def _try_v1(own: dict[str, str], problems: list[str]) -> Support | None:
    if not all(c in own and (ROOT / c / "cgroup.procs").exists() for c in V1_CONTROLLERS):
        return None
    bases = {}
    try:
        for c in V1_CONTROLLERS:
            bases[c] = _parent_folder(ROOT / c, own[c])
            bases[c].mkdir(exist_ok=True)
    except OSError as e:
        problems.append(f"cgroup v1 is not writable: {e.strerror}")
        return None
    atexit.register(_remove, list(bases.values()))
    return Support("v1", "cgroup v1 (memory, pids): memory and process totals per sandbox", bases)


def _try_v2(own: dict[str, str], problems: list[str]) -> Support | None:
    mount = next((m for m in (ROOT, ROOT / "unified") if (m / "cgroup.controllers").exists()), None)
    if mount is None or "" not in own:
        return None
    home = mount / own[""].lstrip("/")
    try:
        enabled = (home / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(enabled):
            (home / "cgroup.subtree_control").write_text("+memory +pids")  # works at the root, or when delegated
        base = _parent_folder(mount, own[""])
        base.mkdir(exist_ok=True)
        (base / "cgroup.subtree_control").write_text("+memory +pids")
    except OSError as e:
        problems.append(f"cgroup v2 at {home}: the memory and pids controllers are not delegated to puyu "
                        f"({e.strerror})")
        return None
    atexit.register(_remove, [base])
    return Support("v2", "cgroup v2 (memory, pids): memory and process totals per sandbox",
                   {"unified": base})


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass  # a sandbox still in it; the folder is empty once it ends


def _write(path: Path, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))
