"""The call flow, without I/O: prepare a call, run it with its hooks and retries, fall back to other models.

The flow is a generator that yields *actions* (:class:`Send` this request,
:class:`Read` that body, :class:`Sleep` this long, run an
:class:`~liter_llm.hookspecs.Effect`) and receives their results; the drivers
(:mod:`liter_llm._drivers`) perform them with blocking calls or awaits, so the
sync and async clients share every decision.  :func:`call_flow` is the whole
call: a router alias's targets and the configured fallbacks, each with the
client's retries.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from liter_llm._attrs_code import define
from liter_llm._attrs_methods import Fields
from liter_llm._call import Call, Fallback
from liter_llm._deadline import BoundedAuth, attempt_timeouts, fits
from liter_llm._header_auth import _HeaderAuth
from liter_llm._header_items import CHECKED as CHECKED_HEADER_ITEMS
from liter_llm._header_items import HEADER_VALUE_OK as _HEADER_VALUE_OK
from liter_llm._hooks import (
    culprit,
    finish_wrappers,
    log_hook_failure,
    plugin_failure,
    start_wrappers,
)
from liter_llm._log import get_logger, is_enabled
from liter_llm._routing import Routing
from liter_llm._secret import clean_header_value
from liter_llm._transport_errors import _auth_flow_bug, _raised_in, _retryable_transport, _transport_error, scrub_key
from liter_llm.clock import Clock
from liter_llm.errors import (
    RETRY_STATUSES,
    AuthenticationError,
    EndpointNotSupportedError,
    HookRejectedError,
    InternalError,
    LiterLlmError,
    RateLimitedError,
    SerializationError,
    error_from_response,
    is_transient,
)
from liter_llm.hookspecs import Effect
from liter_llm.operations import OPERATIONS, Operation, field_of, operation_named
from liter_llm.providers import ProviderSpec
from liter_llm.router import ROUTE_STATE_KEY, Route, Router, RouteTarget

if TYPE_CHECKING:
    from liter_llm._pipeline import Pipeline

__all__ = [
    "Action",
    "CallFlow",
    "FALLBACK_OPERATIONS",
    "Flow",
    "Read",
    "Send",
    "Sleep",
    "call_flow",
    "check_request_headers",
    "usable_retry_after",
]


_ERROR_BODY_LIMIT = 1024 * 1024
#: auth flows known to send no request of their own (every other one is bounded by the call's deadline)
_PLAIN_AUTHS = (httpx.Auth, _HeaderAuth, httpx.BasicAuth)


@define(slots=True, repr=False, eq=False)  # not frozen: a frozen __init__ costs twice as much
class Send(Fields):
    """Send ``request`` (streamed: headers only) and return the httpx response."""

    request: httpx.Request
    auth: httpx.Auth | None
    provider: str


@define(slots=True, repr=False, eq=False)  # not frozen: a frozen __init__ costs twice as much
class Read(Fields):
    """Read the whole body of ``response`` within ``limit`` bytes and ``deadline``."""

    response: httpx.Response
    limit: int
    deadline: float | None
    provider: str


@define(slots=True, repr=False, eq=False)  # not frozen: a frozen __init__ costs twice as much
class Sleep(Fields):
    """Wait ``seconds`` (the async client without blocking the event loop)."""

    seconds: float


Action = Send | Read | Sleep | Effect
Flow = Generator[Action, Any, Any]


def _veto(relay: Any, name: str, call: Call) -> list[Effect]:
    """Run a veto hook (``on_request``, ``check_budget``) through pluggy; returns the effects it asked for.

    The guards (:mod:`liter_llm._hooks`) name the plain implementation that
    vetoed; a HookRejectedError raised by a wrapper is named here.
    """
    caller = getattr(relay, name)
    if not caller.active:  # a direct caller (liter_llm/_dispatch.py): every per-call hook of a relay is one
        return []
    try:
        results = caller(call=call)
    except HookRejectedError as exc:
        if exc.hook is None:
            exc.hook = culprit(relay, exc) or name
        raise
    return [result for result in results or () if isinstance(result, Effect)]


def check_request_headers(request: httpx.Request) -> None:
    """Refuse a built request whose header values cannot be sent; strip surrounding whitespace.

    Catches header values from a plugin (``ProviderSpec.extra_headers``, a
    ``build_request`` hook) before anything is sent; the error names the
    header, never its value.
    """
    headers = request.headers
    checked = CHECKED_HEADER_ITEMS  # the builders' own items, checked when they were made
    fixed: list[tuple[str, str]] = []
    for item in headers._list:  # httpx's items: (name, lowered name, value)
        kept = checked.get(id(item))
        if kept is not None and kept[0] is item:
            continue
        raw_name, _, raw_value = item
        if _HEADER_VALUE_OK.fullmatch(raw_value) is None:
            name = raw_name.decode("latin-1")
            fixed.append((name, clean_header_value(name, raw_value.decode("latin-1"))))
    for name, value in fixed:
        headers[name] = value


def usable_retry_after(value: Any) -> float | None:
    """``value`` as a wait in seconds, or ``None`` when it is not one (negative, NaN, infinite, not a number).

    A ``retry_after`` comes from any ``parse_error`` hook; one that is not a
    usable wait falls back to the backoff instead of reaching ``sleep``.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class CallFlow(Routing):
    """One call: prepare, the hooks around the send, the retry loop.

    A part of :class:`~liter_llm._pipeline.Pipeline`, which sets the attributes.
    """

    clock: Clock
    is_async: bool
    retry_initial_delay: float
    jitter: Callable[[], float]
    router: Router

    def relay(self, provider: ProviderSpec) -> Any:  # pragma: no cover - Pipeline's
        """The hook relay for calls to ``provider``."""
        raise NotImplementedError

    def prepare(
        self,
        operation: Operation[Any, Any] | str,
        request: Any,
        *,
        model: str | None,
        params: dict[str, Any] | None = None,
        provider: str | None = None,
        target: RouteTarget | None = None,
    ) -> Call:
        """Route and validate a call; no I/O.  Raises before anything is sent.

        With a router ``target``, ``model`` is the target's model; the call
        gets the target's key and base URL when it has them (see docs/routing.md).
        """
        op = operation_named(operation)
        spec, wire_model = self.route(model, provider)
        if op.endpoint not in spec.endpoints:
            raise EndpointNotSupportedError(spec.name, op.name)
        key = self.api_key(spec) if target is None else self.target_key(spec, target)
        if key is None and spec.requires_api_key:
            if target is not None:
                variable = f" (or set {spec.api_key_env})" if spec.api_key_env else ""
                hint = f"give the models target {target.id!r} an api_key{variable}"
            elif self.config.api_key and spec.api_key_env:
                # the client's key belongs to another provider: never sent here
                hint = (
                    f"set {spec.api_key_env} (the client's api_key is for "
                    f"{self._default.name if self._default is not None else 'openai'!r} only), or create a client with "
                    f"model_hint={spec.name!r}"
                )
            elif spec.api_key_env:
                hint = f"set {spec.api_key_env} or pass api_key to the client"
            else:
                hint = "pass api_key to the client"
            raise AuthenticationError(f"no API key for provider {spec.name!r}: {hint}", provider=spec.name)
        now = time.monotonic()
        timeout = self.config.timeout_secs
        return Call(
            operation=op.name,
            op=op,
            provider=spec,
            model=wire_model,
            requested_model=model,
            request=request,
            params=params or {},
            base_url=self.base_url(spec) if target is None or target.base_url is None else target.base_url,
            api_key=key,
            config=self.config,
            is_async=self.is_async,
            gateway=self.gateway,
            started=now,
            deadline=now + timeout if timeout and timeout > 0 else None,
            clock=self.clock,
        )

    # -- the flow -----------------------------------------------------------
    def before_send(self, call: Call, hook: Any) -> Flow:
        """on_request, check_budget (and the effects it asks for) and the cache; returns a cached response or None."""
        _veto(hook, "on_request", call)
        for effect in _veto(hook, "check_budget", call):  # noqa: UP028 (what an effect returns is ignored)
            yield effect
        if not call.op.stream:  # a stream is never answered from a cache
            caller = hook.cached_response
            cached = caller(call=call) if caller.active else None
            if type(cached) is Effect:  # an async backend's look-up, awaited on the async client
                try:
                    cached = yield cached
                except Exception:  # a cache never fails a call
                    cached = None
            if cached is not None:
                call.cache_hit = True
                return cached
        return None

    def run(self, call: Call) -> Flow:
        """The whole non-streaming call: wrap_call, hooks, send with retries, parse, on_response."""
        hook = self.relay(call.provider)
        try:
            start_wrappers(call, hook)
            cached = yield from self.before_send(call, hook)
            if cached is not None:
                self.notify_response(call, hook, cached)
                finish_wrappers(call, result=cached)
                return cached
            response = yield from self.send_with_retries(call, hook)
            try:
                yield Read(response, call.config.max_response_bytes, call.deadline, call.provider.name)
            except Exception as exc:
                raise scrub_key(_transport_error(exc, call.provider.name, reading=True), call.api_key) from None
            try:
                result = hook.parse_response(call=call, response=response)
            except LiterLlmError as exc:
                if exc.provider is None:  # a parser's error does not always know the provider
                    exc.provider = call.provider.name
                raise
            except Exception as exc:
                raise SerializationError(
                    f"the {call.operation} answer could not be read: {type(exc).__name__}: {exc}",
                    provider=call.provider.name,
                ) from exc
            if result is None:
                raise InternalError(f"no plugin parsed the {call.operation} answer", provider=call.provider.name)
        except LiterLlmError as error:
            scrub_key(error, call.api_key)  # whatever raised it (a hook quoting the key), the key never leaves
            self.fail(call, hook, error)
            raise
        except Exception as exc:  # a plugin's bug that no guard caught (a wrapper's own)
            failure = scrub_key(plugin_failure(hook, exc, call), call.api_key)
            self.fail(call, hook, failure)
            raise failure from exc
        except BaseException:  # cancelled, or the flow was closed: no outcome
            finish_wrappers(call, closed=True)
            raise
        self.notify_response(call, hook, result)
        finish_wrappers(call, result=result)
        return result

    def open_stream(self, call: Call) -> Flow:
        """wrap_call, hooks and the retried send of a streaming call; returns the open response.

        The stream object then owns the call: it ends the wrappers when the
        stream ends, fails or is closed.
        """
        hook = self.relay(call.provider)
        try:
            start_wrappers(call, hook)
            yield from self.before_send(call, hook)
            response = yield from self.send_with_retries(call, hook)
        except LiterLlmError as error:
            scrub_key(error, call.api_key)  # whatever raised it (a hook quoting the key), the key never leaves
            self.fail(call, hook, error)
            raise
        except Exception as exc:
            failure = scrub_key(plugin_failure(hook, exc, call), call.api_key)
            self.fail(call, hook, failure)
            raise failure from exc
        except BaseException:
            finish_wrappers(call, closed=True)
            raise
        return response

    def fail(self, call: Call, hook: Any, error: LiterLlmError) -> None:
        """A call failed with ``error``: on_error, then the wrappers see it."""
        self.notify_error(call, hook, error)
        finish_wrappers(call, error=error)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        wait = usable_retry_after(retry_after)
        if wait is not None:
            return wait
        base = self.retry_initial_delay * (2.0**attempt)
        return min(base, self.config.max_retry_delay_secs) * (1.0 - 0.25 * self.jitter())

    def _may_wait(self, call: Call, delay: float) -> bool:
        if delay > self.config.max_retry_delay_secs:
            return False
        return fits(call.deadline, delay)

    @staticmethod
    def _checked_wait(call: Call, value: Any) -> float:
        """The wait a ``throttle`` hook asked for: 0 to go on; a wait that is not one is the plugin's bug."""
        if value is None or value == 0:
            return 0.0
        wait = usable_retry_after(value)
        if wait is None:
            raise InternalError(
                f"a throttle hook asked to wait {value!r} seconds, which is not a wait (a bug in that plugin)",
                provider=call.provider.name,
                hook="throttle",
            )
        return wait

    def send_with_retries(self, call: Call, hook: Any) -> Flow:
        """Throttle, build, authenticate and send; retry what may be retried; return a 2xx response."""
        config = self.config
        provider = call.provider.name
        throttle = hook.throttle
        delay = throttle(call=call) if throttle.active else None
        if type(delay) is Effect:
            delay = yield delay
        delay = self._checked_wait(call, delay) if delay is not None else 0.0
        while delay:
            if not fits(call.deadline, delay):
                raise RateLimitedError(
                    f"the client-side rate limit leaves no room before the call's timeout (wait {delay:.2f} s)",
                    provider=provider,
                    retry_after=delay,
                )
            yield Sleep(delay)
            delay = hook.throttle(call=call)
            if type(delay) is Effect:
                delay = yield delay
            delay = self._checked_wait(call, delay)
        attempt = 0
        while True:
            call.attempt = attempt
            request = hook.build_request(call=call)
            if request is None:
                raise EndpointNotSupportedError(provider, call.operation)
            check_request_headers(request)
            auth = flow_auth = hook.auth(call=call, request=request)
            timeouts = request.extensions["timeout"] = attempt_timeouts(call)
            if auth is not None and type(auth) not in _PLAIN_AUTHS:  # it may send requests of its own
                auth = BoundedAuth(auth, timeouts)
            started = time.monotonic()
            try:
                response = yield Send(request, auth, provider)
            except Exception as exc:
                if flow_auth is not None and _raised_in(exc, flow_auth):
                    raise _auth_flow_bug(hook, flow_auth, exc, provider) from exc
                error = scrub_key(_transport_error(exc, provider), call.api_key)
                self._log_attempt(call, None, started, error)
                self.notify_attempt(call, hook, None, error)
                if _retryable_transport(exc) and attempt < config.max_retries:
                    wait = self._delay(attempt, None)
                    if self._may_wait(call, wait):
                        yield Sleep(wait)
                        attempt += 1
                        continue
                raise error from None
            status = response.status_code
            if 200 <= status < 300:
                self._log_attempt(call, status, started, None)
                self.notify_attempt(call, hook, status, None)
                return response
            try:
                yield Read(response, _ERROR_BODY_LIMIT, call.deadline, provider)
            except Exception:  # an unreadable error body still gives an error of the right kind
                response._content = b""
            error = hook.parse_error(call=call, response=response) or error_from_response(
                status, response.headers, response.content, provider=provider, now=self.clock.time()
            )
            scrub_key(error, call.api_key)
            if error.retry_after is not None and usable_retry_after(error.retry_after) is None:
                error.retry_after = None  # negative, NaN or infinite: not a wait anyone can use
            self._log_attempt(call, status, started, error)
            self.notify_attempt(call, hook, status, error)
            if status in RETRY_STATUSES and attempt < config.max_retries:
                wait = self._delay(attempt, error.retry_after)
                if self._may_wait(call, wait):
                    yield Sleep(wait)
                    attempt += 1
                    continue
            raise error

    # -- notifications -----------------------------------------------------
    def notify_response(self, call: Call, hook: Any, response: Any) -> None:
        """Run on_response through pluggy; a failing hook is logged and does not change the result.

        Each plain implementation is guarded (the others still run); what a
        wrapper raises is logged here.
        """
        caller = hook.on_response
        if caller.active:
            try:
                caller(call=call, response=response)
            except Exception as exc:
                log_hook_failure(culprit(hook, exc) or "on_response", exc)

    def notify_attempt(self, call: Call, hook: Any, status: int | None, error: LiterLlmError | None) -> None:
        """Run on_attempt after one HTTP attempt (before any retry wait); a failing hook is logged and ignored."""
        caller = hook.on_attempt
        if caller.active:
            try:
                caller(call=call, status=status, error=error)
            except Exception as exc:
                log_hook_failure(culprit(hook, exc) or "on_attempt", exc)

    def notify_error(self, call: Call, hook: Any, error: LiterLlmError) -> None:
        """Run on_error through pluggy; a failing hook is logged and never masks ``error``."""
        caller = hook.on_error
        if caller.active:
            try:
                caller(call=call, error=error)
            except Exception as exc:
                if exc is not error:
                    log_hook_failure(culprit(hook, exc) or "on_error", exc)

    def _log_attempt(self, call: Call, status: int | None, started: float, error: LiterLlmError | None) -> None:
        level = logging.WARNING if error is not None else logging.DEBUG
        if not is_enabled(level):
            return
        get_logger().log(
            level,
            "llm_attempt",
            provider=call.provider.name,
            model=call.model,
            operation=call.operation,
            status=status,
            attempt=call.attempt,
            latency_ms=round((time.monotonic() - started) * 1000, 2),
            error=None if error is None else f"{type(error).__name__}: {error.message}",
        )


#: Operations that fall back to the next model (``chat_stream`` only before its first chunk).
FALLBACK_OPERATIONS = frozenset(name for name in OPERATIONS if field_of(name, "fallback"))


def _describe(attempts: list[tuple[str, LiterLlmError]]) -> str:
    return "; ".join(f"{model}: {type(error).__name__}: {error.message}" for model, error in attempts)


#: one model to try: ``(model, None, None)``, or a router target ``(target model, route, target)``
_Entry = tuple["str | None", "Route | None", "RouteTarget | None"]


def _entries(pipeline: Pipeline, name: str | None, failover: bool) -> list[_Entry]:
    """What to try for ``name``: an alias's targets in its strategy's order (only the first one when the
    operation does not fall over), else the model itself."""
    alias = pipeline.router.get(name)
    if alias is None:
        return [(name, None, None)]
    order = pipeline.router.order(alias)
    if not failover:
        order = order[:1]
    return [
        (
            target.model,
            Route(
                alias=alias.name,
                target=str(target.id),
                index=index,
                model=target.model,
                own_key=target.api_key is not None,
                own_base_url=target.base_url is not None,
            ),
            target,
        )
        for index, target in order
    ]


def call_flow(
    pipeline: Pipeline,
    operation: Operation[Any, Any] | str,
    request: Any,
    *,
    model: str | None,
    params: dict[str, Any] | None = None,
    provider: str | None = None,
) -> Flow:
    """Route and run a call, trying an alias's targets and then the configured fallbacks in order.

    A ``model`` that is a router alias (``models``) becomes its targets, in
    the order its strategy gives (:class:`liter_llm.router.Router`); a
    fallback that is an alias likewise.  Each model gets the client's own
    retries; the next one is tried after a transient error
    (:func:`liter_llm.errors.is_transient`).  When all fail, the last error
    carries ``attempts`` (a list of ``(model, error)``) and a message listing
    them; an error of a routed call carries its :class:`~liter_llm.router.Route`
    as ``route``.  Returns the result; for ``chat_stream`` returns
    ``(call, open_response)``.
    """
    op = operation_named(operation)
    fallbacks = pipeline.config.fallbacks
    router = pipeline.router
    failover = op.fallback and model is not None and provider is None
    routed = provider is None and router.get(model) is not None
    entries: list[_Entry] = _entries(pipeline, model, failover) if routed else [(model, None, None)]
    if fallbacks and failover:
        for fallback in fallbacks:
            if fallback != model:
                entries.extend(_entries(pipeline, fallback, failover))
    last = len(entries) - 1
    if last == 0:
        return (yield from _try_models(pipeline, op, request, params, provider, entries, None, []))
    # more than one model: the wrap_fallback generators wrap them all (see the hookspec)
    group = Fallback(models=tuple(name or "" for name, _, _ in entries))
    wrappers: list[Any] = []
    try:
        return (yield from _try_models(pipeline, op, request, params, provider, entries, group, wrappers))
    except LiterLlmError as error:
        finish_wrappers(None, error=error, wrappers=wrappers)
        raise
    except BaseException:  # cancelled, or the flow was closed: no outcome
        finish_wrappers(None, closed=True, wrappers=wrappers)
        raise


def _try_models(  # noqa: PLR0917 (call_flow's own arguments, passed on)
    pipeline: Pipeline,
    op: Operation[Any, Any],
    request: Any,
    params: dict[str, Any] | None,
    provider: str | None,
    entries: list[_Entry],
    group: Fallback | None,
    wrappers: list[Any],
) -> Flow:
    """:func:`call_flow`'s loop over the models; with a ``group``, its ``wrap_fallback`` generators go to
    ``wrappers`` (a stream's move to its call, to end with the stream; a result ends them here)."""
    stream = op.stream
    router = pipeline.router
    last = len(entries) - 1
    attempts: list[tuple[str, LiterLlmError]] = []
    for index, (name, route, target) in enumerate(entries):
        keep = request is None or (index == 0 and route is None)
        current = request if keep else attrs.evolve(request, model=name)
        started = pipeline.clock.monotonic() if route is not None else 0.0  # the router's latency only
        try:
            call = pipeline.prepare(op, current, model=name, params=params, provider=provider, target=target)
            if group is not None:
                call.fallback = group
                call.fallback_index = index
                if not group._started:
                    group._started = True
                    start_wrappers(call, pipeline.relay(call.provider), "wrap_fallback", wrappers)
            if route is not None:
                call.state[ROUTE_STATE_KEY] = route
                tracker = router.tracker(route)
                next(tracker)
                call._wrappers.insert(0, (tracker, None))  # the outermost wrapper: ends with the call
            if stream:
                response = yield from pipeline.open_stream(call)
                if route is not None:
                    router.observe(route, pipeline.clock.monotonic() - started)
                call._wrappers[0:0] = wrappers  # the outermost: the stream ends them after the call's own
                wrappers.clear()
                return call, response
            result = yield from pipeline.run(call)
            if route is not None and not call.cache_hit:
                router.observe(route, pipeline.clock.monotonic() - started)
            finish_wrappers(None, result=result, wrappers=wrappers)
            return result
        except LiterLlmError as error:
            if route is not None:
                error.route = route  # type: ignore[attr-defined]
            if last == 0:
                raise
            attempts.append((name or "", error))
            if index < last and is_transient(error):
                get_logger().warning(
                    "fallback",
                    failed_model=name,
                    next_model=entries[index + 1][0],
                    error=f"{type(error).__name__}: {error.message}",
                )
                continue
            error.attempts = list(attempts)  # type: ignore[attr-defined]
            if len(attempts) > 1:
                error.message = f"{error.message} (tried {len(attempts)} models: {_describe(attempts)})"
            raise
    raise AssertionError("unreachable")  # pragma: no cover
