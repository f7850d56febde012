"""Streamed chat: the stream objects returned by ``chat_stream`` and the assembler.

``client.chat_stream(req)`` returns a :class:`ChatStream` (a
:class:`AsyncChatStream` on the async client): iterate it for
:class:`~liter_llm.types.ChatCompletionChunk` objects, use it as a context
manager, close it early at any time without leaking the connection.  A stream
that fails part-way raises :class:`~liter_llm.errors.StreamingError` whose
``chunks`` hold everything that arrived.  :func:`assemble_stream` (or
``stream.response()``) builds the full ``ChatCompletionResponse``.
"""

from __future__ import annotations

import functools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from liter_llm._body import abody_pieces, body_pieces
from liter_llm._dispatch import has_impls
from liter_llm._hooks import finish_wrappers
from liter_llm.clock import SystemClock
from liter_llm.errors import (
    LiterLlmError,
    SerializationError,
    StreamingError,
    StreamTimeoutError,
)
from liter_llm.sse import SSEDecoder
from liter_llm.types import (
    AssistantMessage,
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    ToolCall,
    ToolType,
    Usage,
)

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm._pipeline import Pipeline
    from liter_llm.types import ChatCompletionChunk, StreamChoice  # built on first use: chunks_of imports them

__all__ = ["AsyncChatStream", "ChatStream", "assemble_stream"]

#: After ``[DONE]``, how long (seconds) and how much (bytes) is waited for the end of the body
#: so that the connection can go back to the pool; a longer tail is cut by closing the connection.
DRAIN_SECS = 0.05
DRAIN_BYTES = 64 * 1024


class _ChoiceParts:
    __slots__ = (
        "by_id",
        "content",
        "current",
        "finish_reason",
        "function_call",
        "reasoning",
        "refusal",
        "role",
        "tools",
    )

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.role: str | None = None
        self.finish_reason: Any = None
        self.tools: dict[Any, dict[str, Any]] = {}  # by index, then in order of first appearance
        self.current: dict[int, Any] = {}  # index -> the key of the call last seen at that index
        self.by_id: dict[str, Any] = {}  # tool call id -> key
        self.function_call: dict[str, list[str]] | None = None

    def tool_slot(self, index: int, ident: str | None) -> dict[str, Any]:
        """The tool call a delta belongs to: by ``id`` when it has one, else by ``index``.

        A delta whose ``id`` differs from the call already at its index (a
        provider that sends parallel calls without ``index``) starts a call of
        its own; a delta without ``id`` continues the call at its index.
        """
        key = self.current.get(index)
        if ident:
            known = self.by_id.get(ident)
            if known is not None:
                key = known
            elif key is None or self.tools[key]["id"] not in (None, ident):
                key = (index, ident)
        if key is None:
            key = index
        slot = self.tools.get(key)
        if slot is None:
            slot = self.tools[key] = {"id": None, "name": [], "arguments": [], "index": index}
        if ident:
            slot["id"] = ident
            self.by_id[ident] = key
        self.current[index] = key
        return slot


def _add_name(parts: list[str], name: str) -> None:
    """Add a function-name delta: a name sent again whole (some providers repeat it) is not doubled."""
    so_far = "".join(parts)
    if not so_far:
        parts.append(name)
    elif name == so_far:
        return
    elif name.startswith(so_far):  # the whole name so far, sent again with more
        parts[:] = [name]
    else:
        parts.append(name)


def assemble_stream(chunks: Iterable[ChatCompletionChunk]) -> ChatCompletionResponse:
    """Build the ``ChatCompletionResponse`` a stream of chunks amounts to.

    Content, refusal and reasoning deltas are joined; tool calls are assembled
    from their argument deltas by ``index``, or by ``id`` where deltas with
    different ids share an index (parallel tool calls stay apart), and a
    function name repeated in several deltas is kept once; the last
    finish_reason and the last usage win.
    """
    choices: dict[int, _ChoiceParts] = {}
    first: ChatCompletionChunk | None = None
    usage: Usage | None = None
    for chunk in chunks:
        if first is None:
            first = chunk
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            parts = choices.get(choice.index)
            if parts is None:
                parts = choices[choice.index] = _ChoiceParts()
            delta = choice.delta
            if delta.role:
                parts.role = delta.role
            if delta.content:
                parts.content.append(delta.content)
            if delta.refusal:
                parts.refusal.append(delta.refusal)
            reasoning = getattr(delta, "reasoning_content", None)
            if reasoning:
                parts.reasoning.append(reasoning)
            for call in delta.tool_calls or ():
                slot = parts.tool_slot(call.index, call.id)
                if call.function is not None:
                    if call.function.name:
                        _add_name(slot["name"], call.function.name)
                    if call.function.arguments:
                        slot["arguments"].append(call.function.arguments)
            if delta.function_call is not None:
                fc = parts.function_call or {"name": [], "arguments": []}
                parts.function_call = fc
                if delta.function_call.name:
                    _add_name(fc["name"], delta.function_call.name)
                if delta.function_call.arguments:
                    fc["arguments"].append(delta.function_call.arguments)
            if choice.finish_reason is not None:
                parts.finish_reason = choice.finish_reason
    result_choices = []
    for index in sorted(choices):
        parts = choices[index]
        tool_calls = [
            ToolCall(
                id=slot["id"] or f"call_{index}_{tool_index}",
                call_type=ToolType.FUNCTION,
                function=FunctionCall(name="".join(slot["name"]), arguments="".join(slot["arguments"])),
            )
            for tool_index, slot in enumerate(sorted(parts.tools.values(), key=lambda slot: slot["index"]))
        ]
        message = AssistantMessage(
            content="".join(parts.content) if parts.content else None,
            refusal="".join(parts.refusal) if parts.refusal else None,
            tool_calls=tool_calls,
            function_call=(
                FunctionCall(
                    name="".join(parts.function_call["name"]), arguments="".join(parts.function_call["arguments"])
                )
                if parts.function_call
                else None
            ),
            reasoning_content="".join(parts.reasoning) if parts.reasoning else None,
        )
        result_choices.append(Choice(index=index, message=message, finish_reason=parts.finish_reason))
    return ChatCompletionResponse(
        id=first.id if first else "",
        object="chat.completion",
        created=first.created if first else 0,
        model=first.model if first else "",
        choices=result_choices,
        usage=usage,
        system_fingerprint=first.system_fingerprint if first else None,
        service_tier=first.service_tier if first else None,
    )


def chunks_of(response: ChatCompletionResponse) -> list[ChatCompletionChunk]:
    """The chunks a stream of ``response`` would have been: one per choice, then one with the usage."""
    from liter_llm.types import ChatCompletionChunk, StreamChoice, StreamDelta, StreamFunctionCall, StreamToolCall

    chunks: list[ChatCompletionChunk] = []

    def chunk(choices: list[StreamChoice], usage: Usage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=response.id,
            created=response.created,
            model=response.model,
            choices=choices,
            usage=usage,
            system_fingerprint=response.system_fingerprint,
            service_tier=response.service_tier,
        )

    for choice in response.choices:
        message = choice.message
        function_call = message.function_call
        delta = StreamDelta(
            role="assistant",
            content=message.content,
            refusal=message.refusal,
            reasoning_content=message.reasoning_content,
            tool_calls=[
                StreamToolCall(
                    index=index,
                    id=call.id,
                    call_type=call.call_type,
                    function=StreamFunctionCall(name=call.function.name, arguments=call.function.arguments),
                )
                for index, call in enumerate(message.tool_calls)
            ],
            function_call=(
                StreamFunctionCall(name=function_call.name, arguments=function_call.arguments)
                if function_call is not None
                else None
            ),
        )
        chunks.append(chunk([StreamChoice(index=choice.index, delta=delta, finish_reason=choice.finish_reason)]))
    if response.usage is not None:
        chunks.append(chunk([], response.usage))
    return chunks


def _direct(caller: Any, argnames: tuple[str, ...]) -> Any:
    """The hook's only implementation itself, when calling it directly is what pluggy would do.

    Per stream event pluggy's call loop costs several microseconds; with one
    plain implementation taking exactly ``argnames`` (the usual case: the
    core's default, or one provider's parser) the result is the same.
    """
    impls = caller.get_hookimpls()
    if len(impls) == 1:
        impl = impls[0]
        if not impl.hookwrapper and not getattr(impl, "wrapper", False) and tuple(impl.argnames) == argnames:
            return impl.function
    return caller


def every_choice_finished(chunks: Iterable[ChatCompletionChunk]) -> bool:
    """Whether every choice the chunks opened got its ``finish_reason`` (and at least one was opened).

    Half of the end-of-stream rule (see "How a stream ends" in docs/reference/hooks.md): a stream
    is complete when its parser saw the provider's terminal event, or when the connection closes
    cleanly after this holds.  Looked at once, when the input ends; nothing is added per chunk.
    """
    opened: set[int] = set()
    finished: set[int] = set()
    for chunk in chunks:
        for choice in chunk.choices:
            opened.add(choice.index)
            if choice.finish_reason is not None:
                finished.add(choice.index)
    return bool(opened) and opened <= finished


def _call_hook(caller: Any, call: Call, event: Any) -> Any:
    return caller(call=call, event=event)


class _StreamCore:
    """What both stream twins share: decoding, the chunk record, completion and failure."""

    def __init__(self, pipeline: Pipeline, call: Call, hook: Any) -> None:
        self.pipeline = pipeline
        self.call = call
        self.hook = hook
        self.decoder = hook.stream_decoder(call=call)
        #: the stream's own parser (``stream_parser``), else ``parse_stream_event`` with the call bound
        self.parser = hook.stream_parser(call=call)
        self.parse_event: Callable[[Any], Any]
        if self.parser is not None:
            self.parse_event = self.parser.feed
        else:
            caller = hook.parse_stream_event
            direct = _direct(caller, ("call", "event"))
            if direct is caller:
                self.parse_event = functools.partial(_call_hook, caller, call)
            else:
                self.parse_event = functools.partial(direct, call)
        self.chunks: list[ChatCompletionChunk] = []
        self.pending: deque[ChatCompletionChunk] = deque()
        self.finished = False
        self.done = False  # [DONE] arrived: read nothing more
        self.assembled: ChatCompletionResponse | None = None
        self.idle_limit = (
            call.config.timeout_secs if call.config.timeout_secs and call.config.timeout_secs > 0 else None
        )
        self.last_event = time.monotonic()
        clock = call.clock
        #: the injected clock's reading, or ``None`` for the system clock (whose reading ``feed`` already has)
        self.clock_now = None if type(clock) is SystemClock else clock.monotonic

    def _stamp(self, produced: int, now: float) -> None:
        """Note on the call when ``produced`` new chunks arrived (``now``: the system clock's reading)."""
        call = self.call
        if self.clock_now is not None:
            now = self.clock_now()
        if call.first_chunk_at is None:
            call.first_chunk_at = now
        call.last_chunk_at = now
        call.chunk_count += produced

    def _parse(self, events: Iterable[Any]) -> None:
        parse = self.parse_event
        call = self.call
        for event in events:
            if self.done:
                return  # after [DONE] nothing more is parsed
            try:
                produced = parse(event)
            except LiterLlmError as exc:
                self._named(exc)
                raise
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise SerializationError(
                    f"a stream event could not be read: {type(exc).__name__}: {exc}", provider=call.provider.name
                ) from exc
            if produced:
                self.pending.extend(produced)
                self.chunks.extend(produced)
            if call.stream_complete and getattr(event, "data", None) == "[DONE]":
                self.done = True

    def feed(self, data: bytes) -> None:
        now = time.monotonic()
        before = len(self.chunks)
        self._parse(self.decoder.feed(data))
        produced = len(self.chunks) - before
        if produced:
            self.last_event = now
            self._stamp(produced, now)
        elif self.idle_limit is not None and now - self.last_event > self.idle_limit:
            raise StreamTimeoutError(
                f"the stream produced nothing for more than {self.idle_limit} s",
                provider=self.call.provider.name,
            )

    def opening(self, response: httpx.Response) -> bool:
        """Check what the provider answered a stream request with; true for a whole JSON answer.

        An event stream (or an answer without a content type) is decoded as
        one; a JSON body (a server that ignored ``stream: true``) is served as
        chunks by :meth:`serve_json`; anything else (an HTML page) is a
        ``SerializationError`` naming its content type.  Only for the core's
        SSE decoder: a provider with its own ``stream_decoder`` knows its format.
        """
        if not isinstance(self.decoder, SSEDecoder):
            return False
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
        """Turn a whole (already read) chat answer to a stream request into chunks."""
        import attrs

        from liter_llm._wire import stream_error

        call = self.call
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("error") is not None and "choices" not in payload:
            raise stream_error(call, payload)  # an error sent as a 200, as inside a stream
        from liter_llm.operations import CHAT

        view = attrs.evolve(call, operation=CHAT.name, op=CHAT)
        try:
            result = self.hook.parse_response(call=view, response=response)
        except LiterLlmError as exc:
            if exc.provider is None:
                exc.provider = call.provider.name
            raise
        except Exception as exc:
            raise SerializationError(
                f"the JSON answer to a stream request could not be read: {type(exc).__name__}: {exc}",
                provider=call.provider.name,
            ) from exc
        if not isinstance(result, ChatCompletionResponse) or not (result.choices or result.id):
            raise SerializationError(
                "the JSON answer to a stream request is not a chat completion", provider=call.provider.name
            )
        produced = chunks_of(result)
        self.pending.extend(produced)
        self.chunks.extend(produced)
        if produced:
            self._stamp(len(produced), time.monotonic())
        call.stream_complete = True

    def _named(self, exc: LiterLlmError) -> LiterLlmError:
        if exc.provider is None:  # a parser's error does not always know the provider
            exc.provider = self.call.provider.name
        return exc

    def end_of_input(self) -> None:
        before = len(self.chunks)
        self._parse(self.decoder.close())
        if self.parser is not None and not self.done:
            try:
                produced = self.parser.finish()
            except LiterLlmError as exc:
                self._named(exc)
                raise
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise SerializationError(
                    f"the end of the stream could not be read: {type(exc).__name__}: {exc}",
                    provider=self.call.provider.name,
                ) from exc
            if produced:
                self.pending.extend(produced)
                self.chunks.extend(produced)
        if len(self.chunks) != before:
            self._stamp(len(self.chunks) - before, time.monotonic())
        if not self.call.stream_complete:
            if every_choice_finished(self.chunks):  # a server that closes without its terminal event
                self.call.stream_complete = True
                return
            raise StreamingError(
                f"the connection closed before the stream ended ({len(self.chunks)} chunks received)",
                provider=self.call.provider.name,
            )

    def fail(self, exc: BaseException) -> LiterLlmError:
        """The error the caller gets, carrying every chunk received."""
        from liter_llm._transport_errors import _transport_error, scrub_key

        if isinstance(exc, LiterLlmError):
            error = exc
        elif isinstance(exc, httpx.TimeoutException):
            error = StreamTimeoutError(
                f"the stream timed out: {exc or type(exc).__name__}", provider=self.call.provider.name
            )
        elif isinstance(exc, httpx.HTTPError):
            mapped = _transport_error(exc, self.call.provider.name, reading=True)
            error = StreamingError(f"the stream failed: {mapped.message}", provider=self.call.provider.name)
        else:
            error = StreamingError(f"the stream failed: {type(exc).__name__}: {exc}", provider=self.call.provider.name)
        if isinstance(error, StreamingError):
            error.chunks = list(self.chunks)
        else:
            error.chunks = list(self.chunks)  # type: ignore[attr-defined]
        scrub_key(error, self.call.api_key)
        self.finished = True
        self.pipeline.fail(self.call, self.hook, error)
        return error

    def complete(self) -> None:
        self.finished = True
        if self.call._wrappers or has_impls(self.hook.on_response):
            # the response the hooks saw (with its cost, say) is the one stream.response() returns
            self.assembled = assemble_stream(self.chunks)
            self.pipeline.notify_response(self.call, self.hook, self.assembled)
            finish_wrappers(self.call, result=self.assembled)

    def abandon(self) -> None:
        """The caller closed (or dropped) the stream before its end: the wrappers end without an outcome."""
        if not self.finished:
            self.finished = True
            if self.call._wrappers and self.chunks:
                # what is known of a stream closed early, for the wrappers that settle it (the budget)
                self.call.state["liter_llm.partial_response"] = assemble_stream(self.chunks)
            finish_wrappers(self.call, closed=True)

    def result(self) -> ChatCompletionResponse:
        """The assembled response of a finished stream (what ``on_response`` saw, if it ran)."""
        if self.assembled is not None and self.finished and self.call.stream_complete:
            return self.assembled
        return assemble_stream(self.chunks)


def _start_core(pipeline: Pipeline, call: Call) -> _StreamCore:
    """The stream core of an opened stream; a failure (a broken ``stream_decoder``) is reported like any other."""
    hook = pipeline.relay(call.provider)
    try:
        return _StreamCore(pipeline, call, hook)
    except LiterLlmError as error:
        pipeline.fail(call, hook, error)
        raise
    except Exception as exc:
        from liter_llm._hooks import plugin_failure

        failure = plugin_failure(hook, exc, call)
        pipeline.fail(call, hook, failure)
        raise failure from exc


def open_chat_stream(pipeline: Pipeline, call: Call, response: httpx.Response) -> ChatStream:
    """The :class:`ChatStream` over an open response; the response is released if the stream cannot start."""
    try:
        core = _start_core(pipeline, call)
    except BaseException:
        response.close()
        raise
    return ChatStream(core, response)


async def open_async_chat_stream(pipeline: Pipeline, call: Call, response: httpx.Response) -> AsyncChatStream:
    """The :class:`AsyncChatStream` over an open response; released if the stream cannot start."""
    try:
        core = _start_core(pipeline, call)
    except BaseException:
        await response.aclose()
        raise
    return AsyncChatStream(core, response)


class ChatStream:
    """A streamed chat answer (sync). Iterate it for ``ChatCompletionChunk`` objects."""

    def __init__(self, core: _StreamCore, response: httpx.Response) -> None:
        self._core = core
        self._response = response
        self._bytes: Iterator[bytes] | None = None
        self._closed = False
        self._ending = False

    @property
    def chunks(self) -> list[ChatCompletionChunk]:
        """Every chunk received so far."""
        return self._core.chunks

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        core = self._core
        while True:
            if core.pending:
                return core.pending.popleft()
            if self._ending:
                self._ending = False
                core.complete()
            if core.finished or self._closed:
                raise StopIteration
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
                        self._release()
                        self._ending = True  # completed once the caller has read what is pending
                        continue
                    self._bytes = body_pieces(self._response)
                data = next(self._bytes, None)
                if data is None:
                    core.end_of_input()
                    self._release()
                    core.complete()
                    continue
                core.feed(data)
                if core.done:  # [DONE]: read nothing more, release the connection
                    self._drain()
                    self._release()
                    self._ending = True  # completed once the caller has read what is pending
            except BaseException as exc:
                self._release()
                if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, GeneratorExit...
                    core.abandon()
                    raise
                raise core.fail(exc) from (exc if not isinstance(exc, LiterLlmError) else None)

    def _drain(self) -> None:
        """After the end marker: let the end of the body, usually already here, return the connection to the pool.

        Nothing read here is parsed; the wait is bounded (:data:`DRAIN_SECS`,
        :data:`DRAIN_BYTES`), and a body that goes on is cut by closing the connection.
        """
        from liter_llm._deadline import bound_body

        if self._bytes is None:
            return
        left = DRAIN_BYTES
        bound_body(self._response, time.monotonic() + DRAIN_SECS)
        try:
            for piece in self._bytes:
                left -= len(piece)
                if left < 0:
                    break
        except Exception:  # a slow or broken tail: closing the response cuts it
            pass

    def response(self) -> ChatCompletionResponse:
        """Read the rest of the stream and return the assembled ``ChatCompletionResponse``."""
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

    def __enter__(self) -> ChatStream:
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


class AsyncChatStream:
    """A streamed chat answer (async). ``async for`` it for ``ChatCompletionChunk`` objects."""

    def __init__(self, core: _StreamCore, response: httpx.Response) -> None:
        self._core = core
        self._response = response
        self._bytes: AsyncIterator[bytes] | None = None
        self._closed = False
        self._ending = False

    @property
    def chunks(self) -> list[ChatCompletionChunk]:
        """Every chunk received so far."""
        return self._core.chunks

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        core = self._core
        while True:
            if core.pending:
                return core.pending.popleft()
            if self._ending:
                self._ending = False
                core.complete()
            if core.finished or self._closed:
                raise StopAsyncIteration
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
                        await self._release()
                        self._ending = True  # completed once the caller has read what is pending
                        continue
                    self._bytes = abody_pieces(self._response)
                try:
                    data = await self._bytes.__anext__()
                except StopAsyncIteration:
                    core.end_of_input()
                    await self._release()
                    core.complete()
                    continue
                core.feed(data)
                if core.done:  # [DONE]: read nothing more, release the connection
                    await self._drain()
                    await self._release()
                    self._ending = True  # completed once the caller has read what is pending
            except BaseException as exc:
                await self._release()
                if not isinstance(exc, Exception):  # cancellation (CancelledError, a cancel scope), GeneratorExit...
                    core.abandon()
                    raise
                raise core.fail(exc) from (exc if not isinstance(exc, LiterLlmError) else None)

    async def _drain(self) -> None:
        """The async twin of :meth:`ChatStream._drain` (the same bound, through the same body deadline)."""
        from liter_llm._deadline import bound_body

        if self._bytes is None:
            return
        left = DRAIN_BYTES
        bound_body(self._response, time.monotonic() + DRAIN_SECS)
        try:
            async for piece in self._bytes:
                left -= len(piece)
                if left < 0:
                    break
        except Exception:  # a slow or broken tail: closing the response cuts it
            pass

    async def response(self) -> ChatCompletionResponse:
        """Read the rest of the stream and return the assembled ``ChatCompletionResponse``."""
        async for _ in self:
            pass
        return self._core.result()

    async def aclose(self) -> None:
        """Close the stream and release its connection (safe to call more than once).

        The release is shielded from cancellation: closing a stream in a
        cancelled task (or cancel scope) still gives its connection back.
        """
        await self._release()
        self._core.abandon()

    async def _release(self) -> None:
        if not self._closed:
            self._closed = True
            from liter_llm._drivers import release_async

            await release_async(self._response)

    close = aclose

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
