"""Translation between liter-llm's OpenAI-shaped types and Gemini's ``generateContent``.

Pure functions, no I/O: :func:`to_gemini_body` (request), :func:`from_gemini_response`
(answer), :class:`GeminiStreamTranslator` (stream events) and :func:`google_error`
(error bodies).  The Gemini API and Vertex AI share this content model.
"""

from __future__ import annotations

import json
import math
import mimetypes
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from liter_llm import types as t
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    ContextWindowExceededError,
    LiterLlmError,
    LiterLlmTimeoutError,
    NotFoundError,
    RateLimitedError,
    SerializationError,
    ServerError,
    ServiceUnavailableError,
    error_from_status,
    parse_retry_after,
)
from liter_llm_google._schema import to_gemini_schema

__all__ = [
    "FINISH_REASONS",
    "REASONING_BUDGETS",
    "GeminiStreamTranslator",
    "from_gemini_response",
    "google_error",
    "retry_delay",
    "to_gemini_body",
    "tool_call_id",
]

#: Gemini ``finishReason`` -> our finish reason (unknown values: ``other``).
FINISH_REASONS: Mapping[str, t.FinishReason] = {
    "STOP": t.FinishReason.STOP,
    "MAX_TOKENS": t.FinishReason.LENGTH,
    "SAFETY": t.FinishReason.CONTENT_FILTER,
    "RECITATION": t.FinishReason.CONTENT_FILTER,
    "BLOCKLIST": t.FinishReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": t.FinishReason.CONTENT_FILTER,
    "SPII": t.FinishReason.CONTENT_FILTER,
    "IMAGE_SAFETY": t.FinishReason.CONTENT_FILTER,
    "IMAGE_PROHIBITED_CONTENT": t.FinishReason.CONTENT_FILTER,
    "MALFORMED_FUNCTION_CALL": t.FinishReason.OTHER,
    "UNEXPECTED_TOOL_CALL": t.FinishReason.OTHER,
    "LANGUAGE": t.FinishReason.OTHER,
    "OTHER": t.FinishReason.OTHER,
    "FINISH_REASON_UNSPECIFIED": t.FinishReason.OTHER,
}

#: ``reasoning_effort`` -> ``thinkingConfig.thinkingBudget`` (Google's OpenAI-compatibility table).
REASONING_BUDGETS: Mapping[str, int] = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}

_TOOL_CHOICE_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}

#: Separator between a tool call id and the Gemini ``thoughtSignature`` carried with it.
_SIGNATURE_MARK = "~ts~"
_DERIVED_ID = re.compile(r"^call_\d+_")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*?);base64,(?P<data>.*)$", re.DOTALL)

# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------


def tool_call_id(index: int, name: str, part_id: Any = None, signature: Any = None) -> str:
    """The id of a Gemini function call: the part's ``id``, else ``call_<index>_<name>``.

    A ``thoughtSignature`` is carried after ``~ts~`` so that it goes back to
    Gemini with the function call on the next turn (Gemini 3 requires it).
    """
    base = part_id if isinstance(part_id, str) and part_id else f"call_{index}_{name}"
    if isinstance(signature, str) and signature:
        return f"{base}{_SIGNATURE_MARK}{signature}"
    return base


def _split_id(value: str) -> tuple[str, str | None]:
    base, mark, signature = value.partition(_SIGNATURE_MARK)
    return base, (signature if mark else None)


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for index, part in enumerate(content or ()):
        if isinstance(part, t.TextContentPart):
            texts.append(part.text)
        else:
            raise BadRequestError(f"{where}[{index}]: only text parts are allowed here, not {part.type!r}")
    return "".join(texts)


def _guess_mime(url: str) -> str | None:
    path = url.split("?", 1)[0].split("#", 1)[0]
    mime, _ = mimetypes.guess_type(path, strict=False)
    return mime


def _media_part(url: str, mime: str | None, where: str) -> dict[str, Any]:
    if url.startswith("data:"):
        match = _DATA_URL.match(url)
        if match is None:
            raise BadRequestError(f"{where}: a data URL must be base64 encoded (data:<mime>;base64,<data>)")
        data_mime = match.group("mime") or mime
        if not data_mime:
            raise BadRequestError(f"{where}: the data URL names no MIME type")
        return {"inlineData": {"mimeType": data_mime, "data": match.group("data")}}
    if url.startswith(("http://", "https://", "gs://")):
        file_data: dict[str, Any] = {}
        mime = mime or _guess_mime(url)
        if mime:
            file_data["mimeType"] = mime
        file_data["fileUri"] = url
        return {"fileData": file_data}
    raise BadRequestError(f"{where}: expected a data:, http(s):// or gs:// URL")


def _user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict[str, Any]] = []
    for index, part in enumerate(content or ()):
        at = f"{where}[{index}]"
        if isinstance(part, t.TextContentPart):
            parts.append({"text": part.text})
        elif isinstance(part, t.ImageUrlContentPart):
            parts.append(_media_part(part.image_url.url, None, f"{at}.image_url.url"))
        elif isinstance(part, t.DocumentContentPart):
            doc = part.document
            if doc.data.startswith(("data:", "http://", "https://", "gs://")):
                parts.append(_media_part(doc.data, doc.media_type, f"{at}.document.data"))
            else:
                parts.append({"inlineData": {"mimeType": doc.media_type, "data": doc.data}})
        elif isinstance(part, t.InputAudioContentPart):
            fmt = part.input_audio.format.lower()
            mime = fmt if "/" in fmt else f"audio/{fmt}"
            parts.append({"inlineData": {"mimeType": mime, "data": part.input_audio.data}})
        else:  # pragma: no cover - the union is closed
            raise BadRequestError(f"{at}: unsupported content part {type(part).__name__}")
    return parts


def _parse_arguments(text: str, where: str) -> Any:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequestError(f"{where}: the tool call arguments are not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequestError(f"{where}: the tool call arguments must be a JSON object for Gemini")
    return value


def _function_response(content: Any, where: str) -> dict[str, Any]:
    text = _text_of(content, where)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {"content": text}


def _assistant_parts(message: t.AssistantMessage, where: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"text": message.content})
    calls = list(message.tool_calls)
    for index, call in enumerate(calls):
        base, signature = _split_id(call.id)
        fc: dict[str, Any] = {"name": call.function.name}
        fc["args"] = _parse_arguments(call.function.arguments, f"{where}.tool_calls[{index}].function.arguments")
        if base and not _DERIVED_ID.match(base):
            fc["id"] = base
        part: dict[str, Any] = {"functionCall": fc}
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    if message.function_call is not None:
        parts.append(
            {
                "functionCall": {
                    "name": message.function_call.name,
                    "args": _parse_arguments(message.function_call.arguments, f"{where}.function_call.arguments"),
                }
            }
        )
    return parts


def _contents(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id (and its base) -> function name
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if isinstance(message, (t.SystemMessage, t.DeveloperMessage)):
            system.append({"text": _text_of(message.content, f"{where}.content")})
        elif isinstance(message, t.UserMessage):
            contents.append({"role": "user", "parts": _user_parts(message.content, f"{where}.content")})
        elif isinstance(message, t.AssistantMessage):
            for call in message.tool_calls:
                names[call.id] = call.function.name
                names[_split_id(call.id)[0]] = call.function.name
            parts = _assistant_parts(message, where)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif isinstance(message, (t.ToolMessage, t.FunctionMessage)):
            if isinstance(message, t.ToolMessage):
                call_id = message.tool_call_id
                name = names.get(call_id) or names.get(_split_id(call_id)[0]) or message.name
                if not name:
                    raise BadRequestError(
                        f"{where}.tool_call_id: {call_id!r} matches no tool call of an earlier assistant message, "
                        "and Gemini needs the function name"
                    )
                base = _split_id(call_id)[0]
            else:
                name, base = message.name, ""
            fr: dict[str, Any] = {"name": name, "response": _function_response(message.content, f"{where}.content")}
            if base and not _DERIVED_ID.match(base):
                fr["id"] = base
            part = {"functionResponse": fr}
            last = contents[-1] if contents else None
            if last is not None and last["role"] == "user" and last.get("_tool"):
                last["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part], "_tool": True})
        else:  # pragma: no cover - the union is closed
            raise BadRequestError(f"{where}: unsupported message {type(message).__name__}")
    for content in contents:
        content.pop("_tool", None)
    return system, contents


def _tools(request: t.ChatCompletionRequest) -> list[dict[str, Any]]:
    declarations = []
    for index, tool in enumerate(request.tools):
        fn = tool.function
        decl: dict[str, Any] = {"name": fn.name}
        if fn.description:
            decl["description"] = fn.description
        params = fn.parameters
        if params:
            schema = to_gemini_schema(params, f"tools[{index}].function.parameters")
            if not (schema.get("type") == "object" and not schema.get("properties")):
                decl["parameters"] = schema
        declarations.append(decl)
    return [{"functionDeclarations": declarations}] if declarations else []


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, t.SpecificToolChoice):
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}}
    value = choice.value if isinstance(choice, t.ToolChoiceMode) else str(choice)
    mode = _TOOL_CHOICE_MODES.get(value)
    if mode is None:
        raise BadRequestError(f"tool_choice: {value!r} cannot be expressed for Gemini")
    return {"functionCallingConfig": {"mode": mode}}


def _generation_config(request: t.ChatCompletionRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    max_tokens = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    if request.stop is not None:
        config["stopSequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    if request.n is not None:
        config["candidateCount"] = request.n
    if request.seed is not None:
        config["seed"] = request.seed
    if request.presence_penalty is not None:
        config["presencePenalty"] = request.presence_penalty
    if request.frequency_penalty is not None:
        config["frequencyPenalty"] = request.frequency_penalty
    if request.logprobs:
        config["responseLogprobs"] = True
        if request.top_logprobs is not None:
            config["logprobs"] = request.top_logprobs
    fmt = request.response_format
    if isinstance(fmt, t.ResponseFormatJsonObject):
        config["responseMimeType"] = "application/json"
    elif isinstance(fmt, t.ResponseFormatJsonSchema):
        config["responseMimeType"] = "application/json"
        if fmt.json_schema.schema:
            config["responseSchema"] = to_gemini_schema(fmt.json_schema.schema, "response_format.json_schema.schema")
    if request.reasoning_effort is not None:
        effort = getattr(request.reasoning_effort, "value", request.reasoning_effort)
        budget = REASONING_BUDGETS.get(str(effort))
        if budget is None:
            raise BadRequestError(f"reasoning_effort: {effort!r} has no Gemini thinking budget")
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
    return config


def to_gemini_body(request: t.ChatCompletionRequest) -> dict[str, Any]:
    """The ``generateContent`` body for a chat request.

    ``extra_body`` keys are merged into the top level (``safetySettings``,
    ``cachedContent``, ...); an ``extra_body["generationConfig"]`` dict is
    merged into the generated one.  Raises BadRequestError for what Gemini
    cannot express (``logit_bias``, token-id content, a tool result that
    names no earlier tool call).
    """
    if request.logit_bias:
        raise BadRequestError("logit_bias is not supported by Gemini")
    system, contents = _contents(list(request.messages))
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    tools = _tools(request)
    if tools:
        body["tools"] = tools
    tool_config = _tool_config(request.tool_choice)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    config = _generation_config(request)
    extra = dict(request.extra_body or {})
    extra_config = extra.pop("generationConfig", None)
    if isinstance(extra_config, dict):
        config.update(extra_config)
    elif extra_config is not None:
        raise BadRequestError("extra_body.generationConfig must be an object")
    if config:
        body["generationConfig"] = config
    body.update(extra)
    return body


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


def _obj(value: Any, where: str, provider: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SerializationError(f"{where}: expected an object, got {type(value).__name__}", provider=provider)
    return value


def _list(value: Any, where: str, provider: str | None) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SerializationError(f"{where}: expected a list, got {type(value).__name__}", provider=provider)
    return value


def _int(value: Any, where: str, provider: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SerializationError(f"{where}: expected an integer, got {type(value).__name__}", provider=provider)
    try:
        return int(value)  # int64 fields may arrive as JSON strings
    except ValueError:
        raise SerializationError(f"{where}: expected an integer, got {value!r}", provider=provider) from None


def usage_from(metadata: Any, provider: str | None, where: str = "usageMetadata") -> t.Usage | None:
    """``usageMetadata`` -> :class:`~liter_llm.types.Usage` (thought tokens count as completion tokens)."""
    if metadata is None:
        return None
    meta = _obj(metadata, where, provider)
    prompt = _int(meta.get("promptTokenCount"), f"{where}.promptTokenCount", provider)
    candidates = _int(meta.get("candidatesTokenCount"), f"{where}.candidatesTokenCount", provider)
    thoughts = _int(meta.get("thoughtsTokenCount"), f"{where}.thoughtsTokenCount", provider)
    cached = _int(meta.get("cachedContentTokenCount"), f"{where}.cachedContentTokenCount", provider)
    total = _int(meta.get("totalTokenCount"), f"{where}.totalTokenCount", provider)
    completion = candidates + thoughts
    return t.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total or prompt + completion,
        prompt_tokens_details=(
            t.PromptTokensDetails(cached_tokens=cached) if "cachedContentTokenCount" in meta else None
        ),
        completion_tokens_details=(
            t.CompletionTokensDetails(reasoning_tokens=thoughts) if "thoughtsTokenCount" in meta else None
        ),
    )


def _check_blocked(data: dict[str, Any], provider: str | None) -> None:
    feedback = data.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason") and not data.get("candidates"):
        reason = str(feedback["blockReason"])
        detail = feedback.get("blockReasonMessage")
        message = f"the prompt was blocked by Google ({reason})"
        if isinstance(detail, str) and detail:
            message += f": {detail}"
        raise ContentPolicyError(
            message, status_code=400, provider=provider, code=reason, body=json.dumps(data, ensure_ascii=False)[:2000]
        )


class _Parts:
    """The pieces of one candidate's content."""

    __slots__ = ("calls", "reasoning", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[tuple[str, str, str]] = []  # (id, name, arguments JSON)


def _read_parts(candidate: dict[str, Any], where: str, provider: str | None, first_call: int = 0) -> _Parts:
    result = _Parts()
    content = _obj(candidate.get("content"), f"{where}.content", provider)
    for index, raw in enumerate(_list(content.get("parts"), f"{where}.content.parts", provider)):
        part = _obj(raw, f"{where}.content.parts[{index}]", provider)
        if "functionCall" in part:
            fc = _obj(part["functionCall"], f"{where}.content.parts[{index}].functionCall", provider)
            name = fc.get("name")
            if not isinstance(name, str) or not name:
                raise SerializationError(
                    f"{where}.content.parts[{index}].functionCall.name: a function name is required", provider=provider
                )
            args = fc.get("args")
            arguments = json.dumps(args if args is not None else {}, ensure_ascii=False, separators=(",", ":"))
            call_id = tool_call_id(first_call + len(result.calls), name, fc.get("id"), part.get("thoughtSignature"))
            result.calls.append((call_id, name, arguments))
        elif "text" in part:
            text = part["text"]
            if not isinstance(text, str):
                raise SerializationError(f"{where}.content.parts[{index}].text: expected a string", provider=provider)
            (result.reasoning if part.get("thought") is True else result.text).append(text)
    return result


def _finish(candidate: dict[str, Any], has_calls: bool) -> t.FinishReason | None:
    raw = candidate.get("finishReason")
    if raw is None:
        return None
    reason = FINISH_REASONS.get(str(raw), t.FinishReason.OTHER)
    if has_calls and reason is t.FinishReason.STOP:
        return t.FinishReason.TOOL_CALLS
    return reason


def _response_id(data: dict[str, Any]) -> str:
    rid = data.get("responseId")
    return rid if isinstance(rid, str) and rid else f"chatcmpl-{uuid.uuid4().hex}"


def from_gemini_response(data: Any, model: str, provider: str | None = None) -> t.ChatCompletionResponse:
    """A ``GenerateContentResponse`` -> :class:`~liter_llm.types.ChatCompletionResponse`.

    Raises ContentPolicyError when the prompt was blocked (``promptFeedback.blockReason``
    and no candidates), SerializationError for a body of the wrong shape.
    """
    body = _obj(data, "response", provider)
    _check_blocked(body, provider)
    if not {"candidates", "promptFeedback", "usageMetadata"} & body.keys():  # ``{}`` is not an empty answer
        shown = ", ".join(sorted(map(str, body))[:10]) or "none"
        raise SerializationError(
            f"the answer is not a GenerateContentResponse: it has no 'candidates' (fields: {shown})",
            provider=provider,
        )
    choices = []
    for position, raw in enumerate(_list(body.get("candidates"), "candidates", provider)):
        where = f"candidates[{position}]"
        candidate = _obj(raw, where, provider)
        parts = _read_parts(candidate, where, provider)
        message = t.AssistantMessage(
            content="".join(parts.text) if parts.text else None,
            tool_calls=[
                t.ToolCall(id=cid, function=t.FunctionCall(name=name, arguments=args))
                for cid, name, args in parts.calls
            ],
            reasoning_content="".join(parts.reasoning) if parts.reasoning else None,
        )
        index = candidate.get("index", position)
        choices.append(
            t.Choice(
                index=index if isinstance(index, int) else position,
                message=message,
                finish_reason=_finish(candidate, bool(parts.calls)),
            )
        )
    version = body.get("modelVersion")
    return t.ChatCompletionResponse(
        id=_response_id(body),
        created=int(time.time()),
        model=version if isinstance(version, str) and version else model,
        choices=choices,
        usage=usage_from(body.get("usageMetadata"), provider),
    )


class GeminiStreamTranslator:
    """Turns the stream's ``GenerateContentResponse`` events into chunks.

    The first chunk of each choice carries ``role: "assistant"``; text goes to
    ``content``, thought parts to ``reasoning_content``, function calls to
    whole ``tool_calls`` deltas numbered per choice; the finish reason and the
    usage come on the chunk that carries Gemini's ``finishReason``.
    """

    def __init__(self, model: str, provider: str | None = None) -> None:
        self.model = model
        self.provider = provider
        self.id: str | None = None
        self.created = int(time.time())
        self.started: set[int] = set()
        self.calls: dict[int, int] = {}
        self.finished = False

    def feed(self, data: Any) -> list[t.ChatCompletionChunk]:
        """Translate one decoded event; returns the chunks it amounts to."""
        provider = self.provider
        if isinstance(data, list):  # Vertex may wrap an error in a list
            data = data[0] if data else {}
        body = _obj(data, "stream event", provider)
        if body.get("error") is not None and "candidates" not in body:
            raise google_error(500, {}, body, provider=provider, in_stream=True)
        _check_blocked(body, provider)
        if self.id is None:
            self.id = _response_id(body)
        version = body.get("modelVersion")
        if isinstance(version, str) and version:
            self.model = version
        choices: list[t.StreamChoice] = []
        finished_now = False
        for position, raw in enumerate(_list(body.get("candidates"), "candidates", provider)):
            where = f"candidates[{position}]"
            candidate = _obj(raw, where, provider)
            index = candidate.get("index", position)
            if not isinstance(index, int):
                index = position
            first_call = self.calls.get(index, 0)
            parts = _read_parts(candidate, where, provider, first_call)
            self.calls[index] = first_call + len(parts.calls)
            delta = t.StreamDelta(
                content="".join(parts.text) if parts.text else None,
                reasoning_content="".join(parts.reasoning) if parts.reasoning else None,
                tool_calls=[
                    t.StreamToolCall(
                        index=first_call + offset,
                        id=cid,
                        call_type=t.ToolType.FUNCTION,
                        function=t.StreamFunctionCall(name=name, arguments=args),
                    )
                    for offset, (cid, name, args) in enumerate(parts.calls)
                ],
            )
            if index not in self.started:
                self.started.add(index)
                delta.role = "assistant"
            finish = _finish(candidate, self.calls[index] > 0)
            if finish is not None:
                finished_now = True
            if (
                finish is None
                and delta.role is None
                and delta.content is None
                and delta.reasoning_content is None
                and not delta.tool_calls
            ):
                continue
            choices.append(t.StreamChoice(index=index, delta=delta, finish_reason=finish))
        if finished_now:
            self.finished = True
        usage = usage_from(body.get("usageMetadata"), provider) if self.finished else None
        if not choices and usage is None:
            return []
        return [t.ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=choices, usage=usage)]


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

_STATUS_KINDS: Mapping[str, type[LiterLlmError]] = {
    "RESOURCE_EXHAUSTED": RateLimitedError,
    "INVALID_ARGUMENT": BadRequestError,
    "FAILED_PRECONDITION": BadRequestError,
    "OUT_OF_RANGE": BadRequestError,
    "PERMISSION_DENIED": AuthenticationError,
    "UNAUTHENTICATED": AuthenticationError,
    "NOT_FOUND": NotFoundError,
    "UNAVAILABLE": ServiceUnavailableError,
    "DEADLINE_EXCEEDED": LiterLlmTimeoutError,
    "INTERNAL": ServerError,
}
_CONTEXT_MARKERS = ("exceeds the maximum number of tokens", "context window", "context length", "too many tokens")
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_delay(details: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` entry (``"retryDelay": "2s"``) in error details."""
    if not isinstance(details, list):
        return None
    for item in details:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = item.get("retryDelay")
            if isinstance(delay, str):
                match = _DURATION.match(delay)
                if match:
                    return float(match.group(1))
            elif isinstance(delay, dict):  # {"seconds": 2, "nanos": 0}
                try:
                    seconds = float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
                except (TypeError, ValueError):
                    return None
                return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _reasons(details: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and isinstance(item.get("reason"), str):
                found.add(item["reason"])
    return found


def google_error(
    status: int,
    headers: Mapping[str, str],
    payload: Any,
    *,
    provider: str | None = None,
    body: str | None = None,
    in_stream: bool = False,
) -> LiterLlmError:
    """Map Google's error body ``{"error": {"code", "message", "status", "details"}}`` to our kinds.

    The ``status`` string decides the kind (RESOURCE_EXHAUSTED -> RateLimitedError,
    INVALID_ARGUMENT -> BadRequestError or ContextWindowExceededError, ...); without
    one the HTTP status does.  ``retry_after`` comes from the ``Retry-After``
    header, else from a ``google.rpc.RetryInfo`` detail.
    """
    while isinstance(payload, list) and payload:
        payload = payload[0]
    inner = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(inner, dict):
        inner = {"message": inner} if isinstance(inner, str) else {}
    message = inner.get("message")
    if not isinstance(message, str) or not message:
        message = f"Google answered HTTP {status}" if not in_stream else "Google sent an error inside the stream"
    status_name = inner.get("status") if isinstance(inner.get("status"), str) else None
    code = inner.get("code")
    if in_stream and isinstance(code, int) and 400 <= code < 600:
        status = code
    details = inner.get("details")
    retry_after = parse_retry_after(headers)
    if retry_after is None:
        retry_after = retry_delay(details)
    if body is None:
        body = json.dumps(payload, ensure_ascii=False)[:2000] if payload else None
    if len(message) > 500:
        message = message[:500] + f"... ({len(message)} characters)"
    cls = _STATUS_KINDS.get(status_name or "")
    if cls is None:
        return error_from_status(
            status, message, provider=provider, code=status_name, retry_after=retry_after, body=body
        )
    if cls is BadRequestError:
        lowered = message.lower()
        if _reasons(details) & _AUTH_REASONS:
            cls = AuthenticationError
        elif any(marker in lowered for marker in _CONTEXT_MARKERS):
            cls = ContextWindowExceededError
    return cls(message, status_code=status, provider=provider, code=status_name, retry_after=retry_after, body=body)
