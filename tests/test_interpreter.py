"""The sandboxed Python interpreter: notebook behaviour, limits, isolation, and recovery.

Most tests run twice: under bubblewrap and under the fallback (PUYU_SANDBOX=none, rlimits only). Tests of
isolation the fallback does not promise skip there, with the reason. Every hostile call is followed by a normal
one that must work.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from puyu.core.config import SandboxLimits
from puyu.tools.interpreter import PythonInterpreter
from puyu.tools.interpreter import sandbox as sandbox_mod

pytestmark = pytest.mark.timeout(120)

BWRAP_PROBLEM = sandbox_mod._bwrap_problem(os.geteuid() == 0)


@pytest.fixture(params=["bwrap", "none"])
def make(request, tmp_path):
    """Build interpreters in one isolation mode; all are closed after the test."""
    if request.param == "bwrap" and BWRAP_PROBLEM:
        pytest.skip(f"bubblewrap unavailable: {BWRAP_PROBLEM}")
    made = []

    def make(**limits) -> PythonInterpreter:
        limits = {"timeout_s": 20, "isolation": request.param, **limits}
        interp = PythonInterpreter(tmp_path / f"work{len(made)}", SandboxLimits(**limits))
        made.append(interp)
        return interp

    yield make
    for interp in made:
        interp.close()


@pytest.fixture
def interp(make):
    return make()


def isolated(interp: PythonInterpreter) -> None:
    if interp.sandbox != "bubblewrap":
        pytest.skip(f"the fallback promises no such isolation ({interp.sandbox})")


def still_works(interp: PythonInterpreter) -> None:
    res = interp.run("6 * 7")
    assert res.ok and res.text == "42", res


# ---- a notebook ---------------------------------------------------------------------------------------------

def test_state_persists_and_last_value_is_shown(interp):
    assert interp.run("import math\nx = 20").text == "(no output)"
    res = interp.run("print('hi')\nx + math.floor(2.5)")
    assert res.ok and res.text == "hi\n22"
    assert interp.run("x;").text == "(no output)"  # a trailing ';' hides the value, as in Jupyter


def test_files_persist_and_are_reported(interp):
    res = interp.run("open('data.csv', 'w').write('a,b\\n1,2\\n')")
    assert res.ok and res.files == [str(interp.workdir / "data.csv")]
    res = interp.run("open('data.csv').read().splitlines()[1]")
    assert res.text == "'1,2'" and res.files == []  # read, not changed
    assert (interp.workdir / "data.csv").read_text() == "a,b\n1,2\n"  # the server can read what the code wrote


def test_uploads_from_the_server_can_be_changed(interp):
    (interp.workdir / "upload.txt").write_text("from the user\n")
    res = interp.run("with open('upload.txt', 'a') as f: f.write('and from the code\\n')")
    assert res.ok, res.text
    assert (interp.workdir / "upload.txt").read_text() == "from the user\nand from the code\n"


def test_figures_come_back_as_png(interp):
    res = interp.run("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('t')\nplt.show()\n"
                     "open('notes.txt', 'w').write('x')")
    assert res.ok, res.text
    assert len(res.images) == 1 and res.images[0].endswith(".png")
    with open(res.images[0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert res.files == [str(interp.workdir / "notes.txt")]  # figures are images, not files
    assert interp.run("len(plt.get_fignums())").text == "0"  # saved and closed


def test_errors_show_only_the_users_frames(interp):
    res = interp.run("import json\ndef parse(s):\n    return json.loads(s)\nparse('{')")
    assert not res.ok
    assert 'File "<cell' in res.text and "parse('{')" in res.text and "JSONDecodeError" in res.text
    assert "kernel.py" not in res.text and "json/decoder.py" not in res.text
    res = interp.run("def broken(:\n  pass")
    assert not res.ok and "SyntaxError" in res.text and "kernel.py" not in res.text
    still_works(interp)


def test_subprocess_output_is_captured_in_order(interp):
    res = interp.run("import os, subprocess\nprint('a')\nos.system('echo b')\nprint('c')\n"
                     "subprocess.run(['sh', '-c', 'echo d >&2'])\nprint('e')")
    assert res.text == "a\nb\nc\nd\ne", res.text


def test_environment_is_built_from_scratch(make, monkeypatch):
    monkeypatch.setenv("PUYU_SECRET", "hunter2")
    interp = make()
    res = interp.run("import os\nprint(sorted(os.environ.items()))\nos.environ.get('PUYU_SECRET')")
    assert res.ok and "hunter2" not in res.text and "PUYU_SECRET" not in res.text
    assert f"('HOME', '{interp.workdir}')" in res.text
    assert interp.run("import os; os.getcwd()").text == repr(str(interp.workdir))


# ---- limits -------------------------------------------------------------------------------------------------

def test_timeout_interrupts_and_keeps_variables(make):
    interp = make(timeout_s=2)
    interp.run("x = 1")
    start = time.monotonic()
    res = interp.run("while True: pass")
    assert time.monotonic() - start < 3.0
    assert not res.ok and "Timed out" in res.text and "variables were kept" in res.text
    assert interp.run("x").text == "1"
    still_works(interp)


def test_code_that_ignores_interrupts_is_killed_and_the_session_restarts(make):
    interp = make(timeout_s=1)
    interp.run("x = 1")
    start = time.monotonic()
    res = interp.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass")
    assert time.monotonic() - start < 2.5
    assert not res.ok and "restarted" in res.text and "lost" in res.text
    assert "NameError" in interp.run("x").text
    still_works(interp)


def test_interrupt_from_another_thread(interp):
    threading.Timer(0.5, interp.interrupt).start()
    start = time.monotonic()
    res = interp.run("import time\ny = 5\ntime.sleep(60)")
    assert time.monotonic() - start < 3
    assert not res.ok and "Cancelled" in res.text
    assert interp.run("y").text == "5"


def test_memory_bombs_are_contained(make):
    interp = make(memory_mb=256)
    res = interp.run("b = bytearray(10**10)")
    assert not res.ok and "MemoryError" in res.text
    res = interp.run("chunks = []\nwhile True: chunks.append(bytearray(10**6))")
    assert not res.ok and "MemoryError" in res.text
    interp.run("del chunks")
    still_works(interp)


def test_cpu_and_file_size_limits(make):
    interp = make(cpu_s=1, max_file_mb=1)
    res = interp.run("open('big.bin', 'wb').write(b'x' * 2_000_000)")
    assert not res.ok and "File too large" in res.text
    res = interp.run("while True: pass")
    assert not res.ok and "SIGXCPU" in res.text and "restarted" in res.text
    still_works(interp)


def test_huge_output_is_truncated_in_the_child(make):
    interp = make(max_output_chars=1000)
    start = time.monotonic()
    res = interp.run("print('x' * 10**8)\nfor i in range(20000): print('y' * 5000)\nprint('the end')")
    assert time.monotonic() - start < 15
    assert res.ok and len(res.text) < 1200
    assert res.text.startswith("x" * 100) and res.text.endswith("the end")
    assert "[output truncated:" in res.text
    still_works(interp)


def test_exit_is_announced_and_the_next_call_restarts(interp):
    interp.run("x = 1")
    res = interp.run("import os; os._exit(3)")
    assert not res.ok and "exit code 3" in res.text and "restarted" in res.text
    assert "NameError" in interp.run("x").text
    still_works(interp)


def test_restart_and_close(interp):
    interp.run("x = 1")
    interp.restart()
    assert "NameError" in interp.run("x").text
    interp.close()
    assert not interp.run("1").ok


# ---- processes ----------------------------------------------------------------------------------------------

def contains_forks(interp: PythonInterpreter) -> None:
    if not interp._sandbox.limits_processes:
        pytest.skip(f"no process limit here ({interp.sandbox})")


def test_fork_bomb_is_contained(interp):
    contains_forks(interp)
    start = time.monotonic()
    res = interp.run("import os\nwhile True:\n    os.fork()")
    assert time.monotonic() - start < 15 and not res.ok
    assert "do not outlive a call" in res.text  # the survivors were stopped
    still_works(interp)
    if interp.sandbox == "bubblewrap":  # in its own PID namespace only bwrap's init and the kernel remain
        assert interp.run("import os; len([p for p in os.listdir('/proc') if p.isdigit()])").text == "2"


def test_subprocess_spawning_loop_is_contained(interp):
    contains_forks(interp)
    res = interp.run("import subprocess\nkids = []\nwhile True: kids.append(subprocess.Popen(['sleep', '60']))")
    assert not res.ok and "BlockingIOError" in res.text
    assert interp.run("import subprocess; subprocess.run(['echo', 'ok'])").text.startswith("ok")


def test_killing_the_parent_or_pid_1_leaves_the_server_alive(interp):
    isolated(interp)  # under the fallback the code's parent IS the server
    for code in ("import os; os.kill(os.getppid(), 9)", "import os; os.kill(1, 9)"):
        interp.run(code)
        still_works(interp)


# ---- isolation ----------------------------------------------------------------------------------------------

def test_writing_outside_the_workdir_fails(interp):
    isolated(interp)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in ("/etc/puyu_test", "/root/puyu_test", os.path.join(repo, "puyu_test")):
        res = interp.run(f"open({path!r}, 'w').write('x')")
        assert not res.ok and ("Read-only" in res.text or "Permission denied" in res.text), res.text
        assert not os.path.exists(path)
    assert interp.run("open('/tmp/scratch', 'w').write('x')").ok  # a private /tmp is fine
    still_works(interp)


def test_network_is_refused(interp):
    isolated(interp)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for host, p in (("127.0.0.1", port), ("1.1.1.1", 80)):
            res = interp.run(f"import socket\nsocket.create_connection(({host!r}, {p}), timeout=2)")
            assert not res.ok and ("refused" in res.text or "unreachable" in res.text), res.text
    still_works(interp)


# ---- configuration ------------------------------------------------------------------------------------------

def test_sandbox_is_named(interp):
    if interp.limits.isolation == "bwrap":
        assert interp.sandbox == "bubblewrap"
    else:
        assert interp.sandbox.startswith("rlimits-only")


def test_env_var_forces_the_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("PUYU_SANDBOX", "none")
    with PythonInterpreter(tmp_path) as interp:
        assert interp.sandbox.startswith("rlimits-only")
        still_works(interp)


def test_unprintable_output_is_cleaned(interp):
    res = interp.run("print('a\\ud800b')")
    assert res.ok and res.text == "a?b"


@pytest.fixture
def checkout_in_tmp():
    """A folder straight under /tmp that anyone may enter, as a `git clone` into /tmp makes."""
    path = Path(tempfile.mkdtemp(prefix="puyu-checkout-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(bool(BWRAP_PROBLEM), reason=f"bubblewrap unavailable: {BWRAP_PROBLEM}")
def test_a_python_installed_under_tmp_runs_in_the_sandbox(checkout_in_tmp, tmp_path):
    """A checkout cloned into /tmp keeps its .venv there, under the folder the sandbox mounts as the code's own /tmp:
    the interpreter must still find its Python (it did not: `bwrap: execvp ...: No such file or directory`)."""
    venv = checkout_in_tmp / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_dir = next((venv / "lib").glob("python3.*/site-packages"))
    outer = [p for p in sys.path if p.endswith("site-packages")]
    (site_dir / "outer.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in outer))
    script = ("import sys; from pathlib import Path; from puyu.tools.interpreter import PythonInterpreter\n"
              "with PythonInterpreter(Path(sys.argv[1])) as interp:\n"
              "    print(interp.sandbox); print(interp.run('import numpy; 6 * 7').text)\n")
    (tmp_path / "work").mkdir()
    out = subprocess.run([str(venv / "bin" / "python"), "-c", script, str(tmp_path / "work")], capture_output=True,
                         check=False, text=True, timeout=60)
    assert out.stdout.splitlines()[-2:] == ["bubblewrap", "42"], out.stdout + out.stderr


def test_a_shared_directory_is_refused_as_workdir():
    with pytest.raises(ValueError, match="dedicated"):
        PythonInterpreter("/tmp")


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        SandboxLimits(timeout_s=0)
    with pytest.raises(ValueError):
        SandboxLimits(isolation="docker")


def test_state_survives_the_thread_that_started_the_kernel(tmp_path):
    """The agent runs each tool call on a new thread; the kernel must outlive it."""
    import threading

    interp = PythonInterpreter(tmp_path)
    try:
        first = threading.Thread(target=lambda: interp.run("x = 41"))
        first.start()
        first.join()
        time.sleep(0.5)  # a parent-death signal would arrive in this time
        out = interp.run("print(x + 1)")
        assert out.ok and out.text.strip() == "42"
    finally:
        interp.close()
