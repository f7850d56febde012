"""Bedrock's exceptions -> our error kinds: from x-amzn-errortype, from the JSON body, in a stream."""

from __future__ import annotations

import httpx
import pytest

from liter_llm import errors

from .conftest import Runner, exception, stream_response

MODEL = "amazon.nova-pro-v1:0"
USER = [{"role": "user", "content": "Hi"}]

CASES = [
    ("ThrottlingException", 429, "Too many requests, please wait before trying again.", errors.RateLimitedError),
    (
        "ValidationException",
        400,
        "Malformed input request: extraneous key [foo] is not permitted",
        errors.BadRequestError,
    ),
    (
        "ValidationException",
        400,
        "Input is too long for requested model.",
        errors.ContextWindowExceededError,
    ),
    (
        "ValidationException",
        400,
        "prompt is too long: 210000 tokens > 200000 maximum",
        errors.ContextWindowExceededError,
    ),
    (
        "AccessDeniedException",
        403,
        "You don't have access to the model with the specified model ID.",
        errors.AuthenticationError,
    ),
    (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
        errors.AuthenticationError,
    ),
    ("ExpiredTokenException", 403, "The security token included in the request is expired", errors.AuthenticationError),
    (
        "ResourceNotFoundException",
        404,
        "Could not resolve the foundation model from the model identifier.",
        errors.NotFoundError,
    ),
    (
        "ModelNotReadyException",
        429,
        "The model is not ready to serve inference requests.",
        errors.ServiceUnavailableError,
    ),
    ("ServiceUnavailableException", 503, "Bedrock is unable to process your request.", errors.ServiceUnavailableError),
    ("ModelTimeoutException", 408, "Model has timed out in processing the request.", errors.LiterLlmTimeoutError),
    ("InternalServerException", 500, "The server encountered an internal error.", errors.ServerError),
]


@pytest.mark.parametrize(("name", "status", "message", "kind"), CASES)
def test_error_from_the_header(run: Runner, name: str, status: int, message: str, kind: type) -> None:
    headers = {"x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    reply = httpx.Response(status, json={"message": message}, headers=headers)
    with pytest.raises(kind) as info:
        run("chat", lambda r: reply, model=MODEL, messages=USER)
    assert info.value.code == name
    assert info.value.message == message
    assert info.value.provider == "bedrock"
    assert info.value.status_code == status


@pytest.mark.parametrize(("name", "status", "message", "kind"), CASES)
def test_error_from_the_body(run: Runner, name: str, status: int, message: str, kind: type) -> None:
    body = {"__type": f"com.amazon.coral.validate#{name}", "Message": message}
    with pytest.raises(kind) as info:
        run("chat", lambda r: httpx.Response(status, json=body), model=MODEL, messages=USER)
    assert info.value.code == name
    assert info.value.message == message


@pytest.mark.parametrize(("name", "status", "message", "kind"), CASES)
def test_error_as_a_stream_exception(run: Runner, name: str, status: int, message: str, kind: type) -> None:
    wire_name = name[0].lower() + name[1:]  # the event stream names them in camel case
    with pytest.raises(kind) as info:
        run("chat_stream", lambda r: stream_response([exception(wire_name, message)]), model=MODEL, messages=USER)
    assert info.value.message == message


def test_retry_after_and_throttling_retried(run: Runner) -> None:
    answers = iter(
        [
            httpx.Response(
                429,
                json={"message": "slow down"},
                headers={"x-amzn-errortype": "ThrottlingException", "retry-after": "0"},
            )
        ]
    )
    ok = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
    response = run(
        "chat",
        lambda r: next(answers, httpx.Response(200, json=ok)),
        model=MODEL,
        messages=USER,
        client_options={"max_retries": 1},
    )
    assert response.choices[0].message.content == "hi"
    assert len(run.requests) == 2


@pytest.mark.parametrize("body", [b"", b"<html>gateway</html>", b"{broken", b'{"message": 5}'])
def test_odd_error_bodies(run: Runner, body: bytes) -> None:
    with pytest.raises(errors.ServerError) as info:
        run("chat", lambda r: httpx.Response(502, content=body), model=MODEL, messages=USER)
    assert info.value.status_code == 502


def test_keys_never_in_errors(run: Runner) -> None:
    from .conftest import SECRET_KEY

    reply = httpx.Response(403, json={"message": "denied"}, headers={"x-amzn-errortype": "AccessDeniedException"})
    with pytest.raises(errors.AuthenticationError) as info:
        run("chat", lambda r: reply, model=MODEL, messages=USER)
    assert SECRET_KEY not in str(info.value)
    assert SECRET_KEY not in repr(info.value)
