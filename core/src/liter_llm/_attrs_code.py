"""``attrs.define`` and ``attrs.frozen`` whose generated methods are compiled once per installation.

attrs writes the source of each class's ``__init__`` (and, for a class that asks, its other
methods) and compiles it when the class is made.  For the core's ~100 attrs classes that compile
is 27.5 M of the 181 M instructions of an async first call (docs/performance.md, "Eighth pass"),
paid again by every process.  A class declared with :func:`define` or :func:`frozen` is made by
attrs itself, with the same options; only the compile step goes through
:func:`liter_llm._code_cache.compile_cached`, so a later process loads the code object attrs'
source compiles to instead of compiling it again.  The source and the file name attrs gives it
are the cache key: the function is the one attrs would make, bound to the same globals.

attrs has no public hook for this: the compile step is ``attr._make._compile_and_eval(script,
globs, locs, filename)`` (attrs 24.1 to 26.1 at least), replaced only while one of our classes is
made (under a lock) and put back after.  With another attrs, where that function is absent or
already replaced by someone else, the classes are made by plain attrs, as fast as before this
module; ``core/tests/test_attrs_code.py`` fails on an attrs whose compile step moved, so a new
attrs is noticed.  Another thread making an attrs class meanwhile gets the same code objects (the
cache compiles exactly what attrs would), so the swap changes nothing it can see.

Type checkers see ``attrs.define``/``attrs.frozen`` themselves (the ``TYPE_CHECKING`` branch).
"""

from __future__ import annotations

import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

__all__ = ["define", "field_types", "frozen", "hooked"]

try:
    from attr import _make as _attrs_make

    _ATTRS_COMPILE: Callable[..., None] | None = _attrs_make._compile_and_eval
except (ImportError, AttributeError):  # an attrs without this compile step: plain attrs
    _attrs_make = None  # type: ignore[assignment]
    _ATTRS_COMPILE = None

_lock = threading.Lock()


def hooked() -> bool:
    """Whether this attrs has the compile step this module routes through the code cache."""
    return _ATTRS_COMPILE is not None and getattr(_attrs_make, "_compile_and_eval", None) is _ATTRS_COMPILE


def _compile_and_eval(
    script: str, globs: dict[str, Any] | None, locs: Mapping[str, object] | None = None, filename: str = ""
) -> None:
    from liter_llm._code_cache import compile_cached

    eval(compile_cached(script, filename, persist=False), globs, locs)


def _made_with_cache(
    attrs_maker: Callable[..., Any], cls: type, options: dict[str, Any], original: Callable[..., None]
) -> Any:
    """``attrs_maker(cls, **options)`` with attrs' compile step routed through the code cache (lock held)."""
    _attrs_make._compile_and_eval = _compile_and_eval
    try:
        return attrs_maker(cls, **options)
    finally:
        _attrs_make._compile_and_eval = original


def _maker(attrs_maker: Callable[..., Any], name: str) -> Callable[..., Any]:
    def maker(maybe_cls: type | None = None, /, **options: Any) -> Any:
        def wrap(cls: type) -> Any:
            original = _ATTRS_COMPILE
            with _lock:
                if original is None or not hooked():
                    return attrs_maker(cls, **options)
                return _made_with_cache(attrs_maker, cls, options, original)

        return wrap if maybe_cls is None else wrap(maybe_cls)

    maker.__name__ = maker.__qualname__ = name
    maker.__doc__ = f"``attrs.{name}``, its generated methods compiled once per installation."
    return maker


_NoneType = type(None)
#: per class: its fields' types, as ``typing.get_type_hints`` gives them
_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def field_types(cls: type) -> dict[str, Any]:
    """The types of an attrs class's fields: what ``typing.get_type_hints(cls, include_extras=True)`` gives.

    ``get_type_hints`` (``attrs.resolve_types``) compiles each string annotation of each class
    apart (a ``typing.ForwardRef``): 10.2 M instructions for the 13 classes of a first chat's
    parsers (docs/performance.md, "Eighth pass").  Here the string annotations each class declares
    are evaluated together, from one function compiled through the code cache, in the namespaces
    ``get_type_hints`` uses (the declaring module's, then the class's own, then the builtins).
    An annotation whose value holds a string or a forward reference (``list["Message"]``), or is
    itself one, is not final: the class then goes to ``get_type_hints``, as does anything that
    fails to evaluate here (so its error is ``get_type_hints``' own).  The fields' ``type`` is left
    as it is.  ``core/tests/test_attrs_code.py`` compares the answer with ``get_type_hints`` for
    every attrs class of the core.
    """
    cached = _FIELD_TYPES.get(cls)
    if cached is None:
        cached = _evaluated(cls)
        if cached is None:
            hints = typing.get_type_hints(cls, include_extras=True)
            cached = {a.name: hints.get(a.name, a.type) for a in attrs.fields(cls)}
        _FIELD_TYPES[cls] = cached
    return cached


def _final(value: Any) -> bool:
    """Whether ``value`` is a type ``get_type_hints`` would give back as it is (no string inside)."""
    if isinstance(value, (str, typing.ForwardRef)):
        return False
    args = getattr(value, "__args__", None)
    if isinstance(args, tuple) and getattr(value, "__origin__", None) is not typing.Literal:
        return all(_final(arg) for arg in args)
    return True


#: bare forms get_type_hints refuses as a field's annotation ("Plain typing.Union is not valid")
_BARE = (typing.Union, typing.Optional, typing.Literal, typing.Generic, typing.Protocol, typing.Annotated)


def _valid(value: Any) -> bool:
    """Whether ``typing`` accepts ``value`` as an annotation unchanged (else get_type_hints decides)."""
    if isinstance(value, (type, types.UnionType, typing.TypeVar)):
        return True
    return callable(value) and not any(value is bare for bare in _BARE)


def _evaluated(cls: type) -> dict[str, Any] | None:
    names = {a.name for a in attrs.fields(cls)}
    declared: dict[str, tuple[type, Any]] = {}
    for base in reversed(cls.__mro__):  # the most derived declaration wins, as in get_type_hints
        for name, value in base.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 (what get_type_hints reads)
            if name in names:
                declared[name] = (base, value)
    out: dict[str, Any] = {}
    per_base: dict[type, list[tuple[str, str]]] = {}
    for name, (base, value) in declared.items():
        if value is None:
            out[name] = _NoneType
        elif isinstance(value, str):
            per_base.setdefault(base, []).append((name, value))
        else:
            return None  # an annotation that is not a string: get_type_hints' own evaluation
    from liter_llm._code_cache import compile_cached

    for base, items in per_base.items():
        module = sys.modules.get(base.__module__)
        if module is None:
            return None
        source = "__types__ = (\n" + "".join(f"    (\n{text}\n),\n" for _, text in items) + ")\n"
        filename = f"<liter_llm annotations {base.__module__}.{base.__qualname__}>"
        try:
            code = compile_cached(source, filename, persist=False)
            scope: dict[str, Any] = dict(module.__dict__)
            exec(code, dict(vars(base)), scope)  # the class's own annotations, looked up as get_type_hints does
        except Exception:  # get_type_hints raises its own error for it
            return None
        for (name, _), found in zip(items, scope["__types__"], strict=True):
            value = _NoneType if found is None else found
            if not _valid(value) or not _final(value):
                return None
            out[name] = value
    return {a.name: out.get(a.name, a.type) for a in attrs.fields(cls)}


if TYPE_CHECKING:
    from attrs import define, frozen
else:
    define = _maker(attrs.define, "define")
    frozen = _maker(attrs.frozen, "frozen")
