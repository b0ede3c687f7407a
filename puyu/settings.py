"""Everything a user can choose, in one dataclass: the CLI flags, `~/.config/puyu/config.yaml` and the UI's
sidebar all fill this. Settings per conversation (tools on/off, temperature...) override it from the store."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from puyu.core.card import check_style

REPO = Path(__file__).resolve().parents[1]
BUNDLED_MODEL = REPO / "models" / "bundled" / "puyu-tiny"
CONFIG_FILE = Path(os.environ.get("PUYU_CONFIG", Path.home() / ".config" / "puyu" / "config.yaml"))


def default_data_dir() -> str:
    return os.environ.get("PUYU_DATA_DIR") or str(Path.home() / ".local" / "share" / "puyu")


@dataclass
class Settings:
    """Chat with a tool-using agent."""

    model: str = "bundled"
    """`bundled` (the model puyu trains and ships), a local checkpoint dir, or the model name on --base-url."""
    backend: str = "transformers"
    """transformers (in process), openai (any OpenAI-compatible server, e.g. lmdeploy serve api_server),
    lmdeploy (in-process pipeline, CUDA) or replay (a JSON list of scripted replies, for demos and tests)."""
    base_url: str | None = None
    """The OpenAI-compatible server, e.g. http://127.0.0.1:23333 (implies --backend openai)."""
    api_key: str | None = None
    """API key for --base-url (or env PUYU_MODEL_API_KEY)."""
    agent_url: str | None = None
    """A running `puyu serve` (e.g. http://127.0.0.1:8000) that runs the agent, model and tools; `puyu ui` then
    only draws the conversation (Bearer key from env PUYU_API_KEY)."""
    adapter: str | None = None
    """A LoRA adapter dir applied on top of --model."""
    device: str = "auto"
    """auto, cpu or cuda."""
    protocol: str = "internlm2"
    """internlm2 (native tool tokens), react (Thought/Action text, for other models) or openai (the server's
    own `tools` / `tool_calls` on /v1/chat/completions; needs --base-url)."""
    language: str = "en"
    """en or zh: the system prompts' and the UI's language."""
    prompt_style: str = "auto"
    """auto (what the model's puyu.json says), internlm2 or compact (the short prompts puyu's own small models are
    trained with; set it when a server serves one under a name that is not its folder)."""
    system_prompt: str | None = None
    """Replaces the protocol's opening system prompt."""
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    max_steps: int = 6
    """Model calls allowed for one question (each tool call costs one)."""
    tools: list[str] | None = None
    """Plugin tools that are on (default: all that work here); `none` switches all off."""
    knowledge: list[str] | None = None
    """The knowledge bases knowledge_search may search (default: all of them)."""
    interpreter: bool = True
    """Whether the Python interpreter is on."""
    interpreter_timeout_s: float = 30.0
    data_dir: str = dataclasses.field(default_factory=default_data_dir)
    """Where conversations (SQLite), uploads and knowledge bases live."""

    def __post_init__(self):
        if self.base_url and self.backend == "transformers":
            self.backend = "openai"
        if self.protocol not in ("internlm2", "react", "openai"):
            raise ValueError("protocol must be internlm2, react or openai")
        if self.prompt_style != "auto":
            check_style(self.prompt_style, field="prompt_style")
        if self.language not in ("en", "zh"):
            raise ValueError("language must be en or zh")
        if self.tools == ["none"]:
            self.tools = []

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def settings_from_args(args: dict) -> Settings:
    """Settings from parsed flags, over `--config` or, without one, over the user's config file if it exists."""
    from puyu.core.dataclass_cli import from_args

    if not args.get("config") and CONFIG_FILE.exists():
        args = {**args, "config": CONFIG_FILE}
    return from_args(Settings, args)
