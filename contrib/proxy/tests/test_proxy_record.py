"""Record and replay with the proxy: its own calls to its providers (``cassette`` in ``[plugins.proxy]``),
and a liter-llm client of the proxy (a gateway client under a cassette). Real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import MASTER, proxy_config

import liter_llm
from liter_llm.errors import BadRequestError
from liter_llm_proxy import create_app
from liter_llm_proxy.settings import settings_from_table
from liter_llm_record import cassette

USER = [{"role": "user", "content": "Say hi"}]
MODES = ["sync", "async"]
UPSTREAM_KEY = "upstream-secret-key"  # proxy_config's key for the upstream


def calls(mode: str, proxy_url: str) -> tuple[Any, list[str | None]]:
    """A chat and a stream through the proxy with liter-llm's client of ``mode`` (a gateway client)."""
    opts = {"api_key": MASTER, "base_url": f"{proxy_url}/v1", "max_retries": 0}
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            answer = client.chat(model="fake-model", messages=USER)
            with client.chat_stream(model="fake-model", messages=USER) as stream:
                pieces = [c.choices[0].delta.content if c.choices else None for c in stream]
        return answer, pieces

    async def main() -> tuple[Any, list[str | None]]:
        async with liter_llm.create_async_client(**opts) as client:
            answer = await client.chat(model="fake-model", messages=USER)
            async with await client.chat_stream(model="fake-model", messages=USER) as stream:
                pieces = [c.choices[0].delta.content if c.choices else None async for c in stream]
        return answer, pieces

    return asyncio.run(main())


def sdk_calls(mode: str, proxy_url: str) -> tuple[str, list[str | None]]:
    """A chat and a stream through the proxy with the OpenAI SDK's client of ``mode`` (an application in any
    language would do the same; the SDK is not a liter-llm client, so no cassette of this process sees it)."""
    if mode == "sync":
        with openai.OpenAI(base_url=f"{proxy_url}/v1", api_key=MASTER, max_retries=0) as client:
            answer = client.chat.completions.create(model="fake-model", messages=USER)  # type: ignore[arg-type]
            stream = client.chat.completions.create(model="fake-model", messages=USER, stream=True)  # type: ignore[arg-type]
            pieces = [c.choices[0].delta.content if c.choices else None for c in stream]
        return str(answer.choices[0].message.content), pieces

    async def main() -> tuple[str, list[str | None]]:
        async with openai.AsyncOpenAI(base_url=f"{proxy_url}/v1", api_key=MASTER, max_retries=0) as client:
            answer = await client.chat.completions.create(model="fake-model", messages=USER)  # type: ignore[arg-type]
            stream = await client.chat.completions.create(model="fake-model", messages=USER, stream=True)  # type: ignore[arg-type]
            pieces = [c.choices[0].delta.content if c.choices else None async for c in stream]
        return str(answer.choices[0].message.content), pieces

    return asyncio.run(main())


@pytest.fixture
def own_upstream() -> Any:
    """A fake upstream of this test's own, so that the test can stop it."""
    fake = FakeUpstream()
    server = ThreadServer(fake.app()).start()
    yield fake, server
    server.stop()


@pytest.mark.parametrize("mode", MODES)
def test_the_proxy_records_its_upstream_calls_and_replays_them_offline(
    mode: str, own_upstream: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITER_LLM_MASTER_KEY", MASTER)
    fake, upstream = own_upstream
    tape = tmp_path / "upstream.json"
    database = f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}"
    config = proxy_config(upstream.url, database, cassette=str(tape), cassette_mode="once")
    proxy = ThreadServer(create_app(config)).start()
    try:
        live, live_stream = sdk_calls(mode, proxy.url)
    finally:
        proxy.stop()  # the proxy writes the cassette as it stops
    assert live == "echo: Say hi"
    assert "".join(p for p in live_stream if p) == "Hello from the fake"
    recorded = json.loads(tape.read_text())["interactions"]
    assert [entry["request"]["url"] for entry in recorded] == [f"{upstream.url}/v1/chat/completions"] * 2
    assert recorded[1]["response"]["chunks"]  # the stream, as it arrived from the provider
    text = tape.read_text()
    assert UPSTREAM_KEY not in text
    assert MASTER not in text
    requests_before = len(fake.requests)

    upstream.stop()  # the provider is gone: the proxy replays what it recorded
    proxy = ThreadServer(create_app(config)).start()
    try:
        replayed, replayed_stream = sdk_calls(mode, proxy.url)
    finally:
        proxy.stop()
    assert replayed == live
    assert replayed_stream == live_stream
    assert len(fake.requests) == requests_before


@pytest.mark.parametrize("mode", MODES)
def test_a_proxy_in_replay_mode_answers_an_unrecorded_request_with_an_error(
    mode: str, own_upstream: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITER_LLM_MASTER_KEY", MASTER)
    _fake, upstream = own_upstream
    tape = tmp_path / "empty.json"
    tape.write_text(json.dumps({"version": 1, "interactions": []}))
    config = proxy_config(upstream.url, f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", cassette=str(tape))
    proxy = ThreadServer(create_app(config)).start()
    try:
        with pytest.raises(openai.APIStatusError) as info:
            sdk_calls(mode, proxy.url)
    finally:
        proxy.stop()
    assert "no recording of POST" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_client_of_the_proxy_records_and_replays_with_the_proxy_stopped(
    mode: str, own_upstream: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITER_LLM_MASTER_KEY", MASTER)
    _fake, upstream = own_upstream
    config = proxy_config(upstream.url, f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    proxy = ThreadServer(create_app(config)).start()
    tape = tmp_path / "client.json"
    try:
        # the proxy runs in this test's process, where a cassette serves every liter-llm client that makes
        # its first call to a provider while it is active: the proxy's own client makes its first call
        # before, so that only the test's client is recorded (a proxy of its own process needs no such care)
        sdk_calls(mode, proxy.url)
        with cassette(tape, mode="record"):
            live, live_stream = calls(mode, proxy.url)
    finally:
        proxy.stop()
    recorded = json.loads(tape.read_text())["interactions"]
    assert [entry["request"]["url"] for entry in recorded] == [f"{proxy.url}/v1/chat/completions"] * 2
    assert MASTER not in tape.read_text()
    with cassette(tape, mode="replay") as replay:
        replayed, replayed_stream = calls(mode, proxy.url)
        assert replay.unused() == []
    assert replayed.to_dict() == live.to_dict()
    assert replayed_stream == live_stream


def test_the_cassette_settings_are_checked() -> None:
    assert settings_from_table({"cassette": "c.json"}).cassette_mode == "once"
    with pytest.raises(BadRequestError, match=r"plugins\.proxy\.cassette_mode"):
        settings_from_table({"cassette": "c.json", "cassette_mode": "sometimes"})
    with pytest.raises(BadRequestError, match=r"plugins\.proxy\.cassette"):
        settings_from_table({"cassette": ""})
