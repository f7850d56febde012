"""Cancellation: a cancelled call or stream raises the cancellation itself, releases its connection, reports nothing.

The async client is cancelled every way asyncio and anyio offer (``task.cancel()``,
``asyncio.wait_for``, ``asyncio.timeout``, a ``TaskGroup`` whose sibling fails, an
anyio cancel scope) while a real server on 127.0.0.1 holds the stream (or the
headers, or the body) open; the sync twin is interrupted by a signal handler
raising a ``BaseException`` (what Ctrl-C does).  Each time: the caller gets the
cancellation (never a ``StreamingError``), the server sees the connection
closed, ``on_error`` is not called, and the client keeps working.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import hookimpl

USER = S.USER
HOWS = ["task.cancel", "wait_for", "timeout", "taskgroup", "anyio"]
WHERE = ["stream", "stream-open", "headers", "body", "retry-sleep"]
#: when the time-based cancellations fire (the server holds everything open for 30 s)
CANCEL_AFTER = 1.5


class Recorder:
    """A hook recording what on_error and on_response saw."""

    def __init__(self) -> None:
        self.errors: list[Any] = []

    @hookimpl
    def on_error(self, call: Any, error: Any) -> None:
        self.errors.append(error)


def scripted(server: Any, where: str) -> threading.Event:
    """Script ``server`` to hold the call open at ``where``; the event is set when it sees the client close."""
    closed = threading.Event()

    def script(req: Any, out: Any) -> None:
        body = req.json()
        if body.get("messages", [{}])[0].get("content") == "after":
            out.reply(200, S.chat_json("after"))
            return
        if where == "stream":
            out.chunked_head()
            out.chunk(S.chunk_event("first", role="assistant"))
        elif where == "body":
            out.head(200, {"content-type": "application/json", "content-length": "1000"})
            out.send(b'{"id": "chatcmpl-1", ')
        elif where == "retry-sleep":
            out.reply(503, b'{"error": {"message": "busy"}}', {"retry-after": "10"})
            return  # the answer is whole: the connection stays open, idle in the pool
        if S.hold_open(out):
            closed.set()

    server.script = script
    return closed


async def operation(client: Any, where: str, started: asyncio.Event) -> None:
    if where == "stream":
        stream = await client.chat_stream(model="m", messages=USER)
        async for _ in stream:
            started.set()
    elif where == "stream-open":  # the stream's headers never come
        started.set()
        await client.chat_stream(model="m", messages=USER)
    else:
        started.set()
        await client.chat(model="m", messages=USER)


async def cancel(how: str, op: Callable[[], Awaitable[None]], started: asyncio.Event) -> None:
    """Run ``op`` and cancel it ``how``; assert the cancellation came out as it should."""
    if how == "task.cancel":
        task = asyncio.ensure_future(op())
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
    elif how == "wait_for":
        with pytest.raises(asyncio.TimeoutError) as info:
            await asyncio.wait_for(op(), CANCEL_AFTER)
        assert type(info.value) is asyncio.TimeoutError  # not LiterLlmTimeoutError (a TimeoutError too)
    elif how == "timeout":
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(CANCEL_AFTER):  # type: ignore[attr-defined]
                await op()
        assert type(info.value) is TimeoutError
    elif how == "taskgroup":

        class SiblingFailedError(Exception):
            pass

        async def sibling() -> None:
            await asyncio.sleep(CANCEL_AFTER)
            raise SiblingFailedError

        async def group() -> None:
            async with asyncio.TaskGroup() as tasks:  # type: ignore[attr-defined]
                tasks.create_task(op())
                tasks.create_task(sibling())

        with pytest.raises(BaseExceptionGroup) as info:  # type: ignore[name-defined]  # noqa: F821
            await group()
        assert [type(e) for e in info.value.exceptions] == [SiblingFailedError]  # the call added nothing
    else:
        with anyio.move_on_after(CANCEL_AFTER) as scope:
            await op()
        assert scope.cancelled_caught


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("how", HOWS)
def test_a_cancelled_async_call_raises_the_cancellation_and_releases_its_connection(
    server: Any, how: str, where: str
) -> None:
    if how in ("timeout", "taskgroup") and sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout and TaskGroup are Python 3.11+")
    closed = scripted(server, where)
    recorder = Recorder()

    async def main() -> None:
        client = liter_llm.create_async_client(
            base_url=server.url + "/v1", timeout_secs=30, max_retries=2, max_retry_delay_secs=30, hooks=[recorder]
        )
        async with client:
            started = asyncio.Event()
            began = time.monotonic()
            await cancel(how, lambda: operation(client, where, started), started)
            assert time.monotonic() - began < 6  # not the 10 s Retry-After, not the 30 s hold
            # the client still works, and (after a whole answer) on the connection it had
            answer = await client.chat(model="m", messages=[{"role": "user", "content": "after"}])
            assert answer.choices[0].message.content == "after"

    asyncio.run(main())
    assert recorder.errors == []  # a cancellation is not a failure of the call
    if where == "retry-sleep":
        assert len({r.connection for r in server.requests}) == 1  # the pool had the connection back
    else:
        assert closed.wait(10)  # the server saw the connection closed
        assert S.wait_until(lambda: server.open_connections <= 1)


def test_a_cancelled_stream_is_closed_and_ends(server: Any) -> None:
    scripted(server, "stream")

    async def main() -> None:
        async with liter_llm.create_async_client(base_url=server.url + "/v1", timeout_secs=30) as client:
            stream = await client.chat_stream(model="m", messages=USER)
            assert (await stream.__anext__()).choices[0].delta.content == "first"
            with anyio.move_on_after(0.3):
                await stream.__anext__()
            assert stream._closed
            assert [chunk async for chunk in stream] == []  # a cancelled stream is over

    asyncio.run(main())


# ---------------------------------------------------------------------------
# The sync twin: a signal handler raising a BaseException (as Ctrl-C does)
# ---------------------------------------------------------------------------


class InterruptError(BaseException):
    """What a signal handler raises in the middle of a blocking read (like KeyboardInterrupt)."""


@pytest.fixture
def interrupt_after() -> Iterator[Callable[[float], None]]:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        pytest.skip("needs SIGALRM in the main thread")

    def handler(signum: int, frame: Any) -> None:
        raise InterruptError

    previous = signal.signal(signal.SIGALRM, handler)
    yield lambda seconds: signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("where", WHERE)
def test_an_interrupted_sync_call_raises_the_interrupt_and_releases_its_connection(
    server: Any, interrupt_after: Callable[[float], None], where: str
) -> None:
    closed = scripted(server, where)
    recorder = Recorder()
    with liter_llm.create_client(
        base_url=server.url + "/v1", timeout_secs=30, max_retries=2, max_retry_delay_secs=30, hooks=[recorder]
    ) as client:

        def interrupted() -> None:
            if where == "stream-open":
                interrupt_after(CANCEL_AFTER)
                client.chat_stream(model="m", messages=USER)
            elif where == "stream":
                stream = client.chat_stream(model="m", messages=USER)
                assert next(stream).choices[0].delta.content == "first"
                interrupt_after(0.5)
                list(stream)
            else:
                interrupt_after(CANCEL_AFTER)
                client.chat(model="m", messages=USER)

        began = time.monotonic()
        with pytest.raises(InterruptError):
            interrupted()
        assert time.monotonic() - began < 6
        answer = client.chat(model="m", messages=[{"role": "user", "content": "after"}])
        assert answer.choices[0].message.content == "after"
    assert recorder.errors == []
    if where == "retry-sleep":
        assert len({r.connection for r in server.requests}) == 1
    else:
        assert closed.wait(10)
