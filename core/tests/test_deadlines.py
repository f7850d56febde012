"""Deadlines (docs/architecture.md, "Deadlines"): what the one mechanism guarantees, through both clients.

The older deadline tests (dripping headers and bodies, silent servers, auth
flows' own requests, retries near the deadline) are in test_transport.py and
the plugins' tests; these cover what the mechanism added: error bodies read
within the deadline, a caller's own transport, the client's transports (sync,
aiohttp, and the async httpcore pool of proxies aiohttp does not take) cutting
each read at the request's deadline without touching any other request, the
drain after a stream's end marker bounded the same way in both clients, and
httpcore's errors coming out of the httpcore transports as httpx's.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpcore
import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm._deadline import DeadlineTimeouts, bound_body
from liter_llm._pool_transport import AsyncDeadlineTransport, DeadlineTransport, _mapped
from liter_llm.errors import LiterLlmError, LiterLlmTimeoutError, ServerError

USER = S.USER
#: far above the deadlines below, far below what the dripping servers would take
MARGIN = 2.5


def dripping_error(req: Any, out: Any) -> None:
    """A 500 whose body comes one byte every 50 ms (20 s in all)."""
    body = b'{"error": {"message": "' + b"x" * 360 + b'", "type": "server"}}'
    out.head(500, {"content-type": "application/json", "content-length": str(len(body))})
    for byte in body:
        if not out.send(bytes([byte])):
            return
        time.sleep(0.05)


@pytest.mark.parametrize("stream", [False, True])
def test_a_dripping_error_body_is_cut_at_the_calls_deadline(make: Any, server: Any, stream: bool) -> None:
    server.script = dripping_error
    api = make(base_url=server.url + "/v1", timeout_secs=0.5, max_retries=0)
    started = time.monotonic()
    call = api.collect if stream else api.chat
    with pytest.raises(LiterLlmError) as info:
        call(model="m", messages=USER)
    assert isinstance(info.value, ServerError)  # the status still gives the kind
    assert time.monotonic() - started < 0.5 + MARGIN


def test_a_callers_own_transport_gets_the_deadline_per_phase(make: Any, server: Any) -> None:
    """A ``transport=`` of the caller's: each phase (here the wait for the headers) ends by the deadline."""
    server.script = lambda req, out: S.hold_open(out, 20)
    transport = httpx.HTTPTransport() if make.mode == "sync" else httpx.AsyncHTTPTransport()
    api = make(base_url=server.url + "/v1", timeout_secs=0.5, max_retries=0, transport=transport)
    started = time.monotonic()
    with pytest.raises(LiterLlmTimeoutError):
        api.chat(model="m", messages=USER)
    assert time.monotonic() - started < 0.5 + MARGIN


def slow_then_fine(req: Any, out: Any) -> None:
    """``/slow`` answers after one second; ``/drip`` sends its head, one byte of body and then holds."""
    if req.path == "/drip":
        out.head(200, {"content-type": "application/octet-stream", "content-length": "100"})
        out.send(b"a")
        S.hold_open(out, 20)
        return
    time.sleep(1.0)
    out.reply(200, b"{}")


def test_the_sync_transport_cuts_a_body_read_at_its_deadline_and_no_other_request(server: Any) -> None:
    """While one response's body is read within a short deadline, another request on the thread has its own."""
    server.script = slow_then_fine
    with httpx.Client(transport=DeadlineTransport()) as client:
        timeouts = DeadlineTimeouts(time.monotonic() + 30, connect=5, read=None, write=None, pool=None)
        request = client.build_request("GET", server.url + "/drip", extensions={"timeout": timeouts})
        dripping = client.send(request, stream=True)
        bound_body(dripping, time.monotonic() + 0.3)
        pieces = dripping.iter_raw()
        assert next(pieces) == b"a"
        # the first response's body is suspended mid-read: its deadline must not bound this one
        other = client.get(server.url + "/slow", extensions={"timeout": {"connect": 5, "read": 10}})
        assert other.status_code == 200
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            next(pieces)
        assert time.monotonic() - started < MARGIN
        dripping.close()


@pytest.mark.parametrize("kind", ["h1", "aiohttp"])
def test_the_async_transport_cuts_a_body_read_at_its_deadline_and_no_other_request(server: Any, kind: str) -> None:
    """Our HTTP/1.1 transport (the async default) and aiohttp's (HTTP(S) proxies)."""
    from liter_llm._h1 import H1Transport
    from liter_llm._transport import AiohttpTransport

    server.script = slow_then_fine

    async def scenario() -> None:
        transport = H1Transport() if kind == "h1" else AiohttpTransport()
        try:
            timeouts = DeadlineTimeouts(time.monotonic() + 30, connect=5, read=None, write=None, pool=None)
            request = httpx.Request("GET", server.url + "/drip", extensions={"timeout": timeouts})
            dripping = await transport.send(request)
            bound_body(dripping, time.monotonic() + 0.3)
            pieces = dripping.aiter_raw()
            assert await pieces.__anext__() == b"a"
            other = await transport.send(httpx.Request("GET", server.url + "/slow"))
            assert other.status_code == 200
            await other.aread()
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await pieces.__anext__()
            assert time.monotonic() - started < MARGIN
            await dripping.aclose()
        finally:
            await transport.aclose()

    asyncio.run(scenario())


def test_the_async_pool_transport_cuts_a_body_read_at_its_deadline_and_no_other_request(server: Any) -> None:
    """The async httpcore pool (trio, SOCKS, proxies with credentials): the twin of the sync test above."""
    server.script = slow_then_fine

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=AsyncDeadlineTransport()) as client:
            timeouts = DeadlineTimeouts(time.monotonic() + 30, connect=5, read=None, write=None, pool=None)
            request = client.build_request("GET", server.url + "/drip", extensions={"timeout": timeouts})
            dripping = await client.send(request, stream=True)
            bound_body(dripping, time.monotonic() + 0.3)
            pieces = dripping.aiter_raw()
            assert await pieces.__anext__() == b"a"
            # another task's request while the first body is suspended mid-read: its own deadline only
            other = await asyncio.create_task(
                client.get(server.url + "/slow", extensions={"timeout": {"connect": 5, "read": 10}})
            )
            assert other.status_code == 200
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await pieces.__anext__()
            assert time.monotonic() - started < MARGIN
            await dripping.aclose()

    asyncio.run(scenario())


def test_the_async_pool_transport_cuts_dripping_headers_at_the_deadline(server: Any) -> None:
    """httpcore restarts its read timeout with every byte: the deadline still ends the wait for the head."""

    def drip_head(req: Any, out: Any) -> None:
        for byte in b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-slow: " + b"y" * 400:
            if not out.send(bytes([byte])):
                return
            time.sleep(0.05)

    server.script = drip_head

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=AsyncDeadlineTransport()) as client:
            timeouts = DeadlineTimeouts(time.monotonic() + 0.5, connect=5, read=5, write=5, pool=5)
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url + "/", extensions={"timeout": timeouts})
            assert time.monotonic() - started < 0.5 + MARGIN

    asyncio.run(scenario())


def dripping_chat(req: Any, out: Any) -> None:
    """A 200 chat answer whose body comes one byte every 50 ms (about 10 s in all)."""
    body = S.chat_json("late " * 30)
    out.head(200, {"content-type": "application/json", "content-length": str(len(body))})
    for byte in body:
        if not out.send(bytes([byte])):
            return
        time.sleep(0.05)


@pytest.mark.parametrize("credentials", [False, True], ids=["proxy", "proxy-with-credentials"])
def test_a_proxied_call_is_cut_at_its_deadline(make: Any, server: Any, credentials: bool) -> None:
    """Through a proxy, whichever pool carries it (aiohttp, or httpcore's for a proxy with credentials)."""
    proxy = S.ForwardingProxy()
    try:
        server.script = dripping_chat
        url = proxy.url.replace("http://", "http://user:pw@") if credentials else proxy.url
        api = make(base_url=server.url + "/v1", timeout_secs=0.5, max_retries=0, proxy=url)
        started = time.monotonic()
        with pytest.raises(LiterLlmTimeoutError):
            api.chat(model="m", messages=USER)
        assert time.monotonic() - started < 0.5 + MARGIN
        assert proxy.forwarded == [server.url + "/v1/chat/completions"]
    finally:
        proxy.close()


def done_then_silence(req: Any, out: Any) -> None:
    """A stream that sends its answer and ``[DONE]``, then keeps the body open for 20 s without ending it."""
    out.chunked_head()
    out.chunk(S.chunk_event("all here", role="assistant") + S.chunk_event(finish="stop") + b"data: [DONE]\n\n")
    S.hold_open(out, 20)


def test_the_wait_after_a_streams_end_marker_is_bounded_in_both_clients(make: Any, server: Any) -> None:
    """After ``[DONE]`` the drain waits at most DRAIN_SECS for the body's end, then closes the connection."""
    from liter_llm.streaming import DRAIN_SECS

    server.script = done_then_silence
    api = make(base_url=server.url + "/v1", timeout_secs=30, max_retries=0)
    started = time.monotonic()
    chunks = api.collect(model="m", messages=USER)
    assert time.monotonic() - started < DRAIN_SECS + MARGIN  # not the 30 s idle timeout, nor the server's 20 s
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "all here"


def test_under_trio_the_async_client_answers_and_cuts_dripping_headers_at_the_deadline(server: Any) -> None:
    """Outside asyncio the async client sends through AsyncDeadlineTransport: the same answers and deadlines."""
    import trio  # a test dependency: the one other event loop the async client supports

    import liter_llm

    def script(req: Any, out: Any) -> None:
        if req.path.endswith("/drip/chat/completions"):
            for byte in b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-slow: " + b"y" * 400:
                if not out.send(bytes([byte])):
                    return
                time.sleep(0.05)
            return
        out.reply(200, S.chat_json("from trio"))

    server.script = script

    async def scenario() -> float:
        fine = liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1", max_retries=0)
        slow = liter_llm.create_async_client(
            api_key="k", base_url=server.url + "/drip", timeout_secs=0.5, max_retries=0
        )
        try:
            answer = await fine.chat(model="m", messages=USER)
            assert answer.choices[0].message.content == "from trio"
            started = time.monotonic()
            with pytest.raises(LiterLlmTimeoutError):
                await slow.chat(model="m", messages=USER)
            return time.monotonic() - started
        finally:
            await fine.aclose()
            await slow.aclose()

    assert trio.run(scenario) < 0.5 + MARGIN


def test_the_sync_transport_raises_httpx_errors() -> None:
    # every httpcore error becomes the httpx error of the same name (the most specific one)
    for name in dir(httpcore):
        kind = getattr(httpcore, name)
        if isinstance(kind, type) and issubclass(kind, Exception) and hasattr(httpx, name):
            error = _mapped(kind("boom"))
            assert type(error) is getattr(httpx, name), name
            assert str(error) == "boom"
    other = ValueError("not httpcore's")
    assert _mapped(other) is other


def test_the_sync_transport_maps_refused_and_dropped_connections() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with httpx.Client(transport=DeadlineTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{port}/")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def half_answer() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort")
        connection.close()

    thread = threading.Thread(target=half_answer)
    thread.start()
    try:
        with httpx.Client(transport=DeadlineTransport()) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    finally:
        thread.join(5)
        listener.close()


def test_the_attempt_s_timeouts_are_the_ones_the_keyword_form_builds() -> None:
    """``DeadlineTimeouts.of`` (each attempt's) holds what ``DeadlineTimeouts(deadline, **phases)`` holds."""
    for deadline in (None, time.monotonic() + 30):
        made = DeadlineTimeouts.of(deadline, 5.0, None, 2.5, 1.0)
        given = DeadlineTimeouts(deadline, connect=5.0, read=None, write=2.5, pool=1.0)
        assert type(made) is DeadlineTimeouts
        assert dict(made) == dict(given) == {"connect": 5.0, "read": None, "write": 2.5, "pool": 1.0}
        assert (made.deadline, made.body_deadline) == (given.deadline, given.body_deadline) == (deadline, None)
        assert [made.get(k) is None for k in given] == [given.get(k) is None for k in given]
