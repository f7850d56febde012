"""Pre-flight (``preflight = true``): a chat that cannot fit the model's context window is refused before any I/O.

Through both clients, with a MockTransport that counts what reaches it.  The
model is ``mistral/open-mistral-7b`` (an 8000-token window in the shipped
data); Mistral models are counted with the characters/4 estimate whether or
not tiktoken is installed, so the numbers below do not depend on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm import ContextWindowExceededError, hookimpl
from liter_llm.builtins.preflight import PROMPT_TOKENS, PromptCount

MODEL = "mistral/open-mistral-7b"  # context window 8000
BASE = "http://127.0.0.1:9/v1"


def answer(request: httpx.Request) -> httpx.Response:
    if json.loads(request.read()).get("stream"):
        chunk = {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        chunk["choices"] = [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]
        body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    message = {"role": "assistant", "content": "ok"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    data = {"id": "1", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]}
    data["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return httpx.Response(200, json=data)


class Counting:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return answer(request)


def user(chars: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "x" * chars}]


def chat(mode: str, transport: Counting, *, stream: bool = False, **call: Any) -> Any:
    """One chat (or a stream read to its end) through the sync or async client."""
    options: dict[str, Any] = {"api_key": "sk-test-0123456789", "base_url": BASE, "max_retries": 0}
    options["model_hint"] = "mistral"
    options["transport"] = httpx.MockTransport(transport)
    options.update(call.pop("client", {}))
    call.setdefault("model", MODEL)
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            if stream:
                return list(client.chat_stream(**call))
            return client.chat(**call)

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as client:
            if stream:
                return [chunk async for chunk in await client.chat_stream(**call)]
            return await client.chat(**call)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_prompt_past_the_window_is_refused_before_any_request(mode: str) -> None:
    transport = Counting()
    with pytest.raises(ContextWindowExceededError) as info:
        chat(mode, transport, messages=user(40_000), client={"preflight": True})  # about 10000 tokens
    assert transport.requests == 0
    assert isinstance(info.value, liter_llm.BadRequestError)
    assert "8000 tokens" in str(info.value)
    assert "estimate:characters/4" in str(info.value)
    assert info.value.provider == "mistral"


def test_a_stream_is_refused_before_it_opens(mode: str) -> None:
    transport = Counting()
    with pytest.raises(ContextWindowExceededError):
        chat(mode, transport, stream=True, messages=user(40_000), client={"preflight": True})
    assert transport.requests == 0


def test_max_tokens_counts_against_the_window(mode: str) -> None:
    transport = Counting()
    messages = user(20_000)  # about 5000 tokens
    with pytest.raises(ContextWindowExceededError, match="max_tokens 4000"):
        chat(mode, transport, messages=messages, max_tokens=4000, client={"preflight": True})
    assert transport.requests == 0
    chat(mode, transport, messages=messages, max_tokens=2000, client={"preflight": True})
    assert transport.requests == 1


def test_without_max_tokens_the_prompt_alone_must_fit(mode: str) -> None:
    # the provider answers within what is left of the window: a prompt that fits is sent
    transport = Counting()
    chat(mode, transport, messages=user(20_000), client={"preflight": True})
    chat(mode, transport, stream=True, messages=user(20_000), client={"preflight": True})
    assert transport.requests == 2


def test_off_by_default(mode: str) -> None:
    transport = Counting()
    chat(mode, transport, messages=user(40_000))
    assert transport.requests == 1


def test_an_unknown_model_is_not_checked_and_says_so(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="liter_llm")
    transport = Counting()
    chat(mode, transport, model="mistral/a-model-no-table-knows", messages=user(40_000), client={"preflight": True})
    assert transport.requests == 1
    assert "preflight_skipped" in caplog.text


def test_the_setting_from_json_and_toml(tmp_path: Path) -> None:
    transport = Counting()
    options = {"transport": httpx.MockTransport(transport), "api_key": "sk-test-0123456789", "base_url": BASE}
    options["model_hint"] = "mistral"
    with liter_llm.create_client_from_json('{"preflight": true}', **options) as client:
        with pytest.raises(ContextWindowExceededError):
            client.chat(model=MODEL, messages=user(40_000))
    path = tmp_path / "liter-llm.toml"
    path.write_text("preflight = true\nmax_retries = 0\n", encoding="utf-8")
    with liter_llm.create_client_from_file(str(path), **options) as client:
        with pytest.raises(ContextWindowExceededError):
            client.chat(model=MODEL, messages=user(40_000))

    async def main() -> None:
        async with liter_llm.create_async_client_from_json('{"preflight": true}', **options) as client:
            with pytest.raises(ContextWindowExceededError):
                await client.chat(model=MODEL, messages=user(40_000))

    asyncio.run(main())
    assert transport.requests == 0


# ---------------------------------------------------------------------------
# The budget reserves with the same count
# ---------------------------------------------------------------------------

PRICED = "mistral/preflight-budget-test"  # priced below at 1 USD per prompt token, free output


def reservation(mode: str, hooks: list[Any], content: str) -> float:
    """The worst case the budget reserved for one call (read from its refusal under a tiny limit)."""
    liter_llm.set_model_price(PRICED, input_cost_per_token=1.0, output_cost_per_token=0.0)
    transport = Counting()
    client = {"preflight": True, "budget": {"global_limit": 1e-9}, "hooks": hooks}
    with pytest.raises(liter_llm.BudgetExceededError) as info:
        chat(mode, transport, model=PRICED, messages=[{"role": "user", "content": content}], client=client)
    assert transport.requests == 0
    found = re.search(r"this call may cost \$([0-9.]+)", str(info.value))
    assert found, str(info.value)
    return float(found.group(1))


class ExactCount:
    """Stands for an exact (tiktoken) count: runs after the pre-flight check and marks its count exact."""

    def __init__(self) -> None:
        self.seen: list[PromptCount] = []

    @hookimpl(trylast=True)
    def on_request(self, call: Any) -> None:
        counted = call.state[PROMPT_TOKENS]
        self.seen.append(counted)
        call.state[PROMPT_TOKENS] = PromptCount(7, True, "tiktoken:test", counted.output_tokens, None)


def test_an_exact_count_is_what_the_budget_reserves(mode: str) -> None:
    hook = ExactCount()
    assert reservation(mode, [hook], "hello world, hello world") == 7.0
    assert hook.seen[0].method == "estimate:characters/4"


def test_an_estimate_keeps_the_budgets_byte_bound(mode: str) -> None:
    # an estimate is no upper bound: the reservation stays the UTF-8 bytes plus 4 per message
    content = "hello world, hello world"
    assert reservation(mode, [], content) == float(len(content.encode()) + 4)
