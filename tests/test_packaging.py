"""Packaging: every plugin is an extra of liter-llm and in `all`; every distribution is well formed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def _plugin_projects() -> list[tuple[Path, dict]]:
    return [(p.parent, _load(p)) for p in sorted((ROOT / "plugins").glob("*/pyproject.toml"))]


def test_every_plugin_has_an_extra_and_is_in_all() -> None:
    root = _load(ROOT / "pyproject.toml")
    extras = root["project"]["optional-dependencies"]
    all_extra = " ".join(extras["all"])
    plugins = _plugin_projects()
    assert plugins, "no plugin found under plugins/"
    for folder, project in plugins:
        name = project["project"]["name"]
        extra = folder.name
        if name == "liter-llm-openai":
            assert any(d.startswith("liter-llm-openai") for d in root["project"]["dependencies"])
            continue
        assert extra in extras, f"plugins/{extra} has no extra [{extra}]"
        assert any(d.startswith(name) for d in extras[extra]), f"extra [{extra}] does not install {name}"
        assert re.search(rf"\b{extra}\b", all_extra), f"[all] does not include [{extra}]"


def test_every_plugin_declares_its_entry_point_and_package() -> None:
    for folder, project in _plugin_projects():
        name = project["project"]["name"]
        module = "liter_llm_" + folder.name
        eps = project["project"]["entry-points"]["liter_llm"]
        assert eps == {folder.name: module}, f"{name}: entry point {eps}"
        assert (folder / "src" / module / "__init__.py").exists()
        assert (folder / "src" / module / "py.typed").exists(), f"{name} is not marked typed"
        assert any(d.startswith("liter-llm-core") for d in project["project"]["dependencies"])


def test_core_runtime_dependencies_are_the_chosen_stack() -> None:
    core = _load(ROOT / "core" / "pyproject.toml")
    names = {re.split(r"[<>=;\[ ]", d, maxsplit=1)[0].lower() for d in core["project"]["dependencies"]}
    # httpcore is named only to cap it (httpx brings it; the sync transport sets one private attribute
    # of it); aiohttp is the async client's transport, its place earned in docs/performance.md
    allowed = {"pluggy", "httpx", "httpcore", "attrs", "cattrs", "structlog", "tomli", "aiohttp"}
    assert names <= allowed, f"unexpected core dependencies: {sorted(names - allowed)}"
