"""The in-process budget reserves each call's worst case before sending and settles after: no overspend."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm.builtins.budget import worst_case_cost
from liter_llm.builtins.cost import set_model_price
from liter_llm.errors import BudgetExceededError, ServerError

BASE = "http://127.0.0.1:9/v1"
MODEL = "openai/reserve-test-model"
MESSAGES = [{"role": "user", "content": "Hi"}]  # 2 bytes + 4: 6 prompt tokens at most
LIMIT = 10.0


@pytest.fixture(autouse=True)
def _priced() -> None:
    set_model_price(MODEL, input_cost_per_token=0.0, output_cost_per_token=0.01)  # max_tokens=100: $1.00


def reply(request: httpx.Request, status: int = 200) -> httpx.Response:
    if status != 200:
        return httpx.Response(status, json={"error": {"message": "down"}})
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 100, "total_tokens": 103},
        },
    )


def test_worst_case_is_the_prompt_bound_plus_max_tokens() -> None:
    seen: list[float] = []

    class Probe:
        @liter_llm.hookimpl
        def on_request(self, call: Any) -> None:
            seen.append(worst_case_cost(call))

    with liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(reply), hooks=[Probe()]
    ) as client:
        client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
        client.chat(model=MODEL, messages=MESSAGES)
    assert seen == [pytest.approx(1.0), pytest.approx(40.96)]  # max_tokens, then the default 4096


def test_concurrent_threads_never_overspend_sync() -> None:
    sent = []
    lock = threading.Lock()

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            sent.append(request)
        time.sleep(0.002)
        return reply(request)

    with liter_llm.create_client(
        api_key="sk-test",
        base_url=BASE,
        model_hint="openai",
        transport=httpx.MockTransport(slow),
        budget={"global_limit": LIMIT},
    ) as client:
        barrier = threading.Barrier(32)
        outcomes: list[str] = []

        def one() -> None:
            barrier.wait(10)
            try:
                client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
                outcomes.append("ok")
            except BudgetExceededError:
                outcomes.append("refused")

        threads = [threading.Thread(target=one) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert client.budget.spent <= LIMIT + 1e-9
        assert client.budget.held == 0.0
    assert outcomes.count("ok") == len(sent) == 10
    assert outcomes.count("refused") == 22


def test_concurrent_tasks_never_overspend_async() -> None:
    async def main() -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0)
            return reply(request)

        async with liter_llm.create_async_client(
            api_key="sk-test",
            base_url=BASE,
            model_hint="openai",
            transport=httpx.MockTransport(handler),
            budget={"global_limit": LIMIT},
        ) as client:
            results = await asyncio.gather(
                *(client.chat(model=MODEL, messages=MESSAGES, max_tokens=100) for _ in range(32)),
                return_exceptions=True,
            )
            assert sum(not isinstance(r, BaseException) for r in results) == 10
            assert all(isinstance(r, BudgetExceededError) for r in results if isinstance(r, BaseException))
            assert client.budget.spent <= LIMIT + 1e-9
            assert client.budget.held == 0.0

    asyncio.run(main())


def test_a_failed_call_releases_its_reservation_both_clients() -> None:
    options: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": BASE,
        "model_hint": "openai",
        "max_retries": 0,
        "budget": {"global_limit": 1.0},
    }
    with liter_llm.create_client(transport=httpx.MockTransport(lambda r: reply(r, 500)), **options) as client:
        for _ in range(3):
            with pytest.raises(ServerError):
                client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
        assert client.budget.held == 0.0

    async def main() -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            return reply(request, 500)

        async with liter_llm.create_async_client(transport=httpx.MockTransport(handler), **options) as client:
            for _ in range(3):
                with pytest.raises(ServerError):
                    await client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
            assert client.budget.held == 0.0

    asyncio.run(main())


# 2026-12-01 23:59:00 UTC: a minute before the day (not the month) ends; 23:59 on the 31st ends both
BEFORE_MIDNIGHT = 1_796_169_540.0
BEFORE_NEW_MONTH = 1_798_761_540.0


@pytest.mark.parametrize(
    ("period", "wall", "resets"),
    [
        ("day", BEFORE_MIDNIGHT, True),
        ("month", BEFORE_MIDNIGHT, False),
        ("month", BEFORE_NEW_MONTH, True),
        ("lifetime", BEFORE_NEW_MONTH, False),
    ],
)
def test_a_period_starts_from_zero_on_the_utc_calendar_both_clients(period: str, wall: float, resets: bool) -> None:
    from liter_llm.clock import ManualClock

    options: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": BASE,
        "model_hint": "openai",
        "budget": {"global_limit": 1.5, "period": period},
    }
    clock = ManualClock(wall=wall)
    with liter_llm.create_client(transport=httpx.MockTransport(reply), clock=clock, **options) as client:
        client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
        with pytest.raises(BudgetExceededError):
            client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
        clock.advance(120)  # past midnight UTC
        assert client.budget.spent == (0.0 if resets else pytest.approx(1.0))

    async def main() -> None:
        clock = ManualClock(wall=wall)

        async def handler(request: httpx.Request) -> httpx.Response:
            return reply(request)

        async with liter_llm.create_async_client(
            transport=httpx.MockTransport(handler), clock=clock, **options
        ) as client:
            await client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
            clock.advance(120)
            if resets:
                await client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)
            else:
                with pytest.raises(BudgetExceededError):
                    await client.chat(model=MODEL, messages=MESSAGES, max_tokens=100)

    asyncio.run(main())


# -- calls with no outcome: a stream closed before its end, a cancelled call -------------------------


class _Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent one event per read (as a provider streams), for both clients."""

    def __init__(self, events: list[bytes]) -> None:
        self.events = events

    def __iter__(self) -> Any:
        yield from self.events

    async def __aiter__(self) -> Any:
        for event in self.events:
            yield event


def _stream(request: httpx.Request) -> httpx.Response:
    """An OpenAI stream with include_usage: the usage (100 output tokens, $1.00) in the last chunk only."""
    model = json.loads(request.content)["model"]

    def chunk(delta: dict[str, Any], usage: Any = None, finish: Any = None) -> bytes:
        choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
        body = {"id": "s", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": choices}
        return f"data: {json.dumps({**body, 'usage': usage})}\n\n".encode()

    events = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "ok"}),
        chunk({}, finish="stop"),
        chunk({}, usage={"prompt_tokens": 3, "completion_tokens": 100, "total_tokens": 103}),
        b"data: [DONE]\n\n",
    ]
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Pieces(events))


STREAM_OPTIONS: dict[str, Any] = {
    "api_key": "sk-test",
    "base_url": BASE,
    "model_hint": "openai",
    "max_retries": 0,
    "budget": {"global_limit": 1.5},  # room for one $1.00 reservation at a time
}


def test_a_stream_closed_early_releases_and_a_finished_one_settles_sync() -> None:
    with liter_llm.create_client(transport=httpx.MockTransport(_stream), **STREAM_OPTIONS) as client:
        for _ in range(3):  # a kept reservation would refuse the second stream
            with client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=100) as stream:
                next(stream)
                assert client.budget.held == pytest.approx(1.0)
            assert client.budget.held == 0.0
            assert client.budget.spent == 0.0
        with client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=100) as stream:
            for _ in range(4):  # through the usage chunk; closed before [DONE]
                next(stream)
        assert client.budget.held == 0.0
        assert client.budget.spent == pytest.approx(1.0)  # the usage received before the close
        with pytest.raises(BudgetExceededError):
            client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=100)


def test_a_stream_closed_early_releases_and_a_finished_one_settles_async() -> None:
    async def main() -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            return _stream(request)

        async with liter_llm.create_async_client(transport=httpx.MockTransport(handler), **STREAM_OPTIONS) as client:
            for _ in range(3):
                async with await client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=100) as stream:
                    await stream.__anext__()
                    assert client.budget.held == pytest.approx(1.0)
                assert client.budget.held == 0.0
            stream = await client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=100)
            await stream.response()
            assert client.budget.held == 0.0
            assert client.budget.spent == pytest.approx(1.0)

    asyncio.run(main())


def test_a_cancelled_call_releases_its_reservation_async() -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            started.set()
            await asyncio.Event().wait()  # never answers
            raise AssertionError("unreachable")

        async with liter_llm.create_async_client(transport=httpx.MockTransport(handler), **STREAM_OPTIONS) as client:
            task = asyncio.ensure_future(client.chat(model=MODEL, messages=MESSAGES, max_tokens=100))
            await asyncio.wait_for(started.wait(), 30)
            assert client.budget.held == pytest.approx(1.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.budget.held == 0.0

    asyncio.run(main())
