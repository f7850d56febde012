"""The rate_limit built-in: rpm and tpm over a sliding window, through both clients."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.builtins.rate_limit import estimate_tokens
from liter_llm.clock import ManualClock
from liter_llm.errors import RateLimitedError
from liter_llm.types import ChatCompletionRequest

BASE = S.BASE
MESSAGES = S.MESSAGES


class Server:
    """Answers every chat call; records when each arrived on ``clock`` (the client's clock)."""

    def __init__(self, total_tokens: int = 12, clock: ManualClock | None = None) -> None:
        self.times: list[float] = []
        self.total_tokens = total_tokens
        self.clock = clock or ManualClock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock.monotonic())
        usage = {"prompt_tokens": self.total_tokens - 2, "completion_tokens": 2, "total_tokens": self.total_tokens}
        return S.openai_response(json.loads(request.content)["model"], usage=usage)


CLIENTS = S.MockClients()
sync_client = CLIENTS.sync
async_client = CLIENTS.async_
twin = CLIENTS.twin


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rpm_waits_for_the_window(mode: str) -> None:
    clock = ManualClock()
    server = Server(clock=clock)
    options = {"rate_limit": {"rpm": 2, "window_seconds": 0.3}, "clock": clock}
    start = clock.monotonic()
    if mode == "sync":
        with sync_client(server, **options) as client:
            for _ in range(3):
                client.chat(model="gpt-4o", messages=MESSAGES)
    else:

        async def main() -> None:
            async with async_client(server, **options) as client:
                for _ in range(3):
                    await client.chat(model="gpt-4o", messages=MESSAGES)

        asyncio.run(main())
    assert server.times == [start, start, start + 0.3]  # the third waited for the first to leave the window
    assert clock.sleeps == [pytest.approx(0.3)]


def test_rpm_waits_without_blocking_the_event_loop() -> None:
    server = Server()

    async def main() -> int:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        # the real clock: this test is about the event loop running during a real wait
        async with async_client(server, rate_limit={"rpm": 1, "window_seconds": 0.3}) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            before = ticks
            await client.chat(model="gpt-4o", messages=MESSAGES)
            during = ticks - before
        done = True
        await task
        return during

    during = asyncio.run(main())
    assert len(server.times) == 2
    assert during >= 3  # the loop kept running while the second call waited (about 30 ticks unloaded)


def test_limits_are_per_model(mode: str) -> None:
    clock = ManualClock()
    server = Server(clock=clock)
    with twin(mode, server, rate_limit={"rpm": 1, "window_seconds": 30}, timeout_secs=5, clock=clock) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        client.chat(model="gpt-4o-mini", messages=MESSAGES)
    assert clock.sleeps == []
    assert len(server.times) == 2


def test_past_the_timeout_fails_with_retry_after_both_clients() -> None:
    server = Server()
    clock = ManualClock()
    with sync_client(server, rate_limit={"rpm": 1, "window_seconds": 30}, timeout_secs=0.2, clock=clock) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        with pytest.raises(RateLimitedError) as info:
            client.chat(model="gpt-4o", messages=MESSAGES)
    assert clock.sleeps == []  # refused at once, without waiting
    assert info.value.retry_after == pytest.approx(30)
    assert len(server.times) == 1

    async def main() -> None:
        clock = ManualClock()
        server = Server(clock=clock)
        options = {"rate_limit": {"rpm": 1, "window_seconds": 30}, "timeout_secs": 0.2, "clock": clock}
        async with async_client(server, **options) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            with pytest.raises(RateLimitedError) as info:
                await client.chat(model="gpt-4o", messages=MESSAGES)
            assert info.value.retry_after == pytest.approx(30)
        assert clock.sleeps == []
        assert len(server.times) == 1

    asyncio.run(main())


def test_tpm_counts_reported_usage_both_clients() -> None:
    # each answer reports 100 tokens; with tpm=100 the second call must wait for the window
    clock = ManualClock()
    server = Server(total_tokens=100, clock=clock)
    with sync_client(server, rate_limit={"tpm": 100, "window_seconds": 0.3}, clock=clock) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        client.chat(model="gpt-4o", messages=MESSAGES)
    assert server.times[1] - server.times[0] == pytest.approx(0.3)
    assert clock.sleeps == [pytest.approx(0.3)]

    async def main() -> None:
        clock = ManualClock()
        server = Server(total_tokens=100, clock=clock)
        async with async_client(server, rate_limit={"tpm": 100, "window_seconds": 0.3}, clock=clock) as client:
            await client.chat(model="gpt-4o", messages=MESSAGES)
            await client.chat(model="gpt-4o", messages=MESSAGES)
        assert server.times[1] - server.times[0] == pytest.approx(0.3)
        assert clock.sleeps == [pytest.approx(0.3)]

    asyncio.run(main())


def test_estimate_is_characters_over_four() -> None:
    request = ChatCompletionRequest.from_dict({"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 400}]})
    assert estimate_tokens(request) == 100


class HeldServer(Server):
    """Holds the first answer until the second call has been admitted, so the calls overlap.

    Reports only 2 tokens each: the second call can only have waited for the first one's
    *estimate* (100 tokens), never for its usage.
    """

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(total_tokens=2, clock=clock)
        self.lock = threading.Lock()
        self.second_arrived = threading.Event()
        self.async_second_arrived: asyncio.Event | None = None

    def _arrive(self, request: httpx.Request) -> tuple[bool, httpx.Response]:
        with self.lock:
            first = not self.times
            return first, self(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        if self.async_second_arrived is None:
            self.async_second_arrived = asyncio.Event()
        first, response = self._arrive(request)
        if first:
            await asyncio.wait_for(self.async_second_arrived.wait(), 30)
        else:
            self.async_second_arrived.set()
        return response

    def handle_sync(self, request: httpx.Request) -> httpx.Response:
        first, response = self._arrive(request)
        if first:
            assert self.second_arrived.wait(30)
        else:
            self.second_arrived.set()
        return response


LONG = [{"role": "user", "content": "x" * 400}]  # estimated at 100 tokens


def test_tpm_estimates_the_prompt_before_sending_both_clients() -> None:
    # two overlapping 100-token prompts do not fit in tpm=150 before any answer arrives
    clock = ManualClock()
    server = HeldServer(clock)
    options = {"rate_limit": {"tpm": 150, "window_seconds": 0.3}, "clock": clock}
    with sync_client(server.handle_sync, **options) as client:
        threads = [threading.Thread(target=client.chat, kwargs={"model": "gpt-4o", "messages": LONG}) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(server.times) == 2
    # the second call waited once, for the first one's estimate to leave the window
    assert clock.sleeps == [pytest.approx(0.3)]

    async def main() -> None:
        clock = ManualClock()
        server = HeldServer(clock)
        options = {"rate_limit": {"tpm": 150, "window_seconds": 0.3}, "clock": clock}
        async with async_client(server.handle_async, **options) as client:
            await asyncio.gather(*(client.chat(model="gpt-4o", messages=LONG) for _ in range(2)))
        assert len(server.times) == 2
        assert clock.sleeps == [pytest.approx(0.3)]

    asyncio.run(main())


def test_one_prompt_above_tpm_is_still_sent(mode: str) -> None:
    server = Server()
    with twin(mode, server, rate_limit={"tpm": 10}) as client:
        client.chat(model="gpt-4o", messages=[{"role": "user", "content": "y" * 1000}])
    assert len(server.times) == 1


def test_rate_limit_from_toml(mode: str, tmp_path: Any) -> None:
    path = tmp_path / "liter-llm.toml"
    path.write_text(
        f'api_key = "sk-test"\nbase_url = "{BASE}"\nmodel_hint = "openai"\n'
        "timeout_secs = 0.2\n\n[rate_limit]\nrpm = 1\nwindow_seconds = 30\n"
    )
    server = Server()
    # there is no async create_client_from_file: the async client takes the file's configuration
    if mode == "sync":
        made: Any = liter_llm.create_client_from_file(str(path), transport=httpx.MockTransport(server))
    else:
        from liter_llm.config import load_config_file

        made = liter_llm.AsyncDefaultClient(load_config_file(path), transport=httpx.MockTransport(server))
    with S.Api.around(mode, made) as client:
        client.chat(model="gpt-4o", messages=MESSAGES)
        with pytest.raises(RateLimitedError):
            client.chat(model="gpt-4o", messages=MESSAGES)
