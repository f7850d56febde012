"""Provider plugins that declare their providers in entry points are imported only when a call needs them.

Each case runs in a fresh interpreter with a temporary directory on ``sys.path`` that holds fake
distributions (``*.dist-info`` with ``entry_points.txt``): provider plugins declared in the
``liter_llm.providers`` / ``liter_llm.model_prefixes`` groups, one that fails to import, two that
declare the same provider, one whose declaration is out of date, and an undeclared (eager) plugin
with a global hook.  Calls go through both clients and ``httpx.MockTransport``.
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


def _provider(name: str, prefixes: tuple[str, ...] = (), where: str | None = None) -> str:
    return textwrap.dedent(
        f"""
        import liter_llm
        from liter_llm.providers import ProviderSpec

        @liter_llm.hookimpl
        def register_providers(register):
            register(ProviderSpec(name={name!r}, base_url="http://127.0.0.1:9/{where or name}",
                                  requires_api_key=False, model_prefixes={prefixes!r}, endpoints={{"chat"}}))
        """
    )


GLOBAL = """
import liter_llm

SEEN = []

@liter_llm.hookimpl
def on_request(call):
    SEEN.append(call.provider.name)
"""

#: distribution -> (entry point name, module, source, {provider: prefixes} declared, or None: eager)
DISTRIBUTIONS: dict[str, tuple[str, str, str, dict[str, str] | None]] = {
    "lazyone-dist": ("lazyone", "liter_llm_lazyone", _provider("lazyone", ("lone-",)), {"lazyone": "lone-"}),
    "lazytwo-dist": ("lazytwo", "liter_llm_lazytwo", _provider("lazytwo", ("ltwo-",)), {"lazytwo": "ltwo-"}),
    "lazybroken-dist": (
        "lazybroken",
        "liter_llm_lazybroken",
        "import liter_llm_this_dependency_is_missing  # noqa\n",
        {"lazybroken": "lbroken-"},
    ),
    "twin-a": ("twina", "liter_llm_twina", _provider("twin", where="a"), {"twin": ""}),
    "twin-b": ("twinb", "liter_llm_twinb", _provider("twin", where="b"), {"twin": ""}),
    "stale-dist": ("stale", "liter_llm_stale", _provider("stalenew", ("snew-",)), {"staleold": "sold-"}),
    "global-dist": ("globalhook", "liter_llm_globalhook", GLOBAL, None),
}

PROBE = r"""
import asyncio, json, sys, warnings
import httpx

warnings.simplefilter("always")
caught = []
warnings.showwarning = lambda message, *args, **kwargs: caught.append(str(message))

import liter_llm
from liter_llm.errors import LiterLlmError

BODY = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
sent = []

def answer(request):
    sent.append(request.url.path)
    return httpx.Response(200, json=BODY)

async def answer_async(request):
    return answer(request)

def modules():
    # the fake distributions' modules (the repository's installed plugins are there too)
    return sorted(m for m in sys.modules if m.startswith(("liter_llm_lazy", "liter_llm_twin", "liter_llm_stale",
                                                          "liter_llm_globalhook")))

state = {"steps": []}
sync = liter_llm.create_client(api_key="k", transport=httpx.MockTransport(answer))
aclient = liter_llm.create_async_client(api_key="k", transport=httpx.MockTransport(answer_async))
state["after_create"] = modules()

def step(label, model, use_async):
    before = len(caught)
    try:
        if use_async:
            asyncio.run(aclient.chat(model=model, messages=[{"role": "user", "content": "hi"}]))
        else:
            sync.chat(model=model, messages=[{"role": "user", "content": "hi"}])
        outcome = sent[-1]
    except LiterLlmError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    state["steps"].append({"label": label, "outcome": outcome, "modules": modules(), "warnings": caught[before:]})

for label, model in json.loads(sys.argv[1]):
    step(label, model, sys.argv[2] == "async")

hook = sys.modules.get("liter_llm_globalhook")
state["global_seen"] = hook.SEEN if hook else None
if sys.argv[3] == "list":
    before = len(caught)
    from liter_llm.registry import get_registry
    registry = get_registry()
    state["listed"] = sorted(registry.all_providers())
    state["plugins"] = sorted(p.name for p in registry.plugins)
    state["list_modules"] = modules()
    state["list_warnings"] = caught[before:]
print("STATE=" + json.dumps(state))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lazy-site")
    for dist, (entry, module, source, declared) in DISTRIBUTIONS.items():
        (root / f"{module}.py").write_text(source)
        info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        text = f"[liter_llm]\n{entry} = {module}\n"
        if declared is not None:
            text += "\n[liter_llm.providers]\n" + "".join(f"{name} = {module}\n" for name in declared)
            prefixes = {name: value for name, value in declared.items() if value}
            if prefixes:
                text += "\n[liter_llm.model_prefixes]\n" + "".join(f"{n} = {v}\n" for n, v in prefixes.items())
        (info / "entry_points.txt").write_text(text)
    return root


def probe(
    site: Path, steps: list[tuple[str, str]], mode: str, *, listing: bool = False, load: str | None = None
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "PYTHON"))}
    env["PYTHONPATH"] = str(site)
    if load is not None:
        env["LITER_LLM_LOAD_PLUGINS"] = load
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(steps), mode, "list" if listing else "-"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("STATE="))
    return json.loads(line[len("STATE=") :])


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
def test_a_call_imports_only_the_plugin_of_its_provider(site: Path, mode: str) -> None:
    state = probe(site, [("named", "lazyone/m"), ("prefix", "ltwo-mini"), ("again", "lazyone/m")], mode)
    # creating clients imports no declared plugin; the undeclared one (a global hook) is imported at once
    assert state["after_create"] == ["liter_llm_globalhook"]
    named, prefix, again = state["steps"]
    assert named["outcome"] == "/lazyone/chat/completions"
    assert named["modules"] == ["liter_llm_globalhook", "liter_llm_lazyone"]
    assert prefix["outcome"] == "/lazytwo/chat/completions"  # a declared bare prefix
    assert prefix["modules"] == ["liter_llm_globalhook", "liter_llm_lazyone", "liter_llm_lazytwo"]
    assert again["outcome"] == "/lazyone/chat/completions"
    assert not [w for step in state["steps"] for w in step["warnings"]]
    # the eager plugin's global hook saw every call, to the declared providers too
    assert state["global_seen"] == ["lazyone", "lazytwo", "lazyone"]


@MODES
def test_a_broken_declared_plugin_is_a_warning_naming_it_when_a_call_needs_it(site: Path, mode: str) -> None:
    state = probe(site, [("other", "lazyone/m"), ("broken", "lazybroken/m"), ("prefix", "lbroken-x")], mode)
    other, broken, prefix = state["steps"]
    assert other["warnings"] == []  # nothing imported it yet
    assert "lazybroken" in broken["outcome"]
    assert broken["outcome"].startswith("BadRequestError")
    assert "failed to import" in broken["outcome"]  # the routing error names the plugin that failed
    # (the routing error lists every provider, so every declared plugin is imported by then)
    named = [w for w in broken["warnings"] if "'lazybroken'" in w]
    assert len(named) == 1, broken["warnings"]
    assert "lazybroken-dist" in named[0]
    assert "liter_llm_this_dependency_is_missing" in named[0]
    # its declared prefix is gone with it: the model goes to the default provider (openai), no second warning
    assert prefix["warnings"] == []
    assert "lazybroken" not in prefix["outcome"]


@MODES
def test_two_declared_plugins_of_one_provider_load_together_and_the_first_distribution_wins(
    site: Path, mode: str
) -> None:
    state = probe(site, [("twin", "twin/m")], mode)
    (twin,) = state["steps"]
    assert twin["outcome"] == "/a/chat/completions"  # twin-a sorts before twin-b
    assert "liter_llm_twina" in twin["modules"]
    assert "liter_llm_twinb" in twin["modules"]
    duplicate = [w for w in twin["warnings"] if "'twin'" in w]
    assert len(duplicate) == 1, twin["warnings"]
    assert "twin-a" in duplicate[0]
    assert "twin-b" in duplicate[0]


@MODES
def test_an_out_of_date_declaration_is_a_warning_and_what_the_plugin_registered_counts(site: Path, mode: str) -> None:
    state = probe(site, [("old", "sold-model"), ("new", "stalenew/m")], mode)
    old, new = state["steps"]
    stale = [w for w in old["warnings"] if "'stale'" in w]
    assert len(stale) == 1, old["warnings"]
    assert "staleold" in stale[0]
    assert "stalenew" in stale[0]
    assert "out of date" in stale[0]
    assert "liter_llm_stale" in old["modules"]
    assert "staleold" not in old["outcome"]  # the declared provider does not exist: the default provider took it
    assert new["outcome"] == "/stalenew/chat/completions"


def test_listing_every_provider_imports_every_declared_plugin(site: Path) -> None:
    state = probe(site, [], "sync", listing=True)
    assert state["after_create"] == ["liter_llm_globalhook"]
    assert {"lazyone", "lazytwo", "twin", "stalenew"} <= set(state["listed"])
    assert "lazybroken" not in state["listed"]
    assert "staleold" not in state["listed"]
    assert {"lazyone", "lazytwo", "twina", "twinb", "stale", "globalhook"} <= set(state["plugins"])
    assert set(state["list_modules"]) >= {"liter_llm_lazyone", "liter_llm_lazytwo", "liter_llm_twina"}
    assert any("'lazybroken'" in w for w in state["list_warnings"])


@MODES
def test_load_plugins_limits_declared_plugins_too(site: Path, mode: str) -> None:
    state = probe(site, [("one", "lazyone/m"), ("two", "lazytwo/m")], mode, load="lazyone")
    one, two = state["steps"]
    assert state["after_create"] == []
    assert one["outcome"] == "/lazyone/chat/completions"
    assert two["outcome"].startswith("BadRequestError")
    assert "lazytwo" in two["outcome"]
    assert two["modules"] == ["liter_llm_lazyone"]
