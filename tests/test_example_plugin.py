"""The third-party example plugin, end to end: built from the guide into a wheel, installed with the
core's wheel into a fresh virtual environment (offline), discovered through its entry point, routing
its models, passing the conformance kit on both clients, serving the guide's code against the
reference server, and adding its own command to the real ``liter-llm`` command line.

One build and one environment serve every test of the module (about 10 s in all).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from liter_llm_guide_support import EXAMPLE, ROOT, after, blocks, write_project

pytestmark = pytest.mark.slow


def _uv() -> str:
    found = Path(sys.executable).parent / "uv"
    if found.exists():
        return str(found)
    which = shutil.which("uv")
    if which is None:
        pytest.fail("uv is needed to build the wheels: run scripts/setup.sh")
    return which


def _env(**extra: str) -> dict[str, str]:
    """A clean environment: no workspace paths, no keys, no plugin filter, and uv kept offline."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "UV_CACHE_DIR", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


class Installed:
    """The fresh environment: its interpreter, its ``liter-llm`` script and the project built from the guide."""

    def __init__(self, root: Path) -> None:
        uv = _uv()
        self.project = write_project(root / "liter-llm-acme")
        dist = root / "dist"
        _run([uv, "build", "--offline", "--quiet", "--wheel", "--out-dir", str(dist), str(ROOT / "core")], env=_env())
        _run([uv, "build", "--offline", "--quiet", "--wheel", "--out-dir", str(dist), str(self.project)], env=_env())
        self.wheels = sorted(p.name for p in dist.glob("*.whl"))
        venv = root / "venv"
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=_env())
        self.python = str(venv / "bin" / "python")
        self.script = str(venv / "bin" / "liter-llm")
        # Our two wheels from dist/, their third-party dependencies from uv's cache: no network.
        _run(
            [
                uv,
                "pip",
                "install",
                "--offline",
                "--quiet",
                "--python",
                self.python,
                "--find-links",
                str(dist),
                "liter-llm-core==0.1.0",
                "liter-llm-acme==0.1.0",
            ],
            env=_env(),
        )

    def python_code(self, code: str, **env: str) -> str:
        return _run([self.python, "-c", textwrap.dedent(code)], env=_env(**env), cwd=self.project).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return Installed(tmp_path_factory.mktemp("example-plugin"))


@pytest.fixture(scope="module")
def acme_server() -> Iterator[Any]:
    spec = importlib.util.spec_from_file_location("acme_reference_server", EXAMPLE / "acme_server.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.AcmeServer(key="acme-key-for-tests").start()
    yield server
    server.stop()


def test_the_wheels_are_ours(installed: Installed) -> None:
    assert installed.wheels == ["liter_llm_acme-0.1.0-py3-none-any.whl", "liter_llm_core-0.1.0-py3-none-any.whl"]


def test_the_plugin_is_found_through_its_entry_point_and_routes_its_models(installed: Installed) -> None:
    out = installed.python_code(
        """
        import importlib.metadata as m, json, os
        import liter_llm, liter_llm_acme
        from liter_llm.registry import get_registry

        eps = {e.name: e.dist.name for e in m.entry_points(group="liter_llm")}
        registry = get_registry()
        prefixed, wire_model = registry.resolve("acme/acme-mini")
        bare, _ = registry.resolve("acme-large")
        print(json.dumps({
            "eps": eps,
            "pytest11": [e.value for e in m.entry_points(group="pytest11")],
            "plugins": [(p.name, p.distribution, p.providers) for p in registry.plugins],
            "prefixed": [prefixed.name, wire_model, prefixed.distribution],
            "bare": bare.name,
            "has_hooks": prefixed.plugin is not None,
            "site": [os.sep + "site-packages" + os.sep in f for f in (liter_llm.__file__, liter_llm_acme.__file__)],
        }))
        """
    )
    found = json.loads(out)
    assert found["eps"] == {"acme": "liter-llm-acme"}  # nothing else is installed: only the wheel's entry point
    assert not [value for value in found["pytest11"] if value.startswith("liter_llm")]
    assert found["plugins"] == [["acme", "liter-llm-acme", ["acme"]]]
    assert found["prefixed"] == ["acme", "acme-mini", "liter-llm-acme"]
    assert found["bare"] == "acme"
    assert found["has_hooks"] is True
    assert found["site"] == [True, True], "the code did not come from the installed wheels"


def test_the_installed_plugin_passes_the_conformance_kit_on_both_clients(installed: Installed) -> None:
    out = installed.python_code(
        """
        import importlib.util, logging
        logging.disable(logging.CRITICAL)
        spec = importlib.util.spec_from_file_location("conformance", "tests/test_acme_conformance.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        kit = module.TestAcmeConformance()
        assert kit._modes() == ("sync", "async")
        for name in sorted(dir(kit)):
            if name.startswith("test_"):
                getattr(kit, name)()
                print("passed", name)
        """
    )
    passed = [line.split()[1] for line in out.splitlines() if line.startswith("passed ")]
    from liter_llm.testing import ProviderConformance

    expected = sorted(name for name in dir(ProviderConformance) if name.startswith("test_"))
    assert passed == expected
    assert len(passed) >= 10


def test_the_guide_code_runs_against_the_reference_server(installed: Installed, acme_server: Any) -> None:
    python = [block for block in blocks() if block.lang == "python" and block.file is None]
    usage = next(block for block in python if "create_client()" in block.body)
    shown = next(after(usage, "text"))
    out = installed.python_code(usage.body, ACME_BASE_URL=acme_server.url, ACME_API_KEY=acme_server.key)
    assert out.strip().splitlines()[-2:] == shown.body.splitlines()
    sent = acme_server.bodies[-2:]
    assert [body["stream"] for body in sent] == [False, True]
    assert sent[0]["turns"] == [{"speaker": "user", "text": "Hello ACME"}]
    assert sent[1]["model"] == "acme-mini"


def test_the_plugin_command_runs_in_the_real_command_line(installed: Installed, acme_server: Any) -> None:
    console = next(block for block in blocks() if block.lang == "console" and "liter-llm acme-info" in block.body)
    command, expected = console.body.split("\n", 1)
    assert command == "$ liter-llm acme-info"
    result = _run([installed.script, "acme-info"], env=_env())
    assert result.stdout == expected + "\n"
    listed = _run([installed.script, "--help"], env=_env()).stdout
    assert "acme-info" in listed
    plugins = _run([installed.script, "plugins"], env=_env()).stdout
    assert "liter-llm-acme 0.1.0 (entry point 'acme')" in plugins
    assert "acme hooks: build_request, parse_error, parse_response, parse_stream_event, stream_decoder" in plugins
    # and the built-in commands reach the provider through the plugin
    chat = _run(
        [installed.script, "chat", "-m", "acme/acme-mini", "Hello from the command line"],
        env=_env(ACME_BASE_URL=acme_server.url, ACME_API_KEY=acme_server.key),
    )
    assert chat.stdout.strip() == "You said: Hello from the command line"
    models = _run(
        [installed.script, "models", "-p", "acme"],
        env=_env(ACME_BASE_URL=acme_server.url, ACME_API_KEY=acme_server.key),
    )
    assert models.stdout.split() == ["acme-large", "acme-mini"]
