"""How the core calls hooks: through pluggy, with every plugin failure contained and named.

pluggy dispatches every hook (so ``wrapper=True`` and ``hookwrapper=True``
implementations run everywhere).  Two things are added around it:

* **guards** (:func:`install_guards`): when a client builds a hook relay, each
  plain implementation of a per-call hook is given a small guard, so that

  - a veto hook or a request hook (``on_request``, ``check_budget``,
    ``throttle``, ``build_request``, ``auth``, ``stream_decoder``, ``stream_parser``,
    ``parse_error``, ``wrap_call``) that raises a
    :class:`~liter_llm.errors.LiterLlmError` passes it on (a
    :class:`~liter_llm.errors.HookRejectedError` is told which hook raised
    it), and one that raises anything else -- a bug in the plugin -- becomes an
    :class:`~liter_llm.errors.InternalError` naming ``plugin.hook``, the
    original chained;
  - a notification hook (``on_response``, ``on_error``, ``on_attempt``) or the cache look-up
    (``cached_response``) that raises anything is logged (``hook_failed``) and
    counts as no answer, so the other implementations still run and the
    caller's result or error is never changed;

* :func:`plugin_failure` names the implementation a stray exception came
  from (a wrapper's own bug, which no guard covers) by the frames of its
  traceback.

The guards cost one function frame per implementation; the parsers
(``parse_response``, ``parse_stream_event``) are not guarded (their errors
are the answer's fault and become SerializationError where they are called).

:func:`start_wrappers` / :func:`finish_wrappers` run the generators that
``wrap_call`` implementations return around one call (see the hookspec).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

from liter_llm._log import get_logger
from liter_llm.errors import HookRejectedError, InternalError, LiterLlmError

if TYPE_CHECKING:
    from liter_llm._call import Call

__all__ = [
    "CONTAINED_HOOKS",
    "GUARDED_HOOKS",
    "culprit",
    "finish_wrappers",
    "install_guards",
    "log_hook_failure",
    "plugin_bug",
    "plugin_failure",
    "start_wrappers",
]

#: Hooks whose plain implementations become InternalError on a bug (a LiterLlmError passes).
GUARDED_HOOKS = frozenset(
    {
        "on_request",
        "check_budget",
        "throttle",
        "build_request",
        "auth",
        "stream_decoder",
        "stream_parser",
        "parse_error",
        "wrap_call",
    }
)
#: Hooks whose failures are logged and ignored (no answer from that implementation).
CONTAINED_HOOKS = frozenset({"on_response", "on_error", "on_attempt", "cached_response"})


def _provider_of(args: tuple[Any, ...], index: int | None) -> str | None:
    if index is None or index >= len(args):
        return None
    provider = getattr(args[index], "provider", None)
    return getattr(provider, "name", None)


def plugin_bug(where: str, exc: BaseException, provider: str | None) -> InternalError:
    """The InternalError for a plugin hook that raised something other than a LiterLlmError."""
    return InternalError(
        f"the plugin hook {where} failed: {type(exc).__name__}: {exc} (a bug in that plugin)",
        provider=provider,
        hook=where,
    )


def log_hook_failure(where: str, exc: BaseException) -> None:
    """Log a contained hook failure (``hook_failed``, WARNING)."""
    get_logger().warning("hook_failed", hook=where, error=f"{type(exc).__name__}: {exc}")


def _veto_guard(function: Callable[..., Any], where: str, call_index: int | None) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any) -> Any:
        try:
            return function(*args)
        except LiterLlmError as exc:
            if isinstance(exc, HookRejectedError) and exc.hook is None:
                exc.hook = where
            raise
        except Exception as exc:
            raise plugin_bug(where, exc, _provider_of(args, call_index)) from exc

    return guarded


def _contain_guard(function: Callable[..., Any], where: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception as exc:
            log_hook_failure(where, exc)
            return None

    return guarded


def install_guards(pm: pluggy.PluginManager) -> None:
    """Guard every plain implementation of the per-call hooks of ``pm`` (once, when a relay is built).

    Wrappers (``wrapper=True`` / ``hookwrapper=True``) are left as they are:
    they see the guarded result or error, and a bug of their own is named by
    :func:`plugin_failure` where the core calls the hook.
    """
    for name in GUARDED_HOOKS | CONTAINED_HOOKS:
        caller = getattr(pm.hook, name, None)
        if caller is None:
            continue
        for impl in caller.get_hookimpls():
            if impl.wrapper or impl.hookwrapper or getattr(impl.function, "_liter_llm_guard", False):
                continue
            where = f"{impl.plugin_name}.{name}"
            if name in CONTAINED_HOOKS:
                guarded = _contain_guard(impl.function, where)
            else:
                index = impl.argnames.index("call") if "call" in impl.argnames else None
                guarded = _veto_guard(impl.function, where, index)
            guarded._liter_llm_guard = True  # type: ignore[attr-defined]
            # pluggy calls ``impl.function(*args)``; the guard takes the same arguments
            impl.function = guarded


def _code_of(function: Any) -> types.CodeType | None:
    function = getattr(function, "__wrapped__", function)
    code = getattr(function, "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def culprit(relay: Any, exc: BaseException) -> str | None:
    """``plugin.hook`` of the innermost hook implementation in ``exc``'s traceback, if any."""
    codes: dict[types.CodeType, str] = {}
    for name, caller in vars(relay).items():
        if not hasattr(caller, "get_hookimpls"):  # pluggy's HookCaller, or the pipeline's direct caller
            continue
        for impl in caller.get_hookimpls():
            code = _code_of(impl.function)
            if code is not None:
                codes.setdefault(code, f"{impl.plugin_name}.{name}")
    found = None
    tb = exc.__traceback__
    while tb is not None:
        where = codes.get(tb.tb_frame.f_code)
        if where is not None:
            found = where
        tb = tb.tb_next
    return found


def plugin_failure(relay: Any, exc: BaseException, call: Call) -> InternalError:
    """An InternalError for a stray exception out of a hook call, naming the implementation if it can."""
    where = culprit(relay, exc)
    if where is None:
        return InternalError(
            f"unexpected {type(exc).__name__} while running the {call.operation} call: {exc}",
            provider=call.provider.name,
        )
    return plugin_bug(where, exc, call.provider.name)


# ---------------------------------------------------------------------------
# wrap_call: generators run around one whole call
# ---------------------------------------------------------------------------


def _name_of(relay: Any, generator: Any) -> str:
    code = getattr(generator, "gi_code", None)
    for hook in ("wrap_call", "wrap_fallback"):
        caller = getattr(relay, hook, None)
        for impl in caller.get_hookimpls() if caller is not None else ():
            if _code_of(impl.function) is code:
                return f"{impl.plugin_name}.{hook}"
    return f"{getattr(generator, '__qualname__', type(generator).__name__)} (wrap_call)"


def start_wrappers(call: Call, relay: Any, hook: str = "wrap_call", wrappers: list[Any] | None = None) -> None:
    """Call ``wrap_call`` (or ``hook``: ``wrap_fallback``) and run each generator it returned to its ``yield``.

    The started generators go to ``call._wrappers`` (or to ``wrappers``).
    Raises what a generator raised before its ``yield`` (a LiterLlmError as it
    is, anything else as an InternalError naming it); the generators already
    started are then finished with that error by the caller's error path.
    """
    caller = getattr(relay, hook)
    if not caller.active:  # a direct caller (liter_llm/_dispatch.py): every per-call hook of a relay is one
        return
    produced = caller(call=call)
    active = call._wrappers if wrappers is None else wrappers
    for generator in produced:
        if generator is None:
            continue
        if not isinstance(generator, types.GeneratorType):
            raise InternalError(
                f"{_name_of(relay, generator)} returned {type(generator).__name__}, not a generator",
                provider=call.provider.name,
                hook=hook,
            )
        try:
            next(generator)
        except StopIteration:
            continue  # finished before the call: nothing to wrap
        except LiterLlmError as exc:
            if isinstance(exc, HookRejectedError) and exc.hook is None:
                exc.hook = _name_of(relay, generator)
            raise
        except Exception as exc:
            raise plugin_bug(_name_of(relay, generator), exc, call.provider.name) from exc
        active.append((generator, relay))


def finish_wrappers(
    call: Call | None,
    *,
    result: Any = None,
    error: BaseException | None = None,
    closed: bool = False,
    wrappers: list[Any] | None = None,
) -> None:
    """End the call's wrappers (or ``wrappers``), innermost first: send the result, throw the error, or close them.

    Whatever a generator does after its ``yield`` (raise, yield again) is
    logged and never changes the caller's result or error.
    """
    active = wrappers if wrappers is not None else call._wrappers if call is not None else []
    if not active:
        return
    while active:
        generator, relay = active.pop()
        try:
            if closed:
                generator.close()
                continue
            if error is not None:
                generator.throw(error)
            else:
                generator.send(result)
        except StopIteration:
            continue
        except BaseException as exc:
            if exc is error:
                continue  # re-raised the call's error: the normal way to let it through
            if not isinstance(exc, Exception):
                raise
            log_hook_failure(_name_of(relay, generator), exc)
            continue
        # it yielded a second time: stop it and say so
        generator.close()
        log_hook_failure(_name_of(relay, generator), RuntimeError("a wrap_call generator yielded more than once"))
