"""The conformance kit run against the core's own OpenAI wire format (a data-only provider)."""

from __future__ import annotations

import httpx

from liter_llm.testing import ProviderConformance, openai_chat_body, openai_chunk, sse_body


class TestOpenAIWireConformance(ProviderConformance):
    provider = "fake"
    model = "fake/model-1"
    key_header = "authorization"
    key_prefix = "Bearer "

    def chat_reply(self, request: httpx.Request, text: str) -> httpx.Response:
        return httpx.Response(200, json=openai_chat_body(text))

    def stream_reply(self, request: httpx.Request, parts: list[str], complete: bool = True) -> httpx.Response:
        payloads = [openai_chunk(parts[0], role="assistant")] + [openai_chunk(p) for p in parts[1:]]
        if complete:
            payloads.append(openai_chunk(finish="stop"))
        return httpx.Response(
            200, content=sse_body(*payloads, done=complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str) -> httpx.Response:
        headers = {"retry-after": "2"} if status == 429 else {}
        return httpx.Response(status, json={"error": {"message": message, "type": "x", "code": None}}, headers=headers)
