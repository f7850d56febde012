"""liter-llm-record against the real llama.cpp server: record with it running, replay with it killed, both clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import liter_llm

record = pytest.importorskip("liter_llm_record")

USER = [{"role": "user", "content": "Say hello in one word."}]


def calls(base_url: str) -> list[Any]:
    """A chat and a stream through each client; what each returned (a stream: its text pieces)."""
    options = {"api_key": "sk-local", "base_url": base_url, "model_hint": "openai", "max_retries": 0}
    request = {"model": "smollm2", "messages": USER, "max_tokens": 8, "temperature": 0.0, "seed": 1}
    out: list[Any] = []
    with liter_llm.create_client(**options) as client:
        out.append(client.chat(**request).to_dict())
        with client.chat_stream(**request) as stream:
            out.append([c.choices[0].delta.content for c in stream if c.choices])

    async def main() -> None:
        async with liter_llm.create_async_client(**options) as client:
            out.append((await client.chat(**request)).to_dict())
            async with await client.chat_stream(**request) as stream:
                out.append([c.choices[0].delta.content async for c in stream if c.choices])

    asyncio.run(main())
    return out


def test_record_against_llamacpp_then_replay_with_it_stopped(
    start_llama_server: Callable[[], Any], tmp_path: Path
) -> None:
    server = start_llama_server()
    path = tmp_path / "llamacpp.json"
    with record.cassette(path) as tape:
        assert tape.mode == "record"
        live = calls(server.base_url)
    assert live[0]["choices"][0]["message"]["content"]
    assert len(live[1]) > 1  # a real stream: several chunks
    assert "sk-local" not in path.read_text()
    server.kill()
    with record.cassette(path) as tape:
        assert tape.mode == "replay"
        replayed = calls(server.base_url)
        assert tape.unused() == []
    assert replayed == live
