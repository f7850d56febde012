"""``on_attempt`` (after each HTTP attempt, before a retry's wait) and the stream's chunk times on the call.

Both clients, an injected ``ManualClock``, an ``httpx.MockTransport``.
"""

from __future__ import annotations

from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm.clock import ManualClock
from liter_llm.errors import RateLimitedError, ServiceUnavailableError
from liter_llm.testing import openai_chat_body, openai_chunk, sse_body

USER = S.USER


class Attempts:
    """Records every attempt: its number, status, error kind, and the clock at its start and at on_attempt."""

    def __init__(self) -> None:
        self.started: dict[tuple[int, int], float] = {}
        self.seen: list[tuple[int, int | None, str | None, float, float]] = []
        self.calls: list[Any] = []

    @hookimpl
    def build_request(self, call: Any) -> None:
        self.started[id(call), call.attempt] = call.clock.monotonic()

    @hookimpl
    def on_attempt(self, call: Any, status: int | None, error: Any) -> None:
        self.calls.append(call)
        start = self.started[id(call), call.attempt]
        kind = type(error).__name__ if error is not None else None
        self.seen.append((call.attempt, status, kind, start, call.clock.monotonic()))


def test_on_attempt_runs_after_each_attempt_before_the_retry_wait(make: Any) -> None:
    replies = iter(
        [
            httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "2"}),
            "drop",
            httpx.Response(200, json=openai_chat_body("ok")),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        reply = next(replies)
        if reply == "drop":
            raise httpx.ConnectError("refused", request=request)
        assert isinstance(reply, httpx.Response)
        return reply

    clock = ManualClock()
    hook = Attempts()
    api = make(
        api_key="k",
        transport=httpx.MockTransport(handler),
        hooks=[hook],
        clock=clock,
        max_retries=3,
        retry_initial_delay=1.0,
    )
    answer = api.chat(model="fake/m", messages=USER)
    assert answer.choices[0].message.content == "ok"
    assert [(n, status, kind) for n, status, kind, _, _ in hook.seen] == [
        (0, 429, RateLimitedError.__name__),
        (1, None, ServiceUnavailableError.__name__),
        (2, 200, None),
    ]
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] == 2.0  # Retry-After; then the backoff (with its jitter)
    for _n, _status, _kind, start, end in hook.seen:
        assert end == start  # on_attempt ran before the wait: the clock moved only between attempts
    starts = [start for _, _, _, start, _ in hook.seen]
    assert starts[0] == 1000.0
    assert starts[1] == starts[0] + clock.sleeps[0]
    assert starts[2] == starts[1] + clock.sleeps[1]


def test_a_failing_on_attempt_is_logged_and_changes_nothing(make: Any) -> None:
    class Broken:
        @hookimpl
        def on_attempt(self, call: Any, status: int | None, error: Any) -> None:
            raise RuntimeError("oops")

    api = make(
        api_key="k",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=openai_chat_body("fine"))),
        hooks=[Broken()],
    )
    assert api.chat(model="fake/m", messages=USER).choices[0].message.content == "fine"


def paced(clock: ManualClock, pieces: list[tuple[float, bytes]], mode: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        def body() -> Any:
            for wait, data in pieces:
                clock.advance(wait)
                yield data

        async def abody() -> Any:
            for item in body():
                yield item

        return httpx.Response(
            200, content=body() if mode == "sync" else abody(), headers={"content-type": "text/event-stream"}
        )

    return handler


def test_a_stream_notes_its_chunk_times_on_the_call_from_the_clients_clock(make: Any) -> None:
    clock = ManualClock()
    hook = Attempts()
    pieces = [
        (0.75, sse_body(openai_chunk("a", role="assistant"), done=False)),
        (0.5, sse_body(openai_chunk("b"), openai_chunk(finish="stop"), done=False)),
        (0.25, b"data: [DONE]\n\n"),
    ]
    api = make(api_key="k", transport=httpx.MockTransport(paced(clock, pieces, make.mode)), hooks=[hook], clock=clock)
    with api.stream(model="fake/m", messages=USER) as stream:
        [call] = hook.calls
        assert call.first_chunk_at is None
        assert call.chunk_count == 0
        first = next(stream)
        assert first.choices[0].delta.content == "a"
        assert call.first_chunk_at == 1000.75
        rest = list(stream)
    assert len(rest) == 2
    assert call.first_chunk_at == 1000.75
    assert call.last_chunk_at == 1001.25  # the read that brought the last two chunks
    assert call.chunk_count == 3


def test_a_call_that_does_not_stream_has_no_chunk_times(make: Any) -> None:
    hook = Attempts()
    api = make(
        api_key="k",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=openai_chat_body("x"))),
        hooks=[hook],
    )
    api.chat(model="fake/m", messages=USER)
    [call] = hook.calls
    assert call.first_chunk_at is None
    assert call.last_chunk_at is None
    assert call.chunk_count == 0


@pytest.mark.parametrize("mode", S.MODES)
def test_the_call_carries_the_clients_clock(mode: str) -> None:
    clock = ManualClock()
    hook = Attempts()
    with S.Api(
        mode,
        api_key="k",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=openai_chat_body("x"))),
        hooks=[hook],
        clock=clock,
    ) as api:
        api.chat(model="fake/m", messages=USER)
    assert hook.calls[0].clock is clock
