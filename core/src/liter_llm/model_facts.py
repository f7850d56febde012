"""What is known about a model without asking anyone: :func:`model_info`.

Two tables ship with the package and are read on first use, never at import
and never from the network:

* ``liter_llm/data/models.json``: context window, output limit and capability
  flags (tool calls, image input, JSON Schema output, reasoning), derived from
  models.dev (MIT) by ``scripts/model_facts.py``;
* ``liter_llm/data/pricing.json``: USD per token (the table cost tracking
  uses, with the prices set by :func:`liter_llm.builtins.cost.set_model_price`).

A model is looked up as given (``"openai/gpt-4o"``), then as
``<provider>/<model>`` for the provider it routes to (also under the name
models.dev gives that provider: ``bedrock`` is ``amazon-bedrock``, ``gemini``
is ``google``), then as the bare model name.
"""

from __future__ import annotations

import json
import threading
from importlib import resources

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields

__all__ = ["PROVIDER_ALIASES", "STREAMING_USAGE", "ModelInfo", "model_info"]

#: our provider names -> the provider ids of models.dev (and so of the tables)
PROVIDER_ALIASES: dict[str, str] = {
    "bedrock": "amazon-bedrock",
    "bedrock_openai": "amazon-bedrock",
    "gemini": "google",
    "vertex_ai": "google-vertex",
    "fireworks_ai": "fireworks-ai",
    "together_ai": "togetherai",
    "moonshot": "moonshotai",
    "novita": "novita-ai",
    "nano-gpt": "nano-gpt",
    "nanogpt": "nano-gpt",
    "github": "github-models",
}

#: providers whose streamed answers report token usage (OpenAI and Azure when the request has
#: ``stream_options={"include_usage": True}``; the others always); ``None`` for the rest: unknown
STREAMING_USAGE: frozenset[str] = frozenset(
    {"openai", "azure", "anthropic", "gemini", "vertex_ai", "bedrock", "cohere", "mistral"}
)

_FLAGS = {"t": "supports_tools", "v": "supports_vision", "j": "supports_json_schema", "r": "supports_reasoning"}

_lock = threading.Lock()
_table: dict[str, tuple[int | None, int | None, str]] | None = None


@frozen(kw_only=True, repr=False, eq=False)
class ModelInfo(FrozenFields):
    """The shipped facts about one model.

    Every field is ``None`` where the data does not say.

    Attributes:
        model: the model string asked about.
        provider: the provider it routes to (``None``: it routes nowhere known).
        key: the row of the facts table that answered (``"amazon-bedrock/amazon.nova-pro-v1:0"``).
        context_window: the most tokens of prompt and answer together.
        max_output_tokens: the most tokens of one answer.
        input_cost_per_token: USD per prompt token.
        output_cost_per_token: USD per answer token.
        cache_read_input_token_cost: USD per cached prompt token.
        cache_creation_input_token_cost: USD per prompt token written to the cache.
        supports_tools: tool (function) calls.
        supports_vision: image input.
        supports_json_schema: structured output to a JSON Schema.
        supports_reasoning: a reasoning (thinking) model.
        supports_streaming_usage: the provider reports usage in a stream (see :data:`STREAMING_USAGE`).
    """

    model: str
    provider: str | None = None
    key: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    supports_tools: bool | None = None
    supports_vision: bool | None = None
    supports_json_schema: bool | None = None
    supports_reasoning: bool | None = None
    supports_streaming_usage: bool | None = None


def _load() -> dict[str, tuple[int | None, int | None, str]]:
    global _table
    table = _table
    if table is not None:
        return table
    with _lock:
        if _table is None:
            text = resources.files("liter_llm").joinpath("data").joinpath("models.json").read_text("utf-8")
            loaded: dict[str, tuple[int | None, int | None, str]] = {}
            for name, (context, output, flags) in json.loads(text)["models"].items():
                loaded[name] = (int(context) or None, int(output) or None, str(flags))
            _table = loaded
        return _table


def _route(model: str) -> tuple[str | None, str]:
    """The provider ``model`` routes to and the wire model name (``(None, model)`` when it routes nowhere)."""
    try:
        from liter_llm._plugins import get_registry

        spec, wire = get_registry().resolve(model)
    except Exception:  # routing is a convenience here: an unknown prefix is just an unknown model
        return None, model
    return (spec.name if spec is not None else None), wire


def candidates(model: str) -> tuple[str | None, list[str]]:
    """The routed provider and the table keys to try for ``model``, in order."""
    provider, wire = _route(model)
    names = [model]
    if provider is not None:
        names.append(f"{provider}/{wire}")
        alias = PROVIDER_ALIASES.get(provider)
        if alias:
            names.append(f"{alias}/{wire}")
        names.append(wire)
    else:
        head, slash, tail = model.partition("/")
        if slash:
            alias = PROVIDER_ALIASES.get(head)
            if alias:
                names.append(f"{alias}/{tail}")
            names.append(tail)
    unique: list[str] = []
    for name in names:
        if name and name not in unique:
            unique.append(name)
    return provider, unique


def model_info(model: str) -> ModelInfo | None:
    """The shipped facts about ``model``: limits, prices and capabilities; ``None`` when nothing is known.

    No network: the tables ship with the package (see the module docstring).

    Raises:
        BadRequestError: ``model`` is not a non-empty string.
    """
    from liter_llm.builtins.cost import lookup_price
    from liter_llm.errors import BadRequestError

    if not isinstance(model, str) or not model.strip():
        raise BadRequestError("model: a non-empty model name is required")
    provider, names = candidates(model)
    table = _load()
    key = next((name for name in names if name in table), None)
    price = lookup_price(*names)
    if key is None and price is None:
        return None
    context, output, flags = table[key] if key is not None else (None, None, None)
    capabilities: dict[str, bool | None] = {
        field: (letter in flags) if flags is not None else None for letter, field in _FLAGS.items()
    }
    return ModelInfo(
        model=model,
        provider=provider,
        key=key,
        context_window=context,
        max_output_tokens=output,
        input_cost_per_token=price.input_cost_per_token if price else None,
        output_cost_per_token=price.output_cost_per_token if price else None,
        cache_read_input_token_cost=price.cache_read_input_token_cost if price else None,
        cache_creation_input_token_cost=price.cache_creation_input_token_cost if price else None,
        supports_streaming_usage=True if provider in STREAMING_USAGE else None,
        **capabilities,
    )
