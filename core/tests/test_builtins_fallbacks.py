"""Fallbacks and cooldowns, through both clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    LiterLlmTimeoutError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
)

BASE = S.BASE
BACKUP = {"name": "backup", "base_url": "http://127.0.0.1:9/backup", "model_prefixes": ["backup-"]}
MESSAGES = S.MESSAGES


def ok(model: str, stream: bool = False) -> httpx.Response:
    usage = None if stream else {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    return S.openai_response(model, f"from {model}", usage=usage, stream=stream)


def failure(kind: str, request: httpx.Request) -> httpx.Response:
    if kind == "429":
        return httpx.Response(429, json={"error": {"message": "slow down", "type": "rate_limit_error"}})
    if kind == "500":
        return httpx.Response(500, json={"error": {"message": "internal", "type": "server_error"}})
    if kind == "503":
        return httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})
    if kind == "400":
        return httpx.Response(400, json={"error": {"message": "bad field", "type": "invalid_request_error"}})
    if kind == "401":
        return httpx.Response(401, json={"error": {"message": "bad key", "type": "invalid_request_error"}})
    if kind == "timeout":
        raise httpx.ReadTimeout("timed out", request=request)
    if kind == "connect":
        raise httpx.ConnectError("connection refused", request=request)
    raise AssertionError(kind)


class Server:
    """Fails every call to the models in ``failing`` with ``kind``; answers the others."""

    def __init__(self, failing: dict[str, str]) -> None:
        self.failing = failing
        self.models: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        model = body["model"]
        self.models.append(model)
        if model in self.failing:
            return failure(self.failing[model], request)
        return ok(model, stream=bool(body.get("stream")))


CLIENTS = S.MockClients(max_retries=0, retry_initial_delay=0.001)
sync_client = CLIENTS.sync
async_client = CLIENTS.async_
twin = CLIENTS.twin


@pytest.mark.parametrize("kind", ["429", "500", "503", "timeout", "connect"])
def test_retryable_failures_fall_back_both_clients(kind: str) -> None:
    server = Server({"gpt-4o": kind})
    with sync_client(server, fallbacks=["openai/gpt-4o-mini"]) as client:
        answer = client.chat(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content == "from gpt-4o-mini"
    assert server.models == ["gpt-4o", "gpt-4o-mini"]

    async def main() -> None:
        server = Server({"gpt-4o": kind})
        async with async_client(server, fallbacks=["openai/gpt-4o-mini"]) as client:
            answer = await client.chat(model="gpt-4o", messages=MESSAGES)
        assert answer.choices[0].message.content == "from gpt-4o-mini"
        assert server.models == ["gpt-4o", "gpt-4o-mini"]

    asyncio.run(main())


@pytest.mark.parametrize(("kind", "error"), [("400", BadRequestError), ("401", AuthenticationError)])
def test_bad_requests_and_auth_errors_do_not_fall_back_both_clients(kind: str, error: type[Exception]) -> None:
    server = Server({"gpt-4o": kind})
    with sync_client(server, fallbacks=["openai/gpt-4o-mini"]) as client, pytest.raises(error):
        client.chat(model="gpt-4o", messages=MESSAGES)
    assert server.models == ["gpt-4o"]

    async def main() -> None:
        server = Server({"gpt-4o": kind})
        async with async_client(server, fallbacks=["openai/gpt-4o-mini"]) as client:
            with pytest.raises(error):
                await client.chat(model="gpt-4o", messages=MESSAGES)
        assert server.models == ["gpt-4o"]

    asyncio.run(main())


def test_all_fail_last_error_lists_attempts_and_each_model_has_its_retries(mode: str) -> None:
    server = Server({"gpt-4o": "429", "gpt-4o-mini": "500", "gpt-4.1": "503"})
    with twin(mode, server, fallbacks=["openai/gpt-4o-mini", "openai/gpt-4.1"], max_retries=1) as client:
        with pytest.raises(ServiceUnavailableError) as info:
            client.chat(model="gpt-4o", messages=MESSAGES)
    # 1 + len(fallbacks) models, each tried 1 + max_retries times, and no more
    assert server.models == ["gpt-4o", "gpt-4o", "gpt-4o-mini", "gpt-4o-mini", "gpt-4.1", "gpt-4.1"]
    error = info.value
    assert [(model, type(err)) for model, err in error.attempts] == [
        ("gpt-4o", RateLimitedError),
        ("openai/gpt-4o-mini", ServerError),
        ("openai/gpt-4.1", ServiceUnavailableError),
    ]
    assert error.attempts[-1][1] is error
    for model in ("gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4.1"):
        assert model in str(error)


def test_all_fail_async() -> None:
    async def main() -> None:
        server = Server({"gpt-4o": "timeout", "gpt-4o-mini": "connect"})
        async with async_client(server, fallbacks=["openai/gpt-4o-mini"]) as client:
            with pytest.raises(ServiceUnavailableError) as info:
                await client.chat(model="gpt-4o", messages=MESSAGES)
        assert [type(e) for _, e in info.value.attempts] == [LiterLlmTimeoutError, ServiceUnavailableError]
        assert "tried 2 models" in str(info.value)

    asyncio.run(main())


def test_a_bad_request_on_a_fallback_stops_there(mode: str) -> None:
    server = Server({"gpt-4o": "500", "gpt-4o-mini": "400"})
    with twin(mode, server, fallbacks=["openai/gpt-4o-mini", "openai/gpt-4.1"]) as client:
        with pytest.raises(BadRequestError) as info:
            client.chat(model="gpt-4o", messages=MESSAGES)
    assert server.models == ["gpt-4o", "gpt-4o-mini"]
    assert len(info.value.attempts) == 2


def test_embed_falls_back_both_clients() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        if model == "text-embedding-3-large":
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return httpx.Response(
            200,
            json={"object": "list", "model": model, "data": [{"object": "embedding", "embedding": [1.0], "index": 0}]},
        )

    with sync_client(handler, fallbacks=["openai/text-embedding-3-small"]) as client:
        assert client.embed(model="text-embedding-3-large", input="x").model == "text-embedding-3-small"

    async def main() -> None:
        async with async_client(handler, fallbacks=["openai/text-embedding-3-small"]) as client:
            answer = await client.embed(model="text-embedding-3-large", input="x")
            assert answer.model == "text-embedding-3-small"

    asyncio.run(main())


def test_stream_opening_falls_back_both_clients() -> None:
    server = Server({"gpt-4o": "503"})
    with sync_client(server, fallbacks=["openai/gpt-4o-mini"]) as client:
        with client.chat_stream(model="gpt-4o", messages=MESSAGES) as stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "from gpt-4o-mini"

    async def main() -> None:
        server = Server({"gpt-4o": "429"})
        async with async_client(server, fallbacks=["openai/gpt-4o-mini"]) as client:
            stream = await client.chat_stream(model="gpt-4o", messages=MESSAGES)
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "from gpt-4o-mini"

    asyncio.run(main())


def test_fallbacks_from_json_config(mode: str) -> None:
    server = Server({"gpt-4o": "500"})
    config = {
        "api_key": "sk-test",
        "base_url": BASE,
        "model_hint": "openai",
        "max_retries": 0,
        "fallbacks": ["openai/gpt-4o-mini"],
    }
    create = liter_llm.create_client_from_json if mode == "sync" else liter_llm.create_async_client_from_json
    with S.Api.around(mode, create(json.dumps(config), transport=httpx.MockTransport(server))) as client:
        assert client.chat(model="gpt-4o", messages=MESSAGES).model == "gpt-4o-mini"


def test_no_fallbacks_leaves_errors_alone(mode: str) -> None:
    server = Server({"gpt-4o": "500"})
    with twin(mode, server) as client, pytest.raises(ServerError) as info:
        client.chat(model="gpt-4o", messages=MESSAGES)
    assert not hasattr(info.value, "attempts")
    assert server.models == ["gpt-4o"]


# -- cooldown ------------------------------------------------------------------


class TwoProviders:
    """openai (under /v1) fails with 503 while ``down``; the backup provider (under /backup) answers."""

    def __init__(self) -> None:
        self.down = True
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        model = json.loads(request.content)["model"]
        if request.url.path.startswith("/v1") and self.down:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return ok(model)


@pytest.fixture
def backup_provider() -> Any:
    # registered at run time (the ``providers`` config field would do the same per client)
    liter_llm.register_custom_provider(BACKUP)
    yield
    liter_llm.unregister_custom_provider("backup")


def primary_calls(server: TwoProviders) -> int:
    return sum(1 for p in server.paths if p.startswith("/v1"))


@pytest.mark.usefixtures("backup_provider")
def test_cooldown_skips_a_failing_provider(mode: str) -> None:
    from liter_llm.clock import ManualClock

    clock = ManualClock()
    server = TwoProviders()
    options = {"fallbacks": ["backup/backup-1"], "cooldown_secs": 0.3, "clock": clock}
    with twin(mode, server, **options) as client:
        for _ in range(3):
            assert client.chat(model="gpt-4o", messages=MESSAGES).model == "backup-1"
        assert primary_calls(server) == 3
        # three consecutive failures: openai is skipped without I/O
        answer = client.chat(model="gpt-4o", messages=MESSAGES)
        assert answer.model == "backup-1"
        assert primary_calls(server) == 3
        clock.advance(0.299)
        assert client.chat(model="gpt-4o", messages=MESSAGES).model == "backup-1"  # still cooling down
        assert primary_calls(server) == 3
        clock.advance(0.001)
        server.down = False
        assert client.chat(model="gpt-4o", messages=MESSAGES).model == "gpt-4o"
        assert primary_calls(server) == 4


@pytest.mark.usefixtures("backup_provider")
def test_cooldown_skips_a_failing_provider_async() -> None:
    from liter_llm.clock import ManualClock

    async def main() -> None:
        clock = ManualClock()
        server = TwoProviders()
        options = {"fallbacks": ["backup/backup-1"], "cooldown_secs": 30, "clock": clock}
        async with async_client(server, **options) as client:
            for _ in range(5):
                await client.chat(model="gpt-4o", messages=MESSAGES)
            assert primary_calls(server) == 3
            clock.advance(30)
            server.down = False
            assert (await client.chat(model="gpt-4o", messages=MESSAGES)).model == "gpt-4o"
            assert primary_calls(server) == 4

    asyncio.run(main())


def test_cooldown_error_without_fallbacks_is_immediate_and_names_the_provider(mode: str) -> None:
    server = TwoProviders()
    with twin(mode, server, cooldown_secs=30) as client:
        for _ in range(3):
            with pytest.raises(ServiceUnavailableError):
                client.chat(model="gpt-4o", messages=MESSAGES)
        with pytest.raises(ServiceUnavailableError) as info:
            client.chat(model="gpt-4o", messages=MESSAGES)
    assert primary_calls(server) == 3
    assert info.value.code == "cooldown"
    assert "openai" in str(info.value)
    assert info.value.retry_after is not None


def test_a_success_resets_the_count(mode: str) -> None:
    flips = iter([True, True, False, True, True, False])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(flips):
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return ok("gpt-4o")

    with twin(mode, handler, cooldown_secs=30) as client:
        for expected in (True, True, False, True, True, False):
            if expected:
                with pytest.raises(ServiceUnavailableError) as info:
                    client.chat(model="gpt-4o", messages=MESSAGES)
                assert info.value.code != "cooldown"
            else:
                client.chat(model="gpt-4o", messages=MESSAGES)
