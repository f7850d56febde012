"""The types of the endpoints other than chat: part of :mod:`liter_llm.types`, built on first use.

Embeddings, models, images, audio, moderation, rerank, search, OCR, files, batches and responses.
Every name here is a name of :mod:`liter_llm.types` (``liter_llm.types.EmbeddingRequest``); its
classes say so in ``__module__``, so they repr, pickle and resolve their annotations as the chat
types do.  They live apart so that a process whose calls are chats never builds them: attrs
classes cost about 0.3 ms each to build, and these are more than half of the data model
(docs/performance.md, "Fourth pass").  ``liter_llm.types`` imports this module the first time one
of its names is asked for.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

import attrs

from liter_llm._attrs_code import define
from liter_llm.types import EmbeddingFormat, Usage, _adopt, _Model, _response, _wire

__all__ = [
    "Batch",
    "BatchListQuery",
    "BatchListResponse",
    "BatchRequestCounts",
    "CreateBatchRequest",
    "CreateFileRequest",
    "CreateImageRequest",
    "CreateResponseRequest",
    "CreateSpeechRequest",
    "CreateTranscriptionRequest",
    "DeleteResponse",
    "EmbeddingInput",
    "EmbeddingObject",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "FileListQuery",
    "FileListResponse",
    "FileObject",
    "Image",
    "ImagesResponse",
    "ModelObject",
    "ModelsListResponse",
    "ModerationCategories",
    "ModerationCategoryScores",
    "ModerationInput",
    "ModerationRequest",
    "ModerationResponse",
    "ModerationResult",
    "OcrDocument",
    "OcrDocumentBase64",
    "OcrDocumentUrl",
    "OcrImage",
    "OcrPage",
    "OcrRequest",
    "OcrResponse",
    "PageDimensions",
    "RerankDocument",
    "RerankDocumentObject",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "RerankResultDocument",
    "ResponseObject",
    "ResponseUsage",
    "SearchRequest",
    "SearchResponse",
    "SearchResult",
    "TranscriptionResponse",
    "TranscriptionSegment",
]

# ---------------------------------------------------------------------------
# Embeddings, models
# ---------------------------------------------------------------------------

EmbeddingInput: TypeAlias = str | list[str] | list[int] | list[list[int]]


@define(kw_only=True, slots=True, repr=False, eq=False)
class EmbeddingRequest(_Model):
    """An embedding request; ``input`` is text, texts, or token ids.

    ``extra_body`` keys are merged into the top level of the body.
    """

    model: str
    input: EmbeddingInput
    encoding_format: EmbeddingFormat | None = None
    dimensions: int | None = None
    user: str | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class EmbeddingObject(_Model):
    """One embedding vector."""

    object: str = "embedding"
    embedding: list[float] = attrs.field(factory=list)
    index: int = 0


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class EmbeddingResponse(_Model):
    """Embeddings.  ``cost`` and ``cache_hit`` are set by liter-llm."""

    object: str = "list"
    data: list[EmbeddingObject]
    model: str
    usage: Usage | None = None
    cost: float | None = None
    cache_hit: bool = attrs.field(default=False, metadata={"omit_default": True})


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ModelObject(_Model):
    """A model listed by a provider."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = ""


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ModelsListResponse(_Model):
    """The models a provider offers."""

    object: str = "list"
    data: list[ModelObject] = attrs.field(factory=list)


# ---------------------------------------------------------------------------
# Images, audio
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class CreateImageRequest(_Model):
    """Create images from a text prompt.

    ``extra_body`` keys are merged into the top level of the body.
    """

    prompt: str
    model: str | None = None
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    user: str | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class Image(_Model):
    """One generated image, as a URL or base64 data."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ImagesResponse(_Model):
    """Generated images."""

    created: int = 0
    data: list[Image] = attrs.field(factory=list)


@define(kw_only=True, slots=True, repr=False, eq=False)
class CreateSpeechRequest(_Model):
    """Generate speech audio from text.

    ``extra_body`` keys are merged into the top level of the body.
    """

    model: str
    input: str
    voice: str
    response_format: str | None = None
    speed: float | None = None
    extra_body: dict[str, Any] | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class CreateTranscriptionRequest(_Model):
    """Transcribe audio.  ``file`` is raw bytes (``from_dict`` accepts base64 text).

    ``extra_body`` keys are sent as extra form fields.
    """

    model: str
    file: bytes
    filename: str = "audio.wav"
    language: str | None = None
    prompt: str | None = None
    response_format: str | None = None
    temperature: float | None = None
    timestamp_granularities: list[str] | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class TranscriptionSegment(_Model):
    """A timed segment of a transcription."""

    id: int = 0
    start: float = 0.0
    end: float = 0.0
    text: str = ""


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class TranscriptionResponse(_Model):
    """A transcription."""

    text: str = ""
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] = attrs.field(factory=list)


# ---------------------------------------------------------------------------
# Moderation
# ---------------------------------------------------------------------------

ModerationInput: TypeAlias = str | list[str]


@define(kw_only=True, slots=True, repr=False, eq=False)
class ModerationRequest(_Model):
    """Classify content for policy violations.

    ``extra_body`` keys are merged into the top level of the body.
    """

    input: ModerationInput
    model: str | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ModerationCategories(_Model):
    """Flags per category; wire names are OpenAI's (``"self-harm"``, ``"sexual/minors"``, ...)."""

    sexual: bool = False
    hate: bool = False
    harassment: bool = False
    self_harm: bool = attrs.field(default=False, metadata=_wire("self-harm"))
    sexual_minors: bool = attrs.field(default=False, metadata=_wire("sexual/minors"))
    hate_threatening: bool = attrs.field(default=False, metadata=_wire("hate/threatening"))
    violence_graphic: bool = attrs.field(default=False, metadata=_wire("violence/graphic"))
    self_harm_intent: bool = attrs.field(default=False, metadata=_wire("self-harm/intent"))
    self_harm_instructions: bool = attrs.field(default=False, metadata=_wire("self-harm/instructions"))
    harassment_threatening: bool = attrs.field(default=False, metadata=_wire("harassment/threatening"))
    violence: bool = False


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ModerationCategoryScores(_Model):
    """Scores per category; wire names as in :class:`ModerationCategories`."""

    sexual: float = 0.0
    hate: float = 0.0
    harassment: float = 0.0
    self_harm: float = attrs.field(default=0.0, metadata=_wire("self-harm"))
    sexual_minors: float = attrs.field(default=0.0, metadata=_wire("sexual/minors"))
    hate_threatening: float = attrs.field(default=0.0, metadata=_wire("hate/threatening"))
    violence_graphic: float = attrs.field(default=0.0, metadata=_wire("violence/graphic"))
    self_harm_intent: float = attrs.field(default=0.0, metadata=_wire("self-harm/intent"))
    self_harm_instructions: float = attrs.field(default=0.0, metadata=_wire("self-harm/instructions"))
    harassment_threatening: float = attrs.field(default=0.0, metadata=_wire("harassment/threatening"))
    violence: float = 0.0


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ModerationResult(_Model):
    """One moderation classification."""

    flagged: bool = False
    categories: ModerationCategories = attrs.field(factory=ModerationCategories)
    category_scores: ModerationCategoryScores = attrs.field(factory=ModerationCategoryScores)


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ModerationResponse(_Model):
    """Moderation results, one per input."""

    id: str
    model: str
    results: list[ModerationResult] = attrs.field(factory=list)


# ---------------------------------------------------------------------------
# Rerank, search, OCR
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class RerankDocumentObject(_Model):
    """A document to rerank given as ``{"text": ...}``."""

    text: str


RerankDocument: TypeAlias = str | RerankDocumentObject


@define(kw_only=True, slots=True, repr=False, eq=False)
class RerankRequest(_Model):
    """Rerank documents by relevance to a query.

    ``extra_body`` keys are merged into the top level of the body.
    """

    model: str
    query: str
    documents: list[RerankDocument]
    top_n: int | None = None
    return_documents: bool | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class RerankResultDocument(_Model):
    """The text of a reranked document."""

    text: str = ""


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class RerankResult(_Model):
    """One reranked document and its score."""

    index: int = 0
    relevance_score: float = 0.0
    document: RerankResultDocument | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class RerankResponse(_Model):
    """Rerank results, best first."""

    id: str | None = None
    results: list[RerankResult] = attrs.field(factory=list)
    meta: dict[str, Any] | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class SearchRequest(_Model):
    """A web search request. ``extra_body`` keys are merged into the top level of the body."""

    model: str
    query: str
    max_results: int | None = None
    search_domain_filter: list[str] = attrs.field(factory=list)
    country: str | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class SearchResult(_Model):
    """One search result."""

    title: str = ""
    url: str = ""
    snippet: str = ""
    date: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class SearchResponse(_Model):
    """Search results."""

    results: list[SearchResult] = attrs.field(factory=list)
    model: str = ""


@define(kw_only=True, slots=True, repr=False, eq=False)
class OcrDocumentUrl(_Model):
    """A document at a URL: ``{"type": "document_url", "url": "<url>"}``."""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "document_url"
    url: str


@define(kw_only=True, slots=True, repr=False, eq=False)
class OcrDocumentBase64(_Model):
    """An inline document: ``{"type": "base64", "data": "<base64>", "media_type": "application/pdf"}``."""

    _tag_key: ClassVar[str | None] = "type"
    type: ClassVar[str] = "base64"
    data: str
    media_type: str


OcrDocument: TypeAlias = OcrDocumentUrl | OcrDocumentBase64


@define(kw_only=True, slots=True, repr=False, eq=False)
class OcrRequest(_Model):
    """An OCR request; ``pages`` are 1-indexed.

    ``extra_body`` keys are merged into the top level of the body.
    """

    model: str
    document: OcrDocument
    pages: list[int] | None = None
    include_image_base64: bool | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class PageDimensions(_Model):
    """Page dimensions in pixels."""

    width: int = 0
    height: int = 0


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class OcrImage(_Model):
    """An image extracted from an OCR page."""

    id: str = ""
    image_base64: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class OcrPage(_Model):
    """One page of OCR output (``index`` is 0-based)."""

    index: int = 0
    markdown: str = ""
    images: list[OcrImage] | None = None
    dimensions: PageDimensions | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class OcrResponse(_Model):
    """OCR output.  ``usage.pages_processed`` counts the pages a per-page-billed provider processed."""

    pages: list[OcrPage] = attrs.field(factory=list)
    model: str = ""
    usage: Usage | None = None


# ---------------------------------------------------------------------------
# Files, batches, responses API
# ---------------------------------------------------------------------------


@define(kw_only=True, slots=True, repr=False, eq=False)
class CreateFileRequest(_Model):
    """Upload a file.  ``file`` is raw bytes (``from_dict`` accepts base64 text)."""

    file: bytes
    purpose: str
    filename: str = "file"
    content_type: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class FileObject(_Model):
    """An uploaded file."""

    id: str
    object: str = "file"
    bytes: int = 0
    created_at: int = 0
    filename: str = ""
    purpose: str = ""
    status: str | None = None
    status_details: str | None = None
    expires_at: int | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class FileListQuery(_Model):
    """Query parameters of a file listing."""

    purpose: str | None = None
    limit: int | None = None
    after: str | None = None
    order: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class FileListResponse(_Model):
    """A page of files."""

    object: str = "list"
    data: list[FileObject] = attrs.field(factory=list)
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class DeleteResponse(_Model):
    """The answer to a delete."""

    id: str
    object: str = ""
    deleted: bool = False


@define(kw_only=True, slots=True, repr=False, eq=False)
class CreateBatchRequest(_Model):
    """Create a batch from an uploaded JSONL file.

    ``extra_body`` keys are merged into the top level of the body.
    """

    input_file_id: str
    endpoint: str
    completion_window: str = "24h"
    metadata: dict[str, str] | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class BatchRequestCounts(_Model):
    """Request counts of a batch."""

    total: int = 0
    completed: int = 0
    failed: int = 0


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class Batch(_Model):
    """A batch job."""

    id: str
    object: str = "batch"
    endpoint: str = ""
    status: str = ""
    input_file_id: str = ""
    completion_window: str = ""
    created_at: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: dict[str, Any] | None = None
    request_counts: BatchRequestCounts | None = None
    metadata: dict[str, Any] | None = None
    in_progress_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class BatchListQuery(_Model):
    """Query parameters of a batch listing."""

    limit: int | None = None
    after: str | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class BatchListResponse(_Model):
    """A page of batches."""

    object: str = "list"
    data: list[Batch] = attrs.field(factory=list)
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


@define(kw_only=True, slots=True, repr=False, eq=False)
class CreateResponseRequest(_Model):
    """A Responses API request (``input`` is text or a list of input items)."""

    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    metadata: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    user: str | None = None
    extra_body: dict[str, Any] | None = None


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ResponseUsage(_Model):
    """Token usage of a Responses API answer."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@_response
@define(kw_only=True, slots=True, repr=False, eq=False)
class ResponseObject(_Model):
    """A Responses API answer."""

    id: str
    object: str = "response"
    created_at: int = 0
    model: str = ""
    status: str | None = None
    output: list[dict[str, Any]] = attrs.field(factory=list)
    output_text: str | None = None
    usage: ResponseUsage | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


_adopt(globals(), __all__)  # the classes are liter_llm.types' own (its module, its namespace)
