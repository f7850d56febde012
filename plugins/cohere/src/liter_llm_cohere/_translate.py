"""liter-llm's typed requests <-> Cohere's v2 wire format (chat, embed, rerank, models).

Every field here is checked against Cohere's API reference: https://docs.cohere.com/reference/chat,
https://docs.cohere.com/reference/embed, https://docs.cohere.com/reference/rerank and
https://docs.cohere.com/reference/list-models.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from liter_llm import types as t
from liter_llm.errors import BadRequestError, SerializationError

__all__ = [
    "DEFAULT_INPUT_TYPE",
    "FINISH_REASONS",
    "CohereExtras",
    "CohereEmbeddingRequest",
    "document_texts",
    "embed_body",
    "finish_reason",
    "from_cohere_chat",
    "from_cohere_embed",
    "from_cohere_models",
    "from_cohere_rerank",
    "rerank_body",
    "rerank_results",
    "to_cohere_body",
    "usage_from_cohere",
]

PROVIDER = "cohere"

#: Cohere's ``finish_reason`` values and what each means in liter-llm.
FINISH_REASONS: Mapping[str, t.FinishReason] = {
    "COMPLETE": t.FinishReason.STOP,
    "STOP_SEQUENCE": t.FinishReason.STOP,
    "MAX_TOKENS": t.FinishReason.LENGTH,
    "TOOL_CALL": t.FinishReason.TOOL_CALLS,
    "ERROR": t.FinishReason.OTHER,
    "TIMEOUT": t.FinishReason.OTHER,
}

#: The ``input_type`` sent when the request names none (embed models v3 and later require one).
DEFAULT_INPUT_TYPE = "search_document"

_INPUT_TYPES = frozenset({"search_document", "search_query", "classification", "clustering", "image"})
_EMBEDDING_TYPES = frozenset({"float", "int8", "uint8", "binary", "ubinary", "base64"})
_TRUNCATE = frozenset({"NONE", "START", "END"})


@attrs.define(kw_only=True, slots=True)
class CohereEmbeddingRequest(t.EmbeddingRequest):
    """An embedding request with Cohere's own options (pass it to ``client.embed``).

    ``input_type`` (``search_document``, ``search_query``, ``classification``, ``clustering``;
    default ``search_document``), ``embedding_types`` (Cohere's list; the response carries the
    first of them, ``float`` or ``base64``) and ``truncate`` (``NONE``, ``START``, ``END``).
    """

    input_type: str | None = None
    embedding_types: list[str] | None = None
    truncate: str | None = None


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, provider=PROVIDER)


def _bad_answer(message: str) -> SerializationError:
    return SerializationError(message, provider=PROVIDER)


# ---------------------------------------------------------------------------
# Chat request
# ---------------------------------------------------------------------------


def _text_parts(content: Any, role: str) -> str | list[dict[str, Any]]:
    """Content of a system/assistant/tool message: text only."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or ():
        if not isinstance(part, t.TextContentPart):
            raise _bad(f"a {role} message may carry only text on Cohere, not {type(part).__name__}")
        parts.append({"type": "text", "text": part.text})
    return parts


def _user_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or ():
        if isinstance(part, t.TextContentPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, t.ImageUrlContentPart):
            image: dict[str, Any] = {"url": part.image_url.url}
            if part.image_url.detail is not None:
                image["detail"] = getattr(part.image_url.detail, "value", part.image_url.detail)
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise _bad(f"Cohere's chat takes text and image_url content parts, not {type(part).__name__}")
    return parts


def _message(message: Any) -> dict[str, Any]:
    if isinstance(message, (t.SystemMessage, t.DeveloperMessage)):
        return {"role": "system", "content": _text_parts(message.content, "system")}
    if isinstance(message, t.UserMessage):
        return {"role": "user", "content": _user_content(message.content)}
    if isinstance(message, t.AssistantMessage):
        out: dict[str, Any] = {"role": "assistant"}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments or "{}"},
                }
                for call in message.tool_calls
            ]
        if message.content is not None:
            out["content"] = message.content
        elif not message.tool_calls:
            out["content"] = ""
        return out
    if isinstance(message, t.ToolMessage):
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": _text_parts(message.content, "tool"),
        }
    raise _bad(f"Cohere's chat has no {getattr(message, 'role', type(message).__name__)!r} messages")


def _tool_choice(choice: Any) -> str | None:
    if choice is None:
        return None
    if isinstance(choice, t.SpecificToolChoice):
        raise _bad("Cohere cannot force one named tool: use tool_choice 'required', 'none' or 'auto'")
    value = getattr(choice, "value", choice)
    if value == "auto":
        return None
    if value in ("none", "required"):
        return str(value).upper()
    raise _bad(f"tool_choice {value!r} has no Cohere equivalent")


def _response_format(fmt: Any) -> dict[str, Any] | None:
    if fmt is None:
        return None
    if isinstance(fmt, t.ResponseFormatText):
        return {"type": "text"}
    if isinstance(fmt, t.ResponseFormatJsonObject):
        return {"type": "json_object"}
    if isinstance(fmt, t.ResponseFormatJsonSchema):
        return {"type": "json_object", "json_schema": fmt.json_schema.schema}
    raise _bad(f"response_format {type(fmt).__name__} has no Cohere equivalent")


def to_cohere_body(request: t.ChatCompletionRequest, *, model: str, stream: bool) -> dict[str, Any]:
    """The ``POST /v2/chat`` body of a chat request.

    ``extra_body`` keys (Cohere's ``documents``, ``citation_options``, ``safety_mode``, ``k``,
    ``thinking``, ``strict_tools``, ...) go to the top level and win over the typed fields.
    """
    if not request.messages:
        raise _bad("messages: at least one message is required")
    if request.n is not None and request.n != 1:
        raise _bad("n: Cohere returns one choice per request")
    if request.logit_bias:
        raise _bad("logit_bias: Cohere's chat has no equivalent")
    if request.top_logprobs is not None:
        raise _bad("top_logprobs: Cohere's chat has no equivalent (logprobs=true is supported)")
    if request.parallel_tool_calls is False:
        raise _bad("parallel_tool_calls=false: Cohere's chat cannot turn parallel tool calls off")
    body: dict[str, Any] = {"model": model, "messages": [_message(m) for m in request.messages], "stream": stream}
    stop = [request.stop] if isinstance(request.stop, str) else request.stop
    max_tokens = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    optional: dict[str, Any] = {
        "temperature": request.temperature,
        "p": request.top_p,
        "max_tokens": max_tokens,
        "stop_sequences": list(stop) if stop else None,
        "seed": request.seed,
        "frequency_penalty": request.frequency_penalty,
        "presence_penalty": request.presence_penalty,
        "logprobs": request.logprobs,
        "tool_choice": _tool_choice(request.tool_choice),
        "response_format": _response_format(request.response_format),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if request.tools:
        tools = []
        for tool in request.tools:
            function: dict[str, Any] = {"name": tool.function.name}
            if tool.function.description is not None:
                function["description"] = tool.function.description
            function["parameters"] = tool.function.parameters or {"type": "object", "properties": {}}
            tools.append({"type": "function", "function": function})
        body["tools"] = tools
    if request.extra_body:
        body.update(request.extra_body)
    return body


# ---------------------------------------------------------------------------
# Chat response
# ---------------------------------------------------------------------------


def finish_reason(value: Any) -> t.FinishReason | None:
    """Cohere's ``finish_reason`` as liter-llm's (an unknown value is ``OTHER``)."""
    if value is None:
        return None
    return FINISH_REASONS.get(str(value), t.FinishReason.OTHER)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return 0
    return int(value)


def usage_from_cohere(usage: Any) -> t.Usage | None:
    """Cohere's ``usage`` (``tokens``, else ``billed_units``) as a ``Usage``."""
    if not isinstance(usage, Mapping):
        return None
    counts = usage.get("tokens")
    if not isinstance(counts, Mapping):
        counts = usage.get("billed_units")
    if not isinstance(counts, Mapping):
        return None
    used_in, used_out = _count(counts.get("input_tokens")), _count(counts.get("output_tokens"))
    return t.Usage(prompt_tokens=used_in, completion_tokens=used_out, total_tokens=used_in + used_out)


def _str(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _bad_answer(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _arguments(value: Any, where: str) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value)
    raise _bad_answer(f"{where}: expected JSON text, got {type(value).__name__}")


def _tool_calls(items: Any) -> list[t.ToolCall]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise _bad_answer("message.tool_calls: expected a list")
    calls = []
    for index, item in enumerate(items):
        where = f"message.tool_calls[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("function"), Mapping):
            raise _bad_answer(f"{where}: expected an object with a 'function'")
        function = item["function"]
        name = _str(function.get("name"), f"{where}.function.name")
        arguments = _arguments(function.get("arguments"), f"{where}.function.arguments")
        calls.append(
            t.ToolCall(
                id=_str(item.get("id"), f"{where}.id") or "",
                function=t.FunctionCall(name=name or "", arguments=arguments),
            )
        )
    return calls


def _content_text(content: Any) -> str | None:
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad_answer("message.content: expected a list of content blocks")
    texts = []
    for index, block in enumerate(content):
        if not isinstance(block, Mapping):
            raise _bad_answer(f"message.content[{index}]: expected an object")
        if block.get("type") == "text":
            texts.append(_str(block.get("text"), f"message.content[{index}].text") or "")
    return "".join(texts) if texts else None


def _thinking(content: Any) -> str | None:
    if not isinstance(content, list):
        return None
    parts = [b.get("thinking") for b in content if isinstance(b, Mapping) and b.get("type") == "thinking"]
    text = "".join(p for p in parts if isinstance(p, str))
    return text or None


@attrs.define(kw_only=True, slots=True)
class CohereExtras:
    """What a Cohere chat answer carries that the common response has no field for.

    ``citations`` are Cohere's citation objects as sent (``start``, ``end``, ``text``,
    ``sources``, ``type``); ``tool_plan`` is the model's plan before its tool calls.  The plugin
    keeps them in ``call.state[EXTRAS_STATE]``, where every hook (``on_response``,
    ``wrap_call``) sees them; :class:`~liter_llm_cohere.CitationCollector` hands them to the caller.
    """

    citations: list[dict[str, Any]] = attrs.field(factory=list)
    tool_plan: str = ""


def from_cohere_chat(data: Any, *, model: str) -> tuple[t.ChatCompletionResponse, CohereExtras]:
    """A ``/v2/chat`` answer as a ``ChatCompletionResponse``, and its citations and tool plan."""
    if not isinstance(data, Mapping) or not isinstance(data.get("message"), Mapping):
        raise _bad_answer("the chat answer is not an object with a 'message'")
    msg = data["message"]
    citations = msg.get("citations")
    if citations is not None and not isinstance(citations, list):
        raise _bad_answer("message.citations: expected a list")
    plan = msg.get("tool_plan")
    extras = CohereExtras(
        citations=[dict(c) for c in citations or () if isinstance(c, Mapping)],
        tool_plan=plan if isinstance(plan, str) else "",
    )
    message = t.AssistantMessage(
        content=_content_text(msg.get("content")),
        tool_calls=_tool_calls(msg.get("tool_calls")),
        reasoning_content=_thinking(msg.get("content")),
    )
    response = t.ChatCompletionResponse(
        id=str(data.get("id") or ""),
        created=0,
        model=model,
        choices=[t.Choice(index=0, message=message, finish_reason=finish_reason(data.get("finish_reason")))],
        usage=usage_from_cohere(data.get("usage")),
    )
    return response, extras


# ---------------------------------------------------------------------------
# Embed
# ---------------------------------------------------------------------------


def embed_body(request: t.EmbeddingRequest, *, model: str) -> dict[str, Any]:
    """The ``POST /v2/embed`` body of an embedding request."""
    value = request.input
    if isinstance(value, str):
        texts = [value]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        texts = [str(item) for item in value]
    else:
        raise _bad("input: Cohere embeds texts, not token ids")
    if not texts:
        raise _bad("input: at least one text is required")
    input_type = getattr(request, "input_type", None) or DEFAULT_INPUT_TYPE
    if input_type not in _INPUT_TYPES:
        raise _bad(f"input_type: {input_type!r} is not one of {sorted(_INPUT_TYPES)}")
    kinds = getattr(request, "embedding_types", None)
    if kinds is None:
        fmt = getattr(request.encoding_format, "value", request.encoding_format)
        kinds = ["base64" if fmt == "base64" else "float"]
    if not kinds or any(kind not in _EMBEDDING_TYPES for kind in kinds):
        raise _bad(f"embedding_types: each must be one of {sorted(_EMBEDDING_TYPES)}")
    body: dict[str, Any] = {"model": model, "texts": texts, "input_type": input_type, "embedding_types": list(kinds)}
    if request.dimensions is not None:
        body["output_dimension"] = request.dimensions
    truncate = getattr(request, "truncate", None)
    if truncate is not None:
        if truncate not in _TRUNCATE:
            raise _bad(f"truncate: {truncate!r} is not one of {sorted(_TRUNCATE)}")
        body["truncate"] = truncate
    return body


def _decode_base64(value: Any, where: str) -> list[float]:
    if not isinstance(value, str):
        raise _bad_answer(f"{where}: expected base64 text")
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise _bad_answer(f"{where}: invalid base64") from None
    if len(raw) % 4:
        raise _bad_answer(f"{where}: base64 float32 data has a length that is not a multiple of 4")
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _numbers(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value
    ):
        raise _bad_answer(f"{where}: expected a list of numbers")
    return [float(x) for x in value]


def from_cohere_embed(data: Any, request: t.EmbeddingRequest, *, model: str) -> t.EmbeddingResponse:
    """A ``/v2/embed`` answer as an ``EmbeddingResponse`` (base64 decoded to floats).

    The vectors of the first requested embedding type are returned (``float``, ``base64`` as
    floats, or the integer types as numbers).
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("embeddings"), Mapping):
        raise _bad_answer("the embed answer is not an object with 'embeddings'")
    kinds = embed_body(request, model=model)["embedding_types"]
    kind = kinds[0]
    vectors = data["embeddings"].get(kind)
    if not isinstance(vectors, list):
        raise _bad_answer(f"embeddings.{kind}: expected a list")
    out = []
    for index, vector in enumerate(vectors):
        where = f"embeddings.{kind}[{index}]"
        values = _decode_base64(vector, where) if kind == "base64" else _numbers(vector, where)
        out.append(t.EmbeddingObject(embedding=values, index=index))
    meta = data.get("meta")
    usage = None
    if isinstance(meta, Mapping) and isinstance(meta.get("billed_units"), Mapping):
        used = _count(meta["billed_units"].get("input_tokens"))
        usage = t.Usage(prompt_tokens=used, total_tokens=used)
    return t.EmbeddingResponse(data=out, model=model, usage=usage)


# ---------------------------------------------------------------------------
# Rerank
# ---------------------------------------------------------------------------


def document_texts(documents: Sequence[Any]) -> list[str]:
    """The texts of rerank documents (strings or ``{"text": ...}``)."""
    return [doc if isinstance(doc, str) else doc.text for doc in documents]


def rerank_body(request: t.RerankRequest, *, model: str) -> dict[str, Any]:
    """The ``POST /v2/rerank`` body (v2 takes strings; ``return_documents`` is answered locally)."""
    if not request.documents:
        raise _bad("documents: at least one document is required")
    body: dict[str, Any] = {"model": model, "query": request.query, "documents": document_texts(request.documents)}
    if request.top_n is not None:
        body["top_n"] = request.top_n
    return body


def rerank_results(
    items: Any, request: t.RerankRequest, *, provider: str, where: str = "results", score: str = "relevance_score"
) -> list[t.RerankResult]:
    """Ranked results, best first, each with its original ``index`` (documents filled from the request)."""
    if not isinstance(items, list):
        raise SerializationError(f"{where}: expected a list", provider=provider)
    texts = document_texts(request.documents)
    results = []
    for position, item in enumerate(items):
        place = f"{where}[{position}]"
        if not isinstance(item, Mapping):
            raise SerializationError(f"{place}: expected an object", provider=provider)
        index, value = item.get("index"), item.get(score)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(texts):
            raise SerializationError(f"{place}.index: not the index of a document sent", provider=provider)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SerializationError(f"{place}.{score}: expected a number", provider=provider)
        document = t.RerankResultDocument(text=texts[index]) if request.return_documents else None
        results.append(t.RerankResult(index=index, relevance_score=float(value), document=document))
    results.sort(key=lambda r: (-r.relevance_score, r.index))
    return results


def from_cohere_rerank(data: Any, request: t.RerankRequest) -> t.RerankResponse:
    """A ``/v2/rerank`` answer as a ``RerankResponse``, sorted by relevance."""
    if not isinstance(data, Mapping):
        raise _bad_answer("the rerank answer is not an object")
    results = rerank_results(data.get("results"), request, provider=PROVIDER)
    meta = data.get("meta")
    return t.RerankResponse(
        id=data.get("id") if isinstance(data.get("id"), str) else None,
        results=results,
        meta=dict(meta) if isinstance(meta, Mapping) else None,
    )


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def from_cohere_models(data: Any) -> t.ModelsListResponse:
    """A ``GET /v1/models`` answer (``{"models": [{"name", ...}]}``) as a ``ModelsListResponse``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list):
        raise _bad_answer("the model list is not an object with a 'models' list")
    models = []
    for index, item in enumerate(data["models"]):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise _bad_answer(f"models[{index}].name: expected a string")
        models.append(t.ModelObject(id=item["name"], owned_by="cohere"))
    return t.ModelsListResponse(data=models)
