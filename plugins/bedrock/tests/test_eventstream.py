"""The AWS event-stream framing: incremental decoding, CRCs, typed headers, bounds."""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liter_llm.errors import StreamingError
from liter_llm_bedrock import EventStreamDecoder, encode_message
from liter_llm_bedrock._eventstream import MAX_MESSAGE_LENGTH

from .conftest import event, stream_fixture


def test_the_documented_example_frame() -> None:
    """A message with no headers and the payload {"foo": "bar"} (the example of the framing's documentation)."""
    frame = encode_message({}, b'{"foo": "bar"}')
    assert frame == bytes(
        [
            0,
            0,
            0,
            30,
            0,
            0,
            0,
            0,
            186,
            242,
            246,
            138,
            123,
            34,
            102,
            111,
            111,
            34,
            58,
            32,
            34,
            98,
            97,
            114,
            34,
            125,
            174,
            114,
            88,
            228,
        ]
    )
    assert frame[:4] == struct.pack(">I", 30)
    assert frame[4:8] == b"\x00\x00\x00\x00"
    assert frame[8:12] == struct.pack(">I", zlib.crc32(frame[:8]))
    (message,) = EventStreamDecoder().feed(frame)
    assert message.payload == b'{"foo": "bar"}'
    assert dict(message.headers) == {}


def test_every_header_type() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    raw = b""
    for name, kind, value in (
        ("t", 0, b""),
        ("f", 1, b""),
        ("b", 2, struct.pack(">b", -3)),
        ("s", 3, struct.pack(">h", -300)),
        ("i", 4, struct.pack(">i", 70000)),
        ("l", 5, struct.pack(">q", 2**40)),
        ("bytes", 6, struct.pack(">H", 3) + b"\x00\x01\x02"),
        ("str", 7, struct.pack(">H", 2) + "é".encode()),
        ("ts", 8, struct.pack(">q", 1700000000000)),
        ("id", 9, ident.bytes),
    ):
        raw += bytes([len(name)]) + name.encode() + bytes([kind]) + value
    total = 16 + len(raw)
    prelude = struct.pack(">II", total, len(raw))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw
    frame = body + struct.pack(">I", zlib.crc32(body))
    (message,) = EventStreamDecoder().feed(frame)
    assert dict(message.headers) == {
        "t": True,
        "f": False,
        "b": -3,
        "s": -300,
        "i": 70000,
        "l": 2**40,
        "bytes": b"\x00\x01\x02",
        "str": "é",
        "ts": 1700000000000,
        "id": ident,
    }


FRAMES = stream_fixture("stream_tool_use.json")
WHOLE = b"".join(FRAMES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(WHOLE)), max_size=12))
def test_a_frame_split_at_any_byte(cuts: list[int]) -> None:
    decoder = EventStreamDecoder()
    messages = []
    start = 0
    for cut in [*sorted(cuts), len(WHOLE)]:
        messages += decoder.feed(WHOLE[start:cut])
        start = cut
    messages += decoder.close()
    assert [m.payload for m in messages] == [EventStreamDecoder().feed(f)[0].payload for f in FRAMES]


def test_every_single_byte_split() -> None:
    decoder = EventStreamDecoder()
    messages = []
    for index in range(len(WHOLE)):
        messages += decoder.feed(WHOLE[index : index + 1])
    assert len(messages) == len(FRAMES)
    assert decoder.close() == []


def test_bad_prelude_crc() -> None:
    frame = bytearray(event("messageStart", {"role": "assistant"}))
    frame[8] ^= 0xFF
    with pytest.raises(StreamingError, match="prelude CRC"):
        EventStreamDecoder().feed(bytes(frame))


def test_bad_message_crc() -> None:
    frame = bytearray(event("messageStart", {"role": "assistant"}))
    frame[-6] ^= 0x01  # a payload byte
    with pytest.raises(StreamingError, match="message CRC"):
        EventStreamDecoder().feed(bytes(frame))


def test_oversized_frame_refused_before_it_is_buffered() -> None:
    prelude = struct.pack(">II", MAX_MESSAGE_LENGTH + 1, 0)
    head = prelude + struct.pack(">I", zlib.crc32(prelude))
    with pytest.raises(StreamingError, match="limit"):
        EventStreamDecoder().feed(head)


def test_headers_longer_than_the_message() -> None:
    prelude = struct.pack(">II", 20, 10)
    head = prelude + struct.pack(">I", zlib.crc32(prelude))
    with pytest.raises(StreamingError, match="headers section"):
        EventStreamDecoder().feed(head + b"\x00" * 8)


def test_unknown_header_type() -> None:
    raw = b"\x01x\x0f"
    total = 16 + len(raw)
    prelude = struct.pack(">II", total, len(raw))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw
    with pytest.raises(StreamingError, match="unknown value type"):
        EventStreamDecoder().feed(body + struct.pack(">I", zlib.crc32(body)))


def test_truncated_input_at_close() -> None:
    decoder = EventStreamDecoder()
    frame = event("messageStart", {"role": "assistant"})
    assert decoder.feed(frame[:-3]) == []
    with pytest.raises(StreamingError, match="ended inside a message"):
        decoder.close()
