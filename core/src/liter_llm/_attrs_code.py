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

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

__all__ = ["define", "frozen", "hooked"]

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


if TYPE_CHECKING:
    from attrs import define, frozen
else:
    define = _maker(attrs.define, "define")
    frozen = _maker(attrs.frozen, "frozen")
