"""Development sessions: tests, lint, typecheck, wheels, docs, bench.

Run them from the workspace environment made by ``bash scripts/setup.sh``::

    .venv/bin/nox -s tests
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "uv"

ROOT = Path(__file__).parent
DISTRIBUTIONS = ["core", *sorted(glob.glob("plugins/*")), *sorted(glob.glob("contrib/*")), "."]


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole test suite (core, plugins, contrib, integration) in the workspace environment."""
    session.run(sys.executable, "-m", "pytest", *session.posargs)


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


@nox.session(venv_backend="none")
def wheels(session: nox.Session) -> None:
    """Build every distribution, install ``liter-llm[anthropic]`` from those wheels alone, prove discovery."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir()
    for path in DISTRIBUTIONS:
        session.run("uv", "build", "--quiet", "--wheel", "--out-dir", str(dist), path)
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        session.run("uv", "venv", "--quiet", str(venv))
        python = str(venv / "bin" / "python")
        # The third-party wheels our distributions need are fetched into the same folder first;
        # the install itself then uses that folder alone (no index).
        # Pin our own version: the name `liter-llm` also exists on the public index.
        wanted = f"liter-llm[anthropic]=={_version()}"
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
            "uv",
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
