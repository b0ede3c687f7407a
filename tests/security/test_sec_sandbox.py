"""The interpreter's sandbox, per conversation: it sees its own work dir and nothing else of puyu's, has a uid and
limits of its own (processes, memory, disk), and what a call leaves running does not run on unseen. Driven through
the runtime's own toolboxes (as `puyu serve` and the app build them) or the interpreter itself; every hostile call
is followed by a normal one that must still work."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time

import pytest

from puyu.core.config import SandboxLimits, Settings
from puyu.tools.interpreter import PythonInterpreter, cgroups
from puyu.tools.interpreter import sandbox as sandbox_mod
from tests.security.sec_helpers import as_root, outside_tmp
from tests.serve_helpers import write_script

pytestmark = pytest.mark.timeout(180)

BWRAP_PROBLEM = sandbox_mod._bwrap_problem(os.geteuid() == 0)
needs_bwrap = pytest.mark.skipif(bool(BWRAP_PROBLEM), reason=f"bubblewrap unavailable: {BWRAP_PROBLEM}")
needs_cgroups = pytest.mark.skipif(cgroups.support().version is None, reason=cgroups.support().statement)


@pytest.fixture
def made():
    interpreters = []
    yield interpreters
    for interp in interpreters:
        interp.close()


def interpreter(made, work, **limits) -> PythonInterpreter:
    interp = PythonInterpreter(work, SandboxLimits(**{"timeout_s": 30, **limits}))
    made.append(interp)
    return interp


def still_works(interp: PythonInterpreter) -> None:
    res = interp.run("6 * 7")
    assert res.ok and res.text == "42", res


# ---- 3. the data dir is hidden wherever it lives ------------------------------------------------------------------

@needs_bwrap
def test_code_sees_its_work_dir_and_nothing_else_of_puyus_wherever_the_data_dir_is(tmp_path):
    from puyu.runtime import Runtime

    data = outside_tmp()  # like --data-dir /srv/puyu-data: not under /tmp, which the sandbox hides anyway
    settings = Settings(data_dir=str(data))
    settings = settings.replace(model={"name": str(write_script(tmp_path / "s.json")), "backend": "replay"},
                                agent={"tools": []})
    runtime = Runtime(settings)
    try:
        runtime.store.create("the other conversation")
        other = runtime.workdir("other")
        (other / "uploads").mkdir()
        (other / "uploads" / "private.txt").write_text("B's secret")
        mine = runtime.toolbox("mine", settings).interpreter
        probe = mine.run(f"""
import os
found = {{}}
for path in [{str(data)!r}, {str(data / "puyu.db")!r}, {str(other)!r}, {str(other / "uploads" / "private.txt")!r}]:
    try:
        found[path] = sorted(os.listdir(path)) if os.path.isdir(path) else open(path, 'rb').read(16).decode('latin-1')
    except OSError as e:
        found[path] = type(e).__name__
print(found)
print(sorted(os.listdir('.')))
""")
        found = eval(probe.text.splitlines()[0])  # our own probe's dict
        assert found[str(data)] == ["conversations"]  # only the way to its own work dir
        assert found[str(data / "puyu.db")] == "FileNotFoundError"
        assert found[str(other)] == "FileNotFoundError"
        assert found[str(other / "uploads" / "private.txt")] == "FileNotFoundError"
        still_works(mine)
        assert sqlite3.connect(data / "puyu.db").execute("SELECT count(*) FROM conversations").fetchone() == (1,)
    finally:
        runtime.close()
        shutil.rmtree(data, ignore_errors=True)


# ---- 4. limits are per conversation -----------------------------------------------------------------------------

@as_root
def test_each_live_sandbox_has_its_own_uid_so_threads_in_one_do_not_starve_another(made, tmp_path):
    a = interpreter(made, tmp_path / "a", max_procs=24)
    b = interpreter(made, tmp_path / "b", max_procs=24)
    if a.sandbox == sandbox_mod._FALLBACK_AS_ROOT:
        pytest.skip(f"the code keeps the server's root here ({a.sandbox}), so it has no uid of its own")
    uids = [int(i.run("import os; os.getuid()").text) for i in (a, b)]
    assert uids[0] != uids[1] and 0 not in uids
    hog = a.run("import threading\nstop = threading.Event()\n"
                "threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(20)]\n"
                "for t in threads: t.start()\nprint(len(threads))")
    assert hog.text.startswith("20")
    res = b.run("import threading, subprocess\nstop = threading.Event()\n"
                "ts = [threading.Thread(target=stop.wait, daemon=True) for _ in range(15)]\n"
                "for t in ts: t.start()\nstop.set()\n"
                "print(subprocess.run(['true']).returncode, len(ts))")
    assert res.ok and res.text.startswith("0 15"), res.text
    a.run("stop.set()\nfor t in threads: t.join()")
    still_works(a)
    still_works(b)


@as_root
def test_a_restarted_sandbox_gets_back_its_files_whatever_uid_it_gets(made, tmp_path):
    first = interpreter(made, tmp_path / "a")
    first.run("import os; os.makedirs('data', exist_ok=True); open('data/x.txt', 'w').write('1')")
    first.close()
    hog = interpreter(made, tmp_path / "other")
    hog.run("1")  # holds a uid, maybe the one the first had
    again = interpreter(made, tmp_path / "a")
    res = again.run("open('data/x.txt', 'a').write('2'); open('data/y.txt', 'w').write('3'); "
                    "print(open('data/x.txt').read())")
    assert res.ok and res.text == "12", res.text


@needs_cgroups
def test_memory_is_capped_for_all_the_processes_of_a_sandbox_together(made, tmp_path):
    interp = interpreter(made, tmp_path / "a", memory_mb=700, total_memory_mb=600)
    res = interp.run("""
import subprocess, sys
code = "b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(3)"
procs = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(3)]
print([p.wait() for p in procs])
""")
    codes = json.loads(res.text.splitlines()[0])
    assert any(c != 0 for c in codes), res.text  # 3 x 400 MB do not fit in 600 MB together
    still_works(interp)


def test_the_work_dir_quota_stops_the_code_with_a_disk_error_and_the_server_goes_on(made, tmp_path):
    interp = interpreter(made, tmp_path / "a", workdir_mb=40)
    res = interp.run("""
import os
os.makedirs('fill', exist_ok=True)
block = os.urandom(2**20)
for n in range(400):  # 400 MB at most, ten times the quota
    with open(f'fill/{n}.bin', 'wb') as f:
        f.write(block)
""")
    assert not res.ok and "Disk quota exceeded" in res.text and "40 MB quota" in res.text, res.text
    written = sum(f.stat().st_size for f in (tmp_path / "a" / "fill").iterdir())
    assert written < 300 * 2**20  # stopped soon after the quota (it is measured while the code runs)
    cleaned = interp.run("import shutil; shutil.rmtree('fill'); print('cleaned')")
    assert cleaned.ok and cleaned.text == "cleaned"
    still_works(interp)


def test_uploads_past_the_quota_are_refused(tmp_path):
    from puyu.tools.files import UploadError, save_uploads

    (tmp_path / "big.bin").write_bytes(os.urandom(3 * 2**20))
    with pytest.raises(UploadError, match="quota"):
        save_uploads(tmp_path, [("a.txt", b"x" * 2**20)], quota_bytes=2**20)
    save_uploads(tmp_path, [("a.txt", b"x" * 100)], quota_bytes=8 * 2**20)


def test_a_thread_left_running_is_named_and_does_not_run_between_calls(made, tmp_path):
    interp = interpreter(made, tmp_path / "a")
    started = interp.run("import threading, time\nstamps, done = [], threading.Event()\n"
                         "def tick():\n    while not done.is_set():\n        stamps.append(time.monotonic()); "
                         "time.sleep(0.01)\n"
                         "ticker = threading.Thread(target=tick, name='ticker', daemon=True)\nticker.start()")
    assert "ticker" in started.text and "paused until the next call" in started.text
    time.sleep(1.5)
    res = interp.run("import time; time.sleep(0.2)\n"
                     "print(max(b - a for a, b in zip(stamps, stamps[1:])))")
    assert float(res.text.splitlines()[0]) > 1.0, res.text  # the thread stood still while no call ran
    interp.run("done.set(); ticker.join()")
    still_works(interp)


def test_cgroup_v2_is_used_where_its_controllers_are_delegated(tmp_path, monkeypatch):
    """This machine has cgroup v1; most hosts have v2. What puyu writes there, on a copy of a v2 tree whose own
    cgroup has the memory and pids controllers delegated (the kernel's side cannot be checked here)."""
    own = tmp_path / "system.slice" / "puyu.service"
    own.mkdir(parents=True)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text("memory pids\n")
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    monkeypatch.setattr(cgroups, "_own_cgroups", lambda: {"": "/system.slice/puyu.service"})
    monkeypatch.setattr(cgroups.os, "geteuid", lambda: 0)
    cgroups.support.cache_clear()
    try:
        found = cgroups.support()
        assert found.version == "v2" and "cgroup v2" in found.statement
        made = cgroups.SandboxCgroup(found, "sandbox-x", 600 << 20, 72)
        folder = own / f"puyu-{os.getpid()}" / "sandbox-x"
        assert (folder / "memory.max").read_text() == str(600 << 20) and (folder / "pids.max").read_text() == "72"
        assert made.procs_files == [str(folder / "cgroup.procs")]
        assert (own / f"puyu-{os.getpid()}" / "cgroup.subtree_control").read_text() == "+memory +pids"
    finally:
        cgroups.support.cache_clear()
