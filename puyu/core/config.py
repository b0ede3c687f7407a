"""Everything a user can choose, as one tree of dataclasses:

    Settings
      model:   ModelSpec          which model, and how to reach it
      gen:     GenerationConfig   how it samples
      agent:   AgentConfig        protocol, tools, steps
      sandbox: SandboxLimits      what the code interpreter may use
      server:  ServerConfig       `puyu serve`
      data_dir, agent_url

The CLI (`--gen.temperature 0.7`, or the short alias `--temperature 0.7`), YAML files (nested sections, or the
same short names), environment variables (`PUYU_GEN_TEMPERATURE=0.7`), the app's settings panel, `puyu serve` and
eval all read this tree, so adding an option is one field and its docstring here. Each field's docstring is its
`--help` text. `puyu.core.dataclass_cli` turns any of these dataclasses into a command line.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from puyu.core.card import check_style

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout puyu runs from (an editable install); relative defaults such as runs/ and data/ live here."""

CONFIG_FILE_ENV = "PUYU_CONFIG"
"""Where the user's config file is (default ~/.config/puyu/config.yaml)."""
SHARED_DATA_ENV = "PUYU_SHARED_DATA"
"""The shared benchmark data folder (default <checkout>/../shared/data)."""
ENV_PREFIX = "PUYU_"


def shared_data_dir() -> Path:
    """The shared benchmark data (GSM8K, T-Eval, CMMLU): $PUYU_SHARED_DATA, else `<checkout>/../shared/data`."""
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def config_file() -> Path:
    return Path(os.environ.get(CONFIG_FILE_ENV) or Path.home() / ".config" / "puyu" / "config.yaml")


def knob(default: Any, low: float, high: float, step: float) -> Any:
    """A field the app's settings panel shows (a slider for a float, a number box for an int), in [low, high] by
    `step`; per conversation, like every setting of `gen`."""
    return field(default=default, metadata={"range": (low, high, step)})


def knobs(cls: type) -> dict[str, tuple[float, float, float]]:
    """{dotted path: (low, high, step)} of the settings `cls` marks with `knob`."""
    return {path: f.metadata["range"] for path, f in leaf_paths(cls).items() if "range" in f.metadata}


def _check_positive(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and not value > 0:
            raise ValueError(f"{type(obj).__name__}.{name} must be > 0, got {value!r}")


def _check_choice(obj: Any, name: str, choices: tuple[str, ...]) -> None:
    if getattr(obj, name) not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {getattr(obj, name)!r}")


# ---- the sections ------------------------------------------------------------------------------------------

BACKENDS = ("transformers", "openai", "lmdeploy", "replay")
ENDPOINTS = ("auto", "completions", "chat")


@dataclass
class ModelSpec:
    """Which model answers, and how puyu reaches it."""

    name: str = "bundled"
    """`bundled` (the model puyu trains and ships), a checkpoint dir, the model's name on --base-url (empty: ask the
    server), or a replay script (--backend replay)."""
    backend: str = "transformers"
    """transformers (in process), openai (any OpenAI-compatible server, e.g. lmdeploy serve api_server), lmdeploy
    (in-process pipeline, CUDA) or replay (scripted replies, for demos, tests and benchmarks)."""
    base_url: str | None = None
    """An OpenAI-compatible server, e.g. http://127.0.0.1:23333 (implies --backend openai)."""
    api_key: str | None = None
    """Sent to --base-url as `Authorization: Bearer ...`."""
    adapter: str | None = None
    """A LoRA adapter dir applied on top of the model (transformers; lmdeploy via its PyTorch engine)."""
    device: str = "auto"
    """auto (CUDA when torch sees a GPU), cpu or cuda."""
    dtype: str = "auto"
    """auto (bf16 on GPU, fp32 on CPU), float32, bfloat16 or float16."""
    threads: int | None = None
    """Torch CPU threads (default: the physical cores this process may use)."""
    prompt_style: str = "auto"
    """auto (what the model's puyu.json says), internlm2 or compact (the short prompts puyu's own small models are
    trained with; set it when a server serves one under a name that is not its folder)."""
    endpoint: str = "auto"
    """openai: auto (puyu's own prompt to /v1/completions where the server has it and returns the tool-call tokens,
    else /v1/chat/completions; decided once per server), completions, or chat (the server renders the model's chat
    template and parses tool calls with its own parser)."""
    timeout_s: float = 120.0
    """openai: longest wait for the server to connect or send the next chunk."""
    max_retries: int = 3
    """openai: extra tries on connection errors, 5xx and 429, before anything was streamed."""
    trust_remote_code: bool = False
    """Run a checkpoint's own modelling code (InternLM2 ships some). Opt-in, since it executes that code."""
    lmdeploy_engine: str = "turbomind"
    """lmdeploy: turbomind or pytorch."""

    def __post_init__(self):
        if self.name.startswith(("http://", "https://")) and not self.base_url:  # `--model URL`: the server's model
            self.base_url, self.name = self.name, ""
        if self.base_url and self.backend == "transformers":
            self.backend = "openai"
        _check_choice(self, "backend", BACKENDS)
        _check_choice(self, "device", ("auto", "cpu", "cuda"))
        _check_choice(self, "lmdeploy_engine", ("turbomind", "pytorch"))
        _check_choice(self, "endpoint", ENDPOINTS)
        _check_positive(self, "timeout_s", "threads")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.prompt_style != "auto":
            check_style(self.prompt_style, field="prompt_style")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("the openai backend needs base_url (--base-url, e.g. http://127.0.0.1:23333)")


@dataclass
class GenerationConfig:
    """How the model samples each reply."""

    temperature: float = knob(0.0, 0.0, 2.0, 0.05)
    """0 means greedy decoding."""
    top_p: float = knob(1.0, 0.05, 1.0, 0.05)
    """Nucleus sampling: keep the smallest set of tokens whose probabilities add up to this."""
    max_new_tokens: int = knob(512, 16, 32768, 64)
    """Upper bound on generated tokens for one model call."""
    stop: list[str] = field(default_factory=list)
    """Generation ends at the first of these strings; the stop string itself is not returned."""
    seed: int | None = None
    """Seeds sampled decoding (where the backend supports it)."""

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")


PROTOCOLS = ("internlm2", "react", "openai")


@dataclass
class AgentConfig:
    """How the agent talks to the model and which tools it has."""

    protocol: str = "internlm2"
    """internlm2 (native tool tokens), react (Thought/Action text, for other models) or openai (the server's own
    `tools` / `tool_calls` on /v1/chat/completions; needs --base-url)."""
    language: str = "en"
    """en or zh: the system prompts' and the app's language."""
    system_prompt: str | None = None
    """Replaces the protocol's opening system prompt."""
    max_steps: int = knob(6, 1, 30, 1)
    """Model calls allowed for one question (each tool call costs one)."""
    max_retries: int = 2
    """Malformed or failing tool calls tolerated in one turn before the agent gives up."""
    max_observation_chars: int = 4000
    """A tool result longer than this is cut before the model sees it (the user still gets all of it)."""
    interpreter: bool = True
    """Whether the Python interpreter is on."""
    tools: list[str] | None = None
    """Plugin tools that are on (default: what the model's card names, else all that work here); `none` for none."""
    knowledge: list[str] | None = None
    """The knowledge bases knowledge_search may search (default: all of them)."""
    vlm_path: str | None = None
    """A local vision-language checkpoint for the `vqa` tool."""

    def __post_init__(self):
        _check_choice(self, "protocol", PROTOCOLS)
        _check_choice(self, "language", ("en", "zh"))
        if self.max_steps < 1 or self.max_retries < 0:
            raise ValueError("max_steps must be >= 1 and max_retries >= 0")
        if self.tools == ["none"]:
            self.tools = []


@dataclass(frozen=True)
class SandboxLimits:
    """What the code interpreter of one conversation may use."""

    timeout_s: float = 30.0
    """Wall-clock limit of one interpreter call; then the code is interrupted, and killed if it does not stop."""
    memory_mb: int = 1024
    """Address space of each process (RLIMIT_AS): a bigger allocation raises MemoryError."""
    cpu_s: int = 60
    """CPU seconds per call, and for each background process the code starts (RLIMIT_CPU)."""
    max_procs: int = 64
    """Processes and threads of one sandbox (RLIMIT_NPROC of its own uid, and its cgroup's pids.max where cgroups
    are on): stops fork bombs without touching other conversations."""
    total_memory_mb: int = 2048
    """Memory of all the sandbox's processes together, /dev/shm included (its cgroup, where cgroups are on;
    elsewhere only memory_mb per process applies)."""
    max_file_mb: int = 256
    """Largest file the code may write (RLIMIT_FSIZE)."""
    workdir_mb: int = 1024
    """Disk the conversation's work dir may take (uploads, files the code writes, its /tmp). The server checks it
    while code runs and stops the code with an OSError (EDQUOT) past it; uploads past it are refused."""
    workdir_files: int = 20000
    """Files and folders the work dir may hold (checked like workdir_mb)."""
    tmp_mb: int = 64
    """Size of /dev/shm (bubblewrap only; it lives in memory, counted in total_memory_mb). The code's /tmp is a
    folder of its work dir, on disk."""
    max_output_chars: int = 20000
    """Printed output kept per call: the first and last halves; the middle is counted and dropped."""
    network: bool = False
    """Give the code the host's network (bubblewrap only; the fallback cannot take it away)."""
    isolation: str = "auto"
    """auto (bubblewrap when it works, else resource limits only), bwrap (required) or none (limits only)."""
    interrupt_grace_s: float = 0.3
    """How long interrupted code may take to stop before the whole sandbox is killed."""
    sandbox_uid: int = 2_000_000_000
    """When the server runs as root, the first uid (and gid) the code runs as: each live sandbox takes its own from
    the sandbox_uids after it, so process limits and file ownership are per conversation. No account may use them."""
    sandbox_uids: int = 4096
    """How many uids from sandbox_uid puyu may use: at least server.pool_size per puyu process on the machine."""

    def __post_init__(self):
        _check_positive(self, "timeout_s", "memory_mb", "cpu_s", "max_procs", "max_file_mb", "tmp_mb",
                        "max_output_chars", "total_memory_mb", "workdir_mb", "workdir_files", "sandbox_uid",
                        "sandbox_uids")
        if self.interrupt_grace_s < 0:
            raise ValueError(f"interrupt_grace_s must be >= 0, got {self.interrupt_grace_s!r}")
        _check_choice(self, "isolation", ("auto", "bwrap", "none"))


@dataclass
class ServerConfig:
    """`puyu serve`: the agent behind an OpenAI-compatible HTTP API, and the interpreter pool (the app's too)."""

    host: str = "127.0.0.1"
    """The address to listen on."""
    port: int = 8000
    """The port to listen on (1-65535)."""
    api_key: str | None = None
    """Clients must send `Authorization: Bearer <key>`; also the key the app sends to --agent-url."""
    pool_size: int = 64
    """Interpreters (one per conversation) alive at once, in `puyu serve` and the app. An idle one makes room for a
    new conversation (its variables are lost; the model is told); one in a turn is never closed."""
    idle_s: float = 900.0
    """An interpreter idle this long is stopped (its variables are lost; the model is told on the next call)."""
    busy_wait_s: float = 10.0
    """When every interpreter is in a turn, a new conversation waits this long for one, then gets HTTP 503 with
    Retry-After (the app says "busy, retry")."""
    max_body_mb: float = 48.0
    """Largest request body `puyu serve` reads (HTTP 413 past it); uploads travel in it as base64 (4/3 larger)."""
    max_upload_mb: float = 30.0
    """Largest file uploaded in a request."""

    def __post_init__(self):
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        _check_positive(self, "pool_size", "idle_s", "max_body_mb", "max_upload_mb")
        if self.busy_wait_s < 0:
            raise ValueError(f"busy_wait_s must be >= 0, got {self.busy_wait_s!r}")


def default_data_dir() -> str:
    return str(Path.home() / ".local" / "share" / "puyu")


@dataclass
class Settings:
    """Chat with a tool-using agent."""

    model: ModelSpec = field(default_factory=ModelSpec)
    gen: GenerationConfig = field(default_factory=GenerationConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    server: ServerConfig = field(default_factory=ServerConfig)
    data_dir: str = field(default_factory=default_data_dir)
    """Where conversations (SQLite), uploads and knowledge bases live."""
    agent_url: str | None = None
    """A running `puyu serve` (e.g. http://127.0.0.1:8000) that runs the agent, model and tools; the app then only
    draws the conversation."""

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`: field names, dotted paths (`"gen.temperature"`) or nested dicts."""
        return merged(self, changes)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def store_path(self) -> Path:
        """The SQLite file of every conversation."""
        return self.data_path / "puyu.db"

    @property
    def knowledge_dir(self) -> Path:
        """The knowledge bases (documents and their index)."""
        return self.data_path / "knowledge"

    def conversation_dir(self, conversation_id: str) -> Path:
        """Where a conversation's uploads, figures and interpreter files live."""
        return self.data_path / "conversations" / conversation_id


SHORT_NAMES = {
    "model": "model.name", "backend": "model.backend", "base_url": "model.base_url", "api_key": "model.api_key",
    "adapter": "model.adapter", "device": "model.device", "prompt_style": "model.prompt_style",
    "temperature": "gen.temperature", "top_p": "gen.top_p", "max_new_tokens": "gen.max_new_tokens",
    "protocol": "agent.protocol", "language": "agent.language", "system_prompt": "agent.system_prompt",
    "max_steps": "agent.max_steps", "tools": "agent.tools", "knowledge": "agent.knowledge",
    "interpreter": "agent.interpreter", "interpreter_timeout_s": "sandbox.timeout_s",
    "server_api_key": "server.api_key",
}
"""Today's flat names, kept as aliases on the command line (`--temperature`) and in YAML files (`temperature:`),
and read from conversations stored before the settings were a tree."""
SERVE_NAMES = {**SHORT_NAMES, "host": "server.host", "port": "server.port"}
"""`puyu serve --host --port` (other commands have a host and port of their own, e.g. `puyu ui`)."""

ENV_NAMES = {
    "PUYU_API_KEY": "server.api_key", "PUYU_MODEL_API_KEY": "model.api_key", "PUYU_SANDBOX": "sandbox.isolation",
    "PUYU_THREADS": "model.threads", "PUYU_VLM_PATH": "agent.vlm_path",
}
"""Environment variables with names of their own. Any other setting is `PUYU_` + its path in capitals, dots as
underscores: PUYU_GEN_TEMPERATURE, PUYU_MODEL_BASE_URL, PUYU_DATA_DIR."""


# ---- reading values into the tree --------------------------------------------------------------------------

def leaf_paths(cls: type) -> dict[str, dataclasses.Field]:
    """Every setting of a config dataclass by its dotted path: {"gen.temperature": Field, "data_dir": Field}."""
    import typing

    hints = typing.get_type_hints(cls)
    out: dict[str, dataclasses.Field] = {}
    for f in dataclasses.fields(cls):
        inner = hints[f.name]
        if dataclasses.is_dataclass(inner):
            out.update({f"{f.name}.{k}": v for k, v in leaf_paths(inner).items()})
        else:
            out[f.name] = f
    return out


def resolve(cls: type, values: dict, aliases: dict[str, str] | None = None, where: str = "") -> dict[str, Any]:
    """`values` (nested or dotted, short names allowed through `aliases`) as {dotted path: value} for `cls`.
    Raises ValueError naming the unknown ones."""
    known = leaf_paths(cls)
    sections = {p.split(".")[0] for p in known if "." in p}
    out, unknown = {}, []
    for key, value in values.items():
        key = str(key).replace("-", "_")
        if isinstance(value, dict) and key in sections:
            inner = resolve(cls, {f"{key}.{k}": v for k, v in value.items()}, aliases, where)
            out.update(inner)
            continue
        path = key if key in known else (aliases or {}).get(key)
        if path is None or path not in known:
            unknown.append(key)
        else:
            out[path] = value
    if unknown:
        raise ValueError(f"{where}{': ' if where else ''}unknown option(s) {', '.join(sorted(unknown))}")
    return out


def build(cls: type, values: dict[str, Any]):
    """An instance of config dataclass `cls` from {dotted path: value}; nested sections are built the same way.
    Raises ValueError with a one-line reason."""
    import typing

    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        inner = hints[f.name]
        if dataclasses.is_dataclass(inner):
            prefix = f.name + "."
            sub = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
            kwargs[f.name] = build(inner, sub) if sub else None
        elif f.name in values:
            kwargs[f.name] = values[f.name]
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k in values}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"{cls.__name__}: {e}") from None


def merged(obj, changes: dict, aliases: dict[str, str] | None = None):
    """A copy of config dataclass `obj` with `changes` (nested, dotted or short names) applied."""
    paths = resolve(type(obj), changes, SHORT_NAMES if aliases is None else aliases)
    current = {p: _get(obj, p) for p in leaf_paths(type(obj))}
    return build(type(obj), {**current, **paths})


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def as_dict(obj) -> dict:
    """A config dataclass as nested plain data (for JSON, YAML and the store)."""
    return dataclasses.asdict(obj)


def env_values(cls: type, environ: dict[str, str] | None = None, named: dict[str, str] | None = None
               ) -> dict[str, str]:
    """{dotted path: raw text} of the settings that PUYU_* environment variables set."""
    environ = os.environ if environ is None else environ
    out = {}
    for path in leaf_paths(cls):
        raw = environ.get(ENV_PREFIX + path.replace(".", "_").upper())
        if raw is not None and raw != "":
            out[path] = raw
    for name, path in (ENV_NAMES if named is None else named).items():
        if environ.get(name) and path in leaf_paths(cls) and path not in out:
            out[path] = environ[name]
    return out
