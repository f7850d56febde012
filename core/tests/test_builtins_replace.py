"""Every built-in can be disabled by name and replaced by a user plugin, through both clients."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.builtins import BUILTIN_NAMES, builtin_plugins
from liter_llm.config import ClientConfig, parse_config
from liter_llm.errors import BudgetExceededError
from liter_llm.types import ChatCompletionResponse

BASE = S.BASE
MESSAGES = S.MESSAGES
EVERYTHING = {
    "cost_tracking": True,
    "preflight": True,
    # a call reserves its worst case (about 3.25e-5 with max_tokens=1), so the second one does not fit
    "budget": {"global_limit": 4e-5},
    "cache": {"max_entries": 10},
    "rate_limit": {"rpm": 1, "window_seconds": 60},
    "cooldown_secs": 10,
}


CLIENTS = S.MockClients()


def network_server() -> S.OpenAIServer:
    return S.OpenAIServer("network", usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7})


def test_each_setting_switches_on_its_builtin() -> None:
    assert [name for name, _ in builtin_plugins(ClientConfig())] == ["logging"]  # always on
    names = [name for name, _ in builtin_plugins(parse_config(EVERYTHING))]
    assert names == list(BUILTIN_NAMES)


def test_every_builtin_is_documented() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "builtins.md").read_text("utf-8")
    for name in BUILTIN_NAMES:
        assert f"`{name}`" in page


class MyCache:
    """A user's cache: answers every chat from a fixed response."""

    def __init__(self) -> None:
        self.asked = 0

    @liter_llm.hookimpl
    def cached_response(self, call: Any) -> Any:
        self.asked += 1
        return ChatCompletionResponse.from_dict(
            {
                "id": "mine",
                "created": 0,
                "model": call.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "from my cache"}}],
            }
        )


def test_disable_the_cache_and_register_my_own_both_clients() -> None:
    server = network_server()
    mine = MyCache()
    options = {"cache": {"max_entries": 10}, "disable_plugins": ["cache"], "hooks": [mine]}
    with liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), **options
    ) as client:
        answer = client.chat(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content == "from my cache"
    assert answer.id == "mine"
    assert server.requests == []

    async def main() -> None:
        async with liter_llm.create_async_client(
            api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), **options
        ) as client:
            answer = await client.chat(model="gpt-4o", messages=MESSAGES)
            assert answer.choices[0].message.content == "from my cache"

    asyncio.run(main())
    assert mine.asked == 2
    assert server.requests == []


def test_the_builtin_cache_is_used_when_not_disabled(mode: str) -> None:
    server = network_server()
    with CLIENTS.twin(mode, server, cache={"max_entries": 10}) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        assert client.chat(model="gpt-4o", messages=MESSAGES).choices[0].message.content == "network"
    assert len(server.requests) == 1


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_disabling_a_builtin_by_name_turns_it_off(mode: str, name: str) -> None:
    # all five on, one off: calls go through where that one would have stopped them
    server = network_server()
    # the deadline (20 s) is far below the rate limit's wait (60 s: rpm=1) and far above a loaded
    # machine's slowest call (0.5 s failed once under load)
    with CLIENTS.twin(mode, server, timeout_secs=20, disable_plugins=[name], **EVERYTHING) as client:
        first = client.chat(model="gpt-4o", messages=MESSAGES, max_tokens=1)
        assert (first.cost is None) == (name == "cost")
        assert (client.budget is None) == (name == "budget")
        if name == "cache":
            # no cache: the second call reaches the budget refusal (spent + its reservation > the limit)
            with pytest.raises(BudgetExceededError):
                client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.1, max_tokens=1)
        elif name == "budget":
            # no budget: a new request passes the budget and meets the rate limit (rpm=1) instead
            with pytest.raises(liter_llm.RateLimitedError):
                client.chat(model="gpt-4o", messages=MESSAGES, temperature=0.1, max_tokens=1)
    assert len(server.requests) == 1
