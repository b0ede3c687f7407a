"""bench/ is run by hand, so this is what notices when a change elsewhere breaks it: every file imports, every
script answers `--help`, none borrows from tests/ or from puyu's private names, and every puyu name a script
imports exists, also the ones imported inside functions (heavy imports wait until after argument parsing, so
`--help` alone would not reach them)."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
FILES = sorted(BENCH.glob("*.py"))
SCRIPTS = [p for p in FILES if 'if __name__ == "__main__":' in p.read_text("utf-8")]
LOCAL = {p.stem for p in FILES}  # bench's own modules (harness), imported as top-level names by the scripts
# Private attributes of other libraries that a benchmark must reach to set up its baseline.
THIRD_PARTY_PRIVATE = {
    "_attn_implementation": "transformers: which attention kernel a config's model uses (bench/packing.py)",
    "_KERNEL_CLIENTS": "lagent: its per-process kernel cache, cleared so every cold start is cold (interpreter)",
}


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def load(path: Path):
    """bench/<name>.py as a module, the way `python bench/<script>.py` would import it."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # a script's own folder comes first on its sys.path
    name = f"bench_{path.stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up there
        try:
            spec.loader.exec_module(sys.modules[name])
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def imports(tree: ast.AST) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None for `import module`, line) for every import anywhere in the file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return found


def test_bench_has_scripts():
    assert SCRIPTS, f"no scripts found in {BENCH}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_imports_from_its_path(path):
    module = load(path)
    if path in SCRIPTS:
        assert callable(getattr(module, "main", None)), f"{path.name} runs as a script but has no main()"


@pytest.fixture(scope="module")
def helps() -> dict[str, subprocess.CompletedProcess]:
    """`python bench/<script>.py --help` for every script, all at once."""
    def run(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(path), "--help"], check=False, cwd=BENCH.parent, capture_output=True,
                              text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(ids(SCRIPTS), pool.map(run, SCRIPTS)))


@pytest.mark.parametrize("path", SCRIPTS, ids=ids(SCRIPTS))
def test_help(path, helps):
    done = helps[path.name]
    assert done.returncode == 0, f"{path.name} --help failed:\n{done.stderr[-3000:]}"
    assert "usage:" in done.stdout


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_imports_only_public_puyu_names_that_exist(path):
    tree = ast.parse(path.read_text("utf-8"), str(path))
    problems = []
    for module, name, line in imports(tree):
        root = module.split(".")[0]
        where = f"{path.name}:{line}"
        if root == "tests":
            problems.append(f"{where} imports {module} from tests/")
        elif root in LOCAL:
            if name and not hasattr(load(BENCH / f"{root}.py"), name):
                problems.append(f"{where}: bench/{root}.py has no {name}")
        elif root == "puyu":
            private = [part for part in [*module.split("."), name or ""] if part.startswith("_")]
            if private:
                problems.append(f"{where} imports a private name: {module} {name or ''}".strip())
                continue
            try:
                target = importlib.import_module(module)
            except ImportError as e:
                problems.append(f"{where}: {e}")
                continue
            if name and not hasattr(target, name):
                try:
                    importlib.import_module(f"{module}.{name}")
                except ModuleNotFoundError:
                    problems.append(f"{where}: {module} has no {name}")
    for node in ast.walk(tree):  # attributes: x._private
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and node.attr not in THIRD_PARTY_PRIVATE):
            problems.append(f"{path.name}:{node.lineno} uses a private attribute .{node.attr}")
    assert not problems, "\n".join(problems)
