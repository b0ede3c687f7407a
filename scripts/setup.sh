#!/usr/bin/env bash
# Set up everything puyu needs, idempotently: system packages (when root), a virtualenv in .venv,
# torch first (PUYU_TORCH_SPEC, default the CPU build torch==2.13.0), then puyu and its dev tools, then the
# model servers the tests run puyu against (llama.cpp's, built from llama-cpp-python's source; PUYU_TEST_SERVERS=0
# skips them, and their tests skip). A second run with nothing changed takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${PUYU_VENV:-.venv}
TORCH_SPEC=${PUYU_TORCH_SPEC:-torch==2.13.0}
LLAMA_CPP_SPEC=llama-cpp-python==0.3.36   # llama.cpp's server (CPU build) and the source of its GGUF converter
LLAMA_CPP_CMAKE="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
TEST_SERVERS=${PUYU_TEST_SERVERS:-1}
APT_PACKAGES="tesseract-ocr tesseract-ocr-chi-sim chromium chromium-driver bubblewrap fonts-wqy-zenhei"
say() { printf '\033[1;34m[puyu setup]\033[0m %s\n' "$*"; }

# --- system packages ------------------------------------------------------------------------------
missing=()
for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "not root: cannot install ${missing[*]}."
    say "OCR, the sandbox (bubblewrap) and browser tests need them; ask an admin to run:"
    say "  sudo apt-get install -y ${missing[*]}"
    say "puyu still runs; the features and tests that need them are skipped with a message."
  fi
fi

# --- python ---------------------------------------------------------------------------------------
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { say "puyu needs Python >= 3.10"; exit 1; }
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PY" -m venv "$VENV"; }
stamp="$VENV/.puyu-installed"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16) $TORCH_SPEC"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    say "installing $TORCH_SPEC first (set PUYU_TORCH_SPEC to choose another build)"
    "$VENV/bin/python" -m pip install -q "$TORCH_SPEC"
  fi
  say "installing puyu and its dependencies"
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

# --- optional: model servers for the server matrix (tests/test_server_matrix.py) --------------------------
# `transformers serve` comes with transformers. llama.cpp's server is llama-cpp-python, built here from its source
# distribution, which is kept: scripts/make_gguf.py takes llama.cpp's GGUF converter from it. Built once; a failed
# build is remembered (its tests then skip) until the version or build flags change, or PUYU_TEST_SERVERS=retry.
servers_stamp="$VENV/.puyu-servers"
servers_want="$LLAMA_CPP_SPEC $LLAMA_CPP_CMAKE"
if [ "$TEST_SERVERS" != 0 ] && { [ "$TEST_SERVERS" = retry ] || [ "$(head -1 "$servers_stamp" 2>/dev/null)" != "$servers_want" ]; }; then
  sdist_dir="$VENV/share/llama-cpp-python"
  say "building llama.cpp's server ($LLAMA_CPP_SPEC, CPU; a few minutes, once)"
  sdist="$sdist_dir/llama_cpp_python-${LLAMA_CPP_SPEC#*==}.tar.gz"
  if { [ -f "$sdist" ] || "$VENV/bin/python" -m pip download -q --no-deps --no-binary :all: "$LLAMA_CPP_SPEC" \
         -d "$sdist_dir"; } &&
     CMAKE_ARGS="$LLAMA_CPP_CMAKE" "$VENV/bin/python" -m pip install -q "$sdist[server]" gguf; then
    printf '%s\nok\n' "$servers_want" > "$servers_stamp"
  else
    say "llama-cpp-python did not build; the llama.cpp tests will be skipped (PUYU_TEST_SERVERS=retry tries again)"
    printf '%s\nfailed\n' "$servers_want" > "$servers_stamp"
  fi
fi
say "ready: $VENV"
