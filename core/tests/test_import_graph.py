"""The core's import graph has no cycle.

The graph is computed from the sources with ``ast``: an edge ``a -> b`` for
every module-level import in ``a`` of a module ``b`` of ``liter_llm``
(``import liter_llm.b``, ``from liter_llm import b``, ``from liter_llm.b import x``,
relative forms too).  Imports inside functions and under ``if TYPE_CHECKING:``
do not count: they run after every module has loaded, or never.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import liter_llm

ROOT = Path(liter_llm.__file__).resolve().parent
PACKAGE = "liter_llm"


def core_modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: Iterable[ast.stmt]) -> Iterable[ast.Import | ast.ImportFrom]:
    """The import statements run when the module loads (not in functions or classes, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from _module_level_imports(node.body)


def imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The modules of ``modules`` that module ``name`` (at ``path``) imports when it loads."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _module_level_imports(ast.parse(path.read_text("utf-8")).body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        found.update(target for target in targets if target in modules and target != name)
    return found


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """``{module: the modules it imports at load time}``."""
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted, plus self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(graph: Mapping[str, Iterable[str]], component: list[str]) -> str:
    members = set(component)
    return "; ".join(f"{name} -> {', '.join(sorted(set(graph[name]) & members))}" for name in component)


def test_the_core_has_no_import_cycle() -> None:
    graph = import_graph(core_modules())
    found = cycles(graph)
    assert not found, "import cycles in liter_llm: " + " | ".join(describe(graph, c) for c in found)


def test_the_graph_sees_the_core_s_imports() -> None:
    graph = import_graph(core_modules())
    assert "liter_llm._pipeline" in graph["liter_llm.client"]  # from liter_llm._pipeline import ...
    assert "liter_llm.errors" in graph["liter_llm.types"]
    assert "liter_llm.builtins.cost" in graph["liter_llm.builtins.budget"]
    # imports inside functions and under TYPE_CHECKING do not count
    assert "liter_llm.builtins" not in graph["liter_llm._pipeline"]
    assert "liter_llm._pipeline" not in graph["liter_llm.streaming"]
    # the engine's parts: the flow knows no driver and no Pipeline (only under TYPE_CHECKING)
    assert "liter_llm._drivers" not in graph["liter_llm._flow"]
    assert "liter_llm._pipeline" not in graph["liter_llm._flow"]
    assert "liter_llm._flow" in graph["liter_llm._drivers"]


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("from .sub import c\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import pkg.a\n"
        "if TYPE_CHECKING:\n    import pkg.d\n"
        "def later():\n    import pkg.d\n"
    )
    (package / "d.py").write_text("import pkg.sub.c\n")
    graph = import_graph(core_modules(package, "pkg"))
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    assert describe(graph, ["pkg.a", "pkg.b", "pkg.sub.c"]) == "pkg.a -> pkg.b; pkg.b -> pkg.sub.c; pkg.sub.c -> pkg.a"
