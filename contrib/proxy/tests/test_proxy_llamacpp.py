"""The proxy in front of the real local llama.cpp server (llama-cpp-python's), with the official SDK.

The server is started the way tests/integration starts it (its helpers are loaded from that folder).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxy_support import MASTER, RunningProxy
from sdk_support import run_sdk

from liter_llm.config import parse_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

_SUPPORT = Path(__file__).resolve().parents[3] / "tests" / "integration" / "conftest.py"
_spec = importlib.util.spec_from_file_location("llama_support", _SUPPORT)
assert _spec is not None
assert _spec.loader is not None
llama_support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(llama_support)

if not llama_support.HAVE_LLAMA_CPP:
    pytest.skip("llama_cpp is not importable (pip install 'liter-llm[local]')", allow_module_level=True)


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = llama_support._start(llama_support._model_file(), tmp_path_factory.mktemp("llama") / "server.log")
    yield server
    server.kill()


@pytest.fixture
def llama_proxy(start_proxy: Callable[..., RunningProxy], llama: Any, tmp_path: Path) -> RunningProxy:
    config = parse_config(
        {
            "base_url": llama.base_url,
            "api_key": "no-key-needed",
            "timeout_secs": 300,
            "plugins": {"proxy": {"database_url": f"sqlite+aiosqlite:///{tmp_path}/llama.db"}},
        }
    )
    return start_proxy(config=config)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_chat_and_stream_through_the_proxy_to_llama_cpp(kind: str, llama_proxy: RunningProxy) -> None:
    key = llama_proxy.create_key()["key"]
    prompt = [{"role": "user", "content": "Name three colours."}]
    answer = run_sdk(
        kind,
        llama_proxy.url,
        key,
        lambda c: c.chat.completions.create(model="smollm2", messages=prompt, max_tokens=8, temperature=0),
        timeout=300,
    )
    assert answer.choices[0].message.content.strip()
    assert answer.usage.completion_tokens > 0
    chunks = run_sdk(
        kind,
        llama_proxy.url,
        key,
        lambda c: c.chat.completions.create(
            model="smollm2",
            messages=prompt,
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        ),
        timeout=300,
    )
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices).strip()
    listed = run_sdk(kind, llama_proxy.url, MASTER, lambda c: c.models.list(), timeout=60)
    assert len(listed.data if hasattr(listed, "data") else list(listed)) >= 1
    rows = llama_proxy.admin.get("/admin/spend/logs", params={"limit": 3}).json()["data"]
    logs = [row for row in rows if row["endpoint"] == "chat"]
    assert [row["status"] for row in logs] == [200, 200]
    # the plain answer's usage is logged (llama-cpp-python's server sends no usage in its streams)
    assert logs[-1]["completion_tokens"] > 0
    assert logs[-1]["total_tokens"] > 0
