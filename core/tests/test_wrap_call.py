"""The whole-call hook ``wrap_call`` through both clients, streams included, and the logging built-in on it."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm.errors import HookRejectedError, InternalError, LiterLlmError, StreamingError
from liter_llm.testing import RecordingTransport, openai_chat_body, openai_chunk, sse_body

USER = S.USER


class Span:
    """A wrap_call plugin that records the life of each call, and the order against other hooks."""

    def __init__(self, log: list[Any] | None = None) -> None:
        self.log: list[Any] = log if log is not None else []

    @hookimpl
    def wrap_call(self, call: Any) -> Generator[None, Any, None]:
        self.log.append(("start", call.operation, call.model))
        try:
            result = yield
        except LiterLlmError as error:
            self.log.append(("error", error))
            raise
        except GeneratorExit:
            self.log.append(("closed",))
            raise
        self.log.append(("ok", result))

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.log.append(("on_request",))

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.log.append(("on_response",))


def stream_reply(*, complete: bool = True) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        payloads = [openai_chunk("he", role="assistant"), openai_chunk("llo")]
        if complete:
            payloads.append(openai_chunk(finish="stop"))
        body = sse_body(*payloads, done=complete)
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return handler


def test_wrap_call_wraps_a_call_from_before_on_request_to_after_on_response(make: Any) -> None:
    span = Span()
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(api_key="k", transport=transport, hooks=[span])
    answer = api.chat(model="fake/m", messages=USER)
    assert [entry[0] for entry in span.log] == ["start", "on_request", "on_response", "ok"]
    assert span.log[0] == ("start", "chat", "m")
    assert span.log[-1][1] is answer


def test_wrap_call_sees_the_error_the_caller_gets_after_the_retries(make: Any) -> None:
    span = Span()
    transport = RecordingTransport(lambda r: httpx.Response(503, json={"error": {"message": "busy"}}))
    api = make(api_key="k", transport=transport, hooks=[span], max_retries=2, retry_initial_delay=0.0)
    with pytest.raises(LiterLlmError) as info:
        api.chat(model="fake/m", messages=USER)
    assert len(transport.requests) == 3
    assert span.log[-1] == ("error", info.value)
    assert [entry[0] for entry in span.log] == ["start", "on_request", "error"]


def test_wrap_call_spans_a_stream_until_it_ends(make: Any) -> None:
    span = Span()
    api = make(api_key="k", transport=RecordingTransport(stream_reply()), hooks=[span])
    stream = api.stream(model="fake/m", messages=USER)
    assert [entry[0] for entry in span.log] == ["start", "on_request"]  # open, not ended
    first = next(stream)
    assert first.choices[0].delta.content == "he"
    assert [entry[0] for entry in span.log] == ["start", "on_request"]
    rest = list(stream)
    assert len(rest) == 2
    assert [entry[0] for entry in span.log] == ["start", "on_request", "on_response", "ok"]
    assembled = span.log[-1][1]
    assert assembled.choices[0].message.content == "hello"
    assert stream.response() is assembled
    stream.close()  # closing a finished stream changes nothing
    assert [entry[0] for entry in span.log][-1] == "ok"


def test_wrap_call_sees_a_stream_that_fails_part_way(make: Any) -> None:
    span = Span()
    api = make(api_key="k", transport=RecordingTransport(stream_reply(complete=False)), hooks=[span])
    with pytest.raises(StreamingError) as info, api.stream(model="fake/m", messages=USER) as stream:
        list(stream)
    assert span.log[-1] == ("error", info.value)
    assert len(info.value.chunks) == 2


def test_wrap_call_is_closed_when_the_caller_closes_a_stream_early(make: Any) -> None:
    span = Span()
    api = make(api_key="k", transport=RecordingTransport(stream_reply()), hooks=[span])
    with api.stream(model="fake/m", messages=USER) as stream:
        next(stream)
    assert span.log[-1] == ("closed",)
    assert [entry[0] for entry in span.log] == ["start", "on_request", "closed"]


def test_wrap_call_sees_a_cache_hit(make: Any) -> None:
    span = Span()
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(api_key="k", transport=transport, hooks=[span], cache={"max_entries": 10})
    api.chat(model="fake/m", messages=USER)
    second = api.chat(model="fake/m", messages=USER)
    assert len(transport.requests) == 1
    assert span.log[-1] == ("ok", second)
    assert second.cache_hit is True


def test_wrap_call_can_refuse_a_call_before_its_yield(make: Any) -> None:
    class Refuse:
        @hookimpl
        def wrap_call(self, call: Any) -> Generator[None, Any, None]:
            raise HookRejectedError("not today")
            yield  # pragma: no cover

    span = Span()
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    # pluggy calls the last registered first: the span starts, then Refuse refuses
    api = make(api_key="k", transport=transport, hooks=[Refuse(), span])
    with pytest.raises(HookRejectedError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.wrap_call"
    assert transport.requests == []
    assert span.log == [("start", "chat", "m"), ("error", info.value)]


def test_a_bug_in_wrap_call_before_its_yield_is_an_internal_error(make: Any) -> None:
    class Buggy:
        @hookimpl
        def wrap_call(self, call: Any) -> Generator[None, Any, None]:
            raise AttributeError("no such tracer")
            yield  # pragma: no cover

    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(api_key="k", transport=transport, hooks=[Buggy()])
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.wrap_call"
    assert isinstance(info.value.__cause__, AttributeError)
    assert transport.requests == []


def test_what_a_wrapper_raises_after_its_yield_is_logged_and_changes_nothing(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        @hookimpl
        def wrap_call(self, call: Any) -> Generator[None, Any, None]:
            yield
            raise RuntimeError("exporter down")

    class Twice:
        @hookimpl
        def wrap_call(self, call: Any) -> Generator[None, Any, None]:
            yield
            yield

    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(api_key="k", transport=transport, hooks=[Broken(), Twice()])
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        assert api.chat(model="fake/m", messages=USER).choices[0].message.content == "ok"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "exporter down" in logged
    assert "yielded more than once" in logged


def test_the_logging_builtin_logs_one_llm_call_event_per_call(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"fail" in request.content:
            return httpx.Response(400, json={"error": {"message": "refused"}})
        return httpx.Response(200, json=openai_chat_body("ok"))

    api = make(api_key="k", transport=RecordingTransport(handler), max_retries=0)
    with caplog.at_level(logging.INFO, logger="liter_llm"):
        api.chat(model="fake/m", messages=USER)
        with pytest.raises(LiterLlmError):
            api.chat(model="fake/m", messages=[{"role": "user", "content": "fail"}])
    calls = [r for r in caplog.records if "llm_call" in r.getMessage()]
    assert len(calls) == 2
    ok, failed = calls
    assert ok.levelno == logging.INFO
    assert "outcome='ok'" in ok.getMessage()
    assert "provider='fake'" in ok.getMessage()
    assert "prompt_tokens=5" in ok.getMessage()
    assert failed.levelno == logging.WARNING
    assert "outcome='error'" in failed.getMessage()
    assert "BadRequestError" in failed.getMessage()
    assert "sk-" not in ok.getMessage()


def test_the_logging_builtin_can_be_left_out(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(api_key="k", transport=transport, disable_plugins=["logging"])
    with caplog.at_level(logging.INFO, logger="liter_llm"):
        api.chat(model="fake/m", messages=USER)
    assert not [r for r in caplog.records if "llm_call" in r.getMessage()]


def test_wrap_call_is_closed_when_an_async_call_is_cancelled() -> None:
    import asyncio

    import liter_llm

    span = Span()

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=openai_chat_body("late"))

    async def main() -> None:
        async with liter_llm.create_async_client(
            api_key="k", model_hint="fake", transport=httpx.MockTransport(hang), hooks=[span]
        ) as client:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.chat(model="fake/m", messages=USER), 0.2)

    asyncio.run(main())
    assert [entry[0] for entry in span.log] == ["start", "on_request", "closed"]


def test_the_logging_builtin_stays_out_of_calls_when_info_is_off(make: Any) -> None:
    logger = logging.getLogger("liter_llm")
    before = logger.level
    logger.setLevel(logging.WARNING)
    try:
        transport = RecordingTransport(stream_reply())
        api = make(api_key="k", transport=transport)
        with api.stream(model="fake/m", messages=USER) as stream:
            list(stream)
            core = stream.stream._core
            assert core.call._wrappers == []
            assert core.assembled is None  # nothing needed the assembled response
    finally:
        logger.setLevel(before)
