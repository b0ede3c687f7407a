"""One configuration tree: every setting is reachable the same ways (flags, YAML, environment, the app, the server,
eval), and a bad value is one line saying what is wrong."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest

from puyu.core.config import (
    SHORT_NAMES,
    GenerationConfig,
    ModelSpec,
    Settings,
    as_dict,
    env_values,
    knobs,
    leaf_paths,
)
from puyu.core.dataclass_cli import from_args
from puyu.settings import load_settings, settings_parser


def test_every_setting_is_a_flag_an_environment_variable_and_a_yaml_key(tmp_path, monkeypatch):
    parser = settings_parser("puyu test", "")
    flags = {s for a in parser._actions for s in a.option_strings}
    for path in leaf_paths(Settings):
        assert f"--{path.replace('_', '-')}" in flags, path
    environ = {"PUYU_GEN_TOP_P": "0.5", "PUYU_SANDBOX_MEMORY_MB": "2048", "PUYU_AGENT_URL": "http://127.0.0.1:8000",
               "PUYU_THREADS": "2", "HOME": "/root"}
    assert env_values(Settings, environ) == {"gen.top_p": "0.5", "sandbox.memory_mb": "2048",
                                             "agent_url": "http://127.0.0.1:8000", "model.threads": "2"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "c.yaml"
    config.write_text("gen:\n  temperature: 0.25\nmodel:\n  name: /ckpt\n  device: cpu\ntools: [ocr]\n")
    settings = load_settings({"config": config})
    assert (settings.gen.temperature, settings.gen.top_p, settings.sandbox.memory_mb) == (0.25, 0.5, 2048)
    assert (settings.model.name, settings.model.device, settings.agent.tools) == ("/ckpt", "cpu", ["ocr"])
    assert settings.agent_url == "http://127.0.0.1:8000"


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("temperature: 0.1\ntop_p: 0.2\nmax_new_tokens: 64\n")  # today's flat names still work
    monkeypatch.setenv("PUYU_GEN_TOP_P", "0.3")
    monkeypatch.setenv("PUYU_GEN_MAX_NEW_TOKENS", "128")
    parser = settings_parser("puyu test", "")
    args = vars(parser.parse_args(["--config", str(config), "--gen.max-new-tokens", "256"]))
    gen = load_settings(args).gen
    assert (gen.temperature, gen.top_p, gen.max_new_tokens) == (0.1, 0.3, 256)


def test_the_short_flags_of_before_are_aliases():
    parser = settings_parser("puyu test", "")
    argv = ["--model", "/ckpt", "--temperature", "0.7", "--tools", "none", "--interpreter", "false",
            "--interpreter-timeout-s", "5", "--base-url", "http://127.0.0.1:23333", "--max-steps", "3",
            "--language", "zh"]
    s = from_args(Settings, vars(parser.parse_args(argv)), SHORT_NAMES)
    assert (s.model.name, s.model.backend, s.model.base_url) == ("/ckpt", "openai", "http://127.0.0.1:23333")
    assert (s.gen.temperature, s.agent.tools, s.agent.interpreter, s.sandbox.timeout_s) == (0.7, [], False, 5.0)
    assert (s.agent.max_steps, s.agent.language) == (3, "zh")
    assert parser.parse_args(["--gen.temperature", "0.7"]).__dict__ == parser.parse_args(["--temperature", "0.7"]).__dict__


@pytest.mark.parametrize("argv, problem", [
    (["--temperature", "hot"], "gen.temperature: could not convert string to float: 'hot'"),
    (["--max-steps", "0"], "max_steps must be >= 1"),
    (["--interpreter", "maybe"], "agent.interpreter: expected true or false, not 'maybe'"),
    (["--protocol", "xml"], "protocol must be one of internlm2, react, openai, not 'xml'"),
    (["--server.port", "99999"], "port must be between 1 and 65535, not 99999"),
    (["--backend", "openai"], "the openai backend needs base_url"),
])
def test_a_bad_value_is_one_line_saying_what_is_wrong(argv, problem):
    parser = settings_parser("puyu test", "")
    with pytest.raises(ValueError) as e:
        from_args(Settings, vars(parser.parse_args(argv)), SHORT_NAMES)
    assert problem in str(e.value) and "\n" not in str(e.value)


def test_a_bad_config_file_is_one_line(tmp_path):
    for text, problem in [("temperature: [1\n", "is not valid YAML (line 2"), ("temperature: hot\n", "hot"),
                          ("- 1\n", "expected a mapping"), ("colour: red\n", "unknown option(s) colour"),
                          ("gen:\n  warmth: 1\n", "unknown option(s) gen.warmth")]:
        config = tmp_path / "c.yaml"
        config.write_text(text)
        with pytest.raises(ValueError, match=re.escape(problem)):
            load_settings({"config": config})
    with pytest.raises(ValueError, match="cannot read"):
        load_settings({"config": tmp_path / "missing.yaml"})


def test_replace_takes_paths_sections_and_short_names():
    s = Settings()
    assert s.replace(**{"gen.temperature": 0.5}).gen.temperature == 0.5
    assert s.replace(gen={"top_p": 0.5}).gen == dataclasses.replace(GenerationConfig(), top_p=0.5)
    assert s.replace(temperature=0.5, model="/x").model == ModelSpec("/x")
    assert s.replace(model="http://127.0.0.1:23333").model.base_url == "http://127.0.0.1:23333"  # `--model URL`
    assert s.gen.temperature == 0.0  # a copy; the original is unchanged
    with pytest.raises(ValueError, match="unknown option"):
        s.replace(warmth=1)


def test_a_new_sampling_knob_would_reach_the_app_and_every_conversation():
    """What `knob` marks is drawn in the settings panel and kept per conversation, with no other code."""
    from puyu.ui.settings import to_store
    from puyu.ui.settings_panel import KNOBS, SETTING_KEYS, knob_key

    assert KNOBS == knobs(Settings) and set(KNOBS) >= {"gen.temperature", "gen.top_p", "gen.max_new_tokens",
                                                       "agent.max_steps"}
    assert {knob_key(p) for p in KNOBS} <= set(SETTING_KEYS)
    stored = to_store(Settings().replace(temperature=0.4, max_steps=2))
    assert stored["gen.temperature"] == 0.4 and stored["agent.max_steps"] == 2
    assert {f"gen.{f.name}" for f in dataclasses.fields(GenerationConfig)} <= set(stored)
    assert "model.api_key" not in stored and "data_dir" not in stored  # the app's, not the conversation's


def test_conversations_stored_before_the_tree_keep_their_settings():
    from puyu.agent.store import Conversation
    from puyu.ui.settings import conversation_settings

    old = Conversation("c", "t", 0, 0, {"temperature": 0.9, "tools": ["ocr"], "origin": "api", "max_steps": 2})
    s = conversation_settings(Settings(), old)
    assert (s.gen.temperature, s.agent.tools, s.agent.max_steps) == (0.9, ["ocr"], 2)


def test_the_settings_travel_as_json_and_come_back_equal():
    s = Settings().replace(temperature=0.3, language="zh", tools=["ocr"], model="/ckpt")
    again = Settings().replace(**json.loads(json.dumps(as_dict(s))))
    assert again == s


def test_eval_reads_the_same_sections():
    from puyu.eval.config import EVAL_NAMES, EvalConfig

    parser_args = {"model.name": "http://127.0.0.1:23333", "gen.temperature": "0.5", "agent.max_steps": "2"}
    cfg = from_args(EvalConfig, parser_args, EVAL_NAMES)
    assert (cfg.backend, cfg.model.base_url, cfg.gen.temperature, cfg.agent.max_steps) == (
        "openai", "http://127.0.0.1:23333", 0.5, 2)
    assert cfg.max_new_tokens(1024) == 1024 and dataclasses.replace(cfg.gen, max_new_tokens=8) != cfg.gen
    assert cfg.fingerprint()["gen"]["temperature"] == 0.5 and "api_key" not in cfg.fingerprint()["model"]
