"""OpenTelemetry traces and metrics for liter-llm, on the GenAI semantic conventions.

A global plugin (entry point ``otel`` in the ``liter_llm`` group), written on the
whole-call hook ``wrap_call``.  It takes part in a call only when the client's
configuration asks for it: ``tracing = true``, or a ``[plugins.otel]`` table
(``create_client(plugins={"otel": {...}})``) whose ``enabled`` is not false.
Otherwise it takes no part in that client's calls (its ``takes_part`` hook
answers ``False``): none of its hooks runs and a call costs nothing extra.

Per call it records, through the application's own providers (the ones given
as ``tracer_provider`` / ``meter_provider`` in the plugin table, else the
global ones of ``opentelemetry.trace`` / ``opentelemetry.metrics``):

* one ``CLIENT`` span named ``{gen_ai.operation.name} {gen_ai.request.model}``
  with the conventions' request, response, usage, ``error.type`` and
  ``server.*`` attributes; a stream's span lasts until the stream ends, fails
  or is closed, and carries ``gen_ai.response.time_to_first_chunk``;
* one child span per attempt when the call was retried (``liter_llm.attempt``);
* the ``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage``
  histograms (and ``gen_ai.client.operation.time_to_first_chunk`` and
  ``gen_ai.client.operation.time_per_output_chunk`` for streams) with the
  conventions' attributes and bucket boundaries, and the
  ``liter_llm.client.cost`` counter (US dollars, when the cost is known).

A stream's chunk times come from the core (``Call.first_chunk_at``,
``Call.last_chunk_at``, ``Call.chunk_count``, on the client's clock): the plugin
has no per-chunk hook, so a stream costs it nothing per chunk.

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
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from liter_llm import BadRequestError, Call, Fallback, LiterLlmError, hookimpl
from liter_llm.clock import SystemClock

if TYPE_CHECKING:
    from opentelemetry import metrics, propagate, trace
else:
    # OpenTelemetry is imported with the first call of a client that asks for tracing
    # (:func:`_opentelemetry`): an installed plugin costs a client that does not trace nothing
    metrics = propagate = trace = None

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


def _opentelemetry() -> None:
    """Import OpenTelemetry's API (once, on the first traced call)."""
    global metrics, propagate, trace
    if trace is None:
        import opentelemetry.metrics
        import opentelemetry.propagate
        import opentelemetry.trace

        metrics, propagate, trace = opentelemetry.metrics, opentelemetry.propagate, opentelemetry.trace


def _settings(call: Call) -> _Settings | None:
    """The settings of a call, or ``None`` when the client did not ask for tracing."""
    table = call.config.plugins.get("otel")
    if table is None:
        if not call.config.tracing:
            return None
        table = {}
    elif not isinstance(table, Mapping):
        raise BadRequestError("plugins.otel: must be a table of settings")
    elif not _flag(table.get("enabled", True), "enabled"):
        return None
    settings = _Settings(table)
    _opentelemetry()
    return settings


class _Instruments:
    """The histograms and the cost counter of one meter provider."""

    __slots__ = ("cost", "duration", "first_chunk", "per_chunk", "tokens")

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
        self.per_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            unit="s",
            description="Time per output chunk of a streamed answer, after the first one.",
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


def _now(settings: _Settings, call: Call) -> float:
    """The duration clock's reading: the ``clock`` setting's, else the client's."""
    clock = settings.clock if settings.clock is not None else call.clock
    return float(clock.monotonic())


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

    __slots__ = ("attempts", "call_started", "emitted", "settings", "span", "tracer")

    def __init__(self, settings: _Settings, tracer: Any, span: Any, call_started: float) -> None:
        self.settings = settings
        self.tracer = tracer
        self.span = span
        #: the client's clock at the start (the core's chunk times are on it)
        self.call_started = call_started
        #: per attempt: [start ns (build_request), end ns or None, HTTP status or None, error.type or None]
        self.attempts: list[list[Any]] = []
        #: how many attempt spans were made (each once the next attempt started)
        self.emitted = 0


class _Group:
    """What the plugin keeps in ``call.fallback.state`` for the models one client call tries."""

    __slots__ = ("settings", "span")

    def __init__(self, settings: _Settings, span: Any) -> None:
        self.settings = settings
        self.span = span


def _ns(call: Call) -> int:
    """The client's wall clock in nanoseconds (a ``ManualClock``'s time in tests), for span times."""
    clock = call.clock
    return time.time_ns() if type(clock) is SystemClock else int(clock.time() * 1e9)


def _tracer(settings: _Settings) -> Any:
    return (settings.tracer_provider or trace.get_tracer_provider()).get_tracer(SCOPE, VERSION)


@hookimpl
def takes_part(config: Any) -> bool:
    """Take part in a client's calls only when its configuration asks for tracing (see the module docstring).

    A client that does not trace then runs none of this plugin's hooks.  A ``[plugins.otel]`` table
    that is not a table, or whose ``enabled`` is not a boolean, takes part: its first call reports
    the mistake.
    """
    table = config.plugins.get("otel")
    if table is None:
        return bool(config.tracing)
    if not isinstance(table, Mapping):
        return True
    try:
        return _flag(table.get("enabled", True), "enabled")
    except BadRequestError:
        return True


@hookimpl
def wrap_fallback(call: Call) -> Generator[None, Any, None] | None:
    """One span around the models a client call tries (router targets, ``fallbacks``), each a child span."""
    settings = _settings(call)
    if settings is None or call.fallback is None:
        return None
    return _fallback_traced(call, call.fallback, settings)


def _fallback_traced(call: Call, group: Fallback, settings: _Settings) -> Generator[None, Any, None]:
    operation = operation_name(call)
    requested = call.requested_model or call.model
    attributes: dict[str, Any] = {"liter_llm.operation": operation, "liter_llm.fallback.models": list(group.models)}
    if requested:
        attributes["liter_llm.requested_model"] = requested
    span = _tracer(settings).start_span(
        f"{operation} {requested}" if requested else operation,
        kind=trace.SpanKind.INTERNAL,
        attributes=attributes,
        start_time=_ns(call),
    )
    group.state[_STATE] = _Group(settings, span)
    try:
        yield
    except LiterLlmError as error:
        failure = error_type(error)
        span.set_attribute("error.type", failure)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{failure}: {error.message}"[:500]))
        raise
    except GeneratorExit:
        span.set_attribute("liter_llm.outcome", "closed")
        raise
    finally:
        span.end(end_time=_ns(call))


@hookimpl
def wrap_call(call: Call) -> Generator[None, Any, None] | None:
    """Trace and measure one call, when the client's configuration asks for it (see the module docstring)."""
    settings = _settings(call)
    if settings is None:
        return None
    return _traced(call, settings)


def _traced(call: Call, settings: _Settings) -> Generator[None, Any, None]:
    tracer = _tracer(settings)
    instruments = _instruments_for(settings.meter_provider)
    attributes = _request_attributes(call)
    name = f"{attributes['gen_ai.operation.name']} {call.model}" if call.model else attributes["gen_ai.operation.name"]
    # the span is a child of the caller's current span (or of the fallback group's); it is never made
    # current itself, because a stream's span outlives the caller's frame (and contexts cannot be
    # detached across tasks)
    group = call.fallback.state.get(_STATE) if call.fallback is not None else None
    context = trace.set_span_in_context(group.span) if isinstance(group, _Group) else None
    if isinstance(group, _Group):
        attributes["liter_llm.fallback.index"] = call.fallback_index
        group.span.set_attribute("liter_llm.fallback.tried", call.fallback_index + 1)
    span = tracer.start_span(
        name, context=context, kind=trace.SpanKind.CLIENT, attributes=attributes, start_time=_ns(call)
    )
    started = _now(settings, call)
    state = _Trace(settings, tracer, span, call.clock.monotonic())
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
        span.set_status(trace.Status(trace.StatusCode.UNSET))
    except LiterLlmError as error:
        failure = error_type(error)
        span.set_attribute("error.type", failure)
        if error.status_code is not None:
            span.set_attribute("http.response.status_code", error.status_code)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{failure}: {error.message}"[:500]))
        raise
    except GeneratorExit:
        # a stream closed before its end (or a cancelled call): no outcome, so no error either
        span.set_attribute("liter_llm.outcome", "closed")
        raise
    finally:
        ended = _now(settings, call)
        _chunk_times(call, state, span, instruments, metric_attributes)
        span.set_attribute("liter_llm.attempts", call.attempt + 1)
        if call.cache_hit:
            span.set_attribute("liter_llm.cache_hit", True)
        end_ns = _ns(call)
        if len(state.attempts) > 1:
            _attempt_spans(state, len(state.attempts), failure, end_ns)
        if failure is not None:
            metric_attributes["error.type"] = failure
        instruments.duration.record(max(0.0, ended - started), metric_attributes)
        span.end(end_time=end_ns)


def _chunk_times(call: Call, state: _Trace, span: Any, instruments: _Instruments, attributes: dict[str, Any]) -> None:
    """A stream's time to its first chunk, and its mean time per chunk after the first (from the core's times)."""
    first_at = call.first_chunk_at
    if first_at is None:
        return
    first = max(0.0, first_at - state.call_started)
    span.set_attribute("gen_ai.response.time_to_first_chunk", first)
    instruments.first_chunk.record(first, dict(attributes))
    last_at = call.last_chunk_at
    if call.chunk_count > 1 and last_at is not None:
        # one value per stream, the mean gap: recording every chunk would cost as much as parsing it
        instruments.per_chunk.record(max(0.0, last_at - first_at) / (call.chunk_count - 1), dict(attributes))


_METRIC_KEYS = frozenset(
    {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "server.address", "server.port"}
)


def _attempt_spans(state: _Trace, upto: int, failure: str | None, end_ns: int) -> None:
    """The child spans of the attempts ``state.emitted`` .. ``upto - 1`` (made once a retry showed there were several).

    Each runs from its request to its outcome as ``on_attempt`` saw it, so no span holds the wait
    before the next attempt.  The call's last attempt ends with the call (``end_ns``), with the
    call's ``failure``.
    """
    context = trace.set_span_in_context(state.span)
    last = len(state.attempts) - 1
    for index in range(state.emitted, upto):
        start, finished, status, kind = state.attempts[index]
        child = state.tracer.start_span(
            f"attempt {index + 1}",
            context=context,
            kind=trace.SpanKind.INTERNAL,
            start_time=start,
            attributes={"liter_llm.attempt": index},
        )
        if status is not None:
            child.set_attribute("http.response.status_code", status)
        if index == last and upto == len(state.attempts):  # the call's last attempt: it ends with the call
            kind = failure
            finished = end_ns
        if kind is not None:
            child.set_attribute("error.type", kind)
            child.set_status(trace.Status(trace.StatusCode.ERROR, kind))
        child.end(end_time=max(start, finished if finished is not None else start))
    state.emitted = max(state.emitted, upto)


@hookimpl(wrapper=True)
def build_request(call: Call) -> Generator[None, Any, Any]:
    """Note the start of each attempt; with ``propagate`` on, send the trace context to the provider."""
    request = yield
    state = call.state.get(_STATE)
    if isinstance(state, _Trace):
        state.attempts.append([_ns(call), None, None, None])
        if len(state.attempts) > 1:  # a retry: the attempts before it are over, and were more than one
            _attempt_spans(state, len(state.attempts) - 1, None, 0)
        if state.settings.propagate and isinstance(request, httpx.Request):
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(state.span))
            for key, value in carrier.items():
                request.headers[key] = value
    return request


@hookimpl
def on_attempt(call: Call, status: int | None, error: LiterLlmError | None) -> None:
    """End the current attempt: its time, HTTP status and error (before any retry wait)."""
    state = call.state.get(_STATE)
    if isinstance(state, _Trace) and state.attempts:
        attempt = state.attempts[-1]
        attempt[1] = _ns(call)
        attempt[2] = status
        attempt[3] = error_type(error) if error is not None else None
