"""docs/providers/endpoints.md agrees with the endpoints the installed plugins register."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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
    "jina_ai", "vllm", "hosted_vllm", "llamacpp", "localai", "fireworks_ai", "infinity", "voyage",
    "nvidia_nim", "deepinfra",
)  # fmt: skip
#: served by liter-llm-rerank for rerank only; the rest of each is its catalogue row's
RERANK_ONLY = set(NAMED[NAMED.index("jina_ai") :])


def table() -> dict[str, list[str]]:
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("<!-- endpoints-table -->", 1)[1].split("<!-- /endpoints-table -->", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in block.splitlines():
        match = re.match(r"\| `(\w+)` \| (.*) \|$", line.strip())
        if match:
            rows[match.group(1)] = re.findall(r"`(\w+)`", match.group(2))
    return rows


def test_the_table_has_every_client_method_once() -> None:
    assert sorted(table()) == sorted(ENDPOINT_OF_OPERATION)
    assert len(table()) == 25


def test_only_named_providers_are_listed() -> None:
    for method, names in table().items():
        for name in names:
            assert name in NAMED, (method, name)


@pytest.mark.parametrize("method", sorted(ENDPOINT_OF_OPERATION))
def test_each_row_matches_the_registered_endpoints(method: str) -> None:
    registry = get_registry()
    listed = set(table()[method])
    for name in NAMED:
        spec = registry.get(name)
        assert spec is not None, f"{name} is named by the table but not installed"
        if name in RERANK_ONLY and method != "rerank":
            continue  # its other methods are its catalogue row's, not listed here
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


ROOT = PAGE.parent.parent.parent


def cell_tests() -> list[tuple[str, list[str], list[str]]]:
    """The rows of the page's tests table: (provider, methods, tests)."""
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("<!-- cell-tests -->", 1)[1].split("<!-- /cell-tests -->", 1)[0]
    rows = []
    for line in block.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rows.append((cells[0].strip("`"), re.findall(r"`(\w+)`", cells[1]), re.findall(r"`([^`]+)`", cells[2])))
    return rows


def test_every_cell_has_its_tests() -> None:
    covered = {(provider, method) for provider, methods, _ in cell_tests() for method in methods}
    cells = {(provider, method) for method, names in table().items() for provider in names}
    assert sorted(cells - covered) == [], "cells of the table with no row in the tests table"
    assert sorted(covered - cells) == [], "rows of the tests table for cells the table does not have"


def _words(node_id: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", node_id.lower()))


def _runs_both(node: str) -> bool:
    """Whether one test runs both clients itself: a check of the conformance kit (each runs the sync
    and the async client, see liter_llm.testing), or a test whose body calls both clients or a
    module helper ``run_both`` that does."""
    path, _, name = node.partition("::")
    name = name.partition("[")[0].rpartition("::")[2]
    if name.startswith("test_conformance_"):
        return True
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    functions = {
        item.name: item for item in ast.walk(tree) if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }

    def both(function: ast.AST) -> bool:
        called = {call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                  for call in ast.walk(function) if isinstance(call, ast.Call)}  # fmt: skip
        if {"create_client", "create_async_client"} <= called:
            return True
        return "run_both" in called and "run_both" in functions and both(functions["run_both"])

    return name in functions and both(functions[name])


def test_every_named_test_exists_and_runs_through_both_clients() -> None:
    """Collect every test the page names; each cell's tests run its method through both clients."""
    rows = cell_tests()
    targets = sorted({test for _, _, tests in rows for test in tests})
    files = sorted({target.split("::", 1)[0] for target in targets})
    for path in files:
        assert (ROOT / path).is_file(), path
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ids = [line.strip() for line in collected.stdout.splitlines() if "::" in line]
    assert ids, collected.stdout + collected.stderr
    operations = set(ENDPOINT_OF_OPERATION)
    problems: list[str] = []
    for provider, methods, tests in rows:
        for method in methods:
            found: list[str] = []
            for target in tests:
                mine = [
                    node
                    for node in ids
                    if node == target or node.startswith(target + "[") or node.startswith(target + "::")
                ]
                if not mine:
                    problems.append(f"{provider}/{method}: {target} collects no test")
                for node in mine:
                    params = _words(node.partition("[")[2])
                    if params & operations and method not in params:
                        continue  # parametrized over methods: only the cases of this method count
                    if params & set(NAMED) and provider not in params:
                        continue  # parametrized over providers: only this provider's cases count
                    found.append(node)
            for mode in ("sync", "async"):
                if not any(mode in _words(node) or _runs_both(node) for node in found):
                    problems.append(f"{provider}/{method}: no {mode} test in {tests}")
    assert problems == [], "\n".join(problems)
