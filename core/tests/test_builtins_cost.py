"""The cost built-in: prices from the shipped table, through both clients.

Prices checked here are the table's own rows for openai/gpt-4o (2.50 / 10.00
/ 1.25 USD per million input / output / cached tokens) and
openai/text-embedding-3-small (0.02 per million), as published by OpenAI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.builtins.cost import lookup_price
from liter_llm.errors import BadRequestError
from liter_llm.testing import openai_chat_body
from liter_llm.types import Usage

BASE = S.BASE
GPT4O_IN, GPT4O_OUT, GPT4O_CACHED = 2.5e-6, 1e-5, 1.25e-6


def chat_body(model: str, usage: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(S.openai_response(model, usage=usage).content)
    return body


def make_handler(usage: dict[str, Any] | None, seen: list[httpx.Request] | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = json.loads(request.content)
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "data": [{"object": "embedding", "embedding": [0.1, 0.2], "index": 0}],
                    "model": body["model"],
                    "usage": usage,
                },
            )
        if body.get("stream"):
            chunks = [
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}],
                },
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                },
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                    "choices": [],
                    "usage": usage,
                },
            ]
            text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            return httpx.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=chat_body(body["model"], usage))

    return handler


CLIENTS = S.MockClients()
sync_client = CLIENTS.sync
async_client = CLIENTS.async_
twin = CLIENTS.twin


MESSAGES = S.MESSAGES
USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 300,
    "total_tokens": 1300,
    "prompt_tokens_details": {"cached_tokens": 400},
    "completion_tokens_details": {"reasoning_tokens": 200},
}
# 600 uncached input + 400 cached input + 300 output (200 of which are reasoning tokens)
EXPECTED = 600 * GPT4O_IN + 400 * GPT4O_CACHED + 300 * GPT4O_OUT


def test_the_table_ships_with_the_package_and_has_no_reference_to_shared() -> None:
    data = Path(liter_llm.__file__).parent / "data" / "pricing.json"
    text = data.read_text("utf-8")
    assert "derived from liter-llm's schemas/pricing.json, generated from models.dev, MIT" in text
    assert len(json.loads(text)["models"]) > 1000


def test_import_does_not_read_the_table() -> None:
    code = (
        "import liter_llm, liter_llm.builtins.cost as c\n"
        "liter_llm.completion_cost\n"
        "liter_llm.create_client(api_key='k', cost_tracking=True).close()\n"
        "assert c._table is None, 'table read before first use'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_completion_cost_cached_and_reasoning_tokens() -> None:
    usage = Usage.from_dict(USAGE)
    assert liter_llm.completion_cost(usage, "openai/gpt-4o") == pytest.approx(EXPECTED)
    # a plain usage dict, and the bare model name
    assert liter_llm.completion_cost(USAGE, "gpt-4o") == pytest.approx(EXPECTED)


def test_completion_cost_without_cache_price_uses_the_input_price() -> None:
    liter_llm.set_model_price("test-nocache/model-a", input_cost_per_token=1e-6, output_cost_per_token=2e-6)
    usage = Usage.from_dict(USAGE)
    assert liter_llm.completion_cost(usage, "test-nocache/model-a") == pytest.approx(1000 * 1e-6 + 300 * 2e-6)


def test_unknown_model_gives_none_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="liter_llm")
    assert liter_llm.completion_cost(Usage.from_dict(USAGE), "nobody/no-such-model-xyz") is None
    assert "model_price_unknown" in caplog.text
    assert "no-such-model-xyz" in caplog.text


def test_completion_cost_rejects_other_objects() -> None:
    with pytest.raises(BadRequestError):
        liter_llm.completion_cost(42, "gpt-4o")


def test_set_model_price_overrides_and_validates() -> None:
    liter_llm.set_model_price(
        "openai/test-override-model",
        input_cost_per_token=1e-3,
        output_cost_per_token=2e-3,
        cache_read_input_token_cost=1e-4,
    )
    price = lookup_price("openai/test-override-model")
    assert price is not None
    assert price.cache_read_input_token_cost == 1e-4
    usage = Usage.from_dict(USAGE)
    assert liter_llm.completion_cost(usage, "openai/test-override-model") == pytest.approx(
        600 * 1e-3 + 400 * 1e-4 + 300 * 2e-3
    )
    with pytest.raises(BadRequestError):
        liter_llm.set_model_price("x", input_cost_per_token=-1, output_cost_per_token=0)
    with pytest.raises(BadRequestError):
        liter_llm.set_model_price("x", input_cost_per_token=float("nan"), output_cost_per_token=0)
    with pytest.raises(BadRequestError):
        liter_llm.set_model_price("", input_cost_per_token=0, output_cost_per_token=0)


def test_response_cost(mode: str) -> None:
    with twin(mode, make_handler(USAGE), cost_tracking=True) as client:
        answer = client.chat(model="openai/gpt-4o", messages=MESSAGES)
        assert answer.cost == pytest.approx(EXPECTED)
        bare = client.chat(model="gpt-4o", messages=MESSAGES)  # provider/model look-up
        assert bare.cost == pytest.approx(EXPECTED)


def test_response_cost_async() -> None:
    async def main() -> None:
        async with async_client(make_handler(USAGE), cost_tracking=True) as client:
            answer = await client.chat(model="openai/gpt-4o", messages=MESSAGES)
            assert answer.cost == pytest.approx(EXPECTED)

    asyncio.run(main())


def test_cost_is_off_by_default(mode: str) -> None:
    with twin(mode, make_handler(USAGE)) as client:
        assert client.chat(model="openai/gpt-4o", messages=MESSAGES).cost is None


def test_embedding_cost_both_clients() -> None:
    usage = {"prompt_tokens": 5000, "total_tokens": 5000}
    expected = 5000 * 2e-8

    with sync_client(make_handler(usage), cost_tracking=True) as client:
        assert client.embed(model="openai/text-embedding-3-small", input="hi").cost == pytest.approx(expected)

    async def main() -> None:
        async with async_client(make_handler(usage), cost_tracking=True) as client:
            answer = await client.embed(model="openai/text-embedding-3-small", input="hi")
            assert answer.cost == pytest.approx(expected)

    asyncio.run(main())


def test_unknown_model_response_has_no_cost(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="liter_llm")
    with twin(mode, make_handler(USAGE), cost_tracking=True) as client:
        # the warning comes once per model: each mode asks for a model of its own
        answer = client.chat(model=f"openai/unpriced-model-123-{mode}", messages=MESSAGES)
    assert answer.cost is None
    assert f"unpriced-model-123-{mode}" in caplog.text


def test_response_without_usage_has_no_cost(mode: str) -> None:
    with twin(mode, make_handler(None), cost_tracking=True) as client:
        assert client.chat(model="openai/gpt-4o", messages=MESSAGES).cost is None


class _Seen:
    def __init__(self) -> None:
        self.costs: list[float | None] = []

    @liter_llm.hookimpl(trylast=True)
    def on_response(self, response: Any) -> None:
        self.costs.append(response.cost)


def test_stream_is_priced_from_its_final_usage_both_clients() -> None:
    seen = _Seen()
    with sync_client(make_handler(USAGE), cost_tracking=True, hooks=[seen]) as client:
        with client.chat_stream(model="openai/gpt-4o", messages=MESSAGES) as stream:
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hi"
    assert seen.costs == [pytest.approx(EXPECTED)]

    seen_async = _Seen()

    async def main() -> None:
        async with async_client(make_handler(USAGE), cost_tracking=True, hooks=[seen_async]) as client:
            stream = await client.chat_stream(model="openai/gpt-4o", messages=MESSAGES)
            async for _ in stream:
                pass

    asyncio.run(main())
    assert seen_async.costs == [pytest.approx(EXPECTED)]


def test_cost_tracking_from_json_config(mode: str) -> None:
    create = liter_llm.create_client_from_json if mode == "sync" else liter_llm.create_async_client_from_json
    client = create(
        json.dumps({"api_key": "sk-test", "base_url": BASE, "model_hint": "openai", "cost_tracking": True}),
        transport=httpx.MockTransport(make_handler(USAGE)),
    )
    with S.Api.around(mode, client) as client:
        assert client.chat(model="openai/gpt-4o", messages=MESSAGES).cost == pytest.approx(EXPECTED)


def test_stream_response_carries_the_cost_both_clients() -> None:
    with sync_client(make_handler(USAGE), cost_tracking=True) as client:
        stream = client.chat_stream(model="openai/gpt-4o", messages=MESSAGES)
        assert stream.response().cost == pytest.approx(EXPECTED)

    async def main() -> float | None:
        async with async_client(make_handler(USAGE), cost_tracking=True) as client:
            stream = await client.chat_stream(model="openai/gpt-4o", messages=MESSAGES)
            return (await stream.response()).cost

    assert asyncio.run(main()) == pytest.approx(EXPECTED)


# ---------------------------------------------------------------------------
# Cache writes (prompt_tokens_details.cache_creation_tokens) at the cache-write price
# ---------------------------------------------------------------------------

CACHE_USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 100,
    "total_tokens": 1100,
    "prompt_tokens_details": {"cached_tokens": 200, "cache_creation_tokens": 500},
}


def test_the_table_has_the_cache_write_column() -> None:
    price = lookup_price("anthropic/claude-sonnet-4-5")
    assert price is not None
    assert price.cache_read_input_token_cost == pytest.approx(3e-07)
    assert price.cache_creation_input_token_cost == pytest.approx(3.75e-06)
    assert json.loads((Path(liter_llm.__file__).parent / "data" / "pricing.json").read_text("utf-8"))["fields"][3] == (
        "cache_creation_input_token_cost"
    )


def test_cache_writes_are_priced_at_the_cache_write_price() -> None:
    usage = Usage.from_dict(CACHE_USAGE)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cache_creation_tokens == 500
    expected = 300 * 3e-06 + 200 * 3e-07 + 500 * 3.75e-06 + 100 * 1.5e-05
    assert liter_llm.completion_cost(usage, "anthropic/claude-sonnet-4-5") == pytest.approx(expected)


def test_cache_writes_without_a_cache_write_price_are_priced_as_input() -> None:
    liter_llm.set_model_price(
        "test-nowrite/model", input_cost_per_token=1e-6, output_cost_per_token=2e-6, cache_read_input_token_cost=1e-7
    )
    expected = 800 * 1e-6 + 200 * 1e-7 + 100 * 2e-6
    assert liter_llm.completion_cost(Usage.from_dict(CACHE_USAGE), "test-nowrite/model") == pytest.approx(expected)


def test_set_model_price_takes_a_cache_write_price() -> None:
    liter_llm.set_model_price(
        "test-write/model",
        input_cost_per_token=1e-6,
        output_cost_per_token=2e-6,
        cache_read_input_token_cost=1e-7,
        cache_creation_input_token_cost=1.25e-6,
    )
    expected = 300 * 1e-6 + 200 * 1e-7 + 500 * 1.25e-6 + 100 * 2e-6
    assert liter_llm.completion_cost(Usage.from_dict(CACHE_USAGE), "test-write/model") == pytest.approx(expected)
    with pytest.raises(BadRequestError):
        liter_llm.set_model_price(
            "x", input_cost_per_token=0, output_cost_per_token=0, cache_creation_input_token_cost=-1
        )


def test_counts_beyond_the_prompt_are_clamped() -> None:
    usage = Usage.from_dict(
        {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 80, "cache_creation_tokens": 500}}
    )
    liter_llm.set_model_price(
        "test-clamp/model",
        input_cost_per_token=1.0,
        output_cost_per_token=1.0,
        cache_read_input_token_cost=0.1,
        cache_creation_input_token_cost=2.0,
    )
    assert liter_llm.completion_cost(usage, "test-clamp/model") == pytest.approx(80 * 0.1 + 20 * 2.0)


def test_cache_creation_tokens_from_an_openai_format_answer_are_priced_both_clients() -> None:
    """A gateway that reports ``prompt_tokens_details.cache_creation_tokens`` gets cache writes priced too."""
    body = openai_chat_body("hi", model="anthropic/claude-sonnet-4-5")
    body["usage"] = CACHE_USAGE
    expected = 300 * 3e-06 + 200 * 3e-07 + 500 * 3.75e-06 + 100 * 1.5e-05

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    def options() -> dict[str, Any]:  # a gateway: the model string is priced as given
        return {"api_key": "k", "base_url": BASE, "transport": httpx.MockTransport(handler), "cost_tracking": True}

    with liter_llm.create_client(**options()) as client:
        assert client.chat(model="anthropic/claude-sonnet-4-5", messages=MESSAGES).cost == pytest.approx(expected)

    async def main() -> Any:
        async with liter_llm.create_async_client(**options()) as client:
            return await client.chat(model="anthropic/claude-sonnet-4-5", messages=MESSAGES)

    assert asyncio.run(main()).cost == pytest.approx(expected)


class _PricedAs:
    """A hook naming the model a call is priced as (what a provider plugin does for an Azure deployment)."""

    @liter_llm.hookimpl
    def build_request(self, call: Any) -> None:
        call.state["liter_llm.pricing_model"] = "openai/gpt-4o"


def test_the_pricing_model_state_key_is_looked_up_first_both_clients() -> None:
    with sync_client(make_handler(USAGE), cost_tracking=True, hooks=[_PricedAs()]) as client:
        assert client.chat(model="my-deployment", messages=MESSAGES).cost == pytest.approx(EXPECTED)

    async def main() -> None:
        async with async_client(make_handler(USAGE), cost_tracking=True, hooks=[_PricedAs()]) as client:
            answer = await client.chat(model="my-deployment", messages=MESSAGES)
            assert answer.cost == pytest.approx(EXPECTED)

    asyncio.run(main())
