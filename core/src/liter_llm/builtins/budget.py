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

Reserve and settle: before a call is sent, ``check_budget`` reserves its
worst-case cost (:func:`worst_case_cost`: the prompt's upper bound in tokens
plus ``max_tokens``, or :data:`DEFAULT_OUTPUT_TOKENS`, at the model's prices)
under the budget's lock, and refuses it (hard) when what is spent plus what
calls in flight hold plus this reservation would cross a limit that applies;
``on_response`` replaces the reservation by the real cost, ``on_error``
releases it.  A call that ends without an outcome -- a stream the caller
closes (or drops) before its end, a cancelled call -- settles on the
``wrap_call`` hook: to the cost of the usage its chunks carried when any did
(Anthropic sends the prompt's count first), else the reservation is released.
So calls in flight can never together spend more than the limit:
a budget is never overspent, even by concurrent calls.  A model with no known
price reserves nothing (and records nothing).  Give calls a ``max_tokens`` to
reserve less than the default output bound.

Periods: ``period = "day"`` or ``"month"`` counts spending in calendar
windows in UTC (on the client's clock): the first call of a new day or month
starts from zero.  ``"lifetime"`` (the default) never resets by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from liter_llm._log import get_logger
from liter_llm.builtins.cost import call_cost, call_price
from liter_llm.builtins.preflight import PROMPT_TOKENS
from liter_llm.errors import BudgetExceededError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.config import BudgetConfig

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "Budget",
    "BudgetLedger",
    "InMemoryLedger",
    "model_key",
    "partial_usage_response",
    "period_id",
    "worst_case_cost",
]

#: The output bound of a call that gives no ``max_tokens`` (or ``max_completion_tokens``).
DEFAULT_OUTPUT_TOKENS = 4096
_HOLD = "liter_llm.budget_hold"
#: ``call.state`` key of the response assembled from what a stream closed before its end had received
PARTIAL_RESPONSE = "liter_llm.partial_response"


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


def worst_case_cost(call: Call, default_output_tokens: int = DEFAULT_OUTPUT_TOKENS) -> float:
    """The most ``call`` can cost, in USD: its prompt's upper bound plus its output limit, at its prices.

    The prompt is bounded by its UTF-8 bytes (a token is at least one byte)
    plus 4 tokens per message -- or, with ``preflight = true``, by the
    pre-flight check's count when that is exact (tiktoken;
    :data:`liter_llm.builtins.preflight.PROMPT_TOKENS`), the same number the
    context window was checked with; the output by ``max_completion_tokens``,
    ``max_tokens`` or ``default_output_tokens`` (chat only; other operations
    have no output tokens).  A model with no known price costs ``0.0``
    (nothing is recorded for it either).
    """
    if not call.op.billed:  # the providers' counting endpoints, files, listings: free
        return 0.0
    price = call_price(call)
    if price is None:
        return 0.0
    from liter_llm.builtins.rate_limit import request_text

    request = call.request
    counted = call.state.get(PROMPT_TOKENS)
    if counted is not None and counted.exact:
        prompt = counted.tokens
    else:
        prompt = len(request_text(request).encode("utf-8")) + 4 * len(getattr(request, "messages", None) or ())
    output = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None)
    if not isinstance(output, int) or output <= 0:
        output = default_output_tokens if call.op.endpoint == "chat" else 0
    return float(prompt * price.input_cost_per_token + output * price.output_cost_per_token)


def period_id(period: str, now: float) -> str:
    """The calendar window ``now`` (seconds since the epoch) falls in, in UTC: ``""`` (lifetime),
    ``"2026-12-01"`` (day) or ``"2026-12"`` (month)."""
    if period == "day":
        return time.strftime("%Y-%m-%d", time.gmtime(now))
    if period == "month":
        return time.strftime("%Y-%m", time.gmtime(now))
    return ""


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

    def __init__(
        self, config: BudgetConfig, ledger: BudgetLedger | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.global_limit = config.global_limit
        self.period = config.period
        self._wall = clock
        self._period = period_id(config.period, clock())
        self.model_limits: dict[str, float] = dict(config.model_limits)
        self.enforcement = config.enforcement
        self.ledger: BudgetLedger = ledger if ledger is not None else InMemoryLedger()
        self._keys: dict[str, list[str]] = {}  # model key -> names in model_limits that match it
        self._key_lock = threading.Lock()
        self._recorded: set[str] = set()  # models recorded by this process (for ledgers without by_model)
        self._hold_lock = threading.Lock()
        self._held_total = 0.0
        self._held_by_model: dict[str, float] = {}
        #: the output bound of a call with no ``max_tokens``, for its reservation
        self.default_output_tokens = DEFAULT_OUTPUT_TOKENS

    # -- reporting -------------------------------------------------------
    @property
    def spent(self) -> float:
        """Total spent (in this ``period``), in USD."""
        self._roll()
        return self.ledger.spent_total()

    @property
    def spent_by_model(self) -> Mapping[str, float]:
        """Spent per model (``provider/model``), in USD."""
        self._roll()
        by_model = getattr(self.ledger, "by_model", None)
        if callable(by_model):
            result: Mapping[str, float] = by_model()
            return result
        return {key: self.ledger.spent_for(key) for key in sorted(self._recorded)}

    @property
    def held(self) -> float:
        """What calls in flight have reserved, in USD."""
        with self._hold_lock:
            return self._held_total

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

    def exceeded(self, call: Call, reserve: float = 0.0) -> BudgetExceededError | None:
        """The error for the first limit that applies to ``call`` and is reached, else ``None``.

        With ``reserve``: also when what is spent, plus what calls in flight
        hold, plus ``reserve`` would cross it.
        """
        key = model_key(call)
        for name in self._matching_limits(call, key):
            limit = self.model_limits[name]
            spent = self.ledger.spent_for(key)
            held = self._held_by_model.get(key, 0.0)
            if spent >= limit or (reserve and spent + held + reserve > limit):
                return BudgetExceededError(
                    f"the budget for model {name} is spent: ${spent:.6f} of ${limit:.6f}"
                    + (
                        f" (${held:.6f} reserved by calls in flight, this call may cost ${reserve:.6f})"
                        if reserve
                        else ""
                    ),
                    limit_name=f"model:{name}",
                    limit=limit,
                    spent=spent,
                    provider=call.provider.name,
                )
        if self.global_limit is not None:
            spent = self.ledger.spent_total()
            held = self._held_total
            if spent >= self.global_limit or (reserve and spent + held + reserve > self.global_limit):
                return BudgetExceededError(
                    f"the global budget is spent: ${spent:.6f} of ${self.global_limit:.6f}"
                    + (
                        f" (${held:.6f} reserved by calls in flight, this call may cost ${reserve:.6f})"
                        if reserve
                        else ""
                    ),
                    limit_name="global",
                    limit=self.global_limit,
                    spent=spent,
                    provider=call.provider.name,
                )
        return None

    # -- hooks ---------------------------------------------------------------
    @hookimpl
    def check_budget(self, call: Call) -> None:
        """Reserve the call's worst case; refuse it (hard) or warn (soft) when it would cross a limit."""
        reserve = worst_case_cost(call, self.default_output_tokens)
        key = model_key(call)
        self._roll()
        with self._hold_lock:
            error = self.exceeded(call, reserve)
            if error is None or self.enforcement == "soft":
                call.state[_HOLD] = (key, reserve)
                self._held_total += reserve
                self._held_by_model[key] = self._held_by_model.get(key, 0.0) + reserve
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

    def _roll(self) -> None:
        """A new day or month (``period``) starts from zero."""
        if self.period == "lifetime":
            return
        current = period_id(self.period, self._wall())
        if current != self._period:
            with self._hold_lock:
                if current != self._period:
                    self._period = current
                    self.ledger.reset()

    def _release(self, call: Call) -> None:
        self._settle(call, 0.0)

    def _settle(self, call: Call, cost: float) -> None:
        """Record ``cost`` and release the call's hold in one step.

        Both under the lock the check takes: between the two, a call's cost would count twice
        (spent and still held), and a concurrent call could be refused below the limit.
        """
        hold = call.state.pop(_HOLD, None)
        with self._hold_lock:
            if cost:
                key = model_key(call)
                self._recorded.add(key)
                self.ledger.add(key, cost)
            if hold is None:
                return
            key, amount = hold
            self._held_total = max(0.0, self._held_total - amount)
            left = self._held_by_model.get(key, 0.0) - amount
            if left > 1e-12:
                self._held_by_model[key] = left
            else:
                self._held_by_model.pop(key, None)
            if not self._held_by_model:
                self._held_total = 0.0

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        """Settle: record what the response cost (nothing for a cache hit or an unknown price), release the rest."""
        self._settle(call, call_cost(call, response) or 0.0)

    @hookimpl
    def on_error(self, call: Call) -> None:
        """A failed call spent nothing: release its reservation."""
        self._release(call)

    @hookimpl
    def wrap_call(self, call: Call) -> Generator[None, Any, None]:
        """Settle a call that ended with no outcome (a stream closed early, a cancelled call)."""
        return _settle_without_outcome(call, self.settle_abandoned)

    def settle_abandoned(self, call: Call, partial: Any) -> None:
        """Settle a call that ended with no outcome: to ``partial``'s cost (a response with a usage), else release."""
        cost = call_cost(call, partial) if partial is not None and call.state.get(_HOLD) is not None else None
        self._settle(call, cost or 0.0)


def partial_usage_response(call: Call) -> Any:
    """The partial response of a call that ended with no outcome, if its chunks carried a usage (else ``None``).

    For budgets kept elsewhere (``liter-llm-redis``): pop it in a ``wrap_call``
    generator when it is closed (``GeneratorExit``).
    """
    partial = call.state.pop(PARTIAL_RESPONSE, None)
    return partial if getattr(partial, "usage", None) is not None else None


def _settle_without_outcome(call: Call, settle: Callable[[Call, Any], None]) -> Generator[None, Any, None]:
    try:
        yield
    except GeneratorExit:  # no outcome: on_response and on_error did not run
        settle(call, partial_usage_response(call))
        raise
