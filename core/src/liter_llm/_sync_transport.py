"""The sync client's transport: httpcore's connection pool, every socket operation cut at the request's deadline.

:class:`DeadlineTransport` is an ``httpx.BaseTransport`` built on httpcore's
public API (``httpcore.ConnectionPool(network_backend=...)``), as httpx's own
``HTTPTransport`` is, with one difference: its network backend hands out
streams whose every connect, read and write waits at most until the deadline
of the request being served (:mod:`liter_llm._deadline` explains the whole
mechanism).  httpcore reads a phase's timeout once and restarts it with every
byte that arrives, so without this a server that drips its status line,
headers or body could hold a call for ever.

The deadline of the request being served is a thread-local value, set only
while this transport is inside httpcore (sending and reading the headers:
``extensions["timeout"].deadline``; reading a piece of the body:
``.body_deadline``) and restored afterwards, so no other request on the
thread ever sees it.  httpcore's exceptions come out as the httpx exceptions
httpx's own transport raises for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

from liter_llm._deadline import MIN_WAIT, DeadlineTimeouts

__all__ = ["DeadlineTransport", "proxy_map"]


class _Local(threading.local):
    deadline: float | None = None


_local = _Local()
#: the timeouts of a request that carries no deadline of ours
_NO_DEADLINE = DeadlineTimeouts(None)


def _clamp(timeout: float | None) -> float | None:
    """``timeout`` cut to the time left before the served request's deadline."""
    deadline = _local.deadline
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    left = max(left, MIN_WAIT)
    return left if timeout is None or timeout > left else timeout


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes stop at the served request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, handing out deadline-aware streams."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

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
                previous, _local.deadline = _local.deadline, timeouts.body_deadline
                try:
                    following = next(pieces, None)
                finally:
                    _local.deadline = previous
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


class DeadlineTransport(httpx.BaseTransport):
    """The sync client's transport: httpcore's pool, every socket operation within the request's deadline.

    Args:
        limits: the connection pool's limits.
        proxy: send every request through this proxy (HTTP, HTTPS or SOCKS5, as httpx supports them).
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` for the TLS context, as httpx does.
    """

    def __init__(
        self, limits: httpx.Limits | None = None, *, proxy: httpx.Proxy | None = None, trust_env: bool = True
    ) -> None:
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
        self._proxied = proxy is not None
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=trust_env),
            proxy=core_proxy,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )

    def __repr__(self) -> str:
        return "DeadlineTransport(proxy=...)" if self._proxied else "DeadlineTransport()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout")
        core_request = httpcore.Request(
            method=request.method,
            url=_core_url(request.url),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        previous, _local.deadline = _local.deadline, getattr(timeouts, "deadline", None)
        try:
            answer = self._pool.handle_request(core_request)
        except Exception as exc:
            _raise_mapped(exc)
        finally:
            _local.deadline = previous
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, timeouts),  # type: ignore[arg-type]
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def proxy_map(proxy: str | None, *, trust_env: bool) -> dict[str, str | None]:
    """Which proxy carries which requests, by httpx's rules: URL pattern -> proxy URL (``None``: direct).

    An explicit ``proxy`` carries every request; else, with ``trust_env``,
    the environment's proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``
    and ``NO_PROXY``, upper or lower case) as httpx's own function reads them,
    so both clients follow the same rules.
    """
    if proxy is not None:
        return {"all://": proxy}
    if not trust_env:
        return {}
    from httpx._utils import get_environment_proxies

    return dict(get_environment_proxies())


def sync_mounts(
    proxy: str | None, *, trust_env: bool, limits: httpx.Limits | None = None
) -> dict[str, httpx.BaseTransport | None]:
    """The ``mounts`` of the sync client: a :class:`DeadlineTransport` per proxy of :func:`proxy_map`."""
    return {
        pattern: None if url is None else DeadlineTransport(limits, proxy=httpx.Proxy(url), trust_env=trust_env)
        for pattern, url in proxy_map(proxy, trust_env=trust_env).items()
    }
