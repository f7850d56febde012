"""The core's provider conformance kit, run against Bedrock's native Converse formats."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx
import pytest

from liter_llm.testing import ProviderConformance, Reply, openai_reply_body, openai_reply_stream
from liter_llm.types import FinishReason

from .conftest import event, stream_response

_STOP = {
    FinishReason.STOP: "end_turn",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.TOOL_CALLS: "tool_use",
    FinishReason.CONTENT_FILTER: "content_filtered",
}
_ERRORS = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def _usage(reply: Reply) -> dict[str, int]:
    used_in, used_out = reply.usage.prompt_tokens, reply.usage.completion_tokens
    return {"inputTokens": used_in, "outputTokens": used_out, "totalTokens": used_in + used_out}


class _ConverseReplies:
    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.raw_path.endswith(b"/converse")
        content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text is not None else []
        content += [{"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.arguments}} for c in reply.tool_calls]
        body = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": _STOP[reply.finish_reason],
            "usage": _usage(reply),
            "metrics": {"latencyMs": 12},
        }
        return httpx.Response(200, json=body, headers={"x-amzn-requestid": "req-conformance"})

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        assert request.url.raw_path.endswith(b"/converse-stream")
        frames = [event("messageStart", {"role": "assistant"})]
        frames += [
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": part}, "p": "abc"})
            for part in reply.parts
        ]
        if complete:
            frames += [
                event("contentBlockStop", {"contentBlockIndex": 0}),
                event("messageStop", {"stopReason": _STOP[reply.finish_reason]}),
                event("metadata", {"usage": _usage(reply), "metrics": {"latencyMs": 5}}),
            ]
        return stream_response(frames)

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        name = _ERRORS.get(status, "InternalServerException")
        headers = {"x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        return httpx.Response(status, json={"message": message}, headers=headers)

    def request_values(self, request: httpx.Request) -> Any:
        return json.loads(request.content)


class TestBedrockConformanceApiKey(_ConverseReplies, ProviderConformance):
    """A Bedrock API key given to the client travels as a bearer token (no signing)."""

    provider = "bedrock"
    model = "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0"
    key_header = "authorization"
    key_prefix = "Bearer "


class TestBedrockConformanceSigV4(_ConverseReplies, ProviderConformance):
    """SigV4 from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (set by the conftest), a cross-region profile."""

    provider = "bedrock"
    model = "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    uses_api_key = False
    client_options: ClassVar[dict[str, Any]] = {"model_hint": "bedrock", "base_url": "http://127.0.0.1:9"}

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        return super().chat_reply(request, reply)


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)


class _OpenAIReplies:
    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        return httpx.Response(200, json=openai_reply_body(reply, model="openai.gpt-oss-20b-1:0"))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        return httpx.Response(
            200, content=openai_reply_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json={"error": {"message": message, "type": "error"}}, headers=headers)


class TestBedrockOpenAIConformanceApiKey(_OpenAIReplies, ProviderConformance):
    """``bedrock_openai`` with a Bedrock API key: the OpenAI wire at /openai/v1."""

    provider = "bedrock_openai"
    model = "bedrock_openai/openai.gpt-oss-20b-1:0"
    key_header = "authorization"
    key_prefix = "Bearer "


class TestBedrockOpenAIConformanceSigV4(_OpenAIReplies, ProviderConformance):
    """``bedrock_openai`` signed with SigV4 from the environment."""

    provider = "bedrock_openai"
    model = "bedrock_openai/openai.gpt-oss-120b-1:0"
    uses_api_key = False

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        return super().chat_reply(request, reply)
