"""The conformance kit run against the core's own OpenAI wire format (a data-only provider)."""

from __future__ import annotations

import httpx

from liter_llm.testing import ProviderConformance, Reply, openai_reply_body, openai_reply_stream


class TestOpenAIWireConformance(ProviderConformance):
    provider = "fake"
    model = "fake/model-1"
    key_header = "authorization"
    key_prefix = "Bearer "

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        return httpx.Response(200, json=openai_reply_body(reply))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        return httpx.Response(
            200, content=openai_reply_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json={"error": {"message": message, "type": "x", "code": None}}, headers=headers)


class TestOpenAIWireConformanceChatOnly(TestOpenAIWireConformance):
    """``fakelocal`` offers only chat and needs no key: the kit probes an operation outside its endpoints."""

    provider = "fakelocal"
    model = "fakelocal/model-1"
    uses_api_key = False
