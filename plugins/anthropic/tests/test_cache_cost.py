"""Anthropic cache writes: carried in Usage and priced at the cache-write price, streamed or not (both clients)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from liter_llm import hookimpl
from liter_llm.types import PromptTokensDetails, Usage

from .conftest import Runner, sse_response

MODEL = "claude-sonnet-4-5"
#: the shipped table's price for anthropic/claude-sonnet-4-5 (USD per token)
INPUT, OUTPUT, CACHE_READ, CACHE_WRITE = 3e-06, 1.5e-05, 3e-07, 3.75e-06
USAGE = {
    "input_tokens": 21,
    "cache_creation_input_tokens": 188086,
    "cache_read_input_tokens": 2048,
    "output_tokens": 393,
}
EXPECTED = 21 * INPUT + 2048 * CACHE_READ + 188086 * CACHE_WRITE + 393 * OUTPUT


class Costs:
    """A user hook that records the cost the cost built-in put on each response (it runs first)."""

    def __init__(self) -> None:
        self.costs: list[float | None] = []

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.costs.append(response.cost)


def message(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_cache",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def event(name: str, **data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


def test_cache_writes_are_carried_and_priced_at_the_cache_write_price(run: Runner) -> None:
    costs = Costs()
    response = run(
        "chat",
        lambda _: httpx.Response(200, json=message(USAGE)),
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        client_options={"cost_tracking": True, "hooks": [costs]},
    )
    assert response.usage == Usage(
        prompt_tokens=21 + 2048 + 188086,
        completion_tokens=393,
        total_tokens=21 + 2048 + 188086 + 393,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=2048, cache_creation_tokens=188086),
    )
    assert response.cost == pytest.approx(EXPECTED)
    assert costs.costs == [pytest.approx(EXPECTED)]
    # more than the same tokens at the plain input price: cache writes cost 1.25x input
    assert response.cost > (21 + 188086) * INPUT + 2048 * CACHE_READ + 393 * OUTPUT
    assert response.to_dict()["usage"]["prompt_tokens_details"]["cache_creation_tokens"] == 188086


def test_cache_writes_in_a_stream_come_from_message_start(run: Runner) -> None:
    start_message = {**message({**USAGE, "output_tokens": 1}), "content": [], "stop_reason": None}
    body = (
        event("message_start", message=start_message)
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "ok"})
        + event("content_block_stop", index=0)
        + event("message_delta", delta={"stop_reason": "end_turn", "stop_sequence": None}, usage={"output_tokens": 393})
        + event("message_stop")
    )
    costs = Costs()
    chunks = run(
        "chat_stream",
        lambda _: sse_response(body),
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        client_options={"cost_tracking": True, "hooks": [costs]},
    )
    usage = chunks[-1].usage
    assert usage.prompt_tokens_details == PromptTokensDetails(cached_tokens=2048, cache_creation_tokens=188086)
    assert usage.completion_tokens == 393
    assert costs.costs == [pytest.approx(EXPECTED)]


def test_no_cache_counts_no_details(run: Runner) -> None:
    response = run(
        "chat",
        lambda _: httpx.Response(200, json=message({"input_tokens": 5, "output_tokens": 2})),
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        client_options={"cost_tracking": True},
    )
    assert response.usage.prompt_tokens_details is None
    assert response.cost == pytest.approx(5 * INPUT + 2 * OUTPUT)
