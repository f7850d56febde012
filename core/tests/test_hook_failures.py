"""Every hook failure is contained (issue 10 item 13), through both clients.

A failing cache backend serves the call uncached; a plugin's bug in
``throttle``, ``auth``, ``parse_error``, ``stream_decoder`` or
``build_request`` is an InternalError naming the plugin and the hook, with
the original chained, and never a bare built-in exception.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm.builtins.cache import register_cache_backend
from liter_llm.errors import InternalError, LiterLlmError
from liter_llm.testing import RecordingTransport, openai_chat_body, openai_chunk, sse_body

USER = S.USER


class OutageBackend:
    """A cache backend whose every operation fails, like Redis during an outage."""

    def __init__(self) -> None:
        self.calls = 0

    def get(self, key: str) -> bytes | None:
        self.calls += 1
        raise ConnectionError("redis: connection refused")

    def set(self, key: str, value: bytes, ttl_seconds: float | None) -> None:
        self.calls += 1
        raise KeyError("redis: READONLY")

    def delete(self, key: str) -> None:
        raise ConnectionError("redis: connection refused")

    def clear(self) -> None:
        raise ConnectionError("redis: connection refused")


@pytest.fixture
def outage() -> OutageBackend:
    backend = OutageBackend()
    register_cache_backend("test-outage", lambda config: backend)
    return backend


def ok() -> RecordingTransport:
    return RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))


def test_a_failing_cache_backend_serves_the_call_uncached_and_logs_once(
    make: Any, outage: OutageBackend, caplog: pytest.LogCaptureFixture
) -> None:
    transport = ok()
    api = make(api_key="k", transport=transport, cache={"max_entries": 10, "backend": "test-outage"})
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        for _ in range(3):
            assert api.chat(model="fake/m", messages=USER).choices[0].message.content == "ok"
    assert len(transport.requests) == 3  # every call went to the network
    assert outage.calls == 6  # a get and a set per call: the backend was tried each time
    logged = [r.getMessage() for r in caplog.records if "cache_backend_failed" in r.getMessage()]
    assert len(logged) == 1, logged
    assert "ConnectionError" in logged[0]
    assert not [r for r in caplog.records if "hook_failed" in r.getMessage()]


def test_a_raising_cached_response_hook_is_a_miss(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    class BrokenCache:
        @hookimpl
        def cached_response(self, call: Any) -> Any:
            raise ConnectionError("down")

    transport = ok()
    api = make(api_key="k", transport=transport, hooks=[BrokenCache()])
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        assert api.chat(model="fake/m", messages=USER).choices[0].message.content == "ok"
    assert len(transport.requests) == 1
    assert any("user-hook-0.cached_response" in r.getMessage() for r in caplog.records)


class Bug:
    """A plugin with a bug in one hook."""

    def __init__(self, hook: str, exc: BaseException) -> None:
        self.exc = exc
        setattr(self, hook, self._make(hook))

    def _make(self, hook: str) -> Any:
        exc = self.exc
        if hook in ("parse_error",):

            @hookimpl
            def impl(call: Any, response: Any) -> Any:
                raise exc

        elif hook in ("auth",):

            @hookimpl
            def impl(call: Any, request: Any) -> Any:
                raise exc

        else:

            @hookimpl
            def impl(call: Any) -> Any:
                raise exc

        return impl


@pytest.mark.parametrize(
    ("hook", "exc"),
    [
        ("throttle", KeyError("bucket")),
        ("auth", ConnectionError("token service")),
        ("build_request", ValueError("cannot map")),
        ("check_budget", ZeroDivisionError("no budget")),
    ],
)
def test_a_bug_in_a_request_hook_is_an_internal_error_naming_it(make: Any, hook: str, exc: Exception) -> None:
    transport = ok()
    errors: list[Any] = []

    class Errors:
        @hookimpl
        def on_error(self, call: Any, error: Any) -> None:
            errors.append(error)

    api = make(api_key="k", transport=transport, hooks=[Errors(), Bug(hook, exc)], max_retries=2)
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == f"user-hook-1.{hook}"
    assert f"user-hook-1.{hook}" in str(info.value)
    assert info.value.__cause__ is exc
    assert info.value.provider == "fake"
    assert transport.requests == []
    assert errors == [info.value]


def test_a_bug_in_parse_error_is_an_internal_error_naming_it(make: Any) -> None:
    transport = RecordingTransport(lambda r: httpx.Response(500, json={"error": {"message": "boom"}}))
    api = make(api_key="k", transport=transport, hooks=[Bug("parse_error", KeyError("error"))], max_retries=3)
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.parse_error"
    assert isinstance(info.value.__cause__, KeyError)
    assert len(transport.requests) == 1  # a plugin's bug is not retried


class TrackedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that records whether it was released."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield self.body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def test_a_bug_in_stream_decoder_is_an_internal_error_and_releases_the_response(make: Any) -> None:
    bodies: list[TrackedStream] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = TrackedStream(sse_body(openai_chunk("hi", role="assistant"), openai_chunk(finish="stop")))
        bodies.append(body)
        return httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})

    errors: list[Any] = []

    class Errors:
        @hookimpl
        def on_error(self, call: Any, error: Any) -> None:
            errors.append(error)

    api = make(
        api_key="k",
        transport=RecordingTransport(handler),
        hooks=[Errors(), Bug("stream_decoder", AttributeError("no decoder"))],
    )
    with pytest.raises(InternalError) as info:
        api.stream(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-1.stream_decoder"
    assert isinstance(info.value.__cause__, AttributeError)
    assert len(bodies) == 1
    assert bodies[0].closed
    assert errors == [info.value]


def test_no_bare_builtin_exception_reaches_the_caller_from_any_guarded_hook(make: Any) -> None:
    for hook in ("on_request", "check_budget", "throttle", "build_request", "auth", "stream_decoder"):
        api = make(api_key="k", transport=ok(), hooks=[Bug(hook, KeyError(hook))])
        run = api.stream if hook == "stream_decoder" else api.chat
        with pytest.raises(LiterLlmError):
            run(model="fake/m", messages=USER)


class BrokenFlow(httpx.Auth):
    """An auth flow with a bug (a token endpoint's answer read without a check)."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        token: dict[str, str] = {}
        request.headers["authorization"] = "Bearer " + token["access_token"]
        yield request


class ReturnsBrokenFlow:
    @hookimpl
    def auth(self, call: Any, request: Any) -> httpx.Auth:
        return BrokenFlow()


def test_a_bug_in_an_auth_flow_is_an_internal_error_naming_the_plugin(make: Any) -> None:
    transport = ok()
    api = make(api_key="k", transport=transport, hooks=[ReturnsBrokenFlow()], max_retries=2)
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.auth"
    assert "BrokenFlow" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)
    assert transport.requests == []


def test_a_decorated_hook_is_guarded_too(make: Any) -> None:
    import functools

    def traced(function: Any) -> Any:
        @functools.wraps(function)
        def inner(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        return inner

    class Decorated:
        @hookimpl
        @traced
        def throttle(self, call: Any) -> float:
            raise KeyError("bucket")

    api = make(api_key="k", transport=ok(), hooks=[Decorated()])
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.throttle"


class _OddThrottle:
    def __init__(self, value: Any) -> None:
        self.value = value

    @hookimpl
    def throttle(self, call: Any) -> Any:
        return self.value


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "soon"])
def test_a_throttle_wait_that_is_not_one_is_an_internal_error_not_a_sleep(make: Any, server: Any, value: Any) -> None:
    api = make(base_url=server.url + "/v1", hooks=[_OddThrottle(value)], max_retries=0)
    with pytest.raises(InternalError) as info:
        api.chat(model="m", messages=[{"role": "user", "content": "hi"}])
    assert info.value.hook == "throttle"
    assert server.requests == []
