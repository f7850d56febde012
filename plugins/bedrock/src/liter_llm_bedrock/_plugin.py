"""The provider hooks for ``bedrock`` (Converse, ConverseStream, InvokeModel embeddings) and ``bedrock_openai``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from liter_llm import types as t
from liter_llm.errors import (
    BadRequestError,
    EndpointNotSupportedError,
    LiterLlmError,
    SerializationError,
    StreamingError,
)
from liter_llm.hookspecs import hookimpl
from liter_llm.wire import build_openai_request, dump_json, load_json, merge_headers
from liter_llm_bedrock import _credentials as creds
from liter_llm_bedrock._errors import bedrock_error, error_type_of, parse_bedrock_error
from liter_llm_bedrock._eventstream import EventStreamDecoder, EventStreamMessage
from liter_llm_bedrock._options import BedrockOptions, check_region, options_from_table
from liter_llm_bedrock._sigv4 import AwsCredentials
from liter_llm_bedrock._translate import (
    ConverseStreamTranslator,
    from_converse_response,
    json_tool_name,
    to_converse_body,
)

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_OPENAI_BASE_URL",
    "BedrockOpenAIPlugin",
    "BedrockOptions",
    "BedrockPlugin",
    "parse_foundation_models",
]

#: the registered base URL; a call that keeps it goes to ``bedrock-runtime.<region>.amazonaws.com``
DEFAULT_BASE_URL = "https://bedrock-runtime.amazonaws.com"
DEFAULT_OPENAI_BASE_URL = "https://bedrock-runtime.amazonaws.com/openai/v1"

_ARN_REGION = re.compile(r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):")


def _quote_model(model: str) -> str:
    # ":" stays as it is (a path character): some transports unescape "%3A", which would break the signature
    return quote(model, safe=":")


_OPTIONS = "liter_llm_bedrock.options"


class _Auth:
    """Options, credentials and region of one provider, shared by both providers' hooks."""

    def __init__(self, options: BedrockOptions | None = None) -> None:
        self.options = options or BedrockOptions()
        self.cache = creds.CredentialCache()

    def resolve(self, call: Call) -> BedrockOptions:
        """The explicit options over the provider's ``[plugins.<name>]`` table (once per call, no I/O)."""
        found: BedrockOptions | None = call.state.get(_OPTIONS)
        if found is None:
            name = call.provider.name
            table = options_from_table(call.config.plugins.get(name), f"plugins.{name}")
            found = call.state[_OPTIONS] = self.options.over(table)
        return found

    def region_without_io(self, call: Call) -> str | None:
        """The region from the options, the model's ARN or the environment (``None``: the files say)."""
        region = self.resolve(call).region
        where = "region"
        if region is None and call.model:
            match = _ARN_REGION.match(call.model)
            if match:
                region = match.group("region")
                where = "the model ARN's region"
        if region is None:
            region = creds.env_region()
            where = "AWS_REGION"
        return check_region(region, where)

    def _hinted(self, call: Call) -> bool:
        return call.config.model_hint == call.provider.name and bool(call.config.base_url) and not call.gateway

    def base(self, call: Call, default: str, path: str = "") -> str:
        """The runtime base URL: the client's (``model_hint``), the ``endpoint`` option, the
        ``<NAME>_BASE_URL`` variable, else ``bedrock-runtime.<region>.amazonaws.com``."""
        if self._hinted(call):
            return call.base_url
        endpoint = self.resolve(call).endpoint
        if endpoint:
            return endpoint
        if call.base_url.rstrip("/") != default.rstrip("/"):
            return call.base_url
        region = self.region_without_io(call) or creds.REGION_PLACEHOLDER
        return f"https://bedrock-runtime.{region}.amazonaws.com{path}"

    def control_base(self, call: Call, default: str) -> str:
        """The control-plane base URL (``list_models``): the ``control_endpoint`` option, a runtime
        address that was configured (a proxy serving both), else ``bedrock.<region>.amazonaws.com``."""
        options = self.resolve(call)
        if options.control_endpoint:
            return options.control_endpoint
        runtime = self.base(call, default)
        if not runtime.startswith("https://bedrock-runtime.") or not runtime.endswith(".amazonaws.com"):
            return runtime
        region = self.region_without_io(call) or creds.REGION_PLACEHOLDER
        return f"https://bedrock.{region}.amazonaws.com"

    def _use_botocore(self, options: BedrockOptions) -> bool:
        return options.botocore and creds.botocore_available()

    def auth(self, call: Call) -> httpx.Auth:
        """The auth flow for this call (see the order in ``_credentials``)."""
        opts = self.resolve(call)
        if opts.api_key is not None:
            return creds.BearerAuth(opts.api_key)
        explicit = opts.credentials()
        if explicit is None and opts.profile is None:
            if call.api_key is not None and call.api_key.get_secret_value():
                return creds.BearerAuth(call.api_key)
            explicit = creds.env_credentials()
        region = self.region_without_io(call)
        profile = opts.profile
        botocore = self._use_botocore(opts)

        def file_credentials() -> AwsCredentials:
            if botocore:
                return self.cache.botocore_credentials(profile)
            found = self.cache.profile(profile).credentials
            if found is None:
                raise creds.no_credentials("no profile in the shared files either")
            return found

        def file_region() -> str | None:
            if botocore:
                return creds.botocore_region(profile)
            return self.cache.profile(profile).region

        found: AwsCredentials | Callable[[], AwsCredentials] = explicit if explicit is not None else file_credentials
        return creds.SigV4Auth(found, region, find_region=file_region, now=opts.clock)


def _json_headers(call: Call, accept: str = "application/json") -> dict[str, str]:
    return merge_headers(call, {"content-type": "application/json", "accept": accept})


def _model(call: Call) -> str:
    if not call.model:
        raise BadRequestError("model: a Bedrock model id, inference profile or ARN is required", provider="bedrock")
    return call.model


# ---------------------------------------------------------------------------
# Embeddings through InvokeModel
# ---------------------------------------------------------------------------


def _texts(request: t.EmbeddingRequest) -> list[str]:
    value = request.input
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise BadRequestError("input: Bedrock embeddings take text (a string or a list of strings)", provider="bedrock")


def embedding_family(model: str) -> str:
    """``titan`` or ``cohere`` for a Bedrock embedding model id (an inference-profile prefix is allowed)."""
    name = model.rsplit("/", 1)[-1]
    if "amazon.titan-embed" in name:
        return "titan"
    if "cohere.embed" in name:
        return "cohere"
    raise BadRequestError(
        f"model {model!r}: Bedrock embeddings support the Amazon Titan and Cohere embedding models",
        provider="bedrock",
    )


def embedding_body(request: t.EmbeddingRequest, model: str) -> dict[str, Any]:
    """The InvokeModel body for an embedding request (Titan: one text; Cohere: up to 96 texts)."""
    texts = _texts(request)
    extra = dict(request.extra_body or {}) if hasattr(request, "extra_body") else {}
    if request.encoding_format not in (None, t.EmbeddingFormat.FLOAT, "float"):
        raise BadRequestError("encoding_format: Bedrock embeddings are floats", provider="bedrock")
    if embedding_family(model) == "titan":
        if len(texts) != 1:
            raise BadRequestError(
                "input: Titan embedding models take one text per call (send a string)", provider="bedrock"
            )
        body: dict[str, Any] = {"inputText": texts[0]}
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
        body.update(extra)
        return body
    body = {"texts": texts, "input_type": "search_document"}
    if request.dimensions is not None:
        body["output_dimension"] = request.dimensions
    body.update(extra)
    return body


def _floats(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise SerializationError(f"{where}: expected a list of numbers", provider="bedrock")
    return [float(v) for v in value]


def parse_embeddings(data: Any, model: str) -> t.EmbeddingResponse:
    """A Titan (``embedding``, ``inputTextTokenCount``) or Cohere (``embeddings``) answer as ours."""
    if not isinstance(data, dict):
        raise SerializationError("the embedding answer is not an object", provider="bedrock")
    if "embedding" in data:
        vector = _floats(data["embedding"], "embedding")
        tokens = data.get("inputTextTokenCount")
        count = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else 0
        return t.EmbeddingResponse(
            data=[t.EmbeddingObject(embedding=vector, index=0)],
            model=model,
            usage=t.Usage(prompt_tokens=count, total_tokens=count),
        )
    vectors = data.get("embeddings")
    if isinstance(vectors, dict):  # embed-v4 / embedding_types: {"float": [[...]]}
        vectors = vectors.get("float")
    if not isinstance(vectors, list):
        raise SerializationError("the embedding answer has neither 'embedding' nor 'embeddings'", provider="bedrock")
    return t.EmbeddingResponse(
        data=[t.EmbeddingObject(embedding=_floats(v, f"embeddings[{i}]"), index=i) for i, v in enumerate(vectors)],
        model=model,
        usage=t.Usage(),
    )


# ---------------------------------------------------------------------------
# ListFoundationModels (the control plane)
# ---------------------------------------------------------------------------


def parse_foundation_models(data: Any) -> t.ModelsListResponse:
    """A ``ListFoundationModels`` answer (``modelSummaries``) as ours: ``id`` = ``modelId``,
    ``owned_by`` = ``providerName``."""
    if not isinstance(data, dict):
        raise SerializationError("the ListFoundationModels answer is not an object", provider="bedrock")
    summaries = data.get("modelSummaries")
    if summaries is None:
        summaries = []
    if not isinstance(summaries, list):
        raise SerializationError("modelSummaries: expected a list", provider="bedrock")
    models = []
    for index, item in enumerate(summaries):
        model_id = item.get("modelId") if isinstance(item, dict) else None
        if not isinstance(model_id, str) or not model_id:
            raise SerializationError(f"modelSummaries[{index}].modelId: expected a string", provider="bedrock")
        owner = item.get("providerName")
        models.append(t.ModelObject(id=model_id, owned_by=owner if isinstance(owner, str) else ""))
    return t.ModelsListResponse(data=models)


# ---------------------------------------------------------------------------
# The hooks
# ---------------------------------------------------------------------------


class BedrockPlugin:
    """Hooks speaking Bedrock's Converse / ConverseStream and InvokeModel (embeddings), signed with SigV4."""

    def __init__(self, options: BedrockOptions | None = None) -> None:
        self._auth = _Auth(options)

    @property
    def options(self) -> BedrockOptions:
        """This provider's explicit options."""
        return self._auth.options

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        op = call.operation
        base = self._auth.base(call, DEFAULT_BASE_URL)
        if op == "list_models":
            base = self._auth.control_base(call, DEFAULT_BASE_URL)
            return httpx.Request("GET", f"{base}/foundation-models", headers=_json_headers(call))
        if op in ("chat", "chat_stream"):
            model = _quote_model(_model(call))
            body = to_converse_body(call.request, model=call.model)
            path = "converse-stream" if op == "chat_stream" else "converse"
            accept = "application/vnd.amazon.eventstream" if op == "chat_stream" else "application/json"
            return httpx.Request(
                "POST", f"{base}/model/{model}/{path}", content=dump_json(body), headers=_json_headers(call, accept)
            )
        if op == "embed":
            model = _model(call)
            body = embedding_body(call.request, model)
            return httpx.Request(
                "POST",
                f"{base}/model/{_quote_model(model)}/invoke",
                content=dump_json(body),
                headers=_json_headers(call),
            )
        raise EndpointNotSupportedError(call.provider.name, op)

    @hookimpl
    def auth(self, call: Call) -> httpx.Auth:
        return self._auth.auth(call)

    @hookimpl
    def stream_decoder(self, call: Call) -> EventStreamDecoder:
        return EventStreamDecoder()

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        data = load_json(call, response.content)
        if call.operation in ("chat", "chat_stream"):
            return from_converse_response(
                data,
                model=call.model or "",
                response_id=response.headers.get("x-amzn-requestid", ""),
                json_tool=json_tool_name(call.request),
            )
        if call.operation == "list_models":
            return parse_foundation_models(data)
        if call.operation == "embed":
            return parse_embeddings(data, call.model or "")
        raise EndpointNotSupportedError(call.provider.name, call.operation)

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError:
        return parse_bedrock_error(response, provider=call.provider.name)

    @hookimpl
    def stream_parser(self, call: Call) -> ConverseStreamParser:
        return ConverseStreamParser(call)


class ConverseStreamParser:
    """The stream parser of one ConverseStream answer (``liter_llm.wire.StreamParser``): EventStream messages in."""

    __slots__ = ("_call", "_translator")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._translator = ConverseStreamTranslator(model=call.model or "", json_tool=json_tool_name(call.request))

    def feed(self, event: Any) -> list[t.ChatCompletionChunk]:
        """One EventStream message; ``messageStop`` (with the metadata after it) marks the end."""
        try:
            return self._event(event)
        except SerializationError as exc:
            # a malformed event ends the stream like a bad frame: a StreamingError carrying the chunks so far
            raise StreamingError(
                f"a malformed ConverseStream event: {exc.message}", provider=self._call.provider.name
            ) from exc

    def finish(self) -> list[t.ChatCompletionChunk]:
        """Nothing is held back."""
        return []

    def _event(self, event: Any) -> list[t.ChatCompletionChunk]:
        call = self._call
        if not isinstance(event, EventStreamMessage):
            raise SerializationError(f"unexpected stream event {type(event).__name__}", provider=call.provider.name)
        translator = self._translator
        try:
            payload = json.loads(event.payload) if event.payload else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise SerializationError(
                f"a ConverseStream event is not JSON ({exc})", provider=call.provider.name
            ) from None
        kind = event.message_type
        if kind in ("exception", "error"):
            name = event.headers.get(":exception-type") or event.headers.get(":error-code")
            message = payload.get("message") if isinstance(payload, dict) else None
            if not isinstance(message, str):
                message = str(event.headers.get(":error-message") or "Bedrock sent an exception in the stream")
            raise bedrock_error(
                error_type_of(str(name)) if name else None,
                message,
                provider=call.provider.name,
                body=event.payload.decode("utf-8", errors="replace")[:2000],
            )
        if kind != "event":
            raise SerializationError(f"unknown :message-type {kind!r} in the stream", provider=call.provider.name)
        chunks = translator.translate(event.event_type or "", payload)
        if translator.complete:
            call.stream_complete = True
        return chunks


class BedrockOpenAIPlugin:
    """``bedrock_openai``: Bedrock's OpenAI Chat Completions endpoint (``/openai/v1``), SigV4 or an API key.

    The core's OpenAI wire format builds and reads the requests; this plugin only sets the regional
    address and authenticates.
    """

    def __init__(self, options: BedrockOptions | None = None) -> None:
        self._auth = _Auth(options)

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request | None:
        if call.operation not in ("chat", "chat_stream"):
            raise EndpointNotSupportedError(call.provider.name, call.operation)
        request = build_openai_request(call)
        base = self._auth.base(call, DEFAULT_OPENAI_BASE_URL, "/openai/v1").rstrip("/")
        current = call.base_url.rstrip("/")
        if base != current and str(request.url).startswith(current):
            url = httpx.URL(base + str(request.url)[len(current) :])
            request.url = url
            request.headers["host"] = url.netloc.decode("ascii")
        return request

    @hookimpl
    def auth(self, call: Call) -> httpx.Auth:
        return self._auth.auth(call)
