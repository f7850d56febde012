"""The plugin index: a later process finds the same plugins without scanning, and sees every change.

Each test runs fresh interpreters over a temporary ``site`` folder of fake distributions (each a
real plugin module that registers one provider) and a temporary cache folder.  A probe creates a
client, sends one chat to a fake provider through ``httpx.MockTransport`` and reports which
providers the registry has, whether ``importlib.metadata`` was imported (it is not when the index
was used) and what the chat's request reached.  Folders are dated in the past where a test wants
the index written (a scan is not written down when a time it depends on is within two seconds).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

PROBE = r"""
import json, sys
import httpx
import liter_llm
from liter_llm import _ep_index
from liter_llm._plugins import get_registry, liter_entry_points

seen = []

def answer(request):
    seen.append(str(request.url))
    return httpx.Response(200, json={"id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]})

client = liter_llm.create_client(transport=httpx.MockTransport(answer))
outcome = "ok"
try:
    client.chat(model=sys.argv[1], messages=[{"role": "user", "content": "hi"}])
except liter_llm.LiterLlmError as exc:
    outcome = type(exc).__name__
metadata_used = "importlib.metadata" in sys.modules
registry = get_registry()
fake = sorted(p for p in registry.provider_names() if p.startswith("fake"))
mine = [ep for ep in _ep_index.entry_points(liter_entry_points) if ep.name.startswith("fake")]
print("STATE=" + json.dumps({
    "metadata": metadata_used,
    "providers": fake,
    "urls": seen,
    "outcome": outcome,
    "dists": sorted({(ep.dist.name, ep.dist.version) for ep in mine}),
}))
"""

PLUGIN = """
import liter_llm
from liter_llm.providers import ProviderSpec


@liter_llm.hookimpl
def register_providers(register):
    register(
        ProviderSpec(
            name="{name}",
            base_url="http://127.0.0.1:9/{name}",
            api_key_env="FAKE_PLUGIN_KEY",
            model_prefixes=("{name}-",),
        )
    )
"""

PAST = time.time() - 3600


def add_dist(site: Path, name: str, version: str = "1.0", *, age: bool = True) -> None:
    """A distribution ``name`` whose plugin module registers the provider ``name``."""
    (site / f"{name}.py").write_text(PLUGIN.format(name=name))
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[liter_llm]\n{name} = {name}\n")
    if age:
        for path in (info / "METADATA", info / "entry_points.txt", info, site / f"{name}.py", site):
            os.utime(path, (PAST, PAST))


def run(site: Path, cache: Path, model: str = "fakeone-x", **extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "PYTHON"))}
    env.update({"PYTHONPATH": str(site), "LITER_LLM_CACHE_DIR": str(cache), "PYTHONDONTWRITEBYTECODE": "1"})
    env["FAKE_PLUGIN_KEY"] = "k-test"  # reaches only the mock transport
    env.update(extra)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, model],
        env=env,
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    state: dict[str, Any] = json.loads(result.stdout.rpartition("STATE=")[2])
    return state


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    add_dist(folder, "fakeone")
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def index_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("plugin-index-*.json")) if cache.exists() else []


def test_the_second_process_reads_the_index_and_finds_the_same_plugins(site: Path, cache: Path) -> None:
    first = run(site, cache)
    assert first["metadata"] is True  # scanned
    assert first["providers"] == ["fakeone"]
    assert first["urls"] == ["http://127.0.0.1:9/fakeone/chat/completions"]
    assert len(index_files(cache)) == 1
    second = run(site, cache)
    assert second["metadata"] is False  # from the index: no scan, importlib.metadata never imported
    assert second["providers"] == first["providers"]
    assert second["urls"] == first["urls"]
    assert second["dists"] == [["fakeone", "1.0"]]  # the distribution's name and version, from the index


def test_installing_a_distribution_is_seen_by_the_next_process(site: Path, cache: Path) -> None:
    run(site, cache)
    add_dist(site, "faketwo", age=False)  # the site folder's time moves: the index is stale
    state = run(site, cache, model="faketwo-x")
    assert state["metadata"] is True
    assert state["providers"] == ["fakeone", "faketwo"]
    assert state["urls"] == ["http://127.0.0.1:9/faketwo/chat/completions"]


def test_removing_a_distribution_is_seen_by_the_next_process(site: Path, cache: Path) -> None:
    add_dist(site, "faketwo")
    assert run(site, cache)["providers"] == ["fakeone", "faketwo"]
    assert run(site, cache)["metadata"] is False
    info = site / "faketwo-1.0.dist-info"
    for child in info.iterdir():
        child.unlink()
    info.rmdir()
    state = run(site, cache, model="faketwo-x")
    assert state["providers"] == ["fakeone"]
    assert state["outcome"] != "ok"  # no provider serves faketwo- any more


def test_an_entry_points_file_edited_in_place_is_seen(site: Path, cache: Path) -> None:
    run(site, cache)
    assert run(site, cache)["metadata"] is False
    (site / "fakenew.py").write_text(PLUGIN.format(name="fakenew"))
    os.utime(site, (PAST, PAST))  # the folder's own time is unchanged: only the file's tells
    points = site / "fakeone-1.0.dist-info" / "entry_points.txt"
    points.write_text("[liter_llm]\nfakeone = fakenew\n")
    state = run(site, cache, model="fakenew-x")
    assert state["metadata"] is True
    assert state["providers"] == ["fakenew"]


def test_a_scan_made_while_a_folder_is_fresh_is_not_written_down(site: Path, cache: Path) -> None:
    os.utime(site, None)  # now: a change in this same tick could go unseen
    run(site, cache)
    assert index_files(cache) == []
    assert run(site, cache)["metadata"] is True


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"[]", b'{"format": 1}', b'{"format": 1, "paths": 3}', b"\xff\xfe", b"null"]
)
def test_a_malformed_index_is_ignored_and_replaced(site: Path, cache: Path, content: bytes) -> None:
    run(site, cache)
    (index,) = index_files(cache)
    index.write_bytes(content)
    state = run(site, cache)
    assert state["metadata"] is True
    assert state["providers"] == ["fakeone"]
    assert run(site, cache)["metadata"] is False  # written again


def test_an_index_with_rows_of_the_wrong_shape_is_ignored(site: Path, cache: Path) -> None:
    run(site, cache)
    (index,) = index_files(cache)
    data = json.loads(index.read_text())
    data["rows"] = [[1, 2, 3, 4, 5, 6]]
    index.write_text(json.dumps(data))
    assert run(site, cache)["providers"] == ["fakeone"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file modes are POSIX")
def test_an_index_others_may_write_is_not_trusted(site: Path, cache: Path) -> None:
    run(site, cache)
    (index,) = index_files(cache)
    data = json.loads(index.read_text())
    data["rows"] = []  # a forged index that hides every plugin
    index.write_text(json.dumps(data))
    index.chmod(index.stat().st_mode | stat.S_IWOTH)
    state = run(site, cache)
    assert state["metadata"] is True
    assert state["providers"] == ["fakeone"]


def test_the_index_can_be_turned_off(site: Path, cache: Path) -> None:
    for _ in range(2):
        state = run(site, cache, LITER_LLM_PLUGIN_INDEX="0")
        assert state["metadata"] is True
        assert state["providers"] == ["fakeone"]
    assert index_files(cache) == []


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root may write anywhere")
def test_a_cache_folder_that_cannot_be_written_changes_nothing(site: Path, cache: Path) -> None:
    cache.mkdir()
    cache.chmod(0o500)
    try:
        for _ in range(2):
            state = run(site, cache)
            assert state["providers"] == ["fakeone"]
            assert state["metadata"] is True
    finally:
        cache.chmod(0o700)


def test_a_cache_path_that_is_a_file_changes_nothing(site: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    for _ in range(2):
        state = run(site, blocker)
        assert state["providers"] == ["fakeone"]
        assert state["metadata"] is True


def test_another_sys_path_has_its_own_index(site: Path, cache: Path, tmp_path: Path) -> None:
    run(site, cache)
    other = tmp_path / "other"
    other.mkdir()
    add_dist(other, "fakeother")
    state = run(other, cache, model="fakeother-x")
    assert state["providers"] == ["fakeother"]
    assert state["urls"] == ["http://127.0.0.1:9/fakeother/chat/completions"]
    assert len(index_files(cache)) == 2


def test_the_cache_folder_keeps_the_newest_indexes_only(site: Path, cache: Path) -> None:
    from liter_llm._ep_index import MAX_INDEXES

    cache.mkdir()
    for number in range(MAX_INDEXES + 5):
        old = cache / f"plugin-index-old{number:03d}.json"
        old.write_text("{}")
        os.utime(old, (PAST + number, PAST + number))
    run(site, cache)
    left = index_files(cache)
    assert len(left) == MAX_INDEXES
    assert cache / "plugin-index-old000.json" not in left  # the oldest went first
    assert run(site, cache)["metadata"] is False  # this run's own index was kept


ODD_PATH_PROBE = r"""
import json, pathlib, sys
sys.path.append(pathlib.Path("/nonexistent-liter-llm-test"))  # not a str: the index cannot name it
import liter_llm
from liter_llm._plugins import get_registry
liter_llm.create_client(api_key="k", base_url="http://127.0.0.1:9/v1").close()
print("STATE=" + json.dumps(sorted(p for p in get_registry().provider_names() if p.startswith("fake"))))
"""


def test_a_sys_path_entry_the_index_cannot_name_means_a_scan(site: Path, cache: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "PYTHON"))}
    env.update({"PYTHONPATH": str(site), "LITER_LLM_CACHE_DIR": str(cache)})
    result = subprocess.run(
        [sys.executable, "-c", ODD_PATH_PROBE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.rpartition("STATE=")[2]) == ["fakeone"]
