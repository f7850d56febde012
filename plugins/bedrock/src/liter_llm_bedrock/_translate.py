"""Translation between liter-llm's OpenAI-shaped types and Bedrock's Converse API.

Pure functions, no I/O.  Field names follow the Converse API reference
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html).
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
    "AUDIO_FORMATS",
    "CONVERSE_TOP_LEVEL",
    "DOCUMENT_FORMATS",
    "IMAGE_EXTENSIONS",
    "IMAGE_FORMATS",
    "JSON_TOOL_NAME",
    "STOP_REASONS",
    "THINKING_BUDGETS",
    "ConverseStreamTranslator",
    "finish_reason",
    "from_converse_response",
    "json_tool_name",
    "to_converse_body",
    "usage_from_converse",
]

#: Converse ``stopReason`` -> our finish reason.
STOP_REASONS: Mapping[str, t.FinishReason] = {
    "end_turn": t.FinishReason.STOP,
    "stop_sequence": t.FinishReason.STOP,
    "max_tokens": t.FinishReason.LENGTH,
    "model_context_window_exceeded": t.FinishReason.LENGTH,
    "tool_use": t.FinishReason.TOOL_CALLS,
    "guardrail_intervened": t.FinishReason.CONTENT_FILTER,
    "content_filtered": t.FinishReason.CONTENT_FILTER,
}

#: image MIME type -> Converse ``image.format``
IMAGE_FORMATS: Mapping[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

#: the extension of an ``s3://`` image key -> Converse ``image.format``
IMAGE_EXTENSIONS: Mapping[str, str] = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "webp": "webp"}

#: Converse ``AudioBlock.format`` values (API_runtime_AudioBlock)
AUDIO_FORMATS = frozenset(
    {"mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg", "mpga", "pcm", "webm"}
)

#: document MIME type -> Converse ``document.format``
DOCUMENT_FORMATS: Mapping[str, str] = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}

#: ``extra_body`` keys that are Converse request fields of their own; every other key goes
#: into ``additionalModelRequestFields``.
CONVERSE_TOP_LEVEL = frozenset(
    {
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "guardrailConfig",
        "performanceConfig",
        "promptVariables",
        "requestMetadata",
        "serviceTier",
    }
)

#: ``reasoning_effort`` -> the extended-thinking ``budget_tokens`` of Anthropic models on Bedrock
#: (``minimal``: no thinking)
THINKING_BUDGETS: Mapping[str, int | None] = {"minimal": None, "low": 1024, "medium": 4096, "high": 16384}
_DEFAULT_MAX_TOKENS = 4096

_DATA_URL = re.compile(r"^data:(?P<media>[^;,]+)(?:;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)
_PROVIDER = "bedrock"
#: ``S3Location.uri`` (API_runtime_S3Location): ``s3://`` and a bucket name, then the key
_S3_URI = re.compile(r"^s3://[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9]/.+$", re.DOTALL)
#: ``ToolSpecification.name``: 1-64 of ``[a-zA-Z0-9_-]``
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: the forced tool that carries a JSON ``response_format`` answer (when the schema's name is no tool name)
JSON_TOOL_NAME = "json_response"


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, provider=_PROVIDER)


def _check_base64(data: str, where: str) -> str:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{where}: invalid base64 data") from None
    return data


def _s3_location(url: str, where: str) -> dict[str, Any]:
    """An ``s3://bucket/key`` URI as a Converse ``S3Location`` (the bucket name rules of the API reference)."""
    if len(url) > 1024 or not _S3_URI.match(url):
        raise _bad(f"{where}: {url[:80]!r} is not an S3 object URI (s3://bucket/key, at most 1024 characters)")
    return {"s3Location": {"uri": url}}


def _refuse_url(url: str, where: str, what: str) -> BadRequestError:
    if url.startswith(("http://", "https://")):
        return _bad(
            f"{where}: Bedrock's Converse API takes {what} as bytes or as an S3 location, not an http(s) URL "
            "(nothing is fetched for you): send the bytes as a base64 data: URL, or upload the file to S3 and "
            "pass its s3:// URI"
        )
    return _bad(f"{where}: expected a base64 data: URL or an s3:// URI")


def _image(part: t.ImageUrlContentPart, where: str) -> dict[str, Any]:
    url = part.image_url.url
    here = f"{where}.image_url.url"
    if url.startswith("s3://"):
        source = _s3_location(url, here)
        extension = url.rsplit("/", 1)[-1].rpartition(".")[2].lower()
        fmt = IMAGE_EXTENSIONS.get(extension)
        if fmt is None:
            raise _bad(
                f"{here}: cannot tell the image format of {url[:80]!r} from its name "
                "(the key must end in .png, .jpg, .jpeg, .gif or .webp)"
            )
        return {"image": {"format": fmt, "source": source}}
    match = _DATA_URL.match(url)
    if not match:
        raise _refuse_url(url, here, "images")
    media = match.group("media").lower()
    fmt = IMAGE_FORMATS.get(media)
    if fmt is None:
        raise _bad(f"{here}: image type {media!r} is not supported (png, jpeg, gif, webp)")
    return {"image": {"format": fmt, "source": {"bytes": _check_base64(match.group("data"), where)}}}


def _document(part: t.DocumentContentPart, where: str, number: int) -> dict[str, Any]:
    doc = part.document
    fmt = DOCUMENT_FORMATS.get(doc.media_type.lower())
    if fmt is None:
        raise _bad(f"{where}.document.media_type: {doc.media_type!r} is not a Converse document format")
    data = doc.data
    block: dict[str, Any] = {"format": fmt, "name": f"document-{number}"}
    if data.startswith("s3://"):
        block["source"] = _s3_location(data, f"{where}.document.data")
        return {"document": block}
    match = _DATA_URL.match(data)
    if match:
        data = match.group("data")
    elif data.startswith(("http://", "https://")):
        raise _refuse_url(data, f"{where}.document.data", "documents")
    block["source"] = {"bytes": _check_base64(data, where)}
    return {"document": block}


def _audio(part: t.InputAudioContentPart, where: str) -> dict[str, Any]:
    audio = part.input_audio
    fmt = audio.format.lower()
    if fmt not in AUDIO_FORMATS:
        raise _bad(
            f"{where}.input_audio.format: {audio.format!r} is not a Converse audio format "
            f"({', '.join(sorted(AUDIO_FORMATS))})"
        )
    data = audio.data
    here = f"{where}.input_audio.data"
    if data.startswith("s3://"):
        return {"audio": {"format": fmt, "source": _s3_location(data, here)}}
    match = _DATA_URL.match(data)
    if match:
        data = match.group("data")
    elif data.startswith(("http://", "https://")):
        raise _refuse_url(data, here, "audio")
    return {"audio": {"format": fmt, "source": {"bytes": _check_base64(data, where)}}}


class _Counter:
    def __init__(self) -> None:
        self.documents = 0


def _blocks(content: str | list[t.ContentPart], where: str, counter: _Counter) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(content):
        here = f"{where}[{index}]"
        if isinstance(part, t.TextContentPart):
            if part.text:
                blocks.append({"text": part.text})
        elif isinstance(part, t.ImageUrlContentPart):
            blocks.append(_image(part, here))
        elif isinstance(part, t.DocumentContentPart):
            counter.documents += 1
            blocks.append(_document(part, here, counter.documents))
        elif isinstance(part, t.InputAudioContentPart):
            blocks.append(_audio(part, here))
        else:
            raise _bad(f"{here}: {type(part).__name__} is not supported by the Converse API")
    return blocks


def _arguments(call: t.ToolCall, where: str) -> Any:
    text = call.function.arguments
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _bad(f"{where}.function.arguments: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _bad(f"{where}.function.arguments: must be a JSON object")
    return value


def _tool_result(message: t.ToolMessage, where: str, counter: _Counter) -> dict[str, Any]:
    content = message.content
    if isinstance(content, str):
        parts: list[dict[str, Any]] = [{"text": content}]
    else:
        parts = _blocks(content, f"{where}.content", counter) or [{"text": ""}]
    return {"toolResult": {"toolUseId": message.tool_call_id, "content": parts}}


def _messages(request: t.ChatCompletionRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    counter = _Counter()

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": list(blocks)})

    for index, message in enumerate(request.messages):
        where = f"messages[{index}]"
        if isinstance(message, (t.SystemMessage, t.DeveloperMessage)):
            for block in _blocks(message.content, f"{where}.content", counter):
                if "text" not in block:
                    raise _bad(f"{where}.content: only text is allowed in a system message")
                system.append(block)
        elif isinstance(message, t.UserMessage):
            add("user", _blocks(message.content, f"{where}.content", counter))
        elif isinstance(message, t.AssistantMessage):
            if message.function_call is not None:
                raise _bad(f"{where}.function_call: not supported; use tool_calls")
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"text": message.content})
            for n, call in enumerate(message.tool_calls):
                blocks.append(
                    {
                        "toolUse": {
                            "toolUseId": call.id,
                            "name": call.function.name,
                            "input": _arguments(call, f"{where}.tool_calls[{n}]"),
                        }
                    }
                )
            add("assistant", blocks)
        elif isinstance(message, t.ToolMessage):
            add("user", [_tool_result(message, where, counter)])
        else:
            raise _bad(f"{where}: {type(message).__name__} is not supported by the Converse API")
    return system, turns


def _unsupported(request: t.ChatCompletionRequest) -> None:
    checks = [
        ("n", request.n is not None and request.n != 1),
        ("logprobs", bool(request.logprobs)),
        ("top_logprobs", request.top_logprobs is not None),
        ("logit_bias", bool(request.logit_bias)),
        ("presence_penalty", request.presence_penalty is not None),
        ("frequency_penalty", request.frequency_penalty is not None),
        ("seed", request.seed is not None),
        ("parallel_tool_calls", request.parallel_tool_calls is False),
        ("service_tier", request.service_tier is not None),
    ]
    for name, present in checks:
        if present:
            hint = " (pass extra_body={'serviceTier': ...})" if name == "service_tier" else ""
            raise _bad(f"{name}: not supported by the Bedrock Converse API{hint}")


def json_tool_name(request: t.ChatCompletionRequest) -> str | None:
    """The forced tool carrying a JSON ``response_format`` answer, or ``None`` without JSON mode.

    ``json_schema``: the schema's ``name`` when it is a valid tool name, else :data:`JSON_TOOL_NAME`;
    ``json_object``: :data:`JSON_TOOL_NAME`.
    """
    fmt = request.response_format
    if isinstance(fmt, t.ResponseFormatJsonSchema):
        name = fmt.json_schema.name
        return name if isinstance(name, str) and _TOOL_NAME.match(name) else JSON_TOOL_NAME
    if isinstance(fmt, t.ResponseFormatJsonObject):
        return JSON_TOOL_NAME
    return None


def _json_tool_spec(request: t.ChatCompletionRequest, name: str) -> dict[str, Any]:
    fmt = request.response_format
    if isinstance(fmt, t.ResponseFormatJsonSchema):
        schema: dict[str, Any] = dict(fmt.json_schema.schema) or {"type": "object"}
        description = fmt.json_schema.description or "Respond with the answer as this tool's input."
    else:
        schema = {"type": "object"}
        description = "Respond with the answer as a JSON object, given as this tool's input."
    return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": schema}}}


def _has_tool_blocks(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in b or "toolResult" in b for turn in turns for b in turn["content"])


def _tool_config(request: t.ChatCompletionRequest, turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``toolConfig``, or ``None`` to leave it out.

    ``tool_choice="none"`` has no ``ToolChoice`` member (only ``auto``, ``any``, ``tool``): the tools are
    left out, which Converse allows only when the conversation holds no tool blocks.
    """
    choice = request.tool_choice
    mode = None if choice is None or isinstance(choice, t.SpecificToolChoice) else t.ToolChoiceMode(choice).value
    json_tool = json_tool_name(request)
    if mode == "none":
        if json_tool is not None:
            raise _bad(
                "response_format with tool_choice 'none' cannot be expressed on the Converse API "
                "(the JSON answer is itself a forced tool call)"
            )
        if _has_tool_blocks(turns):
            raise _bad(
                "tool_choice: 'none' is not a Converse toolChoice (auto, any, tool), and the tools cannot be "
                "left out because the conversation holds tool calls (Converse then needs toolConfig)"
            )
        return None
    if not request.tools and json_tool is None:
        if isinstance(choice, t.SpecificToolChoice):
            raise _bad("tool_choice: names a tool but no tools are given")
        return None
    tools = []
    for index, tool in enumerate(request.tools or []):
        fn = tool.function
        schema = fn.parameters if fn.parameters is not None else {"type": "object", "properties": {}}
        if not isinstance(schema, dict):
            raise _bad(f"tools[{index}].function.parameters: must be an object")
        spec: dict[str, Any] = {"name": fn.name, "inputSchema": {"json": schema}}
        if fn.description:
            spec["description"] = fn.description
        tools.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": tools}
    if json_tool is not None:
        if isinstance(choice, t.SpecificToolChoice):
            raise _bad(
                "response_format with a named tool_choice cannot be expressed on the Converse API "
                "(the JSON answer is itself a forced tool call)"
            )
        if any(tool["toolSpec"]["name"] == json_tool for tool in tools):
            raise _bad(f"response_format: the JSON answer's tool name {json_tool!r} is already a tool's name")
        tools.append(_json_tool_spec(request, json_tool))
        # "any": the model must call a tool (no text); with the JSON tool alone, that one
        config["toolChoice"] = {"any": {}}
        return config
    if isinstance(choice, t.SpecificToolChoice):
        config["toolChoice"] = {"tool": {"name": choice.function.name}}
    elif mode is not None:
        config["toolChoice"] = {"any": {}} if mode == "required" else {"auto": {}}
    return config


def _request_metadata(request: t.ChatCompletionRequest) -> dict[str, str] | None:
    meta: dict[str, str] = {}
    if request.user is not None:
        meta["user"] = request.user
    for key, value in (request.metadata or {}).items():
        if not isinstance(value, str):
            raise _bad(f"metadata.{key}: Bedrock's requestMetadata holds strings only")
        meta[key] = value
    return meta or None


def _thinking(request: t.ChatCompletionRequest, model: str | None) -> int | None:
    effort = request.reasoning_effort
    if effort is None:
        return None
    if model is None or "anthropic." not in model:
        raise _bad(
            "reasoning_effort: mapped only for Anthropic models on Bedrock; pass the model's own reasoning "
            "field in extra_body (it goes into additionalModelRequestFields)"
        )
    return THINKING_BUDGETS.get(t.ReasoningEffort(effort).value)


def to_converse_body(request: t.ChatCompletionRequest, model: str | None = None) -> dict[str, Any]:
    """The Converse (and ConverseStream) request body for a chat request.

    ``model`` (the Bedrock model id) decides what ``reasoning_effort`` becomes: extended thinking
    (``additionalModelRequestFields.thinking``, :data:`THINKING_BUDGETS`) for Anthropic models.
    ``user`` and ``metadata`` go into ``requestMetadata``.

    ``extra_body`` keys that are Converse fields (:data:`CONVERSE_TOP_LEVEL`) go to the top level;
    every other key goes into ``additionalModelRequestFields``.  Raises BadRequestError for what the
    Converse API cannot express.
    """
    _unsupported(request)
    system, turns = _messages(request)
    if not turns:
        raise _bad("messages: the Converse API needs at least one user or assistant message")
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    inference: dict[str, Any] = {}
    max_tokens = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    budget = _thinking(request, model)
    if budget is not None:  # Claude needs maxTokens above the thinking budget
        wanted = max_tokens if max_tokens is not None else _DEFAULT_MAX_TOKENS
        max_tokens = wanted if wanted > budget else budget + wanted
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if request.temperature is not None:
        inference["temperature"] = request.temperature
    if request.top_p is not None:
        inference["topP"] = request.top_p
    if request.stop is not None:
        inference["stopSequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    if inference:
        body["inferenceConfig"] = inference
    if budget is not None and json_tool_name(request) is not None:
        raise _bad(
            "response_format cannot be combined with reasoning_effort on Bedrock: structured output is a forced "
            "tool call, and extended thinking does not allow forcing a tool"
        )
    tool_config = _tool_config(request, turns)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    elif _has_tool_blocks(turns):
        # the Converse API needs toolConfig whenever the conversation holds tool blocks
        raise _bad("tools: the conversation holds tool calls, so the Converse API needs the tool definitions")
    meta = _request_metadata(request)
    if meta is not None:
        body["requestMetadata"] = meta
    if budget is not None:
        body["additionalModelRequestFields"] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
    if request.extra_body:
        additional = {k: v for k, v in request.extra_body.items() if k not in CONVERSE_TOP_LEVEL}
        given = request.extra_body.get("additionalModelRequestFields")
        if isinstance(given, dict):
            additional = {**given, **additional}
        for key in CONVERSE_TOP_LEVEL & set(request.extra_body) - {"additionalModelRequestFields"}:
            body[key] = request.extra_body[key]
        if additional:
            merged = dict(body.get("additionalModelRequestFields") or {})
            merged.update(additional)
            body["additionalModelRequestFields"] = merged
    return body


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


def finish_reason(stop_reason: Any) -> t.FinishReason | None:
    """A Converse ``stopReason`` as our finish reason (unknown values: ``OTHER``)."""
    if stop_reason is None:
        return None
    return STOP_REASONS.get(stop_reason, t.FinishReason.OTHER) if isinstance(stop_reason, str) else t.FinishReason.OTHER


def _count(usage: Mapping[str, Any], key: str, where: str) -> int:
    value = usage.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SerializationError(f"{where}.{key}: expected a non-negative integer, got {value!r}", provider=_PROVIDER)
    return value


def usage_from_converse(usage: Any, where: str = "usage") -> t.Usage | None:
    """Converse ``TokenUsage`` as ours.

    ``prompt_tokens`` = inputTokens + cacheReadInputTokens + cacheWriteInputTokens (Bedrock counts the
    cached tokens apart from ``inputTokens``), ``prompt_tokens_details.cached_tokens`` =
    cacheReadInputTokens, ``prompt_tokens_details.cache_creation_tokens`` = cacheWriteInputTokens
    (priced at the cache-write price), ``completion_tokens`` = outputTokens.
    """
    if usage is None:
        return None
    if not isinstance(usage, Mapping):
        raise SerializationError(f"{where}: expected an object, got {type(usage).__name__}", provider=_PROVIDER)
    input_tokens = _count(usage, "inputTokens", where)
    output_tokens = _count(usage, "outputTokens", where)
    cache_read = _count(usage, "cacheReadInputTokens", where)
    cache_write = _count(usage, "cacheWriteInputTokens", where)
    prompt = input_tokens + cache_read + cache_write
    details = None
    if "cacheReadInputTokens" in usage or "cacheWriteInputTokens" in usage:
        details = t.PromptTokensDetails(cached_tokens=cache_read, cache_creation_tokens=cache_write)
    return t.Usage(
        prompt_tokens=prompt,
        completion_tokens=output_tokens,
        total_tokens=prompt + output_tokens,
        prompt_tokens_details=details,
    )


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fail(message: str) -> SerializationError:
    return SerializationError(message, provider=_PROVIDER)


def from_converse_response(
    data: Any, *, model: str, response_id: str = "", created: int | None = None, json_tool: str | None = None
) -> t.ChatCompletionResponse:
    """A Converse answer (``output.message``, ``stopReason``, ``usage``) as a ChatCompletionResponse.

    Text blocks join into ``content``, ``toolUse`` blocks become ``tool_calls``, ``reasoningContent``
    becomes ``reasoning_content``.  The Converse answer has no id: pass the ``x-amzn-requestid``.
    In JSON mode (``json_tool``, see :func:`json_tool_name`) the input of that tool's call is the
    content, as JSON text, with finish reason ``stop``; text blocks are dropped.
    """
    if not isinstance(data, Mapping):
        raise _fail(f"the Converse answer is not an object: {type(data).__name__}")
    output = data.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    if not isinstance(message, Mapping):
        raise _fail("the Converse answer has no output.message object")
    blocks = message.get("content") or []
    if not isinstance(blocks, list):
        raise _fail("output.message.content: expected a list")
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[t.ToolCall] = []
    json_content: str | None = None
    for index, block in enumerate(blocks):
        where = f"output.message.content[{index}]"
        if not isinstance(block, Mapping):
            raise _fail(f"{where}: expected an object")
        if "text" in block:
            if not isinstance(block["text"], str):
                raise _fail(f"{where}.text: expected a string")
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            if not isinstance(use, Mapping) or not isinstance(use.get("toolUseId"), str):
                raise _fail(f"{where}.toolUse: expected an object with a toolUseId")
            if not isinstance(use.get("name"), str):
                raise _fail(f"{where}.toolUse.name: expected a string")
            if json_tool is not None and use["name"] == json_tool:
                json_content = _dump(use.get("input", {}))
                continue
            calls.append(
                t.ToolCall(
                    id=use["toolUseId"],
                    function=t.FunctionCall(name=use["name"], arguments=_dump(use.get("input", {}))),
                )
            )
        elif "reasoningContent" in block:
            inner = block["reasoningContent"]
            text = inner.get("reasoningText", {}).get("text") if isinstance(inner, Mapping) else None
            if isinstance(text, str):
                reasoning.append(text)
        # images, documents, citations and later block types carry nothing our message holds
    reason = finish_reason(data.get("stopReason"))
    if json_tool is not None:
        content = json_content
        if json_content is not None and not calls:
            reason = t.FinishReason.STOP
    else:
        content = "".join(texts) if texts else None
    assistant = t.AssistantMessage(
        content=content,
        tool_calls=calls,
        reasoning_content="".join(reasoning) if reasoning else None,
    )
    return t.ChatCompletionResponse(
        id=response_id,
        object="chat.completion",
        created=int(time.time()) if created is None else created,
        model=model,
        choices=[t.Choice(index=0, message=assistant, finish_reason=reason)],
        usage=usage_from_converse(data.get("usage")),
    )


class ConverseStreamTranslator:
    """Turn the events of one ConverseStream answer into chunks.

    :meth:`translate` takes an event's type (``messageStart``, ``contentBlockStart``,
    ``contentBlockDelta``, ``contentBlockStop``, ``messageStop``, ``metadata``) and its JSON payload.
    ``metadata`` (usage, the last event) sets :attr:`complete`.  Tool calls are numbered in their order
    among tool calls; the first chunk of each carries its id and name.  In JSON mode (``json_tool``) that
    tool's input streams as ``content``, text is dropped, and the finish reason is ``stop``.
    """

    def __init__(self, *, model: str, response_id: str = "", json_tool: str | None = None) -> None:
        self.model = model
        self.id = response_id
        self.json_tool = json_tool
        self.complete = False
        self.created = int(time.time())
        self._tools: dict[int, int] = {}
        self._with_input: set[int] = set()
        self._json_blocks: set[int] = set()

    def _chunk(
        self, delta: t.StreamDelta, finish: t.FinishReason | None = None, usage: t.Usage | None = None
    ) -> t.ChatCompletionChunk:
        return t.ChatCompletionChunk(
            id=self.id,
            object="chat.completion.chunk",
            created=self.created,
            model=self.model,
            choices=[t.StreamChoice(index=0, delta=delta, finish_reason=finish)] if usage is None else [],
            usage=usage,
        )

    @staticmethod
    def _index(payload: Mapping[str, Any], event: str) -> int:
        index = payload.get("contentBlockIndex")
        if isinstance(index, bool) or not isinstance(index, int):
            raise _fail(f"{event}: contentBlockIndex must be an integer, got {index!r}")
        return index

    def translate(self, event: str, payload: Any) -> list[t.ChatCompletionChunk]:
        """The chunks for one event."""
        if not isinstance(payload, Mapping):
            raise _fail(f"{event}: the payload is not a JSON object")
        if event == "messageStart":
            return [self._chunk(t.StreamDelta(role="assistant"))]
        if event == "contentBlockStart":
            index = self._index(payload, event)
            start = payload.get("start")
            use = start.get("toolUse") if isinstance(start, Mapping) else None
            if isinstance(use, Mapping):
                if not isinstance(use.get("toolUseId"), str) or not isinstance(use.get("name"), str):
                    raise _fail("contentBlockStart.start.toolUse: toolUseId and name must be strings")
                if self.json_tool is not None and use["name"] == self.json_tool:
                    self._json_blocks.add(index)
                    return []
                number = self._tools.setdefault(index, len(self._tools))
                call = t.StreamToolCall(
                    index=number,
                    id=use["toolUseId"],
                    call_type=t.ToolType.FUNCTION,
                    function=t.StreamFunctionCall(name=use["name"], arguments=""),
                )
                return [self._chunk(t.StreamDelta(tool_calls=[call]))]
            return []
        if event == "contentBlockDelta":
            index = self._index(payload, event)
            delta = payload.get("delta")
            if not isinstance(delta, Mapping):
                raise _fail("contentBlockDelta: delta must be an object")
            if "text" in delta:
                if not isinstance(delta["text"], str):
                    raise _fail("contentBlockDelta.delta.text: expected a string")
                if self.json_tool is not None:
                    return []  # JSON mode: the answer is the forced tool's input
                return [self._chunk(t.StreamDelta(content=delta["text"]))] if delta["text"] else []
            if "toolUse" in delta:
                use = delta["toolUse"]
                part = use.get("input") if isinstance(use, Mapping) else None
                if not isinstance(part, str):
                    raise _fail("contentBlockDelta.delta.toolUse.input: expected a string")
                if index in self._json_blocks:
                    if not part:
                        return []
                    self._with_input.add(index)
                    return [self._chunk(t.StreamDelta(content=part))]
                if index not in self._tools:
                    raise _fail(f"contentBlockDelta: tool input for block {index}, which never started")
                if not part:
                    return []
                self._with_input.add(index)
                call = t.StreamToolCall(index=self._tools[index], function=t.StreamFunctionCall(arguments=part))
                return [self._chunk(t.StreamDelta(tool_calls=[call]))]
            if "reasoningContent" in delta:
                inner = delta["reasoningContent"]
                text = inner.get("text") if isinstance(inner, Mapping) else None
                if isinstance(text, str) and text:
                    return [self._chunk(t.StreamDelta(reasoning_content=text))]
                return []  # a signature or redacted content
            return []
        if event == "contentBlockStop":
            index = self._index(payload, event)
            if index in self._json_blocks and index not in self._with_input:
                self._with_input.add(index)
                return [self._chunk(t.StreamDelta(content="{}"))]
            if index in self._tools and index not in self._with_input:  # a tool called without arguments
                self._with_input.add(index)
                call = t.StreamToolCall(index=self._tools[index], function=t.StreamFunctionCall(arguments="{}"))
                return [self._chunk(t.StreamDelta(tool_calls=[call]))]
            return []
        if event == "messageStop":
            reason = finish_reason(payload.get("stopReason"))
            if self._json_blocks and not self._tools:
                reason = t.FinishReason.STOP
            return [self._chunk(t.StreamDelta(), finish=reason)]
        if event == "metadata":
            self.complete = True
            usage = usage_from_converse(payload.get("usage"), "metadata.usage")
            return [self._chunk(t.StreamDelta(), usage=usage)] if usage is not None else []
        return []  # an event type added later
