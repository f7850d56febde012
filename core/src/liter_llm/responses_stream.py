"""Streamed Responses API answers: ``client.create_response_stream(req)``.

OpenAI's Responses API streams *semantic events* as server-sent events
(``response.created``, ``response.output_text.delta``, ...,
``response.completed``; see
https://developers.openai.com/api/reference/resources/responses/streaming-events
and the guide https://developers.openai.com/docs/guides/streaming-responses).
Every event is a JSON object with a ``type`` and a ``sequence_number``; the
stream ends with ``response.completed``, ``response.incomplete`` or
``response.failed``, whose ``response`` is the whole answer (there is no
``[DONE]`` marker), and an ``error`` event is an error.

:class:`ResponseStream` (sync) and :class:`AsyncResponseStream` yield
:class:`ResponseStreamEvent` objects, each holding the event exactly as sent
(``event.data``); ``stream.response()`` reads to the end and returns the final
:class:`~liter_llm.types.ResponseObject`, which is also what the
``on_response`` hooks (cost, budgets, logging) see.  A stream that ends
without a terminal event, or carries an ``error`` event, raises a
:class:`~liter_llm.errors.LiterLlmError` (``StreamingError`` for a cut
stream); closing a stream early releases its connection at once.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm._hooks import finish_wrappers
from liter_llm.errors import LiterLlmError, SerializationError, StreamingError, StreamTimeoutError
from liter_llm.sse import SSEDecoder
from liter_llm.types import ResponseObject

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm._pipeline import Pipeline

__all__ = ["TERMINAL_EVENTS", "AsyncResponseStream", "ResponseStream", "ResponseStreamEvent"]

#: The event types that end a Responses stream (each carries the whole ``response``).
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


@frozen(kw_only=True, slots=True, repr=False, eq=False)
class ResponseStreamEvent(FrozenFields):
    """One event of a streamed Responses API answer.

    Attributes:
        type: the event type (``"response.output_text.delta"``, ...).
        data: the event's JSON object exactly as the provider sent it.
    """

    type: str
    data: dict[str, Any] = attrs.field(repr=False)

    @property
    def sequence_number(self) -> int | None:
        """The event's ``sequence_number``, if it has one."""
        value = self.data.get("sequence_number")
        return value if isinstance(value, int) else None

    @property
    def delta(self) -> str | None:
        """The text of a ``*.delta`` event (``None`` for other events)."""
        value = self.data.get("delta")
        return value if isinstance(value, str) else None

    @property
    def response(self) -> ResponseObject | None:
        """The response object an event carries (``response.created``, ``response.completed``...), parsed."""
        value = self.data.get("response")
        return ResponseObject.from_dict(value) if isinstance(value, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON object (a copy of :attr:`data`)."""
        return dict(self.data)


class _Core:
    """What both stream twins share: decoding, events, the end, failure."""

    def __init__(self, pipeline: Pipeline, call: Call) -> None:
        self.pipeline = pipeline
        self.call = call
        self.hook = pipeline.relay(call.provider)
        self.decoder = SSEDecoder()
        self.events: list[ResponseStreamEvent] = []
        self.pending: deque[ResponseStreamEvent] = deque()
        self.final: ResponseObject | None = None
        self.finished = False
        self.idle_limit = (
            call.config.timeout_secs if call.config.timeout_secs and call.config.timeout_secs > 0 else None
        )
        self.last_event = time.monotonic()

    @property
    def done(self) -> bool:
        return self.call.stream_complete

    def _event(self, name: str, raw: str) -> None:
        from liter_llm._wire import stream_error

        call = self.call
        if self.done:
            return  # nothing after the terminal event counts
        if raw.strip() == "[DONE]":  # not in OpenAI's Responses streams, but some servers add it
            if self.final is None:
                raise StreamingError("the stream ended ([DONE]) before its terminal event", provider=call.provider.name)
            return
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise SerializationError(
                f"a stream event is not valid JSON ({exc}): {raw[:200]!r}", provider=call.provider.name
            ) from None
        if not isinstance(payload, dict):
            raise SerializationError("a stream event is not a JSON object", provider=call.provider.name)
        kind = payload.get("type")
        if not isinstance(kind, str) or not kind:
            kind = name if name != "message" else ""
        if kind == "error" or name == "error" or (payload.get("error") is not None and not kind):
            inner = payload.get("error") if isinstance(payload.get("error"), dict) else payload
            raise stream_error(call, {"error": inner})
        if not kind:
            raise SerializationError("a stream event has no 'type'", provider=call.provider.name)
        event = ResponseStreamEvent(type=kind, data=payload)
        if kind in TERMINAL_EVENTS:
            response = payload.get("response")
            if not isinstance(response, dict) or not response.get("id"):
                raise SerializationError(f"the {kind} event carries no response", provider=call.provider.name)
            self.final = ResponseObject.from_dict(response)
            call.stream_complete = True
        self.pending.append(event)
        self.events.append(event)

    def feed(self, data: bytes) -> None:
        now = time.monotonic()
        before = len(self.events)
        for sse in self.decoder.feed(data):
            self._event(sse.event, sse.data)
        if len(self.events) != before:
            self.last_event = now
        elif self.idle_limit is not None and now - self.last_event > self.idle_limit:
            raise StreamTimeoutError(
                f"the stream produced nothing for more than {self.idle_limit} s", provider=self.call.provider.name
            )

    def opening(self, response: httpx.Response) -> bool:
        """True for a whole JSON answer (a server that ignored ``stream: true``); refuse what is neither."""
        media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not media or media == "text/event-stream":
            return False
        if media == "application/json" or media.endswith("+json"):
            return True
        raise SerializationError(
            f"the stream answer has content type {media!r}, not an event stream (text/event-stream)",
            provider=self.call.provider.name,
        )

    def serve_json(self, response: httpx.Response) -> None:
        """A whole (already read) Responses answer to a stream request: one ``response.completed`` event."""
        call = self.call
        view = attrs.evolve(call, operation="create_response")
        try:
            result = self.hook.parse_response(call=view, response=response)
        except LiterLlmError as exc:
            if exc.provider is None:
                exc.provider = call.provider.name
            raise
        except Exception as exc:
            raise SerializationError(
                f"the JSON answer to a stream request could not be read: {type(exc).__name__}",
                provider=call.provider.name,
            ) from exc
        if not isinstance(result, ResponseObject):
            raise SerializationError(
                "the JSON answer to a stream request is not a response", provider=call.provider.name
            )
        self._event("response.completed", json.dumps({"type": "response.completed", "response": result.to_dict()}))

    def end_of_input(self) -> None:
        for sse in self.decoder.close():
            self._event(sse.event, sse.data)
        if not self.done:
            raise StreamingError(
                f"the connection closed before the stream ended ({len(self.events)} events received)",
                provider=self.call.provider.name,
            )

    def fail(self, exc: BaseException) -> LiterLlmError:
        from liter_llm._transport_errors import _transport_error, scrub_key

        provider = self.call.provider.name
        if isinstance(exc, LiterLlmError):
            error = exc
        elif isinstance(exc, httpx.TimeoutException):
            error = StreamTimeoutError(f"the stream timed out: {exc or type(exc).__name__}", provider=provider)
        elif isinstance(exc, httpx.HTTPError):
            mapped = _transport_error(exc, provider, reading=True)
            error = StreamingError(f"the stream failed: {mapped.message}", provider=provider)
        else:
            error = StreamingError(f"the stream failed: {type(exc).__name__}: {exc}", provider=provider)
        error.events = list(self.events)  # type: ignore[attr-defined]
        scrub_key(error, self.call.api_key)
        self.finished = True
        self.pipeline.fail(self.call, self.hook, error)
        return error

    def complete(self) -> None:
        self.finished = True
        final = self.final
        self.pipeline.notify_response(self.call, self.hook, final)
        finish_wrappers(self.call, result=final)

    def abandon(self) -> None:
        self.pending.clear()  # a closed stream yields nothing more
        if not self.finished:
            self.finished = True
            finish_wrappers(self.call, closed=True)

    def result(self) -> ResponseObject:
        if self.final is None:
            raise StreamingError("the stream has no final response", provider=self.call.provider.name)
        return self.final


def _core(pipeline: Pipeline, call: Call) -> _Core:
    return _Core(pipeline, call)


class ResponseStream:
    """A streamed Responses API answer (sync): iterate it for :class:`ResponseStreamEvent` objects."""

    def __init__(self, pipeline: Pipeline, call: Call, response: httpx.Response) -> None:
        self._core = _core(pipeline, call)
        self._response = response
        self._bytes: Iterator[bytes] | None = None
        self._closed = False

    @property
    def events(self) -> list[ResponseStreamEvent]:
        """Every event received so far."""
        return self._core.events

    def __iter__(self) -> Iterator[ResponseStreamEvent]:
        return self

    def __next__(self) -> ResponseStreamEvent:
        core = self._core
        while True:
            if core.pending:
                return core.pending.popleft()
            if core.finished or (self._closed and not core.done):
                raise StopIteration
            if core.done:
                self._release()
                core.complete()
                continue
            try:
                if self._bytes is None:
                    if core.opening(self._response):
                        from liter_llm._drivers import read_sync
                        from liter_llm._flow import Read

                        call = core.call
                        read_sync(
                            Read(self._response, call.config.max_response_bytes, call.deadline, call.provider.name)
                        )
                        core.serve_json(self._response)
                        continue
                    self._bytes = self._response.iter_bytes()
                data = next(self._bytes, None)
                if data is None:
                    core.end_of_input()
                    continue
                core.feed(data)
            except BaseException as exc:
                self._release()
                if not isinstance(exc, Exception):
                    core.abandon()
                    raise
                raise core.fail(exc) from (exc if not isinstance(exc, LiterLlmError) else None)

    def response(self) -> ResponseObject:
        """Read the rest of the stream and return the final response object."""
        for _ in self:
            pass
        return self._core.result()

    def close(self) -> None:
        """Close the stream and release its connection (safe to call more than once)."""
        self._release()
        self._core.abandon()

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            self._response.close()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            try:
                self._response.close()
                self._core.abandon()
            except Exception:
                pass


class AsyncResponseStream:
    """A streamed Responses API answer (async): ``async for`` it for :class:`ResponseStreamEvent` objects."""

    def __init__(self, pipeline: Pipeline, call: Call, response: httpx.Response) -> None:
        self._core = _core(pipeline, call)
        self._response = response
        self._bytes: AsyncIterator[bytes] | None = None
        self._closed = False

    @property
    def events(self) -> list[ResponseStreamEvent]:
        """Every event received so far."""
        return self._core.events

    def __aiter__(self) -> AsyncResponseStream:
        return self

    async def __anext__(self) -> ResponseStreamEvent:
        core = self._core
        while True:
            if core.pending:
                return core.pending.popleft()
            if core.finished or (self._closed and not core.done):
                raise StopAsyncIteration
            if core.done:
                await self._release()
                core.complete()
                continue
            try:
                if self._bytes is None:
                    if core.opening(self._response):
                        from liter_llm._drivers import read_async
                        from liter_llm._flow import Read

                        call = core.call
                        await read_async(
                            Read(self._response, call.config.max_response_bytes, call.deadline, call.provider.name)
                        )
                        core.serve_json(self._response)
                        continue
                    self._bytes = self._response.aiter_bytes()
                try:
                    data = await self._bytes.__anext__()
                except StopAsyncIteration:
                    core.end_of_input()
                    continue
                core.feed(data)
            except BaseException as exc:
                await self._release()
                if not isinstance(exc, Exception):  # cancelled: no outcome
                    core.abandon()
                    raise
                raise core.fail(exc) from (exc if not isinstance(exc, LiterLlmError) else None)

    async def response(self) -> ResponseObject:
        """Read the rest of the stream and return the final response object."""
        async for _ in self:
            pass
        return self._core.result()

    async def aclose(self) -> None:
        """Close the stream and release its connection (safe to call more than once; shielded from cancellation)."""
        await self._release()
        self._core.abandon()

    async def _release(self) -> None:
        if not self._closed:
            self._closed = True
            from liter_llm._drivers import release_async

            await release_async(self._response)

    close = aclose

    async def __aenter__(self) -> AsyncResponseStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
