"""The sans-IO flow, stepped by hand: scripted Send/Read/Sleep results, no sockets, no sleeps.

A :class:`~liter_llm._pipeline.Pipeline` flow (:mod:`liter_llm._flow`) is a generator of actions
(``Send``, ``Read``, ``Sleep``); the clients' drivers perform them.  Here a
script answers every ``Send`` with a response (or an exception thrown into the
flow), ``Read`` needs nothing (the scripted responses are read already) and
``Sleep`` only advances the pipeline's :class:`~liter_llm.clock.ManualClock`.
The backoff's jitter is injected too, so every wait is an exact number.
No transport is ever made: nothing here can open a socket or sleep.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from liter_llm._flow import Read, Send, Sleep, call_flow
from liter_llm._pipeline import Pipeline
from liter_llm.clock import ManualClock
from liter_llm.config import parse_config
from liter_llm.errors import BadRequestError, RateLimitedError, ServerError, ServiceUnavailableError
from liter_llm.testing import openai_chat_body
from liter_llm.types import ChatCompletionRequest, ChatCompletionResponse

BASE = "http://127.0.0.1:9/v1"
JITTER = 0.4  # each backoff wait is its nominal value times (1 - 0.25 * JITTER) = 0.9
Answer = Callable[[httpx.Request], Any]


def pipeline(clock: ManualClock, **config: Any) -> Pipeline:
    fields = {"api_key": "sk-test", "base_url": BASE, "model_hint": "openai", "timeout_secs": 600, **config}
    return Pipeline(parse_config(fields), clock=clock, jitter=lambda: JITTER)


def chat_request(model: str = "gpt-4o") -> ChatCompletionRequest:
    return ChatCompletionRequest.from_dict({"model": model, "messages": [{"role": "user", "content": "hi"}]})


def ok(text: str = "hello") -> Answer:
    return lambda request: httpx.Response(200, json=openai_chat_body(text, model="gpt-4o"), request=request)


def status(code: int, **headers: str) -> Answer:
    return lambda request: httpx.Response(
        code, json={"error": {"message": f"status {code}"}}, headers=headers, request=request
    )


def refused() -> Answer:
    def answer(request: httpx.Request) -> Exception:
        return httpx.ConnectError("connection refused", request=request)

    return answer


class Stepper:
    """Steps a flow: answers each Send from ``script``, advances ``clock`` on each Sleep, logs every action."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.actions: list[Any] = []

    def run(self, flow: Any, script: Iterable[Answer]) -> Any:
        answers = iter(script)
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            value = error = None
            self.actions.append(action)
            if isinstance(action, Send):
                answer = next(answers)(action.request)
                if isinstance(answer, Exception):
                    error = answer
                else:
                    value = answer
            elif isinstance(action, Sleep):
                self.clock.advance(action.seconds)
            else:
                assert isinstance(action, Read)
                assert action.response.is_closed  # read already: nothing to do

    def kinds(self) -> list[str]:
        return [type(action).__name__ for action in self.actions]

    def sleeps(self) -> list[float]:
        return [action.seconds for action in self.actions if isinstance(action, Sleep)]


@pytest.fixture(autouse=True)
def no_sockets_no_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a socket or sleeping fails the test (the flow does neither: its driver would)."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a flow test opened a socket or slept")

    monkeypatch.setattr(socket, "socket", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(time, "sleep", forbidden)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def steps(clock: ManualClock) -> Stepper:
    return Stepper(clock)


def test_a_call_is_one_send_and_one_read(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    result = steps.run(pipe.run(call), [ok("hello")])
    assert isinstance(result, ChatCompletionResponse)
    assert result.choices[0].message.content == "hello"
    assert steps.kinds() == ["Send", "Read"]
    send, read = steps.actions
    assert str(send.request.url) == f"{BASE}/chat/completions"
    assert "authorization" not in send.request.headers  # the key goes in at send time, by the auth flow
    assert send.auth is not None
    assert next(send.auth.sync_auth_flow(send.request)).headers["authorization"] == "Bearer sk-test"
    assert send.provider == "openai"
    assert read.limit == pipe.config.max_response_bytes
    assert read.deadline == call.deadline
    assert clock.sleeps == []


def test_server_errors_are_retried_with_the_injected_backoff(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=2)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    result = steps.run(pipe.run(call), [status(500), status(503), ok("third time")])
    assert result.choices[0].message.content == "third time"
    assert steps.kinds() == ["Send", "Read", "Sleep", "Send", "Read", "Sleep", "Send", "Read"]
    # 0.5 s then 1 s (the default initial delay, doubled), each times 1 - 0.25 * jitter
    assert steps.sleeps() == [pytest.approx(0.5 * 0.9), pytest.approx(1.0 * 0.9)]
    assert call.attempt == 2


def test_retries_run_out_and_the_last_error_is_raised(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=1)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    with pytest.raises(ServerError, match="status 502"):
        steps.run(pipe.run(call), [status(500), status(502)])
    assert steps.kinds() == ["Send", "Read", "Sleep", "Send", "Read"]


def test_retry_after_seconds_is_the_wait(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=1)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    steps.run(pipe.run(call), [status(429, **{"retry-after": "3"}), ok()])
    assert steps.sleeps() == [3.0]  # the provider's wait, without jitter


def test_an_http_date_retry_after_is_measured_on_the_injected_clock(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=1)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    when = email.utils.formatdate(clock.time() + 7, usegmt=True)
    steps.run(pipe.run(call), [status(503, **{"retry-after": when}), ok()])
    assert steps.sleeps() == [pytest.approx(7.0)]


def test_a_wait_beyond_max_retry_delay_is_not_taken(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=3, max_retry_delay_secs=10)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    with pytest.raises(RateLimitedError) as info:
        steps.run(pipe.run(call), [status(429, **{"retry-after": "30"})])
    assert info.value.retry_after == 30.0
    assert steps.kinds() == ["Send", "Read"]


def test_a_bad_request_is_not_retried(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=3)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    with pytest.raises(BadRequestError, match="status 400"):
        steps.run(pipe.run(call), [status(400)])
    assert steps.kinds() == ["Send", "Read"]


def test_transport_errors_are_thrown_in_retried_and_mapped(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=2)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    with pytest.raises(ServiceUnavailableError, match="could not connect"):
        steps.run(pipe.run(call), [refused(), refused(), refused()])
    assert steps.kinds() == ["Send", "Sleep", "Send", "Sleep", "Send"]  # nothing to read after a refusal
    assert steps.sleeps() == [pytest.approx(0.45), pytest.approx(0.9)]


def test_send_with_retries_returns_the_unread_success(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=1)
    call = pipe.prepare("chat", chat_request(), model="gpt-4o")
    response = steps.run(pipe.send_with_retries(call, pipe.relay(call.provider)), [status(500), ok("body")])
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200
    assert steps.kinds() == ["Send", "Read", "Sleep", "Send"]  # only the error body was read


def test_open_stream_ends_at_the_open_response(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=1)
    call = pipe.prepare("chat_stream", chat_request(), model="gpt-4o")
    response = steps.run(pipe.open_stream(call), [status(503), ok()])
    assert response.status_code == 200
    assert steps.kinds() == ["Send", "Read", "Sleep", "Send"]  # the body is the stream's to read
    assert steps.actions[-1].request.url.path == "/v1/chat/completions"


def test_the_rate_limit_waits_on_the_injected_clock_before_sending(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, rate_limit={"rpm": 1, "window_seconds": 30})
    steps.run(pipe.run(pipe.prepare("chat", chat_request(), model="gpt-4o")), [ok()])
    steps.run(pipe.run(pipe.prepare("chat", chat_request(), model="gpt-4o")), [ok()])
    assert steps.kinds() == ["Send", "Read", "Sleep", "Send", "Read"]
    assert steps.sleeps() == [pytest.approx(30.0)]  # the window, measured on the manual clock


def test_a_cache_hit_is_a_flow_without_actions(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, cache={"max_entries": 10})
    first = steps.run(pipe.run(pipe.prepare("chat", chat_request(), model="gpt-4o")), [ok("cached")])
    before = len(steps.actions)
    second = steps.run(pipe.run(pipe.prepare("chat", chat_request(), model="gpt-4o")), [])
    assert len(steps.actions) == before  # nothing sent, read or waited for
    assert second.cache_hit
    assert second.choices[0].message.content == first.choices[0].message.content == "cached"


def test_the_fallback_flow_moves_to_the_next_model(clock: ManualClock, steps: Stepper) -> None:
    pipe = pipeline(clock, max_retries=0, fallbacks=["openai/gpt-4o-mini"])
    result = steps.run(call_flow(pipe, "chat", chat_request(), model="gpt-4o"), [status(503), ok("from the backup")])
    assert result.choices[0].message.content == "from the backup"
    assert steps.kinds() == ["Send", "Read", "Send", "Read"]
    models = [action.request.read() for action in steps.actions if isinstance(action, Send)]
    assert [b'"gpt-4o"' in body for body in models] == [True, False]
    assert b'"gpt-4o-mini"' in models[1]
