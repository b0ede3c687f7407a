"""Test doubles for the eval tests (this module holds no tests): a prompt-driven model that can be called from
many threads, a scripted OpenAI-compatible server, an oracle that knows every benchmark's answers, a replayer of
reference conversations, and an in-process interpreter."""
from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from puyu.core.messages import ToolResult
from puyu.models.base import ChatModel, ModelError, PromptTooLong

USER, ENV, ASSISTANT = "<|im_start|>user\n", "<|im_start|>environment", "<|im_start|>assistant\n"


def last_user(prompt: str) -> str:
    return prompt.rsplit(USER, 1)[-1].split("<|im_end|>")[0] if USER in prompt else ""


class PromptModel(ChatModel):
    """Replies with `reply(prompt)`, cut at stop strings like a backend. Stateless, so thread-safe; it counts
    calls, prompts per generate() call, and can fail after `fail_after` calls."""

    name = "prompt-model"

    def __init__(self, reply, fail_after: int | None = None, max_chars: int | None = None):
        self.reply = reply
        self.fail_after = fail_after
        self.max_chars = max_chars  # a longer prompt "does not fit the context"
        self.calls = 0
        self.batch_sizes: list[int] = []
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    def _one(self, prompt, gen) -> str:
        with self._lock:
            self.calls += 1
            self.prompts.append(prompt)
            if self.fail_after is not None and self.calls > self.fail_after:
                raise ModelError("the test backend is down")
        if self.max_chars is not None and len(prompt) > self.max_chars:
            raise PromptTooLong(f"the prompt is {len(prompt)} characters; at most {self.max_chars} fit")
        text = self.reply(prompt)
        cuts = [i for i in (text.find(s) for s in gen.stop) if i >= 0]
        return text[:min(cuts)] if cuts else text

    def stream(self, prompt, gen):
        yield self._one(prompt, gen)

    def generate(self, prompts, gen):
        self.batch_sizes.append(len(prompts))
        return [self._one(p, gen) for p in prompts]


def steps_taken(prompt: str) -> int:
    """Assistant turns already written after the last user turn (the agent's step within this turn)."""
    return prompt.rsplit(USER, 1)[-1].count(ASSISTANT) - 1


def last_output(prompt: str) -> str:
    tail = prompt.rsplit(ENV, 1)[-1]
    return tail.split("\n", 1)[-1].split("<|im_end|>")[0].strip()


def code_call(code: str) -> str:
    return f"<|action_start|><|interpreter|>\n```python\n{code}\n```<|action_end|>"


def plugin_call(name: str, args: str) -> str:
    return f'<|action_start|><|plugin|>\n{{"name": "{name}", "parameters": {args}}}<|action_end|>'


class DictInterpreter:
    """Runs code with exec in one namespace per conversation (the sandboxed one has its own tests)."""

    def __init__(self, workdir=None):
        self.ns: dict = {}

    def run(self, code):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, self.ns)  # noqa: S102 - a test double
        except Exception as e:  # noqa: BLE001 - the program's error is its output
            return ToolResult(f"{out.getvalue()}{type(e).__name__}: {e}", ok=False)
        return ToolResult(out.getvalue())

    def interrupt(self):
        pass

    def close(self):
        pass


class CompletionServer(ThreadingHTTPServer):
    """A scripted OpenAI-compatible server: /v1/completions streams `reply(prompt)` (cut at the request's stop
    strings) after `delay_s`; it counts requests, the most in flight at once, and the Authorization headers seen.
    The backend's one-token probe of what the server accepts (models/server_traits.py) is counted in `probes`.
    Use it as a context manager (it serves on a thread on 127.0.0.1, on a free port)."""

    daemon_threads = True

    def __init__(self, reply, delay_s: float = 0.0):
        super().__init__(("127.0.0.1", 0), _CompletionHandler)
        self.reply, self.delay_s = reply, delay_s
        self.in_flight = self.most = self.requests = self.probes = 0
        self.keys: set = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _CompletionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, body: bytes, kind: str):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(json.dumps({"data": [{"id": "scripted"}]}).encode(), "application/json")

    def do_POST(self):
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("max_tokens") == 1 and not body.get("stream"):
            with srv.lock:
                srv.probes += 1
            choice = {"index": 0, "text": srv.reply(body["prompt"])[:1], "finish_reason": "length"}
            return self._send(json.dumps({"choices": [choice]}).encode(), "application/json")
        with srv.lock:
            srv.in_flight += 1
            srv.requests += 1
            srv.most = max(srv.most, srv.in_flight)
            srv.keys.add(self.headers.get("Authorization"))
        time.sleep(srv.delay_s)
        text = srv.reply(body["prompt"])
        for stop in body.get("stop") or []:
            text = text.split(stop)[0]
        events = [{"choices": [{"index": 0, "text": text[i:i + 16]}]} for i in range(0, len(text), 16)]
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        with srv.lock:
            srv.in_flight -= 1
        self._send(payload.encode(), "text/event-stream")


def reference_replayer(path):
    """A model that says exactly what the reference conversations say, step by step."""
    from puyu.core.messages import ToolCall
    from puyu.core.protocols.internlm2 import action_text
    from puyu.core.records import read_jsonl

    script = {}
    for record in read_jsonl(path):
        turns = record.conversation
        for i, t in enumerate(turns):
            if t.role != "user" or t.name == "file":
                continue
            replies = []
            for u in turns[i + 1:]:
                if u.role == "user" and u.name != "file":
                    break
                if u.role == "assistant":
                    call = u.tool_call and action_text(ToolCall(u.tool_call["name"], u.tool_call["arguments"]))
                    replies.append(u.content + (call or ""))
            script[t.content] = replies

    def reply(prompt):
        replies = script.get(last_user(prompt)) or ["(unknown question)"]
        return replies[min(steps_taken(prompt), len(replies) - 1)]

    return reply


def oracle(data, limit: int):
    """A model that knows the answers of the first `limit` items of every benchmark, in each one's own format (found
    from the prompt's last user turn): it solves GSM8K with the interpreter and answers from its output, picks the
    right (rotated) CMMLU letter, writes T-Eval's plans and labels, and replays tool-tasks' references."""
    from puyu.eval import benchmarks
    from puyu.eval.benchmarks.base import LoadOptions
    from puyu.eval.benchmarks.cmmlu import LETTERS

    opts = LoadOptions(limit=limit)
    gsm = {i.data["question"]: i.data["final"].replace(",", "")
           for i in benchmarks.get("gsm8k-agent").load(data, opts)}
    cm = {i.data["question"]: i.data["options"][LETTERS.index(i.data["answer"])]
          for i in benchmarks.get("cmmlu").load(data, opts)}
    plans = {i.data["chat"][-1]["content"]: i for i in benchmarks.get("teval-plan").load(data, opts)}
    review = {i.data["chat"][-1]["content"]: i.data["answer"] for i in benchmarks.get("teval-review").load(data, opts)}
    tools = reference_replayer(benchmarks.get("tool-tasks").path)

    def reply(prompt: str) -> str:
        user, step = last_user(prompt), steps_taken(prompt)
        for question, answer in gsm.items():
            if question.replace("$", "") not in user:
                continue
            if "Let's think step by step" in user:
                return f"{answer} in all.\nThe answer is {answer}\n"
            if "\\boxed" in user:
                return f"Step by step... so \\boxed{{{answer}}}"
            if "Tool:" in prompt:  # OpenCompass's ReAct agent
                return (f"Tool:PythonInterpreter\nTool Input:```python\ndef solution():\n    return {answer}\n```"
                        if step == 0 else f"Thought: done\nFinalAnswer: {answer}")
            if step == 0:
                return code_call(f"print({answer})")
            boxed = "guidelines" in prompt  # InternLM's interpreter prompt asks for \boxed{}
            return f"So \\boxed{{{last_output(prompt)}}}." if boxed else f"The answer is {last_output(prompt)}."
        for question, gold in cm.items():
            if f"题目：{question}\n" in user:
                shown = re.findall(r"^([ABCD])\. (.*)$", user, re.MULTILINE)
                return "答案是: " + next(letter for letter, text in shown if text == gold)
        if user in plans:
            item = plans[user]
            if item.data["format"] == "json":
                return json.dumps([{"id": s["id"], "name": s["name"], "args": s["args"]}
                                   for s in item.data["reference"]])
            return "\n".join(f"Use {s['name']} with {json.dumps(s['args'])}" for s in item.data["reference"])
        if user in review:
            return f"Answer: {review[user]}"
        return tools(prompt)

    return reply
