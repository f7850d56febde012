"""Run one piece of code through the official OpenAI SDK, sync or async, against a running proxy."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import openai


def run_sdk(kind: str, url: str, key: str, use: Callable[[Any], Any], **options: Any) -> Any:
    """``use(client)`` with ``openai.OpenAI`` (``kind == "sync"``) or ``openai.AsyncOpenAI`` (awaited).

    A stream that ``use`` returns is read to the end and returned as a list of chunks.
    """
    options = {"max_retries": 0, "timeout": 30, **options}
    if kind == "sync":
        with openai.OpenAI(base_url=f"{url}/v1", api_key=key, **options) as client:
            result = use(client)
            if isinstance(result, openai.Stream):
                return list(result)
            return result

    async def go() -> Any:
        async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=key, **options) as client:
            result = use(client)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, openai.AsyncStream):
                return [chunk async for chunk in result]
            return result

    return asyncio.run(asyncio.wait_for(go(), 60))
