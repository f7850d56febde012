"""The client's httpcore transports: httpcore's connection pool, every socket operation cut at the request's deadline.

:class:`DeadlineTransport` (the sync client's transport) and
:class:`AsyncDeadlineTransport` (the async client's under trio and behind a
SOCKS proxy or a proxy with credentials) are
``httpx`` transports built on httpcore's public API
(``httpcore.ConnectionPool`` / ``AsyncConnectionPool(network_backend=...)``),
as httpx's own ``HTTPTransport`` and ``AsyncHTTPTransport`` are, with one
difference: their network backend hands out streams whose every connect,
read and write waits at most until the deadline of the request being served
(:mod:`liter_llm._deadline` explains the whole mechanism).  httpcore reads a
phase's timeout once and restarts it with every byte that arrives, so without
this a server that drips its status line, headers or body could hold a call
for ever.

The deadline of the request being served is a context variable, set only
while the transport is inside httpcore (sending and reading the headers:
``extensions["timeout"].deadline``; reading a piece of the body:
``.body_deadline``) and restored before control returns to the caller, so no
other request (on another thread, in another task, or later in the same one)
ever sees it.  httpcore's exceptions come out as the httpx exceptions httpx's
own transports raise for them.
"""

from __future__ import annotations

import contextvars
import ssl
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from liter_llm._deadline import MIN_WAIT, DeadlineTimeouts
from liter_llm._proxies import proxy_map

__all__ = ["AsyncDeadlineTransport", "DeadlineTransport", "async_mounts", "proxy_map", "sync_mounts"]

#: the deadline of the request this thread or task is serving inside httpcore (``None``: none)
_served: contextvars.ContextVar[float | None] = contextvars.ContextVar("liter_llm_served_deadline", default=None)
#: the timeouts of a request that carries no deadline of ours
_NO_DEADLINE = DeadlineTimeouts(None)


def _clamp(timeout: float | None) -> float | None:
    """``timeout`` cut to the time left before the served request's deadline."""
    deadline = _served.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    left = max(left, MIN_WAIT)
    return left if timeout is None or timeout > left else timeout


class _DeferredTLS:
    """A pool's TLS context, built by httpx's rules on the pool's first TLS handshake, not with the pool.

    Loading the certificate store is the largest part of making a client (a quarter of a billion
    instructions here), and a client of ``http://`` servers never needs it.  The pool is given
    ``placeholder``, a bare context with nothing loaded; the network backend's ``start_tls`` hands
    the real context (``httpx.create_ssl_context``, honouring ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
    when ``trust_env``) to the handshake instead.  The pool speaks HTTP/1.1 only, so the ALPN
    protocols httpcore sets on the placeholder are ``http/1.1``, set on the real one as well.  Were
    the placeholder ever used as it is, the handshake would fail (it verifies, with no certificate
    authority loaded), never pass unchecked.
    """

    __slots__ = ("_context", "_lock", "_trust_env", "placeholder")

    def __init__(self, trust_env: bool) -> None:
        self.placeholder = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._trust_env = trust_env
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def context_for(self, given: Any) -> Any:
        """The context a handshake uses: the real one for the placeholder, anything else as it is."""
        if given is not self.placeholder:
            return given
        context = self._context
        if context is None:
            with self._lock:
                if self._context is None:
                    built = httpx.create_ssl_context(trust_env=self._trust_env)
                    built.set_alpn_protocols(["http/1.1"])
                    self._context = built
                context = self._context
        return context


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes stop at the served request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, tls: _DeferredTLS) -> None:
        self._inner = inner
        self._tls = tls

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        context = self._tls.context_for(ssl_context)
        return _DeadlineStream(self._inner.start_tls(context, server_hostname, _clamp(timeout)), self._tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, handing out deadline-aware streams."""

    def __init__(self, tls: _DeferredTLS) -> None:
        self._inner = httpcore.SyncBackend()
        self._tls = tls

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self._tls)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options), self._tls)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


#: httpcore's exceptions and the httpx exceptions httpx's own transport raises for them
_ERRORS: dict[type[Exception], type[httpx.HTTPError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
}


def _mapped(exc: Exception) -> Exception:
    """The httpx exception for an httpcore one (the most specific kind); ``exc`` itself for any other."""
    for kind in type(exc).__mro__:
        target = _ERRORS.get(kind)
        if target is not None:
            return target(str(exc))
    return exc


def _raise_mapped(exc: Exception) -> None:
    error = _mapped(exc)
    if error is exc:
        raise exc
    raise error from exc


class _Body(httpx.SyncByteStream):
    """An httpcore response body as an httpx byte stream: each read cut at ``body_deadline``, errors mapped."""

    __slots__ = ("_stream", "_timeouts")

    def __init__(self, stream: Iterable[bytes], timeouts: Any) -> None:
        self._stream = stream
        self._timeouts = timeouts if type(timeouts) is DeadlineTimeouts else _NO_DEADLINE

    def __iter__(self) -> Iterator[bytes]:
        timeouts = self._timeouts
        pieces = iter(self._stream)
        try:
            if timeouts.body_deadline is None:  # a stream as it flows: plain reads, until a deadline is set
                for piece in pieces:
                    yield piece
                    if timeouts.body_deadline is not None:
                        break
                else:
                    return
            while True:  # each read within the body's deadline
                token = _served.set(timeouts.body_deadline)
                try:
                    following = next(pieces, None)
                finally:
                    _served.reset(token)
                if following is None:
                    return
                yield following
        except Exception as exc:
            _raise_mapped(exc)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                _raise_mapped(exc)


def _core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)


def _pool_options(limits: httpx.Limits | None, proxy: httpx.Proxy | None, tls: _DeferredTLS) -> dict[str, Any]:
    """The arguments of an httpcore pool, as httpx's own transports give them (TLS context, proxy, limits).

    The TLS context is ``tls``'s placeholder: the network backend swaps in the real one on the first
    handshake (:class:`_DeferredTLS`).
    """
    limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
    core_proxy = None
    if proxy is not None:
        if proxy.url.scheme in ("socks5", "socks5h"):
            try:
                import socksio  # noqa: F401
            except ImportError:
                raise ImportError("a SOCKS proxy needs the 'socksio' package: pip install 'httpx[socks]'") from None
        core_proxy = httpcore.Proxy(
            url=_core_url(proxy.url),
            auth=proxy.raw_auth,
            headers=proxy.headers.raw,
            ssl_context=proxy.ssl_context,
        )
    return {
        "ssl_context": tls.placeholder,
        "proxy": core_proxy,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


def _core_request(request: httpx.Request) -> httpcore.Request:
    return httpcore.Request(
        method=request.method,
        url=_core_url(request.url),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


class DeadlineTransport(httpx.BaseTransport):
    """The sync client's transport: httpcore's pool, every socket operation within the request's deadline.

    Args:
        limits: the connection pool's limits.
        proxy: send every request through this proxy (HTTP, HTTPS or SOCKS5, as httpx supports them).
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` for the TLS context, as httpx does (when the
            first TLS connection is made: the context is built then, see :class:`_DeferredTLS`).
    """

    def __init__(
        self, limits: httpx.Limits | None = None, *, proxy: httpx.Proxy | None = None, trust_env: bool = True
    ) -> None:
        self._proxied = proxy is not None
        tls = _DeferredTLS(trust_env)
        self._pool = httpcore.ConnectionPool(**_pool_options(limits, proxy, tls), network_backend=_DeadlineBackend(tls))

    def __repr__(self) -> str:
        return "DeadlineTransport(proxy=...)" if self._proxied else "DeadlineTransport()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout")
        token = _served.set(getattr(timeouts, "deadline", None))
        try:
            answer = self._pool.handle_request(_core_request(request))
        except Exception as exc:
            _raise_mapped(exc)
        finally:
            _served.reset(token)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, timeouts),  # type: ignore[arg-type]
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


# ---------------------------------------------------------------------------
# The async twins: the same streams, body and transport over httpcore's async pool
# ---------------------------------------------------------------------------


class _AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    """An async network stream whose reads and writes stop at the served request's deadline."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, tls: _DeferredTLS) -> None:
        self._inner = inner
        self._tls = tls

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _clamp(timeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _clamp(timeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        context = self._tls.context_for(ssl_context)
        return _AsyncDeadlineStream(await self._inner.start_tls(context, server_hostname, _clamp(timeout)), self._tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio network backend (asyncio and trio alike), handing out deadline-aware streams."""

    def __init__(self, tls: _DeferredTLS) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._tls = tls

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _AsyncDeadlineStream(stream, self._tls)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, _clamp(timeout), socket_options)
        return _AsyncDeadlineStream(stream, self._tls)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _AsyncBody(httpx.AsyncByteStream):
    """The async twin of :class:`_Body`: each read cut at ``body_deadline``, errors mapped."""

    __slots__ = ("_stream", "_timeouts")

    def __init__(self, stream: AsyncIterable[bytes], timeouts: Any) -> None:
        self._stream = stream
        self._timeouts = timeouts if type(timeouts) is DeadlineTimeouts else _NO_DEADLINE

    async def __aiter__(self) -> AsyncIterator[bytes]:
        timeouts = self._timeouts
        pieces = self._stream.__aiter__()
        try:
            while True:
                # set and reset within one step: the caller's context never keeps the deadline across a yield
                token = _served.set(timeouts.body_deadline)
                try:
                    following = await pieces.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    _served.reset(token)
                yield following
        except Exception as exc:
            _raise_mapped(exc)

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:
                _raise_mapped(exc)


class AsyncDeadlineTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`DeadlineTransport`, on httpcore's async pool (asyncio or trio).

    The async client sends through its own HTTP/1.1 transport
    (:class:`~liter_llm._h1.H1Transport`) or aiohttp's pool for HTTP(S)
    proxies (both cost less per request); this transport serves the rest: a
    client used under trio, and proxies aiohttp does not take (SOCKS, a proxy
    with credentials).

    Args:
        limits: the connection pool's limits.
        proxy: send every request through this proxy (HTTP, HTTPS or SOCKS5, as httpx supports them).
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` for the TLS context, as httpx does (when the
            first TLS connection is made: the context is built then, see :class:`_DeferredTLS`).
    """

    def __init__(
        self, limits: httpx.Limits | None = None, *, proxy: httpx.Proxy | None = None, trust_env: bool = True
    ) -> None:
        self._proxied = proxy is not None
        tls = _DeferredTLS(trust_env)
        self._pool = httpcore.AsyncConnectionPool(
            **_pool_options(limits, proxy, tls), network_backend=_AsyncDeadlineBackend(tls)
        )

    def __repr__(self) -> str:
        return "AsyncDeadlineTransport(proxy=...)" if self._proxied else "AsyncDeadlineTransport()"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout")
        token = _served.set(getattr(timeouts, "deadline", None))
        try:
            answer = await self._pool.handle_async_request(_core_request(request))
        except Exception as exc:
            _raise_mapped(exc)
        finally:
            _served.reset(token)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_AsyncBody(answer.stream, timeouts),  # type: ignore[arg-type]
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def sync_mounts(
    proxy: str | None, *, trust_env: bool, limits: httpx.Limits | None = None
) -> dict[str, httpx.BaseTransport | None]:
    """The ``mounts`` of the sync client: a :class:`DeadlineTransport` per proxy of :func:`proxy_map`."""
    return {
        pattern: None if url is None else DeadlineTransport(limits, proxy=httpx.Proxy(url), trust_env=trust_env)
        for pattern, url in proxy_map(proxy, trust_env=trust_env).items()
    }


def async_mounts(
    proxy: str | None, *, trust_env: bool, limits: httpx.Limits | None = None
) -> dict[str, httpx.AsyncBaseTransport | None]:
    """The async twin of :func:`sync_mounts`: an :class:`AsyncDeadlineTransport` per proxy of :func:`proxy_map`."""
    return {
        pattern: None if url is None else AsyncDeadlineTransport(limits, proxy=httpx.Proxy(url), trust_env=trust_env)
        for pattern, url in proxy_map(proxy, trust_env=trust_env).items()
    }
