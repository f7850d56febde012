"""The fake upstream and the real proxy (uvicorn on 127.0.0.1), for the proxy's tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fake_upstream, pg_support

from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import MASTER, RunningProxy, proxy_config

from liter_llm_proxy import create_app


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, ThreadServer]]:
    fake = FakeUpstream()
    server = ThreadServer(fake.app()).start()
    yield fake, server
    server.stop()


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
