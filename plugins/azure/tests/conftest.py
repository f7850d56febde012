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
            **(client if client is not None else {"api_key": KEY, "model_hint": "azure", "base_url": ENDPOINT}),
        }
        return super().__call__(method, handler, *args, **kwargs)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AZURE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=ClientRunner.MODES)
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
