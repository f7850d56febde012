"""``/v1/responses`` with ``stream: true``: the Responses API's semantic events, through the official SDK.

The fake upstream sends the documented event sequence
(https://developers.openai.com/api/reference/resources/responses/streaming-events);
the proxy forwards it event by event through liter-llm's ``create_response_stream``.
"""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import MASTER, RunningProxy
from sdk_support import run_sdk

KINDS = ["sync", "async"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _last_log(proxy: RunningProxy, model: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        logs = proxy.admin.get("/admin/spend/logs", params={"limit": 1}).json()["data"]
        if logs and logs[0]["model_requested"] == model and logs[0]["endpoint"] == "responses":
            return dict(logs[0])
        assert time.monotonic() < deadline, logs
        time.sleep(0.05)


def test_responses_stream_events(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    events = run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.create(model="fake-model", input="hi", stream=True))
    expected = [e["type"] for e in upstream[0].response_events("fake-model")]
    assert [e.type for e in events] == expected
    assert [e.sequence_number for e in events] == list(range(len(expected)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Hi from responses"
    # the SDK parses each event into its own type
    assert isinstance(events[0], openai.types.responses.ResponseCreatedEvent)
    assert isinstance(events[-1], openai.types.responses.ResponseCompletedEvent)
    assert events[-1].response.output_text == "Hi from responses"
    assert events[-1].response.usage.total_tokens == 7
    sent = upstream[0].requests[-1]
    assert sent[1] == "/v1/responses"
    assert b'"stream":true' in sent[3].replace(b" ", b"")
    # the spend log has the usage of the final response
    log = _last_log(proxy, "fake-model")
    assert (log["status"], log["prompt_tokens"], log["completion_tokens"], log["total_tokens"]) == (200, 3, 4, 7)
    assert log["cost"] == pytest.approx(3 * 0.001 + 4 * 0.002)


def test_responses_without_stream_stays_json(kind: str, proxy: RunningProxy) -> None:
    answer = run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.create(model="fake-model", input="hi"))
    assert answer.output_text == "Hi from responses"


def test_the_sdk_stream_helper(kind: str, proxy: RunningProxy) -> None:
    """``client.responses.stream(...)`` (the SDK's accumulating helper) assembles the final response."""

    def use_sync(c: openai.OpenAI) -> str:
        with c.responses.stream(model="fake-model", input="hi") as stream:
            for _ in stream:
                pass
            return stream.get_final_response().output_text

    async def use_async(c: openai.AsyncOpenAI) -> str:
        async with c.responses.stream(model="fake-model", input="hi") as stream:
            async for _ in stream:
                pass
            return (await stream.get_final_response()).output_text

    assert run_sdk(kind, proxy.url, MASTER, use_sync if kind == "sync" else use_async) == "Hi from responses"


@pytest.mark.parametrize("model", ["cut-stream", "error-stream"])
def test_a_broken_upstream_stream_ends_in_an_error_event(kind: str, model: str, proxy: RunningProxy) -> None:
    # the SDK yields the documented error event as a ResponseErrorEvent (as it does for OpenAI's own)
    events = run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.create(model=model, input="hi", stream=True))
    last = events[-1]
    assert isinstance(last, openai.types.responses.ResponseErrorEvent)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    if model == "error-stream":
        assert (last.code, last.message) == ("server_error", "boom")
    else:
        assert "closed before the stream ended" in last.message
        assert last.code == "server_error"
    assert all(e.type != "response.completed" for e in events)
    log = _last_log(proxy, model)
    assert log["status"] >= 500  # type: ignore[operator]


def test_a_stream_refused_by_the_key_sends_nothing(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    key = proxy.create_key(models=["other-model"])["key"]
    before = upstream[0].count("/v1/responses")
    with pytest.raises(openai.PermissionDeniedError):
        run_sdk(kind, proxy.url, key, lambda c: c.responses.create(model="fake-model", input="hi", stream=True))
    assert upstream[0].count("/v1/responses") == before


def test_sync_disconnect_cancels_the_upstream_responses_stream(
    proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    fake = upstream[0]
    fake.stream_started.clear()
    fake.stream_cancelled.clear()
    with openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER, max_retries=0) as client:
        stream = client.responses.create(model="slow-stream", input="go", stream=True)
        first = next(iter(stream))
        assert first.type == "response.created"
        stream.close()  # the client goes away mid-stream
    assert fake.stream_cancelled.wait(20), "the upstream stream was not cancelled"
    log = _last_log(proxy, "slow-stream")
    assert (log["status"], log["error_kind"]) == (499, "ClientDisconnected")


def test_async_disconnect_cancels_the_upstream_responses_stream(
    proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    fake = upstream[0]
    fake.stream_started.clear()
    fake.stream_cancelled.clear()

    async def go() -> None:
        async with openai.AsyncOpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER, max_retries=0) as client:
            stream = await client.responses.create(model="slow-stream", input="go", stream=True)
            async for event in stream:
                assert event.type == "response.created"
                break
            await stream.close()

    asyncio.run(asyncio.wait_for(go(), 30))
    assert fake.stream_cancelled.wait(20), "the upstream stream was not cancelled"
    log = _last_log(proxy, "slow-stream")
    assert (log["status"], log["error_kind"]) == (499, "ClientDisconnected")
