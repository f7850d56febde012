"""The budget built-in: hard and soft limits, the ledger, concurrency, through both clients."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.builtins.budget import BudgetLedger, InMemoryLedger
from liter_llm.errors import BudgetExceededError

BASE = S.BASE
# openai/gpt-4o: 2.5e-6 per input token, 1e-5 per output token
USAGE = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
COST = 1000 * 2.5e-6 + 100 * 1e-5  # 0.0035 USD per call
MESSAGES = S.MESSAGES


def reply(request: httpx.Request) -> httpx.Response:
    return S.openai_response(json.loads(request.content)["model"], usage=USAGE)


def recorder() -> S.OpenAIServer:
    return S.OpenAIServer(usage=USAGE)


CLIENTS = S.MockClients()
sync_client = CLIENTS.sync
async_client = CLIENTS.async_
twin = CLIENTS.twin


def test_ledger_satisfies_the_protocol() -> None:
    assert isinstance(InMemoryLedger(), BudgetLedger)


def test_no_budget_means_no_ledger(mode: str) -> None:
    with twin(mode, recorder()) as client:
        assert client.budget is None


def test_hard_global_limit(mode: str) -> None:
    seen = recorder()
    with twin(mode, seen, budget={"global_limit": 2 * COST}) as client:
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        assert client.budget.spent == pytest.approx(COST)
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        assert client.budget.spent == pytest.approx(2 * COST)
        with pytest.raises(BudgetExceededError) as info:
            client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
    assert len(seen.requests) == 2  # the refused call made no I/O
    error = info.value
    assert error.limit_name == "global"
    assert error.limit == pytest.approx(2 * COST)
    assert error.spent == pytest.approx(2 * COST)
    assert "global" in str(error)


def test_hard_global_limit_async() -> None:
    seen = recorder()

    async def main() -> None:
        async with async_client(seen, budget={"global_limit": COST}) as client:
            await client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
            with pytest.raises(BudgetExceededError) as info:
                await client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
            assert info.value.limit_name == "global"
            assert info.value.spent == pytest.approx(COST)

    asyncio.run(main())
    assert len(seen.requests) == 1


def test_model_limit_names_the_model_and_leaves_others_alone_both_clients() -> None:
    budget = {"model_limits": {"gpt-4o": COST}}
    seen = recorder()
    with sync_client(seen, budget=budget) as client:
        client.chat(model="gpt-4o", messages=MESSAGES, max_tokens=1)
        with pytest.raises(BudgetExceededError) as info:
            client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)  # same model, written with its provider
        assert info.value.limit_name == "model:gpt-4o"
        assert info.value.limit == pytest.approx(COST)
        client.chat(model="gpt-4o-mini", messages=MESSAGES, max_tokens=1)  # another model has no limit
        assert set(client.budget.spent_by_model) == {"openai/gpt-4o", "openai/gpt-4o-mini"}
        assert client.budget.spent_by_model["openai/gpt-4o"] == pytest.approx(COST)
    assert len(seen.requests) == 2

    async def main() -> None:
        async with async_client(recorder(), budget=budget) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES, max_tokens=1)
            with pytest.raises(BudgetExceededError) as info:
                await client.chat(model="gpt-4o", messages=MESSAGES, max_tokens=1)
            assert info.value.limit_name == "model:gpt-4o"

    asyncio.run(main())


def test_soft_limit_warns_and_goes_on_both_clients(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="liter_llm")
    budget = {"global_limit": COST, "enforcement": "soft"}
    seen = recorder()
    with sync_client(seen, budget=budget) as client:
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        assert client.budget.spent == pytest.approx(2 * COST)
    assert len(seen.requests) == 2
    assert "budget_exceeded" in caplog.text
    assert "limit_name='global'" in caplog.text
    caplog.clear()

    async def main() -> None:
        async with async_client(recorder(), budget=budget) as client:
            await client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
            await client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)

    asyncio.run(main())
    assert "budget_exceeded" in caplog.text


def test_reset_lets_calls_through_again(mode: str) -> None:
    with twin(mode, recorder(), budget={"global_limit": COST}) as client:
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        with pytest.raises(BudgetExceededError):
            client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        client.budget.reset()
        assert client.budget.spent == 0.0
        assert dict(client.budget.spent_by_model) == {}
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)


def test_budget_is_recorded_without_cost_tracking_and_response_cost_stays_unset(mode: str) -> None:
    with twin(mode, recorder(), budget={"global_limit": 10.0}) as client:
        answer = client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        assert answer.cost is None
        assert client.budget.spent == pytest.approx(COST)


def test_budget_from_json_and_toml(mode: str, tmp_path: Path) -> None:
    config = {"api_key": "sk-test", "base_url": BASE, "model_hint": "openai", "budget": {"global_limit": COST}}
    seen = recorder()
    create = liter_llm.create_client_from_json if mode == "sync" else liter_llm.create_async_client_from_json
    with S.Api.around(mode, create(json.dumps(config), transport=httpx.MockTransport(seen))) as client:
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        with pytest.raises(BudgetExceededError):
            client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
    toml = tmp_path / "liter-llm.toml"
    toml.write_text(
        f'api_key = "sk-test"\nbase_url = "{BASE}"\nmodel_hint = "openai"\n\n'
        '[budget]\nenforcement = "hard"\n\n[budget.model_limits]\n"gpt-4o" = 0.0035\n'
    )
    # there is no async create_client_from_file: the async client takes the file's configuration
    transport = httpx.MockTransport(recorder())
    if mode == "sync":
        made: Any = liter_llm.create_client_from_file(str(toml), transport=transport)
    else:
        from liter_llm.config import load_config_file

        made = liter_llm.AsyncDefaultClient(load_config_file(toml), transport=transport)
    client = S.Api.around(mode, made)
    with client:
        client.chat(model="gpt-4o", messages=MESSAGES, max_tokens=1)
        with pytest.raises(BudgetExceededError) as info:
            client.chat(model="gpt-4o", messages=MESSAGES, max_tokens=1)
        assert info.value.limit_name == "model:gpt-4o"


# -- concurrency ---------------------------------------------------------------
#
# 9 calls spend 9 * COST; the limit is 10 * COST.  Then 64 calls start at once
# and the transport holds every answer until all 64 have arrived: all were
# admitted while the spent amount was under the limit, so all 64 are "in
# flight" when the first of them reaches it.  Spending ends at exactly
# (9 + 64) * COST -- no lost update under concurrency -- i.e. the overspend
# is the 63 calls still in flight when the limit was reached, and no more.
# The next 64 concurrent calls are all refused without any I/O.

N = 64
LIMIT = 10 * COST


def test_concurrent_spending_sync() -> None:
    arrived = 0
    lock = threading.Lock()
    all_in = threading.Event()
    phase = {"gate": False}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        with lock:
            seen.append(request)
            if phase["gate"]:
                arrived += 1
                if arrived == N:
                    all_in.set()
        if phase["gate"]:
            assert all_in.wait(10), "not all calls reached the transport"
        return reply(request)

    with sync_client(handler, budget={"global_limit": LIMIT}) as client:
        for _ in range(9):
            client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        phase["gate"] = True

        def run() -> Any:
            try:
                return client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
            except BudgetExceededError as exc:
                return exc

        threads_results: list[Any] = []
        threads = [threading.Thread(target=lambda: threads_results.append(run())) for _ in range(N)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert len(threads_results) == N
        assert not any(isinstance(r, BudgetExceededError) for r in threads_results)
        assert client.budget.spent == pytest.approx((9 + N) * COST)
        in_flight_when_reached = N - 1
        assert client.budget.spent - LIMIT == pytest.approx(in_flight_when_reached * COST)

        phase["gate"] = False
        before = len(seen)
        refused: list[Any] = []
        threads = [threading.Thread(target=lambda: refused.append(run())) for _ in range(N)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert len(refused) == N
        assert all(isinstance(r, BudgetExceededError) and r.limit_name == "global" for r in refused)
        assert len(seen) == before  # zero I/O for refused calls
        assert client.budget.spent == pytest.approx((9 + N) * COST)


def test_concurrent_spending_async() -> None:
    async def main() -> None:
        arrived = 0
        all_in = asyncio.Event()
        gate = False
        seen: list[httpx.Request] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            nonlocal arrived
            seen.append(request)
            if gate:
                arrived += 1
                if arrived == N:
                    all_in.set()
                await asyncio.wait_for(all_in.wait(), 10)
            return reply(request)

        async with async_client(handler, budget={"global_limit": LIMIT}) as client:
            for _ in range(9):
                await client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
            gate = True
            results = await asyncio.gather(
                *(client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1) for _ in range(N)),
                return_exceptions=True,
            )
            assert not any(isinstance(r, BaseException) for r in results)
            assert client.budget.spent == pytest.approx((9 + N) * COST)
            assert client.budget.spent - LIMIT == pytest.approx((N - 1) * COST)
            gate = False
            before = len(seen)
            refused = await asyncio.gather(
                *(client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1) for _ in range(N)),
                return_exceptions=True,
            )
            assert all(isinstance(r, BudgetExceededError) and r.limit_name == "global" for r in refused)
            assert len(seen) == before

    asyncio.run(main())


class CountingLedger(InMemoryLedger):
    """A user-supplied ledger (as a Redis-backed one would be), to show the interface is enough."""

    def __init__(self) -> None:
        super().__init__()
        self.adds: list[tuple[str, float]] = []

    def add(self, model: str, usd: float) -> None:
        self.adds.append((model, usd))
        super().add(model, usd)


def test_a_custom_ledger_replaces_the_builtin_budget(mode: str) -> None:
    from liter_llm.builtins.budget import Budget
    from liter_llm.config import BudgetConfig

    ledger = CountingLedger()
    mine = Budget(BudgetConfig(global_limit=COST), ledger=ledger)
    seen = recorder()
    with twin(mode, seen, budget={"global_limit": 100.0}, disable_plugins=["budget"], hooks=[mine]) as client:
        assert client.budget is None  # the built-in is off
        client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
        with pytest.raises(BudgetExceededError):
            client.chat(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1)
    assert ledger.adds == [("openai/gpt-4o", pytest.approx(COST))]
    assert len(seen.requests) == 1
