"""The interpreter's child process: runs code cells in one namespace that lives as long as the process, like a
notebook kernel.

Started by sandbox.py as `python -I kernel.py CONFIG_JSON`. It talks JSON lines on its original stdin/stdout:
  in:  {"op": "run", "n": 3, "code": "..."}   or   {"op": "interrupt", "reason": "..." (optional)}
  out: {"n": 3, "output": "...", "error": "traceback" | null, "interrupted": bool, "figures": ["/abs/fig.png"],
        "threads": ["names of threads the code started that still run"]}
An interrupt with a reason (the work dir is over its quota) raises OSError(EDQUOT, reason) in the code instead of
KeyboardInterrupt, so the code sees the error a full disk would give.
Standard library only, and it imports nothing heavy, so that it starts in milliseconds.
"""
import ast
import builtins
import codecs
import errno
import io
import json
import linecache
import os
import queue
import resource
import select
import signal
import sys
import threading
import traceback
import types
import warnings

running = False  # True while user code runs: only then does SIGINT become a KeyboardInterrupt
reason = None  # why the server interrupts, when it is not a timeout or a cancel (the work dir's quota)


class Output(io.TextIOBase):
    """What a cell prints, from Python and from subprocesses (through a pipe behind fds 1 and 2), kept within
    `cap` characters: the first and the last half, with the middle counted and dropped."""

    def __init__(self, cap: int, fd: int):
        self.fd, self.head_cap, self.tail_cap = fd, cap // 2, cap - cap // 2
        self.lock = threading.Lock()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._clear()

    def _clear(self):
        self.head, self.head_len, self.tail, self.tail_len, self.dropped = [], 0, [], 0, 0

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        with self.lock:
            if self.head_len < self.head_cap:
                self._pump()  # keeps the start in order with subprocess output; past it, order matters less
            self._add(s)
        return len(s)

    def _add(self, s):
        room = self.head_cap - self.head_len
        if room > 0:
            self.head.append(s[:room])
            self.head_len += len(self.head[-1])
            s = s[room:]
        if len(s) >= self.tail_cap:  # a huge write replaces the whole tail
            self.dropped += self.tail_len + len(s) - self.tail_cap
            self.tail, self.tail_len = [s[-self.tail_cap:]], self.tail_cap
        elif s:
            self.tail.append(s)
            self.tail_len += len(s)
            if self.tail_len > 2 * self.tail_cap:  # trim now and then, not on every write
                self._trim()

    def _trim(self):
        tail = "".join(self.tail)
        self.dropped += max(0, len(tail) - self.tail_cap)
        self.tail = [tail[-self.tail_cap:]]
        self.tail_len = len(self.tail[0])

    def _pump(self, max_reads: int = 16):
        for _ in range(max_reads):
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            self._add(self.decoder.decode(data))

    def pump_forever(self):
        """Thread: drain the pipe so that a chatty subprocess never blocks on it."""
        while True:
            select.select([self.fd], [], [])
            with self.lock:
                self._pump()

    def take(self) -> str:
        """Everything printed since the last take."""
        with self.lock:
            self._pump(max_reads=1 << 10)
            self._trim()
            head, tail, dropped = "".join(self.head), "".join(self.tail), self.dropped
            self._clear()
        return f"{head}\n[output truncated: {dropped} chars]\n{tail}" if dropped else head + tail

    def writable(self):
        return True

    def fileno(self):  # subprocess.run(..., stdout=sys.stdout) and faulthandler write to the pipe
        return 1

    @property
    def encoding(self):
        return "utf-8"


def apply_limits(config):
    """Rlimits first (root may still set hard limits), then drop root for good."""
    def limit(kind, soft, hard=None):  # never above what we were given: that would fail
        given = resource.getrlimit(kind)[1]
        cap = (lambda v: v) if given == resource.RLIM_INFINITY else (lambda v: min(v, given))
        resource.setrlimit(kind, (cap(soft), cap(soft if hard is None else hard)))

    mb = 1 << 20
    limit(resource.RLIMIT_AS, config["memory_mb"] * mb)
    limit(resource.RLIMIT_FSIZE, config["file_mb"] * mb)
    limit(resource.RLIMIT_NPROC, config["nproc"])
    limit(resource.RLIMIT_CORE, 0)
    limit(resource.RLIMIT_CPU, config["cpu_s"], resource.RLIM_INFINITY)  # the soft limit is raised per call
    uid = config["uid"]
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise SystemExit("could not drop root")
    os.umask(0o022)


def die_with_server(server_pid):
    """Without bwrap's --die-with-parent, ask the kernel for the same: SIGKILL when the server dies, even while this
    process is stopped between calls. Set after dropping root, which clears it."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != server_pid:  # the server died before that was set
        os._exit(1)


def allow_cpu(seconds):
    """RLIMIT_CPU counts the whole life of the process: give this call `seconds` more than used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = int(usage.ru_utime + usage.ru_stime) + seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def short_traceback(exc) -> str:
    """The traceback with only the frames of the user's cells (not the kernel's, not the libraries')."""
    top = traceback.TracebackException.from_exception(exc)
    todo, seen = [top], set()
    while todo:
        te = todo.pop()
        if te is None or id(te) in seen:
            continue
        seen.add(id(te))
        te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename.startswith("<cell")])
        todo += [te.__cause__, te.__context__, *(getattr(te, "exceptions", None) or [])]
    return "".join(top.format())


def execute(code, filename, namespace, out):
    """Run a cell; like Jupyter, show the last expression's value unless the cell ends with ';'."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # source lines in tracebacks
    tree = ast.parse(code, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
        last = tree.body.pop()
    exec(compile(tree, filename, "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
        if value is not None:
            namespace["_"] = value
            out.write(repr(value) + "\n")


def save_figures(directory, out, counter=[0]):  # noqa: B006  (the counter outlives calls on purpose)
    """Save every open matplotlib figure as a PNG and close it. Only if the code imported pyplot: importing
    matplotlib here would cost every kernel half a second."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    paths = []
    for num in plt.get_fignums():
        try:
            os.makedirs(directory, exist_ok=True)
            counter[0] += 1
            while os.path.exists(path := os.path.join(directory, f"fig_{counter[0]}.png")):
                counter[0] += 1
            plt.figure(num).savefig(path, format="png")
            paths.append(path)
        except Exception as e:
            out.write(f"[figure {num} could not be saved: {type(e).__name__}: {e}]\n")
    plt.close("all")
    return paths


def stop_strays(own_pid_namespace: bool) -> int:
    """Stop the processes the call left running, so that nothing it starts (a fork bomb, a forgotten server)
    outlives it. In its own PID namespace everything but the kernel and bwrap's init is the code's; otherwise the
    code's processes are those of the kernel's session (one that calls setsid() escapes). Returns how many."""
    me, session, stopped = os.getpid(), os.getsid(0), set()
    for _ in range(50):  # a process may fork while its parent is being killed: repeat until none is left
        strays = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in (1, me):
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    state, _ppid, _group, sid = f.read().rpartition(")")[2].split()[:4]
            except (OSError, ValueError):
                continue  # gone already
            if state != "Z" and (own_pid_namespace or int(sid) == session):
                strays.append(int(name))
        if not strays:
            break
        stopped.update(strays)
        if own_pid_namespace and os.getppid() == 1:  # under bwrap's init: kill(-1) reaches only the namespace
            os.kill(-1, signal.SIGKILL)  # all but its init and us, in one go: no fork slips in between kills
            continue
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    while True:  # reap our own children among them: zombies still count against the process limit
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    return len(stopped)


def on_sigint(signum, frame):
    global reason
    if running:  # an interrupt that arrives after the cell finished must not hit the kernel's own code
        why, reason = reason, None
        if why:
            raise OSError(errno.EDQUOT, why)
        raise KeyboardInterrupt


def no_input(prompt=""):
    raise EOFError("input() is not available: nobody is at the keyboard of this interpreter")


def main():
    global running, reason
    config = json.loads(sys.argv[1])
    apply_limits(config)
    if not config["pid_namespace"]:
        die_with_server(config["server_pid"])
    sys.argv, sys.dont_write_bytecode = [""], True
    sys.path.insert(0, "")  # modules the code writes into the work dir are importable, as in Jupyter
    kernel_pid = os.getpid()

    # The protocol moves off fds 0/1 (to close-on-exec copies) so that user code and its subprocesses only ever see
    # /dev/null as stdin and a pipe into `out` as stdout/stderr.
    requests, replies = os.fdopen(os.dup(0), "rb"), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    os.set_blocking(read_end, False)
    out = Output(config["max_output_chars"], read_end)
    sys.stdout = sys.stderr = out
    threading.Thread(target=out.pump_forever, daemon=True).start()

    def forked():  # a fork of the kernel (os.fork, multiprocessing) must not speak the protocol or use `out`
        if os.getppid() == kernel_pid:  # forks of forks inherit this already done
            os.close(replies)
            sys.stdout = sys.stderr = open(1, "w", buffering=1, closefd=False)

    os.register_at_fork(after_in_child=forked)
    signal.signal(signal.SIGINT, on_sigint)
    warnings.filterwarnings("ignore", message="FigureCanvasAgg is non-interactive")  # plt.show() under Agg

    main_thread, inbox = threading.main_thread().ident, queue.Queue()

    def read_requests():
        global reason
        for line in requests:
            msg = json.loads(line)
            if msg["op"] == "interrupt":
                reason = msg.get("reason")
                signal.pthread_kill(main_thread, signal.SIGINT)
            else:
                inbox.put(msg)
        os._exit(0)  # the server closed the pipe or died: nobody will ever read our replies

    threading.Thread(target=read_requests, daemon=True).start()
    own_threads = set(threading.enumerate())

    module = types.ModuleType("__main__")  # so that pickle and multiprocessing find classes defined in cells
    module.__dict__.update(__builtins__=builtins, input=no_input)
    sys.modules["__main__"] = module
    figures_dir = os.path.join(config["workdir"], "figures")
    while True:
        msg = inbox.get()
        error, interrupted = None, False
        try:
            allow_cpu(config["cpu_s"])
            reason = None  # an interrupt meant for an earlier call
            running = True
            execute(msg["code"], f"<cell {msg['n']}>", module.__dict__, out)
            running = False  # inside the try: a SIGINT landing just before this line is still caught below
        except BaseException as e:  # SystemExit included: sys.exit() ends the cell, not the kernel
            running = False
            interrupted, error = isinstance(e, KeyboardInterrupt), short_traceback(e)
        if os.getpid() != kernel_pid:
            os._exit(1 if error else 0)  # a fork made by the cell, which fell through to here
        reply = {"n": msg["n"], "error": error, "interrupted": interrupted, "figures": save_figures(figures_dir, out),
                 "threads": [t.name for t in threading.enumerate() if t not in own_threads and t.is_alive()]}
        if stopped := stop_strays(config["pid_namespace"]):
            out.write(f"[stopped {stopped} process(es) the code left running: they do not outlive a call]\n")
        reply["output"] = out.take()
        data = (json.dumps(reply) + "\n").encode()
        while data:
            data = data[os.write(replies, data):]


if __name__ == "__main__":
    main()
