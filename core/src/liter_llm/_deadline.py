"""The sync client's transport: httpx's own, with every socket operation cut at the call's deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpcore
import httpx

__all__ = ["BoundedAuth", "deadline_scope", "instrument"]

_local = threading.local()


class deadline_scope:
    """Within this block, every socket read and write of this thread ends by ``deadline``.

    httpcore fetches the read timeout once for the whole status line and
    headers and restarts it with every byte that arrives, so a server that
    drips its headers could hold a call for ever; the sync driver wraps each
    send and body read in this scope and the network streams below clamp
    every operation to the time left.
    """

    __slots__ = ("_deadline", "_previous")

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._previous: float | None = None

    def __enter__(self) -> None:
        self._previous = getattr(_local, "deadline", None)
        _local.deadline = self._deadline

    def __exit__(self, *exc: object) -> None:
        _local.deadline = self._previous


def _clamp(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), 0.001)
    return left if timeout is None or timeout > left else timeout


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes stop at the thread's deadline."""

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
    """httpcore's network backend, handing out deadline-aware streams."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def instrument(client: httpx.Client) -> httpx.Client:
    """Make the socket operations of ``client``'s own transports honour :class:`deadline_scope`.

    Applies to httpx's default transport and to the proxy transports httpx
    mounted from the environment; a transport of another kind is left as it is.
    """
    transports: list[Any] = [getattr(client, "_transport", None)]
    transports.extend(getattr(client, "_mounts", {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return client


class BoundedAuth(httpx.Auth):
    """Wraps an ``httpx.Auth`` flow so that every request it makes carries the call's timeouts.

    A flow that fetches a token (Vertex AI's service-account exchange, an
    OAuth refresh) sends requests httpx built without the call's timeout
    extension; on the async transport nothing else would bound them.  Each
    request the flow yields without a ``timeout`` extension gets ``timeouts``
    (a ``DeadlineTimeouts``, shrinking to the call's deadline).
    """

    def __init__(self, inner: httpx.Auth, timeouts: Any) -> None:
        self.inner = inner
        self.timeouts = timeouts
        self.requires_request_body = inner.requires_request_body
        self.requires_response_body = inner.requires_response_body

    def __repr__(self) -> str:
        return f"BoundedAuth({self.inner!r})"

    def _bound(self, request: httpx.Request) -> httpx.Request:
        if "timeout" not in request.extensions:
            request.extensions["timeout"] = self.timeouts
        return request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self.inner.sync_auth_flow(request)
        try:
            outgoing = next(flow)
            while True:
                response = yield self._bound(outgoing)
                outgoing = flow.send(response)
        except StopIteration:
            return
        finally:
            flow.close()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.inner.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield self._bound(outgoing)
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()


class DeadlineTimeouts(dict[str, "float | None"]):
    """httpx's timeout extension whose values shrink as the call's deadline approaches.

    httpcore looks the ``read``/``write``/``pool`` timeout up (``.get``) before
    every socket operation, so a server that drips its status line, headers
    or body one byte at a time cannot hold a call past its deadline: each
    read may wait only for the time that is left.  ``deadline`` (a
    ``time.monotonic()`` value) is also read by the async transport, which
    bounds the wait for the headers with it.
    """

    __slots__ = ("deadline",)

    def __init__(self, deadline: float, **values: float | None) -> None:
        super().__init__(values)
        self.deadline = deadline

    def get(self, key: str, default: float | None = None) -> float | None:  # type: ignore[override]
        value = dict.get(self, key, default)
        if key == "connect":
            return value
        left = max(self.deadline - time.monotonic(), 0.001)
        return left if value is None or value > left else value
