"""Azure's own answers: content-filter results, retry-after-ms, missing deployments, bad bodies."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from liter_llm.errors import (
    AuthenticationError,
    ContentPolicyError,
    NotFoundError,
    RateLimitedError,
    SerializationError,
    StreamingError,
)
from liter_llm.types import FinishReason
from liter_llm_azure import AzureContentFilterError

MESSAGES = [{"role": "user", "content": "Hello"}]


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    return lambda request: httpx.Response(status, json=body, headers=headers or {})


def test_prompt_filtered_400_is_content_policy_error_with_categories(run: Any, az: Any) -> None:
    with pytest.raises(ContentPolicyError) as info:
        run(answer(400, az.load("error_content_filter.json")), "chat", model="azure/d", messages=MESSAGES)
    error = info.value
    assert isinstance(error, AzureContentFilterError)
    assert error.categories == ["hate", "self_harm", "violence"]
    assert error.filter_results["violence"] == {"filtered": True, "severity": "medium"}
    assert error.status_code == 400
    assert error.provider == "azure"
    assert error.code == "ResponsibleAIPolicyViolation"
    assert "content management policy" in error.message
    assert az.KEY not in str(error)
    assert az.KEY not in repr(error)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, AzureContentFilterError)
    assert copy.categories == error.categories


def test_jailbreak_prompt_shield_is_a_filtered_category(run: Any, az: Any) -> None:
    with pytest.raises(AzureContentFilterError) as info:
        run(answer(400, az.load("error_jailbreak.json")), "chat", model="azure/d", messages=MESSAGES)
    assert info.value.categories == ["jailbreak"]
    assert info.value.filter_results["jailbreak"] == {"detected": True, "filtered": True}


def test_content_filter_code_without_innererror_is_still_content_policy(run: Any, az: Any) -> None:
    body = {"error": {"code": "content_filter", "message": "The response was filtered", "status": 400}}
    with pytest.raises(AzureContentFilterError) as info:
        run(answer(400, body), "embed", model="azure/emb", input="x")
    assert info.value.categories == []


def test_completion_filtered_is_the_content_filter_finish_reason(run: Any, az: Any) -> None:
    response = run(answer(200, az.load("chat_completion_filtered.json")), "chat", model="azure/d", messages=MESSAGES)
    assert response.choices[0].finish_reason == FinishReason.CONTENT_FILTER
    assert response.choices[0].message.content is None


def test_429_honours_retry_after_ms(run: Any, az: Any) -> None:
    headers = {"retry-after": "7", "retry-after-ms": "6500"}
    with pytest.raises(RateLimitedError) as info:
        run(answer(429, az.load("error_rate_limit.json"), headers), "chat", model="azure/d", messages=MESSAGES)
    assert info.value.retry_after == 6.5
    assert "retry after 6 seconds" in info.value.message


def test_429_is_retried_after_retry_after_ms(run: Any, az: Any) -> None:
    from liter_llm.clock import ManualClock

    answers = iter(
        [
            httpx.Response(429, json=az.load("error_rate_limit.json"), headers={"retry-after-ms": "1500"}),
            httpx.Response(200, json=az.load("chat_completion.json")),
        ]
    )
    clock = ManualClock()
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "max_retries": 1, "clock": clock}
    response = run(lambda r: next(answers), "chat", model="azure/d", messages=MESSAGES, client=client)
    assert response.choices[0].message.content.startswith("Ahoy")
    assert len(run.requests) == 2
    assert clock.sleeps == [1.5]


def test_deployment_not_found_names_the_deployment(run: Any, az: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        run(answer(404, az.load("error_deployment_not_found.json")), "chat", model="azure/no-such", messages=MESSAGES)
    error = info.value
    assert "'no-such'" in error.message
    assert "127.0.0.1:9/res" in error.message
    assert error.code == "DeploymentNotFound"
    assert error.status_code == 404


def test_apim_style_401_is_an_authentication_error(run: Any, az: Any) -> None:
    body = {"statusCode": 401, "message": "Access denied due to invalid subscription key or wrong API endpoint."}
    with pytest.raises(AuthenticationError, match="invalid subscription key"):
        run(answer(401, body), "chat", model="azure/d", messages=MESSAGES)


@pytest.mark.parametrize("content", [b"<html>gateway</html>", b"{not json", b'{"choices": 3}', b"[]"])
def test_a_malformed_success_body_is_a_serialization_error(run: Any, az: Any, content: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    with pytest.raises(SerializationError):
        run(handler, "chat", model="azure/d", messages=MESSAGES)


def test_azure_stream_with_filter_annotations(run: Any, az: Any) -> None:
    chunks = az.load("stream_chunks.json")["chunks"]
    body = az.sse(*chunks)
    result = run(lambda r: az.sse_response(body), "chat_stream", model="azure/d", messages=MESSAGES)
    assert run.request.url.path == "/res/openai/deployments/d/chat/completions"
    assert run.body["stream"] is True
    text = "".join(c.choices[0].delta.content or "" for c in result if c.choices)
    assert text == "Ahoy matey"
    assert result[-1].usage.total_tokens == 35
    assert result[-1].choices[0].finish_reason == FinishReason.STOP


def test_a_content_filter_error_inside_a_stream_carries_the_categories(run: Any, az: Any) -> None:
    chunks = az.load("stream_chunks.json")["chunks"][:3]
    error = az.load("error_content_filter.json")
    body = az.sse(*chunks, error, done=False)
    with pytest.raises(AzureContentFilterError) as info:
        run(lambda r: az.sse_response(body), "chat_stream", model="azure/d", messages=MESSAGES)
    found = info.value
    assert found.categories == ["hate", "self_harm", "violence"]


def test_a_stream_cut_before_done_is_a_streaming_error(run: Any, az: Any) -> None:
    chunks = az.load("stream_chunks.json")["chunks"][:3]
    body = az.sse(*chunks, done=False)
    with pytest.raises(StreamingError) as info:
        run(lambda r: az.sse_response(body), "chat_stream", model="azure/d", messages=MESSAGES)
    assert any(c.choices for c in info.value.chunks)


def test_an_oversized_answer_is_a_serialization_error(run: Any, az: Any) -> None:
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "max_response_bytes": 256}
    with pytest.raises(SerializationError):
        run(answer(200, az.load("chat_completion.json")), "chat", model="azure/d", messages=MESSAGES, client=client)


@pytest.mark.parametrize(
    "settings",
    [
        {"api_version": 5},
        {"endpoint": "ftp://x"},
        {"endpoint": "http://127.0.0.1:9/res?api-version=1"},
        {"deployments": ["d"]},
        {"deployments": {"d": "gpt-4o"}},
        {"token_provider": "not callable"},
        {"default_credential": "yes"},
        {"api_kye": "k"},
    ],
)
def test_wrong_settings_are_bad_requests_before_any_io(run: Any, az: Any, settings: dict[str, Any]) -> None:
    from liter_llm.errors import BadRequestError

    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "plugins": {"azure": settings}}
    with pytest.raises(BadRequestError) as info:
        run(answer(200, {}), "chat", model="azure/d", messages=MESSAGES, client=client)
    assert "plugins.azure" in info.value.message
    assert run.requests == []
