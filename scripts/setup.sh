#!/usr/bin/env bash
# Set up .venv for the offline default: CPU torch, the package, llama-cpp-python[server] built with
# flags that are safe on any AVX2 CPU (the built wheel is cached), llama.cpp's llama-server built
# for this CPU (trouter.llm.server.build_variant), and the verified GGUF weights.
# Idempotent: a second run takes seconds.
#   PYTHON=python3.11            interpreter for the venv (default: python3)
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu   where CPU torch comes from, if not PyPI
#   TROUTER_CACHE=~/.cache/trouter                         wheel, llama-server and model cache
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${TROUTER_CACHE:-$HOME/.cache/trouter}
WHEELS=$CACHE/wheels
export TROUTER_MODELS_DIR=${TROUTER_MODELS_DIR:-$CACHE/models}
PY=${PYTHON:-python3}

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
# The llama.cpp version, the portable flags (the wheel) and this CPU's build of llama-server.
read -r LLAMA_VERSION _ SAFE_FLAGS < <(.venv/bin/python -m trouter.llm.server build avx2)
read -r _ VARIANT SERVER_FLAGS < <(.venv/bin/python -m trouter.llm.server build)

if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  step "building llama-cpp-python $LLAMA_VERSION (about 5 minutes, once)"
  mkdir -p "$WHEELS"
  CMAKE_ARGS="$SAFE_FLAGS" "${PIP[@]}" wheel -q --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
fi
wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
step "installing $(basename "$wheel")[server]"
"${PIP[@]}" install -q "${wheel}[server]"

# llama.cpp's own server (continuous batching over parallel slots), from the llama.cpp source
# that ships inside the same llama-cpp-python sdist, for this CPU (AVX2, or AVX-512 where it has it).
SERVER=$CACHE/bin/llama-server-$LLAMA_VERSION-$VARIANT
if [ ! -x "$SERVER" ]; then
  step "building llama-server ($VARIANT) from the llama-cpp-python $LLAMA_VERSION sdist (about 7 minutes, once)"
  build=$(mktemp -d)
  command -v cmake >/dev/null || "${PIP[@]}" install -q cmake  # into .venv/bin
  "${PIP[@]}" download -q --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_VERSION" -d "$build"
  tar xzf "$build"/llama_cpp_python-"$LLAMA_VERSION".tar.gz -C "$build"
  # shellcheck disable=SC2086  # the flags are separate words
  PATH=$PWD/.venv/bin:$PATH cmake -S "$build/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp" -B "$build/out" \
    -DCMAKE_BUILD_TYPE=Release $SERVER_FLAGS -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >/dev/null
  PATH=$PWD/.venv/bin:$PATH cmake --build "$build/out" --target llama-server -j "$(nproc)" >/dev/null
  install -D -m 755 "$build/out/bin/llama-server" "$SERVER.tmp"
  mv "$SERVER.tmp" "$SERVER"
  rm -rf "$build"
fi

step "fetching GGUF weights (SHA-256 checked)"
.venv/bin/python -m trouter.cli.fetch_models --models-dir "$TROUTER_MODELS_DIR"
step "setup done"
