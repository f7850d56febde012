"""The requests and answers the client builds without httpx's constructors are the ones those constructors build.

core/src/liter_llm/_httpx_objects.py sets httpx's attributes directly (its first use checks that the
installed httpx has the layout it expects). These tests build each object both ways, through the
real client and transport as well as directly, and compare every attribute; then use the objects as
a plugin would: read, stream, copy, pickle, change their headers.
"""

from __future__ import annotations

import asyncio
import copy
import pickle
import socket
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py

from liter_llm import _httpx_objects as objects
from liter_llm._h1 import H1Transport

CLIENTS = S.MockClients(max_retries=0)


def attributes(value: Any) -> Any:
    """An object's attributes, compared by value (nested httpx objects by theirs; requests and streams by type)."""
    if isinstance(value, (httpx.Headers, httpx.ByteStream, httpx.URL)):
        return (type(value), {name: attributes(v) for name, v in vars(value).items()})
    if isinstance(value, (httpx.Request, httpx.AsyncByteStream, httpx.SyncByteStream)):
        return type(value)
    return value


def assert_same(ours: Any, theirs: Any) -> None:
    assert type(ours) is type(theirs)
    assert list(vars(ours)) == list(vars(theirs))
    assert {k: attributes(v) for k, v in vars(ours).items()} == {k: attributes(v) for k, v in vars(theirs).items()}


def test_the_installed_httpx_has_the_layout_the_direct_builds_expect() -> None:
    assert objects._check() is True


def test_a_request_is_the_one_the_constructor_builds() -> None:
    url = httpx.URL("http://127.0.0.1:8/v1/chat/completions?x=1")
    kept = httpx.Headers([(b"Host", b"127.0.0.1:8"), (b"content-type", b"application/json")])
    ours = objects.request("post", url, kept, b'{"a":1}')
    theirs = httpx.Request("post", url, headers=kept, stream=httpx.ByteStream(b'{"a":1}'))
    theirs._content = b'{"a":1}'
    assert_same(ours, theirs)
    assert ours.method == "POST"
    assert ours.read() == ours.content == b'{"a":1}'
    assert b"".join(ours.stream) == b'{"a":1}'  # type: ignore[union-attr]

    async def body() -> bytes:
        return b"".join([piece async for piece in ours.stream])  # type: ignore[union-attr]

    assert asyncio.run(body()) == b'{"a":1}'
    assert_same(pickle.loads(pickle.dumps(ours)), pickle.loads(pickle.dumps(theirs)))
    assert copy.copy(ours).headers.raw == theirs.headers.raw
    # its headers are its own: the kept set is not changed by a change to one request's
    ours.headers["authorization"] = "Bearer x"
    assert "authorization" not in kept


def test_an_answer_is_the_one_the_constructor_builds() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:8/")
    items = [(b"Content-Type", b"content-type", b"application/json"), (b"Set-Cookie", b"set-cookie", b"a=1")]
    stream = httpx.AsyncByteStream()
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK"}
    ours = objects.response(200, list(items), stream, request, dict(extensions))
    theirs = httpx.Response(
        200, headers=httpx.Headers([(n, v) for n, _, v in items]), stream=stream, request=request, extensions=extensions
    )
    assert_same(ours, theirs)
    assert ours.headers["content-type"] == "application/json"
    assert ours.http_version == "HTTP/1.1"
    assert ours.reason_phrase == "OK"
    assert ours.request is request
    assert not ours.is_closed
    assert not ours.is_stream_consumed


def test_what_both_clients_build_and_read_matches_httpx_s_own(mode: str) -> None:
    """A request the client built and sent, and the answer it read, through each client."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return S.openai_response("gpt-4o")

    with CLIENTS.twin(mode, handler) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
    (request,) = seen
    theirs = httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        stream=httpx.ByteStream(request.content),
        extensions=request.extensions,
    )
    theirs._content = request.content
    assert theirs.headers.encoding == request.headers.encoding  # computed on first use, as on the sent one
    assert_same(request, theirs)


def test_an_answer_of_the_h1_transport_reads_as_httpx_s() -> None:
    """Through httpx.AsyncClient on the client's own transport: the answer behaves as any httpx answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"

    async def serve_once() -> None:
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        conn, _ = await loop.sock_accept(listener)
        with conn:
            await loop.sock_recv(conn, 65536)
            await loop.sock_sendall(conn, answer)

    async def go() -> httpx.Response:
        server = asyncio.ensure_future(serve_once())
        async with httpx.AsyncClient(transport=H1Transport()) as http:
            response = await http.get(f"http://127.0.0.1:{port}/x")
        await server
        return response

    try:
        response = asyncio.run(go())
    finally:
        listener.close()
    assert response.text == "hello"
    assert response.headers.raw == [(b"Content-Type", b"text/plain"), (b"X-A", b"1"), (b"Content-Length", b"5")]
    assert response.is_closed
    assert response.elapsed.total_seconds() >= 0
    assert response.reason_phrase == "OK"
    response.headers["x-b"] = "2"  # its own items
    assert response.headers.get_list("x-b") == ["2"]
