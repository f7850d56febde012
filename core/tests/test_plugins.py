"""Hooks and plugins through both clients: user hooks, vetoes, failing hooks, order, provider isolation."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pluggy
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm._plugins import get_registry, new_plugin_manager
from liter_llm._wire import OPENAI_WIRE
from liter_llm.errors import BadRequestError, HookRejectedError, InternalError, LiterLlmError
from liter_llm.providers import ProviderSpec
from liter_llm.testing import RecordingTransport, openai_chat_body

USER = S.USER


def ok_transport() -> RecordingTransport:
    return RecordingTransport(lambda request: httpx.Response(200, json=openai_chat_body("ok")))


class Recorder:
    """A user hook object that records what it sees."""

    def __init__(self, label: str = "user", order: list[str] | None = None) -> None:
        self.label = label
        self.order = order if order is not None else []
        self.requests: list[Any] = []
        self.responses: list[Any] = []
        self.errors: list[Any] = []

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.requests.append(call)
        self.order.append(f"{self.label}.on_request")

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.responses.append((call, response))

    @hookimpl
    def on_error(self, call: Any, error: Any) -> None:
        self.errors.append((call, error))


# ---------------------------------------------------------------------------
# The hook contract
# ---------------------------------------------------------------------------


def test_hookimpl_is_exported_and_marks_for_liter_llm() -> None:
    assert isinstance(liter_llm.hookimpl, pluggy.HookimplMarker)
    assert liter_llm.hookimpl.project_name == "liter_llm"
    assert liter_llm.hookspec.project_name == "liter_llm"

    class Plugin:
        @liter_llm.hookimpl(tryfirst=True)
        def on_request(self, call: Any) -> None:
            pass

    pm = new_plugin_manager()
    pm.register(Plugin())
    pm.check_pending()
    assert len(pm.hook.on_request.get_hookimpls()) == 1


def test_check_pending_catches_a_misspelt_hook() -> None:
    class Misspelt:
        @hookimpl
        def on_reqest(self, call: Any) -> None:
            pass

    pm = new_plugin_manager()
    pm.register(Misspelt())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_every_installed_plugin_and_builtin_matches_the_hookspecs(make: Any) -> None:
    """Build the relay for a provider through a client, then check every plugin against the specs."""
    transport = ok_transport()
    api = make(
        api_key="k",
        transport=transport,
        max_retries=0,
        cost_tracking=True,
        budget={"global_limit": 100.0},
        cache={"max_entries": 10},
        rate_limit={"rpm": 1000},
        cooldown_secs=5,
        hooks=[Recorder()],
    )
    answer = api.chat(model="fake/m", messages=USER)
    assert answer.choices[0].message.content == "ok"
    pipeline = api.client._pipeline
    relay_pm = pipeline._relays["fake"][1]
    names = {name for name, _ in relay_pm.list_name_plugin()}
    assert {
        "builtin.openai_wire",
        "builtin.cost",
        "builtin.budget",
        "builtin.cache",
        "builtin.rate_limit",
        "builtin.cooldown",
        "user-hook-0",
    } <= names
    relay_pm.check_pending()

    # one manager with everything: the wire defaults, the built-ins, every entry-point plugin, every provider plugin
    pm = new_plugin_manager()
    pm.register(OPENAI_WIRE, name="wire")
    for name, plugin in pipeline.builtins:
        pm.register(plugin, name=f"builtin.{name}")
    registry = get_registry()
    for name, plugin in registry.global_plugins:
        if not pm.is_registered(plugin):
            pm.register(plugin, name=f"global.{name}")
    for name, spec in registry.all_providers().items():
        if spec.plugin is not None and not pm.is_registered(spec.plugin):
            pm.register(spec.plugin, name=f"provider.{name}")
    pm.check_pending()


def test_an_invalid_hook_object_is_refused_when_the_client_is_created(make: Any) -> None:
    class Bad:
        @hookimpl
        def on_request(self, call: Any, nonsense: Any) -> None:
            pass

    with pytest.raises(BadRequestError, match=r"hooks\[0\]"):
        make(hooks=[Bad()], base_url="http://127.0.0.1:9/v1")

    class Misspelt:
        @hookimpl
        def on_respons(self, call: Any, response: Any) -> None:
            pass

    with pytest.raises(BadRequestError, match="on_respons"):
        make(hooks=[Misspelt()], base_url="http://127.0.0.1:9/v1")


# ---------------------------------------------------------------------------
# User hooks
# ---------------------------------------------------------------------------


def test_user_hooks_see_only_their_own_clients_calls(make: Any) -> None:
    recorder = Recorder()
    hooked = make(api_key="k", transport=ok_transport(), hooks=[recorder], max_retries=0)
    plain_transport = ok_transport()
    plain = make(api_key="k", transport=plain_transport, max_retries=0)

    plain.chat(model="fake/m", messages=USER)
    assert recorder.requests == []
    assert recorder.responses == []
    assert len(plain_transport.requests) == 1

    answer = hooked.chat(model="fake/m", messages=USER)
    assert len(recorder.requests) == 1
    call = recorder.requests[0]
    assert call.provider.name == "fake"
    assert call.model == "m"
    assert call.operation == "chat"
    assert call.is_async == (hooked.mode == "async")
    assert recorder.responses == [(call, answer)]
    assert recorder.errors == []


def test_on_error_sees_the_error_the_caller_gets(make: Any) -> None:
    recorder = Recorder()
    transport = RecordingTransport(lambda r: httpx.Response(400, json={"error": {"message": "bad thing"}}))
    api = make(api_key="k", transport=transport, hooks=[recorder], max_retries=0)
    with pytest.raises(BadRequestError) as info:
        api.chat(model="fake/m", messages=USER)
    assert len(recorder.errors) == 1
    assert recorder.errors[0][1] is info.value
    assert recorder.responses == []


def test_a_user_build_request_hook_replaces_the_default_for_that_client(make: Any) -> None:
    class CustomBuild:
        @hookimpl
        def build_request(self, call: Any) -> httpx.Request:
            return httpx.Request("POST", call.base_url + "/custom", json={"mine": call.model})

    transport = ok_transport()
    api = make(api_key="k", transport=transport, hooks=[CustomBuild()], max_retries=0)
    api.chat(model="fake/m", messages=USER)
    other_transport = ok_transport()
    make(api_key="k", transport=other_transport, max_retries=0).chat(model="fake/m", messages=USER)
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/v1/custom"
    assert json.loads(transport.requests[0].content) == {"mine": "m"}
    # auth still comes from the auth hook, on every attempt
    assert transport.requests[0].headers["authorization"] == "Bearer k"
    assert str(other_transport.requests[0].url) == "http://127.0.0.1:9/v1/chat/completions"


def test_hook_rejected_error_in_on_request_stops_the_call_before_any_io(make: Any) -> None:
    class Guard:
        @hookimpl
        def on_request(self, call: Any) -> None:
            raise HookRejectedError("no thanks", reason="policy says no")

    recorder = Recorder()
    transport = ok_transport()
    api = make(api_key="k", transport=transport, hooks=[recorder, Guard()], max_retries=3)
    with pytest.raises(HookRejectedError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.reason == "policy says no"
    assert info.value.hook == "user-hook-1.on_request"
    assert transport.requests == []
    # the veto is reported to on_error like any other failure
    assert [error for _, error in recorder.errors] == [info.value]
    with pytest.raises(HookRejectedError):
        api.stream(model="fake/m", messages=USER)
    assert transport.requests == []


def test_a_plain_exception_in_on_request_is_an_internal_error_naming_the_hook(make: Any) -> None:
    # a bug in a hook is not the caller's fault: InternalError (not HookRejectedError), original chained
    class Broken:
        @hookimpl
        def on_request(self, call: Any) -> None:
            raise ValueError("prompt contains a forbidden word")

    transport = ok_transport()
    api = make(api_key="k", transport=transport, hooks=[Broken()])
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.on_request"
    assert "user-hook-0.on_request" in str(info.value)
    assert "prompt contains a forbidden word" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert transport.requests == []


def test_a_failing_on_response_is_logged_and_does_not_change_the_result(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Failing:
        @hookimpl
        def on_response(self, call: Any, response: Any) -> None:
            raise RuntimeError("metrics backend down")

    recorder = Recorder()
    api = make(api_key="k", transport=ok_transport(), hooks=[Failing(), recorder])
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        answer = api.chat(model="fake/m", messages=USER)
    assert answer.choices[0].message.content == "ok"
    # the other hooks still ran
    assert len(recorder.responses) == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "liter_llm"]
    assert any("hook_failed" in m and "user-hook-0.on_response" in m and "metrics backend down" in m for m in logged)


def test_a_failing_on_error_never_masks_the_original_error(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        @hookimpl
        def on_error(self, call: Any, error: Any) -> None:
            raise KeyError("oops")

    transport = RecordingTransport(lambda r: httpx.Response(404, json={"error": {"message": "no such model"}}))
    api = make(api_key="k", transport=transport, hooks=[Failing()], max_retries=0)
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        with pytest.raises(LiterLlmError) as info:
            api.chat(model="fake/m", messages=USER)
    assert type(info.value).__name__ == "NotFoundError"
    assert "no such model" in info.value.message
    assert any("user-hook-0.on_error" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------
# Order and provider isolation
# ---------------------------------------------------------------------------


class OrderProviderPlugin:
    """The protocol plugin of the ``order-prov`` provider: builds its own request."""

    def __init__(self) -> None:
        self.order: list[str] = []

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.order.append("provider.on_request")

    @hookimpl
    def build_request(self, call: Any) -> httpx.Request:
        return httpx.Request("POST", call.base_url + "/provider-built", json={"model": call.model})


class ManyProviders:
    """Registers ``order-prov`` and 30 dummy providers, each with its own recording plugin."""

    def __init__(self) -> None:
        self.order_plugin = OrderProviderPlugin()
        self.dummies = {f"dummy{i:02d}": DummyPlugin(f"dummy{i:02d}") for i in range(30)}

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name="order-prov",
                base_url="http://127.0.0.1:9/order",
                requires_api_key=False,
                plugin=self.order_plugin,
            )
        )
        for name, plugin in self.dummies.items():
            register(
                ProviderSpec(
                    name=name,
                    base_url=f"http://127.0.0.1:9/{name}",
                    requires_api_key=False,
                    model_prefixes=(f"{name}-",),
                    plugin=plugin,
                    openai_wire=True,  # the plugin only watches; the OpenAI default builds the requests
                )
            )


class DummyPlugin:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str, str | None]] = []

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.seen.append(("on_request", call.provider.name, call.model))

    @hookimpl
    def build_request(self, call: Any) -> None:
        self.seen.append(("build_request", call.provider.name, call.model))

    @hookimpl
    def parse_response(self, call: Any, response: httpx.Response) -> None:
        self.seen.append(("parse_response", call.provider.name, call.model))

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.seen.append(("on_response", call.provider.name, call.model))


@pytest.fixture(scope="module")
def many() -> Iterator[ManyProviders]:
    plugin = ManyProviders()
    registry = get_registry()
    assert registry.add_plugin(plugin, name="core-tests-many-providers") is not None
    yield plugin
    registry.remove_plugin("core-tests-many-providers")


def test_provider_hooks_run_before_user_hooks(make: Any, many: ManyProviders) -> None:
    class UserBuild:
        def __init__(self, order: list[str]) -> None:
            self.order = order

        @hookimpl
        def build_request(self, call: Any) -> httpx.Request:
            return httpx.Request("POST", call.base_url + "/user-built", json={})

        @hookimpl
        def on_request(self, call: Any) -> None:
            self.order.append("user.on_request")

    many.order_plugin.order.clear()
    order = many.order_plugin.order
    transport = ok_transport()
    api = make(transport=transport, hooks=[UserBuild(order)])
    api.chat(model="order-prov/m", messages=USER)
    # firstresult: the provider's build_request answers before the user's (documented in hookspecs)
    assert transport.requests[0].url.path == "/order/provider-built"
    # the non-firstresult hooks all run: provider first, then the user's
    assert order == ["provider.on_request", "user.on_request"]

    # for a provider without a protocol plugin, the user's hook beats the core's trylast default
    transport2 = ok_transport()
    make(api_key="k", transport=transport2, hooks=[UserBuild([])]).chat(model="fake/m", messages=USER)
    assert transport2.requests[0].url.path == "/v1/user-built"


def test_user_hooks_run_last_registered_first(make: Any) -> None:
    order: list[str] = []
    api = make(api_key="k", transport=ok_transport(), hooks=[Recorder("a", order), Recorder("b", order)])
    api.chat(model="fake/m", messages=USER)
    assert order == ["b.on_request", "a.on_request"]


def test_provider_plugins_see_only_their_own_calls_and_relays_are_cached(make: Any, many: ManyProviders) -> None:
    for plugin in many.dummies.values():
        plugin.seen.clear()
    transport = ok_transport()
    api = make(transport=transport)
    pipeline = api.client._pipeline
    api.chat(model="dummy03/alpha", messages=USER)
    api.chat(model="dummy17-beta", messages=USER)
    relay_a = pipeline._relays["dummy03"][1]
    relay_b = pipeline._relays["dummy17"][1]
    api.chat(model="dummy03/gamma", messages=USER)
    api.chat(model="dummy17-delta", messages=USER)

    a, b = many.dummies["dummy03"], many.dummies["dummy17"]
    assert {provider for _, provider, _ in a.seen} == {"dummy03"}
    assert {provider for _, provider, _ in b.seen} == {"dummy17"}
    assert [model for hook, _, model in a.seen if hook == "on_request"] == ["alpha", "gamma"]
    assert [model for hook, _, model in b.seen if hook == "on_request"] == ["dummy17-beta", "dummy17-delta"]
    assert [hook for hook, _, _ in a.seen] == ["on_request", "build_request", "parse_response", "on_response"] * 2
    for name, plugin in many.dummies.items():
        if name not in ("dummy03", "dummy17"):
            assert plugin.seen == [], name
    assert [r.url.path for r in transport.requests] == [
        "/dummy03/chat/completions",
        "/dummy17/chat/completions",
        "/dummy03/chat/completions",
        "/dummy17/chat/completions",
    ]
    # one relay per provider used, built on first use and reused afterwards
    assert pipeline._relays["dummy03"][1] is relay_a
    assert pipeline._relays["dummy17"][1] is relay_b
    assert relay_a is not relay_b
    assert not any(name.startswith("dummy") and name not in ("dummy03", "dummy17") for name in pipeline._relays)
    # each relay holds only its own provider's plugin
    a_plugins = {name for name, _ in relay_a.list_name_plugin()}
    assert "provider.dummy03" in a_plugins
    assert not any(name.startswith("provider.") and name != "provider.dummy03" for name in a_plugins)
