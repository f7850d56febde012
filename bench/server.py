"""A minimal OpenAI-compatible HTTP/1.1 keep-alive server for the benchmark.

Raw asyncio protocol, canned answers, no framework: it must cost far less
CPU per request than the clients under test, so it is never the bottleneck.
It listens on 127.0.0.1 only.

Routes (any method, the path alone decides):

- ``POST /v1/chat/completions`` with ``"stream":true`` in the body: a canned
  SSE stream of ``STREAM_CHUNKS`` chunks (one text delta each), a final
  chunk with ``finish_reason`` and usage, then ``data: [DONE]``;
- ``POST /v1/chat/completions`` otherwise: a canned chat completion.

Run: ``python bench/server.py PORT_FILE [CPU]`` -- writes the port to
PORT_FILE once it listens; pins itself to CPU when given.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

STREAM_CHUNKS = 100

_CHAT = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_bench",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! How can I assist you today? This is a canned benchmark answer.",
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 17,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    },
    separators=(",", ":"),
).encode()


def _chunk(delta: dict[str, object], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _stream_body() -> bytes:
    parts = [_chunk({"role": "assistant", "content": ""})]
    parts += [_chunk({"content": f"tok{i} "}) for i in range(STREAM_CHUNKS - 2)]
    parts.append(_chunk({}, "stop", {"prompt_tokens": 12, "completion_tokens": STREAM_CHUNKS, "total_tokens": 112}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def _response(status: str, content_type: bytes, body: bytes, *, chunked: bool = False) -> bytes:
    head = b"HTTP/1.1 " + status.encode() + b"\r\ncontent-type: " + content_type + b"\r\n"
    if chunked:
        # one HTTP chunk per SSE event, as a real provider sends them
        events = [e + b"\n\n" for e in body.split(b"\n\n") if e]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
        return head + b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n" + payload
    return head + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body


CHAT_RESPONSE = _response("200 OK", b"application/json", _CHAT)
STREAM_RESPONSE = _response("200 OK", b"text/event-stream", _stream_body(), chunked=True)
NOT_FOUND = _response(
    "404 Not Found", b"application/json", b'{"error":{"message":"not found","type":"invalid_request_error"}}'
)


class _Protocol(asyncio.Protocol):
    __slots__ = ("_buf", "_transport")

    def __init__(self) -> None:
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            lower = head.lower()
            pos = lower.find(b"\r\ncontent-length:")
            if pos >= 0:
                stop = lower.find(b"\r\n", pos + 2)
                length = int(lower[pos + 17 : stop if stop >= 0 else len(lower)])
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4 : total]
            buf = buf[total:]
            line = head[: head.find(b"\r\n")]
            if b"/chat/completions" not in line:
                out.append(NOT_FOUND)
            elif b'"stream":true' in body:
                out.append(STREAM_RESPONSE)
            else:
                out.append(CHAT_RESPONSE)
        self._buf = buf
        if out and self._transport is not None:
            self._transport.write(b"".join(out))


async def serve(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, sock=sock)
    async with server:
        await server.serve_forever()


def main() -> None:
    if len(sys.argv) > 2 and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {int(sys.argv[2])})
        except OSError:
            pass
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port_file = sys.argv[1]
    with open(port_file + ".tmp", "w") as fh:
        fh.write(str(sock.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    try:
        asyncio.run(serve(sock))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
