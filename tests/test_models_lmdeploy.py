"""The lmdeploy backend: its guard on machines without lmdeploy or CUDA, and its requests, against a fake module."""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import ClassVar

import puyu.models.lmdeploy_engine as engine
import pytest
from puyu.models import load
from puyu.core.config import ModelSpec
from puyu.models.base import ModelError
from puyu.core.config import GenerationConfig


def test_missing_lmdeploy_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lmdeploy", None)  # makes `import lmdeploy` fail, installed or not
    with pytest.raises(ModelError) as err:
        load(ModelSpec(backend="lmdeploy", name=str(tmp_path)))
    msg = str(err.value)
    assert "\n" not in msg and "not installed" in msg
    assert "--backend openai" in msg and "lmdeploy serve api_server" in msg


# ---- a fake lmdeploy, just enough of its API to check what the backend asks of it ----------------------------

@dataclass
class FakeGenerationConfig:  # no `do_sample`: like lmdeploy < 0.6, so unknown fields must be dropped
    max_new_tokens: int = 512
    top_p: float = 1.0
    top_k: int = 50
    temperature: float = 0.8
    random_seed: int | None = None
    stop_words: list | None = None
    skip_special_tokens: bool = True
    spaces_between_special_tokens: bool = True


@dataclass
class FakeTurbomindEngineConfig:
    dtype: str = "auto"
    tp: int = 1
    session_len: int | None = None
    cache_max_entry_count: float = 0.8


@dataclass
class FakePytorchEngineConfig(FakeTurbomindEngineConfig):
    adapters: dict | None = None


@dataclass
class FakeResponse:
    text: str
    index: int = 0


class FakePipeline:
    deltas: ClassVar[list[str]] = ["Sure", "<|action_start|>", "<|interpreter|>", "\n```python\nprint(1)\n```", "<|action_end|>", "\n", "x"]

    def __init__(self, path, backend_config, **kw):
        self.path, self.backend_config, self.kw = path, backend_config, kw
        self.calls: list[tuple] = []

    def stream_infer(self, prompts, gen_config=None, **kw):
        self.calls.append(("stream_infer", prompts, gen_config, kw))
        for d in self.deltas:
            yield FakeResponse(d)

    def __call__(self, prompts, gen_config=None, **kw):
        self.calls.append(("infer", prompts, gen_config, kw))
        return [FakeResponse(f"{p}<|im_end|>junk") for p in prompts]


@pytest.fixture
def fake(monkeypatch):
    mod = types.ModuleType("lmdeploy")
    mod.GenerationConfig = FakeGenerationConfig
    mod.TurbomindEngineConfig = FakeTurbomindEngineConfig
    mod.PytorchEngineConfig = FakePytorchEngineConfig
    mod.pipeline = FakePipeline
    monkeypatch.setitem(sys.modules, "lmdeploy", mod)
    monkeypatch.setattr(engine, "_cuda_available", lambda: True)
    return mod


def test_no_cuda_is_one_clear_line(fake, monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "_cuda_available", lambda: False)
    with pytest.raises(ModelError, match=r"needs a CUDA GPU.*--backend openai.*lmdeploy serve api_server"):
        load(ModelSpec(backend="lmdeploy", name=str(tmp_path)))


def test_stream_sends_raw_prompt_keeps_special_tokens_and_cuts_stops(fake, tmp_path):
    m = load(ModelSpec(backend="lmdeploy", name=str(tmp_path)))
    assert isinstance(m.pipe.backend_config, FakeTurbomindEngineConfig)
    gen = GenerationConfig(max_new_tokens=64, stop=["<|action_end|>"], seed=3)
    assert "".join(m.stream("<|im_start|>user\nhi", gen)) == "".join(FakePipeline.deltas[:4])
    kind, prompts, cfg, kw = m.pipe.calls[-1]
    assert kind == "stream_infer" and prompts == ["<|im_start|>user\nhi"]
    assert kw == {"do_preprocess": False}
    assert cfg == FakeGenerationConfig(max_new_tokens=64, top_p=1.0, top_k=1, temperature=0.0, random_seed=3,
                                       stop_words=["<|action_end|>"], skip_special_tokens=False,
                                       spaces_between_special_tokens=False)


def test_batch_generate_and_adapter_uses_pytorch_engine(fake, tmp_path):
    m = load(ModelSpec(backend="lmdeploy", name=str(tmp_path), adapter=str(tmp_path / "lora")))
    assert isinstance(m.pipe.backend_config, FakePytorchEngineConfig)
    assert m.pipe.backend_config.adapters == {"adapter": str(tmp_path / "lora")}
    outs = m.generate(["a", "b"], GenerationConfig(stop=["<|im_end|>"], temperature=0.7))
    assert outs == ["a", "b"]
    kind, _, cfg, kw = m.pipe.calls[-1]
    assert kind == "infer" and kw == {"do_preprocess": False, "adapter_name": "adapter"}
    assert cfg.temperature == 0.7 and cfg.top_k == 0


def test_missing_path_and_bad_engine(fake, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load(ModelSpec(backend="lmdeploy", name=str(tmp_path / "nope")))
    with pytest.raises(ModelError, match="unknown lmdeploy engine"):
        engine.LMDeployModel(tmp_path, engine="vllm")
