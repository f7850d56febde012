"""liter_llm.testing.ClientRunner: one test body through the sync and the async client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from liter_llm.testing import ClientRunner, openai_chat_body, openai_chunk, sse_body

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=ClientRunner.MODES)
def run(request: pytest.FixtureRequest) -> ClientRunner:
    return ClientRunner(request.param, api_key="sk-test", model_hint="fake", base_url="http://127.0.0.1:9/r")


def test_a_call_goes_through_the_runners_client_and_is_recorded(run: ClientRunner) -> None:
    answer = run("chat", lambda r: httpx.Response(200, json=openai_chat_body("yes")), model="m", messages=USER)
    assert answer.choices[0].message.content == "yes"
    assert run.last is run.request is run.requests[0]
    assert run.last.url.path == "/r/chat/completions"
    assert run.last.headers["authorization"] == "Bearer sk-test"
    assert run.body["model"] == "m"


def test_a_stream_is_read_to_its_end(run: ClientRunner) -> None:
    body = sse_body(openai_chunk("a"), openai_chunk("b", finish="stop"))
    chunks = run(
        "chat_stream",
        lambda r: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"}),
        model="m",
        messages=USER,
    )
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]


def test_client_options_go_over_the_defaults_and_none_is_left_out(run: ClientRunner) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=openai_chat_body("ok"))

    run("chat", reply, model="m", messages=USER, client_options={"api_key": "sk-other", "timeout_secs": None})
    assert run.last.headers["authorization"] == "Bearer sk-other"
    assert run.options(base_url=None) == {"max_retries": 0, "api_key": "sk-test", "model_hint": "fake"}


def test_the_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="mode"):
        ClientRunner("both")


def test_both_modes_really_differ(run: ClientRunner) -> None:
    import asyncio

    seen: list[Any] = []

    def reply(request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
            seen.append("async")
        except RuntimeError:
            seen.append("sync")
        return httpx.Response(200, json=openai_chat_body("ok"))

    run("chat", reply, model="m", messages=USER)
    assert seen == [run.mode]
