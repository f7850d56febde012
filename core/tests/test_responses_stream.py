"""``create_response_stream``: the Responses API's streamed events, through both clients.

The events follow OpenAI's documented sequence
(https://developers.openai.com/api/reference/resources/responses/streaming-events).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm.errors import LiterLlmError, RateLimitedError, SerializationError, StreamingError

MODEL = "fake-model"


def _response(status: str, text: str = "", usage: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "model": MODEL,
        "status": status,
        "output": [],
    }
    if text:
        body["output"] = [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    if usage:
        body["usage"] = {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    return body


def events(terminal: str = "response.completed") -> list[dict[str, Any]]:
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    items: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.in_progress", "response": _response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "msg_1"}},
        {"type": "response.content_part.added", **where, "part": {"type": "output_text", "text": ""}},
        {"type": "response.output_text.delta", **where, "delta": "Hi"},
        {"type": "response.output_text.delta", **where, "delta": " there"},
        {"type": "response.output_text.done", **where, "text": "Hi there"},
        {"type": terminal, "response": _response(terminal.split(".")[1], "Hi there", usage=True)},
    ]
    for number, item in enumerate(items):
        item["sequence_number"] = number
    return items


def sse(items: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {i['type']}\ndata: {json.dumps(i)}\n\n".encode() for i in items)


def serving(body: bytes, content_type: str = "text/event-stream") -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    return seen, handler


def open_stream(api: S.Api, **kwargs: Any) -> Any:
    return api.call("create_response_stream", model=MODEL, input="hi", **kwargs)


def read_all(api: S.Api, stream: Any) -> list[Any]:
    if api.mode == "sync":
        return list(stream)

    async def go() -> list[Any]:
        return [event async for event in stream]

    return api.run(go())  # type: ignore[no-any-return]


def final(api: S.Api, stream: Any) -> Any:
    return stream.response() if api.mode == "sync" else api.run(stream.response())


class Seen:
    def __init__(self) -> None:
        self.responses: list[Any] = []
        self.errors: list[Any] = []

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.responses.append((call.operation, response))

    @hookimpl
    def on_error(self, call: Any, error: Any) -> None:
        self.errors.append(error)


def test_events_in_order_and_the_final_response(mode: str) -> None:
    seen, handler = serving(sse(events()))
    hooks = Seen()
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler), hooks=[hooks]) as api:
        stream = open_stream(api)
        got = read_all(api, stream)
        assert [e.type for e in got] == [e["type"] for e in events()]
        assert [e.sequence_number for e in got] == list(range(8))
        assert "".join(e.delta or "" for e in got) == "Hi there"
        assert got[0].data == events()[0]  # the event exactly as sent
        result = final(api, stream)
    assert isinstance(result, liter_llm.ResponseObject)
    assert result.status == "completed"
    assert result.usage is not None
    assert result.usage.total_tokens == 7
    body = json.loads(seen[0].content)
    assert body == {"model": MODEL, "input": "hi", "stream": True}
    assert seen[0].url.path == "/v1/responses"
    assert seen[0].headers["accept"] == "text/event-stream"
    # on_response saw the final response object, once
    assert [(op, r.id) for op, r in hooks.responses] == [("create_response_stream", "resp_1")]


@pytest.mark.parametrize("terminal", ["response.incomplete", "response.failed"])
def test_other_terminal_events_end_the_stream(mode: str, terminal: str) -> None:
    _, handler = serving(sse(events(terminal)) + sse([{"type": "response.output_text.delta", "delta": "late"}]))
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler)) as api:
        stream = open_stream(api)
        got = read_all(api, stream)
        assert got[-1].type == terminal  # nothing after the terminal event
        assert final(api, stream).status == terminal.split(".")[1]


def test_a_cut_stream_is_a_streaming_error(mode: str) -> None:
    _, handler = serving(sse(events()[:5]))
    hooks = Seen()
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler), hooks=[hooks]) as api:
        stream = open_stream(api)
        with pytest.raises(StreamingError) as caught:
            read_all(api, stream)
    assert "closed before the stream ended" in caught.value.message
    assert len(caught.value.events) == 5  # type: ignore[attr-defined]
    assert len(hooks.errors) == 1
    assert not hooks.responses


def test_an_error_event_is_the_error_it_describes(mode: str) -> None:
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None}
    _, handler = serving(sse([*events()[:3], error]))
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler)) as api:
        stream = open_stream(api)
        with pytest.raises(RateLimitedError) as caught:
            read_all(api, stream)
    assert caught.value.message == "slow down"


@pytest.mark.parametrize("body", [b"data: {not json\n\n", b"data: [1]\n\n", b'data: {"x": 1}\n\n'])
def test_malformed_events_are_serialization_errors(mode: str, body: bytes) -> None:
    _, handler = serving(body)
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler)) as api:
        stream = open_stream(api)
        with pytest.raises(SerializationError):
            read_all(api, stream)


def test_a_json_answer_becomes_one_completed_event(mode: str) -> None:
    _, handler = serving(json.dumps(_response("completed", "whole", usage=True)).encode(), "application/json")
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler)) as api:
        stream = open_stream(api)
        got = read_all(api, stream)
        assert [e.type for e in got] == ["response.completed"]
        assert got[0].response.output[0]["content"][0]["text"] == "whole"


def test_an_html_answer_is_refused(mode: str) -> None:
    _, handler = serving(b"<html></html>", "text/html")
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler)) as api:
        stream = open_stream(api)
        with pytest.raises(SerializationError, match="text/html"):
            read_all(api, stream)


def test_closing_early_releases_and_reports_no_outcome(mode: str) -> None:
    _, handler = serving(sse(events()))
    hooks = Seen()
    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler), hooks=[hooks]) as api:
        stream = open_stream(api)
        if mode == "sync":
            first = next(iter(stream))
            stream.close()
            assert list(stream) == []
        else:

            async def go() -> Any:
                event = await stream.__anext__()
                await stream.aclose()
                return event

            first = api.run(go())
        assert first.type == "response.created"
    assert hooks.responses == []
    assert hooks.errors == []


def test_an_upstream_error_status_raises_before_the_stream(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "bad key", "type": "invalid_request_error"}})

    with S.Api(mode, api_key="sk-test", transport=httpx.MockTransport(handler)) as api:
        with pytest.raises(LiterLlmError) as caught:
            open_stream(api)
    assert caught.value.status_code == 401
