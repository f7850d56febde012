"""The error family: status/body -> kind mapping, Retry-After, messages and pickling."""

from __future__ import annotations

import email.utils
import json
import pickle
from typing import Any

import httpx
import pytest

from liter_llm import errors as E
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ContentPolicyError,
    ContextWindowExceededError,
    EndpointNotSupportedError,
    HookRejectedError,
    InternalError,
    InvalidHeaderError,
    LiterLlmError,
    LiterLlmTimeoutError,
    NotFoundError,
    RateLimitedError,
    SerializationError,
    ServerError,
    ServiceUnavailableError,
    StreamingError,
    error_from_response,
    error_from_status,
    parse_retry_after,
)

NOW = 1_700_000_000.0  # a fixed "now" for HTTP-date Retry-After values


def openai_body(message: str, *, type_: str | None = None, code: str | None = None, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "code": code, "param": param}}).encode()


# ---------------------------------------------------------------------------
# Status -> kind
# ---------------------------------------------------------------------------

STATUS_TABLE: list[tuple[int, type[LiterLlmError]]] = [
    (400, BadRequestError),
    (422, BadRequestError),
    (413, BadRequestError),
    (401, AuthenticationError),
    (403, AuthenticationError),
    (404, NotFoundError),
    (408, LiterLlmTimeoutError),
    (504, ServiceUnavailableError),  # as the reference maps it
    (429, RateLimitedError),
    (500, ServerError),
    (502, ServiceUnavailableError),
    (503, ServiceUnavailableError),
    (529, ServiceUnavailableError),
    (402, BadRequestError),
    (405, BadRequestError),
    (409, BadRequestError),
    (418, BadRequestError),
    (451, BadRequestError),
    (499, BadRequestError),
    (501, ServerError),
    (505, ServerError),
    (520, ServerError),
    (599, ServerError),
]


@pytest.mark.parametrize(("status", "kind"), STATUS_TABLE)
def test_error_from_status_kind(status: int, kind: type[LiterLlmError]) -> None:
    err = error_from_status(status, "something happened", provider="openai")
    assert type(err) is kind
    assert err.status_code == status
    assert err.provider == "openai"
    assert err.message == "something happened"


@pytest.mark.parametrize(("status", "kind"), STATUS_TABLE)
def test_error_from_response_kind(status: int, kind: type[LiterLlmError]) -> None:
    err = error_from_response(status, {}, openai_body("something happened"), provider="groq")
    assert type(err) is kind
    assert err.status_code == status
    assert err.provider == "groq"
    assert err.message == "something happened"


@pytest.mark.parametrize("status", [408])
def test_timeouts_are_builtin_timeout_errors(status: int) -> None:
    err = error_from_status(status, "slow")
    assert isinstance(err, LiterLlmTimeoutError)
    assert isinstance(err, TimeoutError)


def test_hierarchy() -> None:
    assert issubclass(ContextWindowExceededError, BadRequestError)
    assert issubclass(ContentPolicyError, BadRequestError)
    assert issubclass(ServiceUnavailableError, ServerError)
    for name in E.__all__:
        obj = getattr(E, name)
        if isinstance(obj, type):
            assert issubclass(obj, LiterLlmError)
            assert issubclass(obj, Exception)


# ---------------------------------------------------------------------------
# Context window and content policy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, openai_body("too long", type_="invalid_request_error", code="context_length_exceeded")),
        (
            400,
            openai_body(
                "This model's maximum context length is 128000 tokens. "
                "However, your messages resulted in 130000 tokens.",
                type_="invalid_request_error",
            ),
        ),
        (
            400,
            json.dumps(
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "prompt is too long: 200001 tokens > 200000"},
                }
            ).encode(),
        ),
        (422, openai_body("Input is too long for requested model.")),
        (413, openai_body("Request exceeds the context window of this model")),
        (400, json.dumps({"message": "prompt is too long"}).encode()),
        (400, b"This model's maximum context length is 4096 tokens"),
    ],
)
def test_context_window_exceeded(status: int, body: bytes) -> None:
    err = error_from_response(status, {}, body, provider="p")
    assert type(err) is ContextWindowExceededError
    assert isinstance(err, BadRequestError)
    assert err.status_code == status


def test_context_window_code_is_kept() -> None:
    err = error_from_response(400, {}, openai_body("too long", code="context_length_exceeded"))
    assert err.code == "context_length_exceeded"


@pytest.mark.parametrize(
    "body",
    [
        openai_body("Your request was rejected", code="content_policy_violation"),
        openai_body("The response was filtered", code="content_filter"),
        openai_body("nope", type_="content_filter"),
        openai_body("Your request was rejected as a result of our safety system."),
        openai_body("The response was filtered due to the prompt triggering Azure OpenAI's content management policy."),
        json.dumps({"error": "content_policy_violation"}).encode(),
    ],
)
def test_content_policy(body: bytes) -> None:
    err = error_from_response(400, {}, body, provider="azure")
    assert type(err) is ContentPolicyError
    assert isinstance(err, BadRequestError)


def test_markers_only_apply_to_bad_requests() -> None:
    assert type(error_from_status(500, "context_length_exceeded")) is ServerError
    assert type(error_from_status(429, "content_filter")) is RateLimitedError


def test_plain_bad_request_is_not_specialised() -> None:
    err = error_from_response(400, {}, openai_body("Invalid value for temperature", param="temperature"))
    assert type(err) is BadRequestError


def test_error_from_status_uses_code_and_type() -> None:
    assert type(error_from_status(400, "x", code="context_length_exceeded")) is ContextWindowExceededError
    assert type(error_from_status(400, "x", error_type="content_filter")) is ContentPolicyError
    err = error_from_status(400, "x", error_type="invalid_request_error")
    assert err.code == "invalid_request_error"  # the type stands in for a missing code
    err = error_from_status(400, "x", code="bad_param", error_type="invalid_request_error")
    assert err.code == "bad_param"


def test_error_from_status_empty_message() -> None:
    err = error_from_status(500, "")
    assert err.message == "HTTP 500"


# ---------------------------------------------------------------------------
# Retry-After
# ---------------------------------------------------------------------------


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # milliseconds win
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after-ms": "-5", "retry-after": "9"}, 9.0),
        ({"retry-after": http_date(NOW + 30)}, 30.0),
        ({"retry-after": http_date(NOW - 30)}, 0.0),  # in the past: retry now
        ({"retry-after": "-3"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "1e400"}, None),
        ({"retry-after-ms": "inf"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "Mon, 99 Foo 2024 99:99:99 GMT"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_parse_retry_after_with_httpx_headers_is_case_insensitive() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "4"}), now=NOW) == 4.0
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "40"}), now=NOW) == 0.04


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1200"}, 1.2),
        ({"retry-after": "20"}, 20.0),
        ({}, None),
    ],
)
def test_rate_limited_carries_retry_after(headers: dict[str, str], expected: float | None) -> None:
    err = error_from_response(429, headers, openai_body("Rate limit reached", code="rate_limit_exceeded"), provider="p")
    assert type(err) is RateLimitedError
    assert err.retry_after == expected
    assert err.code == "rate_limit_exceeded"


def test_rate_limited_retry_after_http_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(E.time, "time", lambda: NOW)
    err = error_from_response(429, {"retry-after": http_date(NOW + 42)}, b"slow down")
    assert type(err) is RateLimitedError
    assert err.retry_after == 42.0


# ---------------------------------------------------------------------------
# Body shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            openai_body("Incorrect API key provided", type_="invalid_request_error", code="invalid_api_key"),
            "Incorrect API key provided",
            "invalid_api_key",
        ),
        (openai_body("Bad thing", type_="invalid_request_error"), "Bad thing", "invalid_request_error"),
        (json.dumps({"error": "plain error text"}).encode(), "plain error text", None),
        (json.dumps({"error": "text", "code": "E42"}).encode(), "text", "E42"),
        (json.dumps({"message": "top-level message", "code": 1234}).encode(), "top-level message", "1234"),
        (json.dumps({"detail": "Not authenticated"}).encode(), "Not authenticated", None),
        (
            json.dumps({"detail": [{"loc": ["body", "model"], "msg": "field required"}]}).encode(),
            json.dumps([{"loc": ["body", "model"], "msg": "field required"}]),
            None,
        ),
        (
            json.dumps([{"error": {"code": 400, "message": "Gemini says no", "status": "INVALID_ARGUMENT"}}]).encode(),
            "Gemini says no",
            "400",
        ),
        (
            json.dumps({"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}).encode(),
            "models/x is not found",
            "404",
        ),
        (b"upstream connect error", "upstream connect error", None),
        (b"  padded text \n", "padded text", None),
        (b'{"not json at all', '{"not json at all', None),
        (b"{oops}", "{oops}", None),
        (b"[]", "[]", None),
        (b"[1, 2]", "[1, 2]", None),
        (b'{"unrelated": true}', '{"unrelated": true}', None),
        (b'{"error": null}', '{"error": null}', None),
        (b'{"error": {"message": ""}}', '{"error": {"message": ""}}', None),
        (b'"just a json string"', '"just a json string"', None),
    ],
)
def test_body_shapes(body: bytes, message: str, code: str | None) -> None:
    err = error_from_response(400, {}, body, provider="p")
    assert err.message == message
    assert err.code == code
    assert err.body == body.decode()


def test_html_body() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    err = error_from_response(502, {"content-type": "text/html"}, html, provider="p")
    assert type(err) is ServiceUnavailableError
    assert "502 Bad Gateway" in err.message
    assert err.body == html.decode()


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_body(body: bytes) -> None:
    err = error_from_response(503, {}, body, provider="p")
    assert type(err) is ServiceUnavailableError
    assert "503" in err.message
    assert "empty" in err.message


def test_empty_body_is_stored_as_none() -> None:
    assert error_from_response(500, {}, b"").body is None


def test_invalid_utf8_body() -> None:
    err = error_from_response(500, {}, b"bad \xff\xfe bytes", provider="p")
    assert type(err) is ServerError
    assert err.message.startswith("bad ")
    assert "\ufffd" in err.message
    assert err.body is not None


def test_invalid_utf8_inside_json() -> None:
    err = error_from_response(400, {}, b'{"error": {"message": "caf\xe9 broken"}}')
    assert err.message == "caf\ufffd broken"


def test_huge_plain_body_is_truncated_in_message() -> None:
    body = b"x" * 1_000_000
    err = error_from_response(500, {}, body, provider="p")
    assert len(err.message) < 1000
    assert "1000000 characters" in err.message
    assert err.body is not None
    assert len(err.body) == 1_000_000  # the raw body is kept whole
    assert len(str(err)) < 1200


def test_huge_json_message_is_truncated() -> None:
    err = error_from_response(400, {}, openai_body("y" * 200_000))
    assert len(err.message) < 1000
    assert len(str(err)) < 1200


def test_deeply_nested_json_body_does_not_crash() -> None:
    for body in (b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        err = error_from_response(500, {}, body, provider="p")
        assert type(err) is ServerError
    nested = b"[" * 900 + b'{"error": {"message": "deep"}}' + b"]" * 900
    err = error_from_response(400, {}, nested)
    assert isinstance(err, BadRequestError)


# ---------------------------------------------------------------------------
# str() and repr()
# ---------------------------------------------------------------------------


def test_str_names_provider_status_and_message() -> None:
    err = error_from_response(
        429, {"retry-after": "3"}, openai_body("Slow down", code="rate_limit_exceeded"), provider="openai"
    )
    text = str(err)
    assert "openai" in text
    assert "429" in text
    assert "Slow down" in text
    assert "rate_limit_exceeded" in text
    assert "RateLimitedError" in repr(err)
    assert "Slow down" in repr(err)


@pytest.mark.parametrize(("status", "kind"), STATUS_TABLE)
def test_str_for_every_kind(status: int, kind: type[LiterLlmError]) -> None:
    err = error_from_response(status, {}, b"the message", provider="prov")
    assert "prov" in str(err)
    assert str(status) in str(err)
    assert "the message" in str(err)


def test_str_without_provider_or_status() -> None:
    assert str(BadRequestError("plain")) == "bad request: plain"


# ---------------------------------------------------------------------------
# Pickling
# ---------------------------------------------------------------------------

COMMON = {
    "status_code": 418,
    "provider": "teapot",
    "code": "short_and_stout",
    "retry_after": 1.25,
    "body": '{"error": "tip me over"}',
}


def all_errors() -> list[LiterLlmError]:
    simple = [
        cls("boom", **COMMON)
        for cls in (
            LiterLlmError,
            AuthenticationError,
            RateLimitedError,
            BadRequestError,
            ContextWindowExceededError,
            ContentPolicyError,
            NotFoundError,
            ServerError,
            ServiceUnavailableError,
            LiterLlmTimeoutError,
            SerializationError,
            InternalError,
        )
    ]
    extra: list[LiterLlmError] = [
        StreamingError("stream broke", chunks=[{"id": "c1"}, {"id": "c2", "delta": "hi"}], **COMMON),
        EndpointNotSupportedError("anthropic", "moderate", **{k: v for k, v in COMMON.items() if k != "provider"}),
        InvalidHeaderError("X-Bad", "contains a newline", **COMMON),
        BudgetExceededError("over budget", limit_name="model:gpt-4o", limit=5.0, spent=5.5, **COMMON),
        HookRejectedError("no thanks", hook="guardrail", reason="pii detected", **COMMON),
        HookRejectedError("reason defaults to message", hook="h"),
    ]
    stream_timeout = getattr(E, "StreamTimeoutError", None)
    if stream_timeout is not None:
        extra.append(stream_timeout("quiet stream", chunks=["a"], **COMMON))
    return simple + extra


EXTRA_ATTRIBUTES = ("chunks", "endpoint", "name", "reason", "limit_name", "limit", "spent", "hook")


@pytest.mark.parametrize("err", all_errors(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_all_attributes(err: LiterLlmError) -> None:
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is type(err)
    for attr in ("message", "status_code", "provider", "code", "retry_after", "body", *EXTRA_ATTRIBUTES):
        if hasattr(err, attr):
            assert getattr(clone, attr) == getattr(err, attr), attr
    assert str(clone) == str(err)
    assert repr(clone) == repr(err)
    assert clone.args == err.args
    assert isinstance(clone, LiterLlmError)


def test_pickled_subclass_extras_explicitly() -> None:
    stream = pickle.loads(pickle.dumps(StreamingError("x", chunks=[1, 2, 3])))
    assert stream.chunks == [1, 2, 3]
    budget = pickle.loads(pickle.dumps(BudgetExceededError("x", limit_name="global", limit=1.0, spent=2.0)))
    assert (budget.limit_name, budget.limit, budget.spent) == ("global", 1.0, 2.0)
    hook = pickle.loads(pickle.dumps(HookRejectedError("x", hook="h", reason="r")))
    assert (hook.hook, hook.reason) == ("h", "r")
    endpoint = pickle.loads(pickle.dumps(EndpointNotSupportedError("p", "ocr")))
    assert (endpoint.provider, endpoint.endpoint) == ("p", "ocr")
    assert "ocr" in endpoint.message
    timeout = pickle.loads(pickle.dumps(LiterLlmTimeoutError("slow", status_code=504)))
    assert isinstance(timeout, TimeoutError)
    assert timeout.status_code == 504


@pytest.mark.parametrize("status", [s for s, _ in STATUS_TABLE])
def test_mapped_errors_pickle(status: int) -> None:
    err = error_from_response(status, {"retry-after": "2"}, openai_body("m", code="c"), provider="p")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is type(err)
    assert (clone.status_code, clone.provider, clone.code, clone.retry_after, clone.body, clone.message) == (
        err.status_code,
        err.provider,
        err.code,
        err.retry_after,
        err.body,
        err.message,
    )


def test_errors_can_be_raised_and_caught_as_their_family() -> None:
    with pytest.raises(LiterLlmError):
        raise error_from_status(503, "down")
    with pytest.raises(TimeoutError):
        raise error_from_status(408, "request timeout")


def test_extract_error_fields_shapes() -> None:
    extract: Any = E.extract_error_fields
    assert extract(None) == (None, None, None)
    assert extract("text") == (None, None, None)
    assert extract([]) == (None, None, None)
    assert extract({"error": {"message": "m", "code": "c", "type": "t"}}) == ("m", "c", "t")
