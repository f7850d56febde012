"""Plugin discovery, the provider registry and routing.

Plugins are found through the ``liter_llm`` entry point group, discovered on
the first client creation, once per process (one scan of the installed
distributions' entry points).  A plugin that declares its providers in the
``liter_llm.providers`` group (and their model prefixes in
``liter_llm.model_prefixes``) is a *provider plugin*: it is imported only when a
call routes to one of its providers, or when something asks for every
provider's full specification.  A plugin that declares the ``liter-llm``
commands it adds (``liter_llm.commands``) is imported by the command line
only.  Every other plugin is imported at discovery.  What a scan finds is
remembered between processes (:mod:`liter_llm._ep_index`).
``LITER_LLM_LOAD_PLUGINS`` (a comma list of entry point or distribution names;
empty means none) limits what loads.  A plugin that fails to import or register
is a warning naming it, never a crash.
"""

from __future__ import annotations

import os
import re
import threading
import types
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from liter_llm import _ep_index, hookspecs
from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm._hooks import plugin_bug
from liter_llm._log import get_logger
from liter_llm.config import ProviderConfig
from liter_llm.errors import BadRequestError, LiterLlmError
from liter_llm.providers import ALL_ENDPOINTS, STRUCTURED_OUTPUT_MECHANISMS, ProviderSpec
from liter_llm.types import AuthHeaderFormat, CustomProviderConfig

if TYPE_CHECKING:
    from importlib import metadata

__all__ = [
    "GATEWAY",
    "LoadedPlugin",
    "PluginLoadWarning",
    "Registry",
    "get_registry",
    "new_plugin_manager",
    "register_custom_provider",
    "unregister_custom_provider",
]

ENTRY_POINT_GROUP = "liter_llm"
#: ``<provider> = "<the plugin's entry point value>"``: a provider a plugin serves, declared without importing it
PROVIDERS_GROUP = "liter_llm.providers"
#: ``<provider> = "<prefix> <prefix> ..."``: the bare model prefixes of a declared provider
MODEL_PREFIXES_GROUP = "liter_llm.model_prefixes"
#: ``<command> = "<the plugin's entry point value>"``: a command a plugin adds to ``liter-llm``, declared
#: without importing it (a plugin that only adds commands is imported by the command line, not by clients)
COMMANDS_GROUP = "liter_llm.commands"
#: the prefix of liter-llm's other entry point groups (``liter_llm.providers``, ``liter_llm.backends``...)
_SUBGROUPS = ENTRY_POINT_GROUP + "."
LOAD_PLUGINS_ENV = "LITER_LLM_LOAD_PLUGINS"
#: hooks that are not per-call: a provider plugin (declared, imported on demand) implements only these
_NOT_PER_CALL = frozenset({"register_providers", "register_commands", "takes_part"})

#: The provider used when a client has a ``base_url`` and no ``model_hint``:
#: one OpenAI-compatible gateway that receives every call.
GATEWAY = ProviderSpec(
    name="gateway",
    base_url=None,
    api_key_env=None,
    requires_api_key=False,
    endpoints=ALL_ENDPOINTS,
    display_name="OpenAI-compatible gateway",
)


def _describe(providers: Mapping[str, tuple[str, ...]]) -> str:
    return (
        ", ".join(
            f"{name} ({' '.join(prefixes)})" if prefixes else name for name, prefixes in sorted(providers.items())
        )
        or "none"
    )


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded or registered; the client carries on without it."""


@frozen(repr=False, eq=False)
class LoadedPlugin(FrozenFields):
    """A plugin found through an entry point."""

    name: str
    distribution: str | None
    version: str | None
    plugin: Any
    providers: tuple[str, ...]


_ABSENT = object()
#: descriptors of types written in C (never a hook; a slot's member descriptor is not here: pluggy reads the slot)
_C_DESCRIPTORS = frozenset(
    {
        types.WrapperDescriptorType,
        types.MethodDescriptorType,
        types.ClassMethodDescriptorType,
        types.GetSetDescriptorType,
    }
)
#: module or class -> {attribute name: (the attribute, pluggy's hook implementation options for it)}
_IMPL_OPTS: weakref.WeakKeyDictionary[Any, dict[str, tuple[Any, Any]]] = weakref.WeakKeyDictionary()
#: the same for hook specifications (``liter_llm.hookspecs``)
_SPEC_OPTS: weakref.WeakKeyDictionary[Any, dict[str, tuple[Any, Any]]] = weakref.WeakKeyDictionary()


def _static_value(plugin: Any) -> tuple[Any, Callable[[str], Any]]:
    """The object whose attributes decide ``plugin``'s hook options, and how to read one without running it.

    A module's attribute is in its ``__dict__``; an instance's, when its own ``__dict__`` does not
    have it, in its class's (the first class of the MRO that has it).  Nothing is called or bound.
    """
    if isinstance(plugin, types.ModuleType):
        return plugin, lambda name: plugin.__dict__.get(name, _ABSENT)
    if isinstance(plugin, type):  # a class as a plugin (or a specification namespace)
        cls, own = plugin, {}
    else:
        cls = type(plugin)
        try:
            own = object.__getattribute__(plugin, "__dict__")
        except AttributeError:
            own = {}

    def lookup(name: str) -> Any:
        if isinstance(own, dict) and name in own:
            return _ABSENT  # the instance's own attribute: not cached
        for klass in cls.__mro__:
            if name in klass.__dict__:
                return klass.__dict__[name]
        return _ABSENT

    return cls, lookup


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, reading each plugin attribute's hook options once per process.

    Every client builds one manager per provider it calls, registering the same modules and
    built-in objects each time; pluggy reads the options of every attribute of every plugin
    (``inspect.getattr_static``) on each registration, which was most of building a manager.
    The options are pluggy's own (``parse_hookimpl_opts``, the documented place to change how
    implementations are found), kept per module or class and attribute, and read again when the
    attribute is not the same object any more.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        marker = self.project_name + "_impl"
        return _cached_opts(_IMPL_OPTS, plugin, name, super().parse_hookimpl_opts, plain_skipped=True, marker=marker)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        return _cached_opts(_SPEC_OPTS, module_or_class, name, super().parse_hookspec_opts)


def _cached_opts(
    cache: weakref.WeakKeyDictionary[Any, dict[str, tuple[Any, Any]]],
    plugin: Any,
    name: str,
    parse: Callable[[Any, str], Any],
    *,
    plain_skipped: bool = False,
    marker: str | None = None,
) -> Any:
    """``parse(plugin, name)``, remembered per module or class while the attribute stays the same object.

    ``plain_skipped``: an attribute that is not a descriptor (a module, a class, a constant, a
    builtin function: most of a plugin module's names) is ``None`` without asking ``parse``, as
    pluggy's own ``parse_hookimpl_opts`` answers for it: ``getattr`` gives the value itself, which
    pluggy skips when it is not a Python function, method, classmethod or staticmethod (1.6 and
    later), or when it is not a routine (1.5; a builtin function, the one routine here, cannot carry
    a marker).  So does a descriptor of a type written in C (``object``'s ``__eq__``, ``__dict__``,
    ``__init_subclass__``...: every instance plugin has two dozen), which pluggy finds to be no
    function and which cannot carry a marker; a slot (``__slots__``) is not one of them.

    ``marker`` (the hook implementation marker's attribute, ``liter_llm_impl``): a plain Python
    function found where pluggy finds it (a module's or a class's own attribute) answers its marker,
    a dict, or ``None``, as pluggy does after its static lookup (``inspect.getattr_static``, most of
    the cost of registering a plugin module for the first time); dunder names, and a function that
    carries a ``__func__`` (which pluggy 1.6 and later read as well), still ask ``parse``.
    core/tests/test_plugin_manager_cache.py compares both over every kind of attribute.
    """
    holder, lookup = _static_value(plugin)
    value = lookup(name)
    if value is _ABSENT or type(value) is types.MemberDescriptorType:  # a slot's value is the instance's own
        return parse(plugin, name)
    if plain_skipped and (type(value) in _C_DESCRIPTORS or not hasattr(type(value), "__get__")):
        return None
    plain_function = type(value) is types.FunctionType and getattr(value, "__func__", None) is None
    if marker is not None and plain_function and not name.startswith("__"):
        opts = getattr(value, marker, None)
        return opts if isinstance(opts, dict) else None
    try:
        known = cache.get(holder)
        if known is None:
            known = cache[holder] = {}
    except TypeError:  # a holder that cannot be weakly referenced
        return parse(plugin, name)
    cached = known.get(name)
    if cached is not None and cached[0] is value:
        return cached[1]
    opts = parse(plugin, name)
    known[name] = (value, opts)
    return opts


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows liter-llm's hook specifications."""
    pm = _PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def _allowed_names() -> set[str] | None:
    raw = os.environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _replaces(new: ProviderSpec, existing: ProviderSpec) -> bool:
    """The rule for two providers of one name (docs/writing-a-plugin.md, "Duplicate provider names").

    A provider with a plugin of its own beats a catalogue row (a provider without one: the
    OpenAI-compatible catalogue defers to a dedicated plugin), logged at debug level.  Between two of
    the same kind, the one from the distribution whose name sorts first wins, whatever the order
    they load in, and a :class:`PluginLoadWarning` names both.
    """
    if (new.plugin is None) != (existing.plugin is None):
        wins = new.plugin is not None
        winner, loser = (new, existing) if wins else (existing, new)
        get_logger().debug(
            "provider_replaced", provider=new.name, kept=winner.distribution, replaced=loser.distribution
        )
        return wins
    wins = (new.distribution or "") < (existing.distribution or "")
    kept, dropped = (new, existing) if wins else (existing, new)
    warnings.warn(
        f"provider {new.name!r} is declared by both {existing.distribution} and {new.distribution}; "
        f"keeping the one from {kept.distribution} (the distribution name that sorts first), "
        f"ignoring {dropped.distribution}'s",
        PluginLoadWarning,
        stacklevel=4,
    )
    return wins


@frozen(repr=False, eq=False)
class _Declared(FrozenFields):
    """A plugin known from its entry points (its providers, its commands), not imported yet."""

    entry_point: Any  # importlib.metadata.EntryPoint of the ``liter_llm`` group, or one read from the index
    #: provider name -> its declared bare model prefixes
    providers: Mapping[str, tuple[str, ...]]
    #: the ``liter-llm`` commands it declares it adds
    commands: tuple[str, ...] = ()


def _takes_part(name: str, function: Callable[..., Any], argnames: tuple[str, ...], config: Any) -> bool:
    """One ``takes_part`` implementation's answer (only ``False`` leaves the plugin out)."""
    try:
        answer = function(*[config for _ in argnames])
    except LiterLlmError:
        raise
    except Exception as exc:
        raise plugin_bug(f"{name}.takes_part", exc, None) from exc
    return answer is not False


def _dist_name(ep: Any) -> str | None:
    """The name of the distribution an entry point comes from (reads its METADATA: not free)."""
    return ep.dist.name if ep.dist is not None else None


def _dist_version(ep: Any) -> str | None:
    return ep.dist.version if ep.dist is not None else None


def liter_entry_points() -> metadata.EntryPoints:
    """The entry points of liter-llm's groups (``liter_llm`` and ``liter_llm.*``) of the installed distributions.

    The same as ``importlib.metadata.entry_points()`` restricted to those groups: the distributions of
    ``sys.path`` in its order, the first of each normalized name only.  A distribution whose
    ``entry_points.txt`` does not name ``liter_llm`` is not parsed: most installed distributions have
    entry points of other projects, and parsing all of them was most of the scan's cost.
    """
    from importlib import metadata  # about 7 ms to import: only when there is no current index (_ep_index)

    seen: set[str] = set()
    found: list[metadata.EntryPoint] = []
    for dist in metadata.distributions():
        # importlib.metadata's own key for "the same distribution" (the name from the folder's name,
        # else from METADATA); a Distribution that does not have it is told apart by its METADATA name
        name = getattr(dist, "_normalized_name", None) or _normalized(dist.metadata["Name"] or "")
        if name in seen:
            continue
        seen.add(name)
        text = dist.read_text("entry_points.txt")
        if not text or ENTRY_POINT_GROUP not in text:
            continue
        found.extend(ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP or ep.group.startswith(_SUBGROUPS))
    return metadata.EntryPoints(found)


def _normalized(name: str) -> str:
    """A distribution name as importlib.metadata normalizes it (PEP 503, with underscores)."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _declarations(everything: Any) -> dict[tuple[int, str], dict[str, tuple[str, ...]]]:
    """``(id of the distribution, entry point value) -> {provider: prefixes}`` from the two declaration groups.

    Entry points of one distribution share its ``Distribution`` object, so they are matched by its
    identity: no distribution's METADATA is read for a declaration.
    """
    prefixes: dict[tuple[int, str], tuple[str, ...]] = {}
    for ep in everything.select(group=MODEL_PREFIXES_GROUP):
        prefixes[(id(ep.dist), ep.name)] = tuple(ep.value.split())
    found: dict[tuple[int, str], dict[str, tuple[str, ...]]] = {}
    for ep in everything.select(group=PROVIDERS_GROUP):
        key = (id(ep.dist), ep.name)
        found.setdefault((id(ep.dist), ep.value.strip()), {})[ep.name] = prefixes.get(key, ())
    return found


def _command_declarations(everything: Any) -> dict[tuple[int, str], tuple[str, ...]]:
    """``(id of the distribution, entry point value) -> the commands declared`` (the ``liter_llm.commands`` group)."""
    found: dict[tuple[int, str], tuple[str, ...]] = {}
    for ep in everything.select(group=COMMANDS_GROUP):
        key = (id(ep.dist), ep.value.strip())
        found[key] = (*found.get(key, ()), ep.name)
    return found


class Registry:
    """The process-wide registry of plugins and providers.

    Built-in and entry-point providers are loaded once; custom providers are
    added and removed at run time under a lock and are consulted first.  A
    provider plugin that declares its providers (``liter_llm.providers``) is
    imported the first time one of its providers is looked up or a model
    matches one of its declared prefixes; :attr:`plugins`, :attr:`providers`
    and :meth:`all_providers` import every such plugin first, so they always
    list everything installed.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded = False
        self._plugins: list[LoadedPlugin] = []
        #: plugins that failed to import or register: (name, why), for routing errors
        self.failed: list[tuple[str, str]] = []
        self._providers: dict[str, ProviderSpec] = {}
        self._custom: dict[str, ProviderSpec] = {}
        #: declared provider plugins not imported yet, by entry point name
        self._declared: dict[str, _Declared] = {}
        #: provider name -> the entry point names of the declared plugins that serve it (not imported yet)
        self._pending: dict[str, tuple[str, ...]] = {}
        #: plugins imported on demand that implement only registration hooks: not global plugins
        self._provider_only: set[str] = set()
        #: plugin name -> its ``takes_part`` implementations (function, argument names)
        self._takes_part: dict[str, list[tuple[Callable[..., Any], tuple[str, ...]]]] = {}
        # (prefix, provider or a pending provider's name), longest prefix first; replaced whole (never
        # mutated) so that resolve() can read them without the lock while another thread registers
        self._bare_prefixes: list[tuple[str, ProviderSpec | str]] = []
        self._custom_prefixes: list[tuple[str, ProviderSpec]] = []

    # -- loading ---------------------------------------------------------
    def ensure_loaded(self) -> None:
        """Discover the entry-point plugins, once per process (provider plugins are only declared)."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._load_entry_points()
            self._loaded = True

    def _load_entry_points(self) -> None:
        allowed = _allowed_names()
        if allowed is not None and not allowed:
            return  # LITER_LLM_LOAD_PLUGINS="" : none, without reading any distribution
        everything = _ep_index.entry_points(liter_entry_points)  # remembered between processes
        declared = _declarations(everything)
        commands = _command_declarations(everything)
        seen: set[str] = set()
        for ep in everything.select(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed and _dist_name(ep) not in allowed:
                continue
            if ep.name in seen:
                warnings.warn(
                    f"liter-llm plugin {ep.name!r} from {_dist_name(ep) or 'an unknown distribution'} is installed "
                    "twice; the second copy is ignored",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            seen.add(ep.name)
            key = (id(ep.dist), ep.value.strip())
            providers, adds = declared.get(key), commands.get(key)
            if providers or adds:
                self._declare(_Declared(entry_point=ep, providers=providers or {}, commands=adds or ()))
                continue
            self._import_entry_point(ep)
        self._rebuild_prefixes()

    def _declare(self, plugin: _Declared) -> None:
        name = plugin.entry_point.name
        self._declared[name] = plugin
        for provider in plugin.providers:
            self._pending[provider] = (*self._pending.get(provider, ()), name)

    def _import_entry_point(self, ep: Any) -> tuple[LoadedPlugin | None, list[ProviderSpec]]:
        dist = _dist_name(ep)
        try:
            module = ep.load()
        except Exception as exc:
            warnings.warn(
                f"liter-llm plugin {ep.name!r} ({dist or ep.value}) failed to import and was skipped: "
                f"{type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=4,
            )
            self.failed.append((ep.name, f"failed to import: {type(exc).__name__}: {exc}"))
            return None, []
        return self._add(module, name=ep.name, distribution=dist, version=_dist_version(ep))

    def _load_declared(self, names: Iterable[str]) -> None:
        """Import the declared plugins ``names`` (those not imported yet) and register their providers."""
        with self._lock:
            for name in names:
                plugin = self._declared.get(name)
                if plugin is None:
                    continue  # imported meanwhile (another thread, or another provider of the same plugin)
                loaded, registered = self._import_entry_point(plugin.entry_point)
                self._forget_declared(name)
                if loaded is not None:
                    self._check_declaration(plugin, loaded, registered)
                self._rebuild_prefixes()

    def _forget_declared(self, name: str) -> bool:
        """Drop the declared plugin ``name`` and its pending providers (under the lock); ``True`` if it was there."""
        declared = self._declared.pop(name, None)
        if declared is None:
            return False
        for provider in declared.providers:
            rest = tuple(other for other in self._pending.get(provider, ()) if other != name)
            if rest:
                self._pending[provider] = rest
            else:
                self._pending.pop(provider, None)
        return True

    def _check_declaration(self, declared: _Declared, loaded: LoadedPlugin, specs: list[ProviderSpec]) -> None:
        """Warn when a provider plugin registered other providers or hooks than it declared."""
        pm = new_plugin_manager()
        pm.register(loaded.plugin, name=loaded.name)
        per_call = sorted(
            hook
            for hook in pm.hook.__dict__
            if hook not in _NOT_PER_CALL and not hook.startswith("_") and getattr(pm.hook, hook).get_hookimpls()
        )
        if per_call:
            groups = [
                g for g, given in ((PROVIDERS_GROUP, declared.providers), (COMMANDS_GROUP, declared.commands)) if given
            ]
            warnings.warn(
                f"liter-llm plugin {loaded.name!r} ({loaded.distribution}) declares what it adds in "
                f"{' and '.join(map(repr, groups))} but implements hooks that see every call ({', '.join(per_call)}): "
                "it was imported on demand, so they apply only to clients created from now on; a plugin with such "
                "hooks must not declare its providers or commands",
                PluginLoadWarning,
                stacklevel=5,
            )
        else:
            self._provider_only.add(loaded.name)
        registered = {spec.name: tuple(spec.model_prefixes) for spec in specs}
        expected = dict(declared.providers)
        if set(registered) != set(expected) or any(
            set(registered[name]) != set(expected[name]) for name in registered if name in expected
        ):
            warnings.warn(
                f"liter-llm plugin {loaded.name!r} ({loaded.distribution}) declares the providers "
                f"{_describe(expected)} but registered {_describe(registered)}: the declaration in its "
                f"{PROVIDERS_GROUP!r} and {MODEL_PREFIXES_GROUP!r} entry points is out of date",
                PluginLoadWarning,
                stacklevel=5,
            )

    def load_all(self) -> None:
        """Import every declared provider plugin that is not imported yet (listing every provider needs it)."""
        self.ensure_loaded()
        if self._declared:
            self._load_declared(list(self._declared))

    @property
    def plugins(self) -> list[LoadedPlugin]:
        """Every entry-point plugin and its providers (imports the declared provider plugins first)."""
        self.load_all()
        return self._plugins

    @property
    def providers(self) -> dict[str, ProviderSpec]:
        """Every provider of the entry-point plugins by name (imports the declared provider plugins first)."""
        self.load_all()
        return self._providers

    def add_plugin(
        self, plugin: Any, *, name: str, distribution: str | None = None, version: str | None = None
    ) -> LoadedPlugin | None:
        """Register a plugin object (usually a module) and the providers it declares.

        Returns ``None`` (after a :class:`PluginLoadWarning`) if the plugin is broken.
        """
        return self._add(plugin, name=name, distribution=distribution, version=version)[0]

    def _add(
        self, plugin: Any, *, name: str, distribution: str | None, version: str | None
    ) -> tuple[LoadedPlugin | None, list[ProviderSpec]]:
        """:meth:`add_plugin`, also returning every provider the plugin registered (winners or not)."""
        pm = new_plugin_manager()
        try:
            pm.register(plugin, name=name)
            pm.check_pending()
        except Exception as exc:
            warnings.warn(
                f"liter-llm plugin {name!r} ({distribution or 'no distribution'}) is not a valid plugin and was "
                f"skipped: {type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=3,
            )
            self.failed.append((name, f"is not a valid plugin: {type(exc).__name__}: {exc}"))
            return None, []
        collected: list[ProviderSpec] = []
        asks = [
            (impl.function, tuple(impl.argnames))
            for impl in pm.hook.takes_part.get_hookimpls()
            if not (impl.wrapper or impl.hookwrapper)
        ]

        def register(spec: ProviderSpec) -> None:
            if not isinstance(spec, ProviderSpec):
                raise TypeError(f"register() takes a ProviderSpec, not {type(spec).__name__}")
            collected.append(attrs.evolve(spec, distribution=distribution or name))

        try:
            pm.hook.register_providers(register=register)
        except Exception as exc:
            warnings.warn(
                f"liter-llm plugin {name!r} ({distribution or 'no distribution'}) failed to register its providers "
                f"and was skipped: {type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=3,
            )
            self.failed.append((name, f"failed to register its providers: {type(exc).__name__}: {exc}"))
            return None, []
        names: list[str] = []
        with self._lock:
            for spec in collected:
                existing = self._providers.get(spec.name)
                if existing is not None and not _replaces(spec, existing):
                    continue
                if existing is not None:
                    for index, other in enumerate(self._plugins):  # the loser no longer owns the name
                        if spec.name in other.providers:
                            kept = tuple(p for p in other.providers if p != spec.name)
                            self._plugins[index] = attrs.evolve(other, providers=kept)
                self._providers[spec.name] = spec
                names.append(spec.name)
            self._rebuild_prefixes()
            loaded = LoadedPlugin(
                name=name, distribution=distribution, version=version, plugin=plugin, providers=tuple(names)
            )
            self._plugins.append(loaded)
            if asks:
                self._takes_part[name] = asks
            else:
                self._takes_part.pop(name, None)
        return loaded, collected

    def remove_plugin(self, name: str) -> bool:
        """Remove a plugin and its providers (for tests and embedding applications)."""
        with self._lock:
            for index, loaded in enumerate(self._plugins):
                if loaded.name == name:
                    del self._plugins[index]
                    for provider in loaded.providers:
                        self._providers.pop(provider, None)
                    self._provider_only.discard(name)
                    self._takes_part.pop(name, None)
                    self._rebuild_prefixes()
                    return True
            if self._forget_declared(name):
                self._rebuild_prefixes()
                return True
            before = len(self.failed)
            self.failed = [entry for entry in self.failed if entry[0] != name]
            if len(self.failed) != before:
                return True
        return False

    def _rebuild_prefixes(self) -> None:
        pairs: list[tuple[str, ProviderSpec | str]] = [
            (prefix, spec) for spec in self._providers.values() for prefix in spec.model_prefixes
        ]
        for declared in self._declared.values():
            pairs.extend((prefix, provider) for provider, prefixes in declared.providers.items() for prefix in prefixes)
        pairs.sort(key=lambda pair: -len(pair[0]))
        self._bare_prefixes = pairs
        custom = [(prefix, spec) for spec in self._custom.values() for prefix in spec.model_prefixes]
        custom.sort(key=lambda pair: -len(pair[0]))
        self._custom_prefixes = custom

    @property
    def global_plugins(self) -> list[tuple[str, Any]]:
        """The entry-point plugin objects that see every call (provider plugins imported on demand do not)."""
        return [(loaded.name, loaded.plugin) for loaded in self._plugins if loaded.name not in self._provider_only]

    def global_plugins_for(self, config: Any, skip: Iterable[str] = ()) -> list[tuple[str, Any]]:
        """:attr:`global_plugins` but those named in ``skip`` and those whose ``takes_part`` answers ``False``.

        ``takes_part`` is asked of each remaining plugin that implements it, with the client's ``config``.
        """
        skipped = set(skip)
        chosen: list[tuple[str, Any]] = []
        for name, plugin in self.global_plugins:
            if name in skipped:
                continue
            asks = self._takes_part.get(name, ())
            if all(_takes_part(name, function, argnames, config) for function, argnames in asks):
                chosen.append((name, plugin))
        return chosen

    # -- custom providers ------------------------------------------------
    def register_custom(self, spec: ProviderSpec) -> None:
        """Add or replace a run-time provider; it is consulted before all others."""
        with self._lock:
            self._custom[spec.name] = spec
            self._rebuild_prefixes()

    def unregister_custom(self, name: str) -> bool:
        """Remove a run-time provider; ``True`` if it existed."""
        with self._lock:
            removed = self._custom.pop(name, None) is not None
            if removed:
                self._rebuild_prefixes()
            return removed

    # -- look-ups ----------------------------------------------------------
    def is_custom(self, spec: ProviderSpec) -> bool:
        """Whether ``spec`` is a provider added with :func:`register_custom_provider`."""
        return self._custom.get(spec.name) is spec

    def _registered_provider(self, name: str) -> ProviderSpec | None:
        """The entry-point provider ``name``, importing the declared plugins that serve it first."""
        pending = self._pending.get(name)
        if pending:
            self._load_declared(pending)
        return self._providers.get(name)

    def get(self, name: str) -> ProviderSpec | None:
        """The provider called ``name`` (custom providers first)."""
        return self._custom.get(name) or self._registered_provider(name)

    def provider_names(self) -> set[str]:
        """The name of every known provider, declared ones included, without importing any plugin."""
        return {*self._providers, *self._pending, *self._custom}

    def all_providers(self) -> Mapping[str, ProviderSpec]:
        """Every known provider by name, custom providers overriding built-ins (imports every declared plugin)."""
        self.load_all()
        merged = dict(self._providers)
        merged.update(self._custom)
        return merged

    def resolve(self, model: str, extra: Iterable[ProviderSpec] = ()) -> tuple[ProviderSpec | None, str]:
        """Find the provider for a model string; return it and the model as it goes on the wire.

        Order: custom providers (``extra`` first: the client's configured
        ones), then a known ``provider/`` prefix, then bare model prefixes.
        ``(None, model)`` when nothing matched.  A declared provider that
        matches is imported first (and the look-up repeated with what it
        registered).
        """
        head, slash, tail = model.partition("/")
        for spec in extra:
            if slash and head == spec.name:
                return spec, tail
            for prefix in spec.model_prefixes:
                if model.startswith(prefix):
                    return spec, model
        if slash:
            named = self._custom.get(head)
            if named is not None:
                return named, tail
        for prefix, spec in self._custom_prefixes:
            if model.startswith(prefix):
                return spec, model
        if slash:
            named = self._registered_provider(head)
            if named is not None:
                return named, tail
        while True:
            for prefix, target in self._bare_prefixes:
                if not model.startswith(prefix):
                    continue
                name = target if isinstance(target, str) else target.name
                pending = self._pending.get(name)
                if pending:
                    self._load_declared(pending)
                    break  # look again, with what the plugin registered
                if isinstance(target, str):
                    with self._lock:  # being loaded by another thread: wait for it, then look again
                        pass
                    break
                return target, model
            else:
                return None, model


_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry(*, load: bool = True) -> Registry:
    """The process-wide registry, loading entry-point plugins on first use."""
    global _registry
    registry = _registry
    if registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = Registry()
            registry = _registry
    if load:
        registry.ensure_loaded()
    return registry


def _validate_base_url(base_url: Any, field: str) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise BadRequestError(f"{field}: a base URL is required")
    if not base_url.startswith(("http://", "https://")):
        raise BadRequestError(f"{field}: {base_url!r} is not an http(s) URL")
    return base_url.rstrip("/")


def spec_from_custom(
    config: CustomProviderConfig | ProviderConfig | Mapping[str, Any], *, field: str = "config"
) -> ProviderSpec:
    """Validate a custom provider's configuration and describe it as a ProviderSpec."""
    if isinstance(config, ProviderConfig):
        config = CustomProviderConfig(
            name=config.name,
            base_url=config.base_url,
            auth_header=config.auth_header,
            model_prefixes=list(config.model_prefixes),
            structured_output=config.structured_output,
        )
    if isinstance(config, Mapping):
        config = CustomProviderConfig.from_dict(dict(config))
    if not isinstance(config, CustomProviderConfig):
        raise BadRequestError(f"{field}: expected a CustomProviderConfig, got {type(config).__name__}")
    name = config.name
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError(f"{field}.name: a provider name is required")
    if "/" in name:
        raise BadRequestError(f"{field}.name: {name!r} must not contain '/'")
    base_url = _validate_base_url(config.base_url, f"{field}.base_url")
    prefixes = list(config.model_prefixes or [])
    if not prefixes or not all(isinstance(p, str) and p for p in prefixes):
        raise BadRequestError(f"{field}.model_prefixes: at least one non-empty model prefix is required")
    auth = AuthHeaderFormat.parse(config.auth_header)
    mechanism = config.structured_output
    if mechanism is not None and mechanism not in STRUCTURED_OUTPUT_MECHANISMS:
        raise BadRequestError(
            f"{field}.structured_output: {mechanism!r} is not one of {sorted(STRUCTURED_OUTPUT_MECHANISMS)}"
        )
    return ProviderSpec(
        name=name,
        base_url=base_url,
        auth=auth,
        requires_api_key=False,
        model_prefixes=tuple(prefixes),
        endpoints=ALL_ENDPOINTS,
        display_name=name,
        distribution="custom",
        structured_output=mechanism,
    )


def register_custom_provider(config: CustomProviderConfig | Mapping[str, Any]) -> None:
    """Register a custom OpenAI-compatible provider, checked before all built-in providers.

    A provider of the same name is replaced.  Thread-safe.

    Raises:
        BadRequestError: an empty name, an empty or non-http(s) ``base_url``,
            or no model prefixes.
    """
    spec = spec_from_custom(config)
    get_registry(load=False).register_custom(spec)


def unregister_custom_provider(name: str) -> bool:
    """Remove a custom provider by name; ``True`` if one was found and removed."""
    return get_registry(load=False).unregister_custom(name)
