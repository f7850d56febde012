"""The async client's default transport (our HTTP/1.1 client behind the httpx API) keeps httpx's behaviour.

Real local servers on 127.0.0.1; every behaviour through both clients (the
sync client runs over httpx's own transport, so each sync twin is the
reference the async client must match).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.client import _default_async_transport
from liter_llm.errors import LiterLlmTimeoutError, ServiceUnavailableError, StreamingError

CHAT = (
    b'{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}'
)
MESSAGES = [{"role": "user", "content": "hello"}]


def _event(text: str) -> bytes:
    return (
        b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{"content":"' + text.encode() + b'"},"finish_reason":null}]}\n\n'
    )


class Server:
    """A raw socket server: ``handler(conn)`` serves each accepted connection in a thread."""

    def __init__(self, handler: Callable[[socket.socket, Server], None]) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.closed_by_client = threading.Event()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
    return head


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(handler: Callable[[socket.socket, Server], None]) -> Server:
        server = Server(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def run_both(url: str, body: Callable[[Any], Any], abody: Callable[[Any], Any], **options: Any) -> tuple[Any, Any]:
    """Run ``body`` with a sync client and ``abody`` with an async one; return what each returned or raised."""
    results: list[Any] = []
    try:
        with liter_llm.create_client(api_key="sk-test", base_url=url, **options) as client:
            results.append(body(client))
    except Exception as exc:
        results.append(exc)

    async def go() -> Any:
        async with liter_llm.create_async_client(api_key="sk-test", base_url=url, **options) as client:
            return await abody(client)

    try:
        results.append(asyncio.run(go()))
    except Exception as exc:
        results.append(exc)
    return results[0], results[1]


def chat_both(url: str, **options: Any) -> tuple[Any, Any]:
    async def achat(client: Any) -> Any:
        return await client.chat(model="m", messages=MESSAGES)

    return run_both(url, lambda c: c.chat(model="m", messages=MESSAGES), achat, **options)


def test_the_async_default_is_our_http11_transport_behind_httpx() -> None:
    transport = _default_async_transport()
    assert transport is not None
    assert type(transport).__name__ == "H1Transport"


def test_a_normal_chat_works_on_both_transports(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        while read_request(conn):
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(CHAT) + CHAT
            )

    server = serve(handler)
    sync, asyn = chat_both(server.url)
    assert sync.choices[0].message.content == "hi"
    assert asyn.choices[0].message.content == "hi"


def test_connection_refused_is_service_unavailable_not_a_timeout() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    sync, asyn = chat_both(f"http://127.0.0.1:{port}/v1", max_retries=0)
    for error in (sync, asyn):
        assert isinstance(error, ServiceUnavailableError), repr(error)
        assert "could not connect" in error.message


def test_a_server_that_closes_before_answering_is_retried_then_unavailable(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)

    server = serve(handler)
    sync, asyn = chat_both(server.url, max_retries=1, retry_initial_delay=0.01)
    for error in (sync, asyn):
        assert isinstance(error, ServiceUnavailableError), repr(error)
        assert "closed before answering" in error.message
    assert server.connections == 4  # two attempts per client


def test_a_malformed_status_line_is_service_unavailable(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    server = serve(handler)
    sync, asyn = chat_both(server.url, max_retries=0)
    for error in (sync, asyn):
        assert isinstance(error, ServiceUnavailableError), repr(error)


def test_a_body_cut_short_is_service_unavailable(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n" + CHAT[:40])

    server = serve(handler)
    sync, asyn = chat_both(server.url, max_retries=0)
    for error in (sync, asyn):
        assert isinstance(error, ServiceUnavailableError), repr(error)
        assert "while reading the answer" in error.message


def test_a_silent_server_is_a_timeout(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        time.sleep(3)

    server = serve(handler)
    started = time.monotonic()
    sync, asyn = chat_both(server.url, max_retries=0, timeout_secs=0.4)
    assert time.monotonic() - started < 2.5
    for error in (sync, asyn):
        assert isinstance(error, LiterLlmTimeoutError), repr(error)


def test_a_stream_dropped_mid_way_is_a_streaming_error_with_the_chunks(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        events = _event("a") + _event("b")
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(events)
            + events
            + b"\r\n"
        )

    def body(client: Any) -> Any:
        stream = client.chat_stream(model="m", messages=MESSAGES)
        return [c.choices[0].delta.content for c in stream]

    async def abody(client: Any) -> Any:
        stream = await client.chat_stream(model="m", messages=MESSAGES)
        return [c.choices[0].delta.content async for c in stream]

    server = serve(handler)
    sync, asyn = run_both(server.url, body, abody, max_retries=0)
    for error in (sync, asyn):
        assert isinstance(error, StreamingError), repr(error)
        assert [c.choices[0].delta.content for c in error.chunks] == ["a", "b"]


def test_closing_a_stream_early_closes_its_connection(serve: Callable[..., Server]) -> None:
    seen: list[bool] = []

    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        conn.settimeout(0.05)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # keep streaming until the client hangs up
            event = _event("x")
            try:
                conn.sendall(b"%x\r\n" % len(event) + event + b"\r\n")
                if conn.recv(1) == b"":
                    seen.append(True)
                    return
            except TimeoutError:
                continue
            except OSError:
                seen.append(True)
                return
        seen.append(False)

    def body(client: Any) -> Any:
        stream = client.chat_stream(model="m", messages=MESSAGES)
        first = next(iter(stream))
        stream.close()
        return first

    async def abody(client: Any) -> Any:
        stream = await client.chat_stream(model="m", messages=MESSAGES)
        first = await stream.__anext__()
        await stream.aclose()
        await asyncio.sleep(0)
        return first

    server = serve(handler)
    sync, asyn = run_both(server.url, body, abody)
    assert sync.choices[0].delta.content == "x"
    assert asyn.choices[0].delta.content == "x"
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen == [True, True]


def test_one_client_works_across_two_event_loops(serve: Callable[..., Server]) -> None:
    def handler(conn: socket.socket, server: Server) -> None:
        while read_request(conn):
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(CHAT) + CHAT
            )

    server = serve(handler)
    aclient = liter_llm.create_async_client(api_key="sk-test", base_url=server.url)

    async def once() -> str | None:
        answer = await aclient.chat(model="m", messages=MESSAGES)
        return answer.choices[0].message.content

    assert asyncio.run(once()) == "hi"
    assert asyncio.run(once()) == "hi"  # a new loop: a new pool, not "attached to a different loop"
    asyncio.run(aclient.aclose())
    with liter_llm.create_client(api_key="sk-test", base_url=server.url) as client:  # the sync twin
        for _ in range(2):
            assert client.chat(model="m", messages=MESSAGES).choices[0].message.content == "hi"


# ---------------------------------------------------------------------------
# A client never closed: no "Unclosed client session / connector" noise at exit
# ---------------------------------------------------------------------------

UNCLOSED = """
import asyncio, gc, sys
import liter_llm

URL, KIND = sys.argv[1], sys.argv[2]
KEPT = []


async def main():
    client = liter_llm.create_async_client(base_url=URL, api_key="k", max_retries=0)
    answer = await client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "hi"
    stream = await client.chat_stream(model="m", messages=[{"role": "user", "content": "hi"}])
    assert [chunk async for chunk in stream]
    if KIND == "abandoned-stream":  # a stream neither read to its end nor closed
        long = await client.chat_stream(model="m", messages=[{"role": "user", "content": "long"}])
        await long.__anext__()
        KEPT.append(long)
    if KIND != "dropped":
        KEPT.append(client)  # outlives its event loop


if KIND == "sync":  # the twin: a sync client never closed
    client = liter_llm.create_client(base_url=URL, api_key="k", max_retries=0)
    client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
    assert list(client.chat_stream(model="m", messages=[{"role": "user", "content": "hi"}]))
else:
    asyncio.run(main())
if KIND == "collected":
    KEPT.clear()
    gc.collect()
print("done")
"""


@pytest.mark.parametrize("kind", ["dropped", "kept-to-exit", "collected", "abandoned-stream", "sync"])
def test_an_async_client_never_closed_leaves_stderr_empty(kind: str) -> None:
    import os
    import subprocess

    server = S.LocalServer()

    def script(req: Any, out: Any) -> None:
        body = req.json()
        if body.get("stream") and body["messages"][0]["content"] == "long":
            out.chunked_head()
            for _ in range(200):
                if not out.chunk(S.chunk_event("more")):
                    return
                time.sleep(0.05)
        elif body.get("stream"):
            out.chunked_head()
            out.chunk(S.chunk_event("hi", role="assistant") + b"data: [DONE]\n\n")
            out.end_chunks()
        else:
            out.reply(200, S.chat_json("hi"))

    server.script = script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONWARNINGS", "PYTHONDEVMODE"))}
    try:
        done = subprocess.run(
            [sys.executable, "-c", UNCLOSED, server.url + "/v1", kind],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert done.stderr == ""
