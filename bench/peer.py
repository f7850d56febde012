"""Measurements of one async client in a fresh process: the Rust-core peer, ours, or raw httpx.

``bench/run.py`` starts this script with the interpreter of the client under
test (the peer's in its own virtual environment, ``bench/.peer-venv``, where
``liter_llm`` is the Rust-core distribution ``liter-llm`` 2.4.0, not ours) and
reads one JSON line from its output.  Standard library only (besides the
client), so it runs in the peer's environment as it is.

    python bench/peer.py KIND URL rounds N_SEQ N_TOTAL TASKS
        -> {"seq": [cpu_us, ...], "c64": [{"cpu_us": .., "rate": ..}, ...]}
    python bench/peer.py KIND URL first
        -> {"first_ms": .., "import_ms": ..}

KIND is ``peer``, ``ours`` or ``raw``; ``ours+uvloop`` runs ours on uvloop's event loop, ``ours+aiohttp``
ours with its direct sends on aiohttp's pool (the async client's transport before issue #16), for the comparison;
``ours+installed`` is ours run by the interpreter of ``bench/.ours-venv`` (this checkout installed as wheels).
CPU is ``getrusage(RUSAGE_SELF)``
(user + sys of every thread of the process: the peer's Rust runtime threads
count).
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "gpt-4o-mini"
#: ``ours+aiohttp``: the client's direct sends go to aiohttp's pool instead of the default transport
AIOHTTP = False


def _body() -> dict[str, Any]:
    # a fresh dict per call, as an application builds it
    return {"model": MODEL, "messages": [{"role": "user", "content": "Hello, how are you?"}]}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def make(kind: str, url: str) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    """A one-chat coroutine function and a closer, for ``kind``."""
    if kind == "peer":
        import liter_llm  # the Rust-core distribution in the peer's virtual environment
        from liter_llm import api

        client = liter_llm.create_client(api_key="bench", base_url=url)

        async def one_peer() -> Any:
            response = await api.chat(client, _body())
            if not response.choices:
                raise RuntimeError("the peer returned no choice")
            return response

        async def close_peer() -> None:
            return None

        return one_peer, close_peer
    if kind == "ours":
        import liter_llm

        ours = liter_llm.create_async_client(api_key="bench", base_url=url)
        if AIOHTTP:
            from liter_llm._transport import AiohttpTransport

            ours._sender = AiohttpTransport()

        async def one_ours() -> Any:
            body = _body()
            return await ours.chat(model=body["model"], messages=body["messages"])

        return one_ours, ours.aclose
    import httpx

    http = httpx.AsyncClient()
    headers = {"authorization": "Bearer bench"}

    async def one_raw() -> Any:
        response = await http.post(url + "/chat/completions", json=_body(), headers=headers)
        response.raise_for_status()
        return json.loads(response.content)

    return one_raw, http.aclose


async def rounds(kind: str, url: str, *, n_seq: int, total: int, tasks: int, count: int) -> dict[str, Any]:
    one, close = await make(kind, url)
    for _ in range(50):  # warm up: connections, caches, lazy imports
        await one()
    seq: list[float] = []
    c64: list[dict[str, float]] = []
    per_task = total // tasks

    async def worker() -> None:
        for _ in range(per_task):
            await one()

    for _ in range(count):
        gc.collect()
        cpu0 = cpu_seconds()
        for _ in range(n_seq):
            await one()
        seq.append((cpu_seconds() - cpu0) / n_seq * 1e6)
        gc.collect()
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        done = per_task * tasks
        c64.append({"cpu_us": (cpu_seconds() - cpu0) / done * 1e6, "rate": done / (time.perf_counter() - wall0)})
    await close()
    return {"seq": seq, "c64": c64}


def first(kind: str, url: str) -> dict[str, float]:
    """Import the client (timed apart), then create it and make the first chat (timed)."""
    t0 = time.perf_counter()
    if kind in ("peer", "ours"):
        import liter_llm  # noqa: F401
    else:
        import httpx  # noqa: F401
    import_ms = (time.perf_counter() - t0) * 1000

    async def go() -> float:
        t = time.perf_counter()
        one, close = await make(kind, url)
        await one()
        elapsed = (time.perf_counter() - t) * 1000
        await close()
        return elapsed

    return {"first_ms": asyncio.run(go()), "import_ms": import_ms}


def main() -> int:
    global AIOHTTP
    kind, url, what = sys.argv[1], sys.argv[2], sys.argv[3]
    # ours in another environment (bench/.ours-venv): the interpreter is the difference, the client is the same
    kind = kind.removesuffix("+installed")
    if kind.endswith("+aiohttp"):
        AIOHTTP = True
        kind = kind.removesuffix("+aiohttp")
    if kind.endswith("+uvloop"):  # the same client on uvloop's event loop (liter-llm[speedups])
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        kind = kind.removesuffix("+uvloop")
    if what == "first":
        result: dict[str, Any] = first(kind, url)
    else:
        n_seq, total, tasks, count = (int(v) for v in sys.argv[4:8])
        result = asyncio.run(rounds(kind, url, n_seq=n_seq, total=total, tasks=tasks, count=count))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
