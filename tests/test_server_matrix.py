"""The server matrix in CI: the bundled model served by real servers that run on a CPU (`transformers serve`, and
llama.cpp's server from llama-cpp-python with a GGUF made by scripts/make_gguf.py), asked through `puyu ask` under
each protocol, must answer as it does in process: the same answer and the same tool calls. The questions, the
servers' commands and the comparison are bench/server_matrix.py's, which runs the same matrix for LMDeploy and vLLM
on a GPU machine. A server that is not installed is skipped with the reason (scripts/setup.sh installs both)."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.environ.get("PUYU_SLOW_TESTS"),
                                                   reason="real model servers: set PUYU_SLOW_TESTS=1")]

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))  # as `python bench/server_matrix.py` finds its sibling harness.py
_spec = importlib.util.spec_from_file_location("server_matrix", BENCH / "server_matrix.py")
matrix = sys.modules["server_matrix"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(matrix)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    os.environ.setdefault("PUYU_CONFIG", str(tmp_path_factory.mktemp("cfg") / "none.yaml"))
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def in_process(data_dir):
    from puyu.models import BUNDLED_MODEL

    return matrix.in_process(BUNDLED_MODEL, data_dir)


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    """The bundled model as GGUF, made by scripts/make_gguf.py with llama.cpp's converter."""
    from puyu.models import BUNDLED_MODEL

    why = matrix.missing("llama.cpp")
    if why:
        pytest.skip(why)
    return matrix.make_gguf(BUNDLED_MODEL, tmp_path_factory.mktemp("gguf"))


@pytest.fixture(scope="module", params=["transformers", "llama.cpp"])
def served(request, tmp_path_factory):
    """(kind, URL) of a running server of that kind, serving the bundled model."""
    from puyu.models import BUNDLED_MODEL
    from puyu.models.server_traits import forget_all

    kind = request.param
    why = matrix.missing(kind)
    if why:
        pytest.skip(why)
    out = tmp_path_factory.mktemp(kind)
    model = request.getfixturevalue("gguf_file") if matrix.SERVERS[kind].gguf else BUNDLED_MODEL
    proc, url = matrix.start(kind, model, out / "server.log")
    yield kind, url
    matrix.stop(proc)
    forget_all()


def test_puyu_ask_on_a_real_server_answers_as_in_process(served, in_process, data_dir):
    kind, url = served
    got = matrix.cells(kind, url, data_dir)
    assert in_process["interpreter", "internlm2"]["calls"][0][0] == "python"  # the matrix asks what it says
    assert in_process["plugin", "internlm2"]["calls"][0][0] == "solve"
    assert in_process["chat", "internlm2"]["calls"] == []
    compared = {cell: result for cell, result in got.items()
                if not (kind == "llama.cpp" and cell[1] == "react")}
    for (question, protocol), result in compared.items():
        want = in_process[question, matrix.BASELINE[protocol]]
        assert result["ok"], (question, protocol, result["errors"])
        assert (result["answer"], result["calls"]) == (want["answer"], want["calls"]), (question, protocol)
    # ReAct on llama.cpp: the same prompt, but puyu-tiny is not trained on ReAct and its untrained replies turn on
    # near-ties that llama.cpp's float kernels break differently from torch's; it must still run cleanly
    for (question, protocol), result in got.items():
        if (question, protocol) not in compared:
            assert result["ok"] and result["answer"] and not result["errors"], (question, protocol, result)


def test_the_gguf_keeps_tool_call_tokens_plain_and_the_card_beside_it(gguf_file):
    """Read back with PyPI's `gguf`: the tool-call tokens are user-defined (llama.cpp returns them in its text),
    the chat tokens control tokens, and puyu finds the model's card from the GGUF's served name (its path)."""
    gguf = pytest.importorskip("gguf", reason="the gguf package is not installed (scripts/setup.sh installs it)")
    from puyu.core.card import ModelCard, model_folder
    from puyu.core.protocols.internlm2 import ACTION_TOKENS, IM_END, IM_START

    reader = gguf.GGUFReader(gguf_file)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = dict(zip(tokens, reader.fields["tokenizer.ggml.token_type"].contents()))
    assert {types[t] for t in ACTION_TOKENS} == {gguf.TokenType.USER_DEFINED}
    assert {types[t] for t in (IM_START, IM_END)} == {gguf.TokenType.CONTROL}
    assert reader.fields["tokenizer.ggml.pre"].contents() == "smollm"
    assert ModelCard.read(model_folder(str(gguf_file))).prompt_style == "compact"
