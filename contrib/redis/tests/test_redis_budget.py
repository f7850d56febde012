"""The Redis budget against a real redis-server: reserve/settle, release, expiry, and the race across processes."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from redis_test_support import run_async

import liter_llm
from liter_llm.builtins.cost import set_model_price
from liter_llm.clock import ManualClock
from liter_llm.errors import BudgetExceededError, ServerError

BASE = "http://127.0.0.1:9/v1"
MODEL = "openai/redis-budget-model"
PRICE_OUT = 0.01  # USD per output token; input is free
MAX_TOKENS = 100  # worst case: $1.00 per call
USED = 60  # each answer uses 60 tokens: $0.60
MESSAGES = [{"role": "user", "content": "Hi"}]


def price() -> None:
    set_model_price(MODEL, input_cost_per_token=0.0, output_cost_per_token=PRICE_OUT)


def reply(request: httpx.Request, *, used: int = USED, status: int = 200) -> httpx.Response:
    body = json.loads(request.content)
    if status != 200:
        return httpx.Response(status, json={"error": {"message": "down", "type": "server_error"}})
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": used, "total_tokens": used + 3},
        },
    )


def options(url: str, redis_timeout: float = 0.5, **budget: Any) -> dict[str, Any]:
    return {
        "api_key": "sk-test-secret",
        "base_url": BASE,
        "model_hint": "openai",
        "max_retries": 0,
        "redis": {"url": url, "key_prefix": "t:", "timeout_secs": redis_timeout},
        "budget": {"backend": "redis", **budget},
    }


def sync_client(url: str, handler: Any = reply, **budget: Any) -> liter_llm.DefaultClient:
    return liter_llm.create_client(transport=httpx.MockTransport(handler), **options(url, **budget))


#: the Redis timeout of the eight-process tests: 128 calls from 8 processes share 2 cores with the Redis
#: server there, so an answer may take longer than the 0.5 s the other tests use (a slow answer is not
#: what these tests are about; an outage is tested elsewhere)
LOADED_REDIS_TIMEOUT = 10.0


def async_client(url: str, handler: Any = reply, **budget: Any) -> liter_llm.AsyncDefaultClient:
    async def ahandler(request: httpx.Request) -> httpx.Response:
        return handler(request)

    return liter_llm.create_async_client(transport=httpx.MockTransport(ahandler), **options(url, **budget))


def chat(client: Any) -> Any:
    return client.chat(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)


@pytest.fixture(autouse=True)
def _priced() -> None:
    price()


def test_the_budget_is_the_redis_one_and_settles_to_the_real_cost_sync(redis_url: str) -> None:
    with sync_client(redis_url, global_limit=2.0) as client:
        budget = client.budget
        assert type(budget).__name__ == "RedisBudget"
        chat(client)
        assert budget.spent == pytest.approx(0.6)
        assert budget.held == 0.0
        chat(client)  # 0.6 spent + 1.0 reserved <= 2.0
        assert budget.spent == pytest.approx(1.2)
        with pytest.raises(BudgetExceededError) as info:
            chat(client)  # 1.2 + 1.0 > 2.0: refused before sending
        assert info.value.limit_name == "global"
        assert "reserved" in str(info.value)
        assert budget.spent_by_model == {MODEL: pytest.approx(1.2)}
    with sync_client(redis_url, global_limit=2.0) as other:  # another client (process) sees the same ledger
        assert other.budget.spent == pytest.approx(1.2)


@run_async
async def test_the_budget_is_the_redis_one_and_settles_to_the_real_cost_async(redis_url: str) -> None:
    async with async_client(redis_url, global_limit=2.0) as client:
        budget = client.budget
        await chat(client)
        await budget.drain()
        assert budget.store._sync is None  # reserve and settle went through redis.asyncio only
        assert budget.spent == pytest.approx(0.6)
        assert budget.held == 0.0
        await chat(client)
        await budget.drain()
        with pytest.raises(BudgetExceededError):
            await chat(client)
        await budget.drain()
        assert budget.spent == pytest.approx(1.2)


def test_a_model_limit_applies_to_its_model_only_sync(redis_url: str) -> None:
    with sync_client(redis_url, model_limits={"redis-budget-model": 1.5}) as client:
        chat(client)
        with pytest.raises(BudgetExceededError) as info:
            chat(client)
        assert info.value.limit_name == "model:redis-budget-model"


@run_async
async def test_a_model_limit_applies_to_its_model_only_async(redis_url: str) -> None:
    async with async_client(redis_url, model_limits={"redis-budget-model": 1.5}) as client:
        await chat(client)
        await client.budget.drain()
        with pytest.raises(BudgetExceededError) as info:
            await chat(client)
        assert info.value.limit_name == "model:redis-budget-model"


def test_a_failed_call_releases_its_reservation_sync(redis_url: str) -> None:
    with sync_client(redis_url, lambda r: reply(r, status=500), global_limit=1.0) as client:
        for _ in range(3):  # each would be refused if the failed reservations were kept
            with pytest.raises(ServerError):
                chat(client)
        assert client.budget.held == 0.0
        assert client.budget.spent == 0.0


@run_async
async def test_a_failed_call_releases_its_reservation_async(redis_url: str) -> None:
    async with async_client(redis_url, lambda r: reply(r, status=500), global_limit=1.0) as client:
        for _ in range(3):
            with pytest.raises(ServerError):
                await chat(client)
            await client.budget.drain()
        assert client.budget.held == 0.0


def test_soft_enforcement_warns_and_lets_the_call_go(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="liter_llm"),
        sync_client(redis_url, global_limit=0.5, enforcement="soft") as client,
    ):
        chat(client)
        chat(client)
        assert client.budget.spent == pytest.approx(1.2)
    assert "budget_exceeded" in caplog.text


def _die_holding_a_reservation(url: str) -> None:
    """A process that reserves (through the real hook) and dies mid-call: no settlement of any kind."""
    price()

    def die(request: httpx.Request) -> httpx.Response:
        os._exit(0)

    client = liter_llm.create_client(transport=httpx.MockTransport(die), **options(url, global_limit=1.5))
    chat(client)


@pytest.mark.skipif(sys.platform != "linux", reason="forks a worker process")
def test_a_dead_holder_s_reservation_expires(redis_url: str) -> None:
    clock = ManualClock(wall=time.time())
    client = liter_llm.create_client(
        transport=httpx.MockTransport(reply), clock=clock, **options(redis_url, global_limit=1.5)
    )
    with client:
        budget = client.budget
        dead = multiprocessing.get_context("fork").Process(target=_die_holding_a_reservation, args=(redis_url,))
        dead.start()
        dead.join(60)
        assert dead.exitcode == 0
        assert budget.held == pytest.approx(1.0)
        with pytest.raises(BudgetExceededError):
            chat(client)  # 1.0 held + 1.0 > 1.5
        clock.advance(budget.hold_secs + 1)
        chat(client)  # the dead reservation was swept
        assert budget.held == 0.0


def test_an_interrupted_call_releases_its_reservation(redis_url: str) -> None:
    def interrupted(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt  # the process lives on: the call ends without an outcome

    with liter_llm.create_client(
        transport=httpx.MockTransport(interrupted), **options(redis_url, global_limit=1.5)
    ) as client:
        with pytest.raises(KeyboardInterrupt):
            chat(client)
        assert client.budget.held == 0.0


# ---------------------------------------------------------------------------
# The race: 8 processes x 16 concurrent calls against one hard limit
# ---------------------------------------------------------------------------

PROCESSES = 8
CONCURRENT = 16
LIMIT = 20.0


def _slow_reply(request: httpx.Request) -> httpx.Response:
    time.sleep(0.005)  # calls overlap in flight
    return reply(request)


def _sync_worker(url: str, results: Any) -> None:
    price()
    sent = [0]
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            sent[0] += 1
        return _slow_reply(request)

    ok = refused = 0
    with sync_client(url, handler, global_limit=LIMIT, redis_timeout=LOADED_REDIS_TIMEOUT) as client:
        barrier = threading.Barrier(CONCURRENT)
        outcomes: list[str] = []

        def one() -> None:
            barrier.wait(10)
            try:
                chat(client)
                outcomes.append("ok")
            except BudgetExceededError:
                outcomes.append("refused")

        threads = [threading.Thread(target=one) for _ in range(CONCURRENT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ok, refused = outcomes.count("ok"), outcomes.count("refused")
    results.put((ok, refused, sent[0]))


def _async_worker(url: str, results: Any) -> None:
    price()
    sent = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        sent[0] += 1
        return reply(request)

    async def main() -> tuple[int, int]:
        async with async_client(url, handler, global_limit=LIMIT, redis_timeout=LOADED_REDIS_TIMEOUT) as client:

            async def one() -> str:
                await asyncio.sleep(0)
                try:
                    await chat(client)
                    return "ok"
                except BudgetExceededError:
                    return "refused"

            outcomes = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
            await client.budget.drain()
            return outcomes.count("ok"), outcomes.count("refused")

    ok, refused = asyncio.run(main())
    results.put((ok, refused, sent[0]))


@pytest.mark.skipif(sys.platform != "linux", reason="forks worker processes")
@pytest.mark.parametrize("worker", [_sync_worker, _async_worker], ids=["sync", "async"])
def test_eight_processes_of_sixteen_concurrent_calls_never_overspend(redis_url: str, worker: Any) -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=worker, args=(redis_url, results)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    ok = sum(o[0] for o in outcomes)
    refused = sum(o[1] for o in outcomes)
    sent = sum(o[2] for o in outcomes)
    assert ok + refused == PROCESSES * CONCURRENT
    assert sent == ok  # a refused call never reached the provider
    with sync_client(redis_url, global_limit=LIMIT) as client:
        spent = client.budget.spent
        assert client.budget.held == 0.0
    assert spent == pytest.approx(ok * USED * PRICE_OUT)
    assert spent <= LIMIT + 1e-9
    assert refused > 0
    assert ok >= int(LIMIT / 1.0) - 1  # at least the calls whose worst case fits were let through


def test_the_same_configuration_from_json_and_toml(redis_url: str, tmp_path: Any) -> None:
    block = f'[redis]\nurl = "{redis_url}"\nkey_prefix = "t:"\n\n[budget]\nbackend = "redis"\nglobal_limit = 5.0\n'
    path = tmp_path / "liter-llm.toml"
    path.write_text(f'api_key = "sk-test"\nbase_url = "{BASE}"\nmodel_hint = "openai"\n\n{block}')
    document = {
        "api_key": "sk-test",
        "base_url": BASE,
        "model_hint": "openai",
        "redis": {"url": redis_url, "key_prefix": "t:"},
        "budget": {"backend": "redis", "global_limit": 5.0},
    }
    transport = httpx.MockTransport(reply)
    with liter_llm.create_client_from_file(str(path), transport=transport) as from_toml:
        chat(from_toml)
        with liter_llm.create_client_from_json(json.dumps(document), transport=transport) as from_json:
            chat(from_json)
            assert type(from_json.budget).__name__ == "RedisBudget"
            assert from_toml.budget.spent == pytest.approx(1.2)  # one ledger for both


def test_a_redis_backend_needs_the_redis_block() -> None:
    with pytest.raises(liter_llm.BadRequestError) as info:
        liter_llm.create_client(api_key="sk-test", budget={"backend": "redis", "global_limit": 1.0})
    assert "[redis]" in str(info.value)


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(liter_llm.BadRequestError) as info:
        liter_llm.create_client(api_key="sk-test", rate_limit={"backend": "memcached", "rpm": 1})
    assert "rate_limit.backend: unknown backend 'memcached'" in str(info.value)
    assert "redis" in str(info.value)  # the installed ones are listed


def test_the_redis_password_is_never_shown(redis_url: str) -> None:
    url = redis_url.replace("redis://", "redis://:hunter2-secret@")
    with liter_llm.create_client(
        api_key="sk-test", redis={"url": url}, budget={"backend": "redis", "global_limit": 1.0}
    ) as client:
        shown = repr(client.budget) + repr(client.config) + repr(client.budget.store)
    assert "hunter2-secret" not in shown


# 2026-12-01 23:59:00 UTC
BEFORE_MIDNIGHT = 1_796_169_540.0


def test_a_daily_budget_starts_from_zero_after_midnight_utc_sync(redis_url: str) -> None:
    clock = ManualClock(wall=BEFORE_MIDNIGHT)
    client = liter_llm.create_client(
        transport=httpx.MockTransport(reply), clock=clock, **options(redis_url, global_limit=1.5, period="day")
    )
    with client:
        chat(client)
        with pytest.raises(BudgetExceededError):
            chat(client)
        clock.advance(120)
        assert client.budget.spent == 0.0
        chat(client)
        assert client.budget.spent == pytest.approx(0.6)


@run_async
async def test_a_daily_budget_starts_from_zero_after_midnight_utc_async(redis_url: str) -> None:
    clock = ManualClock(wall=BEFORE_MIDNIGHT)

    async def handler(request: httpx.Request) -> httpx.Response:
        return reply(request)

    async with liter_llm.create_async_client(
        transport=httpx.MockTransport(handler), clock=clock, **options(redis_url, global_limit=1.5, period="day")
    ) as client:
        await chat(client)
        await client.budget.drain()
        with pytest.raises(BudgetExceededError):
            await chat(client)
        clock.advance(120)
        await chat(client)
        await client.budget.drain()
        assert client.budget.spent == pytest.approx(0.6)
