"""Anthropic error answers -> the LiterLlmError family, through both clients."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from liter_llm import errors
from liter_llm.errors import LiterLlmError

from .conftest import API_KEY, Runner, fixture_json

REQUEST = {"model": "claude-sonnet-4-20250514", "messages": [{"role": "user", "content": "Hello"}]}


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }


@pytest.fixture(params=["chat", "chat_stream"])
def op(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fail(run: Runner, op: str, handler: Any, **options: Any) -> LiterLlmError:
    with pytest.raises(LiterLlmError) as info:
        run(op, handler, REQUEST, client_options=options or None)
    return info.value


# the documented error types, with their documented HTTP statuses
TABLE = [
    (400, "invalid_request_error", "messages: roles must alternate", errors.BadRequestError),
    (401, "authentication_error", "invalid x-api-key", errors.AuthenticationError),
    (403, "permission_error", "Your API key does not have permission", errors.AuthenticationError),
    (404, "not_found_error", "The requested resource could not be found.", errors.NotFoundError),
    (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", errors.BadRequestError),
    (429, "rate_limit_error", "Your account has hit a rate limit.", errors.RateLimitedError),
    (500, "api_error", "An unexpected error has occurred internal to Anthropic's systems.", errors.ServerError),
    (529, "overloaded_error", "Anthropic's API is temporarily overloaded.", errors.ServiceUnavailableError),
]


@pytest.mark.parametrize(("status", "error_type", "message", "kind"), TABLE)
def test_documented_error_types(
    run: Runner, op: str, status: int, error_type: str, message: str, kind: type[LiterLlmError]
) -> None:
    error = fail(run, op, lambda _: httpx.Response(status, json=error_body(error_type, message)))
    assert type(error) is kind
    assert error.status_code == status
    assert error.code == error_type
    assert error.message == message
    assert error.provider == "anthropic"
    assert error.body is not None
    assert "req_011CSHoEeqs5C35K2UUqR7Fy" in error.body
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)


def test_documented_not_found_fixture(run: Runner, op: str) -> None:
    error = fail(run, op, lambda _: httpx.Response(404, json=fixture_json("error_not_found.json")))
    assert isinstance(error, errors.NotFoundError)
    assert error.message == "The requested resource could not be found."


def test_prompt_too_long_is_context_window_exceeded(run: Runner, op: str) -> None:
    body = error_body("invalid_request_error", "prompt is too long: 203456 tokens > 200000 maximum")
    error = fail(run, op, lambda _: httpx.Response(400, json=body))
    assert isinstance(error, errors.ContextWindowExceededError)
    assert error.code == "invalid_request_error"


def test_retry_after_is_honoured(run: Runner, op: str) -> None:
    body = error_body("rate_limit_error", "Number of requests has exceeded your rate limit")
    error = fail(run, op, lambda _: httpx.Response(429, json=body, headers={"retry-after": "7"}))
    assert isinstance(error, errors.RateLimitedError)
    assert error.retry_after == 7


def test_overloaded_is_retried_then_succeeds(run: Runner, op: str) -> None:
    answers = iter(
        [
            httpx.Response(529, json=error_body("overloaded_error", "Overloaded"), headers={"retry-after": "0"}),
            None,
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer is not None:
            return answer
        if op == "chat_stream":
            from .conftest import fixture_text, sse_response

            return sse_response(fixture_text("stream_text.sse"))
        return httpx.Response(200, json=fixture_json("message_text.json"))

    result = run(op, handler, REQUEST, client_options={"max_retries": 2})
    assert len(run.requests) == 2
    assert result


@pytest.mark.parametrize(
    ("status", "content", "kind", "words"),
    [
        (502, b"<html>bad gateway</html>", errors.ServiceUnavailableError, "bad gateway"),
        (500, b"", errors.ServerError, "empty body"),
        (400, b'{"type": "error", "error": "just a string"}', errors.BadRequestError, "just a string"),
        (418, b'{"unexpected": true}', errors.BadRequestError, "unexpected"),
        (400, b"{" * 5000, errors.BadRequestError, "{{{"),
    ],
)
def test_unusual_error_bodies_still_map(
    run: Runner, op: str, status: int, content: bytes, kind: type[LiterLlmError], words: str
) -> None:
    error = fail(run, op, lambda _: httpx.Response(status, content=content))
    assert type(error) is kind
    assert words in error.message
    assert len(error.message) < 700
