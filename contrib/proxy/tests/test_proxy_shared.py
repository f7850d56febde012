"""Two proxy instances sharing a real PostgreSQL and a real Redis enforce one key's budget together."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import PRICES, RunningProxy
from sdk_support import run_sdk
from services import Postgres, Redis

from liter_llm.config import parse_config


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Redis]:
    server = Redis().start()
    yield server
    server.stop()


@pytest.fixture
def two_proxies(
    start_proxy: Callable[..., RunningProxy],
    postgres: Postgres,
    redis_server: Redis,
    upstream: tuple[FakeUpstream, ThreadServer],
    request: pytest.FixtureRequest,
) -> tuple[RunningProxy, RunningProxy]:
    prefix = f"t{abs(hash(request.node.name))}:"

    def config() -> Any:
        return parse_config(
            {
                "base_url": f"{upstream[1].url}/v1",
                "api_key": "upstream-secret-key",
                "max_retries": 0,
                "redis": {"url": redis_server.url, "key_prefix": prefix},
                "plugins": {"proxy": {"database_url": postgres.url, "model_prices": PRICES, "key_cache_secs": 0}},
            }
        )

    return start_proxy(config=config()), start_proxy(config=config())


def chat(kind: str, proxy: RunningProxy, key: str, max_tokens: int) -> Any:
    return run_sdk(
        kind,
        proxy.url,
        key,
        lambda c: c.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], max_tokens=max_tokens
        ),
    )


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_key_made_on_one_instance_spends_one_budget_on_both(
    kind: str, two_proxies: tuple[RunningProxy, RunningProxy], upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    a, b = two_proxies
    # each call reserves $0.016 and costs $0.02: two fit in $0.05, a third would not
    key = a.create_key(max_budget=0.05)["key"]
    chat(kind, a, key, 5)
    chat(kind, b, key, 5)  # the key, made on a, is valid on b (one database)
    before = upstream[0].count()
    for proxy in (a, b):  # neither instance lets a third call through: the ledger is shared in Redis
        with pytest.raises(openai.RateLimitError) as caught:
            chat(kind, proxy, key, 5)
        assert caught.value.code == "budget_exceeded"
    assert upstream[0].count() == before


def test_concurrent_calls_on_two_instances_never_overspend(
    two_proxies: tuple[RunningProxy, RunningProxy], upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    a, b = two_proxies
    # each call reserves $0.106 (50 output tokens) and costs $0.02; 48 calls at once, half on each instance
    created = a.create_key(max_budget=0.5)
    key = created["key"]

    def one(i: int) -> str:
        try:
            chat("sync", (a, b)[i % 2], key, 50)
            return "served"
        except openai.RateLimitError as exc:
            return "refused" if exc.code == "budget_exceeded" else f"other: {exc.code}"

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(one, range(48)))
    served = outcomes.count("served")
    assert 0 < served < 48
    assert outcomes.count("refused") == 48 - served
    a.admin.get(f"/admin/keys/{created['id']}/spend")  # each read writes that instance's pending rows first
    spend_b = b.admin.get(f"/admin/keys/{created['id']}/spend").json()
    spend_a = a.admin.get(f"/admin/keys/{created['id']}/spend").json()
    # both instances write the spend log into one database: each sees every instance's rows
    assert spend_a["total"] == pytest.approx(spend_b["total"]) == pytest.approx(served * 0.02)
    assert spend_a["total"] <= 0.5
    assert spend_a["requests"] == 48


def test_a_revocation_on_one_instance_holds_on_the_other(
    two_proxies: tuple[RunningProxy, RunningProxy], upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    a, b = two_proxies
    created = a.create_key()
    chat("async", b, created["key"], 5)
    a.admin.delete(f"/admin/keys/{created['id']}")
    before = upstream[0].count()
    with pytest.raises(openai.AuthenticationError) as caught:
        chat("async", b, created["key"], 5)
    assert caught.value.code == "key_revoked"
    assert upstream[0].count() == before
