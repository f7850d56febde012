"""The transport against a real HTTP server on 127.0.0.1: retries, backoff, timeouts, decoding, keep-alive, logs.

Every test runs through the sync and the async client.  The server
(``test_pipeline_support.LocalServer``) is scripted per test: it writes raw
bytes, so it can drip, drop the connection, send broken gzip and so on.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import logging
import time
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm.clock import ManualClock
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    LiterLlmError,
    LiterLlmTimeoutError,
    NotFoundError,
    RateLimitedError,
    SerializationError,
    ServerError,
    ServiceUnavailableError,
    StreamingError,
)

USER = S.USER
chat_json = S.chat_json
chunk_event = S.chunk_event


def client(make: Any, server: Any, **options: Any) -> Any:
    settings: dict[str, Any] = {"base_url": server.url + "/v1", "retry_initial_delay": 0.01, "max_retries": 2}
    settings.update(options)
    return make(**settings)


def error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "x"}}).encode()


def statuses(*codes: int, headers: dict[str, str] | None = None) -> Any:
    """A script answering each request with the next status (200 = a chat answer); the last one repeats."""
    queue = list(codes)

    def script(req: Any, out: Any) -> None:
        code = queue.pop(0) if len(queue) > 1 else queue[0]
        if code == 200:
            out.reply(200, chat_json("fine"))
        else:
            out.reply(code, error_body(f"status {code}"), headers)

    return script


def attempt_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "liter_llm" and "llm_attempt" in r.getMessage()]


# ---------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (408, LiterLlmTimeoutError),
        (409, BadRequestError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServiceUnavailableError),
        (503, ServiceUnavailableError),
        (504, ServiceUnavailableError),
    ],
)
def test_retryable_statuses_are_retried_then_succeed(make: Any, server: Any, status: int, kind: type) -> None:
    server.script = statuses(status, status, 200)
    answer = client(make, server, max_retries=2).chat(model="m", messages=USER)
    assert answer.choices[0].message.content == "fine"
    assert len(server.requests) == 3
    server.requests.clear()
    server.script = statuses(status)
    with pytest.raises(kind) as info:
        client(make, server, max_retries=2).chat(model="m", messages=USER)
    assert info.value.status_code == status
    assert len(server.requests) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_max_retries_is_respected_exactly(make: Any, server: Any, max_retries: int) -> None:
    server.script = statuses(503)
    with pytest.raises(ServiceUnavailableError):
        client(make, server, max_retries=max_retries).chat(model="m", messages=USER)
    assert len(server.requests) == max_retries + 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequestError), (401, AuthenticationError), (403, AuthenticationError), (404, NotFoundError),
     (413, BadRequestError), (422, BadRequestError)],
)  # fmt: skip
def test_other_client_errors_are_never_retried(make: Any, server: Any, status: int, kind: type) -> None:
    server.script = statuses(status)
    with pytest.raises(kind):
        client(make, server, max_retries=3).chat(model="m", messages=USER)
    assert len(server.requests) == 1


def test_connect_errors_are_retried(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    port = S.closed_port()
    api = make(base_url=f"http://127.0.0.1:{port}/v1", retry_initial_delay=0.01, max_retries=2)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"):
        with pytest.raises(ServiceUnavailableError, match="could not connect"):
            api.chat(model="m", messages=USER)
    logged = attempt_logs(caplog)
    assert len(logged) == 3
    assert [f"attempt={i}" in line for i, line in enumerate(logged)] == [True] * 3


def test_a_connection_closed_before_the_answer_is_retried(make: Any, server: Any) -> None:
    calls = []

    def script(req: Any, out: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            out.drop()
        else:
            out.reply(200, chat_json("second time"))

    server.script = script
    answer = client(make, server).chat(model="m", messages=USER)
    assert answer.choices[0].message.content == "second time"
    assert len(server.requests) == 2


def test_backoff_is_exponential(make: Any, server: Any) -> None:
    clock = ManualClock()
    server.script = statuses(503)
    with pytest.raises(ServiceUnavailableError):
        client(make, server, max_retries=3, retry_initial_delay=0.08, clock=clock).chat(model="m", messages=USER)
    assert len(server.requests) == 4
    assert len(clock.sleeps) == 3
    for index, wait in enumerate(clock.sleeps):
        base = 0.08 * 2**index
        assert base * 0.75 <= wait <= base, (index, clock.sleeps)  # up to a quarter of jitter, never more


def test_backoff_is_capped_by_max_retry_delay(make: Any, server: Any) -> None:
    clock = ManualClock()
    server.script = statuses(503)
    with pytest.raises(ServiceUnavailableError):
        client(make, server, max_retries=3, retry_initial_delay=30.0, max_retry_delay_secs=0.05, clock=clock).chat(
            model="m", messages=USER
        )
    assert len(server.requests) == 4
    assert len(clock.sleeps) == 3
    assert all(0.05 * 0.75 <= wait <= 0.05 for wait in clock.sleeps), clock.sleeps


@pytest.mark.parametrize(
    ("header", "value", "wait"),
    [
        ("retry-after-ms", "300", 0.3),
        ("retry-after", "1", 1.0),
        ("retry-after", "http-date", 2.0),
    ],
)
def test_retry_after_is_honoured(make: Any, server: Any, header: str, value: str, wait: float) -> None:
    clock = ManualClock()  # its wall time is a whole second, so the HTTP date is exact
    if value == "http-date":
        value = email.utils.formatdate(clock.time() + 2, usegmt=True)
    server.script = statuses(429, 200, headers={header: value})
    answer = client(make, server, max_retries=1, clock=clock).chat(model="m", messages=USER)
    assert answer.choices[0].message.content == "fine"
    assert len(server.requests) == 2
    assert clock.sleeps == [pytest.approx(wait)]


def test_a_retry_after_beyond_the_cap_is_not_waited_for(make: Any, server: Any) -> None:
    clock = ManualClock()
    server.script = statuses(429, 200, headers={"retry-after": "120"})
    with pytest.raises(RateLimitedError) as info:
        client(make, server, max_retries=3, max_retry_delay_secs=5, clock=clock).chat(model="m", messages=USER)
    assert clock.sleeps == []
    assert info.value.retry_after == 120
    assert len(server.requests) == 1


def test_a_retry_that_would_outlive_the_timeout_is_not_started(make: Any, server: Any) -> None:
    clock = ManualClock()
    server.script = statuses(503, 200, headers={"retry-after": "3"})
    with pytest.raises(ServiceUnavailableError):
        client(make, server, timeout_secs=1, max_retries=3, clock=clock).chat(model="m", messages=USER)
    assert clock.sleeps == []
    assert len(server.requests) == 1


# ---------------------------------------------------------------------------
# Bodies that cannot be read
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"this is not json", {}),
        (b'{"id": "x", "choices": "not a list"}', {}),
        (b'{"id": "caf\xe9", "choices": []}', {}),  # invalid UTF-8
        (b"\x1f\x8b\x08\x00garbage that is not gzip", {"content-encoding": "gzip"}),
        (gzip.compress(chat_json())[:-12], {"content-encoding": "gzip"}),  # a truncated gzip stream
    ],
    ids=["not-json", "wrong-shape", "bad-utf8", "bad-gzip", "truncated-gzip"],
)
def test_a_200_that_cannot_be_read_is_a_serialization_error_and_not_retried(
    make: Any, server: Any, body: bytes, headers: dict[str, str]
) -> None:
    server.script = lambda req, out: out.reply(200, body, headers)
    with pytest.raises(SerializationError) as info:
        client(make, server, max_retries=3).chat(model="m", messages=USER)
    assert len(server.requests) == 1
    assert info.value.provider == "gateway"


def test_a_gzip_answer_is_decoded(make: Any, server: Any) -> None:
    server.script = lambda req, out: out.reply(200, gzip.compress(chat_json("zipped")), {"content-encoding": "gzip"})
    assert client(make, server).chat(model="m", messages=USER).choices[0].message.content == "zipped"


def test_an_oversized_answer_is_a_serialization_error(make: Any, server: Any) -> None:
    big = chat_json("x" * 50_000)
    server.script = lambda req, out: out.reply(200, big)
    with pytest.raises(SerializationError, match="larger than the limit"):
        client(make, server, max_response_bytes=10_000, max_retries=3).chat(model="m", messages=USER)
    assert len(server.requests) == 1
    # within the limit, a large answer arrives whole
    server.script = lambda req, out: out.reply(200, chat_json("y" * 3_000_000))
    answer = client(make, server).chat(model="m", messages=USER)
    assert answer.choices[0].message.content == "y" * 3_000_000


def test_a_connection_dropped_mid_body_is_a_clear_error(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        out.head(200, {"content-type": "application/json", "content-length": "500"})
        out.send(chat_json()[:40])
        out.drop()

    server.script = script
    with pytest.raises(LiterLlmError) as info:
        client(make, server, max_retries=0).chat(model="m", messages=USER)
    assert isinstance(info.value, ServiceUnavailableError)


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------


def test_a_dripping_body_cannot_hold_a_call_past_its_timeout(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        body = chat_json()
        out.head(200, {"content-type": "application/json", "content-length": str(len(body))})
        for byte in body:
            if not out.send(bytes([byte])):
                return
            time.sleep(0.25)

    server.script = script
    started = time.monotonic()
    with pytest.raises(LiterLlmTimeoutError) as info:
        client(make, server, timeout_secs=1, max_retries=2).chat(model="m", messages=USER)
    elapsed = time.monotonic() - started
    assert isinstance(info.value, TimeoutError)
    assert elapsed < 1.0 + 0.6
    assert len(server.requests) == 1


def test_dripping_headers_cannot_hold_a_call_past_its_timeout(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"x-slow: " + b"a" * 10 + b"\r\n"
        for byte in head:
            if not out.send(bytes([byte])):
                return
            time.sleep(0.06)
        body = chat_json()
        out.send(b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    server.script = script
    started = time.monotonic()
    with pytest.raises(LiterLlmTimeoutError):
        client(make, server, timeout_secs=0.5, max_retries=0).chat(model="m", messages=USER)
    assert time.monotonic() - started < 0.5 + 0.6


def test_a_silent_server_times_out(make: Any, server: Any) -> None:
    server.script = lambda req, out: time.sleep(3)
    started = time.monotonic()
    with pytest.raises(LiterLlmTimeoutError):
        client(make, server, timeout_secs=0.5, max_retries=2).chat(model="m", messages=USER)
    assert time.monotonic() - started < 0.5 + 0.6


def test_a_healthy_stream_longer_than_the_timeout_is_not_cut(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        out.chunked_head()
        for index in range(8):
            out.chunk(chunk_event(f"{index} "))
            time.sleep(0.15)
        out.chunk(chunk_event(finish="stop") + b"data: [DONE]\n\n")
        out.end_chunks()

    server.script = script
    started = time.monotonic()
    chunks = client(make, server, timeout_secs=0.5).collect(model="m", messages=USER)
    assert time.monotonic() - started > 1.0
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "0 1 2 3 4 5 6 7 "


# ---------------------------------------------------------------------------
# Streams and retries
# ---------------------------------------------------------------------------


def test_a_stream_is_retried_before_it_opens_but_never_after_it_yielded(make: Any, server: Any) -> None:
    calls = []

    def script(req: Any, out: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            out.reply(503, error_body("warming up"))
            return
        out.chunked_head()
        out.chunk(chunk_event("one ") + chunk_event("two "))
        time.sleep(0.05)
        out.drop()

    server.script = script
    api = client(make, server, max_retries=3)
    with pytest.raises(StreamingError) as info:
        api.collect(model="m", messages=USER)
    assert len(server.requests) == 2  # the 503 was retried; the dropped stream was not
    assert [c.choices[0].delta.content for c in info.value.chunks] == ["one ", "two "]


# ---------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection(make: Any, server: Any) -> None:
    server.script = statuses(503, 200)
    api = client(make, server)
    for _ in range(4):
        api.chat(model="m", messages=USER)
    assert len(server.requests) == 5  # one retry at the start
    assert server.connections == 1
    assert {r.connection for r in server.requests} == {1}


# ---------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------


def test_each_attempt_is_logged(make: Any, server: Any, caplog: pytest.LogCaptureFixture) -> None:
    server.script = statuses(503, 200)
    with caplog.at_level(logging.DEBUG, logger="liter_llm"):
        client(make, server, api_key="sk-log-secret-42").chat(model="acme/model-x", messages=USER)
    logged = attempt_logs(caplog)
    assert len(logged) == 2
    first, second = logged
    for line in logged:
        assert "provider='gateway'" in line
        assert "model='acme/model-x'" in line
        assert "operation='chat'" in line
        assert "latency_ms=" in line
        assert "sk-log-secret-42" not in line
    assert "status=503" in first
    assert "attempt=0" in first
    assert "status=200" in second
    assert "attempt=1" in second
    levels = [r.levelno for r in caplog.records if "llm_attempt" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]
    assert not any("sk-log-secret-42" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------
# Requests made by an httpx.Auth flow (a token fetch) are bounded by the call's deadline
# ---------------------------------------------------------------------------


class TokenAuth(httpx.Auth):
    """An auth flow that fetches a token from ``url`` first (as an OAuth or service-account flow does)."""

    requires_response_body = True

    def __init__(self, url: str) -> None:
        self.url = url

    def auth_flow(self, request: httpx.Request) -> Any:
        response = yield httpx.Request("POST", self.url, content=b"grant_type=client_credentials")
        request.headers["authorization"] = "Bearer " + response.json()["access_token"]
        yield request


class TokenHook:
    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def auth(self, call: Any, request: Any) -> httpx.Auth:
        return TokenAuth(self.url)


def run_guarded(api: Any, method: str, **kwargs: Any) -> Any:
    """Call ``method``; on the async client a hang fails the test after 20 s instead of blocking it."""
    if api.mode == "sync":
        return getattr(api, method)(**kwargs)

    async def guarded() -> Any:
        try:
            return await asyncio.wait_for(getattr(api.client, method)(**kwargs), 20)
        except LiterLlmTimeoutError:  # a TimeoutError too: the one expected
            raise
        except asyncio.TimeoutError:
            pytest.fail(f"{method} was not bounded by the call's timeout")

    return api.run(guarded())


def test_a_token_request_that_never_answers_is_cut_at_the_calls_deadline(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        if req.path == "/token":
            S.hold_open(out, 30)
        else:
            out.reply(200, S.chat_json("ok"))

    server.script = script
    api = make(base_url=server.url + "/v1", timeout_secs=1, max_retries=0, hooks=[TokenHook(server.url + "/token")])
    began = time.monotonic()
    with pytest.raises(LiterLlmTimeoutError):
        run_guarded(api, "chat", model="m", messages=USER)
    assert time.monotonic() - began < 8
    assert [r.path for r in server.requests] == ["/token"]


def test_a_token_request_that_answers_is_used(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        if req.path == "/token":
            out.reply(200, b'{"access_token": "tok-1"}')
        else:
            out.reply(200, S.chat_json("ok"))

    server.script = script
    api = make(base_url=server.url + "/v1", timeout_secs=5, hooks=[TokenHook(server.url + "/token")])
    assert api.chat(model="m", messages=USER).choices[0].message.content == "ok"
    assert [r.path for r in server.requests] == ["/token", "/v1/chat/completions"]
    assert server.requests[1].headers["authorization"] == "Bearer tok-1"
