"""The provider conformance kit, run for ``openai`` with OpenAI's native answers."""

from __future__ import annotations

import json

import httpx

from liter_llm.testing import ProviderConformance, Reply, ReplyToolCall


def _usage(reply: Reply) -> dict[str, int]:
    used = reply.usage
    return {
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "total_tokens": used.prompt_tokens + used.completion_tokens,
    }


def _tool_call(call: ReplyToolCall) -> dict[str, object]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}


class TestOpenAIConformance(ProviderConformance):
    provider = "openai"
    model = "gpt-4o-mini"
    key_header = "authorization"
    key_prefix = "Bearer "

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
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
                        "message": {
                            "role": "assistant",
                            "content": reply.text,
                            "refusal": None,
                            "annotations": [],
                            **({"tool_calls": [_tool_call(c) for c in reply.tool_calls]} if reply.tool_calls else {}),
                        },
                        "logprobs": None,
                        "finish_reason": reply.finish_reason.value,
                    }
                ],
                "usage": _usage(reply),
            },
        )

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True

        def chunk(delta: dict[str, object], finish: str | None = None, usage: object = None) -> bytes:
            payload = {
                "id": "chatcmpl-conf",
                "object": "chat.completion.chunk",
                "created": 1694268190,
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }
            if usage is not None:  # the usage chunk (stream_options.include_usage) has no choices
                payload["choices"] = []
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        body = chunk({"role": "assistant", "content": ""})
        body += b"".join(chunk({"content": part}) for part in reply.parts)
        if complete:
            body += chunk({}, reply.finish_reason.value) + chunk({}, usage=_usage(reply)) + b"data: [DONE]\n\n"
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
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
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        body = {
            "error": {
                "message": message,
                "type": kinds.get(status, "server_error"),
                "param": None,
                "code": codes.get(status),
            }
        }
        return httpx.Response(status, json=body, headers=headers)
