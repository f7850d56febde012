"""The one request pipeline behind both clients.

The pipeline is written once, without I/O: it is a generator that yields
*actions* (send this request, read that body, sleep this long) and receives
their results.  The sync client runs it with blocking calls and the async
client with awaits (``drive_sync`` / ``drive_async``), so the twins share every
decision: routing, hooks, retries, error mapping and parsing.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any

import attrs
import httpx
import pluggy

from liter_llm._body import body_pieces
from liter_llm._call import Call, Fallback
from liter_llm._deadline import BoundedAuth, deadline_scope
from liter_llm._hooks import (
    culprit,
    finish_wrappers,
    install_guards,
    log_hook_failure,
    plugin_failure,
    start_wrappers,
)
from liter_llm._log import get_logger, is_enabled
from liter_llm._plugins import GATEWAY, get_registry, new_plugin_manager, spec_from_custom
from liter_llm._secret import SecretStr, clean_header_value, clean_secret, scrub_text, secret_forms
from liter_llm._wire import _HeaderAuth
from liter_llm.builtins.openai_wire import OPENAI_WIRE
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import ClientConfig
from liter_llm.errors import (
    RETRY_STATUSES,
    AuthenticationError,
    BadRequestError,
    EndpointNotSupportedError,
    HookRejectedError,
    InternalError,
    LiterLlmError,
    LiterLlmTimeoutError,
    RateLimitedError,
    SerializationError,
    ServiceUnavailableError,
    error_from_response,
    is_transient,
)
from liter_llm.hookspecs import Effect
from liter_llm.operations import OPERATIONS, Operation, operation_named
from liter_llm.providers import ProviderSpec
from liter_llm.router import ROUTE_STATE_KEY, Route, Router, RouteTarget

__all__ = [
    "FALLBACK_OPERATIONS",
    "DeadlineTimeouts",
    "Pipeline",
    "Read",
    "Send",
    "Sleep",
    "call_flow",
    "drive_async",
    "drive_sync",
    "read_async",
    "read_sync",
    "release_async",
]

_ERROR_BODY_LIMIT = 1024 * 1024
_DEFAULT_INITIAL_DELAY = 0.5
#: auth flows known to send no request of their own (every other one is bounded by the call's deadline)
_PLAIN_AUTHS = (httpx.Auth, _HeaderAuth, httpx.BasicAuth)


@attrs.frozen(slots=True)
class Send:
    """Send ``request`` (streamed: headers only) and return the httpx response."""

    request: httpx.Request
    auth: httpx.Auth | None
    provider: str


@attrs.frozen(slots=True)
class Read:
    """Read the whole body of ``response`` within ``limit`` bytes and ``deadline``."""

    response: httpx.Response
    limit: int
    deadline: float | None
    provider: str


@attrs.frozen(slots=True)
class Sleep:
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
    if not caller.get_hookimpls():
        return []
    try:
        results = caller(call=call)
    except HookRejectedError as exc:
        if exc.hook is None:
            exc.hook = culprit(relay, exc) or name
        raise
    return [result for result in results or () if isinstance(result, Effect)]


class _DirectCaller:
    """A hook caller that does what pluggy's call loop would, without the loop.

    Used for a hook with no implementation (``None``, or ``[]`` for a hook that
    collects results), with one plain implementation (its function, guarded
    by :mod:`liter_llm._hooks`, is called with the arguments it names), or --
    for a first-result hook -- one plain implementation inside new-style
    wrappers (``wrapper=True``), run in pluggy's order with pluggy's rules:
    each wrapper runs to its ``yield``, outermost first; the result or the
    error is sent back in, innermost first; what a wrapper returns or raises
    replaces it.  Any other shape goes through pluggy.  ``get_hookimpls()``,
    ``name`` and the rest of pluggy's HookCaller are pluggy's.
    """

    __slots__ = ("_argnames", "_caller", "_firstresult", "_function", "_wrappers", "name")

    def __init__(self, caller: pluggy.HookCaller) -> None:
        self._caller = caller
        self.name = caller.name
        self._firstresult = bool(caller.spec is not None and caller.spec.opts.get("firstresult"))
        self._refresh()

    def _refresh(self) -> None:
        impls = self._caller.get_hookimpls()
        plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]
        wrappers = [impl for impl in impls if impl.wrapper or impl.hookwrapper]
        self._wrappers: tuple[tuple[Any, tuple[str, ...]], ...] = ()
        self._function: Any = plain[0].function if plain else None
        self._argnames = tuple(plain[0].argnames) if plain else ()
        if not wrappers and len(plain) <= 1:
            return
        shaped = (
            self._firstresult
            and len(plain) == 1
            and impls[0] is plain[0]  # pluggy runs the wrappers (listed after it) first
            and all(impl.wrapper and not impl.hookwrapper for impl in wrappers)
        )
        if shaped:
            self._wrappers = tuple((impl.function, tuple(impl.argnames)) for impl in reversed(wrappers))
        else:
            self._function = self._caller  # pluggy's loop
            self._argnames = ()

    def get_hookimpls(self) -> list[Any]:
        return self._caller.get_hookimpls()

    def __getattr__(self, name: str) -> Any:  # the rest of pluggy's HookCaller (has_spec, spec, ...)
        return getattr(self._caller, name)

    def _add_hookimpl(self, impl: Any) -> None:  # a plugin registered after the relay was built
        self._caller._add_hookimpl(impl)
        self._refresh()

    def _remove_plugin(self, plugin: Any) -> None:
        self._caller._remove_plugin(plugin)
        self._refresh()

    def __call__(self, **kwargs: Any) -> Any:
        function = self._function
        if function is None:
            return None if self._firstresult else []
        if function is self._caller:
            return function(**kwargs)
        if self._wrappers:
            return self._wrapped(kwargs)
        result = function(*[kwargs[name] for name in self._argnames])
        if self._firstresult:
            return result
        return [] if result is None else [result]

    def _wrapped(self, kwargs: dict[str, Any]) -> Any:
        """pluggy's ``_multicall`` for new-style wrappers around one plain implementation."""
        teardowns: list[Any] = []
        result: Any = None
        exception: BaseException | None = None
        try:
            for wrapper, argnames in self._wrappers:
                generator = wrapper(*[kwargs[name] for name in argnames])
                try:
                    next(generator)
                except StopIteration:
                    raise RuntimeError(f"wrap_fail: {wrapper.__qualname__} did not yield") from None
                teardowns.append(generator)
            result = self._function(*[kwargs[name] for name in self._argnames])
        except BaseException as exc:
            exception = exc
        for teardown in reversed(teardowns):
            try:
                if exception is not None:
                    teardown.throw(exception)
                else:
                    teardown.send(result)
                teardown.close()
            except StopIteration as stop:
                result = stop.value
                exception = None
                continue
            except BaseException as exc:
                exception = exc
                continue
            exception = RuntimeError(f"wrap_fail: {teardown.gi_code.co_name} has second yield")
        if exception is not None:
            raise exception
        return result

    def __repr__(self) -> str:
        return f"<direct hook caller {self.name!r}>"


def _direct_calls(pm: pluggy.PluginManager) -> None:
    """Replace, on ``pm.hook``, each per-call hook's caller by a :class:`_DirectCaller` where that is exact.

    pluggy's call loop costs a few microseconds per call; most hooks of a
    call have no implementation or only the core's default (inside a wrapper
    or two).  Any other shape, and historic hooks, keep pluggy's caller.
    The relay is built once per provider and not registered to afterwards.
    """
    relay = pm.hook
    for name, caller in list(vars(relay).items()):
        if not isinstance(caller, pluggy.HookCaller) or caller.spec is None or name in _NOT_PER_CALL:
            continue
        if caller.spec.opts.get("historic"):
            continue
        direct = _DirectCaller(caller)
        if direct._function is not caller:
            setattr(relay, name, direct)


#: hooks the core calls outside a request (discovery, the CLI): left to pluggy
_NOT_PER_CALL = frozenset({"register_providers", "register_commands"})


def _transport_error(exc: Exception, provider: str, *, reading: bool = False) -> LiterLlmError:
    """Map an httpx exception to our kinds."""
    if isinstance(exc, LiterLlmError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for the provider"
        return LiterLlmTimeoutError(f"timed out while {what}: {exc or type(exc).__name__}", provider=provider)
    if isinstance(exc, httpx.DecodingError):
        return SerializationError(f"the answer could not be decoded: {exc}", provider=provider)
    if isinstance(exc, httpx.ConnectError):
        return ServiceUnavailableError(f"could not connect: {exc}", provider=provider)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
        where = "while reading the answer" if reading else "before answering"
        return ServiceUnavailableError(f"the connection was closed {where}: {exc}", provider=provider)
    if isinstance(exc, httpx.LocalProtocolError):  # our own request is not valid HTTP: never retried
        return BadRequestError(
            f"the request was not sent: it is not valid HTTP ({_header_problem(exc)})", provider=provider
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BadRequestError(f"unsupported URL: {exc}", provider=provider)
    if isinstance(exc, httpx.InvalidURL):
        return BadRequestError(f"invalid URL: {exc}", provider=provider)
    if isinstance(exc, httpx.HTTPError):
        return ServiceUnavailableError(f"{type(exc).__name__}: {exc}", provider=provider)
    if isinstance(exc, ValueError) and "header" in str(exc).lower():  # aiohttp refusing a header value
        return BadRequestError(
            "the request was not sent: a header value is not valid HTTP (it has a control character)",
            provider=provider,
        )
    return InternalError(f"unexpected {type(exc).__name__} in the transport: {exc}", provider=provider)


def scrub_key(error: LiterLlmError, key: SecretStr | None) -> LiterLlmError:
    """Remove the call's API key from an error's text, in its plain, ``repr`` and bytes-``repr`` forms.

    Some providers echo the key they were sent, and a transport error may
    quote the header that carried it.
    """
    secret = key.get_secret_value() if key is not None else ""
    if len(secret) >= 4:
        forms = secret_forms(secret)
        if error.message:
            message = scrub_text(error.message, forms)
            if message != error.message:
                error.message = message
                error.args = (message,)
        if error.body:
            error.body = scrub_text(error.body, forms)
        reason = getattr(error, "reason", None)
        if isinstance(reason, str):
            error.reason = scrub_text(reason, forms)  # type: ignore[attr-defined]
        _scrub_chain(error, forms)
    return error


def _raised_in(exc: BaseException, auth: httpx.Auth) -> bool:
    """Whether ``exc`` is a bug of the ``auth`` flow itself (not a LiterLlmError, nor the network's)."""
    if isinstance(exc, (LiterLlmError, httpx.HTTPError, OSError)):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_locals.get("self") is auth and tb.tb_frame.f_code.co_name.endswith("auth_flow"):
            return True
        tb = tb.tb_next
    return False


def _auth_flow_bug(relay: Any, auth: httpx.Auth, exc: BaseException, provider: str) -> InternalError:
    """The InternalError for an auth flow that raised, naming the plugin whose ``auth`` hook returned it."""
    flow = type(auth)
    where = f"{flow.__module__}.{flow.__qualname__} (auth flow)"
    for impl in relay.auth.get_hookimpls():
        function = getattr(impl.function, "__wrapped__", impl.function)
        if getattr(function, "__module__", None) == flow.__module__:
            where = f"{impl.plugin_name}.auth"
            break
    return InternalError(
        f"the auth flow {flow.__qualname__} of {where} failed: {type(exc).__name__}: {exc} (a bug in that plugin)",
        provider=provider,
        hook=where,
    )


def _scrub_chain(error: BaseException, forms: tuple[str, ...]) -> None:
    """Scrub the text of the exceptions ``error`` was raised from (a traceback prints them too)."""
    seen = {id(error)}
    link = error.__cause__ or error.__context__
    while link is not None and id(link) not in seen and len(seen) < 16:
        seen.add(id(link))
        if isinstance(link, LiterLlmError):
            link.message = scrub_text(link.message, forms)
            if link.body:
                link.body = scrub_text(link.body, forms)
        if any(isinstance(arg, str) for arg in link.args):
            try:
                link.args = tuple(scrub_text(arg, forms) if isinstance(arg, str) else arg for arg in link.args)
            except Exception:  # an exception type whose args cannot be set: leave it
                pass
        link = link.__cause__ or link.__context__


def _header_problem(exc: httpx.LocalProtocolError) -> str:
    """h11's complaint about a request, without the offending bytes (they may hold a key)."""
    text = str(exc)
    for quote in (" b'", ' b"', " '", ' "'):
        text = text.split(quote, 1)[0]
    return text or type(exc).__name__


def check_request_headers(request: httpx.Request) -> None:
    """Refuse a built request whose header values cannot be sent; strip surrounding whitespace.

    Catches header values from a plugin (``ProviderSpec.extra_headers``, a
    ``build_request`` hook) before anything is sent; the error names the
    header, never its value.
    """
    headers = request.headers
    fixed: list[tuple[str, str]] = []
    for raw_name, raw_value in headers.raw:
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


#: a header value as h11 sends it: visible ASCII, with single spaces or tabs inside only
_HEADER_VALUE_OK = re.compile(rb"(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?")


def _retryable_transport(exc: Exception) -> bool:
    return isinstance(
        exc,
        (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError),
    )


class DeadlineTimeouts(dict[str, "float | None"]):
    """httpx's timeout extension whose values shrink as the call's deadline approaches.

    httpcore looks the ``read``/``write``/``pool`` timeout up (``.get``) before
    every socket operation, so a server that drips its status line, headers
    or body one byte at a time cannot hold a call past its deadline: each
    read may wait only for the time that is left.  ``deadline`` (a
    ``time.monotonic()`` value) is also read by the async transport, which
    bounds the wait for the headers with it.
    """

    __slots__ = ("deadline",)

    def __init__(self, deadline: float, **values: float | None) -> None:
        super().__init__(values)
        self.deadline = deadline

    def get(self, key: str, default: float | None = None) -> float | None:  # type: ignore[override]
        value = dict.get(self, key, default)
        if key == "connect":
            return value
        left = max(self.deadline - time.monotonic(), 0.001)
        return left if value is None or value > left else value


def _checked_config(config: ClientConfig) -> ClientConfig:
    """The configuration with its key and extra header values stripped and checked (at client creation)."""
    changes: dict[str, Any] = {}
    key = config.api_key
    if key is not None:
        secret = key.get_secret_value() if isinstance(key, SecretStr) else str(key)
        cleaned = clean_secret(secret, "api_key")
        if cleaned != secret or not isinstance(key, SecretStr):
            changes["api_key"] = SecretStr(cleaned) if cleaned else None
    if config.extra_headers:
        headers = {name: clean_header_value(name, value) for name, value in config.extra_headers.items()}
        if headers != config.extra_headers:
            changes["extra_headers"] = headers
    return attrs.evolve(config, **changes) if changes else config


class Pipeline:
    """Routing, hooks and the retry loop, shared by ``DefaultClient`` and ``AsyncDefaultClient``."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        hooks: Iterable[Any] = (),
        disabled_plugins: Iterable[str] = (),
        is_async: bool = False,
        retry_initial_delay: float = _DEFAULT_INITIAL_DELAY,
        clock: Clock | None = None,
        jitter: Callable[[], float] = random.random,
        rng: Any = None,
    ) -> None:
        """``clock`` measures rate-limit windows, cooldowns, HTTP-date waits and the router's latencies;
        ``jitter`` gives the fraction in [0, 1) of the backoff's random quarter that is taken off (tests pass
        a fixed one); ``rng`` draws the router's ``weighted`` choices (a ``random.Random``)."""
        self.config = config = _checked_config(config)
        if clock is not None and not isinstance(clock, Clock):
            raise BadRequestError("clock: expected a liter_llm.clock.Clock (monotonic, time, sleep, asleep)")
        self.clock: Clock = SYSTEM_CLOCK if clock is None else clock
        self.is_async = is_async
        self.registry = get_registry()
        self.retry_initial_delay = retry_initial_delay
        self.jitter = jitter
        self.configured_providers = tuple(
            spec_from_custom(p, field=f"providers[{i}]") for i, p in enumerate(config.providers)
        )
        disabled = set(disabled_plugins)
        from liter_llm.builtins import builtin_plugins

        self.builtins: list[tuple[str, Any]] = [
            (name, plugin) for name, plugin in builtin_plugins(config, self.clock) if name not in disabled
        ]
        #: the ``openai_wire`` built-in (the OpenAI format), unless ``disable_plugins`` names it
        self.wire_default = "openai_wire" not in disabled
        self.user_hooks = list(hooks)
        self.global_plugins = [(n, p) for n, p in self.registry.global_plugins if n not in disabled]
        self._relays: dict[str, tuple[int, pluggy.PluginManager]] = {}
        self.gateway = bool(config.base_url) and not config.model_hint
        self._default: ProviderSpec | None = None
        if config.model_hint and not self.gateway:
            hinted = self._lookup(config.model_hint)
            if hinted is None:
                raise BadRequestError(
                    f"model_hint: unknown provider {config.model_hint!r}; installed providers: "
                    f"{', '.join(sorted(self.registry.all_providers())) or 'none'}"
                )
            self._default = hinted
        self.router = Router(config.models, rng=rng)
        if config.models:
            names = {spec.name for spec in self.configured_providers} | set(self.registry.all_providers())
            self.router.check(sorted(names), self.route)
        # validate user hooks now, not on the first call
        probe = new_plugin_manager()
        for index, hook in enumerate(self.user_hooks):
            try:
                probe.register(hook, name=f"user-hook-{index}")
            except Exception as exc:
                raise BadRequestError(f"hooks[{index}]: not a valid hook object: {exc}") from exc
        try:
            probe.check_pending()
        except Exception as exc:
            raise BadRequestError(f"hooks: {exc}") from exc

    # -- plugins ----------------------------------------------------------
    def _lookup(self, name: str) -> ProviderSpec | None:
        if self.gateway and name == GATEWAY.name:  # a gateway client's calls (its transport, a cassette's too)
            return GATEWAY
        for spec in self.configured_providers:
            if spec.name == name:
                return spec
        return self.registry.get(name)

    def relay(self, provider: ProviderSpec) -> Any:
        """The hook relay for calls to ``provider`` (built once per provider, then cached)."""
        cached = self._relays.get(provider.name)
        if cached is not None and cached[0] == id(provider.plugin):
            return cached[1].hook
        pm = new_plugin_manager()
        if self.wire_default:
            pm.register(OPENAI_WIRE, name="builtin.openai_wire")
        for name, plugin in self.builtins:
            pm.register(plugin, name=f"builtin.{name}")
        for name, plugin in self.global_plugins:
            if pm.is_registered(plugin):
                continue
            pm.register(plugin, name=name)
        for index, hook in enumerate(self.user_hooks):
            pm.register(hook, name=f"user-hook-{index}")
        if provider.plugin is not None and not pm.is_registered(provider.plugin):
            pm.register(provider.plugin, name=f"provider.{provider.name}")
        install_guards(pm)
        _direct_calls(pm)
        self._relays[provider.name] = (id(provider.plugin), pm)
        return pm.hook

    # -- routing ------------------------------------------------------------
    def default_provider(self) -> ProviderSpec:
        """The provider used when the model names none (model_hint, else OpenAI)."""
        if self.gateway:
            return GATEWAY
        if self._default is not None:
            return self._default
        spec = self.registry.get("openai")
        if spec is None:
            raise BadRequestError(
                "no provider matched and the default provider 'openai' is not installed: "
                "pip install liter-llm (or name a provider: 'provider/model')"
            )
        return spec

    def route(self, model: str | None, provider_name: str | None = None) -> tuple[ProviderSpec, str | None]:
        """Resolve the provider and the on-the-wire model name."""
        if self.gateway:
            return GATEWAY, model
        if provider_name:
            spec = self._lookup(provider_name)
            if spec is None:
                raise BadRequestError(f"unknown provider {provider_name!r}")
            return spec, model
        if model is None:
            return self.default_provider(), None
        if not isinstance(model, str) or not model:
            raise BadRequestError("model: a non-empty model name is required")
        spec, wire_model = self.registry.resolve(model, self.configured_providers)
        if spec is None:
            if self._default is None and "/" in model:
                raise self._unknown_prefix(model)
            return self.default_provider(), model
        if not wire_model:
            raise BadRequestError(f"model: {model!r} names the provider {spec.name!r} but no model")
        return spec, wire_model

    def _unknown_prefix(self, model: str) -> BadRequestError:
        """An unknown ``name/`` prefix without a model_hint: never sent to the default provider."""
        prefix = model.partition("/")[0]
        names = {spec.name for spec in self.configured_providers} | set(self.registry.all_providers())
        close = difflib.get_close_matches(prefix, sorted(names), n=3, cutoff=0.6)
        parts = [f"model {model!r}: unknown provider prefix {prefix!r}"]
        if close:
            parts.append(f"did you mean {' or '.join(repr(f'{name}/') for name in close)}?")
        failed = self.registry.failed
        if failed:
            parts.append("plugins that failed to load: " + "; ".join(f"{name} ({why})" for name, why in failed))
        parts.append(
            "to send the whole string to one provider as its model name, pass model_hint "
            "(or a base_url without model_hint for a gateway)"
        )
        return BadRequestError("; ".join(parts))

    def base_url(self, spec: ProviderSpec) -> str:
        """The address for ``spec``.

        The client's base_url for its hinted provider (or as a gateway), else
        ``<PROVIDER>_BASE_URL``, else the provider's default.
        """
        config = self.config
        if self.gateway or (config.base_url and self._default is not None and spec.name == self._default.name):
            assert config.base_url is not None
            return config.base_url.rstrip("/")
        env = os.environ.get(spec.base_url_variable)
        if env:
            return env.rstrip("/")
        if spec.base_url:
            return spec.base_url.rstrip("/")
        raise BadRequestError(
            f"provider {spec.name!r} has no base URL: set {spec.base_url_variable} or pass base_url with "
            f"model_hint={spec.name!r}",
            provider=spec.name,
        )

    def owns_client_key(self, spec: ProviderSpec) -> bool:
        """Whether the client's ``api_key`` was given for ``spec``.

        It was for the gateway, the hinted provider (else the default one,
        OpenAI) and custom providers (``register_custom_provider`` and the
        ``providers`` entries of the configuration, which have no key of their
        own); never for another provider, which uses its own variable.
        """
        if self.gateway or self.registry.is_custom(spec) or any(spec is p for p in self.configured_providers):
            return True
        if self._default is not None:
            return spec.name == self._default.name
        return spec.name == "openai"

    def api_key(self, spec: ProviderSpec) -> SecretStr | None:
        """The client's key for the provider it was given for, else the provider's variable; None if neither."""
        key = self.config.api_key
        if key and self.owns_client_key(spec):
            return key
        if spec.api_key_env:
            value = os.environ.get(spec.api_key_env)
            if value:
                cleaned = clean_secret(value, spec.api_key_env, provider=spec.name)
                return SecretStr(cleaned) if cleaned else None
        return None

    def target_key(self, spec: ProviderSpec, target: RouteTarget) -> SecretStr | None:
        """The key for a router target: its own; else, at its own base URL, the provider's variable only
        (the client's ``api_key`` belongs to the client's address); else the key :meth:`api_key` gives."""
        if target.api_key is not None:
            return target.api_key
        if target.base_url is None:
            return self.api_key(spec)
        if spec.api_key_env:
            value = os.environ.get(spec.api_key_env)
            if value:
                cleaned = clean_secret(value, spec.api_key_env, provider=spec.name)
                return SecretStr(cleaned) if cleaned else None
        return None

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
            cached = hook.cached_response(call=call)
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
        return call.deadline is None or time.monotonic() + delay < call.deadline

    def _timeout(self, call: Call) -> dict[str, float | None]:
        """The per-attempt timeouts; every read and write is cut at the call's deadline."""
        config = self.config
        if call.deadline is None:
            return {"connect": config.connect_timeout_secs, "read": None, "write": None, "pool": None}
        remaining = call.deadline - time.monotonic()
        if remaining <= 0:
            raise LiterLlmTimeoutError(
                f"the call exceeded its timeout of {config.timeout_secs} s", provider=call.provider.name
            )
        connect = min(config.connect_timeout_secs, remaining)
        if call.op.stream:
            # a stream is bounded by its idle time once it flows; its opening by the deadline
            return DeadlineTimeouts(
                call.deadline, connect=connect, read=config.timeout_secs, write=remaining, pool=remaining
            )
        return DeadlineTimeouts(call.deadline, connect=connect, read=remaining, write=remaining, pool=remaining)

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
        delay = hook.throttle(call=call)
        if type(delay) is Effect:
            delay = yield delay
        delay = self._checked_wait(call, delay)
        while delay:
            if call.deadline is not None and time.monotonic() + delay > call.deadline:
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
            timeouts = request.extensions["timeout"] = self._timeout(call)
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
        if caller.get_hookimpls():
            try:
                caller(call=call, response=response)
            except Exception as exc:
                log_hook_failure(culprit(hook, exc) or "on_response", exc)

    def notify_attempt(self, call: Call, hook: Any, status: int | None, error: LiterLlmError | None) -> None:
        """Run on_attempt after one HTTP attempt (before any retry wait); a failing hook is logged and ignored."""
        caller = hook.on_attempt
        if caller.get_hookimpls():
            try:
                caller(call=call, status=status, error=error)
            except Exception as exc:
                log_hook_failure(culprit(hook, exc) or "on_attempt", exc)

    def notify_error(self, call: Call, hook: Any, error: LiterLlmError) -> None:
        """Run on_error through pluggy; a failing hook is logged and never masks ``error``."""
        caller = hook.on_error
        if caller.get_hookimpls():
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


# ---------------------------------------------------------------------------
# The call flow: one call, with its fallbacks
# ---------------------------------------------------------------------------

#: Operations that fall back to the next model (``chat_stream`` only before its first chunk).
FALLBACK_OPERATIONS = frozenset(name for name, op in OPERATIONS.items() if op.fallback)


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
        started = pipeline.clock.monotonic()
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


# ---------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------


def _too_large(limit: int, provider: str) -> SerializationError:
    return SerializationError(f"the answer is larger than the limit of {limit} bytes", provider=provider)


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def read_sync(action: Read) -> None:
    """Read a body fully, within the size limit and the deadline."""
    response = action.response
    parts: list[bytes] = []
    size = 0
    try:
        for piece in body_pieces(response):
            size += len(piece)
            if size > action.limit:
                raise _too_large(action.limit, action.provider)
            parts.append(piece)
            if _past(action.deadline):
                raise LiterLlmTimeoutError("the answer did not arrive within the timeout", provider=action.provider)
    finally:
        response.close()
    response._content = b"".join(parts)


async def release_async(response: httpx.Response) -> None:
    """Close ``response`` (give its connection back), even inside a cancelled task or cancel scope."""
    import anyio

    with anyio.CancelScope(shield=True):
        await response.aclose()


async def read_async(action: Read) -> None:
    """Read a body fully, within the size limit and the deadline."""
    response = action.response
    transport = sys.modules.get("liter_llm._transport")  # imported by the async client's default transport only
    stream = response.stream
    if (
        transport is not None
        and type(stream) is transport.AiohttpStream
        and not response.is_stream_consumed  # an auth flow that needs the answer's body has read it
        and "content-encoding" not in response.headers
    ):
        await _read_direct(action, stream)
        return
    parts: list[bytes] = []
    size = 0
    try:
        async for piece in response.aiter_bytes():
            size += len(piece)
            if size > action.limit:
                raise _too_large(action.limit, action.provider)
            parts.append(piece)
            if _past(action.deadline):
                raise LiterLlmTimeoutError("the answer did not arrive within the timeout", provider=action.provider)
    except BaseException:
        await release_async(response)  # shielded: also when the call is cancelled
        raise
    await response.aclose()
    response._content = b"".join(parts)


async def _read_direct(action: Read, stream: Any) -> None:
    """:func:`read_async` on the default transport: one read loop, bounded by the call's deadline."""
    response = action.response
    try:
        if action.deadline is None:
            body = await stream.read_all(action.limit)
        else:
            left = max(action.deadline - time.monotonic(), 0.001)
            try:
                if sys.version_info >= (3, 11):
                    async with asyncio.timeout(left):
                        body = await stream.read_all(action.limit)
                else:  # pragma: no cover - Python 3.10
                    body = await asyncio.wait_for(stream.read_all(action.limit), left)
            except asyncio.TimeoutError:
                raise LiterLlmTimeoutError(
                    "the answer did not arrive within the timeout", provider=action.provider
                ) from None
        if body is None:
            raise _too_large(action.limit, action.provider)
    except BaseException:
        await release_async(response)  # shielded: also when the call is cancelled
        raise
    await response.aclose()
    response._content = body


def drive_sync(flow: Flow, client_for: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Run a pipeline flow with blocking I/O; ``client_for(provider)`` gives the httpx.Client."""
    value: Any = None
    error: BaseException | None = None
    action: Any
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        value = None
        error = None
        try:
            kind = type(action)
            if kind is Send:
                with deadline_scope(getattr(action.request.extensions.get("timeout"), "deadline", None)):
                    value = client_for(action.provider).send(action.request, auth=action.auth, stream=True)
            elif kind is Read:
                with deadline_scope(action.deadline):
                    read_sync(action)
            elif kind is Sleep:
                clock.sleep(action.seconds)
            elif kind is Effect:
                value = action.run()
        except Exception as exc:
            error = exc
        except BaseException:  # KeyboardInterrupt...: the flow ends now, its wrappers closed (no outcome)
            flow.close()
            raise


async def drive_async(flow: Flow, client_for: Any, clock: Clock = SYSTEM_CLOCK) -> Any:
    """Run a pipeline flow on the event loop; ``client_for(provider)`` gives the httpx.AsyncClient."""
    value: Any = None
    error: BaseException | None = None
    action: Any
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        value = None
        error = None
        try:
            kind = type(action)
            if kind is Send:
                value = await client_for(action.provider).send(action.request, auth=action.auth, stream=True)
            elif kind is Read:
                await read_async(action)
            elif kind is Sleep:
                await clock.asleep(action.seconds)
            elif kind is Effect:
                value = await action.arun()
        except Exception as exc:
            error = exc
        except BaseException:  # cancelled: the flow ends now, its wrappers closed (no outcome), not at GC
            flow.close()
            raise
