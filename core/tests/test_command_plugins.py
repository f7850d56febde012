"""A plugin that declares its commands (``liter_llm.commands``) is imported by the command line, not by clients.

Fresh interpreters over a temporary folder of fake distributions: ``cmdplug`` adds ``liter-llm
cmd-hello`` and declares it; ``cmdhooks`` declares a command but also implements a per-call hook;
``cmdprov`` declares a command but registers a provider.  Clients are created and called through
``httpx.MockTransport``; the command line runs as ``liter_llm.cli.main``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

COMMAND = textwrap.dedent(
    """
    import liter_llm

    @liter_llm.hookimpl
    def register_commands(subparsers):
        parser = subparsers.add_parser("{command}", help="say hello from {module}")
        parser.set_defaults(handler=lambda args: print("hello from {module}") or 0)
    """
)
PER_CALL = textwrap.dedent(
    """
    @liter_llm.hookimpl
    def on_request(call):
        pass
    """
)
PROVIDER = textwrap.dedent(
    """
    from liter_llm.providers import ProviderSpec

    @liter_llm.hookimpl
    def register_providers(register):
        register(ProviderSpec(name="cmdprovider", base_url="http://127.0.0.1:9/p", requires_api_key=False))
    """
)

#: module -> (its command, extra source)
PLUGINS = {"cmdplug": ("cmd-hello", ""), "cmdhooks": ("cmd-hooks", PER_CALL), "cmdprov": ("cmd-prov", PROVIDER)}

PROBE = r"""
import asyncio, json, sys, warnings
import httpx
import liter_llm

BODY = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}

async def answer_async(request):
    return httpx.Response(200, json=BODY)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if sys.argv[1] == "async":
        client = liter_llm.create_async_client(api_key="k", base_url="http://127.0.0.1:9/v1",
                                               transport=httpx.MockTransport(answer_async))
        asyncio.run(client.chat(model="m", messages=[{"role": "user", "content": "hi"}]))
    else:
        client = liter_llm.create_client(api_key="k", base_url="http://127.0.0.1:9/v1",
                                         transport=httpx.MockTransport(lambda r: httpx.Response(200, json=BODY)))
        client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
print("STATE=" + json.dumps({
    "imported": sorted(m for m in sys.modules if m.startswith("cmd")),
    "warnings": [str(w.message) for w in caught],
}))
"""

CLI = r"""
import sys, warnings
warnings.simplefilter("always")
from liter_llm import cli
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site-commands")
    for module, (command, extra) in PLUGINS.items():
        (root / f"{module}.py").write_text(COMMAND.format(command=command, module=module) + extra)
        info = root / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            f"[liter_llm]\n{module} = {module}\n\n[liter_llm.commands]\n{command} = {module}\n"
        )
    return root


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "PYTHON"))}
    env.update({"PYTHONPATH": str(site), "LITER_LLM_CACHE_DIR": str(site / ".cache")})
    return env


def probe(site: Path, mode: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=_env(site), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    state: dict[str, Any] = json.loads(result.stdout.rpartition("STATE=")[2])
    return state


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], env=_env(site), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_client_and_its_call_import_no_declared_command_plugin(site: Path, mode: str) -> None:
    state = probe(site, mode)
    assert state["imported"] == []
    assert not [w for w in state["warnings"] if "cmd" in w]


def test_the_command_line_imports_it_and_runs_its_command(site: Path) -> None:
    result = cli(site, "cmd-hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from cmdplug\n"


def test_the_command_line_lists_its_commands_and_plugins(site: Path) -> None:
    result = cli(site, "--help")
    assert all(command in result.stdout for command, _ in PLUGINS.values()), result.stdout
    listing = cli(site, "plugins")
    assert listing.returncode == 0, listing.stderr
    assert all(module in listing.stdout for module in PLUGINS), listing.stdout


def test_a_declared_command_plugin_with_per_call_hooks_is_a_warning_naming_the_group(site: Path) -> None:
    result = cli(site, "cmd-hooks")
    assert result.returncode == 0, result.stderr
    assert "'cmdhooks'" in result.stderr
    assert "'liter_llm.commands'" in result.stderr
    assert "on_request" in result.stderr


def test_a_declared_command_plugin_that_registers_providers_is_a_warning(site: Path) -> None:
    result = cli(site, "cmd-prov")
    assert result.returncode == 0, result.stderr
    assert "'cmdprov'" in result.stderr
    assert "declares the providers none but registered cmdprovider" in result.stderr
