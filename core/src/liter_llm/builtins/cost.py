"""Cost: USD per response from a pricing table shipped with the package.

The table (``liter_llm/data/pricing.json``, derived from liter-llm's
schemas/pricing.json, generated from models.dev, MIT) is read on first use,
never at import.  Prices can be added or overridden at run time with
:func:`set_model_price`.

How a cost is computed from a :class:`~liter_llm.types.Usage`:

* ``prompt_tokens`` minus the cached and the cache-write ones at the input price;
* ``prompt_tokens_details.cached_tokens`` (which are *included* in
  ``prompt_tokens``) at the cache-read price, or at the input price when the
  model has no cache-read price;
* ``prompt_tokens_details.cache_creation_tokens`` (prompt tokens written to
  the provider's cache, also included in ``prompt_tokens``; Anthropic bills
  them at 1.25x input for the 5-minute cache) at the cache-write price, or at
  the input price when the model has no cache-write price;
* ``completion_tokens`` at the output price (reasoning tokens are part of
  ``completion_tokens``, so they are counted as output).

A model missing from the table gives ``None`` and a logged warning: liter-llm
never guesses a price.
"""

from __future__ import annotations

import json
import math
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm._log import get_logger
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.types import Usage

__all__ = [
    "PRICING_MODEL",
    "CostTracker",
    "ModelPrice",
    "call_cost",
    "call_price",
    "completion_cost",
    "lookup_price",
    "set_model_price",
]

#: The ``Call.state`` key a provider plugin sets (in ``build_request``) to the model name a call is
#: priced as, when the wire model is not a model name (an Azure deployment): ``"azure/gpt-4o"``.
PRICING_MODEL = "liter_llm.pricing_model"


@frozen(slots=True, repr=False, eq=False)
class ModelPrice(FrozenFields):
    """USD per token for one model (cache read and cache write where the model has them)."""

    input_cost_per_token: float
    output_cost_per_token: float
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None


#: providers whose rows the table keeps under another name (the provider ids of models.dev)
PRICING_ALIASES: dict[str, str] = {"bedrock": "amazon-bedrock", "bedrock_openai": "amazon-bedrock"}

_lock = threading.Lock()
_table: dict[str, ModelPrice] | None = None
_overrides: dict[str, ModelPrice] = {}
_warned: set[str] = set()


def _load_table() -> dict[str, ModelPrice]:
    global _table
    table = _table
    if table is not None:
        return table
    with _lock:
        if _table is None:
            raw = json.loads(resources.files("liter_llm").joinpath("data").joinpath("pricing.json").read_text("utf-8"))
            loaded: dict[str, ModelPrice] = {}
            for name, row in raw["models"].items():
                loaded[name] = ModelPrice(
                    input_cost_per_token=float(row[0]),
                    output_cost_per_token=float(row[1]),
                    cache_read_input_token_cost=float(row[2]) if len(row) > 2 and row[2] is not None else None,
                    cache_creation_input_token_cost=float(row[3]) if len(row) > 3 and row[3] is not None else None,
                )
            _table = loaded
        return _table


def _price_number(name: str, value: Any, *, optional: bool = False) -> float | None:
    from liter_llm.errors import BadRequestError

    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise BadRequestError(f"{name}: expected a finite non-negative number, got {value!r}")
    return float(value)


def set_model_price(
    model: str,
    *,
    input_cost_per_token: float,
    output_cost_per_token: float,
    cache_read_input_token_cost: float | None = None,
    cache_creation_input_token_cost: float | None = None,
) -> None:
    """Add or override the price of ``model`` (USD per token) for this process.

    ``cache_read_input_token_cost`` prices cached prompt tokens and
    ``cache_creation_input_token_cost`` prompt tokens written to the cache;
    either defaults to the input price when not given.

    ``model`` is matched like the shipped table: the model string as called
    (``"openai/gpt-4o"``), then ``provider/model``, then the bare model name.
    Thread-safe; takes effect for the next response.

    Raises:
        BadRequestError: an empty model name or a negative / non-numeric price.
    """
    from liter_llm.errors import BadRequestError

    if not isinstance(model, str) or not model.strip():
        raise BadRequestError("model: a non-empty model name is required")
    price = ModelPrice(
        input_cost_per_token=_price_number("input_cost_per_token", input_cost_per_token) or 0.0,
        output_cost_per_token=_price_number("output_cost_per_token", output_cost_per_token) or 0.0,
        cache_read_input_token_cost=_price_number(
            "cache_read_input_token_cost", cache_read_input_token_cost, optional=True
        ),
        cache_creation_input_token_cost=_price_number(
            "cache_creation_input_token_cost", cache_creation_input_token_cost, optional=True
        ),
    )
    with _lock:
        _overrides[model] = price
        _warned.discard(model)


def _find(name: str) -> ModelPrice | None:
    price = _overrides.get(name)
    if price is not None:
        return price
    return _load_table().get(name)


def lookup_price(*candidates: str | None) -> ModelPrice | None:
    """The price of the first candidate model name found (run-time prices first, then the table)."""
    for name in candidates:
        if name:
            price = _find(name)
            if price is not None:
                return price
    return None


def price_usage(usage: Usage, price: ModelPrice) -> float:
    """The USD cost of ``usage`` at ``price`` (a Responses API usage counts ``input_tokens``/``output_tokens``)."""
    if not hasattr(usage, "prompt_tokens"):  # ResponseUsage
        from liter_llm.types import Usage

        usage = Usage(
            prompt_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        )
    prompt = max(int(usage.prompt_tokens or 0), 0)
    details = usage.prompt_tokens_details
    cached = min(max(int(details.cached_tokens or 0), 0), prompt) if details is not None else 0
    written = min(max(int(details.cache_creation_tokens or 0), 0), prompt - cached) if details is not None else 0
    read_price = price.cache_read_input_token_cost
    if read_price is None:
        read_price = price.input_cost_per_token
    write_price = price.cache_creation_input_token_cost
    if write_price is None:
        write_price = price.input_cost_per_token
    output = max(int(usage.completion_tokens or 0), 0)
    return (
        (prompt - cached - written) * price.input_cost_per_token
        + cached * read_price
        + written * write_price
        + output * price.output_cost_per_token
    )


def _warn_missing(model: str) -> None:
    if model in _warned:
        return
    _warned.add(model)
    get_logger().warning(
        "model_price_unknown",
        model=model,
        hint="add it with liter_llm.set_model_price(model, input_cost_per_token=..., output_cost_per_token=...)",
    )


def _usage_of(response_or_usage: Any) -> Usage | None:
    from liter_llm.errors import BadRequestError
    from liter_llm.types import Usage

    if response_or_usage is None:
        return None
    if isinstance(response_or_usage, Usage):
        return response_or_usage
    if isinstance(response_or_usage, dict):
        return Usage.from_dict(response_or_usage)
    if hasattr(response_or_usage, "usage"):
        usage = response_or_usage.usage
        if usage is None or isinstance(usage, Usage):
            return usage
    raise BadRequestError(
        "completion_cost: expected a response with usage, a Usage or a usage dict, "
        f"got {type(response_or_usage).__name__}"
    )


def completion_cost(response_or_usage: Any, model: str | None = None) -> float | None:
    """The USD cost of a response (or of a :class:`~liter_llm.types.Usage`) for ``model``.

    ``model`` defaults to the response's own ``model``.  It is looked up as
    given, then as ``provider/model`` for the provider it routes to, then as
    the bare model name.  Returns ``None`` (and logs a warning once per model)
    when the model has no known price, and ``None`` when there is no usage.

    Raises:
        BadRequestError: ``response_or_usage`` is neither a response, a Usage nor a dict.
    """
    usage = _usage_of(response_or_usage)
    if model is None:
        model = getattr(response_or_usage, "model", None)
    if usage is None or not model:
        return None
    candidates = [model]
    _head, slash, tail = model.partition("/")
    if not slash:
        try:
            from liter_llm._plugins import get_registry

            spec, wire = get_registry().resolve(model)
            if spec is not None:
                candidates.append(f"{spec.name}/{wire}")
                if spec.name in PRICING_ALIASES:
                    candidates.append(f"{PRICING_ALIASES[spec.name]}/{wire}")
        except Exception:  # routing is a convenience here; a broken plugin must not break costing
            pass
    else:
        if _head in PRICING_ALIASES:
            candidates.append(f"{PRICING_ALIASES[_head]}/{tail}")
        candidates.append(tail)
    price = lookup_price(*candidates)
    if price is None:
        _warn_missing(model)
        return None
    return price_usage(usage, price)


def call_price(call: Call) -> ModelPrice | None:
    """The price ``call`` is charged at, looked up as :func:`call_cost` does (``None``: unknown)."""
    if not call.model:
        return None
    alias = PRICING_ALIASES.get(call.provider.name)
    return lookup_price(
        call.state.get(PRICING_MODEL),
        call.requested_model,
        f"{call.provider.name}/{call.model}",
        f"{alias}/{call.model}" if alias else None,
        call.model,
    )


def call_cost(call: Call, response: Any) -> float | None:
    """The USD cost of ``response`` to ``call`` (computed once per call, kept in ``call.state``).

    A cache hit costs nothing (``0.0``).  Look-up order: the model a provider
    plugin says the call is priced as (``call.state[PRICING_MODEL]``, e.g. the
    base model of an Azure deployment), the model string as called,
    ``provider/model``, the table's own name of the provider (``PRICING_ALIASES``:
    ``bedrock`` is models.dev's ``amazon-bedrock``), the bare wire model.
    """
    state = call.state
    if "cost" in state:
        cost: float | None = state["cost"]
        return cost
    if call.cache_hit:
        state["cost"] = 0.0
        return 0.0
    usage = getattr(response, "usage", None)
    if usage is None or not call.model:
        state["cost"] = None
        return None
    bare = call.model
    alias = PRICING_ALIASES.get(call.provider.name)
    price = lookup_price(
        state.get(PRICING_MODEL),
        call.requested_model,
        f"{call.provider.name}/{bare}",
        f"{alias}/{bare}" if alias else None,
        bare,
    )
    if price is None:
        _warn_missing(call.requested_model or bare)
        state["cost"] = None
        return None
    cost = price_usage(usage, price)
    state["cost"] = cost
    return cost


class CostTracker:
    """The ``cost`` built-in: sets ``response.cost`` (USD) on chat and embedding responses.

    Switched on by ``cost_tracking = true``.  Runs first among ``on_response``
    hooks so the budget and the cache see the cost.
    """

    @hookimpl(tryfirst=True)
    def on_response(self, call: Call, response: Any) -> None:
        """Price the response from its usage (a stream: from its final usage)."""
        if hasattr(response, "cost"):
            response.cost = call_cost(call, response)
