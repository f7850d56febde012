"""The AWS event-stream binary framing (``application/vnd.amazon.eventstream``), decoded incrementally.

A message is::

    total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (u32 BE)
    headers | payload | message CRC32 (u32 BE)

The prelude CRC covers the first 8 bytes, the message CRC everything before
it.  A header is ``name length (u8) | name (UTF-8) | type (u8) | value``
with the value typed: 0 true, 1 false, 2 byte, 3 short, 4 int, 5 long,
6 bytes (u16 length), 7 string (u16 length), 8 timestamp (ms, i64),
9 UUID (16 bytes).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

import attrs

from liter_llm.errors import StreamingError

__all__ = [
    "MAX_HEADERS_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "EventStreamDecoder",
    "EventStreamMessage",
    "encode_message",
]

#: The largest message the decoder accepts (the event-stream specification's 16 MiB).
MAX_MESSAGE_LENGTH = 16 * 1024 * 1024
#: The largest headers section accepted (128 KiB).
MAX_HEADERS_LENGTH = 128 * 1024
_PRELUDE = 12
_MINIMUM = 16


@attrs.frozen
class EventStreamMessage:
    """One decoded message: its headers (``:message-type``, ``:event-type``...) and its payload bytes."""

    headers: Mapping[str, Any]
    payload: bytes

    @property
    def message_type(self) -> str | None:
        """``event``, ``exception`` or ``error`` (the ``:message-type`` header)."""
        value = self.headers.get(":message-type")
        return value if isinstance(value, str) else None

    @property
    def event_type(self) -> str | None:
        """The ``:event-type`` header (``messageStart``, ``contentBlockDelta``...)."""
        value = self.headers.get(":event-type")
        return value if isinstance(value, str) else None


def _fail(message: str) -> StreamingError:
    return StreamingError(f"malformed AWS event stream: {message}", provider="bedrock")


def _headers(data: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    pos = 0
    end = len(data)
    while pos < end:
        name_len = data[pos]
        pos += 1
        if name_len == 0 or pos + name_len + 1 > end:
            raise _fail("a header name runs past the headers section")
        try:
            name = data[pos : pos + name_len].decode("utf-8")
        except UnicodeDecodeError:
            raise _fail("a header name is not UTF-8") from None
        pos += name_len
        kind = data[pos]
        pos += 1
        value: Any
        if kind == 0:
            value = True
        elif kind == 1:
            value = False
        elif kind in (2, 3, 4, 5, 8):
            size, fmt = {2: (1, ">b"), 3: (2, ">h"), 4: (4, ">i"), 5: (8, ">q"), 8: (8, ">q")}[kind]
            if pos + size > end:
                raise _fail(f"header {name!r} runs past the headers section")
            value = struct.unpack_from(fmt, data, pos)[0]
            pos += size
        elif kind in (6, 7):
            if pos + 2 > end:
                raise _fail(f"header {name!r} runs past the headers section")
            (length,) = struct.unpack_from(">H", data, pos)
            pos += 2
            if pos + length > end:
                raise _fail(f"header {name!r} runs past the headers section")
            raw = data[pos : pos + length]
            pos += length
            if kind == 7:
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise _fail(f"header {name!r} is not UTF-8") from None
            else:
                value = bytes(raw)
        elif kind == 9:
            if pos + 16 > end:
                raise _fail(f"header {name!r} runs past the headers section")
            value = uuid.UUID(bytes=bytes(data[pos : pos + 16]))
            pos += 16
        else:
            raise _fail(f"header {name!r} has the unknown value type {kind}")
        headers[name] = value
    return headers


class EventStreamDecoder:
    """Decode event-stream messages from bytes fed in pieces of any size (a ``liter_llm.StreamDecoder``).

    :meth:`feed` returns the messages its bytes complete; :meth:`close`
    raises :class:`~liter_llm.errors.StreamingError` when the input ended
    inside a message.  A bad CRC, a length out of bounds or a malformed
    header raises StreamingError at once.
    """

    def __init__(self, max_message_length: int = MAX_MESSAGE_LENGTH) -> None:
        self._buffer = bytearray()
        self._max = max_message_length
        self._error: StreamingError | None = None

    def feed(self, data: bytes) -> list[EventStreamMessage]:
        """Take the next bytes; return the messages they complete.

        When a bad message follows good ones in the same bytes, the good ones are returned first and
        the error is raised by the next :meth:`feed` or :meth:`close`: nothing that arrived is lost.
        """
        if self._error is not None:
            raise self._error
        self._buffer += data
        out: list[EventStreamMessage] = []
        try:
            self._decode(out)
        except StreamingError as exc:
            self._buffer.clear()
            if not out:
                raise
            self._error = exc
        return out

    def _decode(self, out: list[EventStreamMessage]) -> None:
        buf = self._buffer
        while len(buf) >= _PRELUDE:
            total, headers_len, prelude_crc = struct.unpack_from(">III", buf, 0)
            if zlib.crc32(bytes(buf[:8])) != prelude_crc:
                raise _fail("the prelude CRC does not match")
            if total < _MINIMUM or total > self._max:
                raise _fail(f"a message of {total} bytes (the limit is {self._max})")
            if headers_len > MAX_HEADERS_LENGTH or headers_len > total - _MINIMUM:
                raise _fail(f"a headers section of {headers_len} bytes in a message of {total}")
            if len(buf) < total:
                break
            frame = bytes(buf[:total])
            del buf[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != message_crc:
                raise _fail("the message CRC does not match")
            headers = _headers(frame[_PRELUDE : _PRELUDE + headers_len])
            out.append(EventStreamMessage(headers=headers, payload=frame[_PRELUDE + headers_len : -4]))

    def close(self) -> list[EventStreamMessage]:
        """End of input: nothing may be left half-received."""
        if self._error is not None:
            raise self._error
        if self._buffer:
            left = len(self._buffer)
            self._buffer.clear()
            raise StreamingError(
                f"the AWS event stream ended inside a message ({left} bytes of it arrived)", provider="bedrock"
            )
        return []


def _encode_header(name: str, value: Any) -> bytes:
    raw_name = name.encode("utf-8")
    head = struct.pack(">B", len(raw_name)) + raw_name
    if value is True:
        return head + b"\x00"
    if value is False:
        return head + b"\x01"
    if isinstance(value, uuid.UUID):
        return head + b"\x09" + value.bytes
    if isinstance(value, int):
        return head + b"\x04" + struct.pack(">i", value)
    if isinstance(value, bytes):
        return head + b"\x06" + struct.pack(">H", len(value)) + value
    text = str(value).encode("utf-8")
    return head + b"\x07" + struct.pack(">H", len(text)) + text


def encode_message(headers: Mapping[str, Any], payload: bytes) -> bytes:
    """Encode one event-stream message (for tests and local servers that speak the framing)."""
    encoded = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = _MINIMUM + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))
