"""One ``__repr__``, ``__eq__`` and ``__hash__`` for all of the core's attrs classes.

attrs writes the source of a ``__repr__``, an ``__eq__``/``__ne__`` and (frozen classes) a
``__hash__`` for each class and compiles it when the class is made: about 0.5 ms a class on this
project's 2-core machine, three quarters of making it, paid in each process when the module
defining the class is imported (on the first call, for most of them).  The bases here do the same
work for every class from its ``__attrs_attrs__``, so a class declared with
``@attrs.define(repr=False, eq=False)`` (or ``attrs.frozen``) on one of them compiles its
``__init__`` only.  What they do is attrs' own, field options included:

- ``repr``: ``Name(field=value, ...)`` in field order, the fields with ``repr=False`` left out and
  a field's ``repr=callable`` used for its value; ``...`` for an object already being shown further
  up (a cycle), per thread;
- ``==``: objects of the same class (not a subclass) whose fields with ``eq=True`` are equal, each
  through its ``eq_key`` when it has one, compared in order as attrs' ``and`` chain does (the first
  false comparison is the answer); anything else is ``NotImplemented``;
- hashing: :class:`Shown` (a repr only) keeps identity's ``==`` and hash; :class:`Fields` is
  unhashable (as a mutable attrs class with ``eq``);
  :class:`FrozenFields` hashes its class and the fields that take part in equality (those with
  ``hash=True``, or ``hash=None`` and ``eq=True``), as a frozen attrs class does.

``core/tests/test_attrs_methods.py`` holds them to attrs' generated methods on the same classes.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

__all__ = ["Fields", "FrozenFields", "Shown"]

_showing = threading.local()
_Pairs = tuple[tuple[str, Any], ...]
#: per class: (name, repr callable or None) shown; (name, eq_key or None) compared; the same hashed
_PLANS: weakref.WeakKeyDictionary[type, tuple[_Pairs, _Pairs, _Pairs]] = weakref.WeakKeyDictionary()


def _plan(cls: type) -> tuple[_Pairs, _Pairs, _Pairs]:
    plan = _PLANS.get(cls)
    if plan is None:
        fields = cls.__attrs_attrs__  # type: ignore[attr-defined]
        shown = tuple((a.name, a.repr if callable(a.repr) else None) for a in fields if a.repr is not False)
        compared = tuple((a.name, a.eq_key) for a in fields if a.eq)
        hashed = tuple((a.name, a.eq_key) for a in fields if (a.eq if a.hash is None else a.hash))
        plan = _PLANS[cls] = (shown, compared, hashed)
    return plan


def _repr(self: Any) -> str:
    showing = _showing.__dict__.setdefault("ids", set())
    if id(self) in showing:
        return "..."
    showing.add(id(self))
    try:
        shown = _plan(type(self))[0]
        parts = (
            f"{name}={getattr(self, name)!r}" if show is None else f"{name}={show(getattr(self, name))}"
            for name, show in shown
        )
        return f"{type(self).__qualname__.rsplit('>.', 1)[-1]}({', '.join(parts)})"
    finally:
        showing.discard(id(self))


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    result: Any = True
    for name, key in _plan(type(self))[1]:  # attrs' ``self.a == other.a and self.b == other.b ...``
        mine, theirs = getattr(self, name), getattr(other, name)
        result = key(mine) == key(theirs) if key is not None else mine == theirs
        if not result:
            break
    return result


def _hash(self: Any) -> int:
    cls = type(self)
    values = (getattr(self, name) if key is None else key(getattr(self, name)) for name, key in _plan(cls)[2])
    return hash((cls, *values))


# Three bases straight on ``object``, not one on another: a class's MRO is walked by each attribute
# lookup the type cache misses (with ``Fields`` on ``Shown``: 230 instructions more per async chat).


class Shown:
    """Base of an attrs class compared by identity (``@attrs.define(repr=False, eq=False)``): attrs' repr only."""

    __slots__ = ()
    __repr__ = _repr


class Fields:
    """Base of a mutable attrs class (``@attrs.define(repr=False, eq=False)``): attrs' repr and ``==``, unhashable."""

    __slots__ = ()
    __repr__ = _repr
    __eq__ = _eq
    __hash__ = None  # type: ignore[assignment]


class FrozenFields:
    """Base of a frozen attrs class (``@attrs.frozen(repr=False, eq=False)``): as :class:`Fields`, and hashable."""

    __slots__ = ()
    __repr__ = _repr
    __eq__ = _eq
    __hash__ = _hash
