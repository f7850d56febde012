"""The liter-llm conformance kit, run against the ACME plugin's native answers."""

from __future__ import annotations

import json

import httpx

from liter_llm.testing import ProviderConformance, Reply
from liter_llm.types import FinishReason

STOP = {
    FinishReason.STOP: "done",
    FinishReason.LENGTH: "limit",
    FinishReason.TOOL_CALLS: "calls",
    FinishReason.CONTENT_FILTER: "blocked",
}
KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}


def tokens(reply: Reply) -> dict[str, int]:
    return {"in": reply.usage.prompt_tokens, "out": reply.usage.completion_tokens}


class TestAcmeConformance(ProviderConformance):
    provider = "acme"
    model = "acme/acme-mini"
    key_header = "x-acme-key"

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        calls = [{"id": c.id, "name": c.name, "args": c.arguments} for c in reply.tool_calls]
        body = {"id": "gen-1", "model": "acme-mini", "text": reply.text, "calls": calls}
        return httpx.Response(200, json={**body, "stop": STOP[reply.finish_reason], "tokens": tokens(reply)})

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        lines = [{"id": "gen-1", "text": part} for part in reply.parts]
        if complete:
            lines.append({"id": "gen-1", "end": STOP[reply.finish_reason], "tokens": tokens(reply)})
        body = "".join(json.dumps(line) + "\n" for line in lines)
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/x-ndjson"})

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        problem = {"kind": KINDS.get(status, "internal"), "detail": message}
        return httpx.Response(status, json={"error": problem}, headers=headers)
