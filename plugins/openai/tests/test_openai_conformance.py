"""The provider conformance kit, run for ``openai`` with OpenAI's native answers."""

from __future__ import annotations

import json

import httpx

from liter_llm.testing import ProviderConformance


class TestOpenAIConformance(ProviderConformance):
    provider = "openai"
    model = "gpt-4o-mini"
    key_header = "authorization"
    key_prefix = "Bearer "

    def chat_reply(self, request: httpx.Request, text: str) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        body = json.loads(request.content)
        assert body["model"] == "gpt-4o-mini"
        assert "stream" not in body
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-conf",
                "object": "chat.completion",
                "created": 1741569952,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            },
        )

    def stream_reply(self, request: httpx.Request, parts: list[str], complete: bool = True) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True

        def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
            payload = {
                "id": "chatcmpl-conf",
                "object": "chat.completion.chunk",
                "created": 1694268190,
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        body = chunk({"role": "assistant", "content": ""})
        body += b"".join(chunk({"content": part}) for part in parts)
        if complete:
            body += chunk({}, "stop") + b"data: [DONE]\n\n"
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    def error_reply(self, request: httpx.Request, status: int, message: str) -> httpx.Response:
        kinds = {
            400: "invalid_request_error",
            401: "invalid_request_error",
            403: "invalid_request_error",
            404: "invalid_request_error",
            429: "requests",
            500: "server_error",
            503: "server_error",
        }
        codes = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
        headers = {"retry-after": "2"} if status == 429 else {}
        body = {
            "error": {
                "message": message,
                "type": kinds.get(status, "server_error"),
                "param": None,
                "code": codes.get(status),
            }
        }
        return httpx.Response(status, json=body, headers=headers)
