"""Shared fixtures: documented example payloads and a runner over both public clients."""

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
KEY = "azure-test-key-0123456789abcdef"
ENDPOINT = "http://127.0.0.1:9/res"

_AZURE_ENV = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_API_BASE",
    "AZURE_OPENAI_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_API_VERSION",
    "AZURE_OPENAI_API_STYLE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "LITER_LLM_CONFIG",
)


def load(name: str) -> Any:
    """A documented example (``_source`` says where it comes from, and is dropped)."""
    data = json.loads((FIXTURES / name).read_text())
    if isinstance(data, dict):
        data.pop("_source", None)
    return data


def sse(*payloads: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    return body + (b"data: [DONE]\n\n" if done else b"")


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


class Runner:
    """Runs one client method through the sync or the async public client over a MockTransport."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[httpx.Request] = []

    def options(self, handler: Callable[[httpx.Request], httpx.Response], client: dict[str, Any] | None) -> Any:
        requests = self.requests

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            requests.append(request)
            return handler(request)

        options: dict[str, Any] = {"max_retries": 0, "transport": httpx.MockTransport(record)}
        options.update(client if client is not None else {"api_key": KEY, "model_hint": "azure", "base_url": ENDPOINT})
        return options

    def __call__(
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        method: str,
        *args: Any,
        client: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        options = self.options(handler, client)
        if self.mode == "sync":
            with liter_llm.create_client(**options) as c:
                if method == "chat_stream":
                    stream = c.chat_stream(*args, **kwargs)
                    try:
                        return list(stream)
                    finally:
                        stream.close()
                return getattr(c, method)(*args, **kwargs)

        async def main() -> Any:
            async with liter_llm.create_async_client(**options) as c:
                if method == "chat_stream":
                    stream = await c.chat_stream(*args, **kwargs)
                    try:
                        return [chunk async for chunk in stream]
                    finally:
                        await stream.aclose()
                return await getattr(c, method)(*args, **kwargs)

        return asyncio.run(main())

    @property
    def request(self) -> httpx.Request:
        return self.requests[-1]

    @property
    def body(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AZURE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    """A :class:`Runner` for each client (the test runs twice)."""
    return Runner(request.param)


class Helpers:
    """The module helpers, handed to tests as a fixture (test modules cannot import conftest)."""

    KEY = KEY
    ENDPOINT = ENDPOINT
    load = staticmethod(load)
    sse = staticmethod(sse)
    sse_response = staticmethod(sse_response)


@pytest.fixture
def az() -> type[Helpers]:
    return Helpers
