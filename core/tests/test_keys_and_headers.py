"""Keys and header values are checked before anything is sent, and a key never leaks in any form (both clients).

A key read from a file keeps its trailing line end: that is stripped wherever
the key comes from (the ``api_key`` option, a JSON configuration, the
provider's environment variable, a call routed to a configured provider
entry).  Any other control character is refused with an
``AuthenticationError`` that does not quote the key, and nothing is sent.
Header values from the user (``extra_headers``) and from a plugin
(``ProviderSpec.extra_headers``) get the same treatment as an
``InvalidHeaderError``.  Every error and log line is scrubbed of the key in
its plain, ``repr`` and bytes-``repr`` forms, transport errors included.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm._plugins import get_registry
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidHeaderError,
    LiterLlmError,
    ServiceUnavailableError,
)
from liter_llm.providers import ProviderSpec

USER = S.USER
KEY = S.KEY
#: a key with an inner control character: never sendable, never to be shown
BAD_KEY = "sk-test-SECRET\x01-0123456789abcdef"
#: a key whose repr and bytes repr differ from the key itself (a backslash and a quote)
ODD_KEY = "sk-live\\SECRET'quote-0123456789"


def texts(error: BaseException) -> str:
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for name in ("message", "body", "args"):
        parts.append(repr(getattr(error, name, None)))
        parts.append(str(getattr(error, name, None)))
    return "\n".join(parts)


def forms(key: str) -> list[str]:
    stripped = key.strip()
    return [key, stripped, repr(key)[1:-1], repr(stripped)[1:-1], repr(key.encode())[2:-1], "SECRET"]


def assert_no_key(key: str, error: BaseException | None, caplog: pytest.LogCaptureFixture) -> None:
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for form in forms(key):
        if error is not None:
            assert form not in texts(error), form
        assert form not in logged, form


def create(make: Any, **options: Any) -> Any:
    """Create the client of the test's mode directly (for errors raised at creation)."""
    factory = liter_llm.create_client if make.mode == "sync" else liter_llm.create_async_client
    return factory(**options)


def create_from_json(make: Any, config: dict[str, Any]) -> Any:
    factory = liter_llm.create_client_from_json if make.mode == "sync" else liter_llm.create_async_client_from_json
    return factory(json.dumps(config))


def api_from_json(make: Any, config: dict[str, Any]) -> Any:
    """An Api adapter whose client comes from a JSON configuration."""
    api = make()
    if api.mode == "async":
        api.run(api.client.aclose())
    else:
        api.client.close()
    api.client = create_from_json(make, config)
    return api


# ---------------------------------------------------------------------------
# Surrounding whitespace is stripped, from every source
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["option", "json config", "environment", "provider entry"])
@pytest.mark.parametrize("ending", ["\n", "\r\n", "  \t"])
def test_a_key_with_a_line_end_is_stripped_and_works(
    make: Any, server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, source: str, ending: str
) -> None:
    key = KEY + ending
    with caplog.at_level(logging.DEBUG, logger="liter_llm"):
        if source == "option":
            api = make(api_key=key, base_url=server.url + "/v1", max_retries=0)
            answer = api.chat(model="m", messages=USER)
        elif source == "json config":
            api = api_from_json(make, {"api_key": key, "base_url": server.url + "/v1", "max_retries": 0})
            answer = api.chat(model="m", messages=USER)
        elif source == "environment":
            monkeypatch.setenv("FAKE_API_KEY", key)
            monkeypatch.setenv("FAKE_BASE_URL", server.url + "/v1")
            answer = make(max_retries=0).chat(model="fake/m", messages=USER)
        else:
            entry = {"name": "mine", "base_url": server.url + "/v1", "model_prefixes": ["mine-"]}
            answer = make(api_key=key, providers=[entry], max_retries=0).chat(model="mine-x", messages=USER)
    assert answer.choices[0].message.content == "hi"
    [request] = server.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert_no_key(KEY, None, caplog)


def test_the_stripped_key_is_the_one_the_client_holds(make: Any) -> None:
    api = make(api_key=KEY + "\n")
    assert api.client.config.api_key.get_secret_value() == KEY


# ---------------------------------------------------------------------------
# Any other control character is refused, without quoting the key
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["option", "json config", "provider entry"])
def test_a_key_with_an_inner_control_character_is_refused_at_creation(
    make: Any, server: Any, caplog: pytest.LogCaptureFixture, source: str
) -> None:
    entry = {"name": "mine", "base_url": server.url + "/v1", "model_prefixes": ["mine-"]}
    attempts = {
        "option": lambda: create(make, api_key=BAD_KEY, base_url=server.url + "/v1"),
        "json config": lambda: create_from_json(make, {"api_key": BAD_KEY, "base_url": server.url + "/v1"}),
        "provider entry": lambda: create(make, api_key=BAD_KEY, providers=[entry]),
    }
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(AuthenticationError) as info:
        attempts[source]()
    assert "api_key" in info.value.message
    assert "control" in info.value.message
    assert_no_key(BAD_KEY, info.value, caplog)
    assert server.requests == []


@pytest.mark.parametrize(
    "bad", [BAD_KEY, "sk-test-SECRET\n-0123456789abcdef", "sk-test-SECRET\x7f0123", "sk-SECRET-é-0123"]
)
def test_a_key_from_the_environment_with_a_bad_character_is_refused_per_call(
    make: Any, server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    monkeypatch.setenv("FAKE_API_KEY", bad)
    monkeypatch.setenv("FAKE_BASE_URL", server.url + "/v1")
    api = make(max_retries=2, retry_initial_delay=0.01)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(AuthenticationError) as info:
        api.chat(model="fake/m", messages=USER)
    assert "FAKE_API_KEY" in info.value.message
    assert info.value.provider == "fake"
    assert_no_key(bad, info.value, caplog)
    with pytest.raises(AuthenticationError):
        api.collect(model="fake/m", messages=USER)
    assert server.requests == []


class KeyFromPlugin:
    """A plugin that puts its own (broken) key on the call, as a token-fetching plugin would."""

    def __init__(self, key: str) -> None:
        self.key = key

    @hookimpl(tryfirst=True)
    def on_request(self, call: Any) -> None:
        from liter_llm._secret import SecretStr

        call.api_key = SecretStr(self.key)


def test_a_key_a_plugin_sets_on_the_call_is_checked_where_it_is_sent(
    make: Any, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = make(base_url=server.url + "/v1", hooks=[KeyFromPlugin(BAD_KEY)], max_retries=2, retry_initial_delay=0.01)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(AuthenticationError) as info:
        api.chat(model="m", messages=USER)
    assert_no_key(BAD_KEY, info.value, caplog)
    assert server.requests == []
    # a line end only is stripped there too
    fine = make(base_url=server.url + "/v1", hooks=[KeyFromPlugin(KEY + "\r\n")], max_retries=0)
    assert fine.chat(model="m", messages=USER).choices[0].message.content == "hi"
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


class KeysFromPlugin:
    """A plugin that puts the next of its keys on each call, as a plugin refreshing a token would."""

    def __init__(self, *keys: str) -> None:
        self.keys = list(keys)

    @hookimpl(tryfirst=True)
    def on_request(self, call: Any) -> None:
        from liter_llm._secret import SecretStr

        call.api_key = SecretStr(self.keys.pop(0))


def test_each_call_sends_the_key_it_carries_and_a_broken_one_is_refused_each_time(
    make: Any, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The checked key's header is kept with the key: a call with another key sends that key, a key refused
    once is refused again, and the client's own key goes on every call."""
    keys = (KEY, KEY + "-rotated", KEY + "\n", BAD_KEY, BAD_KEY, KEY)
    api = make(base_url=server.url + "/v1", hooks=[KeysFromPlugin(*keys)], max_retries=0)
    for expected in (KEY, KEY + "-rotated", KEY):
        assert api.chat(model="m", messages=USER).choices[0].message.content == "hi"
        assert server.requests[-1].headers["authorization"] == f"Bearer {expected}"
    sent = len(server.requests)
    for _ in range(2):
        with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(AuthenticationError) as info:
            api.chat(model="m", messages=USER)
        assert_no_key(BAD_KEY, info.value, caplog)
    assert len(server.requests) == sent
    api.chat(model="m", messages=USER)
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    own = make(api_key=KEY, base_url=server.url + "/v1", max_retries=0)
    for _ in range(3):
        own.chat(model="m", messages=USER)
        assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


# ---------------------------------------------------------------------------
# Header values: from the user's options and from a plugin
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc\x01def", "abc\x00", "a\nb", "caf\u00e9"])
def test_a_user_header_with_a_control_character_is_refused_at_creation(make: Any, server: Any, value: str) -> None:
    # refused as a configuration error that names the header, never its value
    for attempt in (
        lambda: create(make, base_url=server.url + "/v1", extra_headers={"x-trace": value}),
        lambda: create_from_json(make, {"base_url": server.url + "/v1", "extra_headers": {"x-trace": value}}),
    ):
        with pytest.raises((BadRequestError, InvalidHeaderError)) as info:
            attempt()
        assert "x-trace" in info.value.message
        assert value not in texts(info.value)
    assert server.requests == []


def test_a_user_header_with_a_line_end_is_stripped(make: Any, server: Any) -> None:
    api = make(base_url=server.url + "/v1", extra_headers={"x-trace": "abc-123\r\n", "x-org": " org "}, max_retries=0)
    api.chat(model="m", messages=USER)
    assert server.requests[0].headers["x-trace"] == "abc-123"
    assert api.client.config.extra_headers == {"x-trace": "abc-123", "x-org": "org"}


class HeaderProviders:
    """Providers registered by a plugin with header values of their own."""

    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def register_providers(self, register: Any) -> None:
        for name, value in (("hdr-bad", "org-SECRET\x01-1"), ("hdr-crlf", "org-42\r\n")):
            register(
                ProviderSpec(
                    name=name,
                    base_url=self.url + "/v1",
                    requires_api_key=False,
                    extra_headers={"x-org": value},
                    endpoints={"chat"},
                )
            )


@pytest.fixture
def header_providers(server: Any) -> Iterator[None]:
    registry = get_registry()
    registry.add_plugin(HeaderProviders(server.url), name="core-tests-header-providers")
    yield
    registry.remove_plugin("core-tests-header-providers")


def test_a_plugin_header_with_a_control_character_is_refused_per_call(
    make: Any, server: Any, header_providers: None, caplog: pytest.LogCaptureFixture
) -> None:
    api = make(max_retries=2, retry_initial_delay=0.01)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(InvalidHeaderError) as info:
        api.chat(model="hdr-bad/m", messages=USER)
    assert info.value.name == "x-org"
    assert "SECRET" not in texts(info.value)
    assert not any("SECRET" in record.getMessage() for record in caplog.records)
    with pytest.raises(InvalidHeaderError):
        api.collect(model="hdr-bad/m", messages=USER)
    assert server.requests == []
    # a plugin's value with a line end is stripped and sent, on every call (the kept header set keeps it as given)
    for sent in range(3):
        assert api.chat(model="hdr-crlf/m", messages=USER).choices[0].message.content == "hi"
        assert server.requests[sent].headers["x-org"] == "org-42"
    # and a bad one is refused on every call, also after good calls through the same kept headers
    for _ in range(2):
        with pytest.raises(InvalidHeaderError):
            api.chat(model="hdr-bad/m", messages=USER)
    assert len(server.requests) == 3


class ReplacesAHeader:
    """A plugin that changes a header of the built request (a new item in place of a kept one)."""

    def __init__(self, value: str) -> None:
        self.value = value

    @hookimpl(wrapper=True)
    def build_request(self, call: Any) -> Any:
        request = yield
        request.headers["accept"] = self.value
        return request


@pytest.mark.parametrize(("value", "sent"), [("\x01bad", None), (" application/json\r\n", "application/json")])
def test_a_header_a_plugin_puts_in_place_of_a_kept_one_is_checked_each_call(
    make: Any, server: Any, value: str, sent: str | None
) -> None:
    api = make(api_key=KEY, base_url=server.url + "/v1", hooks=[ReplacesAHeader(value)], max_retries=0)
    for _ in range(2):
        if sent is None:
            with pytest.raises(InvalidHeaderError):
                api.chat(model="m", messages=USER)
        else:
            api.chat(model="m", messages=USER)
            assert server.requests[-1].headers["accept"] == sent
    assert len(server.requests) == (0 if sent is None else 2)


# ---------------------------------------------------------------------------
# Scrubbing: plain, repr and bytes-repr forms, transport errors and log lines
# ---------------------------------------------------------------------------


def test_the_key_is_scrubbed_from_transport_errors_in_every_form(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"]
        raise httpx.ConnectError(f"refused {sent} {sent!r} {sent.encode()!r} {ODD_KEY!r}", request=request)

    api = make(api_key=ODD_KEY, transport=httpx.MockTransport(refuse), max_retries=1, retry_initial_delay=0.01)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(ServiceUnavailableError) as info:
        api.chat(model="fake/m", messages=USER)
    assert "refused" in info.value.message
    assert_no_key(ODD_KEY, info.value, caplog)
    assert any("llm_attempt" in record.getMessage() for record in caplog.records)


def test_the_key_is_scrubbed_from_an_echoing_provider_in_every_form(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"].removeprefix("Bearer ")
        body = {"error": {"message": f"bad key {sent!r} / {sent.encode()!r}", "code": "invalid_api_key"}}
        return httpx.Response(401, json=body)

    api = make(api_key=ODD_KEY, transport=httpx.MockTransport(echo), max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(AuthenticationError) as info:
        api.chat(model="fake/m", messages=USER)
    assert "bad key" in info.value.message
    assert_no_key(ODD_KEY, info.value, caplog)


class LeakyHook:
    """A user hook whose failure quotes the key."""

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        raise ValueError(f"cannot log {call.api_key.get_secret_value()!r}")


def test_the_key_is_scrubbed_from_every_log_line(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=liter_llm.testing.openai_chat_body()))
    api = make(api_key=ODD_KEY, transport=transport, hooks=[LeakyHook()], max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"):
        api.chat(model="fake/m", messages=USER)
    assert any("cannot log" in record.getMessage() for record in caplog.records)
    assert_no_key(ODD_KEY, None, caplog)


def test_an_invalid_request_the_transport_refuses_is_a_bad_request_without_the_value(make: Any, server: Any) -> None:
    """Past every check (a header set inside an auth flow), the transport's refusal still hides the value."""

    class RawAuth(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Any:
            request.headers["x-token"] = "tok-SECRET\n-1"
            yield request

    class AuthHook:
        @hookimpl(tryfirst=True)
        def auth(self, call: Any, request: Any) -> httpx.Auth:
            return RawAuth()

    api = make(base_url=server.url + "/v1", hooks=[AuthHook()], max_retries=2, retry_initial_delay=0.01)
    with pytest.raises(BadRequestError) as info:  # never retried as if the provider were down
        api.chat(model="m", messages=USER)
    assert "not valid HTTP" in info.value.message
    assert "SECRET" not in texts(info.value)
    assert server.requests == []


class QuotingVeto:
    """An on_request hook whose refusal quotes the key."""

    @hookimpl
    def on_request(self, call: Any) -> None:
        raise ValueError(f"refusing key {call.api_key.get_secret_value()!r}")


def test_the_key_is_scrubbed_from_a_hooks_refusal(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=liter_llm.testing.openai_chat_body()))
    api = make(api_key=ODD_KEY, transport=transport, hooks=[QuotingVeto()], max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(LiterLlmError) as info:
        api.chat(model="fake/m", messages=USER)
    assert "refusing key" in info.value.message
    assert_no_key(ODD_KEY, info.value, caplog)
    assert ODD_KEY not in repr(getattr(info.value, "reason", ""))
