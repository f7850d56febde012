"""Translation between liter-llm's typed requests and Mistral's API (pure functions, no I/O)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from liter_llm import types as t
from liter_llm.errors import BadRequestError, SerializationError
from liter_llm.wire import chat_body

if TYPE_CHECKING:
    from liter_llm import Call

PROVIDER = "mistral"

#: Mistral accepts only tool call ids of nine ASCII letters and digits.
TOOL_CALL_ID = re.compile(r"^[A-Za-z0-9]{9}$")
_ID_ALPHABET = string.ascii_letters + string.digits

#: Chat parameters of the OpenAI format that Mistral cannot express: refused before anything is sent.
REFUSED_PARAMETERS: tuple[str, ...] = ("logit_bias", "logprobs", "top_logprobs")
#: Chat parameters that change nothing in the answer and that Mistral's API does not know: dropped.
DROPPED_PARAMETERS: tuple[str, ...] = ("user", "service_tier", "stream_options")

#: Mistral's finish reasons, to liter-llm's.
FINISH_REASONS: Mapping[str, t.FinishReason] = {
    "stop": t.FinishReason.STOP,
    "length": t.FinishReason.LENGTH,
    "model_length": t.FinishReason.LENGTH,
    "tool_calls": t.FinishReason.TOOL_CALLS,
    "error": t.FinishReason.OTHER,
}

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff")


def mistral_tool_call_id(value: str) -> str:
    """The id Mistral accepts for a tool call id of any shape.

    An id that already has Mistral's shape (nine letters and digits, as Mistral
    itself hands out) is kept; any other (``call_abc...`` from OpenAI,
    ``toolu_...`` from Anthropic) maps to nine letters and digits derived from
    it, the same every time, so an assistant's tool call and the tool result
    that answers it keep matching.
    """
    if TOOL_CALL_ID.match(value):
        return value
    number = int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:12], "big")
    letters = []
    for _ in range(9):
        number, rest = divmod(number, len(_ID_ALPHABET))
        letters.append(_ID_ALPHABET[rest])
    return "".join(letters)


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, provider=PROVIDER)


def _document_url(document: t.DocumentContent) -> str:
    if document.data.startswith(("http://", "https://", "data:")):
        return document.data
    return f"data:{document.media_type};base64,{document.data}"


def _part(part: Any) -> dict[str, Any]:
    """One content part as a Mistral content chunk."""
    if isinstance(part, t.TextContentPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, t.ImageUrlContentPart):
        image: dict[str, Any] = {"url": part.image_url.url}
        if part.image_url.detail is not None:
            image["detail"] = part.image_url.detail.value
        return {"type": "image_url", "image_url": image}
    if isinstance(part, t.DocumentContentPart):
        return {"type": "document_url", "document_url": _document_url(part.document)}
    if isinstance(part, t.InputAudioContentPart):
        return {"type": "input_audio", "input_audio": part.input_audio.data}
    raise _bad(f"Mistral cannot take a content part of type {type(part).__name__}")


def _content(content: Any) -> Any:
    if isinstance(content, str):
        return content
    return [_part(part) for part in content]


def _text_only(content: Any, role: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if not isinstance(part, t.TextContentPart):
            raise _bad(f"a {role} message sent to Mistral may hold text only, not {type(part).__name__}")
        texts.append(part.text)
    return "".join(texts)


def mistral_message(message: Any) -> dict[str, Any]:
    """One liter-llm message as a Mistral message (``developer`` becomes ``system``)."""
    if isinstance(message, (t.SystemMessage, t.DeveloperMessage)):
        return {"role": "system", "content": _text_only(message.content, "system")}
    if isinstance(message, t.UserMessage):
        return {"role": "user", "content": _content(message.content)}
    if isinstance(message, t.AssistantMessage):
        out: dict[str, Any] = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": mistral_tool_call_id(call.id),
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
                for call in message.tool_calls
            ]
        elif message.content is None:
            out["content"] = ""
        return out
    if isinstance(message, t.ToolMessage):
        tool: dict[str, Any] = {
            "role": "tool",
            "content": _content(message.content),
            "tool_call_id": mistral_tool_call_id(message.tool_call_id),
        }
        if message.name is not None:
            tool["name"] = message.name
        return tool
    raise _bad(f"Mistral has no {getattr(message, 'role', type(message).__name__)!r} messages; use a tool message")


def _tool(tool: t.ChatCompletionTool) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": tool.function.name,
        # Mistral requires a parameter schema; a function without parameters takes an empty object
        "parameters": tool.function.parameters
        if tool.function.parameters is not None
        else {"type": "object", "properties": {}},
    }
    if tool.function.description is not None:
        function["description"] = tool.function.description
    if tool.function.strict is not None:
        function["strict"] = tool.function.strict
    return {"type": "function", "function": function}


def mistral_chat_body(call: Call) -> dict[str, Any]:
    """The body of ``POST /v1/chat/completions`` for a chat call.

    Starts from the OpenAI-format body (model, stream flag, ``extra_body`` merged
    in), then applies Mistral's differences; a key given in ``extra_body`` is
    sent as it is.
    """
    req: t.ChatCompletionRequest = call.request
    body = chat_body(call)
    extra = req.extra_body or {}

    def typed(name: str) -> bool:
        return name in body and name not in extra

    for name in REFUSED_PARAMETERS:
        if typed(name) and body[name] not in (None, False):
            raise _bad(f"Mistral does not support the parameter {name!r}")
        if typed(name):
            del body[name]
    for name in DROPPED_PARAMETERS:
        if typed(name):
            del body[name]
    if "messages" not in extra:
        body["messages"] = [mistral_message(message) for message in req.messages]
    if typed("seed"):
        seed = body.pop("seed")
        body.setdefault("random_seed", seed)
    if typed("max_completion_tokens"):
        value = body.pop("max_completion_tokens")
        body.setdefault("max_tokens", value)
    if typed("tools"):
        body["tools"] = [_tool(tool) for tool in req.tools]
    if typed("tool_choice") and body["tool_choice"] == "required":
        body["tool_choice"] = "any"  # Mistral's word for "must call a tool"
    return body


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


def _chunks_text(content: Any, where: str) -> tuple[str | None, str | None]:
    """Mistral content (a string or a list of chunks) as (text, reasoning)."""
    if content is None or isinstance(content, str):
        return content, None
    if not isinstance(content, list):
        raise SerializationError(f"{where}.content is neither text nor a list of chunks", provider=PROVIDER)
    texts: list[str] = []
    thoughts: list[str] = []
    for chunk in content:
        if not isinstance(chunk, dict):
            raise SerializationError(f"{where}.content holds a chunk that is not an object", provider=PROVIDER)
        kind = chunk.get("type", "text")
        if kind == "text" and isinstance(chunk.get("text"), str):
            texts.append(chunk["text"])
        elif kind == "thinking":
            inner = chunk.get("thinking")
            if isinstance(inner, str):
                thoughts.append(inner)
            elif isinstance(inner, list):
                thoughts.extend(
                    part["text"] for part in inner if isinstance(part, dict) and isinstance(part.get("text"), str)
                )
        # other chunks (references, images in answers) carry no text of their own
    return ("".join(texts) if texts else None), ("".join(thoughts) if thoughts else None)


def _arguments_as_text(calls: Any) -> None:
    """Mistral may send a tool call's ``arguments`` as a JSON object; liter-llm carries JSON text."""
    if not isinstance(calls, list):
        return
    for item in calls:
        function = item.get("function") if isinstance(item, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), (dict, list)):
            function["arguments"] = json.dumps(function["arguments"], ensure_ascii=False)


def _normalize_message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        return
    _arguments_as_text(message.get("tool_calls"))
    content = message.get("content")
    if content is not None and not isinstance(content, (str, list)):
        raise SerializationError(f"{where}.content is neither text nor a list of chunks", provider=PROVIDER)
    if isinstance(content, list):
        text, reasoning = _chunks_text(content, where)
        message["content"] = text
        if reasoning is not None and message.get("reasoning_content") is None:
            message["reasoning_content"] = reasoning


def _finish(choice: dict[str, Any]) -> None:
    reason = choice.get("finish_reason")
    if isinstance(reason, str):
        mapped = FINISH_REASONS.get(reason)
        choice["finish_reason"] = mapped.value if mapped is not None else t.FinishReason.OTHER.value


def chat_response(data: Any) -> t.ChatCompletionResponse:
    """A Mistral chat completion as a ``ChatCompletionResponse``."""
    if not isinstance(data, dict):
        raise SerializationError("the Mistral chat answer is not a JSON object", provider=PROVIDER)
    choices = data.get("choices")
    if isinstance(choices, list):
        for index, choice in enumerate(choices):
            if isinstance(choice, dict):
                _normalize_message(choice.get("message"), f"choices[{index}].message")
                _finish(choice)
    data.setdefault("created", 0)
    return t.ChatCompletionResponse.from_dict(data)


def needs_normalizing(payload: Any) -> bool:
    """Whether a stream chunk has Mistral-only shapes (content chunks, ``model_length``, tool calls)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        return False
    for choice in payload["choices"]:
        if not isinstance(choice, dict):
            return False
        delta = choice.get("delta")
        if isinstance(delta, dict) and (isinstance(delta.get("content"), list) or delta.get("tool_calls")):
            return True
        reason = choice.get("finish_reason")
        if reason is not None and reason not in ("stop", "length", "tool_calls"):
            return True
    return False


def normalize_chunk(tools: dict[int, dict[str, int]], payload: dict[str, Any]) -> t.ChatCompletionChunk:
    """A Mistral stream chunk as a ``ChatCompletionChunk``.

    Mistral streams each tool call whole, in one delta, and may give several
    calls of one delta the same ``index``: calls are numbered by their ``id``
    instead, so parallel calls never merge.  ``tools`` is the stream's
    numbering so far (per choice index, the position of each id), kept by
    the stream's parser and updated here.
    """
    for position, choice in enumerate(payload.get("choices") or ()):
        if not isinstance(choice, dict):
            continue
        _finish(choice)
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            continue
        content = delta.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise SerializationError(f"choices[{position}].delta.content is not text", provider=PROVIDER)
        if isinstance(content, list):
            text, reasoning = _chunks_text(content, f"choices[{position}].delta")
            delta["content"] = text
            if reasoning is not None:
                delta["reasoning_content"] = reasoning
        calls = delta.get("tool_calls")
        _arguments_as_text(calls)
        if isinstance(calls, list):
            seen = tools.setdefault(choice.get("index", 0), {})
            for item in calls:
                if not isinstance(item, dict):
                    continue
                ident = item.get("id")
                if isinstance(ident, str) and ident and ident != "null":
                    if ident not in seen:
                        seen[ident] = len(seen)
                    item["index"] = seen[ident]
                elif not isinstance(item.get("index"), int):
                    item["index"] = max(len(seen) - 1, 0)
    payload.setdefault("created", 0)
    return t.ChatCompletionChunk.from_dict(payload)


# ---------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------


def embed_body(call: Call) -> dict[str, Any]:
    """The body of ``POST /v1/embeddings``: text input only, ``dimensions`` as ``output_dimension``."""
    req: t.EmbeddingRequest = call.request
    value = req.input
    if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
        raise _bad("Mistral embeds text only (a string or a list of strings), not token ids")
    body: dict[str, Any] = {"model": call.model or req.model, "input": value}
    if req.dimensions is not None:
        body["output_dimension"] = req.dimensions
    if req.encoding_format is not None:
        body["encoding_format"] = req.encoding_format.value
    return body


# ---------------------------------------------------------------------------
# OCR
# ---------------------------------------------------------------------------


def _is_image_url(url: str) -> bool:
    if url.startswith("data:"):
        return url[5:].startswith("image/")
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return path.endswith(_IMAGE_SUFFIXES)


def ocr_document(document: Any) -> dict[str, Any]:
    """An ``OcrDocument`` as Mistral's ``document``: an ``image_url`` chunk for images, else ``document_url``.

    A URL is sent as it is; base64 data goes as a ``data:<media_type>;base64,`` URL.
    """
    if isinstance(document, t.OcrDocumentBase64):
        if not document.data:
            raise _bad("document.data is empty")
        url = f"data:{document.media_type};base64,{document.data}"
        image = document.media_type.lower().startswith("image/")
    else:
        given = getattr(document, "url", None)
        if not isinstance(given, str) or not given:
            raise _bad("the OCR document has neither a URL nor base64 data")
        url = given
        image = _is_image_url(url)
    if image:
        return {"type": "image_url", "image_url": url}
    return {"type": "document_url", "document_url": url}


def ocr_body(call: Call) -> dict[str, Any]:
    """The body of ``POST /v1/ocr``; liter-llm's 1-based ``pages`` become Mistral's 0-based ones."""
    req: t.OcrRequest = call.request
    body: dict[str, Any] = {"model": call.model or req.model, "document": ocr_document(req.document)}
    if req.pages is not None:
        if any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in req.pages):
            raise _bad("pages are numbered from 1")
        body["pages"] = [p - 1 for p in req.pages]
    if req.include_image_base64 is not None:
        body["include_image_base64"] = req.include_image_base64
    return body


def _int(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise SerializationError(f"{where} is not an integer: {value!r}", provider=PROVIDER)
    return value


def ocr_response(data: Any) -> t.OcrResponse:
    """Mistral's OCR answer as an ``OcrResponse`` (dimensions in pixels, images with their base64)."""
    if not isinstance(data, dict) or not isinstance(data.get("pages"), list):
        raise SerializationError("the Mistral OCR answer has no list of pages", provider=PROVIDER)
    pages = []
    for index, page in enumerate(data["pages"]):
        where = f"pages[{index}]"
        if not isinstance(page, dict):
            raise SerializationError(f"{where} is not an object", provider=PROVIDER)
        markdown = page.get("markdown", "")
        if not isinstance(markdown, str):
            raise SerializationError(f"{where}.markdown is not text", provider=PROVIDER)
        images = []
        for n, image in enumerate(page.get("images") or ()):
            if not isinstance(image, dict) or not isinstance(image.get("id"), str):
                raise SerializationError(f"{where}.images[{n}] has no id", provider=PROVIDER)
            b64 = image.get("image_base64")
            if b64 is not None and not isinstance(b64, str):
                raise SerializationError(f"{where}.images[{n}].image_base64 is not text", provider=PROVIDER)
            images.append(t.OcrImage(id=image["id"], image_base64=b64))
        dims = page.get("dimensions")
        dimensions = None
        if isinstance(dims, dict):
            dimensions = t.PageDimensions(
                width=_int(dims.get("width"), f"{where}.dimensions.width"),
                height=_int(dims.get("height"), f"{where}.dimensions.height"),
            )
        elif dims is not None:
            raise SerializationError(f"{where}.dimensions is not an object", provider=PROVIDER)
        pages.append(
            t.OcrPage(
                index=_int(page.get("index", index), f"{where}.index"),
                markdown=markdown,
                images=images,
                dimensions=dimensions,
            )
        )
    model = data.get("model")
    return t.OcrResponse(pages=pages, model=model if isinstance(model, str) else "", usage=ocr_usage(data))


def ocr_usage(data: Mapping[str, Any]) -> t.Usage | None:
    """Mistral bills OCR by the page: ``usage_info.pages_processed`` goes to ``Usage.pages_processed``.

    The pages are never counted as tokens (that would mislead cost tracking); a
    ``usage`` with token counts, if Mistral sends one, is kept next to them.
    """
    info = data.get("usage_info")
    if info is not None and not isinstance(info, dict):
        raise SerializationError("usage_info is not an object", provider=PROVIDER)
    pages = (info or {}).get("pages_processed")
    if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int) or pages < 0):
        raise SerializationError(f"usage_info.pages_processed is not a count: {pages!r}", provider=PROVIDER)
    usage = data.get("usage")
    if isinstance(usage, dict):
        result = t.Usage.from_dict(usage)
        if pages is not None:
            result.pages_processed = pages
        return result
    if pages is None:
        return None
    return t.Usage(pages_processed=pages)


def ocr_pages_processed(data: Mapping[str, Any]) -> int | None:
    """The number of pages Mistral says it processed (``usage_info.pages_processed``)."""
    info = data.get("usage_info")
    if isinstance(info, dict) and isinstance(info.get("pages_processed"), int):
        return int(info["pages_processed"])
    return None


# ---------------------------------------------------------------------------
# Transcription
# ---------------------------------------------------------------------------


def transcription_form(call: Call) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The multipart form of ``POST /v1/audio/transcriptions``: (fields, files).

    Mistral answers in JSON only and takes no ``prompt``: those are refused.
    """
    req: t.CreateTranscriptionRequest = call.request
    if req.prompt is not None:
        raise _bad("Mistral's transcription takes no prompt")
    if req.response_format not in (None, "json", "verbose_json"):
        raise _bad(f"Mistral's transcription answers in JSON only, not {req.response_format!r}")
    fields: list[tuple[str, str]] = [("model", call.model or req.model)]
    if req.language is not None:
        fields.append(("language", req.language))
    if req.temperature is not None:
        fields.append(("temperature", repr(float(req.temperature))))
    for granularity in req.timestamp_granularities or ():
        if granularity not in ("segment", "word"):
            raise _bad(f"unknown timestamp granularity {granularity!r} (Mistral knows 'segment' and 'word')")
        fields.append(("timestamp_granularities", granularity))
    files = {"file": (req.filename, req.file, "application/octet-stream")}
    return fields, files


def transcription_response(data: Any) -> t.TranscriptionResponse:
    """Mistral's transcription answer (text, language, segments) as a ``TranscriptionResponse``."""
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise SerializationError("the Mistral transcription answer has no text", provider=PROVIDER)
    segments = []
    for index, segment in enumerate(data.get("segments") or ()):
        if not isinstance(segment, dict):
            raise SerializationError(f"segments[{index}] is not an object", provider=PROVIDER)
        try:
            start = float(segment.get("start", 0.0))
            end = float(segment.get("end", 0.0))
        except (TypeError, ValueError):
            message = f"segments[{index}] has a start or end that is not a number"
            raise SerializationError(message, provider=PROVIDER) from None
        text = segment.get("text", "")
        if not isinstance(text, str):
            raise SerializationError(f"segments[{index}].text is not text", provider=PROVIDER)
        segments.append(t.TranscriptionSegment(id=index, start=start, end=end, text=text))
    language = data.get("language")
    duration = None
    usage = data.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_audio_seconds"), (int, float)):
        duration = float(usage["prompt_audio_seconds"])
    return t.TranscriptionResponse(
        text=data["text"],
        language=language if isinstance(language, str) else None,
        duration=duration,
        segments=segments,
    )


# ---------------------------------------------------------------------------
# Speech
# ---------------------------------------------------------------------------

#: the audio formats Mistral's speech endpoint writes
SPEECH_FORMATS: tuple[str, ...] = ("pcm", "wav", "mp3", "flac", "opus")


def speech_body(call: Call) -> dict[str, Any]:
    """The body of ``POST /v1/audio/speech``: ``voice`` is Mistral's ``voice_id``; no ``speed``."""
    req: t.CreateSpeechRequest = call.request
    if req.speed is not None:
        raise _bad("Mistral's speech endpoint has no speed setting")
    if req.response_format is not None and req.response_format not in SPEECH_FORMATS:
        raise _bad(f"Mistral writes speech as {', '.join(SPEECH_FORMATS)}, not {req.response_format!r}")
    body: dict[str, Any] = {"model": call.model or req.model, "input": req.input, "voice_id": req.voice}
    if req.response_format is not None:
        body["response_format"] = req.response_format
    return body


def speech_audio(data: Any) -> bytes:
    """The audio bytes of Mistral's speech answer (``{"audio_data": "<base64>"}``)."""
    audio = data.get("audio_data") if isinstance(data, dict) else None
    if not isinstance(audio, str):
        raise SerializationError("the Mistral speech answer has no audio_data", provider=PROVIDER)
    try:
        return base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise SerializationError("the Mistral speech answer's audio_data is not base64", provider=PROVIDER) from None


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def error_fields(data: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, type) of a Mistral error body.

    Shapes: ``{"object": "error", "message": ..., "type": ..., "code": ...}``, where
    ``message`` may itself be ``{"detail": [validation errors]}``;
    ``{"detail": [{"loc": [...], "msg": ...}]}`` (422); ``{"message": ...}``.
    """
    if not isinstance(data, dict):
        return None, None, None
    message: Any = data.get("message")
    if message is None:
        message = data.get("detail")
    if isinstance(message, dict) and "detail" in message:
        message = message["detail"]
    if isinstance(message, list):
        message = "; ".join(_validation_text(item) for item in message)
    elif message is not None and not isinstance(message, str):
        message = str(message)
    code = data.get("code")
    etype = data.get("type")
    return (
        message or None,
        str(code) if code not in (None, "") else None,
        str(etype) if etype not in (None, "") else None,
    )


def _validation_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = item.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
    msg = str(item.get("msg", ""))
    return f"{where}: {msg}" if where else msg
