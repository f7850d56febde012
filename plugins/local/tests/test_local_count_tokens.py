"""``count_tokens(..., exact=True)`` on the local model: its chat template and its own tokenizer, both clients.

The count is checked against the real model: a chat with the same messages reports the same
``prompt_tokens`` (llama.cpp counts the prompt it evaluated).
"""

from __future__ import annotations

from typing import Any

import pytest

import liter_llm
from liter_llm.errors import BadRequestError

MODEL = "local/smollm2"
SHORT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name three colours"}]
#: words the tokenizer splits unevenly, so a characters/4 estimate and the real count differ
BAD: list[Any] = [{"role": "nobody", "content": 1}]
ODD = [{"role": "user", "content": "Antidisestablishmentarianism, pneumonoultramicroscopic 12345 😀 naïve"}]


def run_both(method: str, **kwargs: Any) -> list[Any]:
    with liter_llm.create_client() as client:
        sync = getattr(client, method)(**kwargs)

    async def main() -> Any:
        async with liter_llm.create_async_client() as client:
            return await getattr(client, method)(**kwargs)

    import asyncio

    return [sync, asyncio.run(main())]


@pytest.mark.parametrize("messages", [SHORT, ODD], ids=["short", "odd"])
def test_the_exact_count_is_the_prompt_the_model_evaluates(messages: list[dict[str, str]]) -> None:
    counts = run_both("count_tokens", model=MODEL, messages=messages, exact=True)
    chats = run_both("chat", model=MODEL, messages=messages, max_tokens=1, temperature=0)
    for count, chat in zip(counts, chats, strict=True):
        assert count.method == "provider:local"
        assert count.exact is True
        assert count.model == MODEL
        assert count.tokens == chat.usage.prompt_tokens > 0


def test_without_exact_the_count_is_offline() -> None:
    for count in run_both("count_tokens", model=MODEL, messages=ODD):
        assert count.method.startswith("estimate:")
        assert count.exact is False


def _count_bad_sync() -> None:
    with liter_llm.create_client() as client:
        client.count_tokens(model=MODEL, messages=BAD, exact=True)


def _count_bad_async() -> None:
    import asyncio

    async def main() -> None:
        async with liter_llm.create_async_client() as client:
            await client.count_tokens(model=MODEL, messages=BAD, exact=True)

    asyncio.run(main())


@pytest.mark.parametrize("count", [_count_bad_sync, _count_bad_async], ids=["sync", "async"])
def test_a_bad_message_is_a_bad_request(count: Any) -> None:
    with pytest.raises(BadRequestError):
        count()
