"""The package's shape: one import namespace, and layers that import only downwards.

    puyu.core  ->  puyu.models, puyu.tools  ->  puyu.agent  ->  puyu.runtime, puyu.settings (the app);
    puyu.training, puyu.eval beside the app  ->  front ends: puyu.cli, puyu.chat, puyu.serve, puyu.client, puyu.ui
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"puyu": "puyu", "agent": "puyu.agent", "tools": "puyu.tools", "models": "puyu.models",
           "training": "puyu.training", "eval": "puyu.eval", "ui": "puyu.ui"}
OLD_NAMES = {"agent", "tools", "models", "training", "eval", "ui"}

GROUPS = [  # (group, rank, module prefixes); a module imports only groups of lower rank, or its own group
    ("core", 0, ("puyu.core",)),
    ("models", 1, ("puyu.models",)),
    ("tools", 1, ("puyu.tools",)),
    ("agent", 2, ("puyu.agent",)),
    ("app", 3, ("puyu.runtime", "puyu.settings")),
    ("training", 3, ("puyu.training",)),
    ("eval", 3, ("puyu.eval",)),
    ("front", 4, ("puyu.cli", "puyu.chat", "puyu.serve", "puyu.client", "puyu.ui", "puyu.__main__", "puyu")),
]


def group_of(module: str) -> tuple[str, int]:
    for name, rank, prefixes in GROUPS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name, rank
    raise AssertionError(f"{module} belongs to no layer")


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            out[".".join((package, *parts))] = path
    return out


def imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, relative ones resolved."""
    out = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out += [(f"{base}.{a.name}" if base.startswith("puyu") else base, node.lineno) for a in node.names]
    return out


def test_code_imports_only_through_the_puyu_namespace():
    stray = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for module, path in modules().items() for name, line in imports(module, path)
             if name.split(".")[0] in OLD_NAMES]
    for path in [*ROOT.glob("tests/*.py"), *ROOT.glob("bench/*.py")]:
        stray += [f"{path.relative_to(ROOT)}:{line} imports {name}"
                  for name, line in imports("tests.x", path) if name.split(".")[0] in OLD_NAMES]
    assert not stray, "\n".join(stray)


def test_every_layer_imports_only_the_layers_below_it():
    known = modules()
    wrong = []
    for module, path in known.items():
        group, rank = group_of(module)
        for name, line in imports(module, path):
            if not name.startswith("puyu"):
                continue
            target = max((m for m in known if name == m or name.startswith(m + ".")), key=len, default=name)
            other, other_rank = group_of(target)
            if other != group and other_rank >= rank:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {group} imports {target} ({other})")
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from puyu.agent.agent import Agent\n")
    [(name, _)] = imports("puyu.tools.bad", bad)
    assert group_of("puyu.tools.bad")[1] <= group_of(name)[1]  # tools may not import the agent


@pytest.mark.skipif(not os.environ.get("PUYU_SLOW_TESTS"), reason="builds the wheel (set PUYU_SLOW_TESTS=1)")
def test_the_wheel_installs_only_puyu(tmp_path):
    had_build = (ROOT / "build").exists()
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(tmp_path), str(ROOT)], check=True, cwd=tmp_path, stdout=subprocess.DEVNULL)
    finally:
        if not had_build:  # setuptools builds in the checkout; leave it as it was
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    [wheel] = tmp_path.glob("puyu_agent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"puyu"}
    for needed in ("puyu/agent/agent.py", "puyu/core/protocols/prompts/internlm2.yaml",
                   "puyu/models/bundled/puyu-tiny/model.safetensors", "puyu/training/configs/puyu-tiny.yaml",
                   "puyu/ui/app.py", "puyu/tools/interpreter/kernel.py"):
        assert needed in names, needed
