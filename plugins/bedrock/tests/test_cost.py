"""The cost table prices Bedrock models (kept under models.dev's ``amazon-bedrock`` name)."""

from __future__ import annotations

import httpx
import pytest

import liter_llm
from liter_llm.types import Usage

from .conftest import Runner

MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # $3 / $15 per million tokens, $0.30 cache read


def test_completion_cost_of_a_bedrock_model() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=100, total_tokens=1100)
    assert liter_llm.completion_cost(usage, f"bedrock/{MODEL}") == pytest.approx(1000 * 3e-06 + 100 * 1.5e-05)


def test_cost_tracking_prices_a_converse_answer_with_cache_reads(run: Runner) -> None:
    data = {
        "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 100, "outputTokens": 10, "totalTokens": 1110, "cacheReadInputTokens": 1000},
    }
    response = run(
        "chat",
        lambda r: httpx.Response(200, json=data),
        model=f"bedrock/{MODEL}",
        messages=[{"role": "user", "content": "Hi"}],
        client_options={"cost_tracking": True},
    )
    assert response.cost == pytest.approx(100 * 3e-06 + 1000 * 3e-07 + 10 * 1.5e-05)
