"""The async client's default transport for direct connections: our own small asyncio HTTP/1.1 client.

:class:`H1Transport` is an ``httpx.AsyncBaseTransport`` over asyncio
``Protocol`` connections (no aiohttp, no httpcore on this path): an
``httpx.Request`` in, one write of the request head and body, the answer's
head parsed from the bytes as they arrive, an ``httpx.Response`` out whose
body is an :class:`H1Stream`.  It does what the client needs and no more:

- a pool per event loop keyed by (scheme, host, port, SNI name), keep-alive,
  ``max_connections`` with waiters (``pool`` timeout -> ``httpx.PoolTimeout``),
  ``keepalive_expiry``; a connection goes back to the pool only when its
  answer's body was read to its end (a response closed early, a cancelled
  task, an error or ``Connection: close`` closes the socket); a client used
  under a second ``asyncio.run`` gets a new pool; ``max_keepalive_connections``
  is not used (as with aiohttp's pool: every connection under the limit may
  stay idle until its expiry); a kept-alive connection that turns out closed
  by the server before a byte of the answer (it closed the idle connection as
  the request was written) is replaced once by a new connection when the body
  is bytes (on a new connection the same is ``RemoteProtocolError``);
- TLS with httpx's context (``httpx.create_ssl_context(trust_env=...)``,
  built on the first https request), SNI, the ``sni_hostname`` extension;
- request bodies as bytes (one write with the head) or as async iterables
  (multipart uploads) framed by their ``Content-Length`` or chunked;
- answers framed by ``Content-Length``, chunked (trailers skipped) or the
  connection's end; no body for HEAD, 1xx, 204 and 304; 1xx answers skipped;
  heads over 64 KiB, more than 256 header lines or a malformed status line
  or header are ``httpx.RemoteProtocolError``;
- httpx's exceptions for each failure, as :class:`~liter_llm._transport.AiohttpTransport`
  raises them: connection refused -> ``ConnectError``, closed before the answer
  or mid-body -> ``RemoteProtocolError`` (the bytes that arrived before a drop
  are handed over first), a read timeout -> ``ReadTimeout``, a connect timeout
  -> ``ConnectTimeout``;
- deadlines (:mod:`liter_llm._deadline`): every wait for bytes is one loop
  timer, at the earliest of the request's ``deadline`` (connect, send, head),
  or its ``body_deadline`` (each body read, once set), and the ``read`` idle
  time; a server that drips bytes one at a time restarts only the idle time,
  never a deadline;
- outside asyncio (trio), the deadline-bounded httpcore pool of
  :class:`~liter_llm._pool_transport.AsyncDeadlineTransport`;
- a transport dropped without ``aclose()`` closes its sockets when collected.

Importing this module opens nothing and builds no TLS context.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

from liter_llm import _httpx_objects as httpx_objects
from liter_llm._header_auth import _HeaderAuth
from liter_llm._header_items import CHECKED as CHECKED_HEADER_ITEMS
from liter_llm._header_items import LINE_OK

__all__ = ["DirectSend", "H1Stream", "H1Transport"]

#: the largest answer head (status line and headers) taken
MAX_HEAD = 64 * 1024
#: the most header lines an answer may have
MAX_HEADERS = 256
#: the buffered bytes above which a connection stops reading until its reader catches up
_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
#: the bytes a request head's line may carry, and LF (the lines checked are joined with it):
#: ``lines.translate(None, _FRESH_OK)`` leaves only the bad ones (faster than a regex search)
_FRESH_OK = LINE_OK + b"\n"
#: a tab as a space (the answer head's look-over for folded lines and padded names: one search each)
_TAB_AS_SPACE = bytes.maketrans(b"\t", b" ")
#: an answer head of at most this many lines is tested line by line (the look-over costs more)
_FEW_HEADER_LINES = 4
_NO_TIMEOUTS: dict[str, float | None] = {}

# body framings
_EMPTY, _LENGTH, _CHUNKED, _UNTIL_CLOSE = range(4)
# chunked states
_SIZE, _DATA, _DATA_END, _TRAILER = range(4)


class DirectSend:
    """The client's direct ``send(request, auth=, stream=True)``, as ``httpx.AsyncClient.send`` runs the auth flow.

    Mixed into the async transports the client sends through without
    ``httpx.AsyncClient`` (no redirects, cookies or event hooks to run).
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:  # pragma: no cover - abstract
        raise NotImplementedError

    async def send(
        self, request: httpx.Request, *, auth: httpx.Auth | None = None, stream: bool = True
    ) -> httpx.Response:
        """Send ``request`` through ``auth``'s flow, as ``httpx.AsyncClient.send(..., stream=True)`` does.

        ``stream`` must be true (the body is read by the caller).
        """
        if not stream:  # pragma: no cover - the client always streams
            raise ValueError(f"{type(self).__name__}.send reads no body: pass stream=True")
        if auth is None or type(auth) is httpx.Auth:
            return await self.handle_async_request(request)
        if type(auth) is _HeaderAuth:  # its flow is one header and one send: without the flow's generators
            auth.apply(request)
            return await self.handle_async_request(request)
        if auth.requires_request_body:
            await request.aread()
        flow = auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self.handle_async_request(request)
                try:
                    try:
                        request = await flow.asend(response)
                    except StopAsyncIteration:
                        return response
                    await response.aread()  # another round of the flow: this answer is done
                except BaseException:
                    await response.aclose()
                    raise
        finally:
            await flow.aclose()


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


async def _within(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[bool], delay: float | None) -> bool:
    """Await ``waiter`` (set to ``True`` by whoever wakes it), at most ``delay`` seconds: ``False`` past them.

    One loop timer per wait, cancelled as soon as the wait ends.
    """
    handle = loop.call_later(delay, _expire, waiter) if delay is not None else None
    try:
        return await waiter
    finally:
        if handle is not None:
            handle.cancel()


class _Connection(asyncio.Protocol):
    """One socket: the bytes received so far, and the task waiting for more (if any)."""

    def __init__(self, pool: _Pool, key: tuple[Any, ...]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bool] | None = None
        self.drained: asyncio.Future[bool] | None = None
        self.closed = False
        self.paused = False
        self.write_paused = False
        self.idle_since = 0.0
        self.idle = False
        #: when the current wait for bytes ends (``time.monotonic()``; ``None``: never)
        self.expires: float | None = None
        #: the connection's one timer, and when it fires; it fires at or before ``expires``
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if len(buffer) > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._wake()
        drained = self.drained
        if drained is not None and not drained.done():
            drained.set_result(True)
        self.pool.lost(self)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        drained = self.drained
        if drained is not None and not drained.done():
            drained.set_result(True)

    # -- ours -----------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def take(self, size: int) -> bytes:
        """The first ``size`` buffered bytes (fewer if fewer are buffered), removed from the buffer."""
        buffer = self.buffer
        if size >= len(buffer):
            piece = bytes(buffer)
            buffer.clear()
        else:
            piece = bytes(buffer[:size])
            del buffer[:size]
        if self.paused and len(buffer) < _LOW_WATER and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return piece

    def consumed(self, size: int) -> None:
        """Drop the first ``size`` buffered bytes (parsed in place)."""
        if size:
            del self.buffer[:size]
            if self.paused and len(self.buffer) < _LOW_WATER and self.transport is not None:
                self.paused = False
                self.transport.resume_reading()

    async def more(self, until: float | None, idle: float | None, request: httpx.Request) -> None:
        """Wait for more bytes (or the connection's end) until ``until`` or ``idle`` seconds; past it, ReadTimeout.

        The connection keeps one timer for all its waits: it is set again only
        when a wait ends before the timer fires; a timer that fires early (the
        wait it was set for ended, a later one runs) moves itself to the
        current wait's end.  No timer is made or cancelled per wait.
        """
        now = time.monotonic()
        expires = None if idle is None else now + idle
        if until is not None:
            if until <= now:
                raise httpx.ReadTimeout("no answer before the call's deadline", request=request)
            if expires is None or until < expires:
                expires = until
        loop = self.pool.loop
        waiter: asyncio.Future[bool] = loop.create_future()
        self.waiter = waiter
        self.expires = expires
        if expires is not None and (self.timer is None or self.timer_at > expires):
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = expires
            self.timer = loop.call_later(expires - now, self._ring)
        try:
            arrived = await waiter
        finally:
            self.waiter = None
        if not arrived:
            raise httpx.ReadTimeout("timed out waiting for the server", request=request)

    def _ring(self) -> None:
        """The connection's timer: end the current wait if it is due, else fire again at its end."""
        self.timer = None
        waiter, expires = self.waiter, self.expires
        if waiter is None or waiter.done() or expires is None:
            return
        left = expires - time.monotonic()
        if left <= 0.0005:
            waiter.set_result(False)
            return
        self.timer_at = expires
        self.timer = self.pool.loop.call_later(left, self._ring)

    async def drain(self, until: float | None, request: httpx.Request) -> None:
        """Wait until the socket takes more bytes (a large upload), at most until ``until``."""
        while self.write_paused and not self.closed:
            drained: asyncio.Future[bool] = self.pool.loop.create_future()
            self.drained = drained
            try:
                delay = None if until is None else max(until - time.monotonic(), 0.0)
                done = await _within(self.pool.loop, drained, delay)
            finally:
                self.drained = None
            if not done:
                raise httpx.WriteTimeout("the request could not be sent before the call's deadline", request=request)

    def close(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.close()

    def close_now(self) -> None:
        """Close the socket without the event loop (its loop may be closed)."""
        self.closed = True
        transport = self.transport
        if transport is None:
            return
        try:
            transport.abort()
        except Exception:  # the loop is closed: end the connection (the descriptor closes with the transport)
            sock = transport.get_extra_info("socket")
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (AttributeError, OSError):
                pass


class _Pool:
    """The connections of one event loop: idle ones per key, the count, the tasks waiting for a slot."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: httpx.Limits) -> None:
        self.loop = loop
        self.limit = limits.max_connections
        self.expiry = limits.keepalive_expiry
        self.idle: dict[tuple[Any, ...], list[_Connection]] = {}
        self.connections: set[_Connection] = set()
        self.connecting = 0
        self.waiters: deque[asyncio.Future[bool]] = deque()

    def lost(self, conn: _Connection) -> None:
        """A connection ended (by the server or by us): it leaves the pool."""
        if conn.idle:
            conn.idle = False
            idle = self.idle.get(conn.key)
            if idle is not None and conn in idle:
                idle.remove(conn)
        if conn in self.connections:
            self.connections.discard(conn)
            self._wake_one()

    def _wake_one(self) -> None:
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return

    def release(self, conn: _Connection, reuse: bool) -> None:
        """Give ``conn`` back: kept for the next request if ``reuse``, else closed."""
        if reuse and not conn.closed and not conn.buffer and conn in self.connections:
            conn.idle = True
            conn.idle_since = self.loop.time()
            self.idle.setdefault(conn.key, []).append(conn)
            self._wake_one()
            return
        conn.close()
        self.lost(conn)

    def _idle_for(self, key: tuple[Any, ...]) -> _Connection | None:
        idle = self.idle.get(key)
        expiry = self.expiry
        while idle:
            conn = idle.pop()
            conn.idle = False
            if conn.closed or conn.buffer or (expiry is not None and self.loop.time() - conn.idle_since > expiry):
                conn.close()
                self.lost(conn)
                continue
            return conn
        return None

    def _evict_other(self) -> bool:
        """Close the longest-idle connection to another host, to make room; whether there was one."""
        oldest: _Connection | None = None
        for idle in self.idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        if oldest is None:
            return False
        oldest.close()
        self.lost(oldest)
        return True

    async def acquire(
        self, key: tuple[Any, ...], ssl_context: Any, timeouts: Any, request: httpx.Request
    ) -> tuple[_Connection, bool]:
        """A connection for ``key``: an idle one (``True``) or a new one (``False``), waiting for a slot if full."""
        while True:
            conn = self._idle_for(key)
            if conn is not None:
                return conn, True
            limit = self.limit
            if limit is None or len(self.connections) + self.connecting < limit or self._evict_other():
                return await self._connect(key, ssl_context, timeouts, request), False
            await self._wait_for_slot(timeouts.get("pool"), request)

    async def _wait_for_slot(self, timeout: float | None, request: httpx.Request) -> None:
        """Wait until a connection leaves or goes idle (then look again), at most ``timeout`` seconds."""
        waiter: asyncio.Future[bool] = self.loop.create_future()
        self.waiters.append(waiter)
        try:
            woken = await _within(self.loop, waiter, timeout)
        except BaseException:  # cancelled: a wake-up already given passes to the next waiter
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._wake_one()
            raise
        if not woken:
            raise httpx.PoolTimeout("no connection of the pool became free in time", request=request)

    async def _connect(
        self, key: tuple[Any, ...], ssl_context: Any, timeouts: Any, request: httpx.Request
    ) -> _Connection:
        host, port, sni = key[1], key[2], key[3]
        self.connecting += 1
        conn = _Connection(self, key)
        try:
            timeout = timeouts.get("connect")
            deadline = getattr(timeouts, "deadline", None)
            if deadline is not None:
                left = deadline - time.monotonic()
                timeout = left if timeout is None or timeout > left else timeout
            opening = self.loop.create_connection(
                lambda: conn,
                host,
                port,
                ssl=ssl_context,
                server_hostname=(sni or host) if ssl_context is not None else None,
            )
            try:
                if timeout is None:
                    await opening
                else:
                    await asyncio.wait_for(opening, max(timeout, 0.001))
            except asyncio.TimeoutError:
                raise httpx.ConnectTimeout("timed out while connecting", request=request) from None
            except OSError as exc:  # refused, unreachable, no such host, a TLS failure (ssl.SSLError)
                raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:
            self.connecting -= 1
            conn.close()
            self._wake_one()
            raise
        self.connecting -= 1
        if conn.closed:  # closed during the TLS handshake's end
            self._wake_one()
            raise httpx.ConnectError("the connection closed as it opened", request=request)
        self.connections.add(conn)
        return conn

    def close(self) -> None:
        """Close every connection (the loop is running or not)."""
        for conn in list(self.connections):
            conn.close_now()
        self.connections.clear()
        self.idle.clear()
        for waiter in self.waiters:
            if not waiter.done():
                try:
                    waiter.cancel()
                except RuntimeError:  # its loop is closed
                    pass
        self.waiters.clear()


def _close_pools(pools: list[_Pool]) -> None:
    """The finalizer of a transport dropped without ``aclose()``."""
    for pool in pools:
        pool.close()
    pools.clear()


def _protocol_error(message: str, request: httpx.Request) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(message, request=request)


def _parse_head(head: bytes, request: httpx.Request) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes, bytes]]]:
    """Status, HTTP version, reason and headers of an answer's head (without its blank line).

    Each header is ``(name, lowered name, value)``: the items of an ``httpx.Headers``, which the answer
    takes as they are (``liter_llm/_httpx_objects.py``), so that no header is normalised twice.
    """
    # find, not ``in``: ``bytes in bytes`` first tries its operand as an integer (a formatted TypeError per call)
    lines = head.split(b"\r\n") if head.find(b"\r\n") >= 0 else head.split(b"\n")
    if len(lines) > MAX_HEADERS + 1:
        raise _protocol_error(f"the answer has more than {MAX_HEADERS} header lines", request)
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise _protocol_error("the answer's status line is not HTTP/1.1", request)
    headers: list[tuple[bytes, bytes, bytes]] = []
    # What each line is tested for (a line that ends with CR, a folded line that starts with a space or a
    # tab, a name that ends with one) is looked for once in the whole head when it has more than a few
    # lines: a usual head has none of them, and each line is then split and stripped only (a real
    # provider's answer has about twenty headers; each test was a method call per line).
    unusual = len(lines) <= _FEW_HEADER_LINES
    if not unusual:
        rest = head[len(lines[0]) :]
        spaced = rest.translate(_TAB_AS_SPACE)
        unusual = spaced.find(b"\n ") >= 0 or spaced.find(b" :") >= 0 or rest.find(b"\r\r") >= 0 or rest.endswith(b"\r")
    if not unusual:
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name:
                raise _protocol_error("the answer has a malformed header line", request)
            headers.append((name, name.lower(), value.strip(b" \t")))
        return int(code), version, reason.strip(), headers
    for raw in lines[1:]:
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line[:1] in (b" ", b"\t"):  # an obsolete folded line continues the header before it
            if not headers:
                raise _protocol_error("the answer's first header line is a continuation", request)
            name, lowered, value = headers[-1]
            headers[-1] = (name, lowered, value + b" " + line.strip(b" \t"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t"):
            raise _protocol_error("the answer has a malformed header line", request)
        headers.append((name, name.lower(), value.strip(b" \t")))
    return int(code), version, reason.strip(), headers


class H1Stream(httpx.AsyncByteStream):
    """An answer's body as it arrives on its connection: httpx's byte stream, plus :meth:`read_all`.

    The connection goes back to its pool as soon as the body's last byte is
    taken; closing the stream before that closes the connection.
    """

    __slots__ = (
        "_chunk_left",
        "_conn",
        "_framing",
        "_idle",
        "_left",
        "_request",
        "_reuse",
        "_state",
        "_timeouts",
        "content_encoded",
    )

    #: the drivers' whole-body fast path applies (:func:`liter_llm._drivers.read_async`)
    reads_whole_body = True

    def __init__(  # noqa: PLR0917 (positional: one per answer, and a keyword call costs a dict)
        self,
        conn: _Connection,
        request: httpx.Request,
        timeouts: Any,
        idle: float | None,
        framing: int,
        length: int,
        reuse: bool,
        encoded: bool | None = None,
    ) -> None:
        self._conn: _Connection | None = conn
        #: whether the answer has a ``Content-Encoding`` (``None``: not known here)
        self.content_encoded = encoded
        self._request = request
        self._timeouts = timeouts
        self._idle = idle
        self._framing = framing
        self._left = length
        self._reuse = reuse
        self._state = _SIZE
        self._chunk_left = 0
        if framing == _EMPTY:
            self._end()

    def _end(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.pool.release(conn, self._reuse)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.pool.release(conn, False)

    async def _more(self, conn: _Connection, what: str) -> None:
        if conn.closed:
            raise _protocol_error(f"the server closed the connection {what}", self._request)
        await conn.more(getattr(self._timeouts, "body_deadline", None), self._idle, self._request)

    async def _piece(self) -> bytes:
        """The next piece of the body; ``b""`` at its end."""
        conn = self._conn
        if conn is None:
            return b""
        try:
            framing = self._framing
            if framing == _LENGTH:
                while not conn.buffer:
                    await self._more(conn, f"with {self._left} bytes of the body still to come")
                piece = conn.take(self._left)
                self._left -= len(piece)
                if self._left == 0:
                    self._end()
                return piece
            if framing == _CHUNKED:
                return await self._chunked_piece(conn)
            while not conn.buffer:  # the body ends with the connection
                if conn.closed:
                    self._end()
                    return b""
                await conn.more(getattr(self._timeouts, "body_deadline", None), self._idle, self._request)
            return conn.take(len(conn.buffer))
        except BaseException:
            self._drop()
            raise

    async def _chunked_piece(self, conn: _Connection) -> bytes:
        """The data of every chunk buffered so far, in one piece (waiting until there is some, or the end)."""
        while True:
            parts, ended = self._parse_chunks(conn)
            if ended:
                self._end()
            if parts or ended:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            await self._more(conn, "in the middle of a chunked body")

    def _parse_chunks(self, conn: _Connection) -> tuple[list[bytes], bool]:
        """Take the complete chunk framing and data from ``conn``'s buffer: the data, and whether the body ended."""
        buffer = conn.buffer
        size = len(buffer)
        pos = 0
        parts: list[bytes] = []
        state = self._state
        left = self._chunk_left
        ended = False
        try:
            while pos < size:
                if state == _DATA:
                    step = left if left < size - pos else size - pos
                    parts.append(bytes(buffer[pos : pos + step]))
                    pos += step
                    left -= step
                    if not left:
                        state = _DATA_END
                    continue
                end = buffer.find(b"\n", pos)
                if end < 0:
                    if size - pos > 4096:
                        raise _protocol_error("a chunk's size line is too long", self._request)
                    break
                line = bytes(buffer[pos : end - 1 if end > pos and buffer[end - 1] == 13 else end])
                pos = end + 1
                if state == _SIZE:
                    digits = line.split(b";", 1)[0].strip(b" \t")
                    if not _CHUNK_SIZE.fullmatch(digits):
                        raise _protocol_error("a chunk's size is not a hexadecimal number", self._request)
                    left = int(digits, 16)
                    state = _DATA if left else _TRAILER
                elif state == _DATA_END:
                    if line:
                        raise _protocol_error("a chunk does not end where its size says", self._request)
                    state = _SIZE
                elif not line:  # _TRAILER: the blank line after the trailers ends the body
                    ended = True
                    break
        finally:
            self._state = state
            self._chunk_left = left
            conn.consumed(pos)
        return parts, ended

    # An iterator of its own, not an async generator: a generator left unfinished (a stream the caller
    # stopped reading) is closed by the event loop's finalizer hook when it is collected, and after the
    # loop has closed that hook makes an ``aclose()`` coroutine nobody awaits (a RuntimeWarning on 3.13).
    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        piece = await self._piece()
        if not piece:
            raise StopAsyncIteration
        return piece

    async def read_all(self, limit: int) -> bytes | None:
        """The whole body, or ``None`` as soon as it is longer than ``limit`` bytes.

        Each read waits until ``body_deadline`` at most.
        """
        conn = self._conn
        if conn is not None and self._framing == _LENGTH and len(conn.buffer) >= self._left:
            if self._left > limit:  # all here already: one piece
                return None
            piece = conn.take(self._left)
            self._left = 0
            self._end()
            return piece
        parts: list[bytes] = []
        size = 0
        while True:
            piece = await self._piece()
            if not piece:
                break
            size += len(piece)
            if size > limit:
                return None
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def aclose(self) -> None:
        self._drop()


async def _write_stream(conn: _Connection, request: httpx.Request, chunked: bool, until: float | None) -> None:
    """Send an async-iterable body (a multipart upload) after its head, framed by its length or chunked."""
    transport = conn.transport
    assert transport is not None
    async for piece in request.stream:  # type: ignore[union-attr]
        if conn.closed:
            return  # the answer (or the drop) tells what happened
        if piece:
            transport.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if conn.write_paused:
            await conn.drain(until, request)
    if chunked and not conn.closed:
        transport.write(b"0\r\n\r\n")


class H1Transport(DirectSend, httpx.AsyncBaseTransport):
    """Our asyncio HTTP/1.1 transport behind the httpx API (see the module's text).

    Args:
        limits: the connection pool's limits (``max_connections`` and
            ``keepalive_expiry`` are used).
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` for the TLS context, as httpx does.
    """

    def __init__(self, limits: httpx.Limits | None = None, *, trust_env: bool = True) -> None:
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._trust_env = trust_env
        self._ssl: Any = None
        self._pool: _Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fallback: Any = None
        # the pools to close if this transport is dropped unclosed (the finalizer must not hold self)
        self._pools: list[_Pool] = []
        weakref.finalize(self, _close_pools, self._pools)

    def __repr__(self) -> str:
        return "H1Transport()"

    def _for_loop(self, loop: asyncio.AbstractEventLoop) -> _Pool:
        old = self._pool
        if old is not None:  # a new event loop: the old pool's sockets belong to the old loop
            old.close()
            if old in self._pools:
                self._pools.remove(old)
        pool = self._pool = _Pool(loop, self._limits)
        self._pools.append(pool)
        self._loop = loop
        return pool

    def _ssl_context(self) -> Any:
        context = self._ssl
        if context is None:
            context = self._ssl = httpx.create_ssl_context(trust_env=self._trust_env)
        return context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): httpcore's pool, with the same deadlines
            if self._fallback is None:
                from liter_llm._pool_transport import AsyncDeadlineTransport

                self._fallback = AsyncDeadlineTransport(self._limits, trust_env=self._trust_env)
            response: httpx.Response = await self._fallback.handle_async_request(request)
            return response
        pool = self._pool if self._loop is loop and self._pool is not None else self._for_loop(loop)
        scheme, host, port, raw_host, path = _target(request.url)
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"the URL's scheme is not http or https: {scheme!r}", request=request)
        if not host:
            raise httpx.UnsupportedProtocol("the URL has no host", request=request)
        sni = request.extensions.get("sni_hostname")
        ssl_context = self._ssl_context() if scheme == "https" else None
        timeouts = request.extensions.get("timeout") or _NO_TIMEOUTS
        deadline = getattr(timeouts, "deadline", None)
        idle = timeouts.get("read")
        head, body, chunked, closing = _request_bytes(request, path)
        key = (scheme, raw_host, port, sni)
        while True:
            conn, reused = await pool.acquire(key, ssl_context, timeouts, request)
            try:
                transport = conn.transport
                assert transport is not None
                if body is None:
                    transport.write(head)
                    await _write_stream(conn, request, chunked, deadline)
                else:
                    transport.write(head + body if body else head)
                return await _answer(conn, request, timeouts, deadline, idle, closing)
            except _StaleConnection:
                pool.release(conn, False)
                if not reused or body is None:
                    raise _protocol_error("the server closed the connection before answering", request) from None
                # a kept-alive connection the server had closed as we took it: once more, on a new one
            except BaseException:
                pool.release(conn, False)
                raise

    async def aclose(self) -> None:
        pool, self._pool, self._loop = self._pool, None, None
        if pool is not None:
            if pool in self._pools:
                self._pools.remove(pool)
            pool.close()
        if self._fallback is not None:
            await self._fallback.aclose()


class _StaleConnection(Exception):
    """The server closed the connection before a byte of the answer (a kept-alive one may be retried)."""


#: per parsed URL (httpx's ``_uri_reference``, which a URL's copies share): that reference (held, so its id is
#: not reused), and its scheme, host, port, host for the pool's key and request target
_TARGETS: dict[int, tuple[Any, tuple[str, str, int, str, bytes]]] = {}
_TARGETS_LIMIT = 512


def _target(url: httpx.URL) -> tuple[str, str, int, str, bytes]:
    """``url``'s scheme, host, port (the scheme's default if none), ASCII host and path with query.

    Each is a property of httpx's URL, computed on every access: read once per parsed URL (a client sends
    its requests to a few).
    """
    reference = url._uri_reference
    kept = _TARGETS.get(id(reference))
    if kept is not None and kept[0] is reference:
        return kept[1]
    scheme = url.scheme
    parts = (
        scheme,
        url.host,
        url.port or (443 if scheme == "https" else 80),
        url.raw_host.decode("ascii"),
        url.raw_path,
    )
    if len(_TARGETS) >= _TARGETS_LIMIT:
        _TARGETS.clear()
    _TARGETS[id(reference)] = (reference, parts)
    return parts


def _request_bytes(request: httpx.Request, path: bytes) -> tuple[bytes, bytes | None, bool, bool]:
    """The request as it goes out: its head; its body if it is bytes (``None``: an async iterable, sent
    after the head); whether that iterable is sent chunked; whether the request says ``Connection: close``.

    A header item the request builders made and checked (``liter_llm/_header_items.py``) comes with its
    line; the others are joined and checked here: no control character but the tab, no line end.
    A plain tuple: a NamedTuple's ``__new__`` is one more Python call per request.
    """
    chunked = False
    try:
        body: bytes | None = request.content
    except httpx.RequestNotRead:
        body = None
        chunked = "content-length" not in request.headers
        if chunked and "transfer-encoding" not in request.headers:
            request.headers["Transfer-Encoding"] = "chunked"
    first = b"%s %s HTTP/1.1" % (request.method.encode("ascii"), path)
    lines = [first]
    fresh = [first]
    closing = False
    checked = CHECKED_HEADER_ITEMS
    for item in request.headers._list:  # httpx's items: (name, lowered name, value)
        kept = checked.get(id(item))
        line = kept[1] if kept is not None and kept[0] is item else None
        if line is None:
            line = item[0] + b": " + item[2]
            fresh.append(line)
        lines.append(line)
        if item[1] == b"connection" and item[2].lower().find(b"close") >= 0:
            closing = True
    unchecked = b"\n".join(fresh)
    if unchecked.translate(None, _FRESH_OK) or unchecked.count(b"\n") != len(fresh) - 1:
        raise httpx.LocalProtocolError("Illegal header value: a header has a control character")
    lines.append(b"\r\n")
    return b"\r\n".join(lines), body, chunked, closing


async def _answer(  # noqa: PLR0917
    conn: _Connection,
    request: httpx.Request,
    timeouts: Any,
    deadline: float | None,
    idle: float | None,
    closing: bool,
) -> httpx.Response:
    """Read the answer's head from ``conn`` (1xx answers skipped) and wrap its body."""
    buffer = conn.buffer
    while True:
        start = 0
        while True:
            end = buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                head = conn.take(end + 4)[:-4]
                break
            end = buffer.find(b"\n\n")
            if end >= 0:
                head = conn.take(end + 2)[:-2]
                break
            if len(buffer) > MAX_HEAD:
                raise _protocol_error(f"the answer's head is longer than {MAX_HEAD} bytes", request)
            if conn.closed:
                if not buffer:
                    raise _StaleConnection()
                raise _protocol_error("the server closed the connection in the middle of the answer's head", request)
            start = max(len(buffer) - 3, 0)
            await conn.more(deadline, idle, request)
        if len(head) > MAX_HEAD:
            raise _protocol_error(f"the answer's head is longer than {MAX_HEAD} bytes", request)
        status, version, reason, headers = _parse_head(head, request)
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        break
    framing, length, reuse, encoded = _framing(status, version, headers, request, closing)
    return httpx_objects.response(
        status,
        headers,  # httpx's header items as parsed and lowered once
        H1Stream(conn, request, timeouts, idle, framing, length, reuse, encoded),
        request,
        {"http_version": version, "reason_phrase": reason},
    )


def _framing(
    status: int, version: bytes, headers: list[tuple[bytes, bytes, bytes]], request: httpx.Request, closing: bool
) -> tuple[int, int, bool, bool]:
    """How the body is framed (and its length), whether the connection may be reused after it, and whether
    the answer has a ``Content-Encoding``."""
    length = -1
    chunked = False
    encoded = False
    reuse = version == b"HTTP/1.1"
    for _, lowered, value in headers:
        if lowered == b"content-length":
            if not value.isdigit() or (length >= 0 and int(value) != length):
                raise _protocol_error("the answer's Content-Length is not valid", request)
            length = int(value)
        elif lowered == b"transfer-encoding":
            chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            if not chunked:
                reuse = False
        elif lowered == b"connection":
            tokens = value.lower()
            if tokens.find(b"close") >= 0:
                reuse = False
            elif tokens.find(b"keep-alive") >= 0:
                reuse = reuse or version == b"HTTP/1.0"
        elif lowered == b"content-encoding":
            encoded = True
    if closing:  # the request said Connection: close
        reuse = False
    if request.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return _EMPTY, 0, reuse and status != 101, encoded
    if chunked:
        return _CHUNKED, 0, reuse, encoded
    if length >= 0:
        return (_LENGTH, length, reuse, encoded) if length else (_EMPTY, 0, reuse, encoded)
    return _UNTIL_CLOSE, 0, False, encoded
