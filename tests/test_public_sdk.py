"""The public plugin SDK: plugins, integrations, examples and docs use public names only; the guide is the example."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from liter_llm_guide_support import EXAMPLE, ROOT, blocks, files

import liter_llm
from liter_llm import wire
from liter_llm.registry import get_registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PRIVATE = re.compile(r"liter_llm\._")


def test_no_plugin_integration_example_or_page_uses_a_private_module() -> None:
    """``grep -rn "liter_llm\\._" plugins contrib docs examples`` finds nothing."""
    hits = []
    for folder in ("plugins", "contrib", "docs", "examples"):
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix not in {".py", ".md", ".toml", ".txt", ".cfg", ".json", ".yml"}:
                continue
            if any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(ROOT).parts):
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if _PRIVATE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "private liter_llm modules used outside the core:\n" + "\n".join(hits)


def test_the_grep_would_catch_a_private_import(tmp_path: Path) -> None:
    """The pattern matches the forms a private import takes."""
    for line in ("from liter_llm._wire import dump_json", "import liter_llm._call", "::: liter_llm._call"):
        assert _PRIVATE.search(line)
    for line in ("from liter_llm.wire import dump_json", "import liter_llm_anthropic._plugin"):
        assert not _PRIVATE.search(line)


@pytest.mark.parametrize("name", ["Call", "SecretStr", "StreamDecoder", "hookimpl", "hookspec"])
def test_the_sdk_names_are_public_at_the_top_level(name: str) -> None:
    assert getattr(liter_llm, name) is not None
    assert name in dir(liter_llm)


def test_every_wire_helper_is_documented() -> None:
    for name in wire.__all__:
        value = getattr(wire, name)
        assert (value.__doc__ or "").strip(), f"liter_llm.wire.{name} has no docstring"


def test_the_sse_decoder_is_a_stream_decoder() -> None:
    assert isinstance(wire.SSEDecoder(), wire.StreamDecoder)
    assert not isinstance(object(), wire.StreamDecoder)


def test_the_reference_documents_the_public_sdk() -> None:
    page = (ROOT / "docs" / "reference" / "sdk.md").read_text()
    targets = ("liter_llm.wire", "liter_llm.Call", "liter_llm.SecretStr", "liter_llm.registry", "liter_llm.testing")
    for target in targets:
        assert f"::: {target}\n" in page, target
    nav = (ROOT / "mkdocs.yml").read_text()
    assert "reference/sdk.md" in nav


# -- the guide is the example --------------------------------------------------------------------


def test_the_guide_shows_the_example_verbatim() -> None:
    shown = files()
    expected = {
        "examples/liter-llm-acme/pyproject.toml",
        "examples/liter-llm-acme/src/liter_llm_acme/__init__.py",
        "examples/liter-llm-acme/tests/test_acme_conformance.py",
    }
    assert set(shown) == expected
    for path, text in shown.items():
        assert text == (ROOT / path).read_text(), f"docs/writing-a-plugin.md no longer shows {path} as it is"


def test_the_example_is_not_a_workspace_member() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = root["tool"]["uv"]["workspace"]["members"]
    assert not any(member.startswith("examples") for member in members)
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["liter_llm"] == {"acme": "liter_llm_acme"}
    assert project["dependencies"] == ["liter-llm-core>=0.1,<0.2"]


def test_every_python_block_of_the_guide_compiles() -> None:
    python = [block for block in blocks() if block.lang == "python"]
    assert len(python) >= 8
    for index, block in enumerate(python):
        compile(block.body, f"<writing-a-plugin.md python block {index}>", "exec")


def test_the_data_only_provider_of_the_guide_registers_and_routes() -> None:
    first = next(block for block in blocks() if block.lang == "python")
    module = types.ModuleType("liter_llm_skyline")
    exec(compile(first.body, "<writing-a-plugin.md>", "exec"), module.__dict__)
    toml = next(block for block in blocks() if block.lang == "toml")
    project = tomllib.loads(toml.body)["project"]
    assert project["entry-points"]["liter_llm"] == {"skyline": "liter_llm_skyline"}
    registry = get_registry()
    assert registry.add_plugin(module, name="guide-skyline") is not None
    try:
        spec, model = registry.resolve("skyline/large")
        assert spec is not None
        assert spec.name == "skyline"
        assert model == "large"
        assert spec.base_url == "https://api.skyline.example/v1"
        bare, _ = registry.resolve("skyline-small")
        assert bare is spec
    finally:
        registry.remove_plugin("guide-skyline")
