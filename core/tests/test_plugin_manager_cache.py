"""The plugin manager remembers each plugin attribute's hook options: the registrations stay pluggy's.

``new_plugin_manager()`` reads a module's or a class's hook options once and reuses them while the
attribute is the same object.  Each case registers the same plugins in our manager (twice, the second
time from what it remembered) and in a plain ``pluggy.PluginManager`` and compares what each hook got.
"""

from __future__ import annotations

import types
from typing import Any, ClassVar

import pluggy

import liter_llm
from liter_llm import hookspecs
from liter_llm._plugins import new_plugin_manager


def plain_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def registrations(pm: pluggy.PluginManager) -> list[tuple[str, str, str, tuple[tuple[str, Any], ...]]]:
    rows = []
    for name in sorted(vars(pm.hook)):
        caller = getattr(pm.hook, name)
        if not isinstance(caller, pluggy.HookCaller):
            continue
        for impl in caller.get_hookimpls():
            opts = tuple(sorted((k, v) for k, v in impl.opts.items() if k != "specname"))
            rows.append((name, impl.plugin_name, getattr(impl.function, "__name__", "?"), opts))
    return rows


def make_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    @liter_llm.hookimpl
    def on_request(call: Any) -> None:
        return None

    @liter_llm.hookimpl(tryfirst=True)
    def on_response(call: Any, response: Any) -> None:
        return None

    def helper() -> None:  # not a hook
        return None

    module.on_request = on_request  # type: ignore[attr-defined]
    module.on_response = on_response  # type: ignore[attr-defined]
    module.helper = helper  # type: ignore[attr-defined]
    module.NOT_A_FUNCTION = 3  # type: ignore[attr-defined]
    return module


class Hooks:
    evaluated = 0

    @liter_llm.hookimpl
    def on_request(self, call: Any) -> None:
        return None

    @liter_llm.hookimpl(trylast=True)
    def on_error(self, call: Any, error: Any) -> None:
        return None

    @property
    def expensive(self) -> int:
        type(self).evaluated += 1
        return 1


class MoreHooks(Hooks):
    @liter_llm.hookimpl(hookwrapper=False, wrapper=True)
    def on_request(self, call: Any) -> Any:  # overrides the base class's, as a wrapper
        return (yield)


def both(*plugins: Any) -> tuple[list[Any], list[Any], list[Any]]:
    ours_first, ours_again, plain = new_plugin_manager(), new_plugin_manager(), plain_manager()
    for pm in (ours_first, ours_again, plain):
        for index, plugin in enumerate(plugins):
            pm.register(plugin, name=f"p{index}")
    return registrations(ours_first), registrations(ours_again), registrations(plain)


def test_modules_instances_subclasses_and_classes_register_as_with_pluggy() -> None:
    module = make_module("cache_probe_module")
    first, again, plain = both(module, Hooks(), MoreHooks(), Hooks)
    assert first == again == plain
    wrappers = {(row[0], row[1]) for row in plain if dict(row[3]).get("wrapper")}
    assert wrappers == {("on_request", "p2")}  # the subclass's own options, not its base class's
    assert Hooks.evaluated == 0  # a property is never evaluated to look for hooks


def test_a_replaced_module_attribute_is_read_again() -> None:
    module = make_module("cache_probe_replaced")
    before, _again, _plain = both(module)
    assert [row[0] for row in before] == ["on_request", "on_response"]

    @liter_llm.hookimpl(trylast=True)
    def on_request(call: Any) -> None:
        return None

    module.on_request = on_request  # type: ignore[attr-defined]
    module.on_response = lambda call, response: None  # type: ignore[attr-defined]  # no longer a hook
    first, again, plain = both(module)
    assert first == again == plain
    assert [(row[0], dict(row[3])["trylast"]) for row in plain] == [("on_request", True)]


def test_an_instance_attribute_shadows_its_class_as_in_pluggy() -> None:
    shadowed = Hooks()
    shadowed.on_request = lambda call: None  # type: ignore[method-assign]  # an unmarked function of its own
    first, again, plain = both(shadowed, Hooks())
    assert first == again == plain
    assert ("on_request", "p0") not in {(row[0], row[1]) for row in plain}
    assert ("on_request", "p1") in {(row[0], row[1]) for row in plain}


def test_a_changed_class_attribute_is_read_again() -> None:
    class Changing:
        @liter_llm.hookimpl
        def on_request(self, call: Any) -> None:
            return None

    first, _again, _plain = both(Changing())
    assert [row[0] for row in first] == ["on_request"]
    Changing.on_request = lambda self, call: None  # type: ignore[method-assign]
    first, again, plain = both(Changing())
    assert first == again == plain == []


def test_the_specifications_are_pluggys() -> None:
    ours, plain = new_plugin_manager(), plain_manager()
    again = new_plugin_manager()

    def specs(pm: pluggy.PluginManager) -> list[tuple[str, Any]]:
        return sorted(
            (name, tuple(sorted(caller.spec.opts.items())))
            for name, caller in vars(pm.hook).items()
            if isinstance(caller, pluggy.HookCaller) and caller.spec is not None
        )

    assert specs(ours) == specs(again) == specs(plain)
    assert len(specs(plain)) > 10


class _Marked:
    """A callable object carrying a hook marker: not a function, so pluggy does not take it."""

    liter_llm_impl: ClassVar[dict[str, Any]] = {"tryfirst": True}

    def __call__(self, call: Any) -> None:
        return None


def _every_kind_of_attribute() -> dict[str, Any]:
    @liter_llm.hookimpl
    def on_request(call: Any) -> None:
        return None

    def plain(call: Any) -> None:
        return None

    def marked_oddly(call: Any) -> None:
        return None

    marked_oddly.liter_llm_impl = ["tryfirst"]  # type: ignore[attr-defined]  # not a dict: not a hook

    def wrapping(call: Any) -> None:
        return None

    wrapping.__func__ = on_request  # type: ignore[attr-defined]  # pluggy 1.6+ reads the marker there

    return {
        "on_request": on_request,
        "plain": plain,
        "marked_oddly": marked_oddly,
        "wrapping": wrapping,
        "a_module": types,
        "a_class": Hooks,
        "a_number": 3,
        "a_string": "on_request",
        "a_builtin": len,
        "a_marked_object": _Marked(),
        "a_list": [on_request],
        "a_none": None,
        "a_static": staticmethod(on_request),
        "a_classmethod": classmethod(on_request),
        "a_property": property(lambda self: on_request),
    }


def test_each_attribute_gets_pluggys_options_for_modules_classes_and_instances() -> None:
    attributes = _every_kind_of_attribute()
    module = types.ModuleType("every_kind")
    for name, value in attributes.items():
        if name not in ("a_static", "a_classmethod", "a_property"):
            setattr(module, name, value)
    holder = type("EveryKind", (), dict(attributes))

    class Meta(type):
        on_request = property(lambda cls: None)  # the class's own attribute comes first, for pluggy too

    with_meta = Meta("WithMeta", (), dict(attributes))

    class Slotted:
        __slots__ = ("on_request", "plain")  # pluggy reads a slot's value: a function there is a hook

    slotted = Slotted()
    slotted.on_request, slotted.plain = attributes["on_request"], attributes["plain"]
    ours, theirs = new_plugin_manager(), plain_manager()
    for plugin in (module, holder, holder(), with_meta, with_meta(), slotted, Slotted):
        for name in dir(plugin):  # dunders too: ``object``'s descriptors, written in C
            for _ in range(2):  # the second answer from what the first remembered
                assert ours.parse_hookimpl_opts(plugin, name) == theirs.parse_hookimpl_opts(plugin, name), name
    assert theirs.parse_hookimpl_opts(module, "on_request") is not None  # the case compares something
