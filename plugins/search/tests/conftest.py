"""Shared test machinery: run ``search`` through the real sync or async client.

Every call goes through ``liter_llm.create_client`` / ``create_async_client`` with an
``httpx.MockTransport`` standing in for the provider (nothing leaves the process), so the
provider's real default URL, the core's auth and retry code and our parsers all run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import liter_llm

FIXTURES = Path(__file__).parent / "fixtures"
KEYS = {
    "TAVILY_API_KEY": "tvly-test-key-0123456789",
    "BRAVE_API_KEY": "brave-test-key-0123456789",
    "EXA_API_KEY": "exa-test-key-0123456789",
    "SERPER_API_KEY": "serper-test-key-0123456789",
    "PERPLEXITYAI_API_KEY": "pplx-test-key-0123456789",
    "FIRECRAWL_API_KEY": "fc-test-key-0123456789",
    "GOOGLE_PSE_API_KEY": "AIza-google-test-key-0123456789",
    "LINKUP_API_KEY": "linkup-test-key-0123456789",
    "PARALLEL_API_KEY": "parallel-test-key-0123456789",
}
GOOGLE_CX = "017576662512468239146:omuauf_lfve"
SEARXNG_URL = "http://127.0.0.1:8888"


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Runner:
    """Calls a client method through the sync or async client and records the HTTP requests."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[httpx.Request] = []

    def transport(self, handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
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
        """Run ``client.<method>(*args, **kwargs)`` and return its result."""
        options: dict[str, Any] = {"max_retries": 0, **(client_options or {})}
        options["transport"] = self.transport(handler)
        if self.mode == "sync":
            with liter_llm.create_client(**options) as client:
                return getattr(client, method)(*args, **kwargs)

        async def main() -> Any:
            async with liter_llm.create_async_client(**options) as client:
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(main())

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    @property
    def body(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every provider's key in its own variable; SearXNG at a loopback address."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SEARXNG_BASE_URL", SEARXNG_URL)
    monkeypatch.setenv("GOOGLE_PSE_CX", GOOGLE_CX)
    for name in (
        "TAVILY_BASE_URL", "BRAVE_BASE_URL", "EXA_BASE_URL", "SERPER_BASE_URL", "PERPLEXITY_BASE_URL",
        "FIRECRAWL_BASE_URL", "GOOGLE_PSE_BASE_URL", "LINKUP_BASE_URL", "PARALLEL_AI_BASE_URL", "DUCKDUCKGO_BASE_URL",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return dict(KEYS)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(mode: str) -> Runner:
    return Runner(mode)


def answer(name: str, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    """A handler that answers every request with a fixture."""
    data = fixture_json(name)
    return lambda request: httpx.Response(status, json=data)
