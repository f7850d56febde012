"""The registry's entry-point scan gives what ``importlib.metadata.entry_points()`` gives for liter-llm's groups.

Two temporary folders on ``sys.path`` hold fake distributions: plugins, declarations, a distribution
installed twice (only the first copy counts, also when only the second names liter-llm's groups), an
``.egg-info`` one, one that names ``liter_llm`` outside liter-llm's groups, one with a look-alike group
and one with no entry points at all.  The scan runs in a fresh interpreter over that ``sys.path`` and its
result is compared with the standard library's, entry point by entry point, including which entry
points share one distribution object (the registry matches declarations to plugins by it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIRST = {
    "plug-one-1.0.dist-info": "[liter_llm]\none = plug_one\n\n[console_scripts]\nplug-one = plug_one:main\n",
    "plug_two-2.0.dist-info": (
        "[liter_llm]\ntwo = plug_two.plugin\n\n[liter_llm.providers]\ntwoprov = plug_two.plugin\n\n"
        "[liter_llm.model_prefixes]\ntwoprov = two- deux-\n"
    ),
    # installed twice: this first copy has no liter-llm entry point, so the second copy's never count
    "Shadowed.Dist-1.0.dist-info": "[console_scripts]\nshadowed = shadowed:main\n",
    "twice-1.0.dist-info": "[liter_llm]\ntwice = twice_first\n",
    "mentions-1.0.dist-info": "[console_scripts]\nmentions = liter_llm.cli:main\n",
    "lookalike-1.0.dist-info": "[liter_llm_other]\nx = lookalike\n\n[liter_llmish]\ny = lookalike\n",
    "bare-1.0.dist-info": None,
    "old_style-0.1-py3.11.egg-info": "[liter_llm.backends]\nold = old_style:register\n",
}
SECOND = {
    "shadowed_dist-2.0.dist-info": "[liter_llm]\nshadowed = shadowed_second\n",
    "twice-2.0.dist-info": "[liter_llm]\ntwice = twice_second\n",
    "later-1.0.dist-info": "[liter_llm]\nlater = later\n",
}

PROBE = r"""
import json, sys
from importlib import metadata
from liter_llm._plugins import liter_entry_points

def rows(eps):
    dists = []
    out = []
    mine = [ep for ep in eps if ep.group == "liter_llm" or ep.group.startswith("liter_llm.")]
    for ep in sorted(mine, key=lambda ep: (str(ep.dist._path), ep.group, ep.name)):
        index = next((i for i, d in enumerate(dists) if d is ep.dist), None)
        if index is None:
            dists.append(ep.dist)
            index = len(dists) - 1
        out.append([ep.group, ep.name, ep.value, str(ep.dist._path), index])
    return out

ours = liter_entry_points()
stdlib = metadata.entry_points()
if hasattr(stdlib, "groups"):  # 3.10 and 3.11: every group
    stdlib = [ep for group in sorted(stdlib.groups) for ep in stdlib.select(group=group)]
print("STATE=" + json.dumps({
    "ours": rows(ours),
    "stdlib": rows(stdlib),
    "ours_in_order": [ep.name for ep in ours],
}))
"""


def _write(root: Path, dists: dict[str, str | None]) -> None:
    for folder, text in dists.items():
        info = root / folder
        info.mkdir(parents=True)
        name, version = folder.rsplit(".", 1)[0].split("-")[:2]
        (info / ("PKG-INFO" if folder.endswith(".egg-info") else "METADATA")).write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        if text is not None:
            (info / "entry_points.txt").write_text(text)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    first = tmp_path_factory.mktemp("site-first")
    second = tmp_path_factory.mktemp("site-second")
    _write(first, FIRST)
    _write(second, SECOND)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(first), str(second)])
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("STATE="))
    state: dict[str, Any] = json.loads(line[len("STATE=") :])
    return state


def test_the_scan_equals_the_standard_library_for_liter_llm_groups(scan: dict[str, Any]) -> None:
    # the installed workspace's own plugins are in both as well: the whole lists are equal
    assert scan["ours"] == scan["stdlib"]


def test_the_fake_distributions_come_out_as_importlib_metadata_says(scan: dict[str, Any]) -> None:
    fake = [row for row in scan["ours"] if "/site-first" in row[3] or "/site-second" in row[3]]
    named = {(group, name): value for group, name, value, _path, _dist in fake}
    assert named == {
        ("liter_llm", "one"): "plug_one",
        ("liter_llm", "two"): "plug_two.plugin",
        ("liter_llm.providers", "twoprov"): "plug_two.plugin",
        ("liter_llm.model_prefixes", "twoprov"): "two- deux-",
        ("liter_llm", "twice"): "twice_first",  # the first copy on sys.path
        ("liter_llm", "later"): "later",
        ("liter_llm.backends", "old"): "old_style:register",  # an .egg-info distribution
    }
    # one distribution object for the entry points of one distribution
    two = {dist for group, name, _v, _p, dist in fake if name in ("two", "twoprov")}
    assert len(two) == 1
    assert "shadowed" not in {name for _g, name, *_ in fake}  # its first copy names no liter-llm group


def test_the_scan_keeps_sys_path_order(scan: dict[str, Any]) -> None:
    order = [name for name in scan["ours_in_order"] if name in ("one", "two", "twice", "later")]
    assert order.index("later") > max(order.index(n) for n in ("one", "two", "twice"))
