"""The clock a client waits with, and a manual one for tests.

A client reads the time and waits through one :class:`Clock`: the waits
between retries, the waits of the client-side rate limit, the windows of the
rate limit, the cache's time to live and the cooldown of failing providers,
and the wall-clock time that an HTTP-date ``retry-after`` is measured from.
The whole-call deadline is always real time: it bounds real sockets.

Pass ``clock=ManualClock()`` to :func:`liter_llm.create_client` (or the async
twin) to test code that depends on those waits without sleeping: every wait
returns at once, moves the clock forward and is recorded in
:attr:`ManualClock.sleeps`::

    clock = ManualClock()
    with liter_llm.create_client(clock=clock, rate_limit={"rpm": 1}, ...) as client:
        client.chat(...)
        client.chat(...)          # waits 60 s of the clock's time, at once
    assert clock.sleeps == [60.0]
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What a client needs of a clock."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (``time.monotonic``)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (``time.time``), for HTTP dates."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the thread for ``seconds`` (the sync client)."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop (the async client)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.time``, ``time.sleep`` and ``anyio.sleep``."""

    __slots__ = ()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """``anyio.sleep(seconds)`` (asyncio and trio alike)."""
        import anyio

        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


#: The clock every client uses unless given another.
SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when told to, or when something waits on it.

    ``sleep`` and ``asleep`` return at once (``asleep`` still yields to the
    event loop once, so other tasks run), advance the clock by the time asked
    for and append it to :attr:`sleeps`.  Safe to share between threads.

    Args:
        start: the monotonic reading to begin at.
        wall: the ``time()`` reading to begin at (seconds since the epoch; a
            whole number, so HTTP dates built from it are exact).
    """

    def __init__(self, start: float = 1000.0, wall: float = 1_700_000_000.0) -> None:
        self._lock = threading.Lock()
        self._now = float(start)
        self._offset = float(wall) - float(start)
        #: every wait asked of this clock, in order, in seconds
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The clock's current reading."""
        with self._lock:
            return self._now

    def time(self) -> float:
        """The wall-clock time that goes with the current reading."""
        with self._lock:
            return self._now + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (without recording a wait)."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock forward; returns at once."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    async def asleep(self, seconds: float) -> None:
        """Record the wait, move the clock forward and let the event loop run once."""
        import anyio

        self.sleep(seconds)
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"ManualClock(now={self.monotonic()!r}, sleeps={len(self.sleeps)})"
