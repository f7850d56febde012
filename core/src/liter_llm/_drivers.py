"""The drivers: run a flow's actions with blocking I/O (:func:`drive_sync`) or on the event loop (:func:`drive_async`).

They also read whole bodies (:func:`read_sync`, :func:`read_async`) within a
size limit and the call's deadline: the deadline is handed to the transport
(:func:`liter_llm._deadline.bound_body`), which cuts every read at it, and is
checked between pieces for a transport that does not (docs/architecture.md,
"Deadlines").
"""

from __future__ import annotations

from typing import Any

import httpx

from liter_llm._body import body_pieces
from liter_llm._deadline import bound_body, past
from liter_llm._flow import Flow, Read, Send, Sleep
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.errors import (
    LiterLlmTimeoutError,
    SerializationError,
)
from liter_llm.hookspecs import Effect

__all__ = [
    "drive_async",
    "drive_sync",
    "read_async",
    "read_sync",
    "release_async",
]


def _too_large(limit: int, provider: str) -> SerializationError:
    return SerializationError(f"the answer is larger than the limit of {limit} bytes", provider=provider)


def read_sync(action: Read) -> None:
    """Read a body fully, within the size limit and the deadline."""
    response = action.response
    bound_body(response, action.deadline)
    parts: list[bytes] = []
    size = 0
    try:
        for piece in body_pieces(response):
            size += len(piece)
            if size > action.limit:
                raise _too_large(action.limit, action.provider)
            parts.append(piece)
            if past(action.deadline):
                raise LiterLlmTimeoutError("the answer did not arrive within the timeout", provider=action.provider)
    finally:
        response.close()
    response._content = b"".join(parts)


async def release_async(response: httpx.Response) -> None:
    """Close ``response`` (give its connection back), even inside a cancelled task or cancel scope."""
    import anyio

    with anyio.CancelScope(shield=True):
        await response.aclose()


async def read_async(action: Read) -> None:
    """Read a body fully, within the size limit and the deadline."""
    response = action.response
    bound_body(response, action.deadline)
    stream = response.stream
    if (
        getattr(stream, "reads_whole_body", False)  # the client's own transports' streams: read_all(limit)
        and not response.is_stream_consumed  # an auth flow that needs the answer's body has read it
        and not _content_encoded(response, stream)
    ):
        await _read_direct(action, stream)
        return
    parts: list[bytes] = []
    size = 0
    try:
        async for piece in response.aiter_bytes():
            size += len(piece)
            if size > action.limit:
                raise _too_large(action.limit, action.provider)
            parts.append(piece)
            if past(action.deadline):
                raise LiterLlmTimeoutError("the answer did not arrive within the timeout", provider=action.provider)
    except BaseException:
        await release_async(response)  # shielded: also when the call is cancelled
        raise
    await response.aclose()
    response._content = b"".join(parts)


async def _read_direct(action: Read, stream: Any) -> None:
    """:func:`read_async` on the default transport: one read loop (the transport bounds it by the deadline)."""
    response = action.response
    try:
        body = await stream.read_all(action.limit)
        if body is None:
            raise _too_large(action.limit, action.provider)
    except BaseException:
        await release_async(response)  # shielded: also when the call is cancelled
        raise
    if not response.is_closed:  # what response.aclose() does, for the client's own stream (it raises nothing to map)
        response.is_closed = True
        await stream.aclose()
    response._content = body


def _content_encoded(response: httpx.Response, stream: Any) -> bool:
    """Whether the answer has a ``Content-Encoding`` (httpx decodes it): the transport's stream knows it from the
    head it parsed; another stream's answer is asked (a look-up that decodes every header name)."""
    encoded = getattr(stream, "content_encoded", None)
    if encoded is None:
        return "content-encoding" in response.headers
    return bool(encoded)


def drive_sync(flow: Flow, client_for: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Run a pipeline flow with blocking I/O; ``client_for(provider)`` gives the httpx.Client."""
    value: Any = None
    error: BaseException | None = None
    action: Any
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        value = None
        error = None
        try:
            kind = type(action)
            if kind is Send:
                value = client_for(action.provider).send(action.request, auth=action.auth, stream=True)
            elif kind is Read:
                read_sync(action)
            elif kind is Sleep:
                clock.sleep(action.seconds)
            elif kind is Effect:
                value = action.run()
        except Exception as exc:
            error = exc
        except BaseException:  # KeyboardInterrupt...: the flow ends now, its wrappers closed (no outcome)
            flow.close()
            raise


async def drive_async(flow: Flow, client_for: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Run a pipeline flow on the event loop; ``client_for(provider)`` gives the httpx.AsyncClient."""
    value: Any = None
    error: BaseException | None = None
    action: Any
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        value = None
        error = None
        try:
            kind = type(action)
            if kind is Send:
                value = await client_for(action.provider).send(action.request, auth=action.auth, stream=True)
            elif kind is Read:
                await read_async(action)
            elif kind is Sleep:
                await clock.asleep(action.seconds)
            elif kind is Effect:
                value = await action.arun()
        except Exception as exc:
            error = exc
        except BaseException:  # cancelled: the flow ends now, its wrappers closed (no outcome), not at GC
            flow.close()
            raise
