"""Convert a puyu model (default: the bundled one) to GGUF for llama.cpp, with llama.cpp's own converter.

    .venv/bin/python scripts/make_gguf.py                          # -> build/gguf/puyu-tiny/puyu-tiny.gguf
    .venv/bin/python -m llama_cpp.server --model build/gguf/puyu-tiny/puyu-tiny.gguf --n_ctx 1024 --port 8080
    .venv/bin/puyu ask "What is 15% of 100?" --base-url http://127.0.0.1:8080

The converter (`convert_hf_to_gguf.py`, its `conversion/` package and the `gguf-py` it writes with, as it uses them
itself: the `gguf` release on PyPI lags it) comes from llama.cpp's source as shipped in the llama-cpp-python source
distribution (`vendor/llama.cpp`; scripts/setup.sh keeps the one it built from). Nothing is downloaded from a model
hub. Two of puyu's choices need
telling the converter, which only guesses them:

- the pre-tokenizer: digits one per token, then GPT-2's byte-level split, which llama.cpp names `smollm` (the
  converter recognises a tokenizer by the hash of one test string, and puyu's own is not in its list);
- the tool-call tokens (<|action_start|> ...): plain added tokens in puyu's tokenizer, so that servers return them;
  the converter would make every `<|...|>` token a control token, which llama.cpp drops from its output.

The folder it writes holds the GGUF beside the model's puyu.json and tokenizer files, so that puyu, given the served
name (the GGUF's path), prompts the model as it was trained and gives it its default tools.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SDIST_DIR = Path(sys.prefix) / "share" / "llama-cpp-python"
"""Where scripts/setup.sh keeps the llama-cpp-python source it built llama.cpp from."""
MODEL_FILES = ("puyu.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
PRE_TOKENIZER = "smollm"
"""llama.cpp's name for `\\p{N}` (each digit) then GPT-2's regex, without cleaning spaces on decode."""


def sdist(explicit: Path | None) -> Path:
    """The llama-cpp-python source distribution: given, kept by setup.sh, or fetched from PyPI by pip."""
    if explicit:
        return explicit
    try:
        version = metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        raise SystemExit("llama-cpp-python is not installed: run scripts/setup.sh (or pass --source)") from None
    kept = SDIST_DIR / f"llama_cpp_python-{version}.tar.gz"
    if kept.is_file():
        return kept
    SDIST_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    f"llama-cpp-python=={version}", "-d", str(SDIST_DIR)], check=True)
    return kept


def converter_dir(source: Path, into: Path) -> Path:
    """llama.cpp's converter (convert_hf_to_gguf.py, conversion/, gguf-py/) out of the sdist (or a llama.cpp
    checkout)."""
    if source.is_dir():
        return source
    wanted = ("vendor/llama.cpp/convert_hf_to_gguf.py", "vendor/llama.cpp/conversion/", "vendor/llama.cpp/gguf-py/")
    with tarfile.open(source) as tar:
        members = [m for m in tar.getmembers() if any(w in m.name for w in wanted)]
        if not members:
            raise SystemExit(f"{source} holds no vendor/llama.cpp/convert_hf_to_gguf.py")
        tar.extractall(into, members=members, filter="data")
    return next(into.glob("*/vendor/llama.cpp"))


def check_pre_tokenizer(model: Path) -> None:
    """The converter is told PRE_TOKENIZER; make sure that is what this tokenizer does."""
    pre = json.loads((model / "tokenizer.json").read_text("utf-8")).get("pre_tokenizer") or {}
    kinds = [(p.get("type"), p.get("individual_digits"), p.get("use_regex")) for p in pre.get("pretokenizers", [])]
    if kinds != [("Digits", True, None), ("ByteLevel", None, True)]:
        raise SystemExit(f"{model}: the pre-tokenizer is not puyu's (digits, then byte-level): {kinds}")


def convert(model: Path, out: Path, llama_cpp: Path, outtype: str) -> Path:
    sys.path[:0] = [str(llama_cpp), str(llama_cpp / "gguf-py")]  # as convert_hf_to_gguf.py sets them up
    sys.modules.pop("gguf", None)
    import gguf
    import torch
    from conversion import ModelBase, ModelType, get_model_architecture, get_model_class

    hparams = ModelBase.load_hparams(model, False)
    base = get_model_class(get_model_architecture(hparams, ModelType.TEXT))

    class PuyuModel(base):
        model_arch = base.model_arch

        def set_vocab(self) -> None:  # puyu's tokenizers are byte-level BPE, as GPT-2's (no sentencepiece model)
            self._set_vocab_gpt2()

        def does_token_look_special(self, token) -> bool:  # the tokenizer's own `special` flags decide
            return False

        def get_vocab_base_pre(self, tokenizer) -> str:
            return PRE_TOKENIZER

    types = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}
    path = out / f"{model.name}.gguf"
    with torch.inference_mode():
        PuyuModel(model, types[outtype], path, model_name=model.name).write()
    return path


def main(argv: list[str] | None = None) -> int:
    from puyu.models import BUNDLED_MODEL

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL, help="a puyu model folder (default: bundled)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: build/gguf/<model name>)")
    parser.add_argument("--source", type=Path, default=None,
                        help="llama-cpp-python's sdist (.tar.gz) or a llama.cpp checkout (default: the one setup.sh "
                             f"kept in {SDIST_DIR}, else pip downloads it)")
    parser.add_argument("--outtype", choices=("f32", "f16", "q8_0"), default="f32",
                        help="f32 keeps the answers of the model run in process (default)")
    args = parser.parse_args(argv)
    model = args.model.resolve()
    out = (args.out or ROOT / "build" / "gguf" / model.name).resolve()
    check_pre_tokenizer(model)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = convert(model, out, converter_dir(sdist(args.source), Path(tmp)), args.outtype)
    for name in MODEL_FILES:
        if (model / name).is_file():
            shutil.copy2(model / name, out / name)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) beside {', '.join(MODEL_FILES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
