"""The ASGI application (Starlette): OpenAI's HTTP API in front of liter-llm's async client.

Every endpoint reads the request, checks the caller's key, and forwards it to
the matching method of one :class:`liter_llm.AsyncDefaultClient`; answers and
errors go back in OpenAI's shapes.  See docs/proxy.md.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import liter_llm
from liter_llm import types as t
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import ClientConfig
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    InternalError,
    LiterLlmError,
    NotFoundError,
)
from liter_llm.wire import get_logger
from liter_llm_proxy.db import Store
from liter_llm_proxy.errors import PermissionDeniedError, error_body, error_status
from liter_llm_proxy.keys import CURRENT, KeyLimits, KeyRecord, KeyRing, RequestContext, validate_key_fields
from liter_llm_proxy.settings import ProxySettings, load_settings, settings_from_config
from liter_llm_proxy.spend import SpendWriter

__all__ = ["CONFIG_ENV", "Proxy", "ProxyApp", "SSEResponse", "app_from_env", "create_app"]

#: The configuration file the workers of ``liter-llm serve --workers N`` read.
CONFIG_ENV = "LITER_LLM_CONFIG"

_JSON = "application/json"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class _JSONResponse(Response):
    """A JSON answer with its headers made directly (Starlette's ``init_headers`` scans and lowercases them)."""

    media_type = _JSON

    def __init__(self, body: bytes, status_code: int) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    if headers:
        return Response(_dumps(data).encode(), status_code=status, media_type=_JSON, headers=headers)
    return _JSONResponse(_dumps(data).encode(), status)


def _error_response(error: LiterLlmError, request_id: str | None = None) -> Response:
    headers = {"x-request-id": request_id} if request_id else {}
    if error.retry_after is not None:
        headers["retry-after"] = str(max(1, round(error.retry_after)))
    return _json(error_body(error), error_status(error), headers)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return request.headers.get("x-api-key") or request.headers.get("api-key")


_loads = json.JSONDecoder().decode


def _parse_json(raw: bytes) -> Any:
    """``json.loads(raw)``, without its encoding detection for a body it would read as UTF-8 anyway."""
    if raw[:1] == b"{" and raw[1:2] != b"\x00":  # no BOM, not UTF-16 or UTF-32: json.loads decodes UTF-8
        return _loads(raw.decode("utf-8", "surrogatepass"))
    return json.loads(raw)


#: the request types whose unknown fields go to ``extra_body``, and their known fields
_EXTRA_BODY_FIELDS: dict[type[Any], frozenset[str]] = {
    cls: frozenset(field.name for field in attrs.fields(cls))
    for cls in (t.ChatCompletionRequest, t.CreateResponseRequest)
}


def _typed(cls: type[Any], body: Mapping[str, Any]) -> Any:
    """The typed request for an OpenAI body; unknown fields of a chat or Responses request go to ``extra_body``."""
    data = dict(body)
    known = _EXTRA_BODY_FIELDS.get(cls)
    if known is not None:
        extra = {name: data.pop(name) for name in list(data) if name not in known}
        if extra:
            data["extra_body"] = {**(data.get("extra_body") or {}), **extra}
    try:
        return cls.from_dict(data)
    except LiterLlmError:
        raise
    except Exception as exc:  # a converter's own exception: still the caller's bad input
        raise BadRequestError(f"the request body is not a valid {cls.__name__} ({type(exc).__name__})") from None


def _model_of(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model: a model name is required", code="missing_model")
    return model


def _b64_floats(vector: Iterable[float]) -> str:
    values = list(vector)
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


_SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/L16",
}


class Proxy:
    """The proxy's state: the client, the key ring, the store and the spend writer (one per worker)."""

    def __init__(
        self,
        config: ClientConfig,
        settings: ProxySettings,
        *,
        hooks: Iterable[Any] = (),
        transport: Any = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.settings = settings
        self.clock = clock
        self._hooks = list(hooks)
        self._transport = transport
        self.store = Store(settings.database_url)
        self.keys = KeyRing(self.store, settings, config, clock=clock)
        self.spend = SpendWriter(self.store, settings.spend_flush_secs)
        self.client: Any = None
        self._streams: set[asyncio.Task[None]] = set()
        self._cassette: Any = None

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Migrate the schema, set the configured prices, create the client, start the spend writer."""
        await self.store.migrate()
        for model, price in self.settings.model_prices.items():
            liter_llm.set_model_price(
                model,
                input_cost_per_token=price.input_cost_per_token,
                output_cost_per_token=price.output_cost_per_token,
            )
        options: dict[str, Any] = {"hooks": [KeyLimits(), *self._hooks], "clock": self.clock}
        if self._transport is not None:
            options["transport"] = self._transport
        if self.settings.cassette:
            # the proxy's calls to its providers go through the cassette (recorded, or replayed offline)
            from liter_llm_record import cassette

            self._cassette = cassette(self.settings.cassette, self.settings.cassette_mode)
            self._cassette.__enter__()
        self.client = liter_llm.AsyncDefaultClient(self.config, **options)
        self.spend.start()
        if not self.keys.has_master:
            get_logger().warning("proxy_no_master_key", variable=self.settings.master_key_env)

    async def stop(self) -> None:
        """Let streams finish (bounded), settle budgets, write the spend log, close everything."""
        if self._streams:
            await asyncio.wait(list(self._streams), timeout=self.settings.shutdown_grace_secs)
        for budget in self.keys.budgets():
            drain = getattr(budget, "drain", None)
            if drain is not None:
                with contextlib.suppress(Exception):
                    await drain()
        await self.spend.stop()
        if self.client is not None:
            await self.client.aclose()
        if self._cassette is not None:
            self._cassette.__exit__(None, None, None)  # writes the recording
            self._cassette = None
        await self.store.close()

    # -- plumbing -------------------------------------------------------------------------------
    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        limit = self.settings.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BadRequestError(f"the request body is larger than {limit} bytes", code="request_too_large")
        chunks: list[bytes] = []
        size = 0
        receive = request.receive  # the ASGI messages themselves: Request.stream() costs more per request
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BadRequestError(f"the request body is larger than {limit} bytes", code="request_too_large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        raw = await self._body(request)
        try:
            body = _parse_json(raw)
        except (ValueError, RecursionError):
            raise BadRequestError("the request body is not valid JSON", code="invalid_json") from None
        if not isinstance(body, dict):
            raise BadRequestError("the request body must be a JSON object", code="invalid_json")
        return body

    async def _form(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            raise BadRequestError(
                f"the request body is larger than {self.settings.max_body_bytes} bytes", code="request_too_large"
            )
        try:
            return await request.form(max_part_size=self.settings.max_body_bytes)
        except Exception as exc:
            raise BadRequestError(f"the multipart form cannot be read ({type(exc).__name__})") from None

    def endpoint(
        self, name: str, handler: Callable[[Request, RequestContext], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap an API handler: the key check, the request context, errors in OpenAI's shape, the spend row."""

        async def serve(request: Request) -> Response:
            request_id = request.headers.get("x-request-id")
            if not request_id or len(request_id) > 64:
                request_id = os.urandom(16).hex()  # as random as a uuid4's hex, for less work
            context = RequestContext(request_id=request_id, endpoint=name)
            try:
                context.key = await self.keys.authenticate(_token(request))
            except LiterLlmError as exc:
                return _error_response(exc, request_id)
            token = CURRENT.set(context)
            try:
                response = await handler(request, context)
            except LiterLlmError as exc:
                self.spend.add(context.row(error_status(exc), type(exc).__name__))
                return _error_response(exc, request_id)
            except Exception as exc:
                get_logger().error("proxy_internal_error", endpoint=name, error=type(exc).__name__)
                error = InternalError(f"the proxy failed ({type(exc).__name__})")
                self.spend.add(context.row(500, "InternalError"))
                return _error_response(error, request_id)
            finally:
                CURRENT.reset(token)
            # appended, not set: no handler sets it, and MutableHeaders would scan and rebuild the list
            response.raw_headers.append((b"x-request-id", request_id.encode("latin-1")))
            if not isinstance(response, SSEResponse):
                self.spend.add(context.row(response.status_code, None))
            return response

        return serve

    def admin(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """Wrap an admin handler: the master key only."""

        async def serve(request: Request) -> Response:
            try:
                if not self.keys.has_master:
                    raise PermissionDeniedError(
                        f"the admin API is closed: set {self.settings.master_key_env} and restart the proxy",
                        status_code=403,
                    )
                token = _token(request)
                if token is None or not self.keys.is_master(token):
                    if token and await self.keys.lookup(token) is not None:
                        raise PermissionDeniedError("the admin API needs the master key", status_code=403)
                    raise AuthenticationError("the admin API needs the master key", code="invalid_api_key")
                return await handler(request)
            except LiterLlmError as exc:
                return _error_response(exc)

        return serve

    # -- chat ---------------------------------------------------------------------------------
    async def chat(self, request: Request, context: RequestContext) -> Response:
        body = await self._json_body(request)
        model = context.model_requested = _model_of(body)
        KeyRing.check_model(context.key, model)
        stream = bool(body.pop("stream", False))
        if not stream:
            answer = await self.client.chat(_typed(t.ChatCompletionRequest, body))
            return _json(answer.to_dict())
        options = body.get("stream_options")
        wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        # usage is always asked for upstream (the spend log and the budget need it) and shown when asked
        body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        stream_obj = await self.client.chat_stream(_typed(t.ChatCompletionRequest, body))
        return SSEResponse(self, stream_obj, context, show_usage=wants_usage)

    # -- embeddings, models, and the other JSON endpoints ---------------------------------------
    async def embeddings(self, request: Request, context: RequestContext) -> Response:
        body = await self._json_body(request)
        model = context.model_requested = _model_of(body)
        KeyRing.check_model(context.key, model)
        wanted = body.get("encoding_format") or "float"
        if wanted not in ("float", "base64"):
            raise BadRequestError("encoding_format: must be 'float' or 'base64'", code="invalid_value")
        answer = await self.client.embed(_typed(t.EmbeddingRequest, body))
        data = answer.to_dict()
        if wanted == "base64":
            for item, obj in zip(data.get("data", ()), answer.data, strict=False):
                item["embedding"] = _b64_floats(obj.embedding)
        return _json(data)

    async def models(self, request: Request, context: RequestContext) -> Response:
        answer = await self.client.list_models()
        data = answer.to_dict()
        allowed = None if context.key is None else context.key.record.models
        if allowed is not None:
            data["data"] = [item for item in data.get("data", ()) if item.get("id") in allowed]
        return _json(data)

    async def model(self, request: Request, context: RequestContext) -> Response:
        wanted = request.path_params["model"]
        KeyRing.check_model(context.key, wanted)
        answer = await self.client.list_models()
        for item in answer.to_dict().get("data", ()):
            if item.get("id") == wanted:
                return _json(item)
        raise NotFoundError(f"the model {wanted!r} does not exist", code="model_not_found")

    def json_endpoint(
        self, cls: type[Any], method: str, *, needs_model: bool = True
    ) -> Callable[[Request, RequestContext], Awaitable[Response]]:
        """A JSON-in, JSON-out endpoint forwarded to ``client.<method>``."""

        async def handle(request: Request, context: RequestContext) -> Response:
            body = await self._json_body(request)
            if needs_model:
                context.model_requested = _model_of(body)
                KeyRing.check_model(context.key, context.model_requested)
            if body.get("stream"):
                raise BadRequestError(f"stream: streaming is not supported on {request.url.path}", code="invalid_value")
            answer = await getattr(self.client, method)(_typed(cls, body))
            return _json(answer.to_dict())

        return handle

    async def speech(self, request: Request, context: RequestContext) -> Response:
        body = await self._json_body(request)
        context.model_requested = _model_of(body)
        KeyRing.check_model(context.key, context.model_requested)
        audio = await self.client.speech(_typed(t.CreateSpeechRequest, body))
        media = _SPEECH_TYPES.get(str(body.get("response_format") or "mp3"), "application/octet-stream")
        return Response(audio, media_type=media)

    async def transcriptions(self, request: Request, context: RequestContext) -> Response:
        form = await self._form(request)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequestError("file: an audio file is required (multipart/form-data)", code="missing_file")
        fields: dict[str, Any] = {"file": await upload.read(), "filename": upload.filename or "audio.wav"}
        for name in ("model", "language", "prompt", "response_format"):
            value = form.get(name)
            if isinstance(value, str) and value:
                fields[name] = value
        if isinstance(form.get("temperature"), str) and form.get("temperature"):
            try:
                fields["temperature"] = float(form["temperature"])
            except ValueError:
                raise BadRequestError("temperature: must be a number", code="invalid_value") from None
        granularities = [v for v in form.getlist("timestamp_granularities[]") if isinstance(v, str)]
        if granularities:
            fields["timestamp_granularities"] = granularities
        context.model_requested = _model_of(fields)
        KeyRing.check_model(context.key, context.model_requested)
        answer = await self.client.transcribe(t.CreateTranscriptionRequest(**fields))
        if fields.get("response_format") in ("text", "srt", "vtt"):
            return Response(answer.text or "", media_type="text/plain")
        return _json(answer.to_dict())

    # -- files, batches, responses ----------------------------------------------------------------
    async def create_file(self, request: Request, context: RequestContext) -> Response:
        form = await self._form(request)
        upload = form.get("file")
        purpose = form.get("purpose")
        if upload is None or isinstance(upload, str):
            raise BadRequestError("file: a file is required (multipart/form-data)", code="missing_file")
        if not isinstance(purpose, str) or not purpose:
            raise BadRequestError("purpose: required", code="missing_purpose")
        answer = await self.client.create_file(
            file=await upload.read(),
            purpose=purpose,
            filename=upload.filename or "file",
            content_type=upload.content_type,
        )
        if context.key is not None:
            await self.store.claim_objects("file", [answer.id], context.key.record.id)
        return _json(answer.to_dict())

    @staticmethod
    def _query(request: Request, names: Iterable[str]) -> dict[str, Any]:
        query: dict[str, Any] = {}
        for name in names:
            value = request.query_params.get(name)
            if value is None:
                continue
            if name == "limit":
                if not value.isdigit():
                    raise BadRequestError("limit: must be a positive integer", code="invalid_value")
                query[name] = int(value)
            else:
                query[name] = value
        return query

    # -- ownership: a virtual key sees only the files, batches and responses it created ---------------
    async def _check_owner(self, context: RequestContext, kind: str, object_id: str, *, previous: bool = False) -> None:
        """Refuse another key's object (OpenAI's answer for one that does not exist) before anything is sent.

        ``previous``: the object is a Responses request's ``previous_response_id`` (a 400, as OpenAI answers
        for an unknown one), not the path's object (a 404).
        """
        if context.key is None:  # the master key sees everything
            return
        if await self.store.object_owner(kind, object_id) != context.key.record.id:
            raise _no_such(kind, object_id, previous=previous)

    async def _only_owned(self, context: RequestContext, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A list answer with only the key's own objects (the page as the upstream cut it, filtered)."""
        if context.key is None:
            return data
        items = [item for item in data.get("data", ()) if isinstance(item, dict)]
        owned = await self.store.owned_ids(kind, context.key.record.id, (str(item.get("id")) for item in items))
        kept = [item for item in items if item.get("id") in owned]
        data["data"] = kept
        data["first_id"] = kept[0]["id"] if kept else None
        data["last_id"] = kept[-1]["id"] if kept else None
        return data

    async def _claim_batch_files(self, context: RequestContext, batches: Iterable[dict[str, Any]]) -> None:
        """The output and error files of a key's batch belong to that key."""
        if context.key is None:
            return
        files = [
            str(batch[name])
            for batch in batches
            for name in ("output_file_id", "error_file_id")
            if isinstance(batch.get(name), str) and batch[name]
        ]
        await self.store.claim_objects("file", files, context.key.record.id)

    async def list_files(self, request: Request, context: RequestContext) -> Response:
        answer = await self.client.list_files(self._query(request, ("purpose", "limit", "after", "order")))
        return _json(await self._only_owned(context, "file", answer.to_dict()))

    async def file(self, request: Request, context: RequestContext) -> Response:
        file_id = request.path_params["file_id"]
        await self._check_owner(context, "file", file_id)
        if request.method == "DELETE":
            answer = (await self.client.delete_file(file_id)).to_dict()
            if answer.get("deleted"):
                await self.store.forget_object("file", file_id)
            return _json(answer)
        return _json((await self.client.retrieve_file(file_id)).to_dict())

    async def file_content(self, request: Request, context: RequestContext) -> Response:
        file_id = request.path_params["file_id"]
        await self._check_owner(context, "file", file_id)
        content = await self.client.file_content(file_id)
        return Response(content, media_type="application/octet-stream")

    async def batches(self, request: Request, context: RequestContext) -> Response:
        if request.method == "POST":
            body = await self._json_body(request)
            input_file = body.get("input_file_id")
            if isinstance(input_file, str) and input_file:
                await self._check_owner(context, "file", input_file)  # no batch over another key's file
            answer = (await self.client.create_batch(_typed(t.CreateBatchRequest, body))).to_dict()
            if context.key is not None:
                await self.store.claim_objects("batch", [answer["id"]], context.key.record.id)
            return _json(answer)
        data = (await self.client.list_batches(self._query(request, ("limit", "after")))).to_dict()
        data = await self._only_owned(context, "batch", data)
        await self._claim_batch_files(context, data["data"])
        return _json(data)

    async def batch(self, request: Request, context: RequestContext) -> Response:
        batch_id = request.path_params["batch_id"]
        await self._check_owner(context, "batch", batch_id)
        answer = (await self.client.retrieve_batch(batch_id)).to_dict()
        await self._claim_batch_files(context, [answer])
        return _json(answer)

    async def cancel_batch(self, request: Request, context: RequestContext) -> Response:
        batch_id = request.path_params["batch_id"]
        await self._check_owner(context, "batch", batch_id)
        return _json((await self.client.cancel_batch(batch_id)).to_dict())

    async def claim_response(self, context: RequestContext, response: Any) -> None:
        """Record a created response (its object, or a stream's ``response.created`` object) as the key's."""
        response_id = response.get("id") if isinstance(response, dict) else None
        if context.key is not None and isinstance(response_id, str) and response_id:
            await self.store.claim_objects("response", [response_id], context.key.record.id)

    async def create_response(self, request: Request, context: RequestContext) -> Response:
        body = await self._json_body(request)
        context.model_requested = _model_of(body)
        KeyRing.check_model(context.key, context.model_requested)
        previous = body.get("previous_response_id")
        if isinstance(previous, str) and previous:  # no continuing another key's conversation
            await self._check_owner(context, "response", previous, previous=True)
        if not body.pop("stream", False):
            answer = (await self.client.create_response(_typed(t.CreateResponseRequest, body))).to_dict()
            await self.claim_response(context, answer)
            return _json(answer)
        body.pop("stream_options", None)  # the Responses API's stream_options (obfuscation) stay ours
        stream_obj = await self.client.create_response_stream(_typed(t.CreateResponseRequest, body))
        return SSEResponse(self, stream_obj, context, show_usage=True, style="responses")

    async def response(self, request: Request, context: RequestContext) -> Response:
        response_id = request.path_params["response_id"]
        await self._check_owner(context, "response", response_id)
        return _json((await self.client.retrieve_response(response_id)).to_dict())

    async def cancel_response(self, request: Request, context: RequestContext) -> Response:
        response_id = request.path_params["response_id"]
        await self._check_owner(context, "response", response_id)
        return _json((await self.client.cancel_response(response_id)).to_dict())

    # -- health -----------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        """Liveness: the process serves requests."""
        return _json({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        """Readiness: the database answers and the upstream lists its models."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.store.ping(), 5.0)
            checks["database"] = "ok"
        except (LiterLlmError, asyncio.TimeoutError) as exc:
            checks["database"] = f"unavailable ({type(exc).__name__})"
        try:
            await asyncio.wait_for(self.client.list_models(), 10.0)
            checks["upstream"] = "ok"
        except (LiterLlmError, asyncio.TimeoutError) as exc:
            checks["upstream"] = f"unavailable ({type(exc).__name__})"
        ok = all(value == "ok" for value in checks.values())
        return _json({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    # -- admin ------------------------------------------------------------------------------------
    async def _admin_json(self, request: Request) -> dict[str, Any]:
        return await self._json_body(request)

    async def admin_keys(self, request: Request) -> Response:
        if request.method == "POST":
            values = validate_key_fields(await self._admin_json(request), partial=False)
            key, record = await self.keys.create(values)
            return _json({"key": key, **record.to_public()}, 201)
        include = request.query_params.get("include_revoked") in ("1", "true")
        rows = await self.store.list_keys(include_revoked=include)
        return _json({"object": "list", "data": [KeyRecord.from_row(row).to_public() for row in rows]})

    async def admin_key(self, request: Request) -> Response:
        key_id = request.path_params["key_id"]
        if request.method == "PATCH":
            values = validate_key_fields(await self._admin_json(request), partial=True)
            record = await self.keys.update(key_id, values)
        elif request.method == "DELETE":
            record = await self.keys.revoke(key_id)
        else:
            row = await self.store.key_by_id(key_id)
            record = None if row is None else KeyRecord.from_row(row)
        if record is None:
            raise NotFoundError(f"no key {key_id!r}", code="key_not_found")
        data = record.to_public()
        if request.method == "GET":
            await self.spend.flush()
            data["spend"] = await self.store.spend_for_key(key_id)
        return _json(data)

    async def admin_key_spend(self, request: Request) -> Response:
        key_id = request.path_params["key_id"]
        if await self.store.key_by_id(key_id) is None:
            raise NotFoundError(f"no key {key_id!r}", code="key_not_found")
        await self.spend.flush()
        return _json({"key_id": key_id, **(await self.store.spend_for_key(key_id))})

    async def admin_spend(self, request: Request) -> Response:
        await self.spend.flush()
        rows = await self.store.spend_summary(
            key_id=request.query_params.get("key_id"), model=request.query_params.get("model")
        )
        return _json({"object": "list", "data": rows})

    async def admin_spend_logs(self, request: Request) -> Response:
        await self.spend.flush()
        limit = request.query_params.get("limit", "100")
        if not limit.isdigit() or not 0 < int(limit) <= 10_000:
            raise BadRequestError("limit: must be an integer from 1 to 10000", code="invalid_value")
        rows = await self.store.spend_logs(key_id=request.query_params.get("key_id"), limit=int(limit))
        return _json({"object": "list", "data": rows})

    # -- the application ----------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        e = self.endpoint
        a = self.admin
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/health/ready", self.ready, methods=["GET"]),
            Route("/v1/chat/completions", e("chat", self.chat), methods=["POST"]),
            Route("/v1/embeddings", e("embeddings", self.embeddings), methods=["POST"]),
            Route("/v1/models", e("models", self.models), methods=["GET"]),
            Route("/v1/models/{model:path}", e("models", self.model), methods=["GET"]),
            Route(
                "/v1/images/generations",
                e("images", self.json_endpoint(t.CreateImageRequest, "image_generate")),
                methods=["POST"],
            ),
            Route("/v1/audio/speech", e("speech", self.speech), methods=["POST"]),
            Route("/v1/audio/transcriptions", e("transcriptions", self.transcriptions), methods=["POST"]),
            Route(
                "/v1/moderations",
                e("moderations", self.json_endpoint(t.ModerationRequest, "moderate", needs_model=False)),
                methods=["POST"],
            ),
            Route("/v1/rerank", e("rerank", self.json_endpoint(t.RerankRequest, "rerank")), methods=["POST"]),
            Route("/v1/search", e("search", self.json_endpoint(t.SearchRequest, "search")), methods=["POST"]),
            Route("/v1/ocr", e("ocr", self.json_endpoint(t.OcrRequest, "ocr")), methods=["POST"]),
            Route("/v1/files", e("files", self.create_file), methods=["POST"]),
            Route("/v1/files", e("files", self.list_files), methods=["GET"]),
            Route("/v1/files/{file_id}", e("files", self.file), methods=["GET", "DELETE"]),
            Route("/v1/files/{file_id}/content", e("files", self.file_content), methods=["GET"]),
            Route("/v1/batches", e("batches", self.batches), methods=["GET", "POST"]),
            Route("/v1/batches/{batch_id}", e("batches", self.batch), methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", e("batches", self.cancel_batch), methods=["POST"]),
            Route("/v1/responses", e("responses", self.create_response), methods=["POST"]),
            Route("/v1/responses/{response_id}", e("responses", self.response), methods=["GET"]),
            Route("/v1/responses/{response_id}/cancel", e("responses", self.cancel_response), methods=["POST"]),
            Route("/admin/keys", a(self.admin_keys), methods=["GET", "POST"]),
            Route("/admin/keys/{key_id}", a(self.admin_key), methods=["GET", "PATCH", "DELETE"]),
            Route("/admin/keys/{key_id}/spend", a(self.admin_key_spend), methods=["GET"]),
            Route("/admin/spend", a(self.admin_spend), methods=["GET"]),
            Route("/admin/spend/logs", a(self.admin_spend_logs), methods=["GET"]),
        ]

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        async def not_found(request: Request, exc: Exception) -> Response:
            return _json(error_body(NotFoundError(f"no route {request.method} {request.url.path}")), 404)

        async def not_allowed(request: Request, exc: Exception) -> Response:
            error = BadRequestError(f"{request.method} is not allowed on {request.url.path}")
            return _json(error_body(error), 405)

        routes = self.routes()
        app = ProxyApp(routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_allowed})
        app.direct = {
            (method, route.path): route.endpoint
            for route in routes
            if "{" not in route.path
            for method in route.methods or ()
            if method != "HEAD"  # Starlette adds HEAD to GET routes; it stays with the router
        }
        app.state.proxy = self
        return app


class ProxyApp(Starlette):
    """The proxy's Starlette application, with a shortcut for the hot requests.

    A request whose method and path are exactly one of the routes without path parameters
    (``POST /v1/chat/completions``, ``POST /v1/embeddings``, ...) goes straight to that route's
    endpoint: the same handler, key check, errors and spend row, without Starlette's middleware
    stack, router scan and exception-handler wrappers, which cost about a fifth of the
    proxy's own function calls per chat request (docs/performance.md).  Everything else
    (paths with parameters, HEAD, unknown paths and methods, the lifespan, and every request
    once middleware is added) goes through Starlette as before.
    """

    direct: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direct = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path") and not self.user_middleware:
            endpoint = self.direct.get((scope["method"], scope["path"]))
            if endpoint is not None:
                scope["app"] = self
                response = await endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


_NOUNS = {"file": "File", "batch": "Batch"}


def _no_such(kind: str, object_id: str, *, previous: bool = False) -> LiterLlmError:
    """OpenAI's error for an object that does not exist (what another key's object looks like to a key).

    Files and batches: 404 ``No such File object: <id>`` (``param`` ``id``); a response: 404
    ``Response with id '<id>' not found.``; a ``previous_response_id``: 400
    ``previous_response_not_found`` (``param`` ``previous_response_id``).
    """
    error: LiterLlmError
    if previous:
        message = f"Previous response with id '{object_id}' not found."
        error = BadRequestError(message, code="previous_response_not_found")
        param: str | None = "previous_response_id"
    elif kind == "response":
        error, param = NotFoundError(f"Response with id '{object_id}' not found.", code=None), None
    else:
        error, param = NotFoundError(f"No such {_NOUNS[kind]} object: {object_id}", code=None), "id"
    error.param = param  # type: ignore[union-attr]
    return error


def _responses_error(error: LiterLlmError, sequence: int) -> bytes:
    """A Responses stream's ``error`` event (``type``, ``code``, ``message``, ``param``, ``sequence_number``)."""
    inner = error_body(error)["error"]
    data = {"type": "error", "code": inner["code"] or inner["type"], "message": inner["message"]}
    data["param"] = inner["param"]
    data["sequence_number"] = sequence
    return b"event: error\ndata: " + _dumps(data).encode() + b"\n\n"


class SSEResponse(Response):
    """A stream as server-sent events, cancelled the moment the client goes away.

    ``style="chat"``: chat completion chunks as ``data:`` lines and a final
    ``data: [DONE]``.  ``style="responses"``: the Responses API's semantic
    events as ``event: <type>`` and ``data: <event>``, ending with the
    terminal event the upstream sent (no ``[DONE]``), an error as an
    ``error`` event.

    Two tasks: one forwards the stream, one waits for ``http.disconnect``;
    when the client disconnects, the forwarding task is cancelled, which
    closes the upstream stream (and its connection) at once.
    """

    def __init__(
        self, proxy: Proxy, stream: Any, context: RequestContext, *, show_usage: bool, style: str = "chat"
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        self.proxy = proxy
        self.stream = stream
        self.context = context
        self.show_usage = show_usage
        self.style = style

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxy, context = self.proxy, self.context
        status, kind = 200, None
        task = asyncio.current_task()
        if task is not None:
            proxy._streams.add(task)

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return

        async def pump_events() -> None:
            nonlocal status, kind
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            sequence = 0
            claim = context.key is not None
            try:
                async for event in self.stream:
                    data = event.data
                    if claim and event.type == "response.created":
                        await proxy.claim_response(context, data.get("response"))  # before the caller sees its id
                    if isinstance(data.get("sequence_number"), int):
                        sequence = data["sequence_number"] + 1
                    payload = b"event: " + event.type.encode() + b"\ndata: " + _dumps(data).encode() + b"\n\n"
                    await send({"type": "http.response.body", "body": payload, "more_body": True})
            except LiterLlmError as exc:
                status, kind = error_status(exc), type(exc).__name__
                await send({"type": "http.response.body", "body": _responses_error(exc, sequence), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def pump() -> None:
            nonlocal status, kind
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            try:
                async for chunk in self.stream:
                    data = chunk.to_dict()
                    if not self.show_usage and "usage" in data:
                        if not data.get("choices"):
                            continue  # the usage-only chunk the client did not ask for
                        del data["usage"]
                    payload = b"data: " + _dumps(data).encode() + b"\n\n"
                    await send({"type": "http.response.body", "body": payload, "more_body": True})
            except LiterLlmError as exc:
                status, kind = error_status(exc), type(exc).__name__
                payload = b"data: " + _dumps(error_body(exc)).encode() + b"\n\n"
                await send({"type": "http.response.body", "body": payload, "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

        token = CURRENT.set(context)
        pumping = asyncio.ensure_future(pump_events() if self.style == "responses" else pump())
        watching = asyncio.ensure_future(watch())
        try:
            await asyncio.wait([pumping, watching], return_when=asyncio.FIRST_COMPLETED)
            if not pumping.done():  # the client went away: stop reading upstream now
                pumping.cancel()
                status, kind = 499, "ClientDisconnected"
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await pumping
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
            with contextlib.suppress(Exception):
                await self.stream.aclose()
            CURRENT.reset(token)
            proxy.spend.add(context.row(status, kind))
            if task is not None:
                proxy._streams.discard(task)


def create_app(
    config: ClientConfig | None = None,
    settings: ProxySettings | None = None,
    *,
    hooks: Iterable[Any] = (),
    transport: Any = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Starlette:
    """The proxy's ASGI application.

    Args:
        config: the client configuration (``liter-llm.toml``'s fields); default: empty.
        settings: the proxy settings; default: ``config.plugins["proxy"]``.
        hooks: more plugin objects for the client (guardrails, your own hooks): they apply to every request.
        transport: an ``httpx.AsyncBaseTransport`` for the client (tests).
        clock: the clock of the client, the budgets and the key expiry.
    """
    config = config or ClientConfig()
    settings = settings or settings_from_config(config)
    return Proxy(config, settings, hooks=hooks, transport=transport, clock=clock).app()


def app_from_env() -> Starlette:
    """The application for uvicorn's workers: the configuration file named by ``LITER_LLM_CONFIG``."""
    config, settings = load_settings(os.environ.get(CONFIG_ENV) or None)
    return create_app(config, settings)
