"""Helpers shared by the Redis tests."""

from __future__ import annotations

import asyncio
import functools
from typing import Any


def run_async(test: Any) -> Any:
    """Run an ``async def`` test with ``asyncio.run`` (the fixtures are the test's own)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 60))

    return wrapper
