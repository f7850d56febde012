"""The one request pipeline behind both clients: the parts wired together.

A :class:`Pipeline` holds a client's configuration, plugins and router.  It is
made of

* routing (:mod:`liter_llm._routing`): provider lookup, route, base URL, keys;
* the call flow (:mod:`liter_llm._flow`): prepare, run, retries, fallbacks;

and builds, per provider, the hook relay those run through (hook dispatch:
:mod:`liter_llm._dispatch`).  The drivers that perform a flow's I/O are in
:mod:`liter_llm._drivers`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from liter_llm._dispatch import _direct_calls
from liter_llm._flow import CallFlow
from liter_llm._hooks import (
    install_guards,
)
from liter_llm._plugins import get_registry, new_plugin_manager, spec_from_custom
from liter_llm._routing import _checked_config
from liter_llm.builtins.openai_wire import OPENAI_WIRE
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import ClientConfig
from liter_llm.errors import (
    BadRequestError,
)
from liter_llm.providers import ProviderSpec
from liter_llm.router import Router

__all__ = ["Pipeline"]

_DEFAULT_INITIAL_DELAY = 0.5


class Pipeline(CallFlow):
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
        self.global_plugins = self.registry.global_plugins_for(config, skip=disabled)
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
            names = {spec.name for spec in self.configured_providers} | self.registry.provider_names()
            self.router.check(sorted(names), self.route)
        if self.user_hooks:
            self._check_user_hooks()

    def _check_user_hooks(self) -> None:
        """Validate the user's hooks now, not on the first call."""
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
