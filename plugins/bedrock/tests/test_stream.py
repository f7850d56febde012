"""ConverseStream through both clients: MockTransport, and a real local server speaking the event stream."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import pytest

import liter_llm
from liter_llm.errors import RateLimitedError, StreamingError
from liter_llm.streaming import assemble_stream
from liter_llm.types import FinishReason

from .conftest import Runner, event, stream_fixture, stream_response

MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
USER = [{"role": "user", "content": "Hi"}]


def _text(chunks: list) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_text_reasoning_and_usage(run: Runner) -> None:
    chunks = run(
        "chat_stream", lambda r: stream_response(stream_fixture("stream_text.json")), model=MODEL, messages=USER
    )
    request = run.requests[0]
    assert request.url.raw_path == b"/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse-stream"
    assert request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert _text(chunks) == "Hello, world"
    whole = assemble_stream(chunks)
    assert whole.choices[0].message.reasoning_content == "Thinking about it."
    assert whole.choices[0].finish_reason == FinishReason.STOP
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (12, 7)


def test_tool_use_stream(run: Runner) -> None:
    chunks = run(
        "chat_stream", lambda r: stream_response(stream_fixture("stream_tool_use.json")), model=MODEL, messages=USER
    )
    whole = assemble_stream(chunks)
    choice = whole.choices[0]
    assert choice.message.content == "Let me look up the weather for Seattle."
    (call,) = choice.message.tool_calls
    assert call.id == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    assert call.function.name == "top_song"
    assert json.loads(call.function.arguments) == {"sign": "WZPZ"}
    assert choice.finish_reason == FinishReason.TOOL_CALLS
    assert whole.usage.prompt_tokens == 375 + 100 + 20
    assert whole.usage.prompt_tokens_details.cached_tokens == 100
    assert whole.usage.prompt_tokens_details.cache_creation_tokens == 20


def test_exception_mid_stream(run: Runner) -> None:
    with pytest.raises(RateLimitedError) as info:
        run(
            "chat_stream",
            lambda r: stream_response(stream_fixture("stream_throttled.json")),
            model=MODEL,
            messages=USER,
        )
    assert "Too many tokens" in info.value.message
    assert info.value.code == "throttlingException"


def test_bad_crc_is_a_streaming_error_carrying_what_arrived(run: Runner) -> None:
    frames = stream_fixture("stream_text.json")
    broken = bytearray(frames[5])
    broken[-1] ^= 0xFF
    frames[5] = bytes(broken)
    with pytest.raises(StreamingError) as info:
        run("chat_stream", lambda r: stream_response(frames), model=MODEL, messages=USER)
    assert "CRC" in str(info.value)
    assert _text(info.value.chunks) == "Hello"


def test_stream_cut_before_message_stop_is_incomplete(run: Runner) -> None:
    frames = stream_fixture("stream_text.json")[:-2]
    with pytest.raises(StreamingError) as info:
        run("chat_stream", lambda r: stream_response(frames), model=MODEL, messages=USER)
    assert _text(info.value.chunks) == "Hello, world"


def test_unknown_event_type_is_skipped(run: Runner) -> None:
    frames = stream_fixture("stream_text.json")
    frames.insert(1, event("somethingNew", {"x": 1}))
    chunks = run("chat_stream", lambda r: stream_response(frames), model=MODEL, messages=USER)
    assert _text(chunks) == "Hello, world"


# ---------------------------------------------------------------------------
# A real server on 127.0.0.1 speaking the event stream over HTTP/1.1 (chunked)
# ---------------------------------------------------------------------------


class EventStreamServer:
    """Answers every POST with the given frames, chunked; ``cut`` drops the connection after that many bytes."""

    def __init__(self, frames: list[bytes], cut: int | None = None) -> None:
        self.frames = frames
        self.cut = cut
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.paths: list[str] = []
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
                head, _, rest = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                self.paths.append(lines[0].split(" ")[1])
                length = next(
                    (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                method, target = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                self.received.append((method, target, headers, rest))
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
                    b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                )
                payload = b"".join(self.frames)
                if self.cut is not None:
                    piece = payload[: self.cut]
                    conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    conn.shutdown(socket.SHUT_RDWR)
                    continue
                for frame in self.frames:  # one frame over two chunks: a split frame on the wire
                    half = len(frame) // 2
                    for piece in (frame[:half], frame[half:]):
                        conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                conn.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server_factory() -> Iterator[list[EventStreamServer]]:
    servers: list[EventStreamServer] = []
    yield servers
    for server in servers:
        server.close()


def _stream(mode: str, port: int) -> list:
    options = {"model_hint": "bedrock", "base_url": f"http://127.0.0.1:{port}", "max_retries": 0}
    if mode == "sync":
        with liter_llm.create_client(**options) as client, client.chat_stream(model=MODEL, messages=USER) as stream:
            return list(stream)

    async def main() -> list:
        async with liter_llm.create_async_client(**options) as client:
            stream = await client.chat_stream(model=MODEL, messages=USER)
            async with stream:
                return [chunk async for chunk in stream]

    return asyncio.run(main())


def test_real_server_stream(mode: str, server_factory: list[EventStreamServer]) -> None:
    server = EventStreamServer(stream_fixture("stream_tool_use.json"))
    server_factory.append(server)
    chunks = _stream(mode, server.port)
    assert server.paths == ["/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse-stream"]
    whole = assemble_stream(chunks)
    assert whole.choices[0].message.tool_calls[0].function.name == "top_song"
    assert whole.choices[0].finish_reason == FinishReason.TOOL_CALLS


def test_real_server_drops_the_connection_mid_frame(mode: str, server_factory: list[EventStreamServer]) -> None:
    frames = stream_fixture("stream_text.json")
    cut = sum(len(f) for f in frames[:6]) + 10  # inside the seventh frame, after "Hello" and ", world"
    server = EventStreamServer(frames, cut=cut)
    server_factory.append(server)
    with pytest.raises(StreamingError) as info:
        _stream(mode, server.port)
    assert _text(info.value.chunks) == "Hello, world"


def test_real_server_sees_the_arn_as_one_segment(mode: str, server_factory: list[EventStreamServer]) -> None:
    """What the transport sends is what was signed: '/' in an ARN stays %2F on both clients."""
    server = EventStreamServer(stream_fixture("stream_text.json"))
    server_factory.append(server)
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    options = {"model_hint": "bedrock", "base_url": f"http://127.0.0.1:{server.port}", "max_retries": 0}
    if mode == "sync":
        with liter_llm.create_client(**options) as client, client.chat_stream(model=arn, messages=USER) as stream:
            list(stream)
    else:

        async def main() -> None:
            async with liter_llm.create_async_client(**options) as client:
                stream = await client.chat_stream(model=arn, messages=USER)
                async with stream:
                    [chunk async for chunk in stream]

        asyncio.run(main())
    assert server.paths == [
        "/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.anthropic.claude-3-5-sonnet-20241022-v2:0"
        "/converse-stream"
    ]


def test_the_server_can_verify_the_signature_of_what_it_received(
    mode: str, server_factory: list[EventStreamServer]
) -> None:
    """Recompute the signature from the bytes that reached the server, as AWS does: both clients pass."""
    from liter_llm_bedrock import AwsCredentials, sign

    from .conftest import ACCESS_KEY, SECRET_KEY

    server = EventStreamServer(stream_fixture("stream_text.json"))
    server_factory.append(server)
    _stream(mode, server.port)
    method, target, headers, body = server.received[0]
    signed = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    path, _, query = target.partition("?")
    expected = sign(
        method=method,
        raw_path=path,
        query=query,
        headers={name: headers[name] for name in signed},
        body=body,
        credentials=AwsCredentials(ACCESS_KEY, SECRET_KEY),
        region="us-east-1",
        service="bedrock",
        amz_date=headers["x-amz-date"],
        signed_headers=signed,
    )
    assert headers["authorization"] == expected
    assert {"host", "x-amz-date", "content-type"} <= set(signed)


def test_a_tool_called_without_arguments_gets_an_empty_object(run: Runner) -> None:
    frames = [
        event("messageStart", {"role": "assistant"}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "now"}}},
        ),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "tool_use"}),
        event("metadata", {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}),
    ]
    whole = assemble_stream(run("chat_stream", lambda r: stream_response(frames), model=MODEL, messages=USER))
    assert whole.choices[0].message.tool_calls[0].function.arguments == "{}"


@pytest.mark.parametrize(
    "bad",
    [
        event("contentBlockDelta", {"contentBlockIndex": "0", "delta": {"text": "x"}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": 5}}),
        event("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{"}}}),
        event("metadata", {"usage": {"inputTokens": -1}}),
    ],
)
def test_malformed_events_end_the_stream_with_what_arrived(run: Runner, bad: bytes) -> None:
    frames = [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        bad,
    ]
    with pytest.raises(StreamingError) as info:
        run("chat_stream", lambda r: stream_response(frames), model=MODEL, messages=USER)
    assert _text(info.value.chunks) == "Hi"
