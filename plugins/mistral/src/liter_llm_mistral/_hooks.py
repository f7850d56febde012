"""The hooks of the ``mistral`` provider: they see only the calls routed to it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from liter_llm.errors import LiterLlmError, SerializationError, error_from_status, parse_retry_after
from liter_llm.hookspecs import hookimpl
from liter_llm.wire import (
    OperationHooks,
    build_chat_request,
    dump_json,
    extra_form_fields,
    load_json,
    merge_headers,
    parse_openai_stream_event,
    stream_error,
    url_for,
    with_extra_body,
)
from liter_llm_mistral._translate import (
    PROVIDER,
    chat_response,
    embed_body,
    error_fields,
    mistral_chat_body,
    needs_normalizing,
    normalize_chunk,
    ocr_body,
    ocr_response,
    speech_audio,
    speech_body,
    transcription_form,
    transcription_response,
)

if TYPE_CHECKING:
    from liter_llm import Call
    from liter_llm.types import ChatCompletionChunk

_JSON = {"content-type": "application/json", "accept": "application/json"}


def _post_json(call: Call, path: str, body: Any) -> httpx.Request:
    return httpx.Request("POST", url_for(call, path), content=dump_json(body), headers=merge_headers(call, _JSON))


class MistralHooks(OperationHooks):
    """Mistral speaks the OpenAI format with differences; these hooks carry them, one method per operation.

    ``list_models`` has no method: it is left to the core's OpenAI-format
    builder and parser (``openai_wire=True``), as Mistral's ``GET /v1/models``
    answers in that shape.
    """

    def build_chat(self, call: Call) -> httpx.Request:
        """``POST /v1/chat/completions`` in Mistral's dialect (``chat`` and ``chat_stream``)."""
        return build_chat_request(call, mistral_chat_body(call))

    def build_embed(self, call: Call) -> httpx.Request:
        """``POST /v1/embeddings``."""
        return _post_json(call, "/embeddings", with_extra_body(call, embed_body(call)))

    def build_ocr(self, call: Call) -> httpx.Request:
        """``POST /v1/ocr``."""
        return _post_json(call, "/ocr", with_extra_body(call, ocr_body(call)))

    def build_speech(self, call: Call) -> httpx.Request:
        """``POST /v1/audio/speech``."""
        return _post_json(call, "/audio/speech", with_extra_body(call, speech_body(call)))

    def build_transcribe(self, call: Call) -> httpx.Request:
        """``POST /v1/audio/transcriptions`` (multipart)."""
        fields, files = transcription_form(call)
        return httpx.Request(
            "POST",
            url_for(call, "/audio/transcriptions"),
            data={**_form(fields), **extra_form_fields(call.request.extra_body)},
            files=files,
            headers=merge_headers(call, {"accept": "application/json"}),
        )

    def parse_chat(self, call: Call, response: httpx.Response) -> Any:
        """A chat answer (content chunk lists, ``model_length``)."""
        return chat_response(load_json(call, response.content))

    def parse_ocr(self, call: Call, response: httpx.Response) -> Any:
        """An OCR answer."""
        return ocr_response(load_json(call, response.content))

    def parse_transcribe(self, call: Call, response: httpx.Response) -> Any:
        """A transcription answer."""
        return transcription_response(load_json(call, response.content))

    def parse_speech(self, call: Call, response: httpx.Response) -> Any:
        """A speech answer (base64 audio in JSON) as bytes."""
        return speech_audio(load_json(call, response.content))

    @hookimpl
    def stream_parser(self, call: Call) -> MistralStreamParser:
        """The parser of one chat stream."""
        return MistralStreamParser(call)

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        """Mistral's error bodies, validation errors (422) included."""
        try:
            data = json.loads(response.content)
        except (ValueError, RecursionError):
            return None  # not JSON: the core maps the status and the text
        if isinstance(data, dict) and "error" in data:
            return None  # the OpenAI shape (some gateways in front of Mistral): the core reads it
        message, code, etype = error_fields(data)
        if message is None:
            return None
        return error_from_status(
            response.status_code,
            message,
            provider=call.provider.name,
            code=code,
            error_type=etype,
            retry_after=parse_retry_after(response.headers),
            body=response.text[:2000],
        )


class MistralStreamParser:
    """The parser of one Mistral chat stream (``liter_llm.wire.StreamParser``).

    Mistral's SSE chunks carry content chunk lists, ``model_length`` and whole tool calls;
    ``[DONE]`` ends the stream.  The tool-call numbering of the stream is kept here.
    """

    __slots__ = ("_call", "_tools")

    def __init__(self, call: Call) -> None:
        self._call = call
        #: per choice index: the position of each tool call id seen so far
        self._tools: dict[int, dict[str, int]] = {}

    def feed(self, event: Any) -> list[ChatCompletionChunk]:
        """One server-sent event."""
        call = self._call
        data = getattr(event, "data", event)
        if not isinstance(data, str):
            raise SerializationError(f"unexpected stream event {type(event).__name__}", provider=PROVIDER)
        if data == "[DONE]" or not data.strip():
            return parse_openai_stream_event(call, data)
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise SerializationError(
                f"a stream event is not valid JSON ({exc}): {data[:200]!r}", provider=PROVIDER
            ) from None
        if isinstance(payload, dict) and payload.get("object") == "error" and "choices" not in payload:
            message, code, etype = error_fields(payload)
            raise stream_error(call, {"error": {"message": message or "error", "code": code, "type": etype}})
        if not needs_normalizing(payload):
            return parse_openai_stream_event(call, data)
        return [normalize_chunk(self._tools, payload)]

    def finish(self) -> list[ChatCompletionChunk]:
        """Nothing is held back."""
        return []


def _form(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """httpx form data: a field given more than once becomes a list (sent as repeated fields)."""
    form: dict[str, Any] = {}
    for name, value in fields:
        if name in form:
            current = form[name]
            form[name] = [*current, value] if isinstance(current, list) else [current, value]
        elif name == "timestamp_granularities":
            form[name] = [value]
        else:
            form[name] = value
    return form


PLUGIN = MistralHooks()
