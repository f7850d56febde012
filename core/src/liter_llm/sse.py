"""An incremental Server-Sent Events decoder that follows the WHATWG specification.

Bytes go in as they arrive, in pieces of any size (a piece may end in the
middle of a line, or of a UTF-8 character); whole events come out.  Handles
comments, ``event:``/``data:``/``id:``/``retry:`` fields, multi-line data, and
CR, LF and CRLF line ends (a CR at the end of one piece and an LF at the start
of the next are one line end).  As the specification says, one UTF-8 byte
order mark at the very start of the stream is skipped, and a ``retry:`` field
is used only when its value is ASCII digits.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm.errors import StreamingError

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SSEDecoder", "ServerSentEvent"]

#: The largest event the decoder holds before it gives up (a runaway stream).
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024


@frozen(slots=True, repr=False, eq=False)
class ServerSentEvent(FrozenFields):
    """One event: its ``event`` name (``"message"`` when none was given), ``data``, ``id`` and ``retry``."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


_new = object.__new__
_set_data = ServerSentEvent.__dict__["data"].__set__
_set_event = ServerSentEvent.__dict__["event"].__set__
_set_id = ServerSentEvent.__dict__["id"].__set__
_set_retry = ServerSentEvent.__dict__["retry"].__set__


class SSEDecoder:
    """Turn a byte stream into :class:`ServerSentEvent` objects.

    ``feed(data)`` returns the events completed by ``data``; ``close()``
    returns what the end of input completes.  A pending event without a
    terminating blank line is dispatched at close, as the specification
    allows servers to omit the final blank line in practice.
    """

    __slots__ = (
        "_buffer",
        "_data",
        "_event",
        "_id",
        "_last_id",
        "_max",
        "_pending_cr",
        "_retry",
        "_size",
        "_split",
        "_started",
        "_utf8",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._split = False  # whether the incremental decoder holds the start of a character
        self._buffer = ""
        self._pending_cr = False
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._max = max_event_bytes
        self._size = 0
        self._started = False

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode one piece of the stream; return the events it completes."""
        text = None
        if not self._split:  # no UTF-8 character left open by the last piece: decode at once
            try:
                text = data.decode()
            except UnicodeDecodeError:
                pass  # a character cut at the end (or bad input): the incremental decoder decides
        if text is None:
            try:
                text = self._utf8.decode(data)
            except UnicodeDecodeError as exc:
                raise StreamingError(f"the stream is not valid UTF-8: {exc}") from None
            self._split = bool(self._utf8.getstate()[0])
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":  # a byte order mark before the first field
                text = text[1:]
                if not text:
                    return []
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
        buffer = self._buffer + text if self._buffer else text
        events: list[ServerSentEvent] = []
        handle = self._line
        if "\r" not in buffer:
            # fast path: LF-only streams (the common case), split at once; ``data:`` lines
            # and blank lines (the usual two of an event) handled here, as _line would
            lines = buffer.split("\n")
            rest = lines.pop()
            for line in lines:
                if not line:
                    event = self._dispatch()
                    if event is not None:
                        events.append(event)
                elif line.startswith("data:"):
                    value = line[6:] if line[5:6] == " " else line[5:]
                    self._data.append(value)
                    self._size += len(value) + 1
                    if self._size > self._max:
                        raise StreamingError(f"a stream event exceeded {self._max} bytes without ending")
                else:
                    event = handle(line)
                    if event is not None:
                        events.append(event)
            self._buffer = rest
            if rest and len(rest) + self._size > self._max:
                raise StreamingError(f"a stream event exceeded {self._max} bytes without ending")
            return events
        for line in self._lines(buffer):
            event = handle(line)
            if event is not None:
                events.append(event)
        return events

    def _lines(self, buffer: str) -> Iterator[str]:
        # a buffer with a CR in it (LF-only buffers take the split in feed)
        start = 0
        length = len(buffer)
        while start < length:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr < 0 and lf < 0:
                break
            if cr < 0 or (0 <= lf < cr):
                yield buffer[start:lf]
                start = lf + 1
                continue
            # a CR line end; swallow a following LF, or remember to if it is not here yet
            yield buffer[start:cr]
            if cr + 1 < length:
                start = cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            else:
                self._pending_cr = True
                start = cr + 1
        self._keep(buffer[start:])

    def _keep(self, rest: str) -> None:
        self._buffer = rest
        if len(rest) + self._size > self._max:
            raise StreamingError(f"a stream event exceeded {self._max} bytes without ending")

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self._max:
                raise StreamingError(f"a stream event exceeded {self._max} bytes without ending")
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if self._id is not None:
            self._last_id = self._id
        if not self._data:
            self._event = None
            self._id = None
            self._retry = None
            return None
        # what ServerSentEvent(...) builds (a frozen class: its __init__ stores through
        # object.__setattr__), through the slots' own descriptors, at half the cost
        event = _new(ServerSentEvent)
        data = self._data
        _set_data(event, data[0] if len(data) == 1 else "\n".join(data))
        _set_event(event, self._event or "message")
        _set_id(event, self._last_id)
        _set_retry(event, self._retry)
        self._data = []
        self._size = 0
        self._event = None
        self._id = None
        self._retry = None
        return event

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of input; return an event left pending without its blank line."""
        try:
            tail = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise StreamingError(f"the stream ended inside a UTF-8 character: {exc}") from None
        events: list[ServerSentEvent] = []
        rest = self._buffer + tail
        self._buffer = ""
        if rest:
            event = self._line(rest)
            if event is not None:
                events.append(event)
        last = self._dispatch()
        if last is not None:
            events.append(last)
        return events
