"""Answers that are not responses, unusable retry_after values, OCR documents, event-stream details,
configuration limits and closed clients (issue 10, items 9, 11, 12 and 14), through both clients."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm import types as t
from liter_llm.errors import (
    BadRequestError,
    LiterLlmError,
    RateLimitedError,
    SerializationError,
    error_from_response,
)
from liter_llm.sse import SSEDecoder
from liter_llm.testing import RecordingTransport, openai_chat_body, openai_chunk, sse_body

USER = S.USER
MODEL = "fake/m"


def answering(body: Any, status: int = 200, content_type: str = "application/json") -> RecordingTransport:
    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers={"content-type": content_type})
        return httpx.Response(status, json=body)

    return RecordingTransport(reply)


# ---------------------------------------------------------------------------
# 9. A 200 whose body is not a response of the operation
# ---------------------------------------------------------------------------

#: method, positional args, keyword args, the smallest valid answer
OPERATIONS: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = [
    ("chat", (), {"model": MODEL, "messages": USER}, {"choices": []}),
    ("embed", (), {"model": MODEL, "input": "x"}, {"data": []}),
    ("list_models", (), {"provider": "fake"}, {"data": []}),
    ("image_generate", (), {"model": MODEL, "prompt": "cat"}, {"data": []}),
    ("transcribe", (), {"model": MODEL, "file": b"audio"}, {"text": ""}),
    ("moderate", (), {"model": MODEL, "input": "x"}, {"results": []}),
    ("rerank", (), {"model": MODEL, "query": "q", "documents": ["a"]}, {"results": []}),
    ("search", (), {"model": MODEL, "query": "q"}, {"results": []}),
    (
        "ocr",
        (),
        {"model": MODEL, "document": {"type": "document_url", "url": "https://x.invalid/a.pdf"}},
        {"pages": []},
    ),
    ("create_file", (), {"file": b"data", "purpose": "batch", "provider": "fake"}, {"id": "f"}),
    ("retrieve_file", ("f",), {"provider": "fake"}, {"id": "f"}),
    ("delete_file", ("f",), {"provider": "fake"}, {"id": "f"}),
    ("list_files", (), {"provider": "fake"}, {"data": []}),
    ("create_batch", (), {"input_file_id": "f", "endpoint": "/v1/chat/completions", "provider": "fake"}, {"id": "b"}),
    ("retrieve_batch", ("b",), {"provider": "fake"}, {"id": "b"}),
    ("list_batches", (), {"provider": "fake"}, {"data": []}),
    ("cancel_batch", ("b",), {"provider": "fake"}, {"id": "b"}),
    ("create_response", (), {"model": MODEL, "input": "hi"}, {"id": "r"}),
    ("retrieve_response", ("r",), {"provider": "fake"}, {"id": "r"}),
    ("cancel_response", ("r",), {"provider": "fake"}, {"id": "r"}),
]
IDS = [case[0] for case in OPERATIONS]
NOT_RESPONSES: list[Any] = [{}, {"object": "list", "unrelated": 1}, [], "text", 3]
#: every operation with every body that is not a response of it (a JSON string is a plain-text transcription)
WRONG_ANSWERS = [
    pytest.param(method, args, kwargs, body, id=f"{method}-{body!r}")
    for method, args, kwargs, _ in OPERATIONS
    for body in NOT_RESPONSES
    if not (method == "transcribe" and isinstance(body, str))
]


@pytest.mark.parametrize(("method", "args", "kwargs", "body"), WRONG_ANSWERS)
def test_an_answer_that_is_not_a_response_of_the_operation_is_a_serialization_error(
    make: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], body: Any
) -> None:
    api = make(api_key="k", transport=answering(body), max_retries=2)
    with pytest.raises(SerializationError) as info:
        api.call(method, *args, **kwargs)
    assert method in info.value.message
    assert info.value.provider == "fake"
    assert len(api.client._http._transport.requests) == 1  # not retried


@pytest.mark.parametrize(("method", "args", "kwargs", "minimal"), OPERATIONS, ids=IDS)
def test_the_smallest_answer_with_the_required_field_is_accepted(
    make: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], minimal: Any
) -> None:
    api = make(api_key="k", transport=answering({**minimal, "some_vendor_field": {"x": 1}}))
    assert api.call(method, *args, **kwargs) is not None


def test_leniency_stays_for_unknown_fields_and_a_missing_usage(make: Any) -> None:
    body = openai_chat_body("fine")
    del body["usage"]
    body["vendor"] = {"anything": [1, 2]}
    answer = make(api_key="k", transport=answering(body)).chat(model=MODEL, messages=USER)
    assert answer.choices[0].message.content == "fine"
    assert answer.usage is None


def test_an_error_object_sent_with_a_200_is_that_error(make: Any) -> None:
    body = {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}
    with pytest.raises(RateLimitedError) as info:
        make(api_key="k", transport=answering(body), max_retries=0).chat(model=MODEL, messages=USER)
    assert info.value.message == "slow down"


# ---------------------------------------------------------------------------
# 12. retry_after from any hook is clamped
# ---------------------------------------------------------------------------


class OddRetryAfter:
    """A parse_error hook that reports an unusable retry_after."""

    def __init__(self, value: float) -> None:
        self.value = value

    @hookimpl(tryfirst=True)
    def parse_error(self, call: Any, response: Any) -> LiterLlmError:
        error = error_from_response(response.status_code, {}, response.content, provider=call.provider.name)
        error.retry_after = self.value
        return error


@pytest.mark.parametrize("value", [-5.0, math.nan, math.inf, -math.inf])
def test_an_unusable_retry_after_from_a_hook_falls_back_to_the_backoff(make: Any, server: Any, value: float) -> None:
    answers = iter([429])

    def script(req: Any, out: Any) -> None:
        status = next(answers, 200)
        out.reply(status, S.chat_json("fine") if status == 200 else b'{"error": {"message": "slow"}}')

    server.script = script
    api = make(base_url=server.url + "/v1", hooks=[OddRetryAfter(value)], max_retries=1, retry_initial_delay=0.01)
    assert api.chat(model="m", messages=USER).choices[0].message.content == "fine"
    assert len(server.requests) == 2
    # and the error the caller sees carries no unusable wait
    server.script = lambda req, out: out.reply(429, b'{"error": {"message": "slow"}}')
    api = make(base_url=server.url + "/v1", hooks=[OddRetryAfter(value)], max_retries=0)
    with pytest.raises(RateLimitedError) as info:
        api.chat(model="m", messages=USER)
    assert info.value.retry_after is None


# ---------------------------------------------------------------------------
# 11. OcrDocument follows the reference; the provider's wire shape is the builder's job
# ---------------------------------------------------------------------------


def test_ocr_document_variants_follow_the_reference() -> None:
    url = t.OcrDocumentUrl(url="https://x.invalid/a.pdf")
    assert url.to_dict() == {"type": "document_url", "url": "https://x.invalid/a.pdf"}
    request = t.OcrRequest.from_dict({"model": "m", "document": {"type": "document_url", "url": "https://x/a.pdf"}})
    assert request.document == t.OcrDocumentUrl(url="https://x/a.pdf")
    b64 = t.OcrRequest.from_dict(
        {"model": "m", "document": {"type": "base64", "data": "QQ==", "media_type": "application/pdf"}}
    )
    assert b64.document == t.OcrDocumentBase64(data="QQ==", media_type="application/pdf")
    with pytest.raises(BadRequestError, match=r"document\.url"):  # the old field name is not the reference's
        t.OcrRequest.from_dict({"model": "m", "document": {"type": "document_url", "document_url": "https://x/a"}})


@pytest.mark.parametrize(
    ("document", "wire"),
    [
        (
            {"type": "document_url", "url": "https://x.invalid/a.pdf"},
            {"type": "document_url", "document_url": "https://x.invalid/a.pdf"},
        ),
        (
            {"type": "base64", "data": "JVBERi0=", "media_type": "application/pdf"},
            {"type": "document_url", "document_url": "data:application/pdf;base64,JVBERi0="},
        ),
        (
            {"type": "base64", "data": "iVBORw0=", "media_type": "image/png"},
            {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0="},
        ),
    ],
    ids=["url", "pdf", "image"],
)
def test_ocr_documents_go_on_the_wire_in_the_ocr_endpoints_shape(
    make: Any, document: dict[str, Any], wire: dict[str, Any]
) -> None:
    transport = answering({"pages": [{"index": 0, "markdown": "# A"}], "model": "m"})
    answer = make(api_key="k", transport=transport).ocr(model=MODEL, document=document, pages=[1])
    assert answer.pages[0].markdown == "# A"
    [request] = transport.requests
    assert str(request.url) == "http://127.0.0.1:9/v1/ocr"
    assert json.loads(request.content) == {"model": "m", "document": wire, "pages": [1]}


# ---------------------------------------------------------------------------
# 14. Event streams: a byte order mark, retry fields with non-ASCII digits
# ---------------------------------------------------------------------------


def stream_answer(body: bytes) -> RecordingTransport:
    return RecordingTransport(
        lambda request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    )


def test_a_leading_byte_order_mark_is_skipped(make: Any) -> None:
    body = b"\xef\xbb\xbf" + sse_body(openai_chunk("first"), openai_chunk(" second"), openai_chunk(finish="stop"))
    chunks = make(api_key="k", transport=stream_answer(body)).collect(model=MODEL, messages=USER)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "first second"


def test_a_byte_order_mark_split_across_pieces_is_skipped_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    events = decoder.feed(b"\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n")
    assert [e.data for e in events] == ["a"]  # a later BOM is not at the start: the second line is no field


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "\uff11", "12a", "-1", ""])
def test_a_retry_field_with_non_ascii_digits_is_ignored(value: str) -> None:
    decoder = SSEDecoder()
    [event] = decoder.feed(f"retry: {value}\ndata: x\n\n".encode())
    assert event.retry is None
    [event] = decoder.feed(b"retry: 250\ndata: y\n\n")
    assert event.retry == 250


def test_a_stream_with_an_odd_retry_field_is_read_to_the_end(make: Any) -> None:
    body = "retry: \u00b2\n".encode() + sse_body(openai_chunk("ok"), openai_chunk(finish="stop"))
    chunks = make(api_key="k", transport=stream_answer(body)).collect(model=MODEL, messages=USER)
    assert chunks[0].choices[0].delta.content == "ok"


# ---------------------------------------------------------------------------
# 14. Configuration limits
# ---------------------------------------------------------------------------


def create(make: Any, **options: Any) -> Any:
    factory = liter_llm.create_client if make.mode == "sync" else liter_llm.create_async_client
    return factory(**options)


def create_from_json(make: Any, text: str) -> Any:
    factory = liter_llm.create_client_from_json if make.mode == "sync" else liter_llm.create_async_client_from_json
    return factory(text)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_configuration_nested_too_deep_is_a_bad_request(make: Any, depth: int) -> None:
    with pytest.raises(BadRequestError, match="nested too deeply"):
        create(make, cache=nested(depth))
    with pytest.raises(BadRequestError, match="nested too deeply"):
        create(make, providers=[nested(depth)])
    text = '{"cache": ' + '{"x": ' * depth + "{}" + "}" * depth + "}"
    with pytest.raises(BadRequestError, match="nested too deeply"):
        create_from_json(make, text)


@pytest.mark.parametrize("field", ["timeout_secs", "connect_timeout_secs"])
@pytest.mark.parametrize("value", [1e10, 1e300])
def test_an_out_of_range_timeout_is_a_bad_request_at_creation(make: Any, field: str, value: float) -> None:
    with pytest.raises(BadRequestError, match=field):
        create(make, **{field: value})
    with pytest.raises(BadRequestError, match=field):
        create_from_json(make, json.dumps({field: value}))


def test_the_longest_timeout_accepted_works(make: Any) -> None:
    transport = answering(openai_chat_body("fine"))
    api = make(api_key="k", transport=transport, timeout_secs=liter_llm.config.MAX_TIMEOUT_SECS)
    assert api.chat(model=MODEL, messages=USER).choices[0].message.content == "fine"


# ---------------------------------------------------------------------------
# 14. A closed client says so
# ---------------------------------------------------------------------------


def test_a_call_on_a_closed_client_says_the_client_is_closed(make: Any) -> None:
    transport = answering(openai_chat_body("fine"))
    api = make(api_key="k", transport=transport)
    assert api.chat(model=MODEL, messages=USER).choices[0].message.content == "fine"
    if api.mode == "sync":
        api.client.close()
    else:
        api.run(api.client.aclose())
    for attempt in (
        lambda: api.chat(model=MODEL, messages=USER),
        lambda: api.stream(model=MODEL, messages=USER),
        lambda: api.embed(model=MODEL, input="x"),
        lambda: api.list_models(provider="fake"),
    ):
        with pytest.raises(BadRequestError, match="the client is closed"):
            attempt()
    assert len(transport.requests) == 1
