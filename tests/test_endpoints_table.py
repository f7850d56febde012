"""docs/providers/endpoints.md agrees with the endpoints the installed plugins register."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from liter_llm.providers import ENDPOINT_OF_OPERATION
from liter_llm.registry import get_registry

PAGE = Path(__file__).resolve().parent.parent / "docs" / "providers" / "endpoints.md"
#: the providers the table names (the ones with a plugin of their own)
NAMED = (
    "openai", "anthropic", "gemini", "vertex_ai", "local", "perplexity",
    "tavily", "brave", "exa", "serper", "searxng",
    "firecrawl", "google_pse", "linkup", "parallel_ai", "duckduckgo",
    "cohere", "cohere_compat", "mistral", "azure", "bedrock",
)  # fmt: skip
PENDING = {"cohere", "cohere_compat", "mistral", "azure", "bedrock"}  # written in parallel: marked † until they land


def table() -> dict[str, list[str]]:
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("<!-- endpoints-table -->", 1)[1].split("<!-- /endpoints-table -->", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in block.splitlines():
        match = re.match(r"\| `(\w+)` \| (.*) \|$", line.strip())
        if match:
            rows[match.group(1)] = re.findall(r"`(\w+)`(†?)", match.group(2))  # type: ignore[assignment]
    return rows


def test_the_table_has_every_client_method_once() -> None:
    assert sorted(table()) == sorted(ENDPOINT_OF_OPERATION)
    assert len(table()) == 25


def test_only_named_providers_and_the_pending_ones_are_marked() -> None:
    for method, cells in table().items():
        for name, mark in cells:  # type: ignore[misc]
            assert name in NAMED, (method, name)
            assert (mark == "†") == (name in PENDING), (method, name)


@pytest.mark.parametrize("method", sorted(ENDPOINT_OF_OPERATION))
def test_each_row_matches_the_registered_endpoints(method: str) -> None:
    registry = get_registry()
    listed = {name for name, _ in table()[method]}  # type: ignore[misc]
    for name in NAMED:
        spec = registry.get(name)
        if spec is None:
            assert name in PENDING, f"{name} is named by the table but not installed"
            continue
        if spec.distribution == "liter-llm-openai" and name != "openai":
            continue  # still a catalogue row: its own plugin has not landed yet
        assert spec.supports(method) == (name in listed), f"{method}: {name} registers {sorted(spec.endpoints)}"


def test_the_tests_the_page_names_exist() -> None:
    text = PAGE.read_text(encoding="utf-8")
    root = PAGE.parent.parent.parent
    paths = re.findall(r"`((?:plugins|tests)/[\w/]+\.py)(?:::\w+)?`", text)
    assert len(paths) >= 10
    for path in paths:
        assert (root / path).is_file(), path
    for row in text.split("## The tests behind each cell", 1)[1].splitlines():
        folder = re.search(r"`((?:plugins)/\w+/tests)/", row)
        if folder is None:
            continue
        for name in re.findall(r"`(test_\w+\.py)", row):
            assert (root / folder.group(1) / name).is_file(), name
