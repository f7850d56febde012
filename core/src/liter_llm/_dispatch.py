"""Hook dispatch: pluggy's callers, replaced where exact by a direct call (:class:`_DirectCaller`)."""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = []


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

    __slots__ = ("_argnames", "_caller", "_firstresult", "_function", "_wrappers", "active", "name")

    def __init__(self, caller: pluggy.HookCaller) -> None:
        self._caller = caller
        self.name = caller.name
        self._firstresult = bool(caller.spec is not None and caller.spec.opts.get("firstresult"))
        self._refresh()

    def _refresh(self) -> None:
        impls = self._caller.get_hookimpls()
        #: whether the hook has an implementation (:func:`has_impls`)
        self.active = bool(impls)
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
        names = self._argnames
        if len(names) == 1:  # most hooks take the call alone, or the call and one more: no list to build
            result = function(kwargs[names[0]])
        elif len(names) == 2:
            result = function(kwargs[names[0]], kwargs[names[1]])
        else:
            result = function(*[kwargs[name] for name in names])
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


def has_impls(caller: Any) -> bool:
    """Whether a relay's hook has an implementation: a direct caller knows, pluggy's is asked for a copy of its list."""
    active = getattr(caller, "active", None)
    if active is None:
        return bool(caller.get_hookimpls())
    return bool(active)


def _direct_calls(pm: pluggy.PluginManager) -> None:
    """Replace, on ``pm.hook``, each per-call hook's caller by a :class:`_DirectCaller`.

    pluggy's call loop costs a few microseconds per call; most hooks of a
    call have no implementation or only the core's default (inside a wrapper
    or two), which the direct caller calls itself.  Any other shape goes
    through pluggy's caller from the direct one; historic hooks keep pluggy's.
    The relay is built once per provider and not registered to afterwards.
    """
    relay = pm.hook
    for name, caller in list(vars(relay).items()):
        if not isinstance(caller, pluggy.HookCaller) or caller.spec is None or name in _NOT_PER_CALL:
            continue
        if caller.spec.opts.get("historic"):
            continue
        # every per-call hook, also one left to pluggy's loop (one more call for it), so that the flow can
        # read ``active`` directly
        setattr(relay, name, _DirectCaller(caller))


#: hooks the core calls outside a request (discovery, the CLI): left to pluggy
_NOT_PER_CALL = frozenset({"register_providers", "register_commands"})
