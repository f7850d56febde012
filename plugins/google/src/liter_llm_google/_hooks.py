"""The provider hooks of ``gemini`` (Gemini API) and ``vertex_ai`` (Vertex AI)."""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from liter_llm import types as t
from liter_llm.errors import AuthenticationError, BadRequestError, LiterLlmError, SerializationError
from liter_llm.hookspecs import hookimpl
from liter_llm.tokens import TokenCount
from liter_llm.wire import dump_json, header_auth, load_json, merge_headers, with_extra_body
from liter_llm_google._translate import GeminiStreamTranslator, from_gemini_response, google_error, to_gemini_body
from liter_llm_google._vertex_auth import (
    PROJECT_PLACEHOLDER,
    BearerAuth,
    CredentialsFileAuth,
    credentials_without_io,
    service_account_auth,
)

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["GeminiPlugin", "VertexPlugin"]

_JSON = {"content-type": "application/json", "accept": "application/json"}
_SSE = {"content-type": "application/json", "accept": "text/event-stream"}
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _quote_model(model: str) -> str:
    return quote(model, safe="-._~@")


def _gemini_model_path(model: str | None) -> str:
    if not model:
        raise BadRequestError("model: a Gemini model name is required")
    if model.startswith(("models/", "tunedModels/")):
        kind, _, name = model.partition("/")
        return f"{kind}/{_quote_model(name)}"
    return "models/" + _quote_model(model)


def _embedding_texts(request: t.EmbeddingRequest) -> list[str]:
    value = request.input
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [str(item) for item in value]
    raise BadRequestError("input: Google embeddings take text (a string or a list of strings), not token ids")


def _check_embedding_format(request: t.EmbeddingRequest) -> None:
    fmt = getattr(request.encoding_format, "value", request.encoding_format)
    if fmt not in (None, "float"):
        raise BadRequestError("encoding_format: Google returns float vectors only")


def _chat_request(call: Call, url: str, body: dict[str, Any]) -> httpx.Request:
    stream = call.operation == "chat_stream"
    return httpx.Request(
        "POST",
        url,
        params={"alt": "sse"} if stream else None,
        content=dump_json(body),
        headers=merge_headers(call, _SSE if stream else _JSON),
    )


def _stream_payload(call: Call, event: Any) -> Any:
    data = getattr(event, "data", event)
    if not isinstance(data, str):
        raise SerializationError(f"unexpected stream event {type(event).__name__}", provider=call.provider.name)
    if not data.strip():
        return None
    if data.strip() == "[DONE]":
        call.stream_complete = True
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SerializationError(
            f"a stream event is not valid JSON ({exc}): {data[:200]!r}", provider=call.provider.name
        ) from None


def _gemini_embed_body(call: Call, items: list[dict[str, Any]]) -> dict[str, Any]:
    extra = with_extra_body(call, {})  # checks its shape
    body: dict[str, Any] = {"requests": items}
    if "requests" in extra:
        body["requests"] = extra.pop("requests")
    for item in items:
        item.update(extra)
    return body


def _vertex_embed_body(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    extra = with_extra_body(call, {})
    params = extra.get("parameters")
    if isinstance(params, dict) and isinstance(body.get("parameters"), dict):
        extra["parameters"] = {**body["parameters"], **params}
    body.update(extra)
    return body


class GeminiPlugin:
    """Hooks for the Gemini API (``generativelanguage``): key in ``x-goog-api-key``."""

    # -- requests ---------------------------------------------------------
    def chat_url(self, call: Call) -> str:
        """The ``generateContent`` / ``streamGenerateContent`` URL of the call."""
        method = "streamGenerateContent" if call.operation == "chat_stream" else "generateContent"
        return f"{call.base_url}/{_gemini_model_path(call.model)}:{method}"

    def embed_request(self, call: Call) -> httpx.Request:
        """``batchEmbedContents``: one request per input text.

        ``extra_body`` goes into every ``EmbedContentRequest`` (``taskType``,
        ``title``, ... of https://ai.google.dev/api/embeddings), since the
        batch body has no other field; a ``requests`` key replaces the list.
        """
        request: t.EmbeddingRequest = call.request
        _check_embedding_format(request)
        path = _gemini_model_path(call.model)
        model_name = path if path.startswith("tunedModels/") else f"models/{call.model}"
        if call.model and call.model.startswith("models/"):
            model_name = call.model
        items = []
        for text in _embedding_texts(request):
            item: dict[str, Any] = {"model": model_name, "content": {"parts": [{"text": text}]}}
            if request.dimensions is not None:
                item["outputDimensionality"] = request.dimensions
            items.append(item)
        return httpx.Request(
            "POST",
            f"{call.base_url}/{path}:batchEmbedContents",
            content=dump_json(_gemini_embed_body(call, items)),
            headers=merge_headers(call, _JSON),
        )

    def count_request(self, call: Call) -> httpx.Request:
        """``models/{model}:countTokens`` with the whole ``generateContentRequest`` (system, tools counted too)."""
        path = _gemini_model_path(call.model)
        body = {"model": path, **to_gemini_body(call.request)}
        return httpx.Request(
            "POST",
            f"{call.base_url}/{path}:countTokens",
            content=dump_json({"generateContentRequest": body}),
            headers=merge_headers(call, _JSON),
        )

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        op = call.operation
        if op in ("chat", "chat_stream"):
            return _chat_request(call, self.chat_url(call), to_gemini_body(call.request))
        if op == "embed":
            return self.embed_request(call)
        if op == "count_tokens":
            return self.count_request(call)
        if op == "list_models":
            return httpx.Request(
                "GET",
                f"{call.base_url}/models",
                params={"pageSize": "1000"},
                headers=merge_headers(call, {"accept": "application/json"}),
            )
        raise BadRequestError(f"{call.provider.name} does not support {op}", provider=call.provider.name)

    @hookimpl
    def auth(self, call: Call) -> httpx.Auth:
        if call.api_key:
            return header_auth(call)
        for variable in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
            value = os.environ.get(variable)
            if value:
                from liter_llm import SecretStr

                call.api_key = SecretStr(value)
                return header_auth(call)
        raise AuthenticationError(
            f"no API key for provider {call.provider.name!r}: pass api_key to the client "
            "(or set GEMINI_API_KEY or GOOGLE_API_KEY)",
            provider=call.provider.name,
        )

    # -- answers ------------------------------------------------------------
    def parse_embeddings(self, call: Call, data: Any) -> t.EmbeddingResponse:
        """``{"embeddings": [{"values": [...]}, ...]}`` -> EmbeddingResponse."""
        provider = call.provider.name
        if not isinstance(data, dict) or not isinstance(data.get("embeddings"), list):
            raise SerializationError("the embedding answer has no 'embeddings' list", provider=provider)
        objects = []
        for index, item in enumerate(data["embeddings"]):
            values = item.get("values") if isinstance(item, dict) else None
            if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise SerializationError(f"embeddings[{index}].values: expected a list of numbers", provider=provider)
            objects.append(t.EmbeddingObject(embedding=[float(v) for v in values], index=index))
        return t.EmbeddingResponse(data=objects, model=call.model or "", usage=None)

    def parse_count(self, call: Call, data: Any) -> TokenCount:
        """``{"totalTokens": N, ...}`` -> TokenCount (Gemini's own tokenizer: exact)."""
        # proto3 JSON leaves out a zero: an empty prompt's answer may have no totalTokens
        tokens = data.get("totalTokens", 0) if isinstance(data, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise SerializationError("the token count has no 'totalTokens' integer", provider=call.provider.name)
        return TokenCount(
            tokens=tokens, method="provider:gemini", exact=True, model=call.requested_model or call.model or ""
        )

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        data = load_json(call, response.content)
        op = call.operation
        if op == "chat":
            return from_gemini_response(data, call.model or "", call.provider.name)
        if op == "embed":
            return self.parse_embeddings(call, data)
        if op == "count_tokens":
            return self.parse_count(call, data)
        if op == "list_models":
            return _models_list(call, data)
        raise BadRequestError(f"{call.provider.name} does not support {op}", provider=call.provider.name)

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        text = response.content.decode("utf-8", errors="replace")
        try:
            payload = json.loads(text) if text.strip()[:1] in ("{", "[") else None
        except (ValueError, RecursionError):
            payload = None
        if payload is None:
            return None  # not Google's shape: the core's mapping
        return google_error(
            response.status_code, response.headers, payload, provider=call.provider.name, body=text or None
        )

    @hookimpl
    def stream_parser(self, call: Call) -> Any:
        return GeminiStreamParser(call)


class GeminiStreamParser:
    """The stream parser of one Gemini stream (``liter_llm.wire.StreamParser``): SSE events in, chunks out."""

    __slots__ = ("_call", "_translator")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._translator = GeminiStreamTranslator(call.model or "", call.provider.name)

    def feed(self, event: Any) -> list[t.ChatCompletionChunk]:
        """One server-sent event (a ``GenerateContentResponse``); the last candidate's finish marks the end."""
        payload = _stream_payload(self._call, event)
        if payload is None:
            return []
        translator = self._translator
        chunks = translator.feed(payload)
        if translator.finished:
            self._call.stream_complete = True
        return chunks

    def finish(self) -> list[t.ChatCompletionChunk]:
        """Nothing is held back."""
        return []


def _models_list(call: Call, data: Any) -> t.ModelsListResponse:
    provider = call.provider.name
    if not isinstance(data, dict):
        raise SerializationError("the model list is not a JSON object", provider=provider)
    models = data.get("models") or []
    if not isinstance(models, list):
        raise SerializationError("models: expected a list", provider=provider)
    result = []
    for index, item in enumerate(models):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise SerializationError(f"models[{index}].name: expected a string", provider=provider)
        result.append(t.ModelObject(id=name.removeprefix("models/"), owned_by="google"))
    return t.ModelsListResponse(data=result)


# ---------------------------------------------------------------------------
# Vertex AI
# ---------------------------------------------------------------------------

_ANTHROPIC_VERSION = "vertex-2023-10-16"
_CLAUDE = "liter_llm_google.claude"


def _is_claude(call: Call) -> bool:
    return bool(call.model) and str(call.model).startswith("claude")


def _anthropic() -> Any:
    """The Anthropic plugin module, or a BadRequestError naming the install line."""
    try:
        import liter_llm_anthropic
    except ImportError:
        raise BadRequestError(
            "Claude models on Vertex AI need the Anthropic plugin: pip install 'liter-llm[anthropic]'",
            provider="vertex_ai",
        ) from None
    return liter_llm_anthropic


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class VertexPlugin(GeminiPlugin):
    """Hooks for Vertex AI: the Gemini content model on the Vertex URL, service-account auth.

    ``vertex_ai/claude-...`` models go to Anthropic's publisher endpoint
    (``rawPredict`` / ``streamRawPredict``) with the Anthropic plugin's translation.
    """

    def _credentials(self, call: Call) -> tuple[Any, str | None]:
        """The credentials that need no I/O, or the path of the file the auth flow will read.

        ``(None, None)`` when the key is a ready access token or nothing is configured.
        """
        key = call.api_key.get_secret_value() if call.api_key else None
        if key and key.lstrip().startswith("{"):
            return credentials_without_io(key)
        if key:
            return None, None
        return credentials_without_io()

    def _project(self, call: Call, project: str | None) -> str:
        if not project:
            raise BadRequestError(
                "no Google Cloud project for Vertex AI: set VERTEXAI_PROJECT (or GOOGLE_CLOUD_PROJECT), or use "
                "service-account credentials that name their project_id",
                provider=call.provider.name,
            )
        if not _SAFE_ID.match(project):
            raise BadRequestError(f"Vertex AI project {project!r} is not a valid id", provider=call.provider.name)
        return project

    def location_base(self, call: Call) -> str:
        """``<base>/projects/<project>/locations/<location>`` for the call (no I/O).

        Without a configured project, the project comes from the credentials;
        when those are still in an unread file, the URL holds
        :data:`PROJECT_PLACEHOLDER`, which the auth flow replaces once it has
        read the file.
        """
        project = _env("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT")
        if project is None:
            creds, path = self._credentials(call)
            if creds is None and path is not None:
                project = PROJECT_PLACEHOLDER
            else:
                project = self._project(call, creds.project_id if creds is not None else None)
        else:
            project = self._project(call, project)
        location = _env("VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION") or "us-central1"
        if not _SAFE_ID.match(location):
            raise BadRequestError(f"Vertex AI location {location!r} is not a valid id", provider=call.provider.name)
        default = (call.provider.base_url or "").rstrip("/")
        base = call.base_url
        if base == default:
            host = "aiplatform.googleapis.com" if location == "global" else f"{location}-aiplatform.googleapis.com"
            base = f"https://{host}/v1"
        return f"{base}/projects/{project}/locations/{location}"

    def model_url(self, call: Call, publisher: str, method: str) -> str:
        """The URL of ``method`` on ``publishers/<publisher>/models/<model>``."""
        if not call.model:
            raise BadRequestError("model: a Vertex AI model name is required", provider=call.provider.name)
        return f"{self.location_base(call)}/publishers/{publisher}/models/{_quote_model(call.model)}:{method}"

    def chat_url(self, call: Call) -> str:
        method = "streamGenerateContent" if call.operation == "chat_stream" else "generateContent"
        return self.model_url(call, "google", method)

    def embed_request(self, call: Call) -> httpx.Request:
        """Vertex text embeddings: ``:predict`` with one instance per text.

        ``extra_body`` is merged into the top level, and its ``parameters``
        (``autoTruncate``, ...) into the ``parameters`` built here.
        """
        request: t.EmbeddingRequest = call.request
        _check_embedding_format(request)
        body: dict[str, Any] = {"instances": [{"content": text} for text in _embedding_texts(request)]}
        if request.dimensions is not None:
            body["parameters"] = {"outputDimensionality": request.dimensions}
        return httpx.Request(
            "POST",
            self.model_url(call, "google", "predict"),
            content=dump_json(_vertex_embed_body(call, body)),
            headers=merge_headers(call, _JSON),
        )

    def parse_embeddings(self, call: Call, data: Any) -> t.EmbeddingResponse:
        """``{"predictions": [{"embeddings": {"values", "statistics"}}]}`` -> EmbeddingResponse."""
        provider = call.provider.name
        if not isinstance(data, dict) or not isinstance(data.get("predictions"), list):
            raise SerializationError("the embedding answer has no 'predictions' list", provider=provider)
        objects = []
        tokens = 0
        for index, item in enumerate(data["predictions"]):
            emb = item.get("embeddings") if isinstance(item, dict) else None
            values = emb.get("values") if isinstance(emb, dict) else None
            if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise SerializationError(
                    f"predictions[{index}].embeddings.values: expected a list of numbers", provider=provider
                )
            stats = emb.get("statistics") if isinstance(emb, dict) else None
            count = stats.get("token_count") if isinstance(stats, dict) else None
            if isinstance(count, (int, float)) and not isinstance(count, bool):
                tokens += int(count)
            objects.append(t.EmbeddingObject(embedding=[float(v) for v in values], index=index))
        usage = t.Usage(prompt_tokens=tokens, total_tokens=tokens)
        return t.EmbeddingResponse(data=objects, model=call.model or "", usage=usage)

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        if call.operation in ("chat", "chat_stream") and _is_claude(call):
            anthropic = _anthropic()
            body = anthropic.to_anthropic_body(call.request, model=None, stream=call.operation == "chat_stream")
            body.pop("model", None)
            body["anthropic_version"] = _ANTHROPIC_VERSION
            method = "streamRawPredict" if call.operation == "chat_stream" else "rawPredict"
            call.state[_CLAUDE] = True
            return httpx.Request(
                "POST",
                self.model_url(call, "anthropic", method),
                content=dump_json(body),
                headers=merge_headers(call, _SSE if call.operation == "chat_stream" else _JSON),
            )
        return GeminiPlugin.build_request(self, call)

    @hookimpl
    def auth(self, call: Call) -> httpx.Auth:
        key = call.api_key.get_secret_value() if call.api_key else None
        if key and not key.lstrip().startswith("{"):
            return BearerAuth(key)  # a ready OAuth access token
        creds, path = self._credentials(call)
        if creds is not None:
            return service_account_auth(creds)
        if path is not None:  # the file is read in the flow: hooks do no I/O
            return CredentialsFileAuth(lambda found: self._project(call, found.project_id))
        raise AuthenticationError(
            "no Vertex AI credentials: set GOOGLE_APPLICATION_CREDENTIALS (a service-account JSON file) or "
            "VERTEXAI_CREDENTIALS (the JSON itself), or pass an access token as api_key",
            provider=call.provider.name,
        )

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        if call.state.get(_CLAUDE):
            data = load_json(call, response.content)
            return _anthropic().from_anthropic_message(data, call.request)
        return GeminiPlugin.parse_response(self, call, response)

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        if call.state.get(_CLAUDE):
            text = response.content.decode("utf-8", errors="replace")
            try:
                payload = json.loads(text)
            except (ValueError, RecursionError):
                payload = None
            inner = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(inner, dict) and isinstance(inner.get("status"), str):  # Google's gateway refused it
                return google_error(response.status_code, response.headers, payload, provider=call.provider.name)
            error: LiterLlmError = _anthropic().parse_anthropic_error(response, provider=call.provider.name)
            return error
        return GeminiPlugin.parse_error(self, call, response)

    @hookimpl
    def stream_parser(self, call: Call) -> Any:
        if call.state.get(_CLAUDE):  # Claude on Vertex streams Anthropic's events
            return _anthropic().AnthropicStreamParser(call)
        return GeminiStreamParser(call)
