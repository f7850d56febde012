"""OpenAI and every OpenAI-compatible provider for liter-llm.

This plugin registers:

* ``openai`` itself (``OPENAI_API_KEY``, bearer auth, bare model prefixes
  such as ``gpt-``, ``o3``, ``text-embedding-``), with one protocol quirk of
  its own: reasoning models (o1/o3/o4/gpt-5 families) get
  ``max_completion_tokens`` instead of ``max_tokens``;
* the OpenAI-compatible catalogue (``catalogue.json``, about a hundred rows:
  Groq, Together, Fireworks, DeepSeek, OpenRouter, xAI, ...), derived from
  liter-llm's schemas/providers.json, generated from litellm's data (MIT);
* local servers that need no key (ollama, lm_studio, vllm, hosted_vllm,
  llamacpp, llamafile, localai), each overridable with ``<NAME>_BASE_URL``.

Importing the module is cheap: the catalogue is read in
:func:`register_providers`, which the core calls once per process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ALL_ENDPOINTS, ProviderSpec
from liter_llm.types import AuthHeaderFormat

if TYPE_CHECKING:
    import httpx

    from liter_llm import Call

__all__ = [
    "LOCAL_SERVERS",
    "OPENAI_MODEL_PREFIXES",
    "OpenAIHooks",
    "is_reasoning_model",
    "load_catalogue",
    "openai_spec",
    "register_providers",
]

#: Bare model prefixes that route to OpenAI without a ``openai/`` prefix.
OPENAI_MODEL_PREFIXES: tuple[str, ...] = (
    "gpt-",
    "o1",
    "o3",
    "o4",
    "chatgpt-",
    "text-embedding-",
    "text-moderation-",
    "dall-e-",
    "whisper-",
    "tts-",
    "omni-moderation",
    "gpt-image-",
    "ft:gpt-",
)

#: OpenAI offers every endpoint family except these.
_OPENAI_UNSUPPORTED = frozenset({"rerank", "search", "ocr"})

_REASONING_MODEL = re.compile(r"^(?:ft:)?(?:o[134]|gpt-5)(?:$|[-.:_])")


def is_reasoning_model(model: str | None) -> bool:
    """Whether ``model`` is an OpenAI reasoning model that rejects ``max_tokens``.

    The o1, o3, o4 and gpt-5 families (``o1``, ``o3-mini``, ``o4-mini-2025-04-16``,
    ``gpt-5``, ``gpt-5.1``, fine-tunes of them) take ``max_completion_tokens``.
    """
    return bool(model) and _REASONING_MODEL.match(model or "") is not None


class OpenAIHooks:
    """Hooks that see only the ``openai`` provider's calls."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request | None:
        """Rename ``max_tokens`` for reasoning models; otherwise leave the core's builder alone."""
        if call.operation not in ("chat", "chat_stream") or not is_reasoning_model(call.model):
            return None
        from liter_llm.wire import build_chat_request, chat_body

        body = chat_body(call)
        if "max_tokens" in body:
            value = body.pop("max_tokens")
            body.setdefault("max_completion_tokens", value)
        return build_chat_request(call, body)


def openai_spec() -> ProviderSpec:
    """The ``openai`` provider itself."""
    return ProviderSpec(
        name="openai",
        display_name="OpenAI",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        auth=AuthHeaderFormat.BEARER,
        model_prefixes=cast(Any, OPENAI_MODEL_PREFIXES),  # attrs' tuple converter confuses mypy
        endpoints=ALL_ENDPOINTS - _OPENAI_UNSUPPORTED,
        plugin=OpenAIHooks(),
        openai_wire=True,  # the hooks only rename a parameter
    )


#: Local OpenAI-compatible servers: (name, display name, default base URL, key variable, endpoints).
LOCAL_SERVERS: tuple[tuple[str, str, str, str | None, frozenset[str]], ...] = (
    ("ollama", "Ollama", "http://localhost:11434/v1", "OLLAMA_API_KEY", frozenset({"chat", "embed", "models"})),
    ("lm_studio", "LM Studio", "http://localhost:1234/v1", "LM_STUDIO_API_KEY", frozenset({"chat", "embed", "models"})),
    (
        "vllm",
        "vLLM",
        "http://localhost:8000/v1",
        "VLLM_API_KEY",
        frozenset({"chat", "embed", "models", "rerank", "transcribe"}),
    ),
    (
        "hosted_vllm",
        "vLLM (hosted)",
        "http://localhost:8000/v1",
        "HOSTED_VLLM_API_KEY",
        frozenset({"chat", "embed", "models", "rerank", "transcribe"}),
    ),
    (
        "llamacpp",
        "llama.cpp server",
        "http://localhost:8080/v1",
        None,
        frozenset({"chat", "embed", "models", "rerank"}),
    ),
    ("llamafile", "llamafile", "http://localhost:8080/v1", None, frozenset({"chat", "embed", "models"})),
    (
        "localai",
        "LocalAI",
        "http://localhost:8080/v1",
        "LOCALAI_API_KEY",
        frozenset({"chat", "embed", "models", "image", "speech", "transcribe", "rerank"}),
    ),
)


def local_specs() -> list[ProviderSpec]:
    """The local servers: no key required (one is sent when given), base URL from ``<NAME>_BASE_URL``."""
    return [
        ProviderSpec(
            name=name,
            display_name=display,
            base_url=base_url,
            api_key_env=key_env,
            auth=AuthHeaderFormat.BEARER,
            requires_api_key=False,
            endpoints=endpoints,
        )
        for name, display, base_url, key_env, endpoints in LOCAL_SERVERS
    ]


def _catalogue_spec(row: Mapping[str, Any]) -> ProviderSpec:
    auth = AuthHeaderFormat.NONE if row.get("auth") == "none" else AuthHeaderFormat.BEARER
    key_env = row.get("api_key_env")
    return ProviderSpec(
        name=row["name"],
        display_name=row.get("display_name"),
        base_url=row["base_url"],
        api_key_env=key_env,
        auth=auth,
        requires_api_key=auth.kind != "none" and bool(key_env),
        model_prefixes=tuple(row.get("model_prefixes") or ()),
        endpoints=frozenset(row.get("endpoints") or ()),
        param_mappings=dict(row.get("param_mappings") or {}),
        structured_output=row.get("structured_output"),
    )


def load_catalogue() -> list[dict[str, Any]]:
    """The rows of the packaged ``catalogue.json`` (read from disk on every call)."""
    text = resources.files(__name__).joinpath("catalogue.json").read_text(encoding="utf-8")
    data = json.loads(text)
    rows: list[dict[str, Any]] = data["providers"]
    return rows


def all_specs(rows: Iterable[Mapping[str, Any]] | None = None) -> list[ProviderSpec]:
    """Every provider this plugin serves: OpenAI, the local servers, then the catalogue.

    Explicit definitions win over catalogue rows of the same name.
    """
    explicit = [openai_spec(), *local_specs()]
    names = {spec.name for spec in explicit}
    specs = list(explicit)
    for row in load_catalogue() if rows is None else rows:
        if row["name"] in names:
            continue
        names.add(row["name"])
        specs.append(_catalogue_spec(row))
    return specs


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register OpenAI, the local servers and the OpenAI-compatible catalogue."""
    for spec in all_specs():
        register(spec)
