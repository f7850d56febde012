"""The fake upstream and the real proxy (uvicorn on 127.0.0.1), for the proxy's tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fake_upstream, pg_support

from fake_upstream import FakeUpstream, ThreadServer

from liter_llm.config import parse_config
from liter_llm_proxy import create_app

MASTER = "sk-master-test-0123456789"
PRICES = {
    "fake-model": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002},
    "other-model": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002},
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, ThreadServer]]:
    fake = FakeUpstream()
    server = ThreadServer(fake.app()).start()
    yield fake, server
    server.stop()


def proxy_config(upstream_url: str, database_url: str, **proxy: Any) -> Any:
    """The client configuration of a proxy in front of the fake upstream (a gateway: every call goes there)."""
    return parse_config(
        {
            "base_url": f"{upstream_url}/v1",
            "api_key": "upstream-secret-key",
            "max_retries": 0,
            "plugins": {"proxy": {"database_url": database_url, "model_prices": PRICES, **proxy}},
        }
    )


class RunningProxy:
    def __init__(self, server: ThreadServer) -> None:
        self.server = server
        self.url = server.url
        self.admin = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {MASTER}"}, timeout=30)

    def create_key(self, **fields: Any) -> dict[str, Any]:
        answer = self.admin.post("/admin/keys", json=fields)
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def stop(self) -> None:
        self.admin.close()
        self.server.stop()


@pytest.fixture
def start_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, upstream: tuple[FakeUpstream, ThreadServer]
) -> Iterator[Callable[..., RunningProxy]]:
    monkeypatch.setenv("LITER_LLM_MASTER_KEY", MASTER)
    started: list[RunningProxy] = []

    def start(database_url: str | None = None, config: Any = None, clock: Any = None, **proxy: Any) -> RunningProxy:
        url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}"
        cfg = config or proxy_config(upstream[1].url, url, **proxy)
        options = {} if clock is None else {"clock": clock}
        running = RunningProxy(ThreadServer(create_app(cfg, **options)).start())
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def proxy(start_proxy: Callable[..., RunningProxy]) -> RunningProxy:
    return start_proxy()
