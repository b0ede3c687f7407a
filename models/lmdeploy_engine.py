"""The `lmdeploy` backend: an in-process `lmdeploy.pipeline` (TurboMind or PyTorch engine) on a CUDA GPU.

lmdeploy pins its own torch and needs CUDA, so it is imported only here, when this backend is chosen; without it
the backend fails with one line that points at the `openai` backend and `lmdeploy serve api_server`, which give the
same engine out of process.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from puyu.core.card import read_style
from puyu.core.config import GenerationConfig
from puyu.models.base import ChatModel, ModelError
from puyu.models.stops import StopCutter, cut_stream

_INSTEAD = "use `--backend openai` against `lmdeploy serve api_server <model>` instead"


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def import_lmdeploy():
    """The lmdeploy module, or a one-line ModelError saying why it cannot be used here."""
    try:
        import lmdeploy
    except ImportError as e:
        raise ModelError(f"the lmdeploy backend needs the lmdeploy package, which is not installed ({e}); "
                         f"{_INSTEAD}") from None
    if not _cuda_available():
        raise ModelError(f"the lmdeploy backend needs a CUDA GPU and none is visible; {_INSTEAD}")
    return lmdeploy


def _only_known(cls, **kwargs) -> Any:
    """Build an lmdeploy config dataclass from the fields this lmdeploy version has (they change between
    releases; e.g. `do_sample` arrived in 0.6)."""
    names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(kwargs)
    return cls(**{k: v for k, v in kwargs.items() if k in names and v is not None})


class LMDeployModel(ChatModel):
    def __init__(self, path: str | Path, *, engine: str = "turbomind", adapter: str | None = None,
                 dtype: str = "auto", tp: int = 1, session_len: int | None = None,
                 cache_max_entry_count: float = 0.8, trust_remote_code: bool = False):
        """`engine` is "turbomind" (fastest) or "pytorch"; a LoRA `adapter` needs the PyTorch engine, which is
        then chosen. `cache_max_entry_count` is the share of free GPU memory for the KV cache."""
        lmdeploy = import_lmdeploy()
        path = Path(path).expanduser()
        if not path.exists():
            raise ModelError(f"model path {path} does not exist")
        if engine not in ("turbomind", "pytorch"):
            raise ModelError(f"unknown lmdeploy engine {engine!r}; use turbomind or pytorch")
        self._lmdeploy = lmdeploy
        self._adapter_name = None
        common = {"dtype": dtype if dtype in ("auto", "float16", "bfloat16") else "auto", "tp": tp,
                  "session_len": session_len, "cache_max_entry_count": cache_max_entry_count}
        if adapter:
            engine, self._adapter_name = "pytorch", "adapter"
            common["adapters"] = {"adapter": str(Path(adapter).expanduser())}
        cls = lmdeploy.TurbomindEngineConfig if engine == "turbomind" else lmdeploy.PytorchEngineConfig
        try:
            self.pipe = lmdeploy.pipeline(str(path), backend_config=_only_known(cls, **common), log_level="ERROR",
                                          trust_remote_code=trust_remote_code)
        except Exception as e:  # lmdeploy raises anything from AssertionError to RuntimeError
            raise ModelError(f"lmdeploy could not load {path}: {str(e).strip().splitlines()[0] if str(e) else e!r}"
                             ) from e
        self.name = path.name + (f"+{Path(adapter).name}" if adapter else "")
        self.prompt_style = read_style(path)

    def gen_config(self, gen: GenerationConfig):
        """Our GenerationConfig as lmdeploy's, keeping special tokens in the text like the other backends."""
        return _only_known(
            self._lmdeploy.GenerationConfig, max_new_tokens=gen.max_new_tokens, do_sample=gen.temperature > 0,
            temperature=gen.temperature, top_p=gen.top_p, top_k=0 if gen.temperature > 0 else 1,
            random_seed=gen.seed, stop_words=list(gen.stop) or None,
            skip_special_tokens=False, spaces_between_special_tokens=False)

    def _kwargs(self) -> dict:
        # do_preprocess=False: the prompt is already rendered; lmdeploy would otherwise wrap it in its chat template
        kw: dict[str, Any] = {"do_preprocess": False}
        if self._adapter_name:
            kw["adapter_name"] = self._adapter_name
        return kw

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        # lmdeploy stops only on single-token stop words and may return the stop token; cut here as well
        responses = self.pipe.stream_infer([prompt], gen_config=self.gen_config(gen), **self._kwargs())
        yield from cut_stream((resp.text for resp in responses), gen.stop)

    def generate(self, prompts: list[str], gen: GenerationConfig) -> list[str]:
        if not prompts:
            return []
        responses = self.pipe(prompts, gen_config=self.gen_config(gen), **self._kwargs())
        outs = []
        for resp in responses:
            cutter = StopCutter(gen.stop)
            outs.append(cutter.push(resp.text or "") + cutter.flush())
        return outs

    def apply_chat_template(self, messages: list[dict]) -> str:
        template = getattr(getattr(self.pipe, "async_engine", self.pipe), "chat_template", None)
        if template is None:
            raise ModelError(f"lmdeploy has no chat template for {self.name}")
        return template.messages2prompt(messages)

    def close(self) -> None:
        close = getattr(self.pipe, "close", None)
        if close:
            close()
