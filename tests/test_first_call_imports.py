"""What the first call imports, in a fresh interpreter with every repository plugin installed.

The repository's provider plugins declare their providers in entry points (``liter_llm.providers``,
``liter_llm.model_prefixes``): a call imports only the plugin of its provider, and the declarations
must say exactly what each plugin registers.  The otel plugin imports OpenTelemetry only for a
client that traces.  A chat does not build the other endpoints' types (``liter_llm._endpoint_types``)
nor the stream's (``liter_llm._stream_types``), and imports no stream machinery (``liter_llm.streaming``,
``liter_llm.sse``) and no token counting (``liter_llm.tokens``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from liter_llm.providers import ProviderSpec
from liter_llm.registry import new_plugin_manager

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())

PROBE = r"""
import asyncio, json, sys
import httpx
import liter_llm

BODY = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}

def answer(request):
    return httpx.Response(200, json=BODY)

async def answer_async(request):
    return answer(request)

model, mode, tracing = sys.argv[1], sys.argv[2], sys.argv[3] == "tracing"
options = {"tracing": True} if tracing else {}
if sys.argv[4] == "router":  # the call goes through an alias whose one target is `model`
    options["models"] = [{"name": "fast", "targets": [{"model": model}]}]
messages = [{"role": "user", "content": "hi"}]
try:  # only what the call imported counts here (an Anthropic call gets an OpenAI-format answer)
    if mode == "async":
        client = liter_llm.create_async_client(api_key="k", base_url=None if model else "http://127.0.0.1:9/v1",
                                               transport=httpx.MockTransport(answer_async), **options)
        asyncio.run(client.chat(model="fast" if "models" in options else model or "gpt-4o-mini", messages=messages))
    else:
        client = liter_llm.create_client(api_key="k", base_url=None if model else "http://127.0.0.1:9/v1",
                                         transport=httpx.MockTransport(answer), **options)
        client.chat(model="fast" if "models" in options else model or "gpt-4o-mini", messages=messages)
    outcome = "ok"
except liter_llm.LiterLlmError as exc:
    outcome = type(exc).__name__
print("STATE=" + json.dumps({
    "plugins": sorted({m.split(".")[0] for m in sys.modules if m.startswith("liter_llm_")}),
    "opentelemetry": "opentelemetry.trace" in sys.modules,
    "endpoint_types": "liter_llm._endpoint_types" in sys.modules,
    "stream_types": "liter_llm._stream_types" in sys.modules,
    "unused": sorted(m for m in ("liter_llm.streaming", "liter_llm.sse", "liter_llm.tokens") if m in sys.modules),
    "outcome": outcome,
}))
"""

EAGER = {"liter_llm_otel", "liter_llm_record"}  # global hooks: not declared (the proxy declares its command)


def first_call(model: str, mode: str, *, tracing: bool = False, router: bool = False) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITER_LLM_")}
    env["ANTHROPIC_API_KEY"] = "k-test"  # reaches only the mock transport
    args = [sys.executable, "-c", PROBE, model, mode, "tracing" if tracing else "-", "router" if router else "-"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    state: dict[str, Any] = json.loads(result.stdout.rpartition("STATE=")[2])
    return state


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_gateway_call_imports_no_provider_plugin_and_no_opentelemetry(mode: str) -> None:
    state = first_call("", mode)
    assert state["outcome"] == "ok"
    assert set(state["plugins"]) <= EAGER, state["plugins"]
    assert state["opentelemetry"] is False
    assert state["endpoint_types"] is False
    assert state["stream_types"] is False
    assert state["unused"] == []  # the stream's machinery (the first stream), token counting (count_tokens)


def test_the_proxys_command_plugin_is_imported_by_the_command_line_only() -> None:
    assert "liter_llm_proxy" not in first_call("", "sync")["plugins"]
    code = "import sys; from liter_llm import cli; cli.main(['--help'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert "serve" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_chat_through_a_provider_plugin_builds_no_other_endpoint_types(mode: str) -> None:
    for model in ("claude-3-5-haiku-latest", "gemini-2.0-flash", "mistral-small-latest"):
        state = first_call(model, mode)
        assert state["endpoint_types"] is False, model
        assert state["stream_types"] is False, model


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_call_to_anthropic_imports_its_plugin_alone(mode: str) -> None:
    state = first_call("claude-3-5-haiku-latest", mode)
    assert set(state["plugins"]) - EAGER == {"liter_llm_anthropic"}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_router_client_imports_only_its_targets_plugins(mode: str) -> None:
    state = first_call("anthropic/claude-3-5-haiku-latest", mode, router=True)
    assert set(state["plugins"]) - EAGER == {"liter_llm_anthropic"}, state["plugins"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_tracing_client_imports_opentelemetry(mode: str) -> None:
    if first_call("", mode)["plugins"].count("liter_llm_otel") == 0:
        pytest.skip("liter-llm-otel is not installed")
    assert first_call("", mode, tracing=True)["opentelemetry"] is True


@pytest.mark.parametrize("plugin", PROVIDER_PLUGINS, ids=lambda p: p.name)
def test_each_provider_plugin_declares_exactly_what_it_registers(plugin: Path) -> None:
    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    groups = project["entry-points"]
    ((entry, value),) = groups["liter_llm"].items()
    declared = groups["liter_llm.providers"]
    assert set(declared.values()) == {value}, "each declaration names the plugin's own entry point value"
    prefixes = {name: tuple(v.split()) for name, v in groups.get("liter_llm.model_prefixes", {}).items()}
    assert set(prefixes) <= set(declared), "a prefix entry names a declared provider"
    pm = new_plugin_manager()
    pm.register(import_module(value), name=entry)
    registered: list[ProviderSpec] = []
    pm.hook.register_providers(register=registered.append)
    assert sorted(declared) == sorted(spec.name for spec in registered)
    for spec in registered:
        assert set(prefixes.get(spec.name, ())) == set(spec.model_prefixes), spec.name
    hooks = {name for name in vars(pm.hook) if not name.startswith("_") and getattr(pm.hook, name).get_hookimpls()}
    assert hooks <= {"register_providers", "register_commands"}, "a declared plugin has no per-call hooks of its own"
