"""OpenTelemetry traces and metrics for liter-llm, on the GenAI semantic conventions.

A global plugin (entry point ``otel`` in the ``liter_llm`` group), written on the
whole-call hook ``wrap_call``.  It takes part in a call only when the client's
configuration asks for it: ``tracing = true``, or a ``[plugins.otel]`` table
(``create_client(plugins={"otel": {...}})``) whose ``enabled`` is not false.
Otherwise its hooks return at once and a call costs nothing extra.

Per call it records, through the application's own providers (the ones given
as ``tracer_provider`` / ``meter_provider`` in the plugin table, else the
global ones of ``opentelemetry.trace`` / ``opentelemetry.metrics``):

* one ``CLIENT`` span named ``{gen_ai.operation.name} {gen_ai.request.model}``
  with the conventions' request, response, usage, ``error.type`` and
  ``server.*`` attributes; a stream's span lasts until the stream ends, fails
  or is closed, and carries ``gen_ai.response.time_to_first_chunk``;
* one child span per attempt when the call was retried (``liter_llm.attempt``);
* the ``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage``
  histograms (and ``gen_ai.client.operation.time_to_first_chunk`` for streams)
  with the conventions' attributes and bucket boundaries, and the
  ``liter_llm.client.cost`` counter (US dollars, when the cost is known).

Message content (``gen_ai.input.messages``, ``gen_ai.output.messages``) is
recorded only on opt-in:
``capture_message_content = true`` in the plugin table, or the environment
variable ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (the
table wins).  No attribute ever holds an API key or a request header.
``propagate = true`` sends the W3C ``traceparent`` (the application's
propagator) to the provider on every attempt.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

import httpx
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from liter_llm import BadRequestError, Call, LiterLlmError, hookimpl

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "DURATION_BUCKETS",
    "PROVIDER_NAMES",
    "TOKEN_BUCKETS",
    "operation_name",
    "provider_name",
]

#: the instrumentation scope of every span and instrument
SCOPE = "liter_llm_otel"
VERSION = "0.1.0"

#: the environment variable that turns message content capture on (``true``)
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

#: the conventions' explicit bucket boundaries of ``gen_ai.client.operation.duration`` (seconds)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
#: the conventions' explicit bucket boundaries of ``gen_ai.client.token.usage`` (tokens)
TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

#: liter-llm provider names -> the conventions' well-known ``gen_ai.provider.name`` values
#: (any other provider is reported under its own liter-llm name)
PROVIDER_NAMES: Mapping[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "moonshot": "moonshot_ai",
    "watsonx": "ibm.watsonx.ai",
}

#: liter-llm operations -> the conventions' ``gen_ai.operation.name`` (others keep their own name)
_OPERATIONS: Mapping[str, str] = {"chat": "chat", "chat_stream": "chat", "embed": "embeddings"}

_SETTINGS = frozenset({"enabled", "tracer_provider", "meter_provider", "capture_message_content", "propagate", "clock"})
_STATE = "liter_llm_otel"  # the key of this plugin's entry in call.state
_TRUE = frozenset({"1", "true", "yes", "on"})


def provider_name(call: Call) -> str:
    """The ``gen_ai.provider.name`` of a call: the conventions' name of its provider, else liter-llm's."""
    return PROVIDER_NAMES.get(call.provider.name, call.provider.name)


def operation_name(call: Call) -> str:
    """The ``gen_ai.operation.name`` of a call (``chat`` for streams too, ``embeddings`` for ``embed``)."""
    return _OPERATIONS.get(call.operation, call.operation)


class _Settings:
    """The validated ``[plugins.otel]`` table of one client configuration."""

    __slots__ = ("capture", "clock", "meter_provider", "propagate", "tracer_provider")

    def __init__(self, table: Mapping[str, Any]) -> None:
        unknown = sorted(set(table) - _SETTINGS)
        if unknown:
            raise BadRequestError(f"plugins.otel.{unknown[0]}: unknown setting (known: {', '.join(sorted(_SETTINGS))})")
        self.tracer_provider = table.get("tracer_provider")
        self.meter_provider = table.get("meter_provider")
        capture = table.get("capture_message_content")
        if capture is None:
            capture = os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _TRUE
        self.capture = _flag(capture, "capture_message_content")
        self.propagate = _flag(table.get("propagate", False), "propagate")
        self.clock = table.get("clock")
        if self.clock is not None and not callable(getattr(self.clock, "monotonic", None)):
            raise BadRequestError("plugins.otel.clock: must have a monotonic() method (a liter_llm.clock.Clock)")


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | {"0", "false", "no", "off"}:
        return value.strip().lower() in _TRUE
    raise BadRequestError(f"plugins.otel.{name}: must be a boolean, not {type(value).__name__}")


def _settings(call: Call) -> _Settings | None:
    """The settings of a call, or ``None`` when the client did not ask for tracing."""
    table = call.config.plugins.get("otel")
    if table is None:
        return _Settings({}) if call.config.tracing else None
    if not isinstance(table, Mapping):
        raise BadRequestError("plugins.otel: must be a table of settings")
    if not _flag(table.get("enabled", True), "enabled"):
        return None
    return _Settings(table)


class _Instruments:
    """The histograms and the cost counter of one meter provider."""

    __slots__ = ("cost", "duration", "first_chunk", "tokens")

    def __init__(self, provider: Any) -> None:
        meter = (provider or metrics.get_meter_provider()).get_meter(SCOPE, VERSION)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.cost = meter.create_counter(
            "liter_llm.client.cost", unit="{USD}", description="Cost of the calls in US dollars (liter-llm's pricing)."
        )


_instruments: dict[int, tuple[Any, _Instruments]] = {}


def _instruments_for(provider: Any) -> _Instruments:
    key = id(provider)
    entry = _instruments.get(key)
    if entry is None or entry[0] is not provider:
        entry = (provider, _Instruments(provider))
        _instruments[key] = entry
    return entry[1]


def _now(settings: _Settings) -> float:
    clock = settings.clock
    return float(clock.monotonic()) if clock is not None else time.monotonic()


# ---------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------


def _server(call: Call) -> dict[str, Any]:
    try:
        url = httpx.URL(call.base_url)
    except (httpx.InvalidURL, TypeError):
        return {}
    if not url.host:
        return {}
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    out: dict[str, Any] = {"server.address": url.host}
    if port:
        out["server.port"] = port
    return out


def _request_attributes(call: Call) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": operation_name(call),
        "gen_ai.provider.name": provider_name(call),
    }
    if call.model:
        attrs["gen_ai.request.model"] = call.model
    attrs.update(_server(call))
    request = call.request
    if call.stream:
        attrs["gen_ai.request.stream"] = True
    for field, key in (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("presence_penalty", "gen_ai.request.presence_penalty"),
        ("frequency_penalty", "gen_ai.request.frequency_penalty"),
        ("seed", "gen_ai.request.seed"),
    ):
        value = getattr(request, field, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[key] = value
    max_tokens = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None)
    if isinstance(max_tokens, int):
        attrs["gen_ai.request.max_tokens"] = max_tokens
    n = getattr(request, "n", None)
    if isinstance(n, int) and n != 1:
        attrs["gen_ai.request.choice.count"] = n
    stop = getattr(request, "stop", None)
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = list(stop)
    response_format = getattr(request, "response_format", None)
    kind = getattr(response_format, "type", None)
    if isinstance(kind, str):
        attrs["gen_ai.output.type"] = "text" if kind == "text" else "json"
    dimensions = getattr(request, "dimensions", None)
    if call.operation == "embed" and isinstance(dimensions, int):
        attrs["gen_ai.embeddings.dimension.count"] = dimensions
    return attrs


def _usage_attributes(usage: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    if usage is None:
        return out
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if isinstance(prompt, int):
        out["gen_ai.usage.input_tokens"] = prompt
    if isinstance(completion, int):
        out["gen_ai.usage.output_tokens"] = completion
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    if prompt_details is not None:
        if prompt_details.cached_tokens:
            out["gen_ai.usage.cache_read.input_tokens"] = prompt_details.cached_tokens
        if getattr(prompt_details, "cache_creation_tokens", 0):
            out["gen_ai.usage.cache_creation.input_tokens"] = prompt_details.cache_creation_tokens
        if prompt_details.audio_tokens:
            out["gen_ai.usage.audio.input_tokens"] = prompt_details.audio_tokens
    completion_details = getattr(usage, "completion_tokens_details", None)
    if completion_details is not None:
        if completion_details.reasoning_tokens:
            out["gen_ai.usage.reasoning.output_tokens"] = completion_details.reasoning_tokens
        if completion_details.audio_tokens:
            out["gen_ai.usage.audio.output_tokens"] = completion_details.audio_tokens
    return out


def _response_attributes(response: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    response_id = getattr(response, "id", None)
    if isinstance(response_id, str) and response_id:
        out["gen_ai.response.id"] = response_id
    model = getattr(response, "model", None)
    if isinstance(model, str) and model:
        out["gen_ai.response.model"] = model
    choices = getattr(response, "choices", None)
    if isinstance(choices, list):
        reasons = [str(_enum_value(c.finish_reason)) for c in choices if getattr(c, "finish_reason", None)]
        if reasons:
            out["gen_ai.response.finish_reasons"] = reasons
    out.update(_usage_attributes(getattr(response, "usage", None)))
    cost = getattr(response, "cost", None)
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        out["liter_llm.cost_usd"] = float(cost)
    return out


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def error_type(error: BaseException) -> str:
    """The ``error.type`` of a failed call: the name of the :class:`~liter_llm.LiterLlmError` subclass."""
    return type(error).__name__


# -- message content (opt-in), in the conventions' JSON message schemas ------------------------


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        data = part.to_dict() if hasattr(part, "to_dict") else part
        if isinstance(data, Mapping) and data.get("type") == "text":
            parts.append({"type": "text", "content": data.get("text", "")})
        elif isinstance(data, Mapping):
            # images, audio, files: their kind only, never their data
            parts.append({"type": str(data.get("type", "unknown"))})
    return parts


def _tool_call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for tool_call in tool_calls or []:
        function = getattr(tool_call, "function", None)
        arguments: Any = getattr(function, "arguments", None)
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                pass
        parts.append(
            {
                "type": "tool_call",
                "id": getattr(tool_call, "id", None),
                "name": getattr(function, "name", None),
                "arguments": arguments,
            }
        )
    return parts


def _input_messages(request: Any) -> list[dict[str, Any]]:
    """The request's messages, system messages included (they are part of the chat history)."""
    messages: list[dict[str, Any]] = []
    for message in getattr(request, "messages", None) or []:
        role = str(_enum_value(getattr(message, "role", "user")))
        parts = _parts(getattr(message, "content", None))
        if role == "assistant":
            parts += _tool_call_parts(getattr(message, "tool_calls", None))
        if role == "tool":
            parts = [
                {
                    "type": "tool_call_response",
                    "id": getattr(message, "tool_call_id", None),
                    "response": " ".join(p.get("content", "") for p in parts),
                }
            ]
        messages.append({"role": role, "parts": parts})
    return messages


def _output_messages(response: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for choice in getattr(response, "choices", None) or []:
        message = choice.message
        parts = _parts(getattr(message, "content", None)) + _tool_call_parts(getattr(message, "tool_calls", None))
        entry: dict[str, Any] = {"role": "assistant", "parts": parts}
        if choice.finish_reason:
            entry["finish_reason"] = str(_enum_value(choice.finish_reason))
        out.append(entry)
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


# ---------------------------------------------------------------------------
# The hooks
# ---------------------------------------------------------------------------


class _Trace:
    """What the plugin keeps in ``call.state`` for one call."""

    __slots__ = ("attempts", "first_chunk", "settings", "span", "started")

    def __init__(self, settings: _Settings, span: Any, started: float) -> None:
        self.settings = settings
        self.span = span
        self.started = started
        self.first_chunk: float | None = None
        #: per attempt: [start ns (build_request), end ns or None, HTTP status or None] (the auth flow)
        self.attempts: list[list[Any]] = []


@hookimpl
def wrap_call(call: Call) -> Generator[None, Any, None] | None:
    """Trace and measure one call, when the client's configuration asks for it (see the module docstring)."""
    settings = _settings(call)
    if settings is None:
        return None
    return _traced(call, settings)


def _traced(call: Call, settings: _Settings) -> Generator[None, Any, None]:
    tracer = (settings.tracer_provider or trace.get_tracer_provider()).get_tracer(SCOPE, VERSION)
    instruments = _instruments_for(settings.meter_provider)
    attributes = _request_attributes(call)
    name = f"{attributes['gen_ai.operation.name']} {call.model}" if call.model else attributes["gen_ai.operation.name"]
    # the span is a child of the caller's current span; it is never made current itself, because a
    # stream's span outlives the caller's frame (and contexts cannot be detached across tasks)
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
    state = _Trace(settings, span, _now(settings))
    call.state[_STATE] = state
    if settings.capture:
        messages = _input_messages(call.request)
        if messages:
            span.set_attribute("gen_ai.input.messages", _dumps(messages))
    metric_attributes = {k: v for k, v in attributes.items() if k in _METRIC_KEYS}
    failure: str | None = None
    try:
        response = yield
        result = _response_attributes(response)
        span.set_attributes(result)
        if "gen_ai.response.model" in result:
            metric_attributes["gen_ai.response.model"] = result["gen_ai.response.model"]
        if settings.capture:
            output = _output_messages(response)
            if output:
                span.set_attribute("gen_ai.output.messages", _dumps(output))
        for token_type, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
            if key in result:
                instruments.tokens.record(result[key], {**metric_attributes, "gen_ai.token.type": token_type})
        if "liter_llm.cost_usd" in result:
            instruments.cost.add(result["liter_llm.cost_usd"], metric_attributes)
        span.set_status(Status(StatusCode.UNSET))
    except LiterLlmError as error:
        failure = error_type(error)
        span.set_attribute("error.type", failure)
        if error.status_code is not None:
            span.set_attribute("http.response.status_code", error.status_code)
        span.set_status(Status(StatusCode.ERROR, f"{failure}: {error.message}"[:500]))
        raise
    except GeneratorExit:
        # a stream closed before its end (or a cancelled call): no outcome, so no error either
        span.set_attribute("liter_llm.outcome", "closed")
        raise
    finally:
        ended = _now(settings)
        if state.first_chunk is not None:
            first = max(0.0, state.first_chunk - state.started)
            span.set_attribute("gen_ai.response.time_to_first_chunk", first)
            instruments.first_chunk.record(first, dict(metric_attributes))
        span.set_attribute("liter_llm.attempts", call.attempt + 1)
        if call.cache_hit:
            span.set_attribute("liter_llm.cache_hit", True)
        end_ns = time.time_ns()
        _attempt_spans(tracer, state, failure, end_ns)
        if failure is not None:
            metric_attributes["error.type"] = failure
        instruments.duration.record(max(0.0, ended - state.started), metric_attributes)
        span.end(end_time=end_ns)


_METRIC_KEYS = frozenset(
    {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "server.address", "server.port"}
)


def _attempt_spans(tracer: Any, state: _Trace, failure: str | None, end_ns: int) -> None:
    """One child span per attempt, when the call was retried: each from its request to the next attempt."""
    if len(state.attempts) < 2:
        return
    context = trace.set_span_in_context(state.span)
    last = len(state.attempts) - 1
    for index, (start, answered, status) in enumerate(state.attempts):
        child = tracer.start_span(
            f"attempt {index + 1}",
            context=context,
            kind=SpanKind.INTERNAL,
            start_time=start,
            attributes={"liter_llm.attempt": index},
        )
        if status is not None:
            child.set_attribute("http.response.status_code", status)
        if index < last:
            # it was retried, so it failed: its HTTP status, or no answer at all (a connection error)
            kind = str(status) if status is not None else "no_answer"
            child.set_attribute("error.type", kind)
            child.set_status(Status(StatusCode.ERROR, kind))
            finish = answered if answered is not None else state.attempts[index + 1][0]
        else:
            if failure is not None:
                child.set_attribute("error.type", failure)
                child.set_status(Status(StatusCode.ERROR, failure))
            finish = end_ns
        child.end(end_time=max(start, finish))


@hookimpl(wrapper=True)
def build_request(call: Call) -> Generator[None, Any, Any]:
    """Note the start of each attempt; with ``propagate`` on, send the trace context to the provider."""
    request = yield
    state = call.state.get(_STATE)
    if isinstance(state, _Trace):
        state.attempts.append([time.time_ns(), None, None])
        if state.settings.propagate and isinstance(request, httpx.Request):
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(state.span))
            for key, value in carrier.items():
                request.headers[key] = value
    return request


@hookimpl(wrapper=True)
def auth(call: Call, request: httpx.Request) -> Generator[None, Any, Any]:
    """Watch each attempt's answer (its status and when it came) through the attempt's auth flow."""
    flow = yield
    state = call.state.get(_STATE)
    if isinstance(state, _Trace) and isinstance(flow, httpx.Auth) and state.attempts:
        return _ObservedAuth(flow, state.attempts[-1])
    return flow


class _ObservedAuth(httpx.Auth):
    """An auth flow that passes everything through to the real one and notes the last answer it saw."""

    def __init__(self, inner: httpx.Auth, attempt: list[Any]) -> None:
        self.inner = inner
        self.attempt = attempt
        self.requires_request_body = inner.requires_request_body
        self.requires_response_body = inner.requires_response_body

    def _seen(self, response: httpx.Response) -> None:
        self.attempt[1] = time.time_ns()
        self.attempt[2] = response.status_code

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The inner flow, observed."""
        flow = self.inner.sync_auth_flow(request)
        try:
            outgoing = next(flow)
        except StopIteration:
            return
        while True:
            response = yield outgoing
            self._seen(response)
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The inner flow, observed."""
        flow = self.inner.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
        except StopAsyncIteration:
            return
        while True:
            response = yield outgoing
            self._seen(response)
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return


@hookimpl(wrapper=True)
def parse_stream_event(call: Call, event: Any) -> Generator[None, Any, Any]:
    """Note when a stream's first chunk arrives (``gen_ai.response.time_to_first_chunk``)."""
    chunks = yield
    state = call.state.get(_STATE)
    if chunks and isinstance(state, _Trace) and state.first_chunk is None:
        state.first_chunk = _now(state.settings)
    return chunks


@hookimpl(wrapper=True)
def stream_parser(call: Call) -> Generator[None, Any, Any]:
    """The same for a provider with a stream parser of its own: its parser, seen through."""
    parser = yield
    state = call.state.get(_STATE)
    if parser is None or not isinstance(state, _Trace):
        return parser
    return _FirstChunkParser(parser, state)


class _FirstChunkParser:
    """A provider's stream parser that notes when its first chunk comes (``time_to_first_chunk``)."""

    __slots__ = ("_parser", "_state")

    def __init__(self, parser: Any, state: _Trace) -> None:
        self._parser = parser
        self._state = state

    def feed(self, event: Any) -> Any:
        chunks = self._parser.feed(event)
        state = self._state
        if chunks and state.first_chunk is None:
            state.first_chunk = _now(state.settings)
        return chunks

    def finish(self) -> Any:
        return self._parser.finish()
