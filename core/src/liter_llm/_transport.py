"""The async client's default transport: the httpx API over aiohttp's connection pool.

httpx's own async pool (httpcore) spends about 2 ms of CPU per request under
concurrency and caps out at a few hundred requests per second; aiohttp's pool
does several times better (the measurements are in docs/performance.md).
``httpx-aiohttp`` puts aiohttp behind ``httpx.AsyncBaseTransport``; this
module wraps it to keep the behaviour the rest of the client relies on:

- errors come out as the httpx exceptions httpx's own transport raises for the
  same failure (connection refused -> ``ConnectError``, a server that closes
  before answering or mid-body -> ``RemoteProtocolError``, a read timeout ->
  ``ReadTimeout``, a malformed answer -> ``RemoteProtocolError``), also while
  the body streams;
- one aiohttp session per event loop (a client used under two
  ``asyncio.run`` calls opens a new pool for the second loop);
- outside asyncio (trio), httpx's own transport is used.

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
import sys
import time
import weakref
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _BaseAiohttpTransport

__all__ = ["AiohttpTransport", "proxy_mounts"]


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


def _buffered(stream: object) -> bytes:
    """The bytes aiohttp has received for ``stream`` but not handed out yet (private attributes: see the caps)."""
    reader = getattr(getattr(stream, "_aiohttp_response", None), "content", None)
    if reader is None or not getattr(reader, "_buffer", None):
        return b""
    try:
        return bytes(reader._read_nowait(-1))
    except Exception:  # another aiohttp: nothing to recover
        return b""


class _MappedStream(httpx.AsyncByteStream):
    """The response body, with aiohttp errors raised as httpx errors."""

    __slots__ = ("_inner", "_request")

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except Exception as exc:
            # aiohttp raises a dropped connection's error before the bytes that arrived with it
            # (its reader checks for an error first): hand those over, then the error
            tail = _buffered(self._inner)
            if tail:
                yield tail
            error = _mapped(exc, self._request)
            if error is exc:
                raise
            raise error from exc

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except Exception as exc:
            error = _mapped(exc, self._request)
            if error is exc:
                raise
            raise error from exc


def _close_now(inner: _BaseAiohttpTransport) -> None:
    """Close an aiohttp pool without awaiting (its loop may be gone); the session then counts as closed."""
    connector = getattr(inner.client, "connector", None)
    if connector is not None and not connector.closed:
        try:
            connector._close()
        except Exception:
            pass


def _close_all(pools: list[_BaseAiohttpTransport]) -> None:
    """The finalizer of a transport dropped without ``aclose()``."""
    for inner in pools:
        _close_now(inner)
    pools.clear()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` over aiohttp, with httpx's error behaviour.

    Args:
        limits: the connection pool's limits (``max_connections`` and
            ``keepalive_expiry`` are used).
        proxy: send every request through this HTTP(S) proxy.
    """

    def __init__(self, limits: httpx.Limits | None = None, *, proxy: httpx.Proxy | None = None) -> None:
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._proxy = proxy
        self._inner: _BaseAiohttpTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fallback: httpx.AsyncHTTPTransport | None = None
        # the pools to close if this transport is dropped unclosed (the finalizer must not hold self)
        self._pools: list[_BaseAiohttpTransport] = []
        weakref.finalize(self, _close_all, self._pools)

    def __repr__(self) -> str:
        return "AiohttpTransport(proxy=...)" if self._proxy is not None else "AiohttpTransport()"

    def _for_loop(self, loop: asyncio.AbstractEventLoop) -> _BaseAiohttpTransport:
        old = self._inner
        if old is not None:
            # a new event loop: the old pool's sockets belong to the old loop
            _close_now(old)
            if old in self._pools:
                self._pools.remove(old)
        self._inner = _BaseAiohttpTransport(limits=self._limits, proxy=self._proxy)
        self._pools.append(self._inner)
        self._loop = loop
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): httpx's own pool
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport(limits=self._limits, proxy=self._proxy)
            return await self._fallback.handle_async_request(request)
        inner = self._inner if self._loop is loop and self._inner is not None else self._for_loop(loop)
        deadline = getattr(request.extensions.get("timeout"), "deadline", None)
        try:
            if deadline is None:
                response = await inner.handle_async_request(request)
            else:
                # aiohttp's socket read timeout restarts with every byte: bound the wait
                # for the status line and headers by the call's deadline as well
                left = max(deadline - time.monotonic(), 0.001)
                try:
                    if sys.version_info >= (3, 11):
                        async with asyncio.timeout(left):
                            response = await inner.handle_async_request(request)
                    else:  # pragma: no cover - Python 3.10
                        response = await asyncio.wait_for(inner.handle_async_request(request), left)
                except asyncio.TimeoutError:
                    raise httpx.ReadTimeout("no answer before the call's deadline", request=request) from None
        except Exception as exc:
            error = _mapped(exc, request)
            if error is exc:
                raise
            raise error from exc
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _MappedStream(stream, request)
        return response

    async def aclose(self) -> None:
        inner, loop, self._inner, self._loop = self._inner, self._loop, None, None
        if inner is not None:
            if inner in self._pools:
                self._pools.remove(inner)
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                await inner.aclose()
            else:  # the pool's loop is gone or another: close its sockets without awaiting
                _close_now(inner)
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
    uses httpx's own pool.
    """
    if proxy is not None:
        proxies: Mapping[str, str | None] = {"all://": proxy}
    elif trust_env:
        from httpx._utils import get_environment_proxies

        proxies = get_environment_proxies()
    else:
        return {}
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for pattern, url in proxies.items():
        if url is None:
            mounts[pattern] = None
            continue
        target = httpx.Proxy(url)
        if target.url.scheme in ("http", "https") and target.auth is None:
            mounts[pattern] = AiohttpTransport(limits, proxy=target)
        else:
            mounts[pattern] = httpx.AsyncHTTPTransport(proxy=target, limits=limits or httpx.Limits())
    return mounts
