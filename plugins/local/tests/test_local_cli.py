"""``liter-llm chat PROMPT`` with no model and no key answers from ``local/smollm2`` (the README's first command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITER_LLM_") and not k.endswith("_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "liter_llm.cli", "chat", *args],
        cwd=tmp_path,  # no liter-llm.toml here or above
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_chat_streams_from_the_local_model(tmp_path: Path) -> None:
    result = _run(tmp_path, "--system", "Answer in one short sentence.", "Say hello.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stdout.endswith("\n")
    assert result.stderr == ""  # no llama.cpp noise, no finalizer tracebacks at exit


def test_cli_chat_json_names_the_local_model(tmp_path: Path) -> None:
    result = _run(tmp_path, "--json", "Say hi.")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == "smollm2"
    assert answer["choices"][0]["message"]["role"] == "assistant"
    assert answer["choices"][0]["message"]["content"]
    assert answer["choices"][0]["finish_reason"] in ("stop", "length")
