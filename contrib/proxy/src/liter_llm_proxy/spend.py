"""The spend log writer: rows are queued in memory and written in batches, off the request path."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from liter_llm.wire import get_logger

if TYPE_CHECKING:
    from liter_llm_proxy.db import Store

__all__ = ["MAX_PENDING", "SpendWriter"]

#: Rows kept while the database is unavailable; past this the oldest are dropped (and logged).
MAX_PENDING = 100_000


class SpendWriter:
    """Writes one spend-log row per request, in batches every ``interval`` seconds (and at shutdown)."""

    def __init__(self, store: Store, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._rows: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._failing = False
        self.dropped = 0

    def add(self, row: dict[str, Any]) -> None:
        """Queue a row (never blocks, never raises)."""
        self._rows.append(row)
        if len(self._rows) > MAX_PENDING:
            extra = len(self._rows) - MAX_PENDING
            del self._rows[:extra]
            self.dropped += extra

    def start(self) -> None:
        self._lock = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            # shielded: stop() cancels this task, and a write it cuts would lose the rows it took
            # (stop() then waits for that write under the lock and writes the rest)
            await asyncio.shield(self.flush())

    async def flush(self) -> None:
        """Write what is queued now (a failed write keeps the rows for the next flush)."""
        if self._lock is None:
            return
        async with self._lock:
            if not self._rows:
                return
            rows, self._rows = self._rows, []
            try:
                await self.store.insert_spend(rows)
            except BaseException as exc:
                if not isinstance(exc, Exception):  # cancelled mid-write: keep the rows, pass it on
                    self._rows[:0] = rows
                    raise
                self._rows[:0] = rows
                if not self._failing:
                    self._failing = True
                    get_logger().warning("proxy_spend_write_failed", error=str(exc), pending=len(self._rows))
                return
            if self._failing:
                self._failing = False
                get_logger().warning("proxy_spend_write_recovered")

    async def stop(self) -> None:
        """Stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
