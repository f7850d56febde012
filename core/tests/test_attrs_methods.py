"""The shared repr, ``==`` and hash of the core's attrs classes behave as the ones attrs generates.

``liter_llm._attrs_methods`` gives every core attrs class one ``__repr__``/``__eq__`` (and a
``__hash__`` for frozen ones) instead of attrs' per-class compiled ones.  These tests build the same
classes both ways and compare what they do, field options included, and check that no core class
still has attrs generate them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import liter_llm
from liter_llm._attrs_methods import Fields, FrozenFields, Shown
from liter_llm._secret import SecretStr
from liter_llm.config import ClientConfig
from liter_llm.router import RouteTarget


def _shout(value: object) -> str:
    return f"<{value!r}>"


def _pair(frozen: bool) -> tuple[type, type]:
    """The same class made by attrs (its generated methods) and on the shared base."""
    decorator = attrs.frozen if frozen else attrs.define

    def body() -> dict[str, Any]:
        return {
            "plain": attrs.field(),
            "hidden": attrs.field(repr=False, default=0),
            "shown": attrs.field(repr=_shout, default=None),
            "ignored": attrs.field(eq=False, default=0),
            "folded": attrs.field(eq=str.lower, default=""),
            "unhashed": attrs.field(hash=False, default=1),
        }

    generated = decorator(kw_only=True)(type("Twin", (), body()))
    shared = decorator(kw_only=True, repr=False, eq=False)(
        type("Twin", (FrozenFields if frozen else Fields,), {"__slots__": (), **body()})
    )
    return generated, shared


values = st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=3), st.floats(allow_nan=True), st.just(float("nan")))
texts = st.text(alphabet="aAbB", max_size=3)
fields = st.fixed_dictionaries(
    {"plain": values, "hidden": values, "shown": values, "ignored": values, "folded": texts, "unhashed": values}
)


@pytest.mark.parametrize("frozen", [False, True], ids=["define", "frozen"])
@given(left=fields, right=fields, same=st.booleans())
def test_repr_eq_and_hash_are_attrs_own(frozen: bool, left: dict[str, Any], right: dict[str, Any], same: bool) -> None:
    generated, shared = _pair(frozen)
    if same:
        right = left
    a_gen, b_gen = generated(**left), generated(**right)
    a_ours, b_ours = shared(**left), shared(**right)
    assert repr(a_ours) == repr(a_gen)
    assert (a_ours == b_ours) is (a_gen == b_gen)
    assert (a_ours != b_ours) is (a_gen != b_gen)
    assert (a_ours == a_ours) is (a_gen == a_gen)  # a NaN field: not equal to itself, in both
    if frozen:
        if a_gen == b_gen:
            assert hash(a_ours) == hash(b_ours)
        unhashable = False
        try:
            hash(a_gen)
        except TypeError:
            unhashable = True
        if unhashable:
            with pytest.raises(TypeError):
                hash(a_ours)
    else:
        with pytest.raises(TypeError):
            hash(a_ours)
        with pytest.raises(TypeError):
            hash(a_gen)


@pytest.mark.parametrize("frozen", [False, True], ids=["define", "frozen"])
def test_other_classes_are_not_equal(frozen: bool) -> None:
    generated, shared = _pair(frozen)
    sub = attrs.define(kw_only=True, repr=False, eq=False)(type("Sub", (shared,), {"__slots__": ()}))
    ours = shared(plain=1)
    assert ours.__eq__(sub(plain=1)) is NotImplemented
    assert generated(plain=1).__eq__(attrs.define(type("Sub", (generated,), {}))(plain=1)) is NotImplemented
    assert ours != generated(plain=1)
    assert ours.__eq__(1) is NotImplemented


def test_a_cycle_is_shown_as_attrs_shows_it() -> None:
    @attrs.define
    class Generated:
        other: Any = None

    @attrs.define(repr=False, eq=False)
    class Ours(Fields):
        other: Any = None

    gen, ours = Generated(), Ours()
    gen.other, ours.other = [gen], [ours]
    assert repr(ours) == repr(gen).replace("Generated", "Ours")


def test_shown_keeps_identity() -> None:
    @attrs.define(repr=False, eq=False)
    class Noted(Shown):
        value: int

    one, two = Noted(1), Noted(1)
    assert repr(one) == "Noted(value=1)"
    assert one != two
    assert one == one
    assert len({one, two}) == 2


def test_the_core_classes_keep_their_behaviour() -> None:
    config = ClientConfig(api_key=SecretStr("sk-abcdefgh12345678"), proxy="http://user:pass@proxy.test:8080")
    shown = repr(config)
    assert "sk-abcdefgh12345678" not in shown
    assert "pass" not in shown
    assert shown.startswith("ClientConfig(base_url=None, ")
    assert config == ClientConfig(api_key=SecretStr("sk-abcdefgh12345678"), proxy="http://user:pass@proxy.test:8080")
    with pytest.raises(TypeError):
        hash(config)
    one, two = RouteTarget(model="openai/gpt-4o-mini"), RouteTarget(model="openai/gpt-4o-mini")
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two}) == 1
    assert one != RouteTarget(model="openai/gpt-4o")


def _core_attrs_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(liter_llm.__path__, "liter_llm."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and attrs.has(obj) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_no_core_class_has_attrs_compile_its_repr_eq_or_hash() -> None:
    classes = _core_attrs_classes()
    assert len(classes) > 80
    generated = [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls in classes
        for name in ("__repr__", "__eq__", "__ne__", "__hash__")
        if getattr(getattr(cls.__dict__.get(name), "__code__", None), "co_filename", "").startswith("<attrs generated")
    ]
    assert generated == []
