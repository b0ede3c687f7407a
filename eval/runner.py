"""Runs benchmarks on a model: predictions first (cached per item, resumable), then scores from the cache.

How items reach the model:
- plain benchmarks (CMMLU, T-Eval): prompts go to `model.generate` in batches of --batch-size (in process), or one
  per request with --concurrency requests in flight (an OpenAI-compatible endpoint, e.g. an lmdeploy proxy);
- agent benchmarks: --concurrency conversations run in threads through the ordinary agent loop; an in-process
  model is wrapped in a BatchingModel, so their calls are decoded together.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait
from pathlib import Path

from tqdm import tqdm

from puyu.agent.agent import Agent
from puyu.agent.factory import build_agent, load_model
from puyu.core.config import GenerationConfig
from puyu.core.messages import ErrorEvent, FinalEvent, Message, TokenEvent, event_to_dict
from puyu.core.protocols import InternLM2Protocol
from puyu.core.protocols.internlm2 import IM_END
from puyu.eval import benchmarks
from puyu.eval.benchmarks.base import AgentBenchmark, Benchmark, Chat, GenerateBenchmark, Item, LoadOptions
from puyu.eval.cache import PredictionCache
from puyu.eval.config import EvalConfig
from puyu.eval.data import shared_data
from puyu.models.base import ChatModel, ModelError, PromptTooLong, generate_each
from puyu.models.batching import BatchingModel
from puyu.tools.base import Toolbox

InterpreterFactory = Callable[[Path], object]

# Plain chats are written by the InternLM2 renderer with no system prompts of its own.
_PLAIN = InternLM2Protocol(meta="", interpreter_prompt="", plugin_prompt="")


class RunError(RuntimeError):
    """The run cannot go on (backend down, predictions of another model in --out); the message says why."""


def default_interpreter(workdir: Path):
    try:
        from puyu.tools.interpreter import PythonInterpreter
    except ImportError as e:
        raise RunError(f"the code interpreter (tools.interpreter) cannot be imported: {e}") from e
    return PythonInterpreter(workdir)


def render_chat(chat: Chat, cfg: EvalConfig, model: ChatModel) -> str:
    if cfg.chat_format == "model":
        return model.apply_chat_template(chat)
    return _PLAIN.render([Message(m["role"], m["content"]) for m in chat], [], interpreter=False)


def generation(bench: Benchmark, cfg: EvalConfig, stop: list[str]) -> GenerationConfig:
    return dataclasses.replace(cfg.gen, max_new_tokens=cfg.max_new_tokens(bench.max_new_tokens), stop=stop,
                               seed=cfg.seed if cfg.gen.seed is None else cfg.gen.seed)


# ---- one run ----------------------------------------------------------------------------------------------------

def check_run_dir(cfg: EvalConfig) -> bool:
    """Refuse to mix predictions of different models or settings in one run folder; True when the folder
    was made with the same settings (its results can be kept)."""
    meta = cfg.out / "run.json"
    want = cfg.fingerprint()
    same = False
    if meta.exists():
        have = json.loads(meta.read_text("utf-8")).get("fingerprint", {})
        diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
        if diff and any((cfg.out / "predictions").glob("*.jsonl")):
            raise RunError(f"{cfg.out} holds predictions made with other settings "
                           f"({', '.join(f'{k}: {a!r} -> {b!r}' for k, (a, b) in diff.items())}); "
                           "choose another --out, or pass --fresh to start over")
        same = not diff
    cfg.out.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"fingerprint": want}, indent=2), "utf-8")
    return same


def run_eval(cfg: EvalConfig, model: ChatModel | None = None,
             make_interpreter: InterpreterFactory | None = None, log=print) -> dict:
    """Predict and score every benchmark of `cfg`; returns (and writes) the results. The model is loaded
    here unless given; a given model is left open."""
    from puyu.eval import report

    root = shared_data(cfg.data) if any(b != "tool-tasks" for b in cfg.bench) else None
    chosen = [benchmarks.get(name, heldout=cfg.heldout) for name in cfg.bench]
    opts = LoadOptions(limit=cfg.limit, seed=cfg.seed, subjects=list(cfg.subjects))
    loaded = [(bench, bench.load(root, opts)) for bench in chosen]  # data errors surface before the model loads
    if cfg.fresh:
        for bench in chosen:
            (cfg.out / "predictions" / f"{bench.name}.jsonl").unlink(missing_ok=True)
    same = check_run_dir(cfg)
    own = model is None
    model = load_model(cfg.model) if own else model
    results = report.load_results(cfg.out) if same else report.empty_results()
    results["config"] = json.loads(json.dumps(dataclasses.asdict(cfg), default=str))
    results["config"]["model"].pop("api_key", None)  # results get shared; a key must not travel with them
    try:
        for bench, items in loaded:
            cache = PredictionCache(cfg.out / "predictions" / f"{bench.name}.jsonl")
            todo = [i for i in items if i.id not in cache]
            log(f"{bench.name}: {len(items)} items, {len(items) - len(todo)} cached, {len(todo)} to run")
            started = time.perf_counter()
            if todo:
                predict(bench, todo, model, cfg, cache, make_interpreter or default_interpreter)
            results["benchmarks"][bench.name] = score(bench, items, cache)
            results["benchmarks"][bench.name]["seconds"] = round(time.perf_counter() - started, 2)
            report.write_run(cfg.out, results)  # after each benchmark, so a later failure keeps these
    finally:
        if own:
            model.close()
    return results


def predict(bench: Benchmark, todo: list[Item], model: ChatModel, cfg: EvalConfig, cache: PredictionCache,
            make_interpreter: InterpreterFactory) -> None:
    bar = tqdm(total=len(todo), desc=bench.name, unit="item", disable=not cfg.progress, file=sys.stderr,
               dynamic_ncols=True)
    try:
        if isinstance(bench, GenerateBenchmark):
            run_generate(bench, todo, model, cfg, cache, bar.update)
        elif isinstance(bench, AgentBenchmark):
            run_agents(bench, todo, model, cfg, cache, make_interpreter, bar.update)
        else:
            raise TypeError(f"{bench.name} is neither a generate nor an agent benchmark")
    finally:
        bar.close()


def score(bench: Benchmark, items: list[Item], cache: PredictionCache) -> dict:
    done = [i for i in items if i.id in cache]
    scores = [bench.score(i, cache.get(i.id)) for i in done]
    summary = bench.summarize(done, scores)
    summary["missing"] = len(items) - len(done)
    # items whose prompt did not fit the model's context (scored as wrong answers)
    summary["too_long"] = sum(bool(cache.get(i.id).get("too_long")) for i in done)
    summary["main_metric"] = bench.main_metric
    summary["parity"] = dataclasses.asdict(bench.parity())
    return summary


# ---- plain benchmarks -------------------------------------------------------------------------------------------

def _shares_beginning(a: str, b: str) -> bool:
    """Whether two prompts begin with the same text for at least half of the shorter one."""
    n = min(len(a), len(b))
    return n > 0 and a[:n // 2] == b[:n // 2]


def _batches(jobs: list, size: int) -> Iterator[list]:
    """Batches of at most `size` (item, k, prompt) jobs, in order. A batch whose prompts share a long beginning
    (one question's four CMMLU rotations, a subject's five shots) takes no prompt that does not: the shared part
    is prefilled once for the batch, which beats a fuller batch that shares nothing."""
    batch: list = []
    for job in jobs:
        shared = len(batch) >= 2 and _shares_beginning(batch[0][2], batch[1][2])
        if len(batch) == size or (shared and not _shares_beginning(batch[0][2], job[2])):
            yield batch
            batch = []
        batch.append(job)
    if batch:
        yield batch


def run_generate(bench: GenerateBenchmark, todo: list[Item], model: ChatModel, cfg: EvalConfig,
                 cache: PredictionCache, done: Callable[[int], object]) -> None:
    stop = [] if cfg.chat_format == "model" else [IM_END]
    gen = generation(bench, cfg, stop)
    jobs = [(item, k, render_chat(chat, cfg, model)) for item in todo for k, chat in enumerate(bench.chats(item))]
    # In text order, so a batch holds prompts that begin alike (a subject's few-shot examples, one question's
    # rotations): the transformers backend runs a batch's shared beginning once for all of its rows.
    jobs.sort(key=lambda job: job[2])
    outputs = {item.id: [None] * len(bench.chats(item)) for item in todo}
    by_id = {item.id: item for item in todo}
    size, workers = (1, cfg.concurrency) if cfg.remote else (cfg.batch_size, 1)
    too_long: set[str] = set()

    def call(batch):
        return batch, generate_each(model, [prompt for _, _, prompt in batch], gen)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(call, batch) for batch in _batches(jobs, size)]
        try:
            for future in as_completed(futures):
                batch, texts = future.result()
                for (item, k, _), text in zip(batch, texts):
                    if isinstance(text, PromptTooLong):  # scored as a wrong answer, and counted
                        too_long.add(item.id)
                        text = ""
                    outputs[item.id][k] = text
                    if all(o is not None for o in outputs[item.id]):
                        cache.add({"id": item.id, "outputs": outputs[item.id],
                                   **({"too_long": True} if item.id in too_long else {})})
                        done(1)
        except ModelError as e:
            for f in futures:
                f.cancel()
            raise RunError(f"{bench.name}: the model failed: {e} (finished items are cached; rerun to resume)") \
                from e
    assert all(i.id in cache for i in by_id.values())


# ---- agent benchmarks -------------------------------------------------------------------------------------------

class _Watched(ChatModel):
    """Passes calls through and remembers, per thread, a backend failure the agent turned into an event."""

    def __init__(self, model: ChatModel):
        self.model, self.name, self.prompt_style = model, model.name, model.prompt_style
        self.local = threading.local()

    def stream(self, prompt, gen):
        try:
            yield from self.model.stream(prompt, gen)
        except PromptTooLong:
            raise  # the item's own failure (its conversation outgrew the context): scored, not retried
        except ModelError as e:
            self.local.error = str(e)
            raise

    def apply_chat_template(self, messages):
        return self.model.apply_chat_template(messages)


def run_agent_item(bench: AgentBenchmark, item: Item, model: ChatModel, cfg: EvalConfig,
                   make_interpreter: InterpreterFactory) -> dict:
    gen = generation(bench, cfg, [])
    language = bench.language(item)
    agent_cfg = dataclasses.replace(cfg.agent, language=language, max_steps=bench.max_steps or cfg.agent.max_steps)
    template = model.apply_chat_template if cfg.agent.protocol == "react" and cfg.chat_format == "model" else None
    with tempfile.TemporaryDirectory(prefix="puyu-eval-") as work:
        interpreter = make_interpreter(Path(work)) if bench.uses_interpreter(item) else None
        # No work dir for the plugins: a benchmark's tools answer from its records (their file arguments name the
        # recorded conversation's files, matched by RecordedTool itself) and open nothing.
        toolbox = Toolbox(bench.tools(item), interpreter=interpreter)
        protocol = bench.protocol(item, model.apply_chat_template if cfg.chat_format == "model" else None)
        agent = Agent(model, toolbox, protocol, agent_cfg, gen) if protocol else \
            build_agent(model, toolbox, agent_cfg, gen, chat_template=template)
        messages: list[Message] = []
        turns = []
        try:
            for group in bench.turns(item):
                messages.extend(group)
                events = [e for e in agent.run(messages) if not isinstance(e, TokenEvent)]
                final = next((e.text for e in reversed(events) if isinstance(e, FinalEvent)), "")
                error = next((e.message for e in events if isinstance(e, ErrorEvent) and not e.recoverable), None)
                turns.append({"final": final, "error": error, "events": [event_to_dict(e) for e in events]})
        finally:
            toolbox.close()
    return {"id": item.id, "turns": turns}


def run_agents(bench: AgentBenchmark, todo: list[Item], model: ChatModel, cfg: EvalConfig, cache: PredictionCache,
               make_interpreter: InterpreterFactory, done: Callable[[int], object]) -> None:
    batcher = None if cfg.remote else BatchingModel(model, cfg.batch_size, cfg.max_wait_ms)
    watched = _Watched(batcher or model)
    threads = cfg.concurrency if cfg.remote else max(cfg.concurrency, cfg.batch_size)
    failures: list[str] = []

    def one(item: Item):
        watched.local.error = None
        record = run_agent_item(bench, item, watched, cfg, make_interpreter)
        return item, record, watched.local.error

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            queue = iter(todo)
            running = {pool.submit(one, item) for item in _take(queue, threads)}
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    item, record, error = future.result()
                    if error is None:
                        cache.add(record)
                        done(1)
                    else:
                        failures.append(f"{item.id}: {error}")
                if (len(failures) >= max(3, threads) and not cache.records) or len(failures) > len(todo) // 2:
                    for f in running:
                        f.cancel()
                    raise RunError(f"{bench.name}: the model failed on {len(failures)} items, e.g. {failures[0]}")
                running |= {pool.submit(one, item) for item in _take(queue, len(finished))}
    finally:
        if batcher is not None:
            batcher.close()
    if failures:
        print(f"{bench.name}: {len(failures)} items failed and are not cached (rerun to retry them), "
              f"e.g. {failures[0]}", file=sys.stderr)


def _take(queue: Iterator[Item], n: int) -> list[Item]:
    out = []
    for item in queue:
        out.append(item)
        if len(out) == n:
            break
    return out
