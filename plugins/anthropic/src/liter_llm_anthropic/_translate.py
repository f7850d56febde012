"""Chat translation between the OpenAI-shaped types and Anthropic's Messages API.

Pure functions, no I/O: the plugin's hooks use them, and so can another
plugin that speaks the Messages API elsewhere (Claude on Vertex AI).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from liter_llm import types as t
from liter_llm.errors import BadRequestError, SerializationError

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "JSON_TOOL_NAME",
    "THINKING_BUDGETS",
    "finish_reason",
    "from_anthropic_message",
    "json_tool_name",
    "to_anthropic_body",
    "usage_from_anthropic",
]

#: ``max_tokens`` sent when the caller gave neither ``max_tokens`` nor
#: ``max_completion_tokens`` (the Messages API requires it).
DEFAULT_MAX_TOKENS = 4096

#: ``reasoning_effort`` -> extended thinking ``budget_tokens``.
#: ``minimal`` turns extended thinking off.
THINKING_BUDGETS: Mapping[str, int | None] = {
    "minimal": None,
    "low": 1024,
    "medium": 4096,
    "high": 16384,
}

#: The name of the forced tool that carries a ``json_object`` answer (and a
#: ``json_schema`` answer whose schema name is not a valid tool name).
JSON_TOOL_NAME = "json_response"

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_DATA_URL = re.compile(r"^data:(?P<media>[^;,]+)(?:;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)

_STOP_REASONS: Mapping[str, t.FinishReason] = {
    "end_turn": t.FinishReason.STOP,
    "stop_sequence": t.FinishReason.STOP,
    "max_tokens": t.FinishReason.LENGTH,
    "model_context_window_exceeded": t.FinishReason.LENGTH,
    "tool_use": t.FinishReason.TOOL_CALLS,
    "refusal": t.FinishReason.CONTENT_FILTER,
    "pause_turn": t.FinishReason.OTHER,
}


# ---------------------------------------------------------------------------
# Request: ChatCompletionRequest -> Anthropic body
# ---------------------------------------------------------------------------


def json_tool_name(request: t.ChatCompletionRequest) -> str | None:
    """The name of the forced tool that carries the JSON answer, or ``None`` without JSON mode.

    ``json_schema``: the schema's ``name`` when it is a valid tool name, else
    :data:`JSON_TOOL_NAME`; ``json_object``: :data:`JSON_TOOL_NAME`.
    """
    fmt = request.response_format
    if isinstance(fmt, t.ResponseFormatJsonSchema):
        name = fmt.json_schema.name
        return name if isinstance(name, str) and _TOOL_NAME.match(name) else JSON_TOOL_NAME
    if isinstance(fmt, t.ResponseFormatJsonObject):
        return JSON_TOOL_NAME
    return None


def _unsupported(field: str, why: str = "") -> BadRequestError:
    extra = f": {why}" if why else ""
    return BadRequestError(f"{field}: not supported by the Anthropic Messages API{extra}", provider="anthropic")


def _decode_base64(data: str, where: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(f"{where}: invalid base64 data ({exc})", provider="anthropic") from None


def _image_block(part: t.ImageUrlContentPart, where: str) -> dict[str, Any]:
    url = part.image_url.url
    match = _DATA_URL.match(url)
    if match:
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": match.group("media"), "data": match.group("data")},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise BadRequestError(f"{where}.image_url.url: expected a base64 data: URL or an http(s) URL", provider="anthropic")


def _document_block(part: t.DocumentContentPart, where: str) -> dict[str, Any]:
    doc = part.document
    data = doc.data
    media_type = doc.media_type
    if data.startswith(("https://", "http://")):
        return {"type": "document", "source": {"type": "url", "url": data}}
    match = _DATA_URL.match(data)
    if match:
        data = match.group("data")
    if media_type == "application/pdf":
        return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if media_type == "text/plain":
        raw = _decode_base64(data, f"{where}.document.data")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError(
                f"{where}.document.data: text/plain data is not UTF-8", provider="anthropic"
            ) from None
        return {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
    raise BadRequestError(
        f"{where}.document.media_type: {media_type!r} is not supported by Anthropic "
        "(application/pdf or text/plain, or an http(s) URL)",
        provider="anthropic",
    )


def _content_blocks(content: str | list[t.ContentPart], where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(content):
        here = f"{where}[{index}]"
        if isinstance(part, t.TextContentPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, t.ImageUrlContentPart):
            blocks.append(_image_block(part, here))
        elif isinstance(part, t.DocumentContentPart):
            blocks.append(_document_block(part, here))
        elif isinstance(part, t.InputAudioContentPart):
            raise _unsupported(f"{here}.input_audio", "audio input")
        else:  # pragma: no cover - the union is closed
            raise BadRequestError(f"{here}: unknown content part {type(part).__name__}", provider="anthropic")
    return blocks


def _text_only(content: str | list[t.ContentPart], where: str) -> list[dict[str, Any]]:
    blocks = _content_blocks(content, where)
    for index, block in enumerate(blocks):
        if block["type"] != "text":
            raise BadRequestError(f"{where}[{index}]: only text is allowed in a system message", provider="anthropic")
    return blocks


def _tool_arguments(call: t.ToolCall, where: str) -> Any:
    text = call.function.arguments
    if text is None or text.strip() == "":
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequestError(f"{where}.function.arguments: not valid JSON ({exc})", provider="anthropic") from None
    if not isinstance(value, dict):
        raise BadRequestError(f"{where}.function.arguments: must be a JSON object", provider="anthropic")
    return value


def _tool_result_content(content: str | list[t.ContentPart], where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    blocks = _content_blocks(content, where)
    for index, block in enumerate(blocks):
        if block["type"] not in ("text", "image", "document"):
            raise BadRequestError(f"{where}[{index}]: not allowed in a tool result", provider="anthropic")
    return blocks


def _messages(request: t.ChatCompletionRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, Anthropic turns) from the OpenAI message list."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": list(blocks)})

    for index, message in enumerate(request.messages):
        where = f"messages[{index}]"
        if isinstance(message, (t.SystemMessage, t.DeveloperMessage)):
            system.extend(_text_only(message.content, f"{where}.content"))
        elif isinstance(message, t.UserMessage):
            add("user", _content_blocks(message.content, f"{where}.content"))
        elif isinstance(message, t.AssistantMessage):
            if message.function_call is not None:
                raise _unsupported(f"{where}.function_call", "use tool_calls")
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            for call_index, call in enumerate(message.tool_calls):
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.function.name,
                        "input": _tool_arguments(call, f"{where}.tool_calls[{call_index}]"),
                    }
                )
            add("assistant", blocks)
        elif isinstance(message, t.ToolMessage):
            add(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": message.tool_call_id,
                        "content": _tool_result_content(message.content, f"{where}.content"),
                    }
                ],
            )
        elif isinstance(message, t.FunctionMessage):
            raise _unsupported(f"{where}", "legacy function messages; use tool messages")
        else:  # pragma: no cover - the union is closed
            raise BadRequestError(f"{where}: unknown message {type(message).__name__}", provider="anthropic")
    for turn in turns:
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text" and set(content[0]) == {"type", "text"}:
            turn["content"] = content[0]["text"]
    return system, turns


def _tool_choice(request: t.ChatCompletionRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        return None
    if isinstance(choice, t.SpecificToolChoice):
        return {"type": "tool", "name": choice.function.name}
    mode = t.ToolChoiceMode(choice)
    return {"type": {"auto": "auto", "required": "any", "none": "none"}[mode.value]}


def _check_unsupported(request: t.ChatCompletionRequest) -> None:
    if request.n is not None and request.n != 1:
        raise _unsupported("n", "one choice per request")
    if request.logprobs:
        raise _unsupported("logprobs")
    if request.top_logprobs is not None:
        raise _unsupported("top_logprobs")
    if request.logit_bias:
        raise _unsupported("logit_bias")
    if request.presence_penalty is not None:
        raise _unsupported("presence_penalty")
    if request.frequency_penalty is not None:
        raise _unsupported("frequency_penalty")
    if request.seed is not None:
        raise _unsupported("seed")
    if request.metadata:
        unknown = sorted(set(request.metadata) - {"user_id"})
        if unknown:
            raise _unsupported(f"metadata.{unknown[0]}", "Anthropic's metadata has only user_id")


def to_anthropic_body(
    request: t.ChatCompletionRequest, *, model: str | None = None, stream: bool = False
) -> dict[str, Any]:
    """Build the Messages API body for a chat request.

    ``model`` (the on-the-wire model name) is put in the body when given; pass
    ``None`` for an API that takes the model elsewhere (Vertex AI).  ``stream``
    adds ``"stream": true``.  ``extra_body`` is merged into the top level last.
    Raises :class:`~liter_llm.errors.BadRequestError` for what Anthropic cannot
    express.
    """
    _check_unsupported(request)
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    system, turns = _messages(request)

    max_tokens = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    effort = request.reasoning_effort
    budget = THINKING_BUDGETS.get(t.ReasoningEffort(effort).value) if effort is not None else None
    if budget is not None:
        wanted = max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS
        body["max_tokens"] = wanted if wanted > budget else budget + wanted
    else:
        body["max_tokens"] = max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS
    body["messages"] = turns
    if system:
        if len(system) == 1:
            body["system"] = system[0]["text"]
        else:
            body["system"] = system
    if request.stop is not None:
        body["stop_sequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    user_id = request.user
    if request.metadata and "user_id" in request.metadata:
        user_id = request.metadata["user_id"]
    if user_id is not None:
        body["metadata"] = {"user_id": user_id}
    if request.service_tier is not None:
        body["service_tier"] = request.service_tier
    if budget is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}

    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(request.tools):
        fn = tool.function
        entry: dict[str, Any] = {"name": fn.name}
        if fn.description is not None:
            entry["description"] = fn.description
        entry["input_schema"] = fn.parameters if fn.parameters is not None else {"type": "object", "properties": {}}
        if not isinstance(entry["input_schema"], dict):
            raise BadRequestError(f"tools[{index}].function.parameters: must be an object", provider="anthropic")
        tools.append(entry)
    choice = _tool_choice(request)

    json_tool = json_tool_name(request)
    if json_tool is not None:
        if budget is not None:
            raise BadRequestError(
                "response_format cannot be combined with reasoning_effort on Anthropic: structured output is a "
                "forced tool call, and extended thinking does not allow forcing a tool",
                provider="anthropic",
            )
        if any(tool["name"] == json_tool for tool in tools):
            raise BadRequestError(
                f"response_format: the tool name {json_tool!r} used for the JSON answer is already a tool's name",
                provider="anthropic",
            )
        fmt = request.response_format
        if isinstance(fmt, t.ResponseFormatJsonSchema):
            schema: dict[str, Any] = dict(fmt.json_schema.schema) or {"type": "object"}
            description = fmt.json_schema.description or "Respond with the answer as this tool's input."
        else:
            schema = {"type": "object"}
            description = "Respond with the answer as a JSON object, given as this tool's input."
        json_entry = {"name": json_tool, "description": description, "input_schema": schema}
        if tools:
            if choice is not None and choice["type"] == "none":
                raise BadRequestError(
                    "response_format with tool_choice 'none' cannot be expressed on Anthropic "
                    "(the JSON answer is itself a tool call)",
                    provider="anthropic",
                )
            if choice is None or choice["type"] == "auto":
                choice = {"type": "any"}
        else:
            choice = {"type": "tool", "name": json_tool}
        tools.append(json_entry)
    if tools:
        body["tools"] = tools
    if request.parallel_tool_calls is False and tools:
        if choice is None:
            choice = {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        body["tool_choice"] = choice
    if stream:
        body["stream"] = True
    if request.extra_body:
        body.update(request.extra_body)
    return body


# ---------------------------------------------------------------------------
# Response: Anthropic message -> ChatCompletionResponse
# ---------------------------------------------------------------------------


def finish_reason(stop_reason: Any) -> t.FinishReason | None:
    """Map an Anthropic ``stop_reason`` to our finish reason (unknown values: ``OTHER``)."""
    if stop_reason is None:
        return None
    if not isinstance(stop_reason, str):
        return t.FinishReason.OTHER
    return _STOP_REASONS.get(stop_reason, t.FinishReason.OTHER)


def _count(usage: Mapping[str, Any], key: str, where: str) -> int:
    value = usage.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SerializationError(f"{where}.{key}: expected a non-negative integer, got {value!r}", provider="anthropic")
    return value


def usage_from_anthropic(usage: Any, where: str = "usage") -> t.Usage | None:
    """Map Anthropic usage to ours.

    ``prompt_tokens`` = input + cache_read + cache_creation,
    ``completion_tokens`` = output, ``prompt_tokens_details.cached_tokens`` =
    cache_read and ``prompt_tokens_details.cache_creation_tokens`` =
    cache_creation (details only when the answer reports cache counts), so
    the cost built-in prices cache writes at the cache-write price.
    """
    if usage is None:
        return None
    if not isinstance(usage, Mapping):
        raise SerializationError(f"{where}: expected an object, got {type(usage).__name__}", provider="anthropic")
    input_tokens = _count(usage, "input_tokens", where)
    output_tokens = _count(usage, "output_tokens", where)
    cache_read = _count(usage, "cache_read_input_tokens", where)
    cache_creation = _count(usage, "cache_creation_input_tokens", where)
    prompt = input_tokens + cache_read + cache_creation
    details = None
    if usage.get("cache_read_input_tokens") is not None or usage.get("cache_creation_input_tokens") is not None:
        details = t.PromptTokensDetails(cached_tokens=cache_read, cache_creation_tokens=cache_creation)
    return t.Usage(
        prompt_tokens=prompt,
        completion_tokens=output_tokens,
        total_tokens=prompt + output_tokens,
        prompt_tokens_details=details,
    )


def _str_field(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SerializationError(f"{where}{key}: expected a string, got {value!r}", provider="anthropic")
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def from_anthropic_message(
    data: Any,
    request: t.ChatCompletionRequest | None = None,
    *,
    json_tool: str | None = None,
    created: int | None = None,
) -> t.ChatCompletionResponse:
    """Translate an Anthropic ``message`` object into a ``ChatCompletionResponse``.

    Text blocks become ``content``, ``tool_use`` blocks ``tool_calls`` (the
    input as JSON text), ``thinking`` blocks ``reasoning_content``.  In JSON
    mode (``request`` with a JSON ``response_format``, or ``json_tool``
    given) the forced tool's input becomes the content, with finish reason
    ``stop``.  A malformed message raises
    :class:`~liter_llm.errors.SerializationError`.
    """
    if json_tool is None and request is not None:
        json_tool = json_tool_name(request)
    if not isinstance(data, Mapping):
        raise SerializationError(f"the message is not an object: {type(data).__name__}", provider="anthropic")
    if data.get("type") == "error":
        raise SerializationError("the answer is an error object, not a message", provider="anthropic")
    if "content" not in data:  # ``{}`` is not an empty message
        shown = ", ".join(sorted(map(str, data))[:10]) or "none"
        raise SerializationError(
            f"the answer is not a message: it has no 'content' field (fields: {shown})", provider="anthropic"
        )
    blocks = data.get("content")
    if blocks is None:
        blocks = []
    if not isinstance(blocks, list):
        raise SerializationError(f"content: expected a list, got {type(blocks).__name__}", provider="anthropic")
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[t.ToolCall] = []
    json_content: str | None = None
    for index, block in enumerate(blocks):
        where = f"content[{index}]."
        if not isinstance(block, Mapping):
            raise SerializationError(f"content[{index}]: expected an object", provider="anthropic")
        kind = block.get("type")
        if kind == "text":
            texts.append(_str_field(block, "text", where))
        elif kind == "thinking":
            thinking.append(_str_field(block, "thinking", where, ""))
        elif kind == "tool_use":
            name = _str_field(block, "name", where)
            arguments = _dump(block.get("input", {}))
            if json_tool is not None and name == json_tool:
                json_content = arguments
            else:
                tool_calls.append(
                    t.ToolCall(
                        id=_str_field(block, "id", where),
                        function=t.FunctionCall(name=name, arguments=arguments),
                    )
                )
        # redacted_thinking, server tool blocks and future block types carry nothing we can map
    reason = finish_reason(data.get("stop_reason"))
    if json_tool is not None:
        content = json_content
        if json_content is not None and not tool_calls:
            reason = t.FinishReason.STOP
    else:
        content = "".join(texts) if texts else None
    message = t.AssistantMessage(
        content=content,
        tool_calls=tool_calls,
        reasoning_content="".join(thinking) if thinking else None,
    )
    return t.ChatCompletionResponse(
        id=_str_field(data, "id", "", ""),
        object="chat.completion",
        created=int(time.time()) if created is None else created,
        model=_str_field(data, "model", "", ""),
        choices=[t.Choice(index=0, message=message, finish_reason=reason)],
        usage=usage_from_anthropic(data.get("usage")),
    )
