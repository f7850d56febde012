"""aiohttp's connection pool behind the httpx API: the async client's transport for HTTP(S) proxies.

The async client's direct connections go through our own HTTP/1.1 transport
(:class:`liter_llm._h1.H1Transport`, which costs less per request and does
not import aiohttp; the measurements are in docs/performance.md).  Requests
through an HTTP(S) proxy without credentials come here (:func:`proxy_mounts`);
this module, and aiohttp with it, is imported only when the client has such
a proxy.  :class:`AiohttpTransport` puts aiohttp behind
``httpx.AsyncBaseTransport`` directly (an ``httpx.Request`` in, an
``httpx.Response`` out, nothing in between) and keeps the behaviour the rest
of the client relies on:

- errors come out as the httpx exceptions httpx's own transport raises for the
  same failure (connection refused -> ``ConnectError``, a server that closes
  before answering or mid-body -> ``RemoteProtocolError``, a read timeout ->
  ``ReadTimeout``, a malformed answer -> ``RemoteProtocolError``), also while
  the body streams;
- one aiohttp session per event loop (a client used under two
  ``asyncio.run`` calls opens a new pool for the second loop);
- outside asyncio (trio), the deadline-bounded httpcore pool of
  :class:`~liter_llm._pool_transport.AsyncDeadlineTransport` is used;
- no cookie jar (as on the sync client, whose requests never carry the cookies
  of earlier answers), no automatic decompression (httpx decodes), TLS with
  httpx's own context (certifi, ``SSL_CERT_FILE``), built on the first https
  request only.

The client's own sends skip ``httpx.AsyncClient.send`` (auth flow, redirects,
cookies and event hooks, of which the client uses only the auth flow) and call
``send`` (:class:`~liter_llm._h1.DirectSend`), which runs the auth flow as httpx does.

Deadlines (:mod:`liter_llm._deadline` explains the whole mechanism): the
request's ``extensions["timeout"].deadline`` bounds the wait for the status
line and headers here, and its ``body_deadline`` (set by whoever reads a whole
body) every read of the body.

Timeouts come from ``request.extensions["timeout"]`` as with httpx (connect,
read, pool); closing a response early releases (closes) its connection.

A client dropped without ``aclose()`` does not leave aiohttp's "Unclosed client
session" / "Unclosed connector" complaints on stderr: when the transport is
garbage-collected (or at interpreter exit) its connection pool is closed.

Proxies: :func:`proxy_mounts` gives the ``mounts`` of an ``httpx.AsyncClient``
that route requests through an explicit proxy or the environment's
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), by httpx's rules.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import aiohttp
import httpx
from yarl import URL

from liter_llm._deadline import time_left
from liter_llm._h1 import DirectSend
from liter_llm._pool_transport import AsyncDeadlineTransport, proxy_map

__all__ = ["AiohttpTransport", "proxy_mounts"]

_CHUNK = 64 * 1024
_HTTP11 = {"http_version": b"HTTP/1.1"}
T = TypeVar("T")


def _mapped(exc: BaseException, request: httpx.Request) -> BaseException:
    """The httpx exception for an aiohttp failure (``exc`` itself if it is none)."""
    cause: BaseException = exc
    if isinstance(exc, httpx.HTTPError) and exc.__cause__ is not None:
        cause = exc.__cause__
    if not isinstance(cause, (aiohttp.ClientError, asyncio.TimeoutError)):
        return exc
    message = str(cause) or type(cause).__name__
    kind: type[httpx.TransportError]
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(cause, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        kind = httpx.ProxyError
    elif isinstance(cause, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(cause, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        kind = httpx.RemoteProtocolError
    elif isinstance(cause, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        kind = httpx.UnsupportedProtocol
    elif isinstance(cause, aiohttp.ClientConnectionError):
        kind = httpx.ReadError
    else:
        kind = httpx.TransportError
    return kind(message, request=request)


def _raise_mapped(exc: BaseException, request: httpx.Request) -> None:
    error = _mapped(exc, request)
    if error is exc:
        raise exc
    raise error from exc


def _buffered(reader: Any) -> bytes:
    """The bytes aiohttp has received but not handed out yet (private attributes: see the caps)."""
    if reader is None or not getattr(reader, "_buffer", None):
        return b""
    try:
        return bytes(reader._read_nowait(-1))
    except Exception:  # another aiohttp: nothing to recover
        return b""


async def _within(deadline: float, pending: Awaitable[T], request: httpx.Request) -> T:
    """Await ``pending`` until ``deadline`` at most; past it, httpx's ReadTimeout."""
    left = time_left(deadline)
    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(left):
                return await pending
        else:  # pragma: no cover - Python 3.10
            return await asyncio.wait_for(pending, left)
    except asyncio.TimeoutError:
        raise httpx.ReadTimeout("no answer before the call's deadline", request=request) from None


class AiohttpStream(httpx.AsyncByteStream):
    """An aiohttp response's body as an httpx byte stream, with aiohttp errors raised as httpx errors."""

    __slots__ = ("_request", "_response")

    #: the drivers' whole-body fast path applies (:func:`liter_llm._drivers.read_async`)
    reads_whole_body = True

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        timeouts = self._request.extensions.get("timeout")
        try:
            while True:
                deadline = getattr(timeouts, "body_deadline", None)
                if deadline is None:
                    chunk = await content.read(_CHUNK)
                else:
                    chunk = await _within(deadline, content.read(_CHUNK), self._request)
                if not chunk:
                    return
                yield chunk
        except httpx.TimeoutException:
            raise
        except Exception as exc:
            # aiohttp raises a dropped connection's error before the bytes that arrived with it
            # (its reader checks for an error first): hand those over, then the error
            tail = _buffered(content)
            if tail:
                yield tail
            _raise_mapped(exc, self._request)

    async def read_all(self, limit: int) -> bytes | None:
        """The whole body, or ``None`` as soon as it is longer than ``limit`` bytes.

        The fast path of a non-streamed answer (no per-chunk generator), all
        of it within the request's ``body_deadline``.
        """
        deadline = getattr(self._request.extensions.get("timeout"), "body_deadline", None)
        if deadline is not None:
            return await _within(deadline, self._read_all(limit), self._request)
        return await self._read_all(limit)

    async def _read_all(self, limit: int) -> bytes | None:
        content = self._response.content
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    return None
                parts.append(chunk)
        except Exception as exc:
            _raise_mapped(exc, self._request)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def aclose(self) -> None:
        try:
            self._response.release()
            await self._response.wait_for_close()
        except Exception as exc:
            _raise_mapped(exc, self._request)


def _close_now(session: aiohttp.ClientSession) -> None:
    """Close an aiohttp pool without awaiting (its loop may be gone); the session then counts as closed."""
    connector = session.connector
    if connector is not None and not connector.closed:
        try:
            connector._close()
        except Exception:
            pass


def _close_all(pools: list[aiohttp.ClientSession]) -> None:
    """The finalizer of a transport dropped without ``aclose()``."""
    for session in pools:
        _close_now(session)
    pools.clear()


class AiohttpTransport(DirectSend, httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` over aiohttp, with httpx's error behaviour.

    Args:
        limits: the connection pool's limits (``max_connections`` and
            ``keepalive_expiry`` are used).
        proxy: send every request through this HTTP(S) proxy.
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` for the TLS context, as httpx does.
    """

    def __init__(
        self, limits: httpx.Limits | None = None, *, proxy: httpx.Proxy | None = None, trust_env: bool = True
    ) -> None:
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._proxy = proxy
        self._proxy_url = str(proxy.url) if proxy is not None else None
        self._proxy_headers = proxy.headers if proxy is not None else None
        self._trust_env = trust_env
        self._ssl: ssl.SSLContext | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fallback: AsyncDeadlineTransport | None = None
        self._urls: dict[int, tuple[httpx.URL, URL]] = {}
        # the pools to close if this transport is dropped unclosed (the finalizer must not hold self)
        self._pools: list[aiohttp.ClientSession] = []
        weakref.finalize(self, _close_all, self._pools)

    def __repr__(self) -> str:
        return "AiohttpTransport(proxy=...)" if self._proxy is not None else "AiohttpTransport()"

    def _for_loop(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        old = self._session
        if old is not None:
            # a new event loop: the old pool's sockets belong to the old loop
            _close_now(old)
            if old in self._pools:
                self._pools.remove(old)
        limit = self._limits.max_connections
        connector = aiohttp.TCPConnector(
            limit=limit if limit is not None else 0, keepalive_timeout=self._limits.keepalive_expiry
        )
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
        self._pools.append(self._session)
        self._loop = loop
        return self._session

    def _ssl_context(self) -> ssl.SSLContext:
        context = self._ssl
        if context is None:
            context = self._ssl = httpx.create_ssl_context(trust_env=self._trust_env)
        return context

    def _url(self, url: httpx.URL) -> URL:
        # the pipeline reuses one httpx.URL per endpoint: convert each once
        cached = self._urls.get(id(url))
        if cached is not None and cached[0] is url:
            return cached[1]
        converted = URL(str(url), encoded=True)
        if len(self._urls) > 256:
            self._urls.clear()
        self._urls[id(url)] = (url, converted)
        return converted

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): httpcore's pool, with the same deadlines
            if self._fallback is None:
                self._fallback = AsyncDeadlineTransport(self._limits, proxy=self._proxy, trust_env=self._trust_env)
            return await self._fallback.handle_async_request(request)
        session = self._session if self._loop is loop and self._session is not None else self._for_loop(loop)
        timeout = request.extensions.get("timeout") or {}
        deadline = getattr(timeout, "deadline", None)
        try:
            data: Any = request.content or None
        except httpx.RequestNotRead:
            data = request.stream
            request.headers.pop("transfer-encoding", None)  # aiohttp frames the body itself
        url = request.url
        encoding = request.headers.encoding  # as httpx decodes its own headers (ascii, else utf-8)
        pending = session.request(
            request.method,
            self._url(url),
            headers=[(key.decode(encoding), value.decode(encoding)) for key, value in request.headers.raw],
            data=data,
            allow_redirects=False,
            compress=False,
            timeout=aiohttp.ClientTimeout(
                sock_connect=timeout.get("connect"), sock_read=timeout.get("read"), connect=timeout.get("pool")
            ),
            ssl=self._ssl_context() if url.scheme == "https" else True,
            server_hostname=request.extensions.get("sni_hostname"),
            proxy=self._proxy_url,
            proxy_headers=self._proxy_headers,
        )
        try:
            # aiohttp's socket read timeout restarts with every byte: bound the wait
            # for the status line and headers by the call's deadline as well
            answer = await pending if deadline is None else await _within(deadline, pending, request)
        except httpx.TimeoutException:
            raise
        except Exception as exc:
            _raise_mapped(exc, request)
        extensions: dict[str, Any] = _HTTP11
        if answer.reason:
            extensions = {"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode("latin-1")}
        return httpx.Response(
            status_code=answer.status,
            headers=answer.raw_headers,
            stream=AiohttpStream(answer, request),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        session, loop, self._session, self._loop = self._session, self._loop, None, None
        if session is not None:
            if session in self._pools:
                self._pools.remove(session)
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                await session.close()
            else:  # the pool's loop is gone or another: close its sockets without awaiting
                _close_now(session)
        if self._fallback is not None:
            await self._fallback.aclose()


def proxy_mounts(
    proxy: str | None, *, trust_env: bool, limits: httpx.Limits | None = None
) -> dict[str, httpx.AsyncBaseTransport | None]:
    """The ``mounts`` that send an async client's requests through a proxy, as httpx would.

    An explicit ``proxy`` carries every request; else, with ``trust_env``,
    the environment's proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``
    and ``NO_PROXY``, upper or lower case) read by httpx's own function, so
    the sync client (httpx's transport) and the async one follow the same
    rules.  A pattern mapped to ``None`` goes direct (the client's default
    transport).  HTTP(S) proxies use the aiohttp pool; a proxy with credentials
    (aiohttp's proxy authentication is deprecated) or another kind (SOCKS)
    uses httpcore's pool (:class:`~liter_llm._pool_transport.AsyncDeadlineTransport`,
    with the same deadlines).
    """
    proxies = proxy_map(proxy, trust_env=trust_env)
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for pattern, url in proxies.items():
        if url is None:
            mounts[pattern] = None
            continue
        target = httpx.Proxy(url)
        if target.url.scheme in ("http", "https") and target.auth is None:
            mounts[pattern] = AiohttpTransport(limits, proxy=target, trust_env=trust_env)
        else:
            mounts[pattern] = AsyncDeadlineTransport(limits, proxy=target, trust_env=trust_env)
    return mounts
