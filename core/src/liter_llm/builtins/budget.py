"""Budget: spending limits in USD, checked before a call and recorded after it.

``budget = {global_limit, model_limits, enforcement}``.  With ``enforcement =
"hard"`` (the default) a call is refused with
:class:`~liter_llm.errors.BudgetExceededError` in ``check_budget`` -- before
any network I/O -- once the amount spent has reached the limit that applies;
with ``"soft"`` the call goes on and a warning is logged.  Spending is
recorded in ``on_response`` from the response's cost (priced even when
``cost_tracking`` is off); a response whose model has no known price records
nothing (and the cost built-in logs a warning).

The amounts live in a :class:`BudgetLedger`; the default one is in memory and
guarded by a lock.  A contrib package can keep them elsewhere (Redis, for many
processes) by implementing the protocol and passing it as ``ledger``.

Concurrency: the check and the record are separate steps, so calls already
in flight when the limit is reached still complete and are recorded; no call
is admitted after the ledger shows the limit reached.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from liter_llm._log import get_logger
from liter_llm.builtins.cost import call_cost
from liter_llm.errors import BudgetExceededError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.config import BudgetConfig

__all__ = ["Budget", "BudgetLedger", "InMemoryLedger", "model_key"]


@runtime_checkable
class BudgetLedger(Protocol):
    """Where spending is kept.  Implementations must be safe under concurrency."""

    def add(self, model: str, usd: float) -> None:
        """Record ``usd`` spent on ``model``."""

    def spent_total(self) -> float:
        """Everything spent, in USD."""

    def spent_for(self, model: str) -> float:
        """What was spent on ``model``, in USD."""

    def reset(self) -> None:
        """Forget everything spent."""


class InMemoryLedger:
    """The default ledger: per-model totals in a dict, under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, float] = {}
        self._total = 0.0

    def add(self, model: str, usd: float) -> None:
        """Record ``usd`` spent on ``model``."""
        with self._lock:
            self._by_model[model] = self._by_model.get(model, 0.0) + usd
            self._total += usd

    def spent_total(self) -> float:
        """Everything spent, in USD."""
        with self._lock:
            return self._total

    def spent_for(self, model: str) -> float:
        """What was spent on ``model``, in USD."""
        with self._lock:
            return self._by_model.get(model, 0.0)

    def by_model(self) -> dict[str, float]:
        """A snapshot of the per-model totals."""
        with self._lock:
            return dict(self._by_model)

    def reset(self) -> None:
        """Forget everything spent."""
        with self._lock:
            self._by_model.clear()
            self._total = 0.0


def model_key(call: Call) -> str:
    """The name spending is recorded under: ``provider/model`` (a gateway: the model as called)."""
    if call.gateway or not call.model:
        return call.requested_model or call.model or call.provider.name
    return f"{call.provider.name}/{call.model}"


class Budget:
    """The ``budget`` built-in (``client.budget``): the ledger and the checks.

    Attributes:
        global_limit: the limit for all models together, in USD, or ``None``.
        model_limits: limits per model, keyed as configured (``"gpt-4o"`` or
            ``"openai/gpt-4o"``; both match a call to ``openai/gpt-4o``).
        enforcement: ``"hard"`` (refuse) or ``"soft"`` (log a warning).
        ledger: where spending is kept.
    """

    def __init__(self, config: BudgetConfig, ledger: BudgetLedger | None = None) -> None:
        self.global_limit = config.global_limit
        self.model_limits: dict[str, float] = dict(config.model_limits)
        self.enforcement = config.enforcement
        self.ledger: BudgetLedger = ledger if ledger is not None else InMemoryLedger()
        self._keys: dict[str, list[str]] = {}  # model key -> names in model_limits that match it
        self._key_lock = threading.Lock()
        self._recorded: set[str] = set()  # models recorded by this process (for ledgers without by_model)

    # -- reporting -------------------------------------------------------
    @property
    def spent(self) -> float:
        """Total spent, in USD."""
        return self.ledger.spent_total()

    @property
    def spent_by_model(self) -> Mapping[str, float]:
        """Spent per model (``provider/model``), in USD."""
        by_model = getattr(self.ledger, "by_model", None)
        if callable(by_model):
            result: Mapping[str, float] = by_model()
            return result
        return {key: self.ledger.spent_for(key) for key in sorted(self._recorded)}

    def reset(self) -> None:
        """Forget everything spent (the limits stay)."""
        self.ledger.reset()

    def __repr__(self) -> str:
        return (
            f"Budget(spent={self.spent:.6f}, global_limit={self.global_limit!r}, "
            f"model_limits={self.model_limits!r}, enforcement={self.enforcement!r})"
        )

    # -- limits ------------------------------------------------------------
    def _matching_limits(self, call: Call, key: str) -> list[str]:
        names = self._keys.get(key)
        if names is None:
            candidates = {key, call.requested_model, call.model}
            names = [name for name in self.model_limits if name in candidates]
            with self._key_lock:
                self._keys[key] = names
        return names

    def exceeded(self, call: Call) -> BudgetExceededError | None:
        """The error for the first limit that applies to ``call`` and is reached, else ``None``."""
        key = model_key(call)
        for name in self._matching_limits(call, key):
            limit = self.model_limits[name]
            spent = self.ledger.spent_for(key)
            if spent >= limit:
                return BudgetExceededError(
                    f"the budget for model {name} is spent: ${spent:.6f} of ${limit:.6f}",
                    limit_name=f"model:{name}",
                    limit=limit,
                    spent=spent,
                    provider=call.provider.name,
                )
        if self.global_limit is not None:
            spent = self.ledger.spent_total()
            if spent >= self.global_limit:
                return BudgetExceededError(
                    f"the global budget is spent: ${spent:.6f} of ${self.global_limit:.6f}",
                    limit_name="global",
                    limit=self.global_limit,
                    spent=spent,
                    provider=call.provider.name,
                )
        return None

    # -- hooks ---------------------------------------------------------------
    @hookimpl
    def check_budget(self, call: Call) -> None:
        """Refuse the call (hard) or log a warning (soft) once a limit that applies is reached."""
        error = self.exceeded(call)
        if error is None:
            return
        if self.enforcement == "hard":
            raise error
        get_logger().warning(
            "budget_exceeded",
            limit_name=error.limit_name,
            limit=error.limit,
            spent=error.spent,
            model=model_key(call),
            enforcement="soft",
        )

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        """Record what the response cost (nothing for a cache hit or an unknown price)."""
        cost = call_cost(call, response)
        if cost:
            key = model_key(call)
            self._recorded.add(key)
            self.ledger.add(key, cost)
