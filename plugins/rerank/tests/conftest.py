"""Shared test machinery: run a client method through the sync or the async client.

Every test goes through ``liter_llm.create_client`` / ``create_async_client``
with an ``httpx.MockTransport`` standing in for a rerank provider at 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import liter_llm

BASE_URL = "http://127.0.0.1:9"
API_KEY = "co-test-0123456789abcdef"


def sse_response(body: str | bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, content=content, headers={"content-type": "text/event-stream", **(headers or {})})


class Runner:
    """Calls one client method through the sync or async client and records the HTTP requests."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[httpx.Request] = []

    def options(self, **extra: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "model_hint": None,
            "base_url": BASE_URL,
            "max_retries": 0,
            "retry_initial_delay": 0.0,
        }
        options.update(extra)
        return {k: v for k, v in options.items() if v is not None}

    def _transport(self, handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return handler(request)

        return httpx.MockTransport(record)

    def __call__(
        self,
        method: str,
        handler: Callable[[httpx.Request], httpx.Response],
        *args: Any,
        client_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``client.<method>(*args, **kwargs)``; ``chat_stream`` returns the list of chunks."""
        options = self.options(**(client_options or {}))
        options["transport"] = self._transport(handler)
        if self.mode == "sync":
            with liter_llm.create_client(**options) as client:
                if method == "chat_stream":
                    with client.chat_stream(*args, **kwargs) as stream:
                        return list(stream)
                return getattr(client, method)(*args, **kwargs)

        async def main() -> Any:
            async with liter_llm.create_async_client(**options) as client:
                if method == "chat_stream":
                    stream = await client.chat_stream(*args, **kwargs)
                    async with stream:
                        return [chunk async for chunk in stream]
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(main())

    @property
    def body(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(mode: str) -> Runner:
    return Runner(mode)
