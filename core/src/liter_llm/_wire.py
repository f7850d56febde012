"""The OpenAI wire format, for every operation: the helpers behind :mod:`liter_llm.wire`.

The ``openai_wire`` built-in (:mod:`liter_llm.builtins.openai_wire`) is the
plugin that applies them, ``trylast`` on every hook relay, so an
OpenAI-compatible provider is data alone and a provider with its own
protocol overrides only what it does differently.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from liter_llm import _header_items as header_items
from liter_llm import _httpx_objects as httpx_objects
from liter_llm import types as t
from liter_llm._fastjson import UNSET, fast_loads
from liter_llm._header_auth import _HeaderAuth
from liter_llm._secret import clean_secret
from liter_llm._serde import request_body, structure_response
from liter_llm.errors import (
    BadRequestError,
    EndpointNotSupportedError,
    LiterLlmError,
    SerializationError,
    error_from_status,
    extract_error_fields,
)
from liter_llm.operations import CHAT

if TYPE_CHECKING:
    from liter_llm._call import Call

__all__ = [
    "build_chat_request",
    "build_openai_request",
    "chat_body",
    "dump_json",
    "header_auth",
    "load_json",
    "merge_headers",
    "ocr_body",
    "parse_openai_response",
    "parse_openai_stream_event",
    "stream_error",
    "url_for",
]

_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
_SSE_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}
_BINARY_HEADERS = {"content-type": "application/json", "accept": "*/*"}
#: transcription formats answered as plain text rather than JSON
_TEXT_TRANSCRIPTION_FORMATS = frozenset({"text", "srt", "vtt"})


#: what ``json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)`` builds per call, built once
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _c_encoder() -> Callable[[Any, int], Any] | None:
    """json's C encoder with ``_ENCODER``'s settings, made once.

    ``_ENCODER.encode`` makes a new one per call (with two Python calls, a closure and the circular-
    reference table around it): a third of the instructions of encoding a chat request.  This one
    has no circular-reference table, so that it can be shared; a circular body ends in the
    interpreter's recursion limit instead, which :func:`dump_json` reports like any body json
    cannot encode.
    """
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - an interpreter without json's C accelerator
        return None
    if c_make_encoder is None:  # pragma: no cover
        return None
    try:
        encoder: Callable[[Any, int], Any] = c_make_encoder(
            None, _ENCODER.default, encode_basestring, None, ":", ",", False, False, False
        )
    except TypeError:  # pragma: no cover - another interpreter's signature: json's own way
        return None
    return encoder


_C_ENCODER = _c_encoder()


def dump_json(body: Any) -> bytes:
    """Encode a JSON body compactly as UTF-8."""
    try:
        if _C_ENCODER is not None:
            return "".join(_C_ENCODER(body, 0)).encode()
        return _ENCODER.encode(body).encode()  # pragma: no cover - without the C encoder
    except (TypeError, ValueError) as exc:
        raise BadRequestError(f"the request body cannot be encoded as JSON: {exc}") from None
    except RecursionError:
        raise BadRequestError(
            "the request body cannot be encoded as JSON: it is nested too deeply or refers to itself"
        ) from None


def load_json(call: Call, content: bytes) -> Any:
    """Decode a JSON answer; a body that is not JSON (or not UTF-8) is a SerializationError."""
    try:
        if content[:1] == b"{" and content[1:2] != b"\x00":
            # what json.loads(content) does for a body that starts with "{" and is no UTF-16/32
            # (json.detect_encoding's answer for it is UTF-8), without detecting the encoding again
            value = fast_loads(content)  # orjson, when installed, to the same result
            if value is not UNSET:
                return value
            return _scan_text(content.decode("utf-8", "surrogatepass"))
        return json.loads(content)
    except UnicodeDecodeError as exc:
        raise SerializationError(
            f"the {call.operation} answer is not valid UTF-8: {exc}", provider=call.provider.name
        ) from None
    except ValueError as exc:
        snippet = content[:200].decode("utf-8", errors="replace")
        raise SerializationError(
            f"the {call.operation} answer is not valid JSON ({exc}); it began with {snippet!r}",
            provider=call.provider.name,
        ) from None


def url_for(call: Call, path: str) -> str:
    """Join the call's base URL and an endpoint path."""
    return call.base_url + path


def merge_headers(call: Call, base: Mapping[str, str]) -> dict[str, str]:
    """The provider's and the client's extra headers over ``base``."""
    headers = dict(base)
    if call.provider.extra_headers:
        headers.update(call.provider.extra_headers)
    if call.config.extra_headers:
        headers.update(call.config.extra_headers)
    return headers


# Parsed URLs and normalised header sets are the same for every call of a
# client to a provider: build them once (bounded caches, cleared when full).
_URLS: dict[str, httpx.URL] = {}
_HEADERS: dict[tuple[Any, ...], tuple[httpx.Headers, bool]] = {}
_CACHE_LIMIT = 512


def cached_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per distinct URL."""
    parsed = _URLS.get(url)
    if parsed is None:
        if len(_URLS) >= _CACHE_LIMIT:
            _URLS.clear()
        parsed = _URLS[url] = httpx.URL(url)
    return parsed


def _cached_headers(call: Call, base: Mapping[str, str], kind: str, url: httpx.URL) -> tuple[httpx.Headers, bool]:
    """The request's headers before its ``Content-Length`` (``Host`` first, as ``httpx.Request`` puts it), and
    whether its ``Content-Length`` may be appended as an item."""
    extra = call.config.extra_headers
    key = (
        kind,
        url.netloc,
        tuple(call.provider.extra_headers.items()) if call.provider.extra_headers else (),
        tuple(extra.items()) if extra else (),
    )
    kept = _HEADERS.get(key)
    if kept is None:
        if len(_HEADERS) >= _CACHE_LIMIT:
            _HEADERS.clear()
            header_items.forget()
        headers = httpx.Headers(merge_headers(call, base))
        if "host" not in headers:
            headers = httpx.Headers([(b"Host", url.netloc), *headers.raw])
        header_items.remember(headers)  # checked once here, not per request
        # whether Content-Length may be appended as an item (no such header given, httpx's default encoding)
        appendable = headers._encoding is None and "content-length" not in headers
        kept = _HEADERS[key] = (headers, appendable)
    return kept


def _json_request(
    call: Call, method: str, path: str, body: Any, *, stream: bool = False, binary: bool = False
) -> httpx.Request:
    kind = "sse" if stream else "binary" if binary else "json"
    base = _SSE_HEADERS if stream else _BINARY_HEADERS if binary else _JSON_HEADERS
    url = cached_url(call.base_url + path)
    content = dump_json(body)
    # The same request as ``httpx.Request(method, url, content=content, headers=...)`` (the same headers in
    # the same order, the body read), without httpx's per-request content encoding and header preparation:
    # ``Host`` comes with the cached headers and ``Content-Length`` is set here.
    kept, appendable = _cached_headers(call, base, kind, url)
    request = httpx_objects.request(method, url, kept, content)  # httpx.Request(...), its body read
    if appendable:
        # what ``headers["Content-Length"] = ...`` does for headers without one (httpx's item layout, as
        # liter_llm/_h1.py's answers build it), without encoding and looking up the name
        request.headers._list.append(header_items.length_item(len(content)))
    else:
        request.headers["Content-Length"] = str(len(content))
    return request


def _plain_request(call: Call, method: str, path: str, params: Mapping[str, Any] | None = None) -> httpx.Request:
    query = {k: v for k, v in (params or {}).items() if v is not None}
    return httpx.Request(
        method,
        url_for(call, path),
        params=query or None,
        headers=merge_headers(call, {"accept": "application/json"}),
    )


def _model_body(call: Call) -> dict[str, Any]:
    body = request_body(call.request)
    if call.model is not None and "model" in body:
        body["model"] = call.model
    mappings = call.provider.param_mappings
    if mappings:
        for source, target in mappings.items():
            if source in body and target not in body:
                body[target] = body.pop(source)
    return body


def _quote(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequestError("an id must be a non-empty string")
    return quote(value, safe="")


def chat_body(call: Call) -> dict[str, Any]:
    """The OpenAI-format JSON body of a ``chat``/``chat_stream`` call.

    The wire model name, the provider's ``param_mappings`` and the ``stream``
    flag are applied.  A provider hook may change the result and hand it to
    :func:`build_chat_request`.
    """
    body = _model_body(call)
    if call.op.stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
        body.pop("stream_options", None)
    if call.provider.structured_output not in (None, "json_schema"):
        apply_structured_output(call, body)
    return body


def schema_instruction(fmt: t.JsonSchemaFormat) -> str:
    """The system-prompt text asking for an answer matching a JSON Schema (JSON mode and prompt-only providers)."""
    schema = json.dumps(fmt.schema or {"type": "object"}, separators=(",", ":"), ensure_ascii=False)
    about = f" ({fmt.description})" if fmt.description else ""
    return (
        f"Answer with a single JSON object named {fmt.name}{about} and nothing else: no prose, no Markdown. "
        f"It must match this JSON Schema:\n{schema}"
    )


def with_system_text(messages: list[Any], text: str) -> list[Any]:
    """``messages`` (wire dicts) with ``text`` added to the leading system message, or one put first."""
    out = list(messages)
    first = out[0] if out else None
    if isinstance(first, dict) and first.get("role") == "system":
        content = first.get("content")
        if isinstance(content, str):
            out[0] = {**first, "content": f"{content}\n\n{text}" if content else text}
            return out
        if isinstance(content, list):
            out[0] = {**first, "content": [*content, {"type": "text", "text": text}]}
            return out
    out.insert(0, {"role": "system", "content": text})
    return out


def apply_structured_output(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Map a JSON Schema ``response_format`` to the provider's declared mechanism (``ProviderSpec.structured_output``).

    ``json_object``: ``response_format`` becomes ``{"type": "json_object"}``
    and the schema goes into the system prompt; ``prompt``: no
    ``response_format``, the schema in the system prompt; ``json_schema``
    (the default): unchanged.  A ``response_format`` or ``messages`` given in
    ``extra_body`` is sent as it is.  ``body`` is changed in place and returned.
    """
    mechanism = call.provider.structured_output or "json_schema"
    fmt = getattr(call.request, "response_format", None)
    extra = getattr(call.request, "extra_body", None) or {}
    if mechanism == "json_schema" or not isinstance(fmt, t.ResponseFormatJsonSchema) or "response_format" in extra:
        return body
    if mechanism == "json_object":
        body["response_format"] = {"type": "json_object"}
    else:
        body.pop("response_format", None)
    if "messages" not in extra:
        body["messages"] = with_system_text(body.get("messages") or [], schema_instruction(fmt.json_schema))
    return body


def build_chat_request(call: Call, body: Mapping[str, Any]) -> httpx.Request:
    """The ``POST /chat/completions`` request carrying ``body``."""
    return _json_request(call, "POST", "/chat/completions", body, stream=call.op.stream)


def ocr_body(call: Call) -> dict[str, Any]:
    """The JSON body of an ``ocr`` call in the ``POST /ocr`` format (Mistral's).

    The typed document (``{"type": "document_url", "url": ...}`` or
    ``{"type": "base64", "data": ..., "media_type": ...}``) becomes
    ``{"type": "document_url", "document_url": <url>}``; inline data goes as a
    ``data:`` URL, an image (``image/*``) as ``{"type": "image_url", "image_url": <data URL>}``.
    """
    body = _model_body(call)
    extra = getattr(call.request, "extra_body", None) or {}
    document = None if "document" in extra else getattr(call.request, "document", None)
    if isinstance(document, t.OcrDocumentUrl):
        body["document"] = {"type": "document_url", "document_url": document.url}
    elif isinstance(document, t.OcrDocumentBase64):
        data_url = f"data:{document.media_type};base64,{document.data}"
        if document.media_type.lower().startswith("image/"):
            body["document"] = {"type": "image_url", "image_url": data_url}
        else:
            body["document"] = {"type": "document_url", "document_url": data_url}
    return body


def with_extra_body(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the request's ``extra_body`` merged into its top level (``extra_body`` wins).

    For a plugin that builds its own JSON body for any operation: the caller's
    ``extra_body`` (a field of every request type that has one) then reaches
    the provider the way the OpenAI wire default sends it.  ``body`` is
    changed in place and returned.

    Raises:
        BadRequestError: ``extra_body`` is not an object with string keys.
    """
    extra = getattr(call.request, "extra_body", None)
    if not extra:
        return body
    if not isinstance(extra, dict) or not all(isinstance(key, str) for key in extra):
        raise BadRequestError("extra_body must be an object with string keys", provider=call.provider.name)
    body.update(extra)
    return body


def extra_form_fields(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """``extra_body`` as multipart form fields: strings as they are, lists as repeated fields, the rest as JSON."""
    fields: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if value is None:
            continue
        if isinstance(value, str):
            fields[key] = value
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            fields[key] = list(value)
        else:
            fields[key] = json.dumps(value)
    return fields


def _build_chat(call: Call) -> httpx.Request:
    return build_chat_request(call, chat_body(call))


def _build_ocr(call: Call) -> httpx.Request:
    return _json_request(call, "POST", "/ocr", ocr_body(call))


def _build_transcribe(call: Call) -> httpx.Request:
    req: t.CreateTranscriptionRequest = call.request
    data: dict[str, Any] = {"model": call.model or req.model}
    for name in ("language", "prompt", "response_format", "temperature"):
        value = getattr(req, name)
        if value is not None:
            data[name] = value if isinstance(value, str) else json.dumps(value)
    if req.timestamp_granularities:
        data["timestamp_granularities[]"] = list(req.timestamp_granularities)
    data.update(extra_form_fields(req.extra_body))
    files = {"file": (req.filename, req.file, "application/octet-stream")}
    return httpx.Request(
        "POST",
        url_for(call, "/audio/transcriptions"),
        data=data,
        files=files,
        headers=merge_headers(call, {"accept": "application/json"}),
    )


def _build_create_file(call: Call) -> httpx.Request:
    freq: t.CreateFileRequest = call.request
    content_type = freq.content_type or "application/octet-stream"
    return httpx.Request(
        "POST",
        url_for(call, "/files"),
        data={"purpose": freq.purpose},
        files={"file": (freq.filename, freq.file, content_type)},
        headers=merge_headers(call, {"accept": "application/json"}),
    )


def _build_create_response_stream(call: Call) -> httpx.Request:
    body = _model_body(call)
    body["stream"] = True
    return _json_request(call, "POST", "/responses", body, stream=True)


#: the operations whose OpenAI request is not the generic one of their row (a JSON body, or a query)
_BUILDERS: dict[str, Callable[[Call], httpx.Request]] = {
    "chat": _build_chat,
    "chat_stream": _build_chat,
    "ocr": _build_ocr,
    "transcribe": _build_transcribe,
    "create_file": _build_create_file,
    "create_response_stream": _build_create_response_stream,
}


def build_openai_request(call: Call) -> httpx.Request:
    """Build the OpenAI-format HTTP request for any operation.

    The method and path are the operation's row (:mod:`liter_llm.operations`);
    a ``POST`` carries the request as a JSON body (``{}`` without one), any
    other method the request's fields as a query.  An operation without an
    OpenAI endpoint (``count_tokens``) is EndpointNotSupportedError.
    """
    op = call.op
    special = _BUILDERS.get(op.name)
    if special is not None:
        return special(call)
    path = op.path
    if op.method is None or path is None:
        raise EndpointNotSupportedError(call.provider.name, op.name)
    if "{" in path:
        path = path.format_map({name: _quote(value) for name, value in call.params.items()})
    if op.method == "POST":
        body = {} if call.request is None else _model_body(call)
        return _json_request(call, "POST", path, body, binary=op.binary)
    if op.binary:
        return httpx.Request(op.method, url_for(call, path), headers=merge_headers(call, {"accept": "*/*"}))
    return _plain_request(call, op.method, path, _query(call.request))


def _query(request: Any) -> dict[str, Any]:
    if request is None:
        return {}
    result: dict[str, Any] = request.to_dict()
    return result


def check_response_shape(call: Call, data: Any) -> None:
    """Refuse a decoded success answer that is not a response of ``call.operation``.

    The answer must be a JSON object holding the operation's one required
    field (``Operation.required_field``: ``choices`` for a chat, ``data`` for
    embeddings, ...).  Unknown fields and a missing ``usage`` stay fine.  An
    ``{"error": ...}`` object sent with a 2xx status is the error it describes.

    Raises:
        SerializationError: the answer is not an object, or lacks the field.
    """
    op = call.operation
    if not isinstance(data, dict):
        raise SerializationError(
            f"the {op} answer is not a JSON object (got {type(data).__name__})", provider=call.provider.name
        )
    field = call.op.required_field
    if field is None or field in data:
        return
    if data.get("error") is not None:
        raise stream_error(call, data)
    shown = ", ".join(sorted(map(str, data))[:10]) or "none"
    raise SerializationError(
        f"the {op} answer is not a {op} response: it has no {field!r} field (fields: {shown})",
        provider=call.provider.name,
    )


def _decode_base64_embeddings(call: Call, data: Any) -> None:
    if not isinstance(data, dict):
        return
    items = data.get("data")
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("embedding"), str):
            try:
                raw = base64.b64decode(item["embedding"], validate=True)
                count = len(raw) // 4
                if len(raw) % 4:
                    raise ValueError("length is not a multiple of 4")
                item["embedding"] = list(struct.unpack(f"<{count}f", raw))
            except (ValueError, struct.error) as exc:
                raise SerializationError(
                    f"data[{index}].embedding: invalid base64 float32 vector: {exc}", provider=call.provider.name
                ) from None


def _plain_text_transcription(call: Call, response: httpx.Response) -> bool:
    """Whether a transcription answer is plain text (``text``/``srt``/``vtt``) rather than JSON."""
    fmt = getattr(call.request, "response_format", None)
    if isinstance(fmt, str) and fmt in _TEXT_TRANSCRIPTION_FORMATS:
        return True
    content_type = response.headers.get("content-type", "")
    return content_type.startswith("text/") and "json" not in content_type


def _normalize_reasoning(message: Any) -> None:
    """Keep a ``reasoning`` field (OpenRouter, Groq, vLLM) as ``reasoning_content``."""
    if isinstance(message, dict) and message.get("reasoning_content") is None:
        reasoning = message.get("reasoning")
        if isinstance(reasoning, str):
            message["reasoning_content"] = reasoning


def _normalize_choices(payload: Any, key: str) -> None:
    if not isinstance(payload, dict):
        return
    choices = payload.get("choices")
    if choices is None and "choices" in payload:
        payload["choices"] = []  # some servers send "choices": null beside usage
        return
    if isinstance(choices, list):
        for choice in choices:
            if isinstance(choice, dict):
                _normalize_reasoning(choice.get(key))


def parse_openai_response(call: Call, response: httpx.Response) -> Any:
    """Read an OpenAI-format success answer into the operation's type."""
    op = call.op
    if op.binary:
        return response.content
    if op.provider_only:  # no OpenAI answer to read
        raise EndpointNotSupportedError(call.provider.name, op.name)
    if op.name == "transcribe" and _plain_text_transcription(call, response):
        try:
            text = response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(
                f"the transcribe answer is not valid UTF-8: {exc}", provider=call.provider.name
            ) from None
        return t.TranscriptionResponse(text=text)
    data = load_json(call, response.content)
    if op.name == "transcribe" and isinstance(data, str):
        data = {"text": data}
    check_response_shape(call, data)
    if op.name == "embed":
        _decode_base64_embeddings(call, data)
    elif op is CHAT:
        _normalize_choices(data, "message")
    return structure_response(data, op.response_type)


#: the HTTP status an error code or type inside a stream stands for (the stream itself was a 200)
_STREAM_ERROR_STATUS = {
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "requests": 429,
    "tokens": 429,
    "invalid_request_error": 400,
    "context_length_exceeded": 400,
    "content_filter": 400,
    "invalid_api_key": 401,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "overloaded_error": 503,
    "server_error": 500,
}


def stream_error(call: Call, payload: Any) -> LiterLlmError:
    """The error for an ``{"error": ...}`` object that arrived inside a stream."""
    message, code, etype = extract_error_fields(payload)
    status = 500
    inner = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(inner, dict):
        for key in ("status", "code", "status_code"):
            value = inner.get(key)
            if isinstance(value, int) and 400 <= value < 600:
                status = value
                break
    if code and code.isdigit() and 400 <= int(code) < 600:
        status = int(code)
    elif status == 500:
        status = _STREAM_ERROR_STATUS.get(code or "", _STREAM_ERROR_STATUS.get(etype or "", 500))
    return error_from_status(
        status,
        message or "the provider sent an error inside the stream",
        provider=call.provider.name,
        code=code,
        error_type=etype,
        body=json.dumps(payload, ensure_ascii=False)[:2000],
    )


def _scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    try:
        from json.scanner import c_make_scanner  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - an interpreter without the C scanner
        return None
    scanner: Callable[[str, int], tuple[Any, int]] | None = (
        c_make_scanner(json.JSONDecoder()) if c_make_scanner is not None else None
    )
    return scanner


#: json's own C scanner, as ``json.loads`` uses it (behind two Python calls and two regex matches)
_SCAN = _scanner()


def _loads_text(text: str) -> Any:
    """``json.loads(text)``: orjson's answer when it gives one (:mod:`liter_llm._fastjson`), else json's."""
    value = fast_loads(text)
    if value is not UNSET:
        return value
    return _scan_text(text)


def _scan_text(text: str) -> Any:
    """``json.loads(text)``: a document with nothing around it is scanned at once, anything else by json.loads."""
    if _SCAN is not None:
        try:
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError):
            pass  # leading space, a byte order mark, bad JSON: json.loads says what it says
        else:
            if end == len(text):
                return value
    return json.loads(text)


def parse_openai_stream_event(call: Call, data: str) -> list[t.ChatCompletionChunk]:
    """Turn one OpenAI-format SSE ``data`` payload into chunks."""
    if data == "[DONE]":
        call.stream_complete = True
        return []
    if not data.strip():
        return []  # an empty keep-alive event
    try:
        payload = _loads_text(data)
    except ValueError as exc:
        raise SerializationError(
            f"a stream event is not valid JSON ({exc}): {data[:200]!r}", provider=call.provider.name
        ) from None
    if isinstance(payload, dict) and payload.get("error") is not None and "choices" not in payload:
        raise stream_error(call, payload)
    chunk = fast_chunk(payload)
    if chunk is None:
        _normalize_choices(payload, "delta")
        _index_tool_calls(call, payload)
        chunk = structure_response(payload, t.ChatCompletionChunk)
    return [chunk]


_TOOL_INDEXES = "liter_llm.tool_call_indexes"


def _index_tool_calls(call: Call, payload: Any) -> None:
    """Give tool-call deltas without ``index`` the index of their call, found by ``id``.

    Some servers stream parallel tool calls without ``index``, each with its
    own ``id``; a delta without either continues the last call of its choice.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        return
    for choice in payload["choices"]:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        calls = delta.get("tool_calls") if isinstance(delta, dict) else None
        if not isinstance(calls, list):
            continue
        state = call.state.setdefault(_TOOL_INDEXES, {})
        seen = state.setdefault(choice.get("index", 0), {"ids": {}, "last": 0, "next": 0})
        for item in calls:
            if not isinstance(item, dict):
                continue
            ident = item.get("id")
            index = item.get("index")
            if isinstance(index, int) and not isinstance(index, bool):
                seen["next"] = max(seen["next"], index + 1)
            elif isinstance(ident, str) and ident:
                index = seen["ids"].get(ident)
                if index is None:
                    index = seen["next"]
                    seen["next"] += 1
                item["index"] = index
            else:
                index = item["index"] = seen["last"]
            if isinstance(ident, str) and ident:
                seen["ids"][ident] = index
            seen["last"] = index


_CHUNK_KEYS = frozenset({"id", "object", "created", "model", "choices", "system_fingerprint", "service_tier", "usage"})
_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs"})
_DELTA_KEYS = frozenset({"role", "content", "refusal"})
_FINISH_REASONS = {reason.value: reason for reason in t.FinishReason}


_new = object.__new__
#: the classes fast_chunk builds (chunk, choice, delta), bound by the first chunk: the stream's types are
#: built on first use (liter_llm._stream_types), so that a process that streams nothing never builds them
_stream_classes: tuple[type[Any], type[Any], type[Any]] | None = None


def _bind_stream_classes() -> tuple[type[Any], type[Any], type[Any]]:
    global _stream_classes
    _stream_classes = (t.ChatCompletionChunk, t.StreamChoice, t.StreamDelta)
    return _stream_classes


def fast_chunk(payload: Any) -> t.ChatCompletionChunk | None:
    """Build the common text chunk directly, or ``None`` to leave it to the general parser.

    Streams spend most of their time on chunks of one shape (an id, a model,
    choices whose delta holds a role, content or refusal); building those
    without the generic structuring halves the per-chunk cost.  Anything else
    (usage, tool calls, reasoning, logprobs, unknown fields, odd types,
    unknown finish reasons) returns ``None`` and takes the general, lenient
    path, which gives the same result for the shapes handled here.  The three
    objects are plain slotted attrs classes, built by storing every field (as
    their ``__init__`` does, without the cost of a keyword call); a test holds
    the stores to the classes' fields.
    """
    if type(payload) is not dict or not _CHUNK_KEYS.issuperset(payload):
        return None
    chunk_class, choice_class, delta_class = _stream_classes or _bind_stream_classes()
    get = payload.get
    ident = get("id")
    created = get("created")
    model = get("model")
    obj = get("object", "chat.completion.chunk")
    fingerprint = get("system_fingerprint")
    tier = get("service_tier")
    if (
        type(ident) is not str
        or type(created) is not int
        or type(model) is not str
        or type(obj) is not str
        or get("usage") is not None
        or (fingerprint is not None and type(fingerprint) is not str)
        or (tier is not None and type(tier) is not str)
    ):
        return None
    choices = get("choices", [])
    if type(choices) is not list:
        return None
    built = []
    for choice in choices:
        if type(choice) is not dict or not _CHOICE_KEYS.issuperset(choice) or choice.get("logprobs") is not None:
            return None
        index = choice.get("index", 0)
        delta = choice.get("delta")
        if type(index) is not int or type(delta) is not dict or not _DELTA_KEYS.issuperset(delta):
            return None
        role = delta.get("role")
        content = delta.get("content")
        refusal = delta.get("refusal")
        if (
            (role is not None and type(role) is not str)
            or (content is not None and type(content) is not str)
            or (refusal is not None and type(refusal) is not str)
        ):
            return None
        finish = choice.get("finish_reason")
        if finish is not None:
            finish = _FINISH_REASONS.get(finish) if type(finish) is str else None
            if finish is None:
                return None
        parts = _new(delta_class)
        parts.role = role
        parts.content = content
        parts.tool_calls = []
        parts.function_call = None
        parts.refusal = refusal
        parts.reasoning_content = None
        one = _new(choice_class)
        one.index = index
        one.delta = parts
        one.finish_reason = finish
        built.append(one)
    chunk: t.ChatCompletionChunk = _new(chunk_class)
    chunk.id = ident
    chunk.object = obj
    chunk.created = created
    chunk.model = model
    chunk.choices = built
    chunk.usage = None
    chunk.system_fingerprint = fingerprint
    chunk.service_tier = tier
    return chunk


_NO_AUTH = httpx.Auth()
#: a key that can go in a header as it is (visible ASCII, no surrounding whitespace)
_KEY_OK = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def header_auth(call: Call) -> httpx.Auth:
    """The auth flow that sends ``call.api_key`` as ``call.provider.auth`` says.

    The key is checked and its (immutable) auth object built once per key and format: the key keeps it
    (``SecretStr._header``), so it goes with the key and is never shared with another one.
    """
    key = call.api_key
    fmt = call.provider.auth
    if key is None:
        return _NO_AUTH
    kept = key._header
    if kept is not None and kept[0] is fmt:
        auth: httpx.Auth = kept[1]
        return auth
    secret = key.get_secret_value()
    if not secret or fmt.kind == "none":
        return _NO_AUTH
    if _KEY_OK.fullmatch(secret) is None:  # a key from a plugin or set on the call: checked where it is sent
        secret = clean_secret(secret, f"the API key for {call.provider.name}", provider=call.provider.name)
    if fmt.kind == "bearer":
        auth = _HeaderAuth("authorization", "Bearer " + secret)
    else:
        auth = _HeaderAuth(fmt.header or "authorization", secret)
    key._header = (fmt, auth)
    return auth


def __getattr__(name: str) -> Any:
    """``OpenAIWire``/``OPENAI_WIRE`` moved to :mod:`liter_llm.builtins.openai_wire` (kept importable here)."""
    if name in ("OpenAIWire", "OPENAI_WIRE"):
        from liter_llm.builtins import openai_wire

        return getattr(openai_wire, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
