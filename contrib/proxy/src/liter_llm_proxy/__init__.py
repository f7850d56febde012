"""An OpenAI-compatible proxy server on liter-llm's async client (``liter-llm serve``).

Applications keep the official OpenAI SDK and point its ``base_url`` at the
proxy; the proxy authenticates them (a master key and virtual keys stored
hashed), enforces each key's model allow-list, budget, rate limit and expiry,
forwards every call to liter-llm's client, and logs one spend row per request.
See the documentation page "Proxy server" (docs/proxy.md).

Importing this package starts nothing: the server, the database and the
client are created when the application starts (its lifespan).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Proxy", "ProxySettings", "create_app", "load_settings", "serve"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from liter_llm_proxy.app import Proxy as Proxy
    from liter_llm_proxy.app import create_app as create_app
    from liter_llm_proxy.serve import serve as serve
    from liter_llm_proxy.settings import ProxySettings as ProxySettings
    from liter_llm_proxy.settings import load_settings as load_settings

_WHERE = {
    "Proxy": "liter_llm_proxy.app",
    "create_app": "liter_llm_proxy.app",
    "serve": "liter_llm_proxy.serve",
    "ProxySettings": "liter_llm_proxy.settings",
    "load_settings": "liter_llm_proxy.settings",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _WHERE:
        raise AttributeError(f"module 'liter_llm_proxy' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
