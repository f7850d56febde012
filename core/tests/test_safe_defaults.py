"""Safe defaults (issue 11 section 6), through both clients.

* an unknown ``name/`` prefix is an error before any I/O, never a call to OpenAI;
* the client's key goes only to the provider it was given for;
* an operation a protocol plugin did not build is EndpointNotSupportedError, never sent in OpenAI format;
* a bug in a plugin's hook is an InternalError naming it, not the caller's BadRequestError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm._plugins import PluginLoadWarning, get_registry
from liter_llm.errors import AuthenticationError, BadRequestError, EndpointNotSupportedError, InternalError
from liter_llm.providers import ProviderSpec
from liter_llm.testing import RecordingTransport, openai_chat_body

USER = S.USER


def ok() -> RecordingTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(
                200, json={"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}]}
            )
        return httpx.Response(200, json=openai_chat_body("ok"))

    return RecordingTransport(handler)


# ---------------------------------------------------------------------------
# Unknown prefixes
# ---------------------------------------------------------------------------


class BrokenPlugin:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        raise ImportError("No module named 'cohere_sdk'")


@pytest.fixture
def broken_plugin() -> Iterator[None]:
    registry = get_registry()
    with pytest.warns(PluginLoadWarning):
        registry.add_plugin(BrokenPlugin(), name="liter-llm-cohere3")
    yield
    registry.remove_plugin("liter-llm-cohere3")
    assert all(name != "liter-llm-cohere3" for name, _ in registry.failed)


def test_an_unknown_prefix_is_an_error_before_any_io(make: Any) -> None:
    transport = ok()
    api = make(api_key="k", model_hint=None, transport=transport)
    with pytest.raises(BadRequestError) as info:
        api.chat(model="fakee/m", messages=USER)
    message = str(info.value)
    assert "'fakee'" in message
    assert "'fake/'" in message  # the close provider names are suggested
    assert transport.requests == []
    with pytest.raises(BadRequestError, match="fakee"):
        api.stream(model="fakee/m", messages=USER)
    assert transport.requests == []


def test_the_error_names_a_plugin_that_failed_to_load(make: Any, broken_plugin: None) -> None:
    transport = ok()
    api = make(api_key="k", model_hint=None, transport=transport)
    with pytest.raises(BadRequestError) as info:
        api.chat(model="cohere3/command-a", messages=USER)
    assert "liter-llm-cohere3" in str(info.value)
    assert "cohere_sdk" in str(info.value)
    assert transport.requests == []


def test_with_a_hint_or_after_a_known_prefix_the_rest_is_the_model_slashes_and_all(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_API_KEY", raising=False)
    transport = ok()
    hinted = make(api_key="k", model_hint="fake", transport=transport)
    hinted.chat(model="meta-llama/Llama-3.3-70B-Instruct-Turbo", messages=USER)
    assert json.loads(transport.requests[-1].content)["model"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert str(transport.requests[-1].url) == "http://127.0.0.1:9/v1/chat/completions"
    plain = make(api_key="k", model_hint=None, transport=transport)
    with pytest.raises(AuthenticationError):  # routed to fake (its own key missing), not refused as unknown
        plain.chat(model="fake/meta-llama/Llama-3.3-70B", messages=USER)
    hinted.chat(model="fake/meta-llama/Llama-3.3-70B", messages=USER)
    assert json.loads(transport.requests[-1].content)["model"] == "meta-llama/Llama-3.3-70B"


def test_a_gateway_still_takes_any_model_string(make: Any) -> None:
    transport = ok()
    api = make(api_key="k", base_url="http://127.0.0.1:9/gw", transport=transport)
    api.chat(model="cohere3/command-a", messages=USER)
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/gw/chat/completions"
    assert json.loads(transport.requests[0].content)["model"] == "cohere3/command-a"
    assert transport.requests[0].headers["authorization"] == "Bearer k"


# ---------------------------------------------------------------------------
# Keys go only where they were given for
# ---------------------------------------------------------------------------


def test_the_client_key_is_not_sent_to_another_provider(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAKE_API_KEY", raising=False)
    transport = ok()
    api = make(api_key="sk-for-openai", model_hint=None, transport=transport)
    with pytest.raises(AuthenticationError) as info:
        api.chat(model="fake/m", messages=USER)
    assert "FAKE_API_KEY" in str(info.value)
    assert "sk-for-openai" not in str(info.value)
    assert transport.requests == []
    # the provider's own variable is used instead
    monkeypatch.setenv("FAKE_API_KEY", "sk-fake-own")
    api.chat(model="fake/m", messages=USER)
    assert transport.requests[0].headers["authorization"] == "Bearer sk-fake-own"


def test_the_client_key_goes_to_the_hinted_provider(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "sk-fake-own")
    transport = ok()
    make(api_key="sk-given", model_hint="fake", transport=transport).chat(model="fake/m", messages=USER)
    assert transport.requests[0].headers["authorization"] == "Bearer sk-given"


def test_the_client_key_goes_to_custom_providers(make: Any) -> None:
    liter_llm.register_custom_provider(
        {"name": "mycorp", "base_url": "http://127.0.0.1:9/mycorp", "model_prefixes": ["mycorp-"]}
    )
    try:
        transport = ok()
        api = make(api_key="sk-given", model_hint=None, transport=transport)
        api.chat(model="mycorp/m", messages=USER)
        assert transport.requests[0].headers["authorization"] == "Bearer sk-given"
    finally:
        liter_llm.unregister_custom_provider("mycorp")


def test_the_client_key_goes_to_providers_of_the_configuration(make: Any) -> None:
    transport = ok()
    entry = {"name": "cfgprov", "base_url": "http://127.0.0.1:9/cfg", "model_prefixes": ["cfgprov-"]}
    api = make(api_key="sk-given", model_hint=None, transport=transport, providers=[entry])
    api.chat(model="cfgprov/m", messages=USER)
    assert transport.requests[0].headers["authorization"] == "Bearer sk-given"


# ---------------------------------------------------------------------------
# An unbuilt operation of a protocol plugin is refused
# ---------------------------------------------------------------------------


class ChatOnly:
    """A protocol plugin that builds chat only, and forgot to narrow ``endpoints``."""

    @hookimpl
    def build_request(self, call: Any) -> httpx.Request | None:
        if call.operation != "chat":
            return None
        return httpx.Request("POST", call.base_url + "/generate", json={"prompt": "x"})

    @hookimpl
    def parse_response(self, call: Any, response: httpx.Response) -> Any:
        return liter_llm.ChatCompletionResponse.from_dict(openai_chat_body("own"))


class Adjusts:
    """A plugin that only adds a header to the OpenAI format (declares the OpenAI wire)."""

    @hookimpl
    def build_request(self, call: Any) -> None:
        return None


class Buggy:
    @hookimpl
    def build_request(self, call: Any) -> httpx.Request:
        return call.state["never-set"]  # type: ignore[no-any-return]


class ProtocolProviders:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        common: dict[str, Any] = {"requires_api_key": False, "endpoints": {"chat", "embed"}}
        register(ProviderSpec(name="ownproto", base_url="http://127.0.0.1:9/own", plugin=ChatOnly(), **common))
        register(
            ProviderSpec(
                name="adjusts", base_url="http://127.0.0.1:9/adj", plugin=Adjusts(), openai_wire=True, **common
            )
        )
        register(ProviderSpec(name="buggy", base_url="http://127.0.0.1:9/bug", plugin=Buggy(), **common))


@pytest.fixture(scope="module")
def protocol_providers() -> Iterator[None]:
    registry = get_registry()
    registry.add_plugin(ProtocolProviders(), name="core-tests-protocol")
    yield
    registry.remove_plugin("core-tests-protocol")


def test_an_operation_a_protocol_plugin_did_not_build_is_not_supported(make: Any, protocol_providers: None) -> None:
    transport = ok()
    api = make(transport=transport)
    assert api.chat(model="ownproto/m", messages=USER).choices[0].message.content == "own"
    assert transport.requests[0].url.path == "/own/generate"
    with pytest.raises(EndpointNotSupportedError) as info:
        api.embed(model="ownproto/m", input="x")
    assert "ownproto" in str(info.value)
    assert len(transport.requests) == 1  # nothing went out in OpenAI format


def test_a_plugin_that_declares_the_openai_wire_gets_the_default(make: Any, protocol_providers: None) -> None:
    transport = ok()
    api = make(transport=transport)
    api.embed(model="adjusts/m", input="x")
    assert transport.requests[0].url.path == "/adj/embeddings"
    assert ProviderSpec(name="x").speaks_openai
    assert not ProviderSpec(name="x", plugin=ChatOnly()).speaks_openai


def test_a_bug_in_a_provider_plugin_hook_is_an_internal_error(make: Any, protocol_providers: None) -> None:
    transport = ok()
    api = make(transport=transport)
    with pytest.raises(InternalError) as info:
        api.chat(model="buggy/m", messages=USER)
    assert not isinstance(info.value, BadRequestError)
    assert info.value.hook == "provider.buggy.build_request"
    assert isinstance(info.value.__cause__, KeyError)
    assert transport.requests == []
