"""The sync client's transport: httpx's own, with every socket operation cut at the call's deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpcore
import httpx

__all__ = ["deadline_scope", "instrument"]

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
