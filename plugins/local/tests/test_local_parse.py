"""``client.parse`` end to end with the real SmolLM2 model: the schema becomes a JSON grammar, both clients."""

from __future__ import annotations

from typing import Literal

import attrs
import pytest

import liter_llm
from liter_llm.structured import Attempt

MODEL = "local/smollm2"
ASK = [{"role": "user", "content": "Name one colour and say whether it is warm or cold, as JSON."}]


@attrs.define
class Colour:
    """A colour."""

    name: str
    temperature: Literal["warm", "cold"]


def _check(result: liter_llm.structured.ParsedChatCompletion[Colour]) -> None:
    assert isinstance(result.parsed, Colour)
    assert result.parsed.name.strip()
    assert result.parsed.temperature in ("warm", "cold")
    assert result.attempts
    assert all(isinstance(a, Attempt) for a in result.attempts)
    assert result.attempts[-1].ok


def test_parse_with_the_grammar_sync() -> None:
    with liter_llm.create_client() as client:
        result = client.parse(model=MODEL, messages=ASK, output_type=Colour, max_tokens=60, temperature=0)
    _check(result)


@pytest.mark.anyio
async def test_parse_with_the_grammar_async() -> None:
    async with liter_llm.create_async_client() as client:
        result = await client.parse(model=MODEL, messages=ASK, output_type=Colour, max_tokens=60, temperature=0)
    _check(result)


@pytest.mark.anyio
async def test_parse_stream_with_the_grammar_async() -> None:
    async with liter_llm.create_async_client() as client:
        items = [
            item
            async for item in await client.parse_stream(
                model=MODEL, messages=ASK, output_type=Colour, max_tokens=60, temperature=0
            )
        ]
    assert items[-1].done
    assert isinstance(items[-1].parsed, Colour)
    assert all(isinstance(item.partial, dict) for item in items[:-1])
