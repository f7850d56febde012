"""The added cost per call of each Redis-backed feature, on a local redis-server.

Run: ``python bench/redis_bench.py [--calls N]``.  It starts its own
``redis-server`` on a free port of 127.0.0.1 (``--save '' --appendonly no``),
answers calls with an in-process ``httpx.MockTransport`` (so the network to a
provider is not measured), and reports, for the sync and the async client,
the median wall time per call with no feature and the median added by: the
Redis budget, the Redis rate limit, both together, and a Redis cache hit.
Bounded: ``--calls`` (default 300) calls per case, a few seconds in all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

import liter_llm
from liter_llm.builtins.cost import set_model_price

MODEL = "openai/bench-model"
MESSAGES = [{"role": "user", "content": "Hello"}]
BODY = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "bench-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
    }
).encode()


def reply(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"content-type": "application/json"})


async def areply(request: httpx.Request) -> httpx.Response:
    return reply(request)


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("no redis-server on PATH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(500):
        try:
            client.ping()
            break
        except redis.RedisError:
            time.sleep(0.01)
    return process, f"redis://127.0.0.1:{port}/0"


def cases(url: str) -> dict[str, dict[str, Any]]:
    redis = {"redis": {"url": url, "key_prefix": "bench:", "timeout_secs": 1.0}}
    budget = {"budget": {"backend": "redis", "global_limit": 1e9}}
    rate = {"rate_limit": {"backend": "redis", "rpm": 10_000_000}}
    return {
        "none": {},
        "budget": {**redis, **budget},
        "rate_limit": {**redis, **rate},
        "budget + rate_limit": {**redis, **budget, **rate},
        "cache hit": {**redis, "cache": {"backend": "redis"}},
    }


def measure_sync(options: dict[str, Any], calls: int) -> float:
    with liter_llm.create_client(
        api_key="sk-bench",
        base_url="http://127.0.0.1:9/v1",
        model_hint="openai",
        transport=httpx.MockTransport(reply),
        **options,
    ) as client:
        for _ in range(20):
            client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_async(options: dict[str, Any], calls: int) -> float:
    async def main() -> float:
        async with liter_llm.create_async_client(
            api_key="sk-bench",
            base_url="http://127.0.0.1:9/v1",
            model_hint="openai",
            transport=httpx.MockTransport(areply),
            **options,
        ) as client:
            for _ in range(20):
                await client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
            times = []
            for _ in range(calls):
                started = time.perf_counter()
                await client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
                times.append(time.perf_counter() - started)
            budget = client.budget
            if budget is not None and hasattr(budget, "drain"):
                await budget.drain()
        return statistics.median(times)

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    set_model_price(MODEL, input_cost_per_token=1e-9, output_cost_per_token=1e-9)
    process, url = start_redis()
    try:
        print(f"{'case':<22} {'sync ms/call':>13} {'added':>8} {'async ms/call':>14} {'added':>8}")
        base_sync = base_async = 0.0
        for name, options in cases(url).items():
            sync = measure_sync(options, args.calls) * 1000
            asyn = measure_async(options, args.calls) * 1000
            if name == "none":
                base_sync, base_async = sync, asyn
            print(f"{name:<22} {sync:>13.3f} {sync - base_sync:>8.3f} {asyn:>14.3f} {asyn - base_async:>8.3f}")
    finally:
        process.kill()
        process.wait(10)


if __name__ == "__main__":
    main()
