"""Plugin discovery through the ``liter_llm`` entry point group, each case in a fresh interpreter.

A temporary directory on ``sys.path`` holds fake distributions (``*.dist-info``
with ``entry_points.txt``) whose entry points name a good plugin, one that
fails to import, one whose ``register_providers`` raises and one whose hook
matches no specification.
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

GOOD = """
import liter_llm
from liter_llm.providers import ProviderSpec

CALLS = []

@liter_llm.hookimpl
def register_providers(register):
    CALLS.append(1)
    register(ProviderSpec(name="discogood", base_url="http://127.0.0.1:9/disco", requires_api_key=False,
                          model_prefixes=("disco-",)))
"""

BAD_IMPORT = """
import liter_llm_this_dependency_is_missing  # noqa
"""

BAD_REGISTER = """
import liter_llm

@liter_llm.hookimpl
def register_providers(register):
    raise RuntimeError("the provider table is corrupt")
"""

BAD_SPEC = """
import liter_llm

@liter_llm.hookimpl
def register_provider(register):  # misspelt: matches no hook
    pass
"""

DISTRIBUTIONS = {
    "good-dist": ("discogood", "liter_llm_discogood", GOOD),
    "badimport-dist": ("discobadimport", "liter_llm_discobadimport", BAD_IMPORT),
    "badregister-dist": ("discobadregister", "liter_llm_discobadregister", BAD_REGISTER),
    "badspec-dist": ("discobadspec", "liter_llm_discobadspec", BAD_SPEC),
}

PROBE = r"""
import json, sys, warnings

opened = []
def audit(event, args):
    if event == "open" and args and isinstance(args[0], str):
        opened.append(args[0])
sys.addaudithook(audit)

import liter_llm
import liter_llm.types  # the public types must not load plugins either

state = {
    "after_import": {
        "plugin_modules": sorted(m for m in sys.modules if m.startswith("liter_llm_")),
        "httpx": "httpx" in sys.modules,
        "aiohttp": "aiohttp" in sys.modules,
        "data_files": [p for p in opened if "/liter_llm/data/" in p or p.endswith((".json", ".toml"))],
    }
}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    first = liter_llm.create_client(api_key="k", model_hint=None)
    second = liter_llm.create_async_client(api_key="k")
    first.close()
from liter_llm._plugins import PluginLoadWarning, get_registry
registry = get_registry()
good = sys.modules.get("liter_llm_discogood")
spec = registry.get("discogood")
state["warnings"] = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
state["other_warnings"] = [str(w.message) for w in caught if not issubclass(w.category, PluginLoadWarning)]
state["plugins"] = sorted(p.name for p in registry.plugins)
state["providers"] = sorted(registry.all_providers())
state["good_register_calls"] = len(good.CALLS) if good else None
state["good_distribution"] = spec.distribution if spec else None
state["plugin_modules"] = sorted(m for m in sys.modules if m.startswith("liter_llm_"))
print("STATE=" + json.dumps(state))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("discovery-site")
    for dist, (entry, module, source) in DISTRIBUTIONS.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[liter_llm]\n{entry} = {module}\n")
    return root


def probe(site: Path, load_plugins: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "PYTHON"))}
    env["PYTHONPATH"] = str(site)
    if load_plugins is not None:
        env["LITER_LLM_LOAD_PLUGINS"] = load_plugins
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("STATE="))
    state: dict[str, Any] = json.loads(line[len("STATE=") :])
    return state


def test_import_alone_loads_no_plugin_no_async_transport_and_no_data_file(site: Path) -> None:
    state = probe(site, None)
    # httpx is imported with liter_llm on purpose (issue #16: paid at import, not on the first call)
    assert state["after_import"] == {"plugin_modules": [], "httpx": True, "aiohttp": False, "data_files": []}


def test_broken_plugins_are_warnings_naming_them_and_the_good_one_loads_once(site: Path) -> None:
    state = probe(site, None)
    warnings = state["warnings"]
    bad_import = [w for w in warnings if "discobadimport" in w]
    assert len(bad_import) == 1, warnings
    assert "badimport-dist" in bad_import[0]
    assert "failed to import" in bad_import[0]
    assert "liter_llm_this_dependency_is_missing" in bad_import[0]
    bad_register = [w for w in warnings if "discobadregister" in w]
    assert len(bad_register) == 1, warnings
    assert "badregister-dist" in bad_register[0]
    assert "RuntimeError: the provider table is corrupt" in bad_register[0]
    bad_spec = [w for w in warnings if "discobadspec" in w]
    assert len(bad_spec) == 1, warnings
    assert "badspec-dist" in bad_spec[0]
    assert "register_provider" in bad_spec[0]
    # the good plugin loaded once although two clients were created
    assert state["good_register_calls"] == 1
    assert "discogood" in state["providers"]
    assert state["good_distribution"] == "good-dist"
    assert "discogood" in state["plugins"]
    assert not {"discobadimport", "discobadregister", "discobadspec"} & set(state["plugins"])


def test_load_plugins_empty_means_none(site: Path) -> None:
    state = probe(site, "")
    assert state["plugins"] == []
    assert state["plugin_modules"] == []
    assert state["warnings"] == []
    assert "discogood" not in state["providers"]


@pytest.mark.parametrize("selector", ["discogood", " good-dist , nothing-by-that-name"])
def test_load_plugins_limits_what_loads_by_entry_point_or_distribution(site: Path, selector: str) -> None:
    state = probe(site, selector)
    assert state["plugins"] == ["discogood"]
    assert state["plugin_modules"] == ["liter_llm_discogood"]
    assert state["warnings"] == []
    assert state["good_register_calls"] == 1
    assert "discogood" in state["providers"]
