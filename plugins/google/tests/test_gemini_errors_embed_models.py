"""Google error bodies, embeddings (batchEmbedContents) and the model list, through both clients."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx
import pytest

from liter_llm import errors
from liter_llm.testing import ProviderConformance, Reply
from liter_llm.types import FinishReason

MODEL = "gemini-2.0-flash"
ASK = [{"role": "user", "content": "hi"}]


def google_body(code: int, status: str | None, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if status is not None:
        error["status"] = status
    if details is not None:
        error["details"] = details
    return {"error": error}


@pytest.mark.parametrize(
    ("http", "status", "kind"),
    [
        (429, "RESOURCE_EXHAUSTED", errors.RateLimitedError),
        (400, "INVALID_ARGUMENT", errors.BadRequestError),
        (400, "FAILED_PRECONDITION", errors.BadRequestError),
        (403, "PERMISSION_DENIED", errors.AuthenticationError),
        (401, "UNAUTHENTICATED", errors.AuthenticationError),
        (404, "NOT_FOUND", errors.NotFoundError),
        (503, "UNAVAILABLE", errors.ServiceUnavailableError),
        (504, "DEADLINE_EXCEEDED", errors.LiterLlmTimeoutError),
        (500, "INTERNAL", errors.ServerError),
        # the status string decides, even when the HTTP status says otherwise
        (500, "RESOURCE_EXHAUSTED", errors.RateLimitedError),
        # no status string: the HTTP status decides
        (404, None, errors.NotFoundError),
        (409, "ABORTED", errors.BadRequestError),
    ],
)
def test_error_kinds(run: Any, g: Any, http: int, status: str | None, kind: type[errors.LiterLlmError]) -> None:
    body = google_body(http, status, f"failure {status}")
    with pytest.raises(kind) as info:
        run(lambda r: httpx.Response(http, json=body), "chat", model=MODEL, messages=ASK)
    error = info.value
    assert type(error) is kind
    assert error.status_code == http
    assert error.provider == "gemini"
    assert error.message == f"failure {status}"
    assert error.code == status
    assert json.loads(error.body) == body
    assert g.KEY not in str(error)
    assert g.KEY not in repr(error)


def test_documented_rate_limit_uses_retry_info(run: Any, g: Any) -> None:
    body = g.load("error_rate_limit.json")
    with pytest.raises(errors.RateLimitedError) as info:
        run(lambda r: httpx.Response(429, json=body), "chat", model=MODEL, messages=ASK)
    assert info.value.retry_after == 17
    assert "exceeded your current quota" in info.value.message


def test_retry_after_header_wins_over_retry_info(run: Any, g: Any) -> None:
    body = g.load("error_rate_limit.json")
    with pytest.raises(errors.RateLimitedError) as info:
        run(lambda r: httpx.Response(429, json=body, headers={"retry-after": "3"}), "chat", model=MODEL, messages=ASK)
    assert info.value.retry_after == 3


def test_retry_info_drives_the_retry(run: Any, g: Any) -> None:
    answers = iter(
        [
            httpx.Response(
                429,
                json=google_body(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "slow down",
                    [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"}],
                ),
            ),
            httpx.Response(
                200, json={"candidates": [{"content": {"parts": [{"text": "done"}]}, "finishReason": "STOP"}]}
            ),
        ]
    )
    response = run(
        lambda r: next(answers),
        "chat",
        model=MODEL,
        messages=ASK,
        client={"api_key": g.KEY, "model_hint": "gemini", "max_retries": 1},
    )
    assert response.choices[0].message.content == "done"
    assert len(run.requests) == 2
    assert all(r.headers["x-goog-api-key"] == g.KEY for r in run.requests)


@pytest.mark.parametrize(
    "message",
    [
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        "Request exceeds the context window of the model.",
    ],
)
def test_context_window(run: Any, message: str) -> None:
    body = google_body(400, "INVALID_ARGUMENT", message)
    with pytest.raises(errors.ContextWindowExceededError):
        run(lambda r: httpx.Response(400, json=body), "chat", model=MODEL, messages=ASK)


def test_documented_invalid_key_is_an_authentication_error(run: Any, g: Any) -> None:
    with pytest.raises(errors.AuthenticationError, match="API key not valid") as info:
        run(lambda r: httpx.Response(400, json=g.load("error_api_key_invalid.json")), "chat", model=MODEL, messages=ASK)
    assert info.value.status_code == 400


def test_list_wrapped_error_body(run: Any) -> None:
    body = [google_body(429, "RESOURCE_EXHAUSTED", "Resource exhausted. Please try again later.")]
    with pytest.raises(errors.RateLimitedError, match="Resource exhausted"):
        run(lambda r: httpx.Response(429, json=body), "chat", model=MODEL, messages=ASK)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"<html>Bad Gateway</html>", errors.ServiceUnavailableError),
        (b"", errors.ServiceUnavailableError),
        (b'{"error": "plain string"}', errors.ServiceUnavailableError),
        (b'{"error": {"code": 502}}', errors.ServiceUnavailableError),
    ],
)
def test_non_google_error_bodies(run: Any, content: bytes, kind: type[errors.LiterLlmError]) -> None:
    with pytest.raises(kind) as info:
        run(lambda r: httpx.Response(502, content=content), "chat", model=MODEL, messages=ASK)
    assert info.value.status_code == 502


# ---------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------


def test_documented_batch_embed(run: Any, g: Any) -> None:
    response = run(
        lambda r: httpx.Response(200, json=g.load("batch_embed_contents.json")),
        "embed",
        model="gemini/gemini-embedding-001",
        input=["What is the meaning of life?", "How much wood would a woodchuck chuck?"],
        dimensions=3,
    )
    request = run.requests[0]
    assert (
        str(request.url)
        == "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
    )
    assert request.headers["x-goog-api-key"] == g.KEY
    assert run.body == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "What is the meaning of life?"}]},
                "outputDimensionality": 3,
            },
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "How much wood would a woodchuck chuck?"}]},
                "outputDimensionality": 3,
            },
        ]
    }
    assert [e.index for e in response.data] == [0, 1]
    assert response.data[0].embedding == [0.013168523, -0.008711934, -0.046782676]
    assert response.data[1].embedding == [-0.0072135, 0.0211, 0.0315]
    assert response.model == "gemini-embedding-001"
    assert response.object == "list"


def test_single_text_embed(run: Any) -> None:
    run(
        lambda r: httpx.Response(200, json={"embeddings": [{"values": [1, 2]}]}),
        "embed",
        model="gemini/text-embedding-004",
        input="hello",
    )
    assert run.body == {"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello"}]}}]}


def test_embed_extra_body_goes_into_every_embed_content_request(run: Any) -> None:
    # EmbedContentRequest's taskType and title (https://ai.google.dev/api/embeddings)
    run(
        lambda r: httpx.Response(200, json={"embeddings": [{"values": [1, 2]}, {"values": [3, 4]}]}),
        "embed",
        model="gemini/gemini-embedding-001",
        input=["a", "b"],
        dimensions=2,
        extra_body={"taskType": "RETRIEVAL_DOCUMENT", "title": "Notes"},
    )
    item = {"model": "models/gemini-embedding-001", "outputDimensionality": 2}
    item |= {"taskType": "RETRIEVAL_DOCUMENT", "title": "Notes"}
    assert run.body == {
        "requests": [
            {**item, "content": {"parts": [{"text": "a"}]}},
            {**item, "content": {"parts": [{"text": "b"}]}},
        ]
    }


def test_embed_extra_body_of_the_wrong_shape_is_a_bad_request(run: Any) -> None:
    with pytest.raises(errors.BadRequestError, match="extra_body"):
        run(
            lambda r: httpx.Response(200, json={}),
            "embed",
            model="gemini/gemini-embedding-001",
            input="a",
            extra_body={1: "x"},
        )


@pytest.mark.parametrize("kwargs", [{"input": [1, 2, 3]}, {"input": "x", "encoding_format": "base64"}])
def test_embed_refuses_what_google_cannot_do(run: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(errors.BadRequestError):
        run(lambda r: httpx.Response(200, json={}), "embed", model="gemini/text-embedding-004", **kwargs)
    assert run.requests == []


@pytest.mark.parametrize(
    "data", [{}, {"embeddings": [{"values": ["a"]}]}, {"embeddings": [{}]}, {"embeddings": {"values": []}}]
)
def test_malformed_embeddings(run: Any, data: Any) -> None:
    with pytest.raises(errors.SerializationError):
        run(lambda r: httpx.Response(200, json=data), "embed", model="gemini/text-embedding-004", input="x")


# ---------------------------------------------------------------------------
# Model list
# ---------------------------------------------------------------------------


def test_documented_models_list(run: Any, g: Any) -> None:
    response = run(lambda r: httpx.Response(200, json=g.load("models_list.json")), "list_models", provider="gemini")
    request = run.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/v1beta/models"
    assert request.url.params["pageSize"] == "1000"
    assert "key" not in request.url.params
    assert request.headers["x-goog-api-key"] == g.KEY
    assert [m.id for m in response.data] == ["gemini-2.0-flash", "gemini-embedding-001"]
    assert {m.owned_by for m in response.data} == {"google"}


def test_malformed_models_list(run: Any) -> None:
    with pytest.raises(errors.SerializationError):
        run(lambda r: httpx.Response(200, json={"models": [{"displayName": "x"}]}), "list_models", provider="gemini")


def test_vertex_has_no_model_list(run: Any) -> None:
    with pytest.raises(errors.EndpointNotSupportedError):
        run(lambda r: httpx.Response(200, json={}), "list_models", provider="vertex_ai")


# ---------------------------------------------------------------------------
# The core's provider conformance kit
# ---------------------------------------------------------------------------

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


_GEMINI_REASONS = {
    FinishReason.STOP: "STOP",
    FinishReason.LENGTH: "MAX_TOKENS",
    FinishReason.TOOL_CALLS: "STOP",  # Gemini says STOP; the functionCall parts make it tool_calls
    FinishReason.CONTENT_FILTER: "SAFETY",
}


def gemini_reply(reply: Reply) -> dict[str, Any]:
    """The native Gemini answer of a conformance-kit reply."""
    parts: list[dict[str, Any]] = [{"text": reply.text}] if reply.text is not None else []
    parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in reply.tool_calls]
    used = reply.usage
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": _GEMINI_REASONS[reply.finish_reason]}
        ],
        "usageMetadata": {
            "promptTokenCount": used.prompt_tokens,
            "candidatesTokenCount": used.completion_tokens,
            "totalTokenCount": used.prompt_tokens + used.completion_tokens,
        },
    }


def gemini_stream(reply: Reply, complete: bool) -> bytes:
    """The native Gemini SSE stream of a conformance-kit reply (cut before the finish when not complete)."""
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": p}]}, "index": 0}]} for p in reply.parts
    ]
    if complete:
        final = gemini_reply(Reply(text="", finish_reason=reply.finish_reason, usage=reply.usage))
        events[-1]["candidates"][0]["finishReason"] = final["candidates"][0]["finishReason"]
        events[-1]["usageMetadata"] = final["usageMetadata"]
    return b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)


class GoogleNative:
    """Native Gemini answers for the conformance kit."""

    tool_call_ids = False  # Gemini's functionCall parts carry no id

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith(":generateContent")
        return httpx.Response(200, json=gemini_reply(reply))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        assert request.url.path.endswith(":streamGenerateContent")
        assert request.url.params["alt"] == "sse"
        return httpx.Response(
            200, content=gemini_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json=google_body(status, _STATUS.get(status), message), headers=headers)


class TestGeminiConformance(GoogleNative, ProviderConformance):
    provider = "gemini"
    model = "gemini-2.0-flash"
    key_header = "x-goog-api-key"


class TestGeminiConformanceModelHint(GoogleNative, ProviderConformance):
    provider = "gemini"
    model = "some-model"
    key_header = "x-goog-api-key"
    client_options: ClassVar[dict[str, Any]] = {"model_hint": "gemini", "base_url": "http://127.0.0.1:9/v1beta"}


@pytest.mark.parametrize("delay", [{"seconds": -5}, {"seconds": "nan"}, {"seconds": "inf"}, "-5s"])
def test_an_unusable_retry_info_falls_back_to_the_backoff(run: Any, g: Any, delay: Any) -> None:
    """A negative, NaN or infinite RetryInfo is no wait: the retry uses the backoff (no bare ValueError)."""
    answers = iter(
        [
            httpx.Response(
                429,
                json=google_body(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "slow down",
                    [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}],
                ),
            ),
            httpx.Response(
                200, json={"candidates": [{"content": {"parts": [{"text": "done"}]}, "finishReason": "STOP"}]}
            ),
        ]
    )
    client = {"api_key": g.KEY, "model_hint": "gemini", "max_retries": 1, "retry_initial_delay": 0.01}
    response = run(lambda r: next(answers), "chat", model=MODEL, messages=ASK, client=client)
    assert response.choices[0].message.content == "done"
    assert len(run.requests) == 2


@pytest.mark.parametrize("delay", [{"seconds": -5}, {"seconds": "nan"}])
def test_an_unusable_retry_info_is_not_the_errors_retry_after(run: Any, delay: Any) -> None:
    body = google_body(
        429,
        "RESOURCE_EXHAUSTED",
        "slow down",
        [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}],
    )
    with pytest.raises(errors.RateLimitedError) as info:
        run(lambda r: httpx.Response(429, json=body), "chat", model=MODEL, messages=ASK)
    assert info.value.retry_after is None
