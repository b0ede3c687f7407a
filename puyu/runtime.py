"""Wiring: settings in, a ready ChatSession out. The CLI, the UI and `puyu serve` all build agents here,
so a conversation behaves the same whichever door it came in by."""
from __future__ import annotations

import threading
from pathlib import Path

from puyu.agent.agent import Agent, AgentConfig
from puyu.agent.session import ChatSession
from puyu.agent.store import Store
from puyu.core.card import read_style
from puyu.core.protocols import InternLM2Protocol, OpenAIToolsProtocol, ReActProtocol
from puyu.models.base import ChatModel, GenerationConfig, ModelError
from puyu.settings import BUNDLED_MODEL, Settings
from puyu.tools.base import Toolbox


def model_path(settings: Settings) -> str:
    """The checkpoint or model name that `settings.model` means; a clear error if the bundled one is missing."""
    if settings.model != "bundled":
        return settings.model
    if settings.backend == "openai":
        return ""  # ask the server which model it serves
    if not (BUNDLED_MODEL / "config.json").exists():
        raise ModelError(
            f"the bundled model is not in {BUNDLED_MODEL}. Train it with `puyu train --config "
            "training/configs/puyu-tiny.yaml`, or point puyu at a model: `--model /path/to/hf-checkpoint`, "
            "or `--base-url http://127.0.0.1:23333` for a server such as `lmdeploy serve api_server`.")
    return str(BUNDLED_MODEL)


def prompt_style(settings: Settings) -> str:
    """The prompt style the model will be given, known before it loads: the setting, else its folder's puyu.json
    (for a server, the folder its served name points to, if that is one here)."""
    if settings.prompt_style != "auto":
        return settings.prompt_style
    return read_style(model_path(settings))


def load_model(settings: Settings) -> ChatModel:
    if settings.backend == "replay":
        from puyu.models.replay import ReplayModel

        return ReplayModel.from_file(settings.model)
    from puyu.models import ModelSpec, load

    try:
        spec = ModelSpec(backend=settings.backend, path_or_name=model_path(settings), base_url=settings.base_url,
                         api_key=settings.api_key, adapter=settings.adapter, device=settings.device,
                         prompt_style=settings.prompt_style)
    except ValueError as e:
        raise ModelError(str(e)) from None
    return load(spec)


BUNDLED_TOOLS = {"ocr"}
"""Plugins puyu's own small models see by default: the few they need (plus knowledge_search once there are documents
to search), since each tool one sees is one more to confuse a 5M-parameter model; larger models get all."""


def default_plugins(settings: Settings) -> set[str] | None:
    """The plugins a conversation gets when it chose none itself (`settings.tools is None`): None means every one
    that works here. The bundled model run in process gets BUNDLED_TOOLS, and so does a model puyu trained and
    exported elsewhere (its puyu.json says compact prompts): with every tool's schema its prompt outgrows its
    1,024-token context."""
    if settings.backend != "transformers":
        return None
    try:
        small = settings.model == "bundled" or prompt_style(settings) == "compact"
    except ValueError:  # a malformed puyu.json: listing tools must not fail on it (loading the model says why)
        small = False
    if small:
        kb_dir = Path(settings.data_dir).expanduser() / "knowledge"
        return BUNDLED_TOOLS | ({"knowledge_search"} if kb_dir.is_dir() and any(kb_dir.iterdir()) else set())
    return None


MAX_LIVE_TOOLBOXES = 32
"""Interpreters kept running at once; the least recently used conversation's is closed beyond this."""


class Runtime:
    """One model and one store, shared by all conversations; a toolbox (with its interpreter) per conversation."""

    def __init__(self, settings: Settings, model: ChatModel | None = None):
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.store = Store(self.data_dir / "puyu.db")
        self._model = model
        self._toolboxes: dict[str, tuple[tuple, Toolbox]] = {}
        self._lock = threading.Lock()

    @property
    def model(self) -> ChatModel:
        with self._lock:
            if self._model is None:
                self._model = load_model(self.settings)
            return self._model

    def workdir(self, conversation_id: str) -> Path:
        path = self.data_dir / "conversations" / conversation_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def toolbox(self, conversation_id: str, settings: Settings) -> Toolbox:
        key = (None if settings.tools is None else tuple(settings.tools), settings.interpreter,
               settings.interpreter_timeout_s, None if settings.knowledge is None else tuple(settings.knowledge))
        with self._lock:
            old_key, box = self._toolboxes.pop(conversation_id, (None, None))
            closing = []
            if box is not None and old_key != key:  # tools switched on or off: build it anew
                closing.append(box)
                box = None
            if box is None:
                box = self._build_toolbox(conversation_id, settings)
            self._toolboxes[conversation_id] = (key, box)  # dicts keep order: the last is the most recently used
            idle = list(self._toolboxes)[:-MAX_LIVE_TOOLBOXES]
            closing += [self._toolboxes.pop(cid)[1] for cid in idle]
        for old in closing:
            old.close()
        return box

    def _build_toolbox(self, conversation_id: str, settings: Settings) -> Toolbox:
        workdir = self.workdir(conversation_id)
        interpreter = None
        if settings.interpreter:
            from puyu.tools.interpreter import PythonInterpreter, SandboxLimits

            interpreter = PythonInterpreter(workdir, SandboxLimits(timeout_s=settings.interpreter_timeout_s))
        tools = []
        if settings.tools != []:
            from puyu.tools.registry import default_tools

            kb_dir = self.data_dir / "knowledge"
            enabled = default_plugins(settings) if settings.tools is None else set(settings.tools)
            tools = default_tools(workdir, kb_dir, enabled, knowledge=settings.knowledge)
        return Toolbox(tools, interpreter=interpreter, workdir=workdir)

    def session(self, conversation_id: str, settings: Settings | None = None) -> ChatSession:
        settings = settings or self.settings
        if settings.protocol == "react":
            protocol = ReActProtocol(settings.language)
        elif settings.protocol == "openai":
            protocol = OpenAIToolsProtocol(settings.language, system=settings.system_prompt)
        else:
            protocol = InternLM2Protocol(settings.language, meta=settings.system_prompt,
                                         style=self.model.prompt_style)
        gen = GenerationConfig(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                               top_p=settings.top_p)
        agent = Agent(self.model, self.toolbox(conversation_id, settings), protocol,
                      AgentConfig(max_steps=settings.max_steps, gen=gen))
        return ChatSession(self.store, conversation_id, agent)

    def forget(self, conversation_id: str) -> None:
        """Close a conversation's interpreter (it restarts on the next message)."""
        with self._lock:
            _, box = self._toolboxes.pop(conversation_id, (None, None))
        if box is not None:
            box.close()

    def close(self) -> None:
        for cid in list(self._toolboxes):
            self.forget(cid)
        if self._model is not None:
            self._model.close()
