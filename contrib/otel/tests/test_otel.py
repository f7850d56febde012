"""liter-llm-otel through both clients, with the real OpenTelemetry SDK and its in-memory exporters."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import liter_llm
import liter_llm_otel
from liter_llm.clock import ManualClock
from liter_llm.errors import BadRequestError, LiterLlmError, RateLimitedError, StreamingError
from liter_llm.testing import openai_chat_body, openai_chunk, sse_body

BASE = "http://127.0.0.1:9/v1"
KEY = "sk-otel-secret-key-1234567890"
USER = [{"role": "user", "content": "Say hi"}]
MODES = ["sync", "async"]


class Otel:
    """A tracer and a meter provider of the real SDK, exporting to memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def table(self, **extra: Any) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider, **extra}

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def call_spans(self) -> list[Any]:
        return [s for s in self.spans() if s.name.startswith(("chat", "embeddings"))]

    def metrics(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        if data is None:
            return out
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


@pytest.fixture
def otel() -> Otel:
    return Otel()


def options(otel: Otel, handler: Callable[[httpx.Request], httpx.Response], **extra: Any) -> dict[str, Any]:
    plugins = {"otel": otel.table(**extra.pop("settings", {}))}
    return {
        "api_key": KEY,
        "base_url": BASE,
        "model_hint": "openai",
        "transport": httpx.MockTransport(handler),
        "plugins": plugins,
        **extra,
    }


def run(mode: str, opts: dict[str, Any], method: str = "chat", **request: Any) -> Any:
    """Make one call with the client of ``mode``; return its answer or its LiterLlmError."""
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            try:
                return getattr(client, method)(**request)
            except LiterLlmError as error:
                return error

    async def main() -> Any:
        async with liter_llm.create_async_client(**opts) as client:
            try:
                return await getattr(client, method)(**request)
            except LiterLlmError as error:
                return error

    return asyncio.run(main())


def ok(request: httpx.Request) -> httpx.Response:
    body = openai_chat_body("hello", model="gpt-4o-2024-08-06", usage=(11, 3))
    body["id"] = "chatcmpl-42"
    return httpx.Response(200, json=body)


def streaming(*, complete: bool = True) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        payloads = [openai_chunk("he", role="assistant"), openai_chunk("llo")]
        if complete:
            payloads.append(openai_chunk(finish="stop"))
        body = sse_body(*payloads, done=complete)
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return handler


def everything_recorded(otel: Otel) -> str:
    """Every attribute of every span and data point, as one string (to look for secrets in)."""
    parts = [json.dumps(dict(s.attributes or {}), default=str) + str(s.status.description) for s in otel.spans()]
    for points in otel.metrics().values():
        parts.extend(json.dumps(dict(p.attributes or {}), default=str) for p in points)
    return "\n".join(parts)


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_chat_is_one_client_span_on_the_genai_conventions(otel: Otel, mode: str) -> None:
    answer = run(
        mode, options(otel, ok), model="gpt-4o", messages=USER, temperature=0.2, max_tokens=50, top_p=0.9, stop="END"
    )
    assert answer.choices[0].message.content == "hello"
    [span] = otel.spans()
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert "gen_ai.system" not in attrs  # the deprecated name
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["gen_ai.response.id"] == "chatcmpl-42"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 11
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == 9
    assert attrs["liter_llm.attempts"] == 1
    assert "gen_ai.request.stream" not in attrs
    assert "gen_ai.input.messages" not in attrs  # content is opt-in
    assert "gen_ai.output.messages" not in attrs


@pytest.mark.parametrize("mode", MODES)
def test_the_two_metrics_have_the_conventions_attributes_and_buckets(otel: Otel, mode: str) -> None:
    clock = ManualClock()
    run(mode, options(otel, ok, settings={"clock": clock}), model="gpt-4o", messages=USER)
    got = otel.metrics()
    [duration] = got["gen_ai.client.operation.duration"]
    assert tuple(duration.explicit_bounds) == liter_llm_otel.DURATION_BUCKETS
    assert duration.count == 1
    assert duration.sum == 0.0  # the injected clock did not move
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "server.address": "127.0.0.1",
        "server.port": 9,
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in got["gen_ai.client.token.usage"]}
    assert set(tokens) == {"input", "output"}
    assert tokens["input"].sum == 11
    assert tokens["output"].sum == 3
    assert tuple(tokens["input"].explicit_bounds) == liter_llm_otel.TOKEN_BUCKETS
    assert tokens["output"].attributes["gen_ai.provider.name"] == "openai"


@pytest.mark.parametrize("mode", MODES)
def test_cost_is_a_namespaced_extra_on_the_span_and_a_counter(otel: Otel, mode: str) -> None:
    run(mode, options(otel, ok, cost_tracking=True), model="gpt-4o", messages=USER)
    [span] = otel.spans()
    cost = span.attributes["liter_llm.cost_usd"]
    assert cost > 0
    [point] = otel.metrics()["liter_llm.client.cost"]
    assert point.value == pytest.approx(cost)


@pytest.mark.parametrize("mode", MODES)
def test_cache_reasoning_and_cache_creation_tokens(otel: Otel, mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = openai_chat_body("hi", usage=(100, 40))
        body["usage"]["prompt_tokens_details"] = {"cached_tokens": 60, "cache_creation_tokens": 30}
        body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 25}
        return httpx.Response(200, json=body)

    run(mode, options(otel, handler), model="gpt-4o", messages=USER)
    attrs = otel.spans()[0].attributes
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 60
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 30
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 25


@pytest.mark.parametrize("mode", MODES)
def test_a_failure_sets_error_type_and_the_error_status(otel: Otel, mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "bad model", "code": "model_not_found"}})

    error = run(mode, options(otel, handler), model="gpt-4o", messages=USER)
    assert isinstance(error, LiterLlmError)
    [span] = otel.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(error).__name__
    assert span.attributes["http.response.status_code"] == 400
    [duration] = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == type(error).__name__
    assert "gen_ai.client.token.usage" not in otel.metrics()


@pytest.mark.parametrize("mode", MODES)
def test_a_retried_call_is_one_span_with_a_child_per_attempt(otel: Otel, mode: str) -> None:
    replies = iter([httpx.Response(429, json={"error": {"message": "slow down"}}), None])

    def handler(request: httpx.Request) -> httpx.Response:
        reply = next(replies)
        return reply if reply is not None else ok(request)

    clock = ManualClock()
    opts = options(otel, handler, settings={"clock": clock}, clock=clock, max_retries=2, retry_initial_delay=1.0)
    run(mode, opts, model="gpt-4o", messages=USER)
    [call_span] = otel.call_spans()
    assert call_span.attributes["liter_llm.attempts"] == 2
    assert call_span.status.status_code is StatusCode.UNSET
    attempts = sorted((s for s in otel.spans() if s.name.startswith("attempt")), key=lambda s: s.start_time)
    assert [s.name for s in attempts] == ["attempt 1", "attempt 2"]
    for child in attempts:
        assert child.parent.span_id == call_span.context.span_id
        assert child.context.trace_id == call_span.context.trace_id
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert attempts[0].attributes["error.type"] == "RateLimitedError"
    assert attempts[0].attributes["http.response.status_code"] == 429
    assert attempts[1].status.status_code is StatusCode.UNSET
    assert attempts[1].attributes["http.response.status_code"] == 200
    [duration] = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.sum == pytest.approx(sum(clock.sleeps))  # the backoff, on the injected clock
    [wait] = clock.sleeps
    # the attempt span ended at its answer, before the backoff: the wait is between the two spans
    assert attempts[0].end_time == attempts[0].start_time  # the injected clock did not move during it
    assert attempts[1].start_time - attempts[0].end_time == pytest.approx(wait * 1e9, abs=1e3)
    assert call_span.start_time <= attempts[0].start_time
    assert attempts[1].end_time <= call_span.end_time


@pytest.mark.parametrize("mode", MODES)
def test_a_call_that_was_not_retried_has_no_attempt_spans(otel: Otel, mode: str) -> None:
    run(mode, options(otel, ok), model="gpt-4o", messages=USER)
    assert [s.name for s in otel.spans()] == ["chat gpt-4o"]


def by_model(answers: dict[str, int]) -> Callable[[httpx.Request], httpx.Response]:
    """A provider that answers each model with its status (200: a chat answer)."""

    def handler(request: httpx.Request) -> httpx.Response:
        status = answers[json.loads(request.content)["model"]]
        if status == 200:
            return ok(request)
        return httpx.Response(status, json={"error": {"message": f"{status} for you"}})

    return handler


def fallback_spans(otel: Otel) -> tuple[Any, list[Any]]:
    """The group span of a call that could fall back, and its children (the models tried), in order."""
    [group] = [
        s
        for s in otel.spans()
        if s.kind is SpanKind.INTERNAL
        and s.instrumentation_scope.name == liter_llm_otel.SCOPE
        and not s.name.startswith("attempt")
    ]
    children = sorted(
        (s for s in otel.spans() if s.parent is not None and s.parent.span_id == group.context.span_id),
        key=lambda s: s.attributes["liter_llm.fallback.index"],
    )
    return group, children


@pytest.mark.parametrize("mode", MODES)
def test_a_fallback_is_one_call_span_with_a_child_per_model_tried(otel: Otel, mode: str) -> None:
    handler = by_model({"gpt-4o": 503, "gpt-4o-mini": 429, "gpt-4.1": 200})
    tracer = otel.tracer_provider.get_tracer("app")
    opts = options(otel, handler, fallbacks=["openai/gpt-4o-mini", "openai/gpt-4.1"], max_retries=0)
    with tracer.start_as_current_span("request") as parent:
        answer = run(mode, opts, model="gpt-4o", messages=USER)
    assert not isinstance(answer, LiterLlmError)
    group, children = fallback_spans(otel)
    assert group.name == "chat gpt-4o"
    assert group.parent.span_id == parent.get_span_context().span_id
    assert group.status.status_code is StatusCode.UNSET
    assert group.attributes["liter_llm.fallback.models"] == ("gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4.1")
    assert group.attributes["liter_llm.fallback.tried"] == 3
    assert "gen_ai.operation.name" not in group.attributes  # the children are the GenAI spans: not counted twice
    assert [c.name for c in children] == ["chat gpt-4o", "chat gpt-4o-mini", "chat gpt-4.1"]
    for child in children:
        assert child.kind is SpanKind.CLIENT
        assert child.attributes["gen_ai.provider.name"] == "openai"
        assert child.context.trace_id == group.context.trace_id
        assert group.start_time <= child.start_time <= child.end_time <= group.end_time
    assert [c.attributes["gen_ai.request.model"] for c in children] == ["gpt-4o", "gpt-4o-mini", "gpt-4.1"]
    assert children[0].attributes["error.type"] == "ServiceUnavailableError"
    assert children[1].attributes["error.type"] == "RateLimitedError"
    assert children[0].status.status_code is StatusCode.ERROR
    assert "error.type" not in children[2].attributes
    assert children[2].attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"


@pytest.mark.parametrize("mode", MODES)
def test_a_fallback_that_fails_everywhere_is_an_error_group(otel: Otel, mode: str) -> None:
    handler = by_model({"gpt-4o": 503, "gpt-4o-mini": 400})
    opts = options(otel, handler, fallbacks=["openai/gpt-4o-mini", "openai/gpt-4.1"], max_retries=0)
    error = run(mode, opts, model="gpt-4o", messages=USER)
    assert isinstance(error, LiterLlmError)
    group, children = fallback_spans(otel)
    assert group.status.status_code is StatusCode.ERROR
    assert group.attributes["error.type"] == type(error).__name__
    assert group.attributes["liter_llm.fallback.tried"] == 2  # a bad request is not worth the third model
    assert [c.name for c in children] == ["chat gpt-4o", "chat gpt-4o-mini"]
    assert [c.attributes["error.type"] for c in children] == ["ServiceUnavailableError", type(error).__name__]


@pytest.mark.parametrize("mode", MODES)
def test_a_fallback_that_answers_first_is_the_group_and_one_child(otel: Otel, mode: str) -> None:
    opts = options(otel, ok, fallbacks=["openai/gpt-4o-mini"], max_retries=0)
    run(mode, opts, model="gpt-4o", messages=USER)
    group, children = fallback_spans(otel)
    assert group.attributes["liter_llm.fallback.tried"] == 1
    assert [c.name for c in children] == ["chat gpt-4o"]


@pytest.mark.parametrize("mode", MODES)
def test_a_streamed_fallback_group_lasts_until_the_stream_ends(otel: Otel, mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["model"] == "gpt-4o":
            return httpx.Response(503, json={"error": {"message": "down"}})
        return streaming()(request)

    opts = options(otel, handler, fallbacks=["openai/gpt-4o-mini"], max_retries=0)
    chunks = stream_to_end(mode, opts)
    assert len(chunks) == 3
    group, children = fallback_spans(otel)
    assert [c.name for c in children] == ["chat gpt-4o", "chat gpt-4o-mini"]
    assert group.status.status_code is StatusCode.UNSET
    assert children[1].attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert children[1].end_time <= group.end_time


@pytest.mark.parametrize("mode", MODES)
def test_a_streamed_fallback_closed_early_closes_the_group(otel: Otel, mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["model"] == "gpt-4o":
            return httpx.Response(503, json={"error": {"message": "down"}})
        return streaming()(request)

    opts = options(otel, handler, fallbacks=["openai/gpt-4o-mini"], max_retries=0)
    assert len(stream_to_end(mode, opts, close_after=1)) == 1
    group, children = fallback_spans(otel)
    assert group.attributes["liter_llm.outcome"] == "closed"
    assert children[1].attributes["liter_llm.outcome"] == "closed"


@pytest.mark.parametrize("mode", MODES)
def test_a_cache_hit_is_a_span_marked_as_one(otel: Otel, mode: str) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return ok(request)

    opts = options(otel, handler, cache={"max_entries": 10})
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            client.chat(model="gpt-4o", messages=USER)
            client.chat(model="gpt-4o", messages=USER)
    else:

        async def main() -> None:
            async with liter_llm.create_async_client(**opts) as client:
                await client.chat(model="gpt-4o", messages=USER)
                await client.chat(model="gpt-4o", messages=USER)

        asyncio.run(main())
    assert len(requests) == 1
    first, second = otel.spans()
    assert "liter_llm.cache_hit" not in first.attributes
    assert second.attributes["liter_llm.cache_hit"] is True
    assert second.attributes["gen_ai.response.id"] == "chatcmpl-42"


def stream_to_end(mode: str, opts: dict[str, Any], *, close_after: int | None = None) -> list[Any]:
    """Read a stream to its end (or close it after ``close_after`` chunks); return the chunks or the error."""
    got: list[Any] = []
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            try:
                with client.chat_stream(model="gpt-4o", messages=USER) as stream:
                    for chunk in stream:
                        got.append(chunk)
                        if close_after is not None and len(got) >= close_after:
                            break
            except LiterLlmError as error:
                got.append(error)
        return got

    async def main() -> None:
        async with liter_llm.create_async_client(**opts) as client:
            try:
                async with await client.chat_stream(model="gpt-4o", messages=USER) as stream:
                    async for chunk in stream:
                        got.append(chunk)
                        if close_after is not None and len(got) >= close_after:
                            break
            except LiterLlmError as error:
                got.append(error)

    asyncio.run(main())
    return got


def paced(
    clock: ManualClock, pieces: list[tuple[float, bytes]], mode: str
) -> Callable[[httpx.Request], httpx.Response]:
    """A streamed answer whose pieces arrive at the injected clock's times: (seconds to wait first, bytes)."""

    def handler(request: httpx.Request) -> httpx.Response:
        def body() -> Any:
            for wait, data in pieces:
                clock.advance(wait)
                yield data

        async def abody() -> Any:
            for item in body():
                yield item

        content = body() if mode == "sync" else abody()
        return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})

    return handler


@pytest.mark.parametrize("mode", MODES)
def test_time_to_first_chunk_and_time_per_chunk_come_from_the_clients_clock(otel: Otel, mode: str) -> None:
    clock = ManualClock()
    pieces = [
        (1.5, sse_body(openai_chunk("he", role="assistant"), done=False)),
        (0.25, sse_body(openai_chunk("l"), done=False)),
        (0.25, sse_body(openai_chunk("lo"), openai_chunk(finish="stop"), done=False)),  # two chunks in one read
        (0.0, b"data: [DONE]\n\n"),
    ]
    chunks = stream_to_end(mode, options(otel, paced(clock, pieces, mode), clock=clock))
    assert len(chunks) == 4
    [span] = otel.spans()
    assert span.attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(1.5)
    got = otel.metrics()
    [first] = got["gen_ai.client.operation.time_to_first_chunk"]
    assert first.sum == pytest.approx(1.5)
    [per_chunk] = got["gen_ai.client.operation.time_per_output_chunk"]
    assert per_chunk.count == 1  # one value per stream: the mean gap after the first chunk
    assert per_chunk.sum == pytest.approx(0.5 / 3)
    assert tuple(per_chunk.explicit_bounds) == liter_llm_otel.DURATION_BUCKETS
    assert per_chunk.attributes["gen_ai.request.model"] == "gpt-4o"


def test_the_plugin_has_no_per_chunk_hook() -> None:
    assert not hasattr(liter_llm_otel, "parse_stream_event")
    assert not hasattr(liter_llm_otel, "stream_decoder")


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_span_lasts_until_the_stream_ends_with_time_to_first_chunk(otel: Otel, mode: str) -> None:
    clock = ManualClock()
    chunks = stream_to_end(mode, options(otel, streaming(), settings={"clock": clock}, clock=clock))
    assert len(chunks) == 3
    [span] = otel.spans()
    assert span.name == "chat gpt-4o"
    attrs = span.attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.time_to_first_chunk"] == 0.0  # the injected clock did not move
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.status.status_code is StatusCode.UNSET
    [first] = otel.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert first.count == 1
    assert tuple(first.explicit_bounds) == liter_llm_otel.DURATION_BUCKETS
    assert first.attributes["gen_ai.provider.name"] == "openai"


@pytest.mark.parametrize("mode", MODES)
def test_a_call_that_does_not_stream_has_no_time_to_first_chunk(otel: Otel, mode: str) -> None:
    run(mode, options(otel, ok), model="gpt-4o", messages=USER)
    assert "gen_ai.client.operation.time_to_first_chunk" not in otel.metrics()
    assert "gen_ai.response.time_to_first_chunk" not in otel.spans()[0].attributes


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_closed_early_ends_its_span_without_an_error(otel: Otel, mode: str) -> None:
    chunks = stream_to_end(mode, options(otel, streaming()), close_after=1)
    assert len(chunks) == 1
    [span] = otel.spans()
    assert span.attributes["liter_llm.outcome"] == "closed"
    assert "gen_ai.response.time_to_first_chunk" in span.attributes
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes
    [duration] = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.count == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_fails_part_way_is_an_error_span(otel: Otel, mode: str) -> None:
    got = stream_to_end(mode, options(otel, streaming(complete=False)))
    assert isinstance(got[-1], StreamingError)
    [span] = otel.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(got[-1]).__name__


@pytest.mark.parametrize("mode", MODES)
def test_message_content_only_on_opt_in(otel: Otel, mode: str) -> None:
    run(mode, options(otel, ok, settings={"capture_message_content": True}), model="gpt-4o", messages=USER)
    attrs = otel.spans()[0].attributes
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}
    ]


@pytest.mark.parametrize("mode", MODES)
def test_message_content_on_opt_in_by_the_environment_variable(
    otel: Otel, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(liter_llm_otel.CAPTURE_CONTENT_ENV, "true")
    run(mode, options(otel, ok), model="gpt-4o", messages=USER)
    assert "gen_ai.input.messages" in otel.spans()[0].attributes
    otel.exporter.clear()
    # the configuration wins over the environment
    run(mode, options(otel, ok, settings={"capture_message_content": False}), model="gpt-4o", messages=USER)
    assert "gen_ai.input.messages" not in otel.spans()[0].attributes


@pytest.mark.parametrize("mode", MODES)
def test_no_key_or_auth_header_in_any_attribute(otel: Otel, mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        return httpx.Response(401, json={"error": {"message": f"bad key {KEY}"}})

    opts = options(otel, handler, settings={"capture_message_content": True, "propagate": True})
    run(mode, opts, model="gpt-4o", messages=USER)
    run(mode, options(otel, ok, settings={"capture_message_content": True}), model="gpt-4o", messages=USER)
    recorded = everything_recorded(otel)
    assert KEY not in recorded
    assert KEY[-8:] not in recorded
    assert "authorization" not in recorded.lower()


@pytest.mark.parametrize("mode", MODES)
def test_traceparent_is_sent_only_on_opt_in(otel: Otel, mode: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    run(mode, options(otel, handler), model="gpt-4o", messages=USER)
    assert "traceparent" not in seen[0].headers
    otel.exporter.clear()
    run(mode, options(otel, handler, settings={"propagate": True}), model="gpt-4o", messages=USER)
    [span] = otel.spans()
    version, trace_id, span_id, _flags = seen[1].headers["traceparent"].split("-")
    assert version == "00"
    assert int(trace_id, 16) == span.context.trace_id
    assert int(span_id, 16) == span.context.span_id


@pytest.mark.parametrize("mode", MODES)
def test_embeddings_span(otel: Otel, mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "object": "list",
                "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "embedding": [1.0, 0.0], "index": 0}],
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            },
        )

    run(mode, options(otel, handler), "embed", model="text-embedding-3-small", input="hi", dimensions=2)
    [span] = otel.spans()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == 4
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 2


def test_concurrent_async_calls_keep_their_parents(otel: Otel) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    parents: dict[int, int] = {}

    async def one(client: Any, index: int) -> None:
        with tracer.start_as_current_span(f"parent-{index}") as parent:
            parents[index] = parent.get_span_context().span_id
            await asyncio.sleep(0)
            await client.chat(model=f"m{index}", messages=USER)

    async def main() -> None:
        async with liter_llm.create_async_client(**options(otel, ok)) as client:
            await asyncio.gather(*(one(client, i) for i in range(8)))

    asyncio.run(main())
    spans = {s.name: s for s in otel.call_spans()}
    assert len(spans) == 8
    for index, parent in parents.items():
        assert spans[f"chat m{index}"].parent.span_id == parent


def test_concurrent_sync_calls_keep_their_parents(otel: Otel) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    parents: dict[int, int] = {}
    with liter_llm.create_client(**options(otel, ok)) as client:

        def one(index: int) -> None:
            with tracer.start_as_current_span(f"parent-{index}") as parent:
                parents[index] = parent.get_span_context().span_id
                client.chat(model=f"m{index}", messages=USER)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    spans = {s.name: s for s in otel.call_spans()}
    assert len(spans) == 8
    for index, parent in parents.items():
        assert spans[f"chat m{index}"].parent.span_id == parent


@pytest.mark.parametrize("mode", MODES)
def test_off_unless_configured(otel: Otel, mode: str) -> None:
    opts = options(otel, ok)
    opts.pop("plugins")
    trace_provider_before = trace.get_tracer_provider()
    run(mode, opts, model="gpt-4o", messages=USER)
    assert otel.spans() == []
    assert trace.get_tracer_provider() is trace_provider_before
    run(mode, options(otel, ok, settings={"enabled": False}), model="gpt-4o", messages=USER)
    assert otel.spans() == []


@pytest.mark.parametrize("mode", MODES)
def test_tracing_true_uses_the_global_providers(mode: str) -> None:
    # with no SDK installed globally the API's no-op providers take the spans: the call still works
    opts = {"api_key": KEY, "base_url": BASE, "model_hint": "openai", "transport": httpx.MockTransport(ok)}
    answer = run(mode, {**opts, "tracing": True}, model="gpt-4o", messages=USER)
    assert answer.choices[0].message.content == "hello"


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_setting_is_a_bad_request_naming_it(otel: Otel, mode: str) -> None:
    error = run(mode, options(otel, ok, settings={"capture_content": True}), model="gpt-4o", messages=USER)
    assert isinstance(error, BadRequestError)
    assert "plugins.otel.capture_content" in str(error)
    error = run(mode, options(otel, ok, settings={"propagate": "maybe"}), model="gpt-4o", messages=USER)
    assert isinstance(error, BadRequestError)
    assert "plugins.otel.propagate" in str(error)


def test_provider_names_follow_the_conventions() -> None:
    assert liter_llm_otel.PROVIDER_NAMES["bedrock"] == "aws.bedrock"
    assert liter_llm_otel.PROVIDER_NAMES["azure"] == "azure.ai.openai"
    assert liter_llm_otel.PROVIDER_NAMES["gemini"] == "gcp.gemini"
    assert liter_llm_otel.PROVIDER_NAMES["vertex_ai"] == "gcp.vertex_ai"
    assert liter_llm_otel.PROVIDER_NAMES["mistral"] == "mistral_ai"


def test_rate_limited_error_type_name() -> None:
    assert liter_llm_otel.error_type(RateLimitedError("slow")) == "RateLimitedError"


def test_the_documented_example_runs() -> None:
    page = (Path(__file__).resolve().parents[3] / "docs" / "observability.md").read_text()
    [block] = re.findall(r"<!-- example: otel -->\n```python\n(.*?)\n```", page, re.S)
    exec(compile(block, "docs/observability.md", "exec"), {})


@pytest.mark.parametrize("mode", MODES)
def test_an_attempt_that_got_no_answer_is_a_failed_child_span(otel: Otel, mode: str) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return ok(request)

    clock = ManualClock()
    run(
        mode, options(otel, handler, clock=clock, max_retries=1, retry_initial_delay=0.5), model="gpt-4o", messages=USER
    )
    attempts = sorted((s for s in otel.spans() if s.name.startswith("attempt")), key=lambda s: s.start_time)
    assert len(attempts) == 2
    assert attempts[0].attributes["error.type"] == "ServiceUnavailableError"
    assert "http.response.status_code" not in attempts[0].attributes
    assert attempts[1].attributes["http.response.status_code"] == 200
    [wait] = clock.sleeps
    # an attempt without an answer ends at its failure too, not when the next attempt starts
    assert attempts[0].end_time == attempts[0].start_time
    assert attempts[1].start_time - attempts[0].end_time == pytest.approx(wait * 1e9, abs=1e3)


@pytest.mark.parametrize("mode", MODES)
def test_a_signed_provider_still_signs_under_the_observed_auth_flow(
    otel: Otel, mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("liter_llm_bedrock")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
            "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
            "stopReason": "end_turn",
        }
        return httpx.Response(200, json=body)

    opts = {"transport": httpx.MockTransport(handler), "max_retries": 0, "plugins": {"otel": otel.table()}}
    answer = run(mode, opts, model="bedrock/amazon.nova-pro-v1:0", messages=USER)
    assert answer.choices[0].message.content == "hi"
    assert seen[0].headers["authorization"].startswith("AWS4-HMAC-SHA256")
    [span] = otel.spans()
    assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert "wJalrXUtnFEMI" not in everything_recorded(otel)


def test_takes_part_only_where_the_configuration_asks_for_tracing() -> None:
    from liter_llm.config import parse_config

    def asks(**data: Any) -> bool:
        return liter_llm_otel.takes_part(parse_config(data))

    assert asks() is False
    assert asks(tracing=True) is True
    assert asks(plugins={"otel": {}}) is True
    assert asks(plugins={"otel": {"enabled": True}}, tracing=False) is True
    assert asks(plugins={"otel": {"enabled": "off"}}) is False
    assert asks(plugins={"otel": {"enabled": False}}, tracing=True) is False  # the table wins
    assert asks(plugins={"other": {}}) is False
    # a setting it cannot read takes part, so that the call reports it
    assert asks(plugins={"otel": {"enabled": "maybe"}}) is True


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_enabled_is_still_reported_by_the_call(otel: Otel, mode: str) -> None:
    error = run(mode, options(otel, ok, settings={"enabled": "maybe"}), model="gpt-4o", messages=USER)
    assert isinstance(error, BadRequestError)
    assert "plugins.otel.enabled" in str(error)
    assert otel.spans() == []
