"""Deadlines: how a call's ``timeout_secs`` bounds everything the call does.

One mechanism, for every transport (docs/architecture.md, "Deadlines", says the same):

1. **The call has a deadline.**  :meth:`~liter_llm._flow.CallFlow.prepare` sets
   ``Call.deadline`` to ``time.monotonic() + timeout_secs`` (``None`` without a
   timeout).  Everything below turns it into a time left with :func:`time_left`.
2. **The deadline travels with each request.**  Every attempt's request gets
   one extension, ``request.extensions["timeout"]``: a :class:`DeadlineTimeouts`
   (:func:`attempt_timeouts`).  It is httpx's timeout mapping (``connect``,
   ``read``, ``write``, ``pool``), whose values shrink to the time left each
   time they are looked up, and it carries two deadlines:
   ``deadline`` (connecting, sending, the status line and the headers) and
   ``body_deadline`` (reading the body; set by whoever reads a whole body,
   :func:`bound_body`, and ``None`` while a stream flows, which its idle
   ``read`` timeout bounds instead).  An auth flow's own requests (a token
   fetch) get the same extension (:class:`BoundedAuth`).
3. **The transport enforces it at every I/O operation.**

   - httpcore's pool (:mod:`liter_llm._pool_transport`): the sync client's
     :class:`~liter_llm._pool_transport.DeadlineTransport` and its async twin
     :class:`~liter_llm._pool_transport.AsyncDeadlineTransport` (the async
     client's under trio and behind SOCKS or credentialed proxies), on
     httpcore's public ``ConnectionPool`` / ``AsyncConnectionPool(network_backend=...)``,
     cut every connect, socket read and write at the request's deadline, so
     a server that drips its headers or body one byte at a time cannot hold
     a call;
   - our HTTP/1.1 client (:mod:`liter_llm._h1`, the async client's default
     for direct connections) makes every wait for bytes one loop timer at
     the earliest of ``deadline`` (connect, send, head) or ``body_deadline``
     (each body read) and the ``read`` idle time;
   - aiohttp (:mod:`liter_llm._transport`, for HTTP(S) proxies) bounds the
     wait for the status line and headers by ``deadline`` and each body read
     by ``body_deadline`` (asyncio timeouts).

   A stream's drain after its end marker sets ``body_deadline`` too
   (``DRAIN_SECS``), in both clients.
4. **Any other transport** (an ``http_client=`` or ``transport=`` given by the
   caller, a provider's ``create_transport``) gets the extension only:
   httpx/httpcore read each timeout once per phase (the headers, the body),
   so every phase ends within the time left when it starts, and the drivers
   (:mod:`liter_llm._drivers`) check the deadline between body chunks.  A
   server that drips bytes can then stretch a phase up to its start's time
   left; nothing waits longer.
5. **Waits are decisions, not I/O.**  A retry backoff or a client-side rate
   limit wait that would end past the deadline is not taken (:func:`fits`):
   the call fails at once with the error it has.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

import httpx

from liter_llm.errors import LiterLlmTimeoutError

if TYPE_CHECKING:
    from liter_llm._call import Call

__all__ = ["BoundedAuth", "DeadlineTimeouts", "attempt_timeouts", "bound_body", "fits", "past", "time_left"]

#: the least time a bounded operation is given (a timeout of 0 would mean "no timeout" to some layers)
MIN_WAIT = 0.001


def time_left(deadline: float | None) -> float | None:
    """The seconds left before ``deadline`` (a ``time.monotonic()`` value), at least 1 ms; ``None`` without one."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    return left if left > MIN_WAIT else MIN_WAIT


def past(deadline: float | None) -> bool:
    """Whether ``deadline`` has passed (never without one)."""
    return deadline is not None and time.monotonic() > deadline


def fits(deadline: float | None, wait: float) -> bool:
    """Whether a wait of ``wait`` seconds, starting now, ends before ``deadline``."""
    return deadline is None or time.monotonic() + wait < deadline


class DeadlineTimeouts(dict[str, "float | None"]):
    """httpx's timeout extension whose values shrink as the call's deadline approaches.

    httpcore looks a ``read``/``write``/``pool`` timeout up (``.get``) when a
    phase starts, so each phase ends within the time left; ``connect`` is kept
    as given (it was cut to the time left when the attempt began).
    ``deadline`` bounds the send and the headers, ``body_deadline`` the body
    (see the module's text); the client's transports read both.
    """

    __slots__ = ("body_deadline", "deadline")

    def __init__(self, deadline: float | None, **values: float | None) -> None:
        super().__init__(values)
        self.deadline = deadline
        self.body_deadline: float | None = None

    @classmethod
    def of(
        cls, deadline: float | None, connect: float | None, read: float | None, write: float | None, pool: float | None
    ) -> DeadlineTimeouts:
        """``DeadlineTimeouts(deadline, connect=..., read=..., write=..., pool=...)``, built without the keyword
        call and ``dict.__init__`` (a third of the cost: one per attempt)."""
        timeouts = dict.__new__(cls)
        timeouts["connect"] = connect
        timeouts["read"] = read
        timeouts["write"] = write
        timeouts["pool"] = pool
        timeouts.deadline = deadline
        timeouts.body_deadline = None
        return timeouts

    def get(self, key: str, default: float | None = None) -> float | None:  # type: ignore[override]
        value = dict.get(self, key, default)
        deadline = self.deadline
        if deadline is None or key == "connect":
            return value
        left = deadline - time.monotonic()
        left = max(left, MIN_WAIT)
        return left if value is None or value > left else value


def attempt_timeouts(call: Call) -> DeadlineTimeouts:
    """The ``timeout`` extension of one attempt of ``call``; raises LiterLlmTimeoutError if no time is left.

    A non-streamed call's reads and writes are cut at its deadline; a
    stream's opening is, and once it flows its reads are bounded by the idle
    time (``timeout_secs`` between two pieces).
    """
    config = call.config
    deadline = call.deadline
    if deadline is None:
        return DeadlineTimeouts.of(None, config.connect_timeout_secs, None, None, None)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise LiterLlmTimeoutError(
            f"the call exceeded its timeout of {config.timeout_secs} s", provider=call.provider.name
        )
    connect = min(config.connect_timeout_secs, remaining)
    read = config.timeout_secs if call.op.stream else remaining
    return DeadlineTimeouts.of(deadline, connect, read, remaining, remaining)


def bound_body(response: httpx.Response, deadline: float | None) -> None:
    """Cut the reads of ``response``'s body at ``deadline`` (on the client's transports; see the module's text)."""
    try:
        timeouts = response.request.extensions.get("timeout")
    except RuntimeError:  # a response built without its request
        return
    if type(timeouts) is DeadlineTimeouts:
        timeouts.body_deadline = deadline


class BoundedAuth(httpx.Auth):
    """Wraps an ``httpx.Auth`` flow so that every request it makes carries the call's timeouts.

    A flow that fetches a token (Vertex AI's service-account exchange, an
    OAuth refresh) sends requests httpx built without the call's timeout
    extension; nothing would bound them.  Each request the flow yields
    without a ``timeout`` extension gets ``timeouts`` (the attempt's
    :class:`DeadlineTimeouts`).
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
