"""Shared test machinery: run ``search`` through the real sync or async client.

Every call goes through ``liter_llm.create_client`` / ``create_async_client`` with an
``httpx.MockTransport`` standing in for the provider (nothing leaves the process), so the
provider's real default URL, the core's auth and retry code and our parsers all run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from liter_llm.testing import ClientRunner

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


class Runner(ClientRunner):
    """The shared ``liter_llm.testing.ClientRunner`` (each provider's key comes from its variable)."""


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


@pytest.fixture(params=ClientRunner.MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(mode: str) -> Runner:
    return Runner(mode)


def answer(name: str, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    """A handler that answers every request with a fixture."""
    data = fixture_json(name)
    return lambda request: httpx.Response(status, json=data)
