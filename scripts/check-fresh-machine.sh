#!/usr/bin/env bash
# The newcomer's path, as CI checks it: a fresh clone of this repository, a PATH that holds no
# `uv` (nor anything else this machine's users installed by hand), then the README's first command:
#
#     bash scripts/setup.sh && .venv/bin/liter-llm chat "Name three colours"
#
# which must exit 0 with a non-empty answer.  Run once per interpreter given (default: the
# machine's default python3, and the distribution's own /usr/bin/python3, which refuses
# `pip install` into itself under PEP 668).  uv's cache is shared with the caller, so the
# compiled llama-cpp-python wheel is reused: each run costs about a minute, not a rebuild.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

interpreters=("$@")
if [ ${#interpreters[@]} -eq 0 ]; then
    default="$(python3 -c 'import sys; print(sys.executable)')"
    interpreters=("$default")
    if [ -x /usr/bin/python3 ] && [ "$(readlink -f /usr/bin/python3)" != "$(readlink -f "$default")" ]; then
        interpreters+=(/usr/bin/python3)
    fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for interpreter in "${interpreters[@]}"; do
    label="$(basename "$(dirname "$(dirname "$interpreter")")")/$(basename "$interpreter")"
    echo "--- fresh clone with $interpreter"
    clone="$work/clone-$RANDOM"
    git clone --quiet "$root" "$clone" || { echo "FAIL ($label): git clone"; failed=1; continue; }
    # a PATH with the system's directories and this interpreter as `python3`, nothing else
    bin="$work/bin-$RANDOM"
    mkdir -p "$bin"
    ln -s "$interpreter" "$bin/python3"
    path="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    if PATH="$path" command -v uv >/dev/null 2>&1; then
        echo "FAIL ($label): uv is on the system PATH ($(PATH="$path" command -v uv)); this check needs a PATH without it"
        failed=1
        continue
    fi
    out="$work/answer.txt"
    # the machine's environment (its registry and certificate settings), less PATH and any venv
    if ! (cd "$clone" && env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME -u CONDA_PREFIX PATH="$path" \
        bash -c 'bash scripts/setup.sh && .venv/bin/liter-llm chat "Name three colours"') >"$out" 2>"$work/err.txt"; then
        echo "FAIL ($label): the README's main command failed"
        tail -n 30 "$work/err.txt"
        failed=1
        continue
    fi
    if ! grep -q '[[:alpha:]]' "$out"; then
        echo "FAIL ($label): the answer was empty"
        failed=1
        continue
    fi
    if [ -e "$clone/.tools/bin/uv" ]; then how="uv bootstrapped into .tools"; else how="uv found"; fi
    echo "ok ($label, $how): $(head -c 200 "$out" | tr '\n' ' ')"
    rm -rf "$clone"
done
exit "$failed"
