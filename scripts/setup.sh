#!/usr/bin/env bash
# Set up .venv for the offline default: CPU torch, the package, llama-cpp-python[server] built with
# flags that are safe on any AVX2 CPU (the built wheel is cached), and the verified GGUF weights.
# Idempotent: a second run takes seconds.
#   PYTHON=python3.11            interpreter for the venv (default: python3)
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu   where CPU torch comes from, if not PyPI
#   TROUTER_CACHE=~/.cache/trouter                         wheel and model cache
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_VERSION=0.3.36
CACHE=${TROUTER_CACHE:-$HOME/.cache/trouter}
WHEELS=$CACHE/wheels
export TROUTER_MODELS_DIR=${TROUTER_MODELS_DIR:-$CACHE/models}
PY=${PYTHON:-python3}
SAFE_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"

step() { printf '\n== [%s] %s\n' "$(date +%T)" "$*"; }

if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $PY"
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

step "installing CPU torch, the package and its tools"
torch_index=()
[ -n "${TORCH_INDEX_URL:-}" ] && torch_index=(--extra-index-url "$TORCH_INDEX_URL")
"${PIP[@]}" install -q "${torch_index[@]}" torch==2.13.0 -e ".[dev]"

if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  step "building llama-cpp-python $LLAMA_VERSION (about 5 minutes, once)"
  mkdir -p "$WHEELS"
  CMAKE_ARGS="$SAFE_FLAGS" "${PIP[@]}" wheel -q --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
fi
wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
step "installing $(basename "$wheel")[server]"
"${PIP[@]}" install -q "${wheel}[server]"

step "fetching GGUF weights (SHA-256 checked)"
.venv/bin/python -m trouter.cli.fetch_models --models-dir "$TROUTER_MODELS_DIR"
step "setup done"
