"""The typed data model: every request, response, enum and union of the API.

All types are attrs classes (``@define(kw_only=True, slots=True)``; their
``repr`` and ``==`` are the base class's, the same for all of them).
JSON conversion lives in :mod:`liter_llm._serde` (loaded on first use, so
importing this module stays cheap):

* ``X.from_dict(data)`` / ``X.from_json(text)`` parse a dict / JSON text.
  Request-side types are parsed **strictly**: an unknown field, a wrong type
  or a missing required field raises :class:`~liter_llm.errors.BadRequestError`
  naming the path (``messages[2].content``).  Response-side types are parsed
  **leniently**: unknown fields are ignored, missing counts are 0, an unknown
  ``finish_reason`` is :attr:`FinishReason.OTHER`, ``null`` lists are empty;
  only a value of a wrong shape raises
  :class:`~liter_llm.errors.SerializationError` (again naming the path).
* ``x.to_dict()`` / ``x.to_json()`` give the wire form: ``None`` fields are
  omitted, enums are their string values, ``role``/``type`` discriminators
  are emitted, wire renames are applied (``tool_type`` -> ``"type"``), and
  empty default lists/dicts (``tools``, ``logit_bias``, ...) are omitted.

Wire shapes worth knowing:

* messages are objects discriminated by ``"role"``; content parts by ``"type"``;
* ``SystemMessage``/``DeveloperMessage``/``ToolMessage``/``FunctionMessage``
  ``content`` is documented as ``str``; a list of content parts (as OpenAI
  allows: ``[{"type": "text", "text": ...}]``) is accepted as well;
* ``ToolChoice``: ``"auto"``/``"required"``/``"none"`` or
  ``{"type": "function", "function": {"name": ...}}``;
* ``ResponseFormat``: ``{"type": "text"}``, ``{"type": "json_object"}``,
  ``{"type": "json_schema", "json_schema": {...}}``;
* ``OcrDocument``: ``{"type": "document_url", "url": "<url>"}`` or
  ``{"type": "base64", "data": "<base64>", "media_type": "application/pdf"}``,
  as the reference names them (the OCR endpoint's own wire shape, Mistral's
  ``document_url``/``image_url``, is made by the request builder);
* ``bytes`` fields (``CreateFileRequest.file``, ``CreateTranscriptionRequest.file``)
  are base64 strings in ``to_dict``; ``from_dict`` accepts bytes or base64 text.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, TypeVar

import attrs

from liter_llm._attrs_code import define, frozen
from liter_llm._attrs_methods import Fields, FrozenFields
from liter_llm.errors import BadRequestError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    # enums
    "EmbeddingFormat",
    "FinishReason",
    "ImageDetail",
    "ReasoningEffort",
    "ToolChoiceMode",
    "ToolType",
    # unions
    "ContentPart",
    "EmbeddingInput",
    "Message",
    "ModerationInput",
    "OcrDocument",
    "RerankDocument",
    "ResponseFormat",
    "StopSequence",
    "ToolChoice",
    "UserContent",
    # auth
    "AuthHeaderFormat",
    "CustomProviderConfig",
    # content
    "AudioContent",
    "DocumentContent",
    "DocumentContentPart",
    "ImageUrl",
    "ImageUrlContentPart",
    "InputAudioContentPart",
    "TextContentPart",
    # messages
    "AssistantMessage",
    "DeveloperMessage",
    "FunctionMessage",
    "SystemMessage",
    "ToolMessage",
    "UserMessage",
    # tools
    "ChatCompletionTool",
    "FunctionCall",
    "FunctionDefinition",
    "SpecificFunction",
    "SpecificToolChoice",
    "ToolCall",
    # response format
    "JsonSchemaFormat",
    "ResponseFormatJsonObject",
    "ResponseFormatJsonSchema",
    "ResponseFormatText",
    # chat
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "Choice",
    "CompletionTokensDetails",
    "PromptTokensDetails",
    "StreamChoice",
    "StreamDelta",
    "StreamFunctionCall",
    "StreamOptions",
    "StreamToolCall",
    "Usage",
    # embeddings, models
    "EmbeddingObject",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "ModelObject",
    "ModelsListResponse",
    # images, audio
    "CreateImageRequest",
    "CreateSpeechRequest",
    "CreateTranscriptionRequest",
    "Image",
    "ImagesResponse",
    "TranscriptionResponse",
    "TranscriptionSegment",
    # moderation
    "ModerationCategories",
    "ModerationCategoryScores",
    "ModerationRequest",
    "ModerationResponse",
    "ModerationResult",
    # rerank, search, ocr
    "OcrDocumentBase64",
    "OcrDocumentUrl",
    "OcrImage",
    "OcrPage",
    "OcrRequest",
    "OcrResponse",
    "PageDimensions",
    "RerankDocumentObject",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "RerankResultDocument",
    "SearchRequest",
    "SearchResponse",
    "SearchResult",
    # files, batches, responses
    "Batch",
    "BatchListQuery",
    "BatchListResponse",
    "BatchRequestCounts",
    "CreateBatchRequest",
    "CreateFileRequest",
    "CreateResponseRequest",
    "DeleteResponse",
    "FileListQuery",
    "FileListResponse",
    "FileObject",
    "ResponseObject",
    "ResponseUsage",
    # helpers
    "REQUEST_TYPES",
    "RESPONSE_TYPES",
]

_T = TypeVar("_T", bound="_Model")

_serde_module: ModuleType | None = None


def _serde() -> ModuleType:
    global _serde_module
    if _serde_module is None:
        from liter_llm import _serde as module

        _serde_module = module
    return _serde_module


class _Model(Fields):
    """Base of every data class: JSON conversion through the one converter."""

    __slots__ = ()

    #: Wire key of the class-level discriminator (``"role"``/``"type"``), if any.
    _tag_key: ClassVar[str | None] = None
    #: Whether ``from_dict`` parses leniently (response-side types).
    _lenient: ClassVar[bool] = False

    @classmethod
    def from_dict(cls: type[_T], data: Mapping[str, Any]) -> _T:
        """Parse a wire dict (strict for requests, lenient for responses)."""
        serde = _serde()
        if cls._lenient:
            result: _T = serde.structure_response(data, cls)
        else:
            result = serde.structure_request(data, cls)
        return result

    @classmethod
    def from_json(cls: type[_T], text: str | bytes) -> _T:
        """Parse JSON text (see :meth:`from_dict`)."""
        serde = _serde()
        data = serde.loads(text, lenient=cls._lenient, what=cls.__name__)
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready wire dict (``None`` fields omitted)."""
        result: dict[str, Any] = _serde().to_wire(self)
        return result

    def to_json(self) -> str:
        """The wire form as compact JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    # attrs would generate and compile a ``__repr__`` and an ``__eq__`` for each of the ~80 classes
    # at import (almost half of this module's import cost): ``Fields`` gives the same two to all of
    # them (attrs' output and field-by-field equality; unhashable, as attrs makes them).


def _response(cls: type[_T]) -> type[_T]:
    cls._lenient = True
    return cls


def _wire(name: str) -> dict[str, Any]:
    return {"wire": name}


def _adopt(namespace: Mapping[str, Any], names: list[str]) -> None:
    """Make the names of a part built on first use (``_stream_types``, ``_endpoint_types``) this module's own.

    Each class says this module in ``__module__`` (so it reprs, pickles and resolves its annotations as
    the chat types do), and this module's namespace holds every name from now on (it answers for them
    without calling :func:`__getattr__` again).
    """
    module = globals()
    for name in names:
        value = namespace[name]
        if isinstance(value, type):
            value.__module__ = __name__
        module[name] = value


# ---------------------------------------------------------------------------
# Enums
# ---------------------------------------------------------------------------


class FinishReason(str, enum.Enum):
    """Why a choice stopped generating tokens; unknown wire values parse to ``OTHER``."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    FUNCTION_CALL = "function_call"
    OTHER = "other"

    @classmethod
    def _missing_(cls, value: object) -> FinishReason:
        return cls.OTHER


class ImageDetail(str, enum.Enum):
    """Image detail level for vision input."""

    LOW = "low"
    HIGH = "high"
    AUTO = "auto"


class ToolType(str, enum.Enum):
    """The type discriminator of tools and tool calls (always ``"function"``)."""

    FUNCTION = "function"


class ToolChoiceMode(str, enum.Enum):
    """A tool choice given as a mode string."""

    AUTO = "auto"
    REQUIRED = "required"
    NONE = "none"


class ReasoningEffort(str, enum.Enum):
    """How much reasoning effort the model should use."""

    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class EmbeddingFormat(str, enum.Enum):
    """The format in which embedding vectors are returned."""

    FLOAT = "float"
    BASE64 = "base64"


# ---------------------------------------------------------------------------
# Authentication header format, custom providers
# ---------------------------------------------------------------------------


@frozen(kw_only=True, repr=False, eq=False)
class AuthHeaderFormat(FrozenFields):
    """How the API key is sent.

    ``AuthHeaderFormat.BEARER`` (``Authorization: Bearer <key>``),
    ``AuthHeaderFormat.api_key("X-Api-Key")`` (``X-Api-Key: <key>``) or
    ``AuthHeaderFormat.NONE``.  On the wire (``to_dict``, configuration
    files) it is ``"bearer"``, ``"none"`` or ``{"api_key": "<header>"}``.
    """

    kind: Literal["bearer", "api_key", "none"] = "bearer"
    header: str | None = None

    BEARER: ClassVar[AuthHeaderFormat]
    NONE: ClassVar[AuthHeaderFormat]

    @classmethod
    def api_key(cls, header_name: str) -> AuthHeaderFormat:
        """Send the key in a custom header, e.g. ``x-api-key``."""
        if not isinstance(header_name, str) or not header_name.strip():
            raise BadRequestError("auth header name must be a non-empty string")
        return cls(kind="api_key", header=header_name.strip())

    @classmethod
    def parse(cls, value: Any) -> AuthHeaderFormat:
        """Accept an ``AuthHeaderFormat``, ``"bearer"``/``"none"`` (any case),
        any other non-empty string (a custom header name) or ``{"api_key": "<header>"}``.

        Anything else raises :class:`~liter_llm.errors.BadRequestError`.
        """
        if isinstance(value, AuthHeaderFormat):
            return value
        if isinstance(value, str):
            text = value.strip()
            lowered = text.lower()
            if lowered == "bearer":
                return cls.BEARER
            if lowered == "none":
                return cls.NONE
            if text:
                return cls.api_key(text)
            raise BadRequestError("auth header format must not be an empty string")
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, header),) = value.items()
            if isinstance(key, str) and key.lower() in ("api_key", "apikey") and isinstance(header, str):
                return cls.api_key(header)
            if isinstance(key, str) and key.lower() in ("bearer", "none") and header in (None, True, {}):
                return cls.BEARER if key.lower() == "bearer" else cls.NONE
        raise BadRequestError(
            f"invalid auth header format {value!r}: expected 'bearer', 'none', a header name "
            "or {'api_key': '<header>'}"
        )

    def to_wire(self) -> str | dict[str, str]:
        """``"bearer"``, ``"none"`` or ``{"api_key": "<header>"}``."""
        if self.kind == "api_key" and self.header:
            return {"api_key": self.header}
        return "none" if self.kind == "none" else "bearer"


AuthHeaderFormat.BEARER = AuthHeaderFormat(kind="bearer")
AuthHeaderFormat.NONE = AuthHeaderFormat(kind="none")


def _parse_auth(value: Any) -> AuthHeaderFormat:
    """:meth:`AuthHeaderFormat.parse` as a named function (the attrs converter of ``auth`` fields)."""
    return AuthHeaderFormat.parse(value)


@define(kw_only=True, slots=True, repr=False, eq=False)
class CustomProviderConfig(_Model):
    """A custom (OpenAI-compatible) provider: for ``register_custom_provider`` and a configuration's
    ``[[providers]]`` entries (``liter_llm.config.ProviderConfig`` is this class; there ``name``, an
    http(s) ``base_url`` and at least one of ``model_prefixes`` are required).

    ``structured_output`` says what the server accepts for a JSON Schema
    ``response_format`` (and so what ``client.parse`` sends it): ``"json_schema"``
    (the default: sent as it is), ``"json_object"`` (JSON mode, the schema in
    the system prompt) or ``"prompt"`` (the schema in the system prompt only)."""

    name: str
    base_url: str
    auth_header: AuthHeaderFormat = attrs.field(default=AuthHeaderFormat.BEARER, converter=_parse_auth)
    model_prefixes: list[str] = attrs.field(factory=list)
    structured_output: str | None = None


# ---------------------------------------------------------------------------
# Content parts
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class ImageUrl(_Model):
    """An image by URL (or ``data:`` URL) with an optional detail level."""

    url: str
    detail: ImageDetail | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class DocumentContent(_Model):
    """A document: base64 data (or a URL) and its MIME type."""

    data: str
    media_type: str


@define(kw_only=True, slots=True, repr=False, eq=False)
class AudioContent(_Model):
    """Base64 audio data and its format (``"wav"``, ``"mp3"``, ...)."""

    data: str
    format: str


@define(kw_only=True, slots=True, repr=False, eq=False)
class TextContentPart(_Model):
    """``{"type": "text", "text": ...}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "text"
    text: str


@define(kw_only=True, slots=True, repr=False, eq=False)
class ImageUrlContentPart(_Model):
    """``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "image_url"
    image_url: ImageUrl


@define(kw_only=True, slots=True, repr=False, eq=False)
class DocumentContentPart(_Model):
    """``{"type": "document", "document": {"data": ..., "media_type": ...}}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "document"
    document: DocumentContent


@define(kw_only=True, slots=True, repr=False, eq=False)
class InputAudioContentPart(_Model):
    """``{"type": "input_audio", "input_audio": {"data": ..., "format": ...}}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "input_audio"
    input_audio: AudioContent


ContentPart: TypeAlias = TextContentPart | ImageUrlContentPart | DocumentContentPart | InputAudioContentPart
UserContent: TypeAlias = str | list[ContentPart]

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class FunctionDefinition(_Model):
    """A function the model may call; ``parameters`` is a JSON Schema."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class ChatCompletionTool(_Model):
    """A tool: ``{"type": "function", "function": {...}}``."""

    tool_type: ToolType = attrs.field(default=ToolType.FUNCTION, metadata=_wire("type"))
    function: FunctionDefinition


@define(kw_only=True, slots=True, repr=False, eq=False)
class FunctionCall(_Model):
    """A function call made by the model; ``arguments`` is JSON text."""

    name: str
    arguments: str


@define(kw_only=True, slots=True, repr=False, eq=False)
class ToolCall(_Model):
    """A tool call made by the model: ``{"id", "type": "function", "function": {...}}``."""

    id: str
    call_type: ToolType = attrs.field(default=ToolType.FUNCTION, metadata=_wire("type"))
    function: FunctionCall


@define(kw_only=True, slots=True, repr=False, eq=False)
class SpecificFunction(_Model):
    """The function named by a specific tool choice."""

    name: str


@define(kw_only=True, slots=True, repr=False, eq=False)
class SpecificToolChoice(_Model):
    """``{"type": "function", "function": {"name": ...}}``"""

    choice_type: ToolType = attrs.field(default=ToolType.FUNCTION, metadata=_wire("type"))
    function: SpecificFunction


ToolChoice: TypeAlias = ToolChoiceMode | SpecificToolChoice

# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class SystemMessage(_Model):
    """``{"role": "system", "content": ...}`` (a list of text parts is accepted too)."""

    _tag_key: ClassVar[str | None] = "role"
    role: ClassVar[str] = "system"
    content: str | list[ContentPart]
    name: str | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class UserMessage(_Model):
    """``{"role": "user", "content": "text" | [content parts]}``"""

    _tag_key: ClassVar[str | None] = "role"
    role: ClassVar[str] = "user"
    content: str | list[ContentPart] = ""
    name: str | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class AssistantMessage(_Model):
    """An assistant turn: text, tool calls, a refusal, or reasoning content."""

    _tag_key: ClassVar[str | None] = "role"
    role: ClassVar[str] = "assistant"
    content: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] = attrs.field(factory=list)
    refusal: str | None = None
    function_call: FunctionCall | None = None
    reasoning_content: str | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class ToolMessage(_Model):
    """A tool result: ``{"role": "tool", "tool_call_id": ..., "content": ...}``."""

    _tag_key: ClassVar[str | None] = "role"
    role: ClassVar[str] = "tool"
    content: str | list[ContentPart]
    tool_call_id: str
    name: str | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class DeveloperMessage(_Model):
    """``{"role": "developer", "content": ...}``"""

    _tag_key: ClassVar[str | None] = "role"
    role: ClassVar[str] = "developer"
    content: str | list[ContentPart]
    name: str | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class FunctionMessage(_Model):
    """Deprecated legacy function-role message."""

    _tag_key: ClassVar[str | None] = "role"
    role: ClassVar[str] = "function"
    content: str | list[ContentPart]
    name: str


Message: TypeAlias = SystemMessage | UserMessage | AssistantMessage | ToolMessage | DeveloperMessage | FunctionMessage

# ---------------------------------------------------------------------------
# Response format, stream options
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class JsonSchemaFormat(_Model):
    """A JSON Schema for structured output."""

    name: str
    description: str | None = None
    schema: dict[str, Any] = attrs.field(factory=dict)
    strict: bool | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class ResponseFormatText(_Model):
    """``{"type": "text"}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "text"


@define(kw_only=True, slots=True, repr=False, eq=False)
class ResponseFormatJsonObject(_Model):
    """``{"type": "json_object"}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "json_object"


@define(kw_only=True, slots=True, repr=False, eq=False)
class ResponseFormatJsonSchema(_Model):
    """``{"type": "json_schema", "json_schema": {...}}``"""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "json_schema"
    json_schema: JsonSchemaFormat


ResponseFormat: TypeAlias = ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema
StopSequence: TypeAlias = str | list[str]


@define(kw_only=True, slots=True, repr=False, eq=False)
class StreamOptions(_Model):
    """Streaming options (``include_usage``)."""

    include_usage: bool | None = None


# ---------------------------------------------------------------------------
# Chat
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class ChatCompletionRequest(_Model):
    """A chat completion request.

    ``stream`` is managed by the client.  ``extra_body`` keys are merged into
    the top level of the request body (they win over the typed fields).
    """

    model: str
    messages: list[Message] = attrs.field(factory=list)
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stream: bool | None = None
    stop: StopSequence | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] = attrs.field(factory=dict)
    logprobs: bool | None = None
    top_logprobs: int | None = None
    user: str | None = None
    tools: list[ChatCompletionTool] = attrs.field(factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    stream_options: StreamOptions | None = None
    seed: int | None = None
    reasoning_effort: ReasoningEffort | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class PromptTokensDetails(_Model):
    """Breakdown of prompt tokens; each count is included in ``prompt_tokens``.

    Attributes:
        cached_tokens: prompt tokens read from the provider's prompt cache
            (billed at the cache-read price).
        audio_tokens: audio input tokens.
        cache_creation_tokens: prompt tokens written to the provider's prompt
            cache by this call (Anthropic's ``cache_creation_input_tokens``),
            billed at the cache-write price; omitted from ``to_dict`` when 0.
    """

    cached_tokens: int = 0
    audio_tokens: int = 0
    cache_creation_tokens: int = attrs.field(default=0, metadata={"omit_default": True})


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class CompletionTokensDetails(_Model):
    """Breakdown of completion tokens; ``reasoning_tokens`` is included in ``completion_tokens``."""

    reasoning_tokens: int = 0
    audio_tokens: int = 0


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class Usage(_Model):
    """Token usage; missing or null counts are 0.

    Attributes:
        pages_processed: the pages an OCR call processed, for a provider that
            bills OCR by the page (Mistral's ``usage_info.pages_processed``);
            never counted as tokens; omitted from ``to_dict`` when 0.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    pages_processed: int = attrs.field(default=0, metadata={"omit_default": True})


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class Choice(_Model):
    """One completion choice."""

    index: int = 0
    message: AssistantMessage = attrs.field(factory=AssistantMessage)
    finish_reason: FinishReason | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ChatCompletionResponse(_Model):
    """A chat completion.  ``cost`` (USD) and ``cache_hit`` are set by liter-llm, not the provider."""

    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[Choice] = attrs.field(factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    cost: float | None = None
    cache_hit: bool = attrs.field(default=False, metadata={"omit_default": True})


#: the names of :mod:`liter_llm._stream_types` (the chat stream's types, built on first use)
_STREAM_NAMES = frozenset(
    {"ChatCompletionChunk", "StreamChoice", "StreamDelta", "StreamFunctionCall", "StreamToolCall"}
)
#: the names of :mod:`liter_llm._endpoint_types` (the other endpoints' types, built on first use): the
#: public names this module does not define itself, but for the stream's
_ENDPOINT_NAMES = frozenset(set(__all__) - set(globals()) - _STREAM_NAMES - {"REQUEST_TYPES", "RESPONSE_TYPES"})

if TYPE_CHECKING:
    from liter_llm._endpoint_types import (
        Batch,
        BatchListQuery,
        BatchListResponse,
        BatchRequestCounts,
        CreateBatchRequest,
        CreateFileRequest,
        CreateImageRequest,
        CreateResponseRequest,
        CreateSpeechRequest,
        CreateTranscriptionRequest,
        DeleteResponse,
        EmbeddingInput,
        EmbeddingObject,
        EmbeddingRequest,
        EmbeddingResponse,
        FileListQuery,
        FileListResponse,
        FileObject,
        Image,
        ImagesResponse,
        ModelObject,
        ModelsListResponse,
        ModerationCategories,
        ModerationCategoryScores,
        ModerationInput,
        ModerationRequest,
        ModerationResponse,
        ModerationResult,
        OcrDocument,
        OcrDocumentBase64,
        OcrDocumentUrl,
        OcrImage,
        OcrPage,
        OcrRequest,
        OcrResponse,
        PageDimensions,
        RerankDocument,
        RerankDocumentObject,
        RerankRequest,
        RerankResponse,
        RerankResult,
        RerankResultDocument,
        ResponseObject,
        ResponseUsage,
        SearchRequest,
        SearchResponse,
        SearchResult,
        TranscriptionResponse,
        TranscriptionSegment,
    )
    from liter_llm._stream_types import (
        ChatCompletionChunk,
        StreamChoice,
        StreamDelta,
        StreamFunctionCall,
        StreamToolCall,
    )

    #: Response-side types: ``from_dict`` parses them leniently.
    RESPONSE_TYPES: frozenset[type[Any]]
    #: Request-side types: ``from_dict`` parses them strictly.
    REQUEST_TYPES: frozenset[type[Any]]


def _model_types(lenient: bool) -> frozenset[type[Any]]:
    from liter_llm import _endpoint_types, _stream_types  # noqa: F401  (every type, so that the set is whole)

    return frozenset(
        obj
        for obj in list(globals().values())
        if isinstance(obj, type) and issubclass(obj, _Model) and obj is not _Model and obj._lenient is lenient
    )


def __getattr__(name: str) -> Any:
    """The stream's and the other endpoints' types, built the first time one is asked for, and the two type sets.

    ``RESPONSE_TYPES`` (parsed leniently) and ``REQUEST_TYPES`` (parsed strictly) are the
    frozensets of every response-side and request-side class.
    """
    if name in _STREAM_NAMES:
        from liter_llm import _stream_types  # puts its names in this module's namespace

        return getattr(_stream_types, name)
    if name in _ENDPOINT_NAMES:
        from liter_llm import _endpoint_types  # puts its names in this module's namespace

        return getattr(_endpoint_types, name)
    if name in ("RESPONSE_TYPES", "REQUEST_TYPES"):
        value = _model_types(lenient=name == "RESPONSE_TYPES")
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _STREAM_NAMES | _ENDPOINT_NAMES | {"RESPONSE_TYPES", "REQUEST_TYPES"})
