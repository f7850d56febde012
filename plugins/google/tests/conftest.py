"""Shared fixtures: documented example payloads and a runner over both public clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from liter_llm.testing import ClientRunner

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


class Runner(ClientRunner):
    """The shared ``liter_llm.testing.ClientRunner``: ``run(handler, method, ..., client=...)``.

    ``client``, when given, replaces the default client options (the key, the hint) instead of
    adding to them.
    """

    def __call__(  # type: ignore[override]
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        method: str,
        *args: Any,
        client: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        self.defaults = {
            "max_retries": 0,
            **(client if client is not None else {"api_key": KEY, "model_hint": "gemini"}),
        }
        return super().__call__(method, handler, *args, **kwargs)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _GOOGLE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=ClientRunner.MODES)
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
