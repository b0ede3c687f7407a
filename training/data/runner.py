"""Really run the programs the data shows, in this process, fast.

Building tens of thousands of conversations through the sandbox (a process per conversation) would take far
longer; these programs are our own generated code, so a namespace per conversation, a timer and captured
stdout are enough. The cell runner and the traceback filter are the interpreter kernel's own functions, and the
text is put together as `tools.interpreter.PythonInterpreter` does it, so the environment turns read exactly
as the real tool's output (tests/test_training_data.py compares the two).
"""
from __future__ import annotations

import contextlib
import io
import signal
from dataclasses import dataclass

from puyu.tools.interpreter.kernel import execute, short_traceback

NO_OUTPUT = "(no output)"


class ProgramTimeout(Exception):
    pass


@dataclass
class Run:
    output: str
    """The environment turn's text, as the interpreter tool writes it."""
    ok: bool
    error: str | None = None
    """The exception's class name when the program raised."""


def _alarm(signum, frame):
    raise ProgramTimeout("the program ran too long")


def _no_input(prompt=""):
    raise EOFError("input() is not available: nobody is at the keyboard of this interpreter")


class Session:
    """One conversation's interpreter state: variables survive from one program to the next, and cells are
    numbered as the kernel numbers them (tracebacks name `<cell 2>`)."""

    def __init__(self, timeout: float = 5.0):
        import builtins
        self.timeout = timeout
        self.ns: dict = {"__builtins__": builtins, "__name__": "__main__", "input": _no_input}
        self.calls = 0

    def run(self, code: str) -> Run:
        self.calls += 1
        out = io.StringIO()
        error, name = None, None
        use_alarm = self.timeout > 0 and hasattr(signal, "setitimer")
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                execute(code, f"<cell {self.calls}>", self.ns, out)
        except ProgramTimeout:
            return Run(out.getvalue() + "Timed out.", False, "TimeoutError")
        except Exception as e:  # noqa: BLE001  (the program's own error is data: the model sees it and fixes it)
            error, name = short_traceback(e), type(e).__name__
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        parts = [out.getvalue().removesuffix("\n"), (error or "").rstrip("\n")]
        return Run("\n".join(p for p in parts if p) or NO_OUTPUT, error is None, name)

    def defined(self) -> set[str]:
        return {k for k in self.ns if not k.startswith("__") and k != "input"}
