"""The plugin and provider registry, for plugins, tools and tests.

:func:`get_registry` returns the process-wide :class:`Registry`: the plugins
found through the ``liter_llm`` entry point group (discovered once, on first
use; a provider plugin that declares its providers in ``liter_llm.providers``
is imported when one of them is first needed, and :attr:`Registry.plugins`,
:attr:`Registry.providers` and :meth:`Registry.all_providers` import every
such plugin first) and the providers they registered.  Tools use it to list what is
installed (``liter-llm plugins``), tests to add a plugin object without
installing a distribution (:meth:`Registry.add_plugin`) and to remove it
again (:meth:`Registry.remove_plugin`).  :func:`new_plugin_manager` gives a
pluggy plugin manager that knows liter-llm's hook specifications, to check
that an object is a valid plugin.

Covered by the compatibility promise of the public SDK (see the plugin
guide, "What is public").
"""

from __future__ import annotations

from liter_llm._plugins import (
    ENTRY_POINT_GROUP,
    LOAD_PLUGINS_ENV,
    MODEL_PREFIXES_GROUP,
    PROVIDERS_GROUP,
    LoadedPlugin,
    PluginLoadWarning,
    Registry,
    get_registry,
    new_plugin_manager,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "LOAD_PLUGINS_ENV",
    "MODEL_PREFIXES_GROUP",
    "PROVIDERS_GROUP",
    "LoadedPlugin",
    "PluginLoadWarning",
    "Registry",
    "get_registry",
    "new_plugin_manager",
]
