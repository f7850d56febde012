"""Google Gemini API and Vertex AI provider for liter-llm.

Two providers:

* ``gemini`` — the Gemini API (``gemini-...`` or ``gemini/<model>``), key in
  the ``x-goog-api-key`` header from ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``);
  chat, streaming, embeddings and the model list.
* ``vertex_ai`` — Vertex AI (``vertex_ai/<model>``), authenticated with a
  service account (``GOOGLE_APPLICATION_CREDENTIALS`` or ``VERTEXAI_CREDENTIALS``);
  chat, streaming and embeddings; ``vertex_ai/claude-...`` uses the Anthropic
  plugin's translation when it is installed.
"""

from __future__ import annotations

from collections.abc import Callable

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.types import AuthHeaderFormat
from liter_llm_google._hooks import GeminiPlugin, VertexPlugin
from liter_llm_google._schema import to_gemini_schema
from liter_llm_google._translate import (
    FINISH_REASONS,
    REASONING_BUDGETS,
    GeminiStreamTranslator,
    from_gemini_response,
    google_error,
    to_gemini_body,
)

__all__ = [
    "FINISH_REASONS",
    "GEMINI",
    "REASONING_BUDGETS",
    "VERTEX_AI",
    "GeminiPlugin",
    "GeminiStreamTranslator",
    "VertexPlugin",
    "from_gemini_response",
    "google_error",
    "register_providers",
    "to_gemini_body",
    "to_gemini_schema",
]

GEMINI = ProviderSpec(
    name="gemini",
    base_url="https://generativelanguage.googleapis.com/v1beta",
    api_key_env="GEMINI_API_KEY",
    auth=AuthHeaderFormat.api_key("x-goog-api-key"),
    # checked by the auth hook, which also accepts GOOGLE_API_KEY
    requires_api_key=False,
    model_prefixes=("gemini-",),
    endpoints=frozenset({"chat", "embed", "models", "count_tokens"}),
    display_name="Google Gemini API",
    plugin=GeminiPlugin(),
)

VERTEX_AI = ProviderSpec(
    name="vertex_ai",
    # replaced by https://{location}-aiplatform.googleapis.com/v1 unless VERTEX_AI_BASE_URL is set
    base_url="https://aiplatform.googleapis.com/v1",
    api_key_env=None,
    auth=AuthHeaderFormat.BEARER,
    requires_api_key=False,
    endpoints=frozenset({"chat", "embed"}),
    display_name="Google Vertex AI",
    plugin=VertexPlugin(),
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register ``gemini`` and ``vertex_ai``."""
    register(GEMINI)
    register(VERTEX_AI)
