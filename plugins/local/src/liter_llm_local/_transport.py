"""httpx transports that answer OpenAI-format requests from an in-process llama.cpp model.

The sync transport runs generation in the calling thread; its streamed body
is an iterator that produces SSE bytes as tokens are generated.  The async
transport runs every blocking step (loading, prompt evaluation, each next
token) in a worker thread, so the event loop never waits on llama.cpp.
Closing a stream stops the generation and releases the model.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.to_thread
import httpx

from liter_llm_local._server import ChatSession, JsonReply, handle

__all__ = ["AsyncLocalTransport", "LocalTransport"]

_JSON = {"content-type": "application/json"}
_SSE = {"content-type": "text/event-stream", "cache-control": "no-cache"}


class _SyncEvents(httpx.SyncByteStream):
    def __init__(self, session: ChatSession) -> None:
        self._session = session

    def __iter__(self) -> Iterator[bytes]:
        session = self._session
        while True:
            data = session.next_event()
            if data is None:
                return
            yield data

    def close(self) -> None:
        self._session.close()


class _AsyncEvents(httpx.AsyncByteStream):
    def __init__(self, session: ChatSession) -> None:
        self._session = session

    async def __aiter__(self) -> AsyncIterator[bytes]:
        session = self._session
        while True:
            data = await anyio.to_thread.run_sync(session.next_event)
            if data is None:
                return
            yield data

    async def aclose(self) -> None:
        # closing the llama generator only unwinds it (no token is evaluated): cheap enough for the loop
        self._session.close()


def _response(reply: JsonReply | ChatSession, request: httpx.Request, *, is_async: bool) -> httpx.Response:
    if isinstance(reply, JsonReply):
        return httpx.Response(reply.status, headers=_JSON, content=reply.body, request=request)
    stream: httpx.SyncByteStream | httpx.AsyncByteStream = _AsyncEvents(reply) if is_async else _SyncEvents(reply)
    return httpx.Response(200, headers=_SSE, stream=stream, request=request)


class LocalTransport(httpx.BaseTransport):
    """The sync in-process transport of the ``local`` provider."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = handle(request.method, request.url.path, body, ("thread", threading.get_ident()))
        return _response(reply, request, is_async=False)


class AsyncLocalTransport(httpx.AsyncBaseTransport):
    """The async in-process transport of the ``local`` provider: llama.cpp runs in worker threads."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        owner = ("task", anyio.get_current_task().id)
        reply = await anyio.to_thread.run_sync(handle, request.method, request.url.path, body, owner)
        return _response(reply, request, is_async=True)
