"""Our asyncio HTTP/1.1 transport (``liter_llm._h1``), against real servers on 127.0.0.1.

Where a behaviour is visible through httpx's API, the sync client's transport
(httpcore's pool, :class:`DeadlineTransport`) is the reference: each framing,
drop and malformed answer is fetched through both and the outcomes compared.
The pool (reuse, limits, waiters, expiry, loops), deadlines and cancellation
are the async transport's own and are tested on it directly and through the
async client.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liter_llm
from liter_llm._deadline import DeadlineTimeouts, bound_body
from liter_llm._h1 import H1Stream, H1Transport, _parse_head
from liter_llm._pool_transport import DeadlineTransport
from liter_llm.errors import LiterLlmTimeoutError, ServiceUnavailableError

MARGIN = 2.5  # seconds: a cut at a deadline of 0.3-0.5 s must come well before this
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"


class Server:
    """A raw socket server: ``handler(conn)`` serves each accepted connection in a thread."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.ended = 0  # connections the client closed (EOF or reset seen while reading)
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open += 1
                self.most_open = max(self.most_open, self.open)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
            conn.settimeout(10)
            while conn.recv(65536):  # after the script: wait for the client to hang up
                pass
            with self.lock:
                self.ended += 1
        except OSError:
            with self.lock:
                self.ended += 1
        finally:
            with self.lock:
                self.open -= 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def _request_end(data: bytes) -> int | None:
    """Where the first request in ``data`` ends (``None``: not all of it is here yet)."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    start = head_end + 4
    lowered = data[:head_end].lower()
    if b"transfer-encoding: chunked" in lowered:
        last = data.find(b"\r\n0\r\n\r\n", start - 2)
        return None if last < 0 else last + 7
    sized = re.search(rb"content-length: *(\d+)", lowered)
    end = start + (int(sized.group(1)) if sized else 0)
    return end if len(data) >= end else None


def read_request(conn: socket.socket) -> bytes:
    """One request's head and body (``b""`` when the client hung up first)."""
    data = b""
    while (end := _request_end(data)) is None:
        piece = conn.recv(65536)
        if not piece:
            return b""
        data += piece
    return data[:end]


def replies(*answers: bytes) -> Callable[[socket.socket], None]:
    """A handler answering each request on a connection with the next of ``answers`` (kept alive)."""

    def handler(conn: socket.socket) -> None:
        for answer in answers:
            if not read_request(conn):
                return
            conn.sendall(answer)

    return handler


def keep_answering(answer: bytes = OK) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        while read_request(conn):
            conn.sendall(answer)

    return handler


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket], None]], Server]]:
    """Start servers for a test; each is closed after it."""
    with contextlib.ExitStack() as stack:
        yield lambda handler: stack.enter_context(contextlib.closing(Server(handler)))


def until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    return S.wait_until(condition, seconds)


# ---------------------------------------------------------------------------
# Parity with the sync client's transport: framings, drops, malformed answers
# ---------------------------------------------------------------------------


def _outcome(response: httpx.Response) -> tuple[Any, ...]:
    """What an answer came to, its headers with it (the async transport builds httpx's header items itself)."""
    headers = response.headers
    assert headers.multi_items() == httpx.Headers(headers.raw).multi_items()
    return (response.status_code, response.reason_phrase, response.http_version, response.content, headers.raw)


def outcome_sync(url: str, method: str) -> tuple[Any, ...]:
    with httpx.Client(transport=DeadlineTransport()) as client:
        try:
            response = client.request(method, url, extensions={"timeout": {"connect": 5, "read": 5}})
        except httpx.HTTPError as exc:
            return ("error", type(exc))
        return _outcome(response)


def outcome_async(url: str, method: str) -> tuple[Any, ...]:
    async def go() -> tuple[Any, ...]:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            try:
                response = await client.request(method, url, extensions={"timeout": {"connect": 5, "read": 5}})
            except httpx.HTTPError as exc:
                return ("error", type(exc))
            return _outcome(response)

    return asyncio.run(go())


def both(serve: Any, answer: bytes, method: str = "GET", close: bool = False) -> tuple[Any, Any]:
    def handler(conn: socket.socket) -> None:
        if read_request(conn):
            conn.sendall(answer)
            if close:
                conn.shutdown(socket.SHUT_WR)

    server = serve(handler)
    sync, asyn = outcome_sync(server.url + "/x", method), outcome_async(server.url + "/x", method)
    if len(sync) == len(asyn) == 5:  # answers on both: the same header items, as the sync transport's h11 gives
        assert asyn[4] == sync[4]
        return sync[:4], asyn[:4]
    return sync, asyn


FRAMINGS = {
    "content-length": (OK, (200, "OK", "HTTP/1.1", b"hello")),
    "chunked, extensions, trailers": (
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\ntrailer: yes\r\n\r\n",
        (201, "Created", "HTTP/1.1", b"hello world"),
    ),
    "a 1xx answer before the real one": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK,
        (200, "OK", "HTTP/1.1", b"hello"),
    ),
    "204 without a body": (b"HTTP/1.1 204 No Content\r\n\r\n", (204, "No Content", "HTTP/1.1", b"")),
    "304 without a body despite its length": (
        b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n",
        (304, "Not Modified", "HTTP/1.1", b""),
    ),
    "HTTP/1.0, no reason": (b"HTTP/1.0 200 \r\ncontent-length: 2\r\n\r\nok", (200, "", "HTTP/1.0", b"ok")),
    "a folded header line": (
        b"HTTP/1.1 200 OK\r\nx-a: one\r\n two\r\ncontent-length: 2\r\n\r\nok",
        (200, "OK", "HTTP/1.1", b"ok"),
    ),
}


@pytest.mark.parametrize("name", list(FRAMINGS))
def test_each_framing_reads_as_on_the_sync_transport(serve: Any, name: str) -> None:
    answer, expected = FRAMINGS[name]
    sync, asyn = both(serve, answer)
    assert sync == expected
    assert asyn == expected


def test_a_provider_s_many_headers_read_as_on_the_sync_transport(serve: Any) -> None:
    """About twenty headers as a provider sends them (mixed case, repeated, padded): the same items and
    look-ups through both transports (the async one builds httpx's header items itself)."""
    names = [f"X-RateLimit-Part-{i}" for i in range(16)]
    head = b"".join(b"%s:  v%d \r\n" % (name.encode(), i) for i, name in enumerate(names))
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\n"
        + head
        + b"set-cookie: b=2\r\nContent-Length: 2\r\n\r\nok"
    )
    captured: list[httpx.Headers] = []

    def handler(conn: socket.socket) -> None:
        while read_request(conn):
            conn.sendall(answer)

    server = serve(handler)

    async def go() -> None:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            captured.append((await client.get(server.url + "/x")).headers)

    asyncio.run(go())
    with httpx.Client(transport=DeadlineTransport()) as client:
        captured.append(client.get(server.url + "/x").headers)
    asyn, sync = captured
    assert asyn.raw == sync.raw
    assert asyn.multi_items() == sync.multi_items()
    assert asyn.get_list("set-cookie") == ["a=1", "b=2"]
    assert asyn["x-ratelimit-part-7"] == "v7"
    assert asyn["X-RATELIMIT-PART-15"] == "v15"
    assert asyn["content-length"] == "2"
    assert asyn.encoding == "ascii"
    asyn["X-Added"] = "yes"  # the items are the response's own: changing them changes no other answer
    assert "x-added" in asyn
    assert "x-added" not in sync


def test_a_body_until_the_connection_ends(serve: Any) -> None:
    sync, asyn = both(serve, b"HTTP/1.1 200 OK\r\n\r\nuntil the end", close=True)
    assert sync == asyn == (200, "OK", "HTTP/1.1", b"until the end")


def test_head_has_no_body_despite_its_length(serve: Any) -> None:
    sync, asyn = both(serve, b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n", method="HEAD")
    assert sync == asyn == (200, "OK", "HTTP/1.1", b"")


DROPS = {
    "before answering": b"",
    "in the status line": b"HTTP/1.1 20",
    "in the headers": b"HTTP/1.1 200 OK\r\ncontent-len",
    "in a sized body": b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nhalf",
    "in a chunk": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\nhalf",
    "between chunks": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nhalf\r\n",
}


MALFORMED = {
    "not HTTP": b"NOT HTTP AT ALL\r\n\r\n",
    "a status that is no number": b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n",
    "a header line without a colon": b"HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 0\r\n\r\n",
    "a chunk size that is no number": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    "a Content-Length that is no number": b"HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n",
}


@pytest.mark.parametrize("name", [*DROPS, *MALFORMED])
def test_a_drop_in_each_phase_or_a_malformed_answer_is_a_remote_protocol_error(serve: Any, name: str) -> None:
    sync, asyn = both(serve, {**DROPS, **MALFORMED}[name], close=True)
    assert sync == asyn == ("error", httpx.RemoteProtocolError)


@pytest.mark.parametrize(
    "head",
    [b"x-big: " + b"a" * 70_000 + b"\r\n", b"".join(b"x-h%d: v\r\n" % i for i in range(300))],
    ids=["over-64-KiB", "over-256-lines"],
)
def test_our_own_head_limits_are_a_remote_protocol_error(serve: Any, head: bytes) -> None:
    """Tighter than httpcore's (100 KB, no line limit): a head over 64 KiB or 256 lines."""
    _, asyn = both(serve, b"HTTP/1.1 200 OK\r\n" + head + b"content-length: 0\r\n\r\n", close=True)
    assert asyn == ("error", httpx.RemoteProtocolError)


def test_the_bytes_before_a_drop_are_handed_over_first(serve: Any) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nfirst part")
        conn.shutdown(socket.SHUT_WR)

    server = serve(handler)

    async def go() -> tuple[list[bytes], BaseException | None]:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            pieces: list[bytes] = []
            async with client.stream("GET", server.url) as response:
                try:
                    async for piece in response.aiter_raw():
                        pieces.append(piece)
                except httpx.RemoteProtocolError as exc:
                    return pieces, exc
            return pieces, None

    pieces, error = asyncio.run(go())
    assert b"".join(pieces) == b"first part"
    assert isinstance(error, httpx.RemoteProtocolError)


def test_a_refused_connection_is_a_connect_error() -> None:
    port = S.closed_port()
    assert outcome_sync(f"http://127.0.0.1:{port}/", "GET") == ("error", httpx.ConnectError)
    assert outcome_async(f"http://127.0.0.1:{port}/", "GET") == ("error", httpx.ConnectError)


@pytest.mark.parametrize("bad", ["\n", "\r", "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f"])
def test_a_header_with_a_control_character_is_refused_without_being_sent(serve: Any, bad: str) -> None:
    server = serve(keep_answering())

    async def go() -> None:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            with pytest.raises(httpx.LocalProtocolError) as info:
                await client.get(server.url, headers={"x-token": f"tok-SECRET{bad}-1"})
            assert "SECRET" not in str(info.value)

    asyncio.run(go())
    assert server.connections == 0


def test_a_tab_inside_a_header_value_is_sent(serve: Any) -> None:
    server = serve(keep_answering())

    async def go() -> int:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            response = await client.get(server.url, headers={"x-token": "a\tb"})
            return response.status_code

    assert asyncio.run(go()) == 200


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------


def test_request_bodies_bytes_sized_stream_and_chunked_stream(serve: Any) -> None:
    received: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        while True:
            request = read_request(conn)
            if not request:
                return
            received.append(request)
            conn.sendall(OK)

    server = serve(handler)

    async def pieces() -> AsyncIterator[bytes]:
        yield b"part one, "
        yield b""
        yield b"part two"

    async def go() -> None:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            await client.post(server.url + "/bytes", content=b"all at once")
            await client.post(server.url + "/sized", content=pieces(), headers={"content-length": "18"})
            await client.post(server.url + "/chunked", content=pieces())

    asyncio.run(go())
    assert len(received) == 3
    assert received[0].startswith(b"POST /bytes HTTP/1.1\r\n")
    assert received[0].endswith(b"\r\n\r\nall at once")
    assert received[1].endswith(b"\r\n\r\npart one, part two")
    assert b"transfer-encoding: chunked" in received[2].lower()
    assert received[2].endswith(b"\r\n\r\na\r\npart one, \r\n8\r\npart two\r\n0\r\n\r\n")
    assert server.connections == 1  # one kept-alive connection for the three


def test_a_multipart_upload_through_the_async_client_arrives_whole() -> None:
    server = S.LocalServer()
    server.script = lambda req, out: out.reply(200, b'{"text": "heard"}')
    try:

        async def go() -> Any:
            async with liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1") as client:
                return await client.transcribe(model="whisper-1", file=b"RIFF" + b"\0" * 5000)

        answer = asyncio.run(go())
    finally:
        server.close()
    assert answer.text == "heard"
    assert b"RIFF" + b"\0" * 5000 in server.requests[0].body


# ---------------------------------------------------------------------------
# Keep-alive: reuse and non-reuse
# ---------------------------------------------------------------------------


def run_requests(url: str, paths: list[str], read: bool = True, **limits: Any) -> None:
    async def go() -> None:
        transport = H1Transport(httpx.Limits(**limits) if limits else None)
        async with httpx.AsyncClient(transport=transport) as client:
            for path in paths:
                if read:
                    await client.get(url + path)
                else:
                    async with client.stream("GET", url + path) as response:
                        await response.aiter_raw().__anext__()

    asyncio.run(go())


def test_a_connection_is_reused_after_a_body_read_to_its_end(serve: Any) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    server = serve(replies(OK, chunked, b"HTTP/1.1 204 No Content\r\n\r\n", OK))
    run_requests(server.url, ["/1", "/2", "/3", "/4"])
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http-1.0"],
)
def test_a_connection_the_answer_ends_is_not_reused(serve: Any, answer: bytes) -> None:
    server = serve(keep_answering(answer))
    run_requests(server.url, ["/1", "/2"])
    assert server.connections == 2


def test_a_response_closed_before_its_end_closes_its_connection(serve: Any) -> None:
    big = b"HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n" + b"x" * 300_000
    server = serve(keep_answering(big))
    run_requests(server.url, ["/1", "/2"], read=False)
    assert server.connections == 2
    assert until(lambda: server.ended == 2)


def test_a_kept_alive_connection_closed_by_the_server_is_replaced(serve: Any) -> None:
    def once(conn: socket.socket) -> None:  # one answer per connection, then the server hangs up
        read_request(conn)
        conn.sendall(OK)
        conn.close()

    server = serve(once)

    async def go() -> list[int]:
        # whether the server's end arrives before the next request takes the connection or after
        # it was written to, the request is answered (on a new connection)
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            return [(await client.get(server.url)).status_code for _ in range(3)]

    assert asyncio.run(go()) == [200, 200, 200]
    assert server.connections == 3


def test_an_idle_connection_past_its_keepalive_expiry_is_not_reused(serve: Any) -> None:
    server = serve(keep_answering())

    async def go() -> None:
        transport = H1Transport(httpx.Limits(max_connections=10, keepalive_expiry=0.05))
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(server.url)
            await asyncio.sleep(0.5)
            await client.get(server.url)

    asyncio.run(go())
    assert server.connections == 2


# ---------------------------------------------------------------------------
# The pool's limit and timeout
# ---------------------------------------------------------------------------


def test_the_pool_opens_at_most_max_connections(serve: Any) -> None:
    def slow(conn: socket.socket) -> None:
        while read_request(conn):
            time.sleep(0.05)
            conn.sendall(OK)

    server = serve(slow)

    async def go() -> list[int]:
        transport = H1Transport(httpx.Limits(max_connections=2))
        async with httpx.AsyncClient(transport=transport) as client:
            answers = await asyncio.gather(*(client.get(server.url) for _ in range(8)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(go()) == [200] * 8
    assert server.connections == 2
    assert server.most_open == 2


def test_a_full_pool_is_a_pool_timeout_and_the_slot_comes_back(serve: Any) -> None:
    server = serve(keep_answering(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello"))  # 5 of 10 bytes

    async def go() -> None:
        transport = H1Transport(httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=transport) as client:
            held = await client.send(client.build_request("GET", server.url), stream=True)
            with pytest.raises(httpx.PoolTimeout):
                await client.get(server.url, extensions={"timeout": {"pool": 0.2}})
            await held.aclose()  # unread: its connection closes, its slot is free
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url, extensions={"timeout": {"pool": 5, "read": 0.2}})

    asyncio.run(go())
    assert server.connections == 2


def test_a_cancelled_waiter_for_a_slot_takes_nothing(serve: Any) -> None:
    server = serve(keep_answering())

    async def go() -> None:
        transport = H1Transport(httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=transport) as client:
            held = await client.send(client.build_request("GET", server.url), stream=True)
            waiting = asyncio.ensure_future(client.get(server.url))
            await asyncio.sleep(0.1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await held.aread()  # read to its end: the connection goes back to the pool
            assert (await client.get(server.url)).content == b"hello"

    asyncio.run(go())
    assert server.connections == 1


# ---------------------------------------------------------------------------
# Deadlines: a dripping server cannot stretch them
# ---------------------------------------------------------------------------


def drip(prefix: bytes, conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(prefix)
    for _ in range(400):
        try:
            conn.sendall(b"a")
        except OSError:
            return
        time.sleep(0.02)


def test_a_dripping_head_is_cut_at_the_deadline(serve: Any) -> None:
    server = serve(lambda conn: drip(b"HTTP/1.1 200 OK\r\nx-drip: ", conn))

    async def go() -> float:
        async with H1Transport() as transport:
            timeouts = DeadlineTimeouts(time.monotonic() + 0.4, connect=5, read=5, write=5, pool=5)
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await transport.send(httpx.Request("GET", server.url, extensions={"timeout": timeouts}))
            return time.monotonic() - started

    assert asyncio.run(go()) < MARGIN
    assert until(lambda: server.ended == 1)  # the connection was closed, not kept


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_dripping_body_is_cut_at_the_body_deadline(serve: Any, framing: str) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"
        if framing == "length"
        else b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3e8\r\n"
    )
    server = serve(lambda conn: drip(head, conn))

    async def go() -> float:
        async with H1Transport() as transport:
            timeouts = DeadlineTimeouts(time.monotonic() + 30, connect=5, read=5, write=5, pool=5)
            response = await transport.send(httpx.Request("GET", server.url, extensions={"timeout": timeouts}))
            bound_body(response, time.monotonic() + 0.4)
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await response.aread()
            return time.monotonic() - started

    assert asyncio.run(go()) < MARGIN
    assert until(lambda: server.ended == 1)


def test_the_read_timeout_is_the_idle_time_between_pieces(serve: Any) -> None:
    def pause(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab")
        time.sleep(3)

    server = serve(pause)

    async def go() -> None:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            async with client.stream("GET", server.url, extensions={"timeout": {"read": 0.3}}) as response:
                pieces = response.aiter_raw()
                assert await pieces.__anext__() == b"ab"
                with pytest.raises(httpx.ReadTimeout):
                    await pieces.__anext__()

    started = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - started < MARGIN


def test_a_dripping_server_is_cut_at_the_call_deadline_through_both_clients(serve: Any) -> None:
    server = serve(lambda conn: drip(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-drip: ", conn))
    url = server.url + "/v1"
    started = time.monotonic()
    with liter_llm.create_client(api_key="k", base_url=url, timeout_secs=0.5, max_retries=0) as client:
        with pytest.raises(LiterLlmTimeoutError):
            client.chat(model="m", messages=S.USER)

    async def go() -> None:
        async with liter_llm.create_async_client(api_key="k", base_url=url, timeout_secs=0.5, max_retries=0) as c:
            with pytest.raises(LiterLlmTimeoutError):
                await c.chat(model="m", messages=S.USER)

    asyncio.run(go())
    assert time.monotonic() - started < 2 * MARGIN


# ---------------------------------------------------------------------------
# Cancellation in each phase: the task stays cancelled, the connection is not kept
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["head", "body"])
def test_a_request_cancelled_in_each_phase_closes_its_connection(serve: Any, phase: str) -> None:
    def handler(conn: socket.socket) -> None:
        if not read_request(conn):
            return
        if phase == "body":
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
        time.sleep(1)

    server = serve(handler)
    pools: list[Any] = []

    async def go() -> None:
        transport = H1Transport()
        async with httpx.AsyncClient(transport=transport) as client:
            task = asyncio.ensure_future(client.get(server.url))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            pools.append(transport._pool)
            assert transport._pool is not None
            assert not transport._pool.connections  # nothing kept, nothing counted
            assert not any(transport._pool.idle.values())

    asyncio.run(go())
    assert until(lambda: server.ended == 1)


def test_an_async_client_call_cancelled_stays_cancelled_and_keeps_no_connection() -> None:
    server = S.LocalServer()

    def script(req: Any, out: Any) -> None:
        if req.json()["messages"][0]["content"] == "slow":
            time.sleep(1)
        out.reply(200, S.chat_json("hi"))

    server.script = script

    async def go() -> str:
        async with liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1") as client:
            task = asyncio.ensure_future(client.chat(model="m", messages=[{"role": "user", "content": "slow"}]))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            answer = await client.chat(model="m", messages=S.USER)
            return str(answer.choices[0].message.content)

    try:
        assert asyncio.run(go()) == "hi"
        assert server.connections == 2  # the cancelled call's connection was not reused
    finally:
        server.close()


# ---------------------------------------------------------------------------
# Event loops, closing, the client's wiring
# ---------------------------------------------------------------------------


def test_one_transport_serves_two_event_loops(serve: Any) -> None:
    server = serve(keep_answering())
    transport = H1Transport()

    async def transport_read() -> bytes:
        response = await transport.send(httpx.Request("GET", server.url))
        return await response.aread()

    assert asyncio.run(transport_read()) == b"hello"
    assert asyncio.run(transport_read()) == b"hello"  # a new loop: a new pool
    asyncio.run(transport.aclose())
    assert server.connections == 2


def test_a_transport_dropped_unclosed_closes_its_connections(serve: Any) -> None:
    server = serve(keep_answering())

    async def go() -> None:
        transport = H1Transport()
        response = await transport.send(httpx.Request("GET", server.url))
        assert await response.aread() == b"hello"
        del transport, response
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(go())
    assert until(lambda: server.ended == 1)


def test_the_async_client_sends_through_it_and_reads_through_its_fast_path() -> None:
    server = S.LocalServer()
    try:

        async def go() -> str:
            async with liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1") as client:
                assert type(client._sender) is H1Transport
                answers = [await client.chat(model="m", messages=S.USER) for _ in range(3)]
                return str(answers[-1].choices[0].message.content)

        text = asyncio.run(go())
    finally:
        server.close()
    assert text == "hi"
    assert server.connections == 1
    assert H1Stream.reads_whole_body


def chat_or_stream(req: Any, out: Any) -> None:
    """A LocalServer script: a chat answers "hi", a stream "a", "b", "c"."""
    if not req.json().get("stream"):
        out.reply(200, S.chat_json("hi"))
        return
    out.chunked_head()
    for word in ("a", "b", "c"):
        out.chunk(S.chunk_event(word))
    out.chunk(b"data: [DONE]\n\n")
    out.end_chunks()


def test_a_stream_reads_the_same_through_both_clients() -> None:
    server = S.LocalServer()
    server.script = chat_or_stream
    try:
        with liter_llm.create_client(api_key="k", base_url=server.url + "/v1") as client:
            sync = [c.choices[0].delta.content for c in client.chat_stream(model="m", messages=S.USER)]

        async def go() -> list[Any]:
            async with liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1") as client:
                stream = await client.chat_stream(model="m", messages=S.USER)
                return [c.choices[0].delta.content async for c in stream]

        asyn = asyncio.run(go())
    finally:
        server.close()
    assert sync == asyn == ["a", "b", "c"]


def test_a_server_gone_before_answering_is_service_unavailable_through_both_clients(serve: Any) -> None:
    def hang_up(conn: socket.socket) -> None:  # reads the request, closes without answering
        read_request(conn)
        conn.shutdown(socket.SHUT_WR)

    server = serve(hang_up)
    with liter_llm.create_client(api_key="k", base_url=server.url + "/v1", max_retries=0) as client:
        with pytest.raises(ServiceUnavailableError) as sync:
            client.chat(model="m", messages=S.USER)

    async def go() -> ServiceUnavailableError:
        async with liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1", max_retries=0) as c:
            with pytest.raises(ServiceUnavailableError) as info:
                await c.chat(model="m", messages=S.USER)
            return info.value

    asyn = asyncio.run(go())
    assert "closed before answering" in sync.value.message
    assert "closed before answering" in asyn.message


FIRST_CALL = """
import asyncio, sys
import liter_llm
from liter_llm.errors import ServiceUnavailableError
import liter_llm._h1 as h

transport = h.H1Transport()
assert transport._ssl is None and transport._pool is None  # nothing built before a request


async def main():
    async with liter_llm.create_async_client(api_key="k", base_url=sys.argv[1], max_retries=0) as client:
        try:
            await client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
        except ServiceUnavailableError:
            pass


asyncio.run(main())
print("aiohttp" in sys.modules)
"""


def test_a_direct_async_call_never_imports_aiohttp() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_CALL, f"http://127.0.0.1:{S.closed_port()}/v1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.stdout.strip() == "False", done.stderr


def test_a_request_that_says_connection_close_does_not_keep_its_connection(serve: Any) -> None:
    server = serve(keep_answering())

    async def go() -> None:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            for _ in range(2):
                assert (await client.get(server.url, headers={"Connection": "close"})).content == b"hello"

    asyncio.run(go())
    assert server.connections == 2


# ---------------------------------------------------------------------------
# TLS: httpx's context (SSL_CERT_FILE with trust_env), SNI, the sni_hostname extension
# ---------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[Server, list[str | None], str]]:
    """An https server on 127.0.0.1 with a certificate for ``localhost`` signed by a test authority.

    Yields the server, the SNI names it saw and the authority's file.
    """
    pytest.importorskip("cryptography")
    import ssl

    certificates = S.Certificates(Path(tmp_path), names=("localhost", "127.0.0.1"))
    names: list[str | None] = []
    context = certificates.server_context()
    context.sni_callback = lambda sock, server_name, ctx: names.append(server_name)  # type: ignore[assignment,misc,return-value]
    plain = keep_answering()

    def handler(conn: socket.socket) -> None:
        try:
            wrapped = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        plain(wrapped)

    server = Server(handler)
    try:
        yield server, names, str(certificates.ca_file)
    finally:
        server.close()


def test_https_with_the_environment_s_certificates_and_the_sni_hostname_extension(
    tls_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, names, cert_file = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)
    url = f"https://127.0.0.1:{server.port}/"

    async def go() -> list[bytes]:
        async with httpx.AsyncClient(transport=H1Transport(trust_env=True)) as client:
            named = await client.get(url, extensions={"sni_hostname": "localhost"})
            again = await client.get(url, extensions={"sni_hostname": "localhost"})
            return [named.content, again.content]

    assert asyncio.run(go()) == [b"hello", b"hello"]
    assert names == ["localhost"]  # one handshake: the second request reused the connection
    with httpx.Client(transport=DeadlineTransport(trust_env=True)) as client:  # the sync twin
        assert client.get(url, extensions={"sni_hostname": "localhost"}).content == b"hello"
    assert names == ["localhost", "localhost"]


def test_an_untrusted_certificate_is_a_connect_error_as_on_the_sync_transport(tls_server: Any) -> None:
    server, _, _ = tls_server
    url = f"https://127.0.0.1:{server.port}/"
    outcomes = []
    with httpx.Client(transport=DeadlineTransport(trust_env=False)) as client:
        try:
            client.get(url)
        except httpx.HTTPError as exc:
            outcomes.append(type(exc))

    async def go() -> None:
        async with httpx.AsyncClient(transport=H1Transport(trust_env=False)) as client:
            try:
                await client.get(url)
            except httpx.HTTPError as exc:
                outcomes.append(type(exc))

    asyncio.run(go())
    assert outcomes == [httpx.ConnectError, httpx.ConnectError]


def test_large_bodies_both_ways_with_flow_control(serve: Any) -> None:
    """A 3 MB answer (reading pauses and resumes) and a 16 MB streamed upload to a slow reader (writes wait)."""
    big = b"x" * 3_000_000
    sizes: list[int] = []

    def handler(conn: socket.socket) -> None:
        read_request(conn)  # the download's request
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(big) + big)
        upload = bytearray()
        while not upload.endswith(b"0\r\n\r\n"):  # the upload, read slowly
            piece = conn.recv(65536)
            if not piece:
                return
            upload += piece
            time.sleep(0.001)
        sizes.append(len(upload))
        conn.sendall(OK)

    server = serve(handler)

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(256):
            yield b"y" * 65536

    async def go() -> tuple[int, bytes]:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            download = await client.get(server.url + "/down")
            answer = await client.post(server.url + "/up", content=upload())
            return len(download.content), answer.content

    assert asyncio.run(go()) == (len(big), b"hello")
    assert len(sizes) == 1
    assert sizes[0] > 16 * 1024 * 1024
    assert server.connections == 1


def test_the_async_client_on_uvloop_answers_and_reuses_its_connection() -> None:
    uvloop = pytest.importorskip("uvloop")
    server = S.LocalServer()
    server.script = chat_or_stream

    async def go() -> tuple[str, int]:
        async with liter_llm.create_async_client(api_key="k", base_url=server.url + "/v1") as client:
            answers = [await client.chat(model="m", messages=S.USER) for _ in range(2)]
            stream = await client.chat_stream(model="m", messages=S.USER)
            chunks = [chunk async for chunk in stream]
            return str(answers[-1].choices[0].message.content), len(chunks)

    try:
        assert uvloop.run(go()) == ("hi", 3)
        assert server.connections == 1
    finally:
        server.close()


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose connects hang: a listener that never accepts, its backlog full."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    hangs = False
    for _ in range(8):
        probe = socket.socket()
        probe.settimeout(0.2)
        try:
            probe.connect(("127.0.0.1", port))
        except (TimeoutError, OSError):
            hangs = True
            probe.close()
            break
        fillers.append(probe)
    try:
        if not hangs:
            pytest.skip("this system completes every connect to a full backlog")
        yield port
    finally:
        for sock in fillers:
            sock.close()
        listener.close()


def test_a_connect_that_hangs_is_a_connect_timeout_and_cancelled_stays_cancelled(unanswered_port: int) -> None:
    url = f"http://127.0.0.1:{unanswered_port}/"

    async def go() -> None:
        transport = H1Transport()
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(url, extensions={"timeout": {"connect": 0.3}})
            task = asyncio.ensure_future(client.get(url, extensions={"timeout": {"connect": 30}}))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            pool = transport._pool
            assert pool is not None
            assert pool.connecting == 0
            assert not pool.connections

    asyncio.run(go())


# ---------------------------------------------------------------------------
# The answer head's parser: many lines looked over at once, few line by line, the same result
# ---------------------------------------------------------------------------


def _reference_head(head: bytes) -> Any:
    """The answer head's headers as the transport parsed them line by line (its parser before the look-over)."""
    lines = head.split(b"\r\n") if head.find(b"\r\n") >= 0 else head.split(b"\n")
    headers: list[tuple[bytes, bytes, bytes]] = []
    for raw in lines[1:]:
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line[:1] in (b" ", b"\t"):
            if not headers:
                return "continuation"
            name, lowered, value = headers[-1]
            headers[-1] = (name, lowered, value + b" " + line.strip(b" \t"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t"):
            return "malformed"
        headers.append((name, name.lower(), value.strip(b" \t")))
    return headers


def _parsed_head(head: bytes) -> Any:
    try:
        return _parse_head(head, httpx.Request("GET", "http://127.0.0.1/"))[3]
    except httpx.RemoteProtocolError as exc:
        return "continuation" if "continuation" in str(exc) else "malformed"


_HEADER_LINES = st.sampled_from(
    [
        b"Content-Type: application/json",
        b"x-request-id:abc",
        b"X-RateLimit-Remaining:   99  ",
        b"set-cookie: a=b; Path=/",
        b"date: Mon, 01 Jan 2024 10:00:00 GMT",
        b"x-empty:",
        b" folded continuation",
        b"\tfolded with a tab",
        b"bad name : value",
        b"bad\tname\t: value",
        b"no colon here",
        b": no name",
        b"x-cr: value\r",
        b"x-inner: a\rb",
        b"x-colons: a : b :: c",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_HEADER_LINES, max_size=30), st.sampled_from([b"\r\n", b"\n"]))
def test_an_answer_head_parses_as_line_by_line_however_many_lines_it_has(lines: list[bytes], end: bytes) -> None:
    head = end.join([b"HTTP/1.1 200 OK", *lines])
    assert _parsed_head(head) == _reference_head(head)


def test_a_long_head_with_each_unusual_line_is_read_line_by_line() -> None:
    usual = [b"x-a-%d: v%d" % (i, i) for i in range(10)]
    for odd, expected in (
        (b" folded", [(b"x-a-9", b"x-a-9", b"v9 folded")]),
        (b"bad : name", "malformed"),
        (b"x-cr: value\r", [(b"x-cr", b"x-cr", b"value")]),
        (b"no colon", "malformed"),
    ):
        head = b"\r\n".join([b"HTTP/1.1 200 OK", *usual, odd])
        parsed = _parsed_head(head)
        assert parsed == _reference_head(head)
        assert parsed == expected if isinstance(expected, str) else parsed[-1:] == expected
