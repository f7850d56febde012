"""The clients: ``DefaultClient`` (sync) and ``AsyncDefaultClient`` (async).

Both are thin facades over one :class:`~liter_llm._pipeline.Pipeline`; every
method takes the typed request, a plain dict, or keyword arguments.  Each
client keeps one pooled httpx client and is a context manager.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
import httpx

from liter_llm import operations as ops
from liter_llm import types as t
from liter_llm._drivers import drive_async, drive_sync
from liter_llm._flow import call_flow
from liter_llm._pipeline import Pipeline
from liter_llm._serde import structure_request
from liter_llm.clock import Clock
from liter_llm.config import ClientConfig, build_config
from liter_llm.errors import BadRequestError
from liter_llm.operations import Operation
from liter_llm.router import RouterView

if TYPE_CHECKING:  # imported by the methods that use them: streams and structured output are not on a chat's path
    from liter_llm.responses_stream import AsyncResponseStream, ResponseStream
    from liter_llm.streaming import AsyncChatStream, ChatStream
    from liter_llm.structured import ParsedChatCompletion, StreamedParse
    from liter_llm.tokens import TokenCount

__all__ = [
    "AsyncDefaultClient",
    "DefaultClient",
    "create_async_client",
    "create_async_client_from_json",
    "create_client",
    "create_client_from_file",
    "create_client_from_json",
]

R = TypeVar("R")
T = TypeVar("T")
Q = TypeVar("Q")

_CLIENT_OPTIONS = frozenset(
    {"hooks", "transport", "disable_plugins", "retry_initial_delay", "http_client", "clock", "rng"}
)


def _plain(value: Any) -> Any:
    """Typed objects inside keyword arguments become plain dicts for strict structuring.

    Containers are copied (a typed request never shares a dict or list with the caller's arguments).
    """
    kind = type(value)
    if kind is str or value is None or kind is int or kind is float or kind is bool:
        return value  # the usual leaves, answered before the attrs check
    if kind is dict:
        # the leaves are kept here rather than in a call each (a message is a dict of strings)
        copied = {}
        for k, v in value.items():
            vk = type(v)
            copied[k] = v if vk is str or v is None or vk is int or vk is float or vk is bool else _plain(v)
        return copied
    if kind is list:
        return [v if type(v) is str else _plain(v) for v in value]
    if attrs.has(kind):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _coerce(cls: type[R], req: Any, kwargs: Mapping[str, Any]) -> R:
    """Accept a typed request, a dict, or keyword arguments; validate strictly."""
    if isinstance(req, cls):
        if kwargs:
            return cast(R, structure_request({**_plain(req), **_plain(dict(kwargs))}, cls))
        return req
    if req is None:  # keyword arguments (the usual call): _plain copies them
        request: R = structure_request(_plain(kwargs if type(kwargs) is dict else dict(kwargs)), cls)
        return request
    if isinstance(req, Mapping):
        return cast(R, structure_request(_plain({**req, **kwargs}), cls))
    raise BadRequestError(f"expected a {cls.__name__}, a dict or keyword arguments, got {type(req).__name__}")


_NO_ARGUMENTS: Mapping[str, Any] = MappingProxyType({})


def _request_of(op: Operation[Q, Any], req: Any, kwargs: Mapping[str, Any]) -> Q:
    """The typed request of a call of ``op``: ``req`` (typed or a dict) with ``kwargs``; ``None`` for an
    operation without a request body (its arguments go in ``params``)."""
    cls = op.request_type
    if cls is None:
        return cast(Q, None)
    return _coerce(cls, req, kwargs)


def _model_of(request: Any) -> str | None:
    """The model a request names (routing), or ``None`` (files, batches: the client's provider)."""
    model: str | None = getattr(request, "model", None)
    return model


def _provider_count_request(
    pipeline: Any, model: str, messages: list[Any] | None, tools: list[Any] | None, exact: bool
) -> t.ChatCompletionRequest | None:
    """The request for the provider's counting endpoint (``exact=True`` and one exists), else ``None``."""
    if not exact or messages is None:
        return None
    spec, _wire = pipeline.route(model, None)
    if not spec.supports("count_tokens"):
        return None
    fields: dict[str, Any] = {"model": model, "messages": messages}
    if tools:
        fields["tools"] = tools
    request: t.ChatCompletionRequest = _coerce(t.ChatCompletionRequest, None, fields)
    return request


class _ClientBase:
    """What the two clients share: the pipeline and request coercion."""

    _pipeline: Pipeline
    #: set by ``close()``/``aclose()``: every later call raises :func:`_closed_error`
    _closed = False

    @property
    def config(self) -> ClientConfig:
        """The client's configuration."""
        return self._pipeline.config

    @property
    def budget(self) -> Any:
        """The budget ledger (when a budget is configured), else ``None``."""
        return self.builtins.get("budget")

    @property
    def router(self) -> RouterView:
        """The model router (``models``): its aliases, in-flight counts and latency estimates, read-only."""
        return RouterView(self._pipeline.router)

    @property
    def builtins(self) -> dict[str, Any]:
        """The built-in plugins of this client by name (``"budget"``, ``"rate_limit"``, ``"cache"``...)."""
        return dict(self._pipeline.builtins)

    def __repr__(self) -> str:
        cfg = self._pipeline.config
        return (
            f"{type(self).__name__}(base_url={cfg.base_url!r}, model_hint={cfg.model_hint!r}, "
            f"api_key={'***' if cfg.api_key else None})"
        )


def _closed_error() -> BadRequestError:
    """The error for a call on a closed client: the caller's mistake, refused before anything is sent."""
    return BadRequestError(
        "the client is closed: create a new client (or make the call inside its `with` block); nothing was sent"
    )


def _client_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    client_opts = {k: options.pop(k) for k in list(options) if k in _CLIENT_OPTIONS}
    return client_opts, options


class DefaultClient(_ClientBase):
    """The synchronous client. Create it with :func:`create_client`.

    Use it as a context manager, or call :meth:`close` when done.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        hooks: Iterable[Any] = (),
        transport: httpx.BaseTransport | None = None,
        disable_plugins: Iterable[str] = (),
        retry_initial_delay: float = 0.5,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        rng: Any = None,
    ) -> None:
        self._pipeline = Pipeline(
            config,
            hooks=hooks,
            disabled_plugins=disable_plugins,
            is_async=False,
            retry_initial_delay=retry_initial_delay,
            clock=clock,
            rng=rng,
        )
        self._http = http_client or _proxy_errors(lambda: _sync_http(config, transport))
        self._own_http = http_client is None
        self._provider_http: dict[str, httpx.Client] = {}

    def _client_for(self, provider: str) -> httpx.Client:
        client = self._provider_http.get(provider)
        if client is not None:
            return client
        spec = self._pipeline._lookup(provider)
        transport = None
        if spec is not None:
            transport = self._pipeline.relay(spec).create_transport(provider=spec, is_async=False)
        client = httpx.Client(transport=transport, timeout=None) if transport is not None else self._http
        self._provider_http[provider] = client
        return client

    def _run(
        self,
        op: Operation[Any, R],
        req: Any = None,
        kwargs: Mapping[str, Any] = _NO_ARGUMENTS,
        *,
        params: dict[str, Any] | None = None,
        provider: str | None = None,
    ) -> R:
        """Run one call of ``op``: its request from ``req`` and ``kwargs``, routed by its model."""
        request = _request_of(op, req, kwargs)
        if self._closed:
            raise _closed_error()
        pipeline = self._pipeline
        flow = call_flow(pipeline, op, request, model=_model_of(request), params=params, provider=provider)
        result: R = drive_sync(flow, self._client_for, pipeline.clock)
        return result

    def _stream(self, req: Any, kwargs: Mapping[str, Any]) -> ChatStream:
        from liter_llm.streaming import open_chat_stream

        request = _request_of(ops.CHAT_STREAM, req, kwargs)
        if self._closed:
            raise _closed_error()
        pipeline = self._pipeline
        call, response = drive_sync(
            call_flow(pipeline, ops.CHAT_STREAM, request, model=request.model), self._client_for, pipeline.clock
        )
        return open_chat_stream(pipeline, call, response)

    # -- chat -----------------------------------------------------------------
    def chat(
        self, req: t.ChatCompletionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ChatCompletionResponse:
        """Send a chat completion request and return the whole answer."""
        return self._run(ops.CHAT, req, kwargs)

    def chat_stream(
        self, req: t.ChatCompletionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> ChatStream:
        """Send a chat request and stream the answer: iterate the returned :class:`ChatStream` for chunks."""
        return self._stream(req, kwargs)

    # -- token counting ---------------------------------------------------------
    def count_tokens(
        self,
        *,
        model: str,
        messages: list[Any] | None = None,
        input: str | list[str] | None = None,
        tools: list[Any] | None = None,
        encoding: Any = None,
        exact: bool = False,
    ) -> TokenCount:
        """Count a prompt's tokens before sending it (see :mod:`liter_llm.tokens`).

        Offline by default.  With ``exact=True`` the chat ``messages`` (and
        ``tools``) are counted by the provider's own counting endpoint when it
        has one (Anthropic ``/v1/messages/count_tokens``, Gemini
        ``:countTokens``): one request, through the client's retries and
        hooks; otherwise offline.  The result says how it was counted
        (``method``) and whether the count is ``exact``.
        """
        from liter_llm.tokens import count_tokens

        if self._closed:
            raise _closed_error()
        request = _provider_count_request(self._pipeline, model, messages, tools, exact)
        if request is not None:
            return self._run(ops.COUNT_TOKENS, request)
        return count_tokens(model, messages, input=input, tools=tools, encoding=encoding)

    # -- structured output ------------------------------------------------------
    def parse(
        self,
        *,
        model: str,
        messages: list[Any],
        output_type: type[T] | Any,
        max_repairs: int = 2,
        **options: Any,
    ) -> ParsedChatCompletion[T]:
        """Ask for an answer of ``output_type`` and return it validated (see docs/structured-output.md).

        The request carries the JSON Schema of ``output_type`` in the
        provider's strongest form; an invalid answer gets a repair turn naming
        the validation errors, up to ``max_repairs`` times.  ``options`` are
        the other chat fields (``temperature``, ``max_tokens``...).

        Raises:
            StructuredOutputError: no valid answer after ``max_repairs`` repairs (carries every attempt).
            StructuredOutputRefusalError: the model refused (no repair is tried).
        """
        from liter_llm._parse import ParseSession

        session = ParseSession(self._pipeline, model, messages, output_type, max_repairs, options)
        while True:
            result = session.evaluate(self.chat(**session.request()))
            if result is not None:
                return cast("ParsedChatCompletion[T]", result)

    def parse_stream(
        self,
        *,
        model: str,
        messages: list[Any],
        output_type: type[T] | Any,
        max_repairs: int = 2,
        **options: Any,
    ) -> Iterator[StreamedParse[T]]:
        """Like :meth:`parse`, streamed: :class:`~liter_llm.structured.StreamedParse` items as the JSON arrives.

        Each item's ``partial`` is the JSON value received so far; the last
        item has ``done=True`` and ``parsed``, the validated instance.  A
        repair streams again (``attempt`` counts up).  Raises as :meth:`parse`.
        """
        from liter_llm._parse import ParseSession

        session = ParseSession(self._pipeline, model, messages, output_type, max_repairs, options)
        return self._parse_stream(session)

    def _parse_stream(self, session: Any) -> Iterator[StreamedParse[T]]:
        from liter_llm.structured import StreamedParse, parse_partial_json

        attempt = 0
        while True:
            text = ""
            last: Any = None
            with self.chat_stream(**session.request()) as stream:
                for chunk in stream:
                    piece = session.stream_text(chunk)
                    if not piece:
                        continue
                    text += piece
                    partial = session.spec.unwrap_partial(parse_partial_json(text))
                    if partial is not None and partial != last:
                        last = partial
                        yield StreamedParse(partial=partial, attempt=attempt)
                response = stream.response()
            result = session.evaluate(response)
            if result is not None:
                yield StreamedParse(partial=last, attempt=attempt, parsed=result.parsed, done=True)
                return
            attempt += 1

    # -- other endpoints ------------------------------------------------------
    def embed(self, req: t.EmbeddingRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> t.EmbeddingResponse:
        """Create embeddings (base64 answers are decoded to floats)."""
        return self._run(ops.EMBED, req, kwargs)

    def list_models(self, *, provider: str | None = None) -> t.ModelsListResponse:
        """List the models of the client's provider (or of ``provider``)."""
        return self._run(ops.LIST_MODELS, provider=provider)

    def image_generate(
        self, req: t.CreateImageRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ImagesResponse:
        """Generate images from a prompt."""
        return self._run(ops.IMAGE_GENERATE, req, kwargs)

    def speech(self, req: t.CreateSpeechRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> bytes:
        """Generate speech; returns the audio bytes."""
        return self._run(ops.SPEECH, req, kwargs)

    def transcribe(
        self, req: t.CreateTranscriptionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.TranscriptionResponse:
        """Transcribe audio (uploaded as multipart form data)."""
        return self._run(ops.TRANSCRIBE, req, kwargs)

    def moderate(
        self, req: t.ModerationRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ModerationResponse:
        """Classify content against the provider's policies."""
        return self._run(ops.MODERATE, req, kwargs)

    def rerank(self, req: t.RerankRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> t.RerankResponse:
        """Rerank documents by relevance to a query."""
        return self._run(ops.RERANK, req, kwargs)

    def search(self, req: t.SearchRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> t.SearchResponse:
        """Run a web search through a search provider."""
        return self._run(ops.SEARCH, req, kwargs)

    def ocr(self, req: t.OcrRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> t.OcrResponse:
        """Extract text (as Markdown) from a document."""
        return self._run(ops.OCR, req, kwargs)

    # -- files ------------------------------------------------------------------
    def create_file(
        self,
        req: t.CreateFileRequest | Mapping[str, Any] | None = None,
        /,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> t.FileObject:
        """Upload a file (multipart)."""
        return self._run(ops.CREATE_FILE, req, kwargs, provider=provider)

    def retrieve_file(self, file_id: str, *, provider: str | None = None) -> t.FileObject:
        """Fetch a file's metadata."""
        return self._run(ops.RETRIEVE_FILE, params={"file_id": file_id}, provider=provider)

    def delete_file(self, file_id: str, *, provider: str | None = None) -> t.DeleteResponse:
        """Delete a file."""
        return self._run(ops.DELETE_FILE, params={"file_id": file_id}, provider=provider)

    def list_files(
        self, query: t.FileListQuery | Mapping[str, Any] | None = None, /, *, provider: str | None = None, **kwargs: Any
    ) -> t.FileListResponse:
        """List files (``purpose``, ``limit``, ``after``, ``order``)."""
        return self._run(ops.LIST_FILES, query, kwargs, provider=provider)

    def file_content(self, file_id: str, *, provider: str | None = None) -> bytes:
        """Download a file's content as bytes."""
        return self._run(ops.FILE_CONTENT, params={"file_id": file_id}, provider=provider)

    # -- batches ----------------------------------------------------------------
    def create_batch(
        self,
        req: t.CreateBatchRequest | Mapping[str, Any] | None = None,
        /,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> t.Batch:
        """Create a batch."""
        return self._run(ops.CREATE_BATCH, req, kwargs, provider=provider)

    def retrieve_batch(self, batch_id: str, *, provider: str | None = None) -> t.Batch:
        """Fetch a batch."""
        return self._run(ops.RETRIEVE_BATCH, params={"batch_id": batch_id}, provider=provider)

    def list_batches(
        self,
        query: t.BatchListQuery | Mapping[str, Any] | None = None,
        /,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> t.BatchListResponse:
        """List batches (``limit``, ``after``)."""
        return self._run(ops.LIST_BATCHES, query, kwargs, provider=provider)

    def cancel_batch(self, batch_id: str, *, provider: str | None = None) -> t.Batch:
        """Cancel a batch."""
        return self._run(ops.CANCEL_BATCH, params={"batch_id": batch_id}, provider=provider)

    # -- responses ----------------------------------------------------------------
    def create_response(
        self, req: t.CreateResponseRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ResponseObject:
        """Create a model response (the Responses API)."""
        return self._run(ops.CREATE_RESPONSE, req, kwargs)

    def create_response_stream(
        self, req: t.CreateResponseRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> ResponseStream:
        """Create a model response and stream its events: iterate the returned :class:`ResponseStream`."""
        from liter_llm.responses_stream import ResponseStream  # not on a chat's path

        request = _coerce(t.CreateResponseRequest, req, kwargs)
        if self._closed:
            raise _closed_error()
        pipeline = self._pipeline
        flow = call_flow(pipeline, ops.CREATE_RESPONSE_STREAM, request, model=request.model)
        call, response = drive_sync(flow, self._client_for, pipeline.clock)
        return ResponseStream(pipeline, call, response)

    def retrieve_response(self, id: str, *, provider: str | None = None) -> t.ResponseObject:
        """Fetch a stored response."""
        return self._run(ops.RETRIEVE_RESPONSE, params={"response_id": id}, provider=provider)

    def cancel_response(self, id: str, *, provider: str | None = None) -> t.ResponseObject:
        """Cancel a background response."""
        return self._run(ops.CANCEL_RESPONSE, params={"response_id": id}, provider=provider)

    # -- lifecycle ----------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pools; a call after this raises ``BadRequestError`` ("the client is closed")."""
        self._closed = True
        for client in self._provider_http.values():
            if client is not self._http:
                client.close()
        if self._own_http:
            self._http.close()

    def __enter__(self) -> DefaultClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncDefaultClient(_ClientBase):
    """The asynchronous client: the same methods as :class:`DefaultClient`, as coroutines.

    Create it with :func:`create_async_client`; use ``async with`` or ``await client.aclose()``.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        hooks: Iterable[Any] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        disable_plugins: Iterable[str] = (),
        retry_initial_delay: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        rng: Any = None,
    ) -> None:
        self._pipeline = Pipeline(
            config,
            hooks=hooks,
            disabled_plugins=disable_plugins,
            is_async=True,
            retry_initial_delay=retry_initial_delay,
            clock=clock,
            rng=rng,
        )
        direct: list[Any] = []
        self._http = http_client or _proxy_errors(lambda: _async_http(config, transport, direct))
        self._own_http = http_client is None
        self._provider_http: dict[str, Any] = {}
        # the default transport takes the client's sends itself (no redirects, cookies or event hooks to run)
        self._sender: Any = direct[0] if direct else self._http

    def _client_for(self, provider: str) -> Any:
        client = self._provider_http.get(provider)
        if client is not None:
            return client
        spec = self._pipeline._lookup(provider)
        transport = None
        if spec is not None:
            transport = self._pipeline.relay(spec).create_transport(provider=spec, is_async=True)
        client = httpx.AsyncClient(transport=transport, timeout=None) if transport is not None else self._sender
        self._provider_http[provider] = client
        return client

    async def _run(
        self,
        op: Operation[Any, R],
        req: Any = None,
        kwargs: Mapping[str, Any] = _NO_ARGUMENTS,
        *,
        params: dict[str, Any] | None = None,
        provider: str | None = None,
    ) -> R:
        """Run one call of ``op`` (as :meth:`DefaultClient._run`)."""
        request = _request_of(op, req, kwargs)
        if self._closed:
            raise _closed_error()
        pipeline = self._pipeline
        flow = call_flow(pipeline, op, request, model=_model_of(request), params=params, provider=provider)
        try:
            result: R = await drive_async(flow, self._client_for, pipeline.clock)
        except BaseException:
            flow.close()  # a cancelled call ends its wrappers (and the router's count) now, not when collected
            raise
        return result  # the flow has ended (closing it again would cost a GeneratorExit per call on Python 3.11)

    async def _stream(self, req: Any, kwargs: Mapping[str, Any]) -> AsyncChatStream:
        from liter_llm.streaming import open_async_chat_stream

        request = _request_of(ops.CHAT_STREAM, req, kwargs)
        if self._closed:
            raise _closed_error()
        pipeline = self._pipeline
        flow = call_flow(pipeline, ops.CHAT_STREAM, request, model=request.model)
        try:
            call, response = await drive_async(flow, self._client_for, pipeline.clock)
        finally:
            flow.close()  # as in _run: a cancelled opening ends its wrappers at once
        return await open_async_chat_stream(pipeline, call, response)

    async def chat(
        self, req: t.ChatCompletionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ChatCompletionResponse:
        """Send a chat completion request and return the whole answer."""
        return await self._run(ops.CHAT, req, kwargs)

    async def chat_stream(
        self, req: t.ChatCompletionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> AsyncChatStream:
        """Send a chat request and stream the answer: ``async for`` the returned stream."""
        return await self._stream(req, kwargs)

    # -- token counting ---------------------------------------------------------
    async def count_tokens(
        self,
        *,
        model: str,
        messages: list[Any] | None = None,
        input: str | list[str] | None = None,
        tools: list[Any] | None = None,
        encoding: Any = None,
        exact: bool = False,
    ) -> TokenCount:
        """Count a prompt's tokens before sending it (see :mod:`liter_llm.tokens`).

        Offline by default.  With ``exact=True`` the chat ``messages`` (and
        ``tools``) are counted by the provider's own counting endpoint when it
        has one (Anthropic ``/v1/messages/count_tokens``, Gemini
        ``:countTokens``): one request, through the client's retries and
        hooks; otherwise offline.  The result says how it was counted
        (``method``) and whether the count is ``exact``.
        """
        from liter_llm.tokens import count_tokens

        if self._closed:
            raise _closed_error()
        request = _provider_count_request(self._pipeline, model, messages, tools, exact)
        if request is not None:
            return await self._run(ops.COUNT_TOKENS, request)
        return count_tokens(model, messages, input=input, tools=tools, encoding=encoding)

    # -- structured output ------------------------------------------------------
    async def parse(
        self,
        *,
        model: str,
        messages: list[Any],
        output_type: type[T] | Any,
        max_repairs: int = 2,
        **options: Any,
    ) -> ParsedChatCompletion[T]:
        """Ask for an answer of ``output_type`` and return it validated (see docs/structured-output.md).

        The request carries the JSON Schema of ``output_type`` in the
        provider's strongest form; an invalid answer gets a repair turn naming
        the validation errors, up to ``max_repairs`` times.  ``options`` are
        the other chat fields (``temperature``, ``max_tokens``...).

        Raises:
            StructuredOutputError: no valid answer after ``max_repairs`` repairs (carries every attempt).
            StructuredOutputRefusalError: the model refused (no repair is tried).
        """
        from liter_llm._parse import ParseSession

        session = ParseSession(self._pipeline, model, messages, output_type, max_repairs, options)
        while True:
            result = session.evaluate(await self.chat(**session.request()))
            if result is not None:
                return cast("ParsedChatCompletion[T]", result)

    async def parse_stream(
        self,
        *,
        model: str,
        messages: list[Any],
        output_type: type[T] | Any,
        max_repairs: int = 2,
        **options: Any,
    ) -> AsyncIterator[StreamedParse[T]]:
        """Like :meth:`parse`, streamed: ``async for item in await client.parse_stream(...)``.

        The items are :class:`~liter_llm.structured.StreamedParse`.  Each
        item's ``partial`` is the JSON value received so far; the last item has
        ``done=True`` and ``parsed``, the validated instance.  A
        repair streams again (``attempt`` counts up).  Raises as :meth:`parse`.
        """
        from liter_llm._parse import ParseSession

        session = ParseSession(self._pipeline, model, messages, output_type, max_repairs, options)
        return self._parse_stream(session)

    async def _parse_stream(self, session: Any) -> AsyncIterator[StreamedParse[T]]:
        from liter_llm.structured import StreamedParse, parse_partial_json

        attempt = 0
        while True:
            text = ""
            last: Any = None
            async with await self.chat_stream(**session.request()) as stream:
                async for chunk in stream:
                    piece = session.stream_text(chunk)
                    if not piece:
                        continue
                    text += piece
                    partial = session.spec.unwrap_partial(parse_partial_json(text))
                    if partial is not None and partial != last:
                        last = partial
                        yield StreamedParse(partial=partial, attempt=attempt)
                response = await stream.response()
            result = session.evaluate(response)
            if result is not None:
                yield StreamedParse(partial=last, attempt=attempt, parsed=result.parsed, done=True)
                return
            attempt += 1

    async def embed(
        self, req: t.EmbeddingRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.EmbeddingResponse:
        """Create embeddings (base64 answers are decoded to floats)."""
        return await self._run(ops.EMBED, req, kwargs)

    async def list_models(self, *, provider: str | None = None) -> t.ModelsListResponse:
        """List the models of the client's provider (or of ``provider``)."""
        return await self._run(ops.LIST_MODELS, provider=provider)

    async def image_generate(
        self, req: t.CreateImageRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ImagesResponse:
        """Generate images from a prompt."""
        return await self._run(ops.IMAGE_GENERATE, req, kwargs)

    async def speech(self, req: t.CreateSpeechRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> bytes:
        """Generate speech; returns the audio bytes."""
        return await self._run(ops.SPEECH, req, kwargs)

    async def transcribe(
        self, req: t.CreateTranscriptionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.TranscriptionResponse:
        """Transcribe audio (uploaded as multipart form data)."""
        return await self._run(ops.TRANSCRIBE, req, kwargs)

    async def moderate(
        self, req: t.ModerationRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ModerationResponse:
        """Classify content against the provider's policies."""
        return await self._run(ops.MODERATE, req, kwargs)

    async def rerank(
        self, req: t.RerankRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.RerankResponse:
        """Rerank documents by relevance to a query."""
        return await self._run(ops.RERANK, req, kwargs)

    async def search(
        self, req: t.SearchRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.SearchResponse:
        """Run a web search through a search provider."""
        return await self._run(ops.SEARCH, req, kwargs)

    async def ocr(self, req: t.OcrRequest | Mapping[str, Any] | None = None, /, **kwargs: Any) -> t.OcrResponse:
        """Extract text (as Markdown) from a document."""
        return await self._run(ops.OCR, req, kwargs)

    async def create_file(
        self,
        req: t.CreateFileRequest | Mapping[str, Any] | None = None,
        /,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> t.FileObject:
        """Upload a file (multipart)."""
        return await self._run(ops.CREATE_FILE, req, kwargs, provider=provider)

    async def retrieve_file(self, file_id: str, *, provider: str | None = None) -> t.FileObject:
        """Fetch a file's metadata."""
        return await self._run(ops.RETRIEVE_FILE, params={"file_id": file_id}, provider=provider)

    async def delete_file(self, file_id: str, *, provider: str | None = None) -> t.DeleteResponse:
        """Delete a file."""
        return await self._run(ops.DELETE_FILE, params={"file_id": file_id}, provider=provider)

    async def list_files(
        self, query: t.FileListQuery | Mapping[str, Any] | None = None, /, *, provider: str | None = None, **kwargs: Any
    ) -> t.FileListResponse:
        """List files (``purpose``, ``limit``, ``after``, ``order``)."""
        return await self._run(ops.LIST_FILES, query, kwargs, provider=provider)

    async def file_content(self, file_id: str, *, provider: str | None = None) -> bytes:
        """Download a file's content as bytes."""
        return await self._run(ops.FILE_CONTENT, params={"file_id": file_id}, provider=provider)

    async def create_batch(
        self,
        req: t.CreateBatchRequest | Mapping[str, Any] | None = None,
        /,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> t.Batch:
        """Create a batch."""
        return await self._run(ops.CREATE_BATCH, req, kwargs, provider=provider)

    async def retrieve_batch(self, batch_id: str, *, provider: str | None = None) -> t.Batch:
        """Fetch a batch."""
        return await self._run(ops.RETRIEVE_BATCH, params={"batch_id": batch_id}, provider=provider)

    async def list_batches(
        self,
        query: t.BatchListQuery | Mapping[str, Any] | None = None,
        /,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> t.BatchListResponse:
        """List batches (``limit``, ``after``)."""
        return await self._run(ops.LIST_BATCHES, query, kwargs, provider=provider)

    async def cancel_batch(self, batch_id: str, *, provider: str | None = None) -> t.Batch:
        """Cancel a batch."""
        return await self._run(ops.CANCEL_BATCH, params={"batch_id": batch_id}, provider=provider)

    async def create_response(
        self, req: t.CreateResponseRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> t.ResponseObject:
        """Create a model response (the Responses API)."""
        return await self._run(ops.CREATE_RESPONSE, req, kwargs)

    async def create_response_stream(
        self, req: t.CreateResponseRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> AsyncResponseStream:
        """Create a model response and stream its events: ``async for`` the returned stream."""
        from liter_llm.responses_stream import AsyncResponseStream  # not on a chat's path

        request = _coerce(t.CreateResponseRequest, req, kwargs)
        if self._closed:
            raise _closed_error()
        pipeline = self._pipeline
        flow = call_flow(pipeline, ops.CREATE_RESPONSE_STREAM, request, model=request.model)
        try:
            call, response = await drive_async(flow, self._client_for, pipeline.clock)
        finally:
            flow.close()  # as in chat_stream: a cancelled opening ends its wrappers at once
        return AsyncResponseStream(pipeline, call, response)

    async def retrieve_response(self, id: str, *, provider: str | None = None) -> t.ResponseObject:
        """Fetch a stored response."""
        return await self._run(ops.RETRIEVE_RESPONSE, params={"response_id": id}, provider=provider)

    async def cancel_response(self, id: str, *, provider: str | None = None) -> t.ResponseObject:
        """Cancel a background response."""
        return await self._run(ops.CANCEL_RESPONSE, params={"response_id": id}, provider=provider)

    async def aclose(self) -> None:
        """Close the connection pools; a call after this raises ``BadRequestError`` ("the client is closed")."""
        self._closed = True
        for client in self._provider_http.values():
            if client is not self._http:
                await client.aclose()
        if self._own_http:
            await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncDefaultClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _proxy_errors(build: Callable[[], R]) -> R:
    """Build an httpx client; a proxy URL httpx refuses (from ``proxy`` or the environment) is a BadRequestError."""
    try:
        return build()
    except (ValueError, TypeError, httpx.InvalidURL) as exc:
        from liter_llm.config import redact_url

        text = str(exc)
        for url in (os.environ.get(name) for name in _PROXY_VARIABLES):
            if url:
                text = text.replace(url, redact_url(url) or "")
        raise BadRequestError(f"proxy: the proxy cannot be used ({type(exc).__name__}: {text})") from None


_PROXY_VARIABLES = tuple(name for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY") for name in (base, base.lower()))


def _sync_http(config: ClientConfig, transport: httpx.BaseTransport | None) -> httpx.Client:
    """The sync client's httpx client: the deadline-bounded transport, and the proxies of ``config`` or the environment.

    A transport given by the caller is used as it is (no proxy; its deadline
    guarantees are in docs/architecture.md, "Deadlines").
    """
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    if transport is not None:
        return httpx.Client(
            transport=transport, timeout=None, follow_redirects=False, limits=limits, trust_env=config.trust_env
        )
    from liter_llm._pool_transport import DeadlineTransport, sync_mounts

    mounts = sync_mounts(config.proxy, trust_env=config.trust_env, limits=limits)
    return httpx.Client(
        transport=DeadlineTransport(limits, trust_env=config.trust_env),
        mounts=mounts or None,
        timeout=None,
        follow_redirects=False,
        limits=limits,
        trust_env=config.trust_env,
    )


def _async_http(
    config: ClientConfig, transport: httpx.AsyncBaseTransport | None, direct: list[Any] | None = None
) -> httpx.AsyncClient:
    """The async client's httpx client: our HTTP/1.1 transport, and the proxies of ``config`` or the environment.

    A transport given by the caller is used as it is (no proxy), as httpx does
    on the sync side for the environment's proxies.  Proxies get their own
    transports (:func:`liter_llm._transport.proxy_mounts`: aiohttp's pool for
    HTTP(S) proxies, imported only then).  When every request goes to the
    default transport (no proxy mounts), it is appended to ``direct``: the
    client then sends through it without ``httpx.AsyncClient.send``.
    """
    if transport is not None:
        return httpx.AsyncClient(transport=transport, timeout=None, follow_redirects=False, trust_env=config.trust_env)
    from liter_llm._proxies import proxy_map  # no HTTP stack: a client without a proxy imports no httpcore

    default = _default_async_transport(config.trust_env)
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    if proxy_map(config.proxy, trust_env=config.trust_env):
        try:
            from liter_llm._transport import proxy_mounts
        except ImportError:  # no aiohttp: httpcore's pool carries every proxy
            from liter_llm._pool_transport import async_mounts

            mounts = async_mounts(config.proxy, trust_env=config.trust_env)
        else:
            mounts = proxy_mounts(config.proxy, trust_env=config.trust_env)
    if not mounts and direct is not None:
        direct.append(default)
    return httpx.AsyncClient(
        transport=default,
        mounts=mounts or None,
        timeout=None,
        follow_redirects=False,
        trust_env=config.trust_env,
    )


def _default_async_transport(trust_env: bool = True) -> httpx.AsyncBaseTransport:
    """The async client's transport for direct connections: our asyncio HTTP/1.1 client behind the httpx API.

    :class:`~liter_llm._h1.H1Transport` costs less CPU per request than
    aiohttp's pool and httpx's own (the measurements are in
    docs/performance.md), and serves trio through
    :class:`~liter_llm._pool_transport.AsyncDeadlineTransport`.
    """
    from liter_llm._h1 import H1Transport

    return H1Transport(trust_env=trust_env)


def create_client(
    api_key: str | None = None,
    base_url: str | None = None,
    timeout_secs: float | None = None,
    max_retries: int | None = None,
    model_hint: str | None = None,
    **options: Any,
) -> DefaultClient:
    """Create a synchronous client.

    Args:
        api_key: the key for the client's provider; when empty, each
            provider's own environment variable (``ANTHROPIC_API_KEY``...) is used.
        base_url: with ``model_hint``, that provider's API at another address;
            without, one OpenAI-compatible gateway that receives every call.
        timeout_secs: the limit for a whole call (default 60).
        max_retries: retries after the first attempt (default 2).
        model_hint: the provider for models without a prefix.
        **options: any configuration field (``cache``, ``budget``,
            ``rate_limit``, ``extra_headers``, ``cost_tracking``, ``fallbacks``,
            ``proxy`` (every request through this proxy), ``trust_env``
            (read ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY``, default true)...)
            and the client options ``hooks`` (objects with ``@hookimpl``
            methods), ``transport`` (an ``httpx.BaseTransport``),
            ``disable_plugins`` (names of plugins to leave out), ``clock`` (a
            :class:`liter_llm.clock.Clock` to wait with, e.g. a
            :class:`~liter_llm.clock.ManualClock` in tests), ``rng`` (a
            ``random.Random`` for the router's ``weighted`` choices), and
            ``models`` (router aliases, see docs/routing.md).

    Raises:
        BadRequestError: an invalid option or an unknown ``model_hint``.
    """
    client_opts, fields = _client_options(dict(options))
    config = build_config(api_key, base_url, timeout_secs, max_retries, model_hint, **fields)
    return DefaultClient(config, **client_opts)


def create_async_client(
    api_key: str | None = None,
    base_url: str | None = None,
    timeout_secs: float | None = None,
    max_retries: int | None = None,
    model_hint: str | None = None,
    **options: Any,
) -> AsyncDefaultClient:
    """Create an asynchronous client; the arguments are those of :func:`create_client`."""
    client_opts, fields = _client_options(dict(options))
    config = build_config(api_key, base_url, timeout_secs, max_retries, model_hint, **fields)
    return AsyncDefaultClient(config, **client_opts)


def create_client_from_json(json: str | bytes, **options: Any) -> DefaultClient:
    """Create a synchronous client from a JSON object with the fields of ``liter-llm.toml``.

    Raises:
        BadRequestError: invalid JSON, an unknown field or a wrong type, naming the field.
    """
    from liter_llm.config import load_config_json

    client_opts, fields = _client_options(dict(options))
    config = build_config(config=load_config_json(json), **fields)
    return DefaultClient(config, **client_opts)


def create_async_client_from_json(json: str | bytes, **options: Any) -> AsyncDefaultClient:
    """Create an asynchronous client from a JSON configuration (see :func:`create_client_from_json`)."""
    from liter_llm.config import load_config_json

    client_opts, fields = _client_options(dict(options))
    config = build_config(config=load_config_json(json), **fields)
    return AsyncDefaultClient(config, **client_opts)


def create_client_from_file(path: str | None = None, **options: Any) -> DefaultClient:
    """Create a synchronous client from ``liter-llm.toml`` (given, at ``LITER_LLM_CONFIG``, or found upwards)."""
    from pathlib import Path

    from liter_llm.config import load_config_file

    client_opts, fields = _client_options(dict(options))
    config = load_config_file(Path(path) if path else None) or ClientConfig()
    return DefaultClient(build_config(config=config, **fields), **client_opts)
