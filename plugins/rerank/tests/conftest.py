"""Shared test machinery: run a client method through the sync or the async client.

Every test goes through ``liter_llm.create_client`` / ``create_async_client``
with an ``httpx.MockTransport`` standing in for a rerank provider at 127.0.0.1.
"""

from __future__ import annotations

import httpx
import pytest

from liter_llm.testing import ClientRunner

BASE_URL = "http://127.0.0.1:9"
API_KEY = "co-test-0123456789abcdef"


def sse_response(body: str | bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, content=content, headers={"content-type": "text/event-stream", **(headers or {})})


class Runner(ClientRunner):
    """The shared ``liter_llm.testing.ClientRunner``, with this provider's client options as defaults."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode, api_key=API_KEY, model_hint=None, base_url=BASE_URL, retry_initial_delay=0.0)


@pytest.fixture(params=ClientRunner.MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(mode: str) -> Runner:
    return Runner(mode)
