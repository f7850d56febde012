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
KEY = "AIzaSy-test-key-never-in-urls-0123456789"

_GOOGLE_ENV = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "VERTEX_AI_BASE_URL",
    "VERTEXAI_PROJECT",
    "VERTEXAI_LOCATION",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "VERTEXAI_CREDENTIALS",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


def load(name: str) -> Any:
    """A recorded documented example (``_source`` says where it comes from)."""
    path = FIXTURES / name
    if name.endswith(".json"):
        data = json.loads(path.read_text())
        data.pop("_source", None)
        return data
    return path.read_bytes()


def sse(*payloads: Any) -> bytes:
    """An SSE body of JSON data events, the way Gemini frames ``alt=sse``."""
    return b"".join(b"data: " + json.dumps(p).encode() + b"\r\n\r\n" for p in payloads)


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


class Runner:
    """Runs one client method through the sync or the async public client over a MockTransport."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[httpx.Request] = []

    def __call__(
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        method: str,
        *args: Any,
        client: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        requests = self.requests

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            requests.append(request)
            return handler(request)

        options: dict[str, Any] = {"max_retries": 0, "transport": httpx.MockTransport(record)}
        # the client's key goes only to the provider it was given for: gemini here
        options.update(client if client is not None else {"api_key": KEY, "model_hint": "gemini"})
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
    def body(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _GOOGLE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    """A :class:`Runner` for each client (the test runs twice)."""
    return Runner(request.param)


class Helpers:
    """The module helpers, handed to tests as a fixture (test modules cannot import conftest)."""

    KEY = KEY
    load = staticmethod(load)
    sse = staticmethod(sse)
    sse_response = staticmethod(sse_response)


@pytest.fixture
def g() -> type[Helpers]:
    return Helpers
