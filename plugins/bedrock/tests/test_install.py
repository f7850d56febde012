"""``pip install 'liter-llm[bedrock]'`` from freshly built wheels gives a working provider, without botocore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CODE = """
import importlib.util, httpx, liter_llm

assert importlib.util.find_spec("botocore") is None, "botocore came along"
def handler(request):
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "ok from the wheel"}]}},
            "stopReason": "end_turn"}
    return httpx.Response(200, json=body)
with liter_llm.create_client(transport=httpx.MockTransport(handler), max_retries=0) as client:
    answer = client.chat(model="bedrock/amazon.nova-pro-v1:0", messages=[{"role": "user", "content": "hi"}])
print(answer.choices[0].message.content)
"""


def _uv() -> str:
    for candidate in (Path(sys.executable).parent / "uv", ROOT / ".tools" / "bin" / "uv"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to build the wheels: run scripts/setup.sh")
    return found


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_the_extra_installs_a_working_plugin(tmp_path: Path) -> None:
    keep = {"PATH", "HOME", "LANG", "TMPDIR", "UV_CACHE_DIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1")
    uv = _uv()
    dist = tmp_path / "dist"
    for project in (ROOT / "core", ROOT / "plugins" / "openai", ROOT / "plugins" / "bedrock", ROOT):
        _run([uv, "build", "--offline", "--quiet", "--wheel", "--out-dir", str(dist), str(project)], env)
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    python = str(venv / "bin" / "python")
    _run(
        [
            uv,
            "pip",
            "install",
            "--offline",
            "--quiet",
            "--python",
            python,
            "--find-links",
            str(dist),
            "liter-llm[bedrock]==0.1.0",
        ],
        env,
    )
    run_env = {
        "PATH": env["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "us-east-1",
    }
    assert _run([python, "-c", textwrap.dedent(CODE)], run_env).strip() == "ok from the wheel"
