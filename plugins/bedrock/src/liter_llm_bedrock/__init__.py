"""AWS Bedrock provider for liter-llm.

Two providers:

* ``bedrock`` -- ``bedrock/<modelId>`` (a model id, a cross-region inference profile such as
  ``us.anthropic.claude-3-5-sonnet-20241022-v2:0``, or an ARN): chat through Converse, streams through
  ConverseStream (the AWS event-stream framing), embeddings through InvokeModel (Titan, Cohere);
* ``bedrock_openai`` -- ``bedrock_openai/<modelId>``: Bedrock's OpenAI Chat Completions endpoint
  (``/openai/v1``) for the models that offer it, in the OpenAI wire format.

Both sign with SigV4 (:func:`sign`, :class:`SigV4Auth`: standard library only) or send a Bedrock API
key as a bearer token (:class:`BearerAuth`).  :func:`bedrock_provider` builds a provider with explicit options (region,
keys, profile) to register at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.types import AuthHeaderFormat
from liter_llm_bedrock._credentials import BearerAuth, SigV4Auth, read_profile
from liter_llm_bedrock._errors import ERROR_TYPES, bedrock_error, parse_bedrock_error
from liter_llm_bedrock._eventstream import (
    MAX_MESSAGE_LENGTH,
    EventStreamDecoder,
    EventStreamMessage,
    encode_message,
)
from liter_llm_bedrock._plugin import (
    DEFAULT_BASE_URL,
    DEFAULT_OPENAI_BASE_URL,
    BedrockOpenAIPlugin,
    BedrockOptions,
    BedrockPlugin,
    embedding_body,
    parse_embeddings,
    parse_foundation_models,
)
from liter_llm_bedrock._sigv4 import AwsCredentials, sign
from liter_llm_bedrock._translate import (
    STOP_REASONS,
    ConverseStreamTranslator,
    from_converse_response,
    json_tool_name,
    to_converse_body,
    usage_from_converse,
)

__all__ = [
    "BEDROCK",
    "BEDROCK_OPENAI",
    "DEFAULT_BASE_URL",
    "DEFAULT_OPENAI_BASE_URL",
    "ERROR_TYPES",
    "MAX_MESSAGE_LENGTH",
    "STOP_REASONS",
    "AwsCredentials",
    "BearerAuth",
    "BedrockOpenAIPlugin",
    "BedrockOptions",
    "BedrockPlugin",
    "ConverseStreamTranslator",
    "EventStreamDecoder",
    "EventStreamMessage",
    "SigV4Auth",
    "bedrock_error",
    "bedrock_provider",
    "embedding_body",
    "encode_message",
    "from_converse_response",
    "json_tool_name",
    "parse_bedrock_error",
    "parse_embeddings",
    "parse_foundation_models",
    "read_profile",
    "register_providers",
    "sign",
    "to_converse_body",
    "usage_from_converse",
]


def bedrock_provider(name: str = "bedrock", *, openai_wire: bool = False, **options: Any) -> ProviderSpec:
    """A Bedrock provider with explicit options (see :class:`BedrockOptions`), to register at run time.

    Example::

        from liter_llm.registry import get_registry
        get_registry().register_custom(
            bedrock_provider("bedrock-eu", region="eu-west-1", access_key_id="AKIA...", secret_access_key="...")
        )
        client.chat(model="bedrock-eu/anthropic.claude-3-5-sonnet-20240620-v1:0", ...)

    ``openai_wire=True`` gives a provider speaking Bedrock's OpenAI Chat Completions endpoint.
    """
    opts = BedrockOptions(**options)
    if openai_wire:
        return ProviderSpec(
            name=name,
            base_url=DEFAULT_OPENAI_BASE_URL,
            api_key_env="AWS_BEARER_TOKEN_BEDROCK",
            auth=AuthHeaderFormat.BEARER,
            requires_api_key=False,
            endpoints=frozenset({"chat"}),
            display_name="AWS Bedrock (OpenAI Chat Completions)",
            plugin=BedrockOpenAIPlugin(opts),
            openai_wire=True,
        )
    return ProviderSpec(
        name=name,
        base_url=DEFAULT_BASE_URL,
        api_key_env="AWS_BEARER_TOKEN_BEDROCK",
        auth=AuthHeaderFormat.BEARER,
        # SigV4 credentials count as well as a key: the auth hook says when there is neither
        requires_api_key=False,
        endpoints=frozenset({"chat", "embed", "models"}),
        display_name="AWS Bedrock",
        plugin=BedrockPlugin(opts),
    )


#: ``bedrock/<modelId>``: Converse, ConverseStream and InvokeModel embeddings.
BEDROCK = bedrock_provider("bedrock")
#: ``bedrock_openai/<modelId>``: the OpenAI Chat Completions endpoint of Bedrock.
BEDROCK_OPENAI = bedrock_provider("bedrock_openai", openai_wire=True)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register ``bedrock`` and ``bedrock_openai``."""
    register(BEDROCK)
    register(BEDROCK_OPENAI)
