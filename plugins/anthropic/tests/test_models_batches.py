"""list_models, the Message Batches API, and the endpoints Anthropic lacks, through both clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import liter_llm_anthropic
from liter_llm.errors import BadRequestError, EndpointNotSupportedError, NotFoundError, SerializationError
from liter_llm.types import Batch, BatchRequestCounts, CreateBatchRequest, ModelObject

from .conftest import API_KEY, Runner, fixture_json

# 2024-09-24T18:37:24Z and friends, as unix seconds
CREATED_0924 = 1727203044
EXPIRES_0925 = 1727289444
CANCEL_0924 = 1727203143
AUG_20 = 1724179044


def answer(data: Any, status: int = 200) -> Any:
    return lambda _: httpx.Response(status, json=data)


def test_list_models(run: Runner) -> None:
    result = run("list_models", answer(fixture_json("models_list.json")))
    request = run.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/v1/models"
    assert request.url.params["limit"] == "1000"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert result.object == "list"
    assert result.data == [
        ModelObject(id="claude-3-7-sonnet-20250219", object="model", created=1739923200, owned_by="anthropic"),
        ModelObject(id="claude-3-5-sonnet-20241022", object="model", created=1729555200, owned_by="anthropic"),
    ]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"data": [{"id": "m", "created_at": "yesterday"}]}, "created_at"),
        ({"data": [{"display_name": "no id"}]}, "data[0].id"),
        ({"data": "nope"}, "data"),
    ],
)
def test_list_models_malformed(run: Runner, data: Any, words: str) -> None:
    with pytest.raises(SerializationError) as info:
        run("list_models", answer(data))
    assert words in info.value.message


def test_batch_request_helper_encodes_chat_requests() -> None:
    request = liter_llm_anthropic.batch_request(
        [
            (
                "my-first-request",
                {
                    "model": "anthropic/claude-opus-4-20250514",
                    "messages": [{"role": "user", "content": "Hello, world"}],
                },
            ),
            (
                "my-second-request",
                {
                    "model": "claude-opus-4-20250514",
                    "max_tokens": 1024,
                    "messages": [{"role": "user", "content": "Hi again, friend"}],
                },
            ),
        ]
    )
    assert isinstance(request, CreateBatchRequest)
    assert request.endpoint == "anthropic:messages"
    assert request.input_file_id == "inline"
    assert request.metadata is not None
    # the documented Message Batches request
    assert json.loads(request.metadata["liter_llm_requests"]) == [
        {
            "custom_id": "my-first-request",
            "params": {
                "model": "claude-opus-4-20250514",
                "max_tokens": 4096,
                "messages": [{"role": "user", "content": "Hello, world"}],
            },
        },
        {
            "custom_id": "my-second-request",
            "params": {
                "model": "claude-opus-4-20250514",
                "max_tokens": 1024,
                "messages": [{"role": "user", "content": "Hi again, friend"}],
            },
        },
    ]


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ([], "at least one"),
        ([("bad id!", {"model": "claude-x", "messages": []})], "custom_id"),
        ([("a", {"model": "claude-x", "messages": []}), ("a", {"model": "claude-x", "messages": []})], "twice"),
        ([("a", {"model": "claude-x", "messages": [], "n": 3})], "n"),
        ([("a", {"model": "claude-x", "messages": [], "bogus": 1})], "bogus"),
        (["just-a-string"], "pair"),
    ],
)
def test_batch_request_helper_rejects_bad_input(items: list[Any], words: str) -> None:
    with pytest.raises(BadRequestError) as info:
        liter_llm_anthropic.batch_request(items)
    assert words in info.value.message


def test_create_batch(run: Runner) -> None:
    batch_req = liter_llm_anthropic.batch_request(
        [
            (
                "my-first-request",
                {"model": "claude-opus-4-20250514", "messages": [{"role": "user", "content": "Hello, world"}]},
            )
        ]
    )
    batch = run("create_batch", answer(fixture_json("batch_in_progress.json")), batch_req, provider="anthropic")
    request = run.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/v1/messages/batches"
    assert request.headers["x-api-key"] == API_KEY
    assert json.loads(request.content) == {
        "requests": [
            {
                "custom_id": "my-first-request",
                "params": {
                    "model": "claude-opus-4-20250514",
                    "max_tokens": 4096,
                    "messages": [{"role": "user", "content": "Hello, world"}],
                },
            }
        ]
    }
    assert batch == Batch(
        id="msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
        object="batch",
        endpoint="/v1/messages",
        status="in_progress",
        input_file_id="",
        completion_window="24h",
        created_at=CREATED_0924,
        expires_at=EXPIRES_0925,
        request_counts=BatchRequestCounts(total=2, completed=0, failed=0),
        metadata={
            "processing_status": "in_progress",
            "results_url": None,
            "request_counts": {"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
        },
    )


def test_create_batch_from_a_file_is_refused_with_the_way_out(run: Runner) -> None:
    with pytest.raises(BadRequestError) as info:
        run(
            "create_batch",
            answer({}),
            {"input_file_id": "file-abc", "endpoint": "/v1/chat/completions"},
            provider="anthropic",
        )
    assert "batch_request" in info.value.message
    assert run.requests == []


def test_retrieve_ended_batch(run: Runner) -> None:
    batch = run("retrieve_batch", answer(fixture_json("batch_ended.json")), "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d")
    request = run.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d"
    assert batch.status == "completed"
    assert batch.request_counts == BatchRequestCounts(total=100, completed=95, failed=5)
    assert batch.completed_at == AUG_20
    assert batch.metadata is not None
    assert batch.metadata["results_url"].endswith("/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/results")


def test_cancel_batch(run: Runner) -> None:
    batch = run("cancel_batch", answer(fixture_json("batch_canceling.json")), "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")
    request = run.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/cancel"
    assert batch.status == "cancelling"
    assert batch.cancelling_at == CANCEL_0924


def test_batch_ids_are_escaped(run: Runner) -> None:
    run("retrieve_batch", answer(fixture_json("batch_ended.json")), "../models?x=1")
    assert run.requests[0].url.raw_path == b"/v1/messages/batches/..%2Fmodels%3Fx%3D1"


def test_list_batches(run: Runner) -> None:
    page = run("list_batches", answer(fixture_json("batch_list.json")), {"limit": 20, "after": "msgbatch_0"})
    request = run.requests[0]
    assert request.url.path == "/v1/messages/batches"
    assert dict(request.url.params) == {"limit": "20", "after_id": "msgbatch_0"}
    assert page.has_more is True
    assert page.first_id == page.last_id == "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d"
    [batch] = page.data
    assert batch.status == "completed"
    run("list_batches", answer({"data": [], "has_more": False}))
    assert "limit" not in run.requests[-1].url.params


def test_batch_not_found(run: Runner) -> None:
    with pytest.raises(NotFoundError):
        run("retrieve_batch", answer(fixture_json("error_not_found.json"), 404), "msgbatch_missing")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"id": "b", "processing_status": "ended", "created_at": 5}, "created_at"),
        ({"id": "b", "processing_status": "ended", "request_counts": {"succeeded": "x"}}, "succeeded"),
        ({"processing_status": "ended"}, "id"),
        ({"id": "b"}, "processing_status"),
    ],
)
def test_malformed_batches(run: Runner, data: Any, words: str) -> None:
    with pytest.raises(SerializationError) as info:
        run("retrieve_batch", answer(data), "b")
    assert words in info.value.message


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("embed", ({"model": "claude-x", "input": "hi"},), {}),
        ("image_generate", ({"model": "claude-x", "prompt": "a cat"},), {}),
        ("speech", ({"model": "claude-x", "input": "hi", "voice": "alloy"},), {}),
        ("transcribe", ({"model": "claude-x", "file": b"RIFF"},), {}),
        ("moderate", ({"model": "claude-x", "input": "hi"},), {}),
        ("rerank", ({"model": "claude-x", "query": "q", "documents": ["a"]},), {}),
        ("search", ({"model": "claude-x", "query": "q"},), {}),
        ("ocr", ({"model": "claude-x", "document": {"type": "document_url", "url": "https://x"}},), {}),
        ("create_response", ({"model": "claude-x", "input": "hi"},), {}),
        ("retrieve_file", ("file-1",), {"provider": "anthropic"}),
        ("list_files", (), {"provider": "anthropic"}),
        ("retrieve_response", ("resp-1",), {"provider": "anthropic"}),
    ],
)
def test_endpoints_anthropic_lacks(run: Runner, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(EndpointNotSupportedError) as info:
        run(method, answer({}), *args, **kwargs)
    assert info.value.provider == "anthropic"
    assert run.requests == [], "nothing may be sent for an endpoint Anthropic lacks"
