"""The liter-llm conformance kit, run against Azure OpenAI's answers (the OpenAI wire format)."""

from __future__ import annotations

import httpx

from liter_llm.testing import ProviderConformance, Reply, openai_reply_body, openai_reply_stream


class TestAzureConformance(ProviderConformance):
    provider = "azure"
    model = "azure/kit-deployment"
    key_header = "api-key"

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/openai/deployments/kit-deployment/chat/completions")
        assert request.url.params["api-version"] == "2024-10-21"
        return httpx.Response(200, json=openai_reply_body(reply, model="gpt-4o-2024-05-13"))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        return httpx.Response(
            200, content=openai_reply_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json={"error": {"code": str(status), "message": message}}, headers=headers)


class TestAzureV1Conformance(TestAzureConformance):
    """The same kit on the v1 API (``/openai/v1/...``, no api-version, the deployment as ``model``)."""

    client_options = {"plugins": {"azure": {"api_style": "v1"}}}  # noqa: RUF012

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert request.url.path.endswith("/openai/v1/chat/completions")
        assert "api-version" not in request.url.params
        return httpx.Response(200, json=openai_reply_body(reply, model="gpt-4o-2024-05-13"))
