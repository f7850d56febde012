"""Cohere provider for liter-llm, on Cohere's native v2 API.

Installing this distribution makes ``cohere/<model>`` (and bare ``command-``, ``embed-``,
``rerank-`` and ``c4ai-aya-`` models) go to Cohere: chat and streams (``/v2/chat``), tools,
documents (``extra_body={"documents": [...]}``) and citations (kept by a
:class:`CitationCollector` hook), ``response_format`` JSON, embeddings (``/v2/embed``, with
:class:`CohereEmbeddingRequest` for ``input_type`` and ``embedding_types``), rerank
(``/v2/rerank``) and the model list (``/v1/models``).  ``cohere_compat/<model>`` goes to Cohere's
OpenAI-compatible layer (``/compatibility/v1``) in the OpenAI wire format instead.  The
translation functions are public so another plugin speaking Cohere's API elsewhere can reuse them.
"""

from __future__ import annotations

from collections.abc import Callable

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm_cohere._errors import STATUS_ALIASES, parse_cohere_error
from liter_llm_cohere._plugin import (
    EXTRAS_STATE,
    MODELS_PAGE_SIZE,
    PLUGIN,
    CitationCollector,
    CoherePlugin,
    CohereStreamParser,
)
from liter_llm_cohere._stream import CohereStreamTranslator
from liter_llm_cohere._translate import (
    DEFAULT_INPUT_TYPE,
    FINISH_REASONS,
    CohereEmbeddingRequest,
    CohereExtras,
    document_texts,
    embed_body,
    finish_reason,
    from_cohere_chat,
    from_cohere_embed,
    from_cohere_models,
    from_cohere_rerank,
    rerank_body,
    rerank_results,
    to_cohere_body,
    usage_from_cohere,
)

__all__ = [
    "DEFAULT_INPUT_TYPE",
    "FINISH_REASONS",
    "MODELS_PAGE_SIZE",
    "SPEC",
    "STATUS_ALIASES",
    "CohereStreamParser",
    "EXTRAS_STATE",
    "CitationCollector",
    "CohereExtras",
    "CohereEmbeddingRequest",
    "CoherePlugin",
    "CohereStreamTranslator",
    "COMPAT_SPEC",
    "document_texts",
    "embed_body",
    "finish_reason",
    "from_cohere_chat",
    "from_cohere_embed",
    "from_cohere_models",
    "from_cohere_rerank",
    "parse_cohere_error",
    "register_providers",
    "rerank_body",
    "rerank_results",
    "to_cohere_body",
    "usage_from_cohere",
]

#: The provider this plugin registers.
SPEC = ProviderSpec(
    name="cohere",
    base_url="https://api.cohere.com",
    api_key_env="COHERE_API_KEY",
    model_prefixes=("command-", "embed-", "rerank-", "c4ai-aya-"),
    endpoints=frozenset({"chat", "embed", "rerank", "models"}),
    display_name="Cohere",
    plugin=PLUGIN,
)


#: Cohere's OpenAI-compatible layer: chat (and streams), embeddings and transcriptions in the OpenAI wire
#: format, the same key.  No plugin hooks: the core's OpenAI wire format builds and reads every call.
COMPAT_SPEC = ProviderSpec(
    name="cohere_compat",
    base_url="https://api.cohere.ai/compatibility/v1",
    api_key_env="COHERE_API_KEY",
    endpoints=frozenset({"chat", "embed", "transcribe"}),
    display_name="Cohere (OpenAI-compatible API)",
    openai_wire=True,
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``cohere`` provider (native v2) and ``cohere_compat`` (the OpenAI-compatible layer)."""
    register(SPEC)
    register(COMPAT_SPEC)
