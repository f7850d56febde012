"""Operations as data: one :class:`Operation` row per client operation.

Every client method is one operation: ``client.chat`` is :data:`CHAT`,
``client.retrieve_file`` is :data:`RETRIEVE_FILE`, and so on.  A row says
what the core needs to know about it -- the endpoint family a provider must
offer (``ProviderSpec.endpoints``), the request and response types, whether
it streams, may be answered from the cache, may fall back to the next model,
is billed -- and, for an operation of the OpenAI API, its HTTP method and
path.  The core reads these fields instead of switching on operation names,
so adding an endpoint is adding a row (and its client methods).

A hook sees the name as ``call.operation`` (a ``str``, as always) and the row
as ``call.op``::

    from liter_llm import hookimpl
    from liter_llm.operations import CHAT_STREAM

    class Hooks:
        @hookimpl
        def on_request(self, call):
            if call.op is CHAT_STREAM or call.op.stream:
                ...

The rows of the endpoints other than chat are built the first time they are asked for (their
types are built on first use: :mod:`liter_llm.types`); :func:`field_of` reads a row's scalar
field without building it.

Everything named in ``__all__`` is public and covered by the compatibility
promise in ``docs/writing-a-plugin.md``.  New rows (operations) may be added
in a minor release.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from liter_llm import types as t
from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields

if TYPE_CHECKING:
    from liter_llm.tokens import TokenCount

__all__ = [
    "CANCEL_BATCH",
    "CANCEL_RESPONSE",
    "CHAT",
    "CHAT_STREAM",
    "COUNT_TOKENS",
    "CREATE_BATCH",
    "CREATE_FILE",
    "CREATE_RESPONSE",
    "CREATE_RESPONSE_STREAM",
    "DELETE_FILE",
    "EMBED",
    "FILE_CONTENT",
    "IMAGE_GENERATE",
    "LIST_BATCHES",
    "LIST_FILES",
    "LIST_MODELS",
    "MODERATE",
    "OCR",
    "OPERATIONS",
    "RERANK",
    "RETRIEVE_BATCH",
    "RETRIEVE_FILE",
    "RETRIEVE_RESPONSE",
    "SEARCH",
    "SPEECH",
    "TRANSCRIBE",
    "Operation",
    "field_of",
    "operation_named",
]

Q = TypeVar("Q")
R = TypeVar("R")


@frozen(kw_only=True, repr=False, eq=False)
class Operation(FrozenFields, Generic[Q, R]):
    """One client operation, as data.

    Attributes:
        name: the name hooks see as ``call.operation`` (``"chat"``, ``"chat_stream"``, ...).
        endpoint: the endpoint family a provider must list in ``ProviderSpec.endpoints``.
        request_type: the typed request the client method builds, or ``None`` (an id in ``params``).
        response_type: what the client method returns (``bytes`` for a binary answer).
        stream: whether the answer is a stream of chunks.
        cacheable: whether the ``cache`` built-in may answer it.
        fallback: whether a transient failure may fall back to the next model (``fallbacks``, aliases).
        billed: whether the provider charges for it (budgets reserve its worst case).
        provider_only: an operation only some providers' own APIs have (no OpenAI endpoint):
            never offered by a gateway or a custom provider.
        method: the HTTP method of its OpenAI endpoint (``None`` for a provider-only one).
        path: the path of its OpenAI endpoint under the base URL; ``{name}`` parts are filled from
            ``call.params`` (``"/files/{file_id}"``).
        required_field: the one field without which a JSON answer is not an answer of this
            operation (``choices`` for a chat), or ``None``.
    """

    name: str
    endpoint: str
    request_type: type[Q] | None = attrs.field(eq=False)
    response_type: type[R] = attrs.field(eq=False)
    stream: bool = False
    cacheable: bool = False
    fallback: bool = False
    billed: bool = True
    provider_only: bool = False
    method: str | None = None
    path: str | None = None
    required_field: str | None = None

    @property
    def binary(self) -> bool:
        """Whether the answer is raw bytes (``speech``, ``file_content``)."""
        return self.response_type is bytes

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


_M = "POST"

CHAT: Operation[t.ChatCompletionRequest, t.ChatCompletionResponse] = Operation(
    name="chat",
    endpoint="chat",
    request_type=t.ChatCompletionRequest,
    response_type=t.ChatCompletionResponse,
    cacheable=True,
    fallback=True,
    method=_M,
    path="/chat/completions",
    required_field="choices",
)
CHAT_STREAM: Operation[t.ChatCompletionRequest, t.ChatCompletionResponse] = Operation(
    name="chat_stream",
    endpoint="chat",
    request_type=t.ChatCompletionRequest,
    response_type=t.ChatCompletionResponse,
    stream=True,
    fallback=True,  # only before its first chunk
    method=_M,
    path="/chat/completions",
)
# The rows of the other endpoints name their types (liter_llm._endpoint_types, built on first use) by
# their name in liter_llm.types: each row is built the first time it is asked for, by its constant
# (``operations.EMBED``), by ``OPERATIONS`` or by :func:`operation_named`, and is the same object ever
# after.  Built any earlier, a chat-only process would build every type of every endpoint.
#: ``module:Name`` names a type of another module (``liter_llm.tokens``, not imported by a chat either).
_LAZY_ROWS: dict[str, dict[str, Any]] = {
    "COUNT_TOKENS": {
        "name": "count_tokens",
        "endpoint": "count_tokens",
        "request_type": "ChatCompletionRequest",
        "response_type": "liter_llm.tokens:TokenCount",
        "billed": False,  # the providers' counting endpoints are free
        "provider_only": True,
    },
    "EMBED": {
        "name": "embed",
        "endpoint": "embed",
        "request_type": "EmbeddingRequest",
        "response_type": "EmbeddingResponse",
        "cacheable": True,
        "fallback": True,
        "method": _M,
        "path": "/embeddings",
        "required_field": "data",
    },
    "LIST_MODELS": {
        "name": "list_models",
        "endpoint": "models",
        "request_type": None,
        "response_type": "ModelsListResponse",
        "billed": False,
        "method": "GET",
        "path": "/models",
        "required_field": "data",
    },
    "IMAGE_GENERATE": {
        "name": "image_generate",
        "endpoint": "image",
        "request_type": "CreateImageRequest",
        "response_type": "ImagesResponse",
        "method": _M,
        "path": "/images/generations",
        "required_field": "data",
    },
    "SPEECH": {
        "name": "speech",
        "endpoint": "speech",
        "request_type": "CreateSpeechRequest",
        "response_type": bytes,
        "method": _M,
        "path": "/audio/speech",
    },
    "TRANSCRIBE": {
        "name": "transcribe",
        "endpoint": "transcribe",
        "request_type": "CreateTranscriptionRequest",
        "response_type": "TranscriptionResponse",
        "method": _M,
        "path": "/audio/transcriptions",
        "required_field": "text",
    },
    "MODERATE": {
        "name": "moderate",
        "endpoint": "moderate",
        "request_type": "ModerationRequest",
        "response_type": "ModerationResponse",
        "method": _M,
        "path": "/moderations",
        "required_field": "results",
    },
    "RERANK": {
        "name": "rerank",
        "endpoint": "rerank",
        "request_type": "RerankRequest",
        "response_type": "RerankResponse",
        "method": _M,
        "path": "/rerank",
        "required_field": "results",
    },
    "SEARCH": {
        "name": "search",
        "endpoint": "search",
        "request_type": "SearchRequest",
        "response_type": "SearchResponse",
        "method": _M,
        "path": "/search",
        "required_field": "results",
    },
    "OCR": {
        "name": "ocr",
        "endpoint": "ocr",
        "request_type": "OcrRequest",
        "response_type": "OcrResponse",
        "method": _M,
        "path": "/ocr",
        "required_field": "pages",
    },
    "CREATE_FILE": {
        "name": "create_file",
        "endpoint": "files",
        "request_type": "CreateFileRequest",
        "response_type": "FileObject",
        "billed": False,
        "method": _M,
        "path": "/files",
        "required_field": "id",
    },
    "RETRIEVE_FILE": {
        "name": "retrieve_file",
        "endpoint": "files",
        "request_type": None,
        "response_type": "FileObject",
        "billed": False,
        "method": "GET",
        "path": "/files/{file_id}",
        "required_field": "id",
    },
    "DELETE_FILE": {
        "name": "delete_file",
        "endpoint": "files",
        "request_type": None,
        "response_type": "DeleteResponse",
        "billed": False,
        "method": "DELETE",
        "path": "/files/{file_id}",
        "required_field": "id",
    },
    "LIST_FILES": {
        "name": "list_files",
        "endpoint": "files",
        "request_type": "FileListQuery",
        "response_type": "FileListResponse",
        "billed": False,
        "method": "GET",
        "path": "/files",
        "required_field": "data",
    },
    "FILE_CONTENT": {
        "name": "file_content",
        "endpoint": "files",
        "request_type": None,
        "response_type": bytes,
        "billed": False,
        "method": "GET",
        "path": "/files/{file_id}/content",
    },
    "CREATE_BATCH": {
        "name": "create_batch",
        "endpoint": "batches",
        "request_type": "CreateBatchRequest",
        "response_type": "Batch",
        "billed": False,  # its requests are billed as they run, not the batch's creation
        "method": _M,
        "path": "/batches",
        "required_field": "id",
    },
    "RETRIEVE_BATCH": {
        "name": "retrieve_batch",
        "endpoint": "batches",
        "request_type": None,
        "response_type": "Batch",
        "billed": False,
        "method": "GET",
        "path": "/batches/{batch_id}",
        "required_field": "id",
    },
    "LIST_BATCHES": {
        "name": "list_batches",
        "endpoint": "batches",
        "request_type": "BatchListQuery",
        "response_type": "BatchListResponse",
        "billed": False,
        "method": "GET",
        "path": "/batches",
        "required_field": "data",
    },
    "CANCEL_BATCH": {
        "name": "cancel_batch",
        "endpoint": "batches",
        "request_type": None,
        "response_type": "Batch",
        "billed": False,
        "method": _M,
        "path": "/batches/{batch_id}/cancel",
        "required_field": "id",
    },
    "CREATE_RESPONSE": {
        "name": "create_response",
        "endpoint": "responses",
        "request_type": "CreateResponseRequest",
        "response_type": "ResponseObject",
        "method": _M,
        "path": "/responses",
        "required_field": "id",
    },
    "CREATE_RESPONSE_STREAM": {
        "name": "create_response_stream",
        "endpoint": "responses",
        "request_type": "CreateResponseRequest",
        "response_type": "ResponseObject",
        "stream": True,  # the Responses API's SSE events; the final response object at its end
        "method": _M,
        "path": "/responses",
    },
    "RETRIEVE_RESPONSE": {
        "name": "retrieve_response",
        "endpoint": "responses",
        "request_type": None,
        "response_type": "ResponseObject",
        "billed": False,
        "method": "GET",
        "path": "/responses/{response_id}",
        "required_field": "id",
    },
    "CANCEL_RESPONSE": {
        "name": "cancel_response",
        "endpoint": "responses",
        "request_type": None,
        "response_type": "ResponseObject",
        "billed": False,
        "method": _M,
        "path": "/responses/{response_id}/cancel",
        "required_field": "id",
    },
}

if TYPE_CHECKING:
    COUNT_TOKENS: Operation[t.ChatCompletionRequest, TokenCount]
    EMBED: Operation[t.EmbeddingRequest, t.EmbeddingResponse]
    LIST_MODELS: Operation[None, t.ModelsListResponse]
    IMAGE_GENERATE: Operation[t.CreateImageRequest, t.ImagesResponse]
    SPEECH: Operation[t.CreateSpeechRequest, bytes]
    TRANSCRIBE: Operation[t.CreateTranscriptionRequest, t.TranscriptionResponse]
    MODERATE: Operation[t.ModerationRequest, t.ModerationResponse]
    RERANK: Operation[t.RerankRequest, t.RerankResponse]
    SEARCH: Operation[t.SearchRequest, t.SearchResponse]
    OCR: Operation[t.OcrRequest, t.OcrResponse]
    CREATE_FILE: Operation[t.CreateFileRequest, t.FileObject]
    RETRIEVE_FILE: Operation[None, t.FileObject]
    DELETE_FILE: Operation[None, t.DeleteResponse]
    LIST_FILES: Operation[t.FileListQuery, t.FileListResponse]
    FILE_CONTENT: Operation[None, bytes]
    CREATE_BATCH: Operation[t.CreateBatchRequest, t.Batch]
    RETRIEVE_BATCH: Operation[None, t.Batch]
    LIST_BATCHES: Operation[t.BatchListQuery, t.BatchListResponse]
    CANCEL_BATCH: Operation[None, t.Batch]
    CREATE_RESPONSE: Operation[t.CreateResponseRequest, t.ResponseObject]
    CREATE_RESPONSE_STREAM: Operation[t.CreateResponseRequest, t.ResponseObject]
    RETRIEVE_RESPONSE: Operation[None, t.ResponseObject]
    CANCEL_RESPONSE: Operation[None, t.ResponseObject]

#: every operation by name, in the order of the API reference -> its constant (the name in capitals)
_CONSTANTS: dict[str, str] = {
    name: name.upper()
    for name in (
        "chat",
        "chat_stream",
        "embed",
        "list_models",
        "image_generate",
        "speech",
        "transcribe",
        "moderate",
        "rerank",
        "search",
        "ocr",
        "create_file",
        "retrieve_file",
        "delete_file",
        "list_files",
        "file_content",
        "create_batch",
        "retrieve_batch",
        "list_batches",
        "cancel_batch",
        "create_response",
        "create_response_stream",
        "retrieve_response",
        "cancel_response",
        "count_tokens",
    )
}
_building = threading.Lock()
#: the default of each field of a row
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in attrs.fields(Operation) if f.default is not attrs.NOTHING}


def _row(constant: str) -> Operation[Any, Any]:
    """The row of ``constant`` (``"EMBED"``), built the first time (once, whatever the threads)."""
    found = globals().get(constant)
    if found is not None:
        return found  # type: ignore[no-any-return]
    with _building:
        found = globals().get(constant)
        if found is None:
            fields = dict(_LAZY_ROWS[constant])
            for key in ("request_type", "response_type"):
                named = fields.get(key)
                if isinstance(named, str):
                    module, _, name = named.rpartition(":")
                    fields[key] = getattr(import_module(module) if module else t, name)
            found = Operation(**fields)
            globals()[constant] = found
    return found


def field_of(name: str, field: str) -> Any:
    """A scalar field (``endpoint``, ``fallback``...) of the operation ``name``, without building its row.

    For the tables the core derives at import (the endpoint families, the operations that may fall
    back or be cached), so that deriving them does not build the other endpoints' types.
    """
    constant = _CONSTANTS[name]
    row = globals().get(constant)
    if row is not None:
        return getattr(row, field)
    spec = _LAZY_ROWS[constant]
    return spec[field] if field in spec else _DEFAULTS[field]


def __getattr__(name: str) -> Any:
    if name in _LAZY_ROWS:
        return _row(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_ROWS))


class _Operations(Mapping[str, "Operation[Any, Any]"]):
    """:data:`OPERATIONS`: every row by name; a row of another endpoint is built when it is looked up."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Operation[Any, Any]:
        return _row(_CONSTANTS[name])

    def __iter__(self) -> Iterator[str]:
        return iter(_CONSTANTS)

    def __len__(self) -> int:
        return len(_CONSTANTS)

    def __repr__(self) -> str:
        return f"OPERATIONS({', '.join(_CONSTANTS)})"


#: Every operation by name, in the order of the API reference.
OPERATIONS: Mapping[str, Operation[Any, Any]] = _Operations()


def operation_named(operation: Operation[Any, Any] | str) -> Operation[Any, Any]:
    """The row of ``operation`` (a row, returned as it is, or its name).

    Raises:
        BadRequestError: no operation has that name.
    """
    if isinstance(operation, Operation):
        return operation
    found = OPERATIONS.get(operation)
    if found is None:
        from liter_llm.errors import BadRequestError

        raise BadRequestError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")
    return found
