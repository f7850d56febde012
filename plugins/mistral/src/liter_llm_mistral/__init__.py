"""Mistral AI provider for liter-llm.

Installing this distribution makes ``mistral/<model>`` go to Mistral's API
(``https://api.mistral.ai/v1``, key from ``MISTRAL_API_KEY``) with Mistral's
differences from the OpenAI format: its tool call ids, ``tool_choice``
values, ``random_seed``, the parameters it rejects, content chunks and
reasoning in answers; embeddings, OCR (``/v1/ocr``), speech, transcription
and the model list.  The translation functions are public for reuse (Mistral models
served elsewhere speak the same format).
"""

from __future__ import annotations

from collections.abc import Callable

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.types import AuthHeaderFormat
from liter_llm_mistral._hooks import PLUGIN, MistralHooks
from liter_llm_mistral._translate import (
    DROPPED_PARAMETERS,
    FINISH_REASONS,
    REFUSED_PARAMETERS,
    TOOL_CALL_ID,
    chat_response,
    embed_body,
    error_fields,
    mistral_chat_body,
    mistral_message,
    mistral_tool_call_id,
    ocr_body,
    ocr_document,
    ocr_pages_processed,
    ocr_response,
    speech_audio,
    speech_body,
    transcription_form,
    transcription_response,
)

__all__ = [
    "DROPPED_PARAMETERS",
    "FINISH_REASONS",
    "REFUSED_PARAMETERS",
    "SPEC",
    "TOOL_CALL_ID",
    "MistralHooks",
    "chat_response",
    "embed_body",
    "error_fields",
    "mistral_chat_body",
    "mistral_message",
    "mistral_tool_call_id",
    "ocr_body",
    "ocr_document",
    "ocr_pages_processed",
    "ocr_response",
    "register_providers",
    "speech_audio",
    "speech_body",
    "transcription_form",
    "transcription_response",
]

#: The provider this plugin registers.
SPEC = ProviderSpec(
    name="mistral",
    display_name="Mistral AI",
    base_url="https://api.mistral.ai/v1",
    api_key_env="MISTRAL_API_KEY",
    auth=AuthHeaderFormat.BEARER,
    endpoints=frozenset({"chat", "embed", "models", "ocr", "speech", "transcribe"}),
    plugin=PLUGIN,
    openai_wire=True,  # list_models is the OpenAI shape; every other operation is built by the hooks
)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``mistral`` provider."""
    register(SPEC)
