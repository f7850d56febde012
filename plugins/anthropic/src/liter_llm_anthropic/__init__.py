"""Anthropic (Messages API) provider for liter-llm.

Installing this distribution makes ``anthropic/<model>`` and bare
``claude-...`` models go to Anthropic's Messages API, with the same request
and response types as every other provider.  The translation functions are
public so that another plugin speaking the Messages API elsewhere (Claude on
Vertex AI) can reuse them:

* :func:`to_anthropic_body` -- ``ChatCompletionRequest`` -> Messages API body;
* :func:`from_anthropic_message` -- Anthropic ``message`` -> ``ChatCompletionResponse``;
* :class:`AnthropicStreamTranslator` -- Anthropic stream events -> ``ChatCompletionChunk``;
* :func:`parse_anthropic_error` / :func:`error_from_type` -- error bodies -> ``LiterLlmError``;
* :func:`batch_request` -- chat requests -> a ``CreateBatchRequest`` for the Message Batches API.
"""

from __future__ import annotations

from collections.abc import Callable

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.types import AuthHeaderFormat
from liter_llm_anthropic._batches import (
    BATCH_ENDPOINT,
    BATCH_INPUT_FILE_ID,
    BATCH_METADATA_KEY,
    batch_from_anthropic,
    batch_list_from_anthropic,
    batch_request,
)
from liter_llm_anthropic._errors import ERROR_STATUS, error_from_type, parse_anthropic_error
from liter_llm_anthropic._plugin import ANTHROPIC_VERSION, PLUGIN, AnthropicPlugin, AnthropicStreamParser
from liter_llm_anthropic._stream import AnthropicStreamTranslator
from liter_llm_anthropic._translate import (
    DEFAULT_MAX_TOKENS,
    JSON_TOOL_NAME,
    THINKING_BUDGETS,
    finish_reason,
    from_anthropic_message,
    json_tool_name,
    to_anthropic_body,
    usage_from_anthropic,
)

__all__ = [
    "ANTHROPIC_VERSION",
    "BATCH_ENDPOINT",
    "BATCH_INPUT_FILE_ID",
    "BATCH_METADATA_KEY",
    "DEFAULT_MAX_TOKENS",
    "ERROR_STATUS",
    "JSON_TOOL_NAME",
    "SPEC",
    "THINKING_BUDGETS",
    "AnthropicPlugin",
    "AnthropicStreamParser",
    "AnthropicStreamTranslator",
    "batch_from_anthropic",
    "batch_list_from_anthropic",
    "batch_request",
    "error_from_type",
    "finish_reason",
    "from_anthropic_message",
    "json_tool_name",
    "parse_anthropic_error",
    "register_providers",
    "to_anthropic_body",
    "usage_from_anthropic",
]

#: The provider this plugin registers.
SPEC = ProviderSpec(
    name="anthropic",
    base_url="https://api.anthropic.com/v1",
    api_key_env="ANTHROPIC_API_KEY",
    auth=AuthHeaderFormat.api_key("x-api-key"),
    model_prefixes=("claude-",),
    endpoints=frozenset({"chat", "models", "batches", "count_tokens"}),
    display_name="Anthropic",
    plugin=PLUGIN,
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``anthropic`` provider."""
    register(SPEC)
