"""The spend-log writer loses no row when the proxy stops while a batch is being written.

Seen once in a loaded run: a SIGTERM arrived while the periodic flush was inside its INSERT; the
shutdown cancelled that task, and the rows it had taken were gone. The store here is a stand-in
whose write waits until the test lets it go, so the stop lands mid-write every time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from liter_llm_proxy.spend import SpendWriter


class SlowStore:
    def __init__(self) -> None:
        self.written: list[dict[str, Any]] = []
        self.writing = asyncio.Event()
        self.go_on = asyncio.Event()

    async def insert_spend(self, rows: list[dict[str, Any]]) -> None:
        self.writing.set()
        await self.go_on.wait()
        self.written.extend(rows)


def test_a_stop_during_a_periodic_write_keeps_every_row() -> None:
    async def main() -> list[dict[str, Any]]:
        store = SlowStore()
        writer = SpendWriter(store, interval=0.0)  # type: ignore[arg-type]
        writer.start()
        for number in range(3):
            writer.add({"n": number})
        await store.writing.wait()  # the periodic flush took the three rows and is writing them
        writer.add({"n": 3})  # a row queued meanwhile
        stopping = asyncio.ensure_future(writer.stop())
        await asyncio.sleep(0)  # stop() has cancelled the periodic task, which is mid-write
        store.go_on.set()
        await stopping
        return store.written

    written = asyncio.run(main())
    assert sorted(row["n"] for row in written) == [0, 1, 2, 3]


def test_a_cancelled_flush_puts_its_rows_back() -> None:
    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        store = SlowStore()
        writer = SpendWriter(store, interval=3600.0)  # type: ignore[arg-type]
        writer.start()
        writer.add({"n": 1})
        flushing = asyncio.ensure_future(writer.flush())
        await store.writing.wait()
        flushing.cancel()  # e.g. an admin request that flushes, cancelled by its client leaving
        await asyncio.gather(flushing, return_exceptions=True)
        store.go_on.set()
        await writer.stop()
        return store.written, writer._rows

    written, left = asyncio.run(main())
    assert [row["n"] for row in written] == [1]
    assert left == []
