"""liter-llm: one client for every LLM provider.

``import liter_llm`` imports httpx and attrs (which every call needs) and
nothing else of weight: the other names are imported on first use, no plugin is
loaded and no data file is read until a client is created.

Quick start::

    import liter_llm

    with liter_llm.create_client(api_key="sk-...") as client:
        answer = client.chat(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}])
        print(answer.choices[0].message.content)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Paid at import rather than on the first call (issue #16): httpx and attrs, which every call needs,
# within issue #11's import budget (2x raw httpx's own import).  The rest of the call machinery
# (the typed data model, the client, cattrs) costs more than that budget leaves and still loads on
# first use; no plugin, table, data file or network is touched here.
import attrs as _attrs  # noqa: F401
import httpx as _httpx  # noqa: F401

from liter_llm.hookspecs import hookimpl as hookimpl
from liter_llm.hookspecs import hookspec as hookspec

__version__ = "0.1.0"

_CLIENT_NAMES = {
    "AsyncDefaultClient",
    "DefaultClient",
    "create_async_client",
    "create_async_client_from_json",
    "create_client",
    "create_client_from_file",
    "create_client_from_json",
}
_PLUGIN_NAMES = {"register_custom_provider", "unregister_custom_provider"}
_STREAM_NAMES = {"AsyncChatStream", "ChatStream", "assemble_stream"}
_OTHER = {
    "ProviderSpec": "liter_llm.providers",
    "ResponseStream": "liter_llm.responses_stream",
    "AsyncResponseStream": "liter_llm.responses_stream",
    "ResponseStreamEvent": "liter_llm.responses_stream",
    "SecretStr": "liter_llm._secret",
    "ClientConfig": "liter_llm.config",
    "Call": "liter_llm._call",
    "Fallback": "liter_llm._call",
    "StreamDecoder": "liter_llm.wire",
    "ParsedChatCompletion": "liter_llm.structured",
    "StreamedParse": "liter_llm.structured",
    "TokenCount": "liter_llm.tokens",
    "count_tokens": "liter_llm.tokens",
    "completion_cost": "liter_llm.builtins.cost",
    "set_model_price": "liter_llm.builtins.cost",
    "ModelInfo": "liter_llm.model_facts",
    "model_info": "liter_llm.model_facts",
}

if TYPE_CHECKING:
    from liter_llm._call import Call as Call
    from liter_llm._call import Fallback as Fallback
    from liter_llm._plugins import register_custom_provider as register_custom_provider
    from liter_llm._plugins import unregister_custom_provider as unregister_custom_provider
    from liter_llm._secret import SecretStr as SecretStr
    from liter_llm.client import AsyncDefaultClient as AsyncDefaultClient
    from liter_llm.client import DefaultClient as DefaultClient
    from liter_llm.client import create_async_client as create_async_client
    from liter_llm.client import create_async_client_from_json as create_async_client_from_json
    from liter_llm.client import create_client as create_client
    from liter_llm.client import create_client_from_file as create_client_from_file
    from liter_llm.client import create_client_from_json as create_client_from_json
    from liter_llm.config import ClientConfig as ClientConfig
    from liter_llm.errors import *  # noqa: F403
    from liter_llm.model_facts import ModelInfo as ModelInfo
    from liter_llm.model_facts import model_info as model_info
    from liter_llm.providers import ProviderSpec as ProviderSpec
    from liter_llm.responses_stream import AsyncResponseStream as AsyncResponseStream
    from liter_llm.responses_stream import ResponseStream as ResponseStream
    from liter_llm.responses_stream import ResponseStreamEvent as ResponseStreamEvent
    from liter_llm.streaming import AsyncChatStream as AsyncChatStream
    from liter_llm.streaming import ChatStream as ChatStream
    from liter_llm.streaming import assemble_stream as assemble_stream
    from liter_llm.structured import ParsedChatCompletion as ParsedChatCompletion
    from liter_llm.structured import StreamedParse as StreamedParse
    from liter_llm.tokens import TokenCount as TokenCount
    from liter_llm.tokens import count_tokens as count_tokens
    from liter_llm.types import *  # noqa: F403
    from liter_llm.wire import StreamDecoder as StreamDecoder


def __getattr__(name: str) -> Any:
    import importlib

    if name in _CLIENT_NAMES:
        module = importlib.import_module("liter_llm.client")
    elif name in _PLUGIN_NAMES:
        module = importlib.import_module("liter_llm._plugins")
    elif name in _STREAM_NAMES:
        module = importlib.import_module("liter_llm.streaming")
    elif name in _OTHER:
        module = importlib.import_module(_OTHER[name])
    else:
        errors = importlib.import_module("liter_llm.errors")
        if name in errors.__all__:
            return getattr(errors, name)
        types = importlib.import_module("liter_llm.types")
        if name in getattr(types, "__all__", ()):
            value = getattr(types, name)
            globals()[name] = value
            return value
        raise AttributeError(f"module 'liter_llm' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    import importlib

    names = set(globals()) | _CLIENT_NAMES | _PLUGIN_NAMES | _STREAM_NAMES | set(_OTHER)
    names |= set(importlib.import_module("liter_llm.errors").__all__)
    names |= set(getattr(importlib.import_module("liter_llm.types"), "__all__", ()))
    return sorted(names)
