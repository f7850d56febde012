"""The injectable clock: ManualClock itself, the client option, and the docs' example."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

import liter_llm
from liter_llm.clock import SYSTEM_CLOCK, Clock, ManualClock
from liter_llm.errors import BadRequestError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "builtins.md"


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=5.0, wall=1_000.0)
    assert isinstance(clock, Clock)
    assert isinstance(SYSTEM_CLOCK, Clock)
    assert clock.monotonic() == 5.0
    assert clock.time() == 1_000.0
    clock.sleep(1.5)
    clock.advance(0.5)
    assert clock.monotonic() == 7.0
    assert clock.time() == 1_002.0
    assert clock.sleeps == [1.5]
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)

    async def main() -> None:
        await clock.asleep(2.0)

    asyncio.run(main())
    assert clock.sleeps == [1.5, 2.0]
    assert clock.monotonic() == 9.0


def test_a_clock_that_is_not_one_is_refused_at_creation_both_clients() -> None:
    with pytest.raises(BadRequestError, match="clock"):
        liter_llm.create_client(api_key="sk-test", clock=object())
    with pytest.raises(BadRequestError, match="clock"):
        liter_llm.create_async_client(api_key="sk-test", clock=42)


def test_the_docs_example_runs() -> None:
    text = DOCS.read_text()
    section = text[text.index("## Testing code that waits") :]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    exec(compile(block.group(1), str(DOCS), "exec"), {})
