"""Plugin discovery, the provider registry and routing.

Plugins are found through the ``liter_llm`` entry point group, loaded lazily
on the first client creation, once per process.  ``LITER_LLM_LOAD_PLUGINS``
(a comma list of entry point or distribution names; empty means none) limits
what loads.  A plugin that fails to import or register is a warning naming it,
never a crash.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

import attrs
import pluggy

from liter_llm import hookspecs
from liter_llm._log import get_logger
from liter_llm.config import ProviderConfig
from liter_llm.errors import BadRequestError
from liter_llm.providers import ALL_ENDPOINTS, STRUCTURED_OUTPUT_MECHANISMS, ProviderSpec
from liter_llm.types import AuthHeaderFormat, CustomProviderConfig

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
LOAD_PLUGINS_ENV = "LITER_LLM_LOAD_PLUGINS"

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


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded or registered; the client carries on without it."""


@attrs.frozen
class LoadedPlugin:
    """A plugin found through an entry point."""

    name: str
    distribution: str | None
    version: str | None
    plugin: Any
    providers: tuple[str, ...]


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows liter-llm's hook specifications."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
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


class Registry:
    """The process-wide registry of plugins and providers.

    Built-in and entry-point providers are loaded once; custom providers are
    added and removed at run time under a lock and are consulted first.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded = False
        self.plugins: list[LoadedPlugin] = []
        #: plugins that failed to import or register: (name, why), for routing errors
        self.failed: list[tuple[str, str]] = []
        self.providers: dict[str, ProviderSpec] = {}
        self._custom: dict[str, ProviderSpec] = {}
        # (prefix, provider), longest prefix first; replaced whole (never mutated) so that
        # resolve() can read them without the lock while another thread registers
        self._bare_prefixes: list[tuple[str, ProviderSpec]] = []
        self._custom_prefixes: list[tuple[str, ProviderSpec]] = []

    # -- loading ---------------------------------------------------------
    def ensure_loaded(self) -> None:
        """Load the entry-point plugins, once per process."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._load_entry_points()
            self._loaded = True

    def _load_entry_points(self) -> None:
        allowed = _allowed_names()
        seen: set[str] = set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else None
            if allowed is not None and ep.name not in allowed and (dist is None or dist not in allowed):
                continue
            if ep.name in seen:
                warnings.warn(
                    f"liter-llm plugin {ep.name!r} from {dist or 'an unknown distribution'} is installed twice; "
                    "the second copy is ignored",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            seen.add(ep.name)
            try:
                module = ep.load()
            except Exception as exc:
                warnings.warn(
                    f"liter-llm plugin {ep.name!r} ({dist or ep.value}) failed to import and was skipped: "
                    f"{type(exc).__name__}: {exc}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                self.failed.append((ep.name, f"failed to import: {type(exc).__name__}: {exc}"))
                continue
            self.add_plugin(module, name=ep.name, distribution=dist, version=ep.dist.version if ep.dist else None)

    def add_plugin(
        self, plugin: Any, *, name: str, distribution: str | None = None, version: str | None = None
    ) -> LoadedPlugin | None:
        """Register a plugin object (usually a module) and the providers it declares.

        Returns ``None`` (after a :class:`PluginLoadWarning`) if the plugin is broken.
        """
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
            return None
        collected: list[ProviderSpec] = []

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
            return None
        names: list[str] = []
        with self._lock:
            for spec in collected:
                existing = self.providers.get(spec.name)
                if existing is not None and not _replaces(spec, existing):
                    continue
                if existing is not None:
                    for index, other in enumerate(self.plugins):  # the loser no longer owns the name
                        if spec.name in other.providers:
                            kept = tuple(p for p in other.providers if p != spec.name)
                            self.plugins[index] = attrs.evolve(other, providers=kept)
                self.providers[spec.name] = spec
                names.append(spec.name)
            self._rebuild_prefixes()
            loaded = LoadedPlugin(
                name=name, distribution=distribution, version=version, plugin=plugin, providers=tuple(names)
            )
            self.plugins.append(loaded)
        return loaded

    def remove_plugin(self, name: str) -> bool:
        """Remove a plugin and its providers (for tests and embedding applications)."""
        with self._lock:
            for index, loaded in enumerate(self.plugins):
                if loaded.name == name:
                    del self.plugins[index]
                    for provider in loaded.providers:
                        self.providers.pop(provider, None)
                    self._rebuild_prefixes()
                    return True
            before = len(self.failed)
            self.failed = [entry for entry in self.failed if entry[0] != name]
            if len(self.failed) != before:
                return True
        return False

    def _rebuild_prefixes(self) -> None:
        pairs = [(prefix, spec) for spec in self.providers.values() for prefix in spec.model_prefixes]
        pairs.sort(key=lambda pair: -len(pair[0]))
        self._bare_prefixes = pairs
        custom = [(prefix, spec) for spec in self._custom.values() for prefix in spec.model_prefixes]
        custom.sort(key=lambda pair: -len(pair[0]))
        self._custom_prefixes = custom

    @property
    def global_plugins(self) -> list[tuple[str, Any]]:
        """The entry-point plugin objects, which see every call."""
        return [(loaded.name, loaded.plugin) for loaded in self.plugins]

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

    def get(self, name: str) -> ProviderSpec | None:
        """The provider called ``name`` (custom providers first)."""
        return self._custom.get(name) or self.providers.get(name)

    def all_providers(self) -> Mapping[str, ProviderSpec]:
        """Every known provider by name, custom providers overriding built-ins."""
        merged = dict(self.providers)
        merged.update(self._custom)
        return merged

    def resolve(self, model: str, extra: Iterable[ProviderSpec] = ()) -> tuple[ProviderSpec | None, str]:
        """Find the provider for a model string; return it and the model as it goes on the wire.

        Order: custom providers (``extra`` first: the client's configured
        ones), then a known ``provider/`` prefix, then bare model prefixes.
        ``(None, model)`` when nothing matched.
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
            named = self.providers.get(head)
            if named is not None:
                return named, tail
        for prefix, spec in self._bare_prefixes:
            if model.startswith(prefix):
                return spec, model
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
