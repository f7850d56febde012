"""The conformance kit where it applies: Perplexity, whose chat this plugin leaves in the OpenAI wire format.

The kit exercises chat (the only operation it knows); the other five providers offer search
alone, and the kit's "an operation outside ``endpoints`` is refused" check is run for them in
test_registration.py.  This proves that taking over the ``perplexity`` row to add search keeps its
chat working in both clients exactly as the catalogue's row did.
"""

from __future__ import annotations

import json

import httpx

from liter_llm.testing import ProviderConformance, Reply, openai_reply_body, openai_reply_stream


class TestPerplexityConformance(ProviderConformance):
    provider = "perplexity"
    model = "perplexity/sonar"
    key_header = "authorization"
    key_prefix = "Bearer "

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        assert json.loads(request.content)["model"] == "sonar"
        return httpx.Response(200, json=openai_reply_body(reply, model="sonar"))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(
            200, content=openai_reply_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json={"error": {"message": message, "type": "error"}}, headers=headers)
