"""The budget on Redis: reserve the worst case before sending, settle to the real cost after.

Before a call is sent, one Lua script reserves its worst-case cost
(:func:`liter_llm.builtins.budget.worst_case_cost`: the prompt's upper bound in
tokens plus ``max_tokens``, at the model's prices) and refuses it (hard enforcement) if spent plus held
plus this reservation would cross the per-model limit or the global limit.
After the answer a second script settles: the reservation goes, the real cost
is added to what was spent (for a stream, the usage of its last chunks; a
stream closed before its end settles to the usage its chunks carried, if
any did, else its reservation is released).  A call that fails releases its reservation; a
process that dies holding one has it expire after :attr:`RedisBudget.hold_secs`
(swept by the next reservation).  Amounts are kept as whole nano-dollars, so
sums are exact.

``period = "day" | "month"`` keeps spending under ``:spent:<UTC day or
month>`` (kept a few days past its period), so each calendar window starts
from zero.

Keys (one hash tag, one Cluster slot): ``<prefix>{budget}:spent`` (hash:
``__total__`` and one field per model), ``:held`` (the same, for
reservations), ``:holds`` (sorted set of reservation ids by expiry),
``:hold_amount`` and ``:hold_model`` (hashes by reservation id).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from liter_llm.builtins.budget import (
    DEFAULT_OUTPUT_TOKENS,
    Budget,
    model_key,
    partial_usage_response,
    period_id,
    worst_case_cost,
)
from liter_llm.builtins.cost import call_cost
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import BudgetConfig, RedisConfig
from liter_llm.errors import BudgetExceededError, LiterLlmError
from liter_llm.hookspecs import Effect, hookimpl
from liter_llm.wire import get_logger
from liter_llm_redis.store import OutageLog, RedisStore, is_redis_error, policy_of

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = ["NANO", "RedisBudget"]

#: Amounts in Redis are whole nano-dollars.
NANO = 1_000_000_000
TOTAL = "__total__"

_SWEEP = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(dead) do
  local amount = tonumber(redis.call('HGET', KEYS[4], id) or '0')
  local model = redis.call('HGET', KEYS[5], id)
  if amount > 0 then
    redis.call('HINCRBY', KEYS[2], '__total__', -amount)
    if model then redis.call('HINCRBY', KEYS[2], model, -amount) end
  end
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[3], id)
end
"""

# KEYS: spent, held, holds, hold_amount, hold_model
# ARGV: now_ms, id, model, amount, expires_ms, model_limit ('' none), global_limit ('' none), force ('1': soft)
_RESERVE = (
    _SWEEP
    + """
local model, amount = ARGV[3], tonumber(ARGV[4])
local function field(key, name) return tonumber(redis.call('HGET', key, name) or '0') end
local crossed, spent, held = '', 0, 0
if ARGV[6] ~= '' then
  spent, held = field(KEYS[1], model), field(KEYS[2], model)
  if spent >= tonumber(ARGV[6]) or spent + held + amount > tonumber(ARGV[6]) then crossed = 'model' end
end
if crossed == '' and ARGV[7] ~= '' then
  spent, held = field(KEYS[1], '__total__'), field(KEYS[2], '__total__')
  if spent >= tonumber(ARGV[7]) or spent + held + amount > tonumber(ARGV[7]) then crossed = 'global' end
end
if crossed ~= '' and ARGV[8] ~= '1' then return {0, crossed, spent, held} end
if amount > 0 then
  redis.call('HINCRBY', KEYS[2], '__total__', amount)
  redis.call('HINCRBY', KEYS[2], model, amount)
end
redis.call('HSET', KEYS[4], ARGV[2], amount)
redis.call('HSET', KEYS[5], ARGV[2], model)
redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), ARGV[2])
return {1, crossed, spent, held}
"""
)

# KEYS: spent (of the period), held, holds, hold_amount, hold_model;  ARGV: id, model, actual, expire_s (0: never)
_SETTLE = """
local amount = redis.call('HGET', KEYS[4], ARGV[1])
if amount then
  amount = tonumber(amount)
  if amount > 0 then
    redis.call('HINCRBY', KEYS[2], '__total__', -amount)
    redis.call('HINCRBY', KEYS[2], ARGV[2], -amount)
  end
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
local actual = tonumber(ARGV[3])
if actual > 0 then
  redis.call('HINCRBY', KEYS[1], '__total__', actual)
  redis.call('HINCRBY', KEYS[1], ARGV[2], actual)
  if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4])) end
end
return 1
"""


def _nano(usd: float) -> int:
    return max(0, round(usd * NANO))


class RedisBudget:
    """The ``budget`` built-in with its ledger in Redis, shared by every process (``budget.backend = "redis"``).

    Attributes:
        hold_secs: how long a reservation lives if its call never settles it
            (its process died); by default the client's timeout plus 60 s.
        default_output_tokens: the output bound of a call with no ``max_tokens``.
        local: the in-process :class:`~liter_llm.builtins.budget.Budget` that
            serves calls while Redis is down (``on_outage = "fail_open"``).
    """

    def __init__(
        self, config: BudgetConfig, redis: RedisConfig, *, timeout_secs: float = 60.0, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.global_limit = config.global_limit
        self.model_limits: dict[str, float] = dict(config.model_limits)
        self.enforcement = config.enforcement
        self.on_outage = policy_of(config.on_outage, redis)
        self.store = RedisStore(redis)
        self.local = Budget(config, clock=clock.time)
        self.hold_secs = timeout_secs + 60.0
        self.default_output_tokens = DEFAULT_OUTPUT_TOKENS
        self._clock = clock
        self._outage = OutageLog("budget", self.store.where)
        self.period = config.period
        self._keys = tuple(
            self.store.key("budget", name) for name in ("spent", "held", "holds", "hold_amount", "hold_model")
        )
        self._pending: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return (
            f"RedisBudget({self.store.where!r}, global_limit={self.global_limit!r}, "
            f"model_limits={self.model_limits!r}, enforcement={self.enforcement!r}, on_outage={self.on_outage!r})"
        )

    # -- reporting ---------------------------------------------------------------
    def _spent_key(self) -> str:
        """The spent hash of the current period (``spent``, ``spent:2026-12-01``, ``spent:2026-12``)."""
        current = period_id(self.period, self._clock.time())
        return f"{self._keys[0]}:{current}" if current else self._keys[0]

    def _call_keys(self) -> tuple[str, ...]:
        return (self._spent_key(), *self._keys[1:])

    def _read(self, key: str) -> dict[str, float]:
        raw: Mapping[Any, Any] = self.store.run(lambda client: client.hgetall(key))
        return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) / NANO for k, v in raw.items()}

    @property
    def spent(self) -> float:
        """Total spent by every process, in USD (read from Redis)."""
        return self._read(self._spent_key()).get(TOTAL, 0.0)

    @property
    def held(self) -> float:
        """Total reserved by calls in flight, in USD (read from Redis)."""
        return self._read(self._keys[1]).get(TOTAL, 0.0)

    @property
    def spent_by_model(self) -> dict[str, float]:
        """Spent per model (``provider/model``), in USD."""
        return {k: v for k, v in self._read(self._spent_key()).items() if k != TOTAL}

    def reset(self) -> None:
        """Forget everything spent (in this period) and held, for every process (the limits stay)."""
        self.store.run(lambda client: client.delete(*self._call_keys()))
        self.local.reset()

    async def drain(self) -> None:
        """Wait for the settlements the async client scheduled (they run as tasks after each answer)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # -- the scripts -------------------------------------------------------------
    def _limit(self, call: Call, key: str) -> tuple[str, float] | None:
        candidates = {key, call.requested_model, call.model}
        matching = [(name, limit) for name, limit in self.model_limits.items() if name in candidates]
        return min(matching, key=lambda item: item[1]) if matching else None

    def _reserve_args(self, call: Call) -> tuple[list[Any], tuple[str, float] | None, str]:
        key = model_key(call)
        hold = uuid.uuid4().hex
        now_ms = int(self._clock.time() * 1000)
        limit = self._limit(call, key)
        args = [
            now_ms,
            hold,
            key,
            _nano(worst_case_cost(call, self.default_output_tokens)),
            now_ms + int(self.hold_secs * 1000),
            "" if limit is None else _nano(limit[1]),
            "" if self.global_limit is None else _nano(self.global_limit),
            "1" if self.enforcement == "soft" else "0",
        ]
        return args, limit, key

    def reserve(self, call: Call) -> None:
        """Reserve ``call``'s worst case in Redis (blocking); raise BudgetExceededError when it would cross a limit."""
        args, limit, key = self._reserve_args(call)
        keys = self._call_keys()
        result = self.store.run(lambda client: client.eval(_RESERVE, len(keys), *keys, *args))
        self._reserved(call, result, args, limit, key)

    async def areserve(self, call: Call) -> None:
        """:meth:`reserve` on the event loop's asyncio client."""
        args, limit, key = self._reserve_args(call)
        keys = self._call_keys()
        result = await self.store.arun(lambda client: client.eval(_RESERVE, len(keys), *keys, *args))
        self._reserved(call, result, args, limit, key)

    def _reserved(self, call: Call, result: Any, args: list[Any], limit: tuple[str, float] | None, key: str) -> None:
        self._outage.worked()
        admitted, crossed, spent, held = int(result[0]), result[1], int(result[2]) / NANO, int(result[3]) / NANO
        if isinstance(crossed, bytes):
            crossed = crossed.decode()
        if admitted:
            call.state["redis_budget"] = (args[1], key)
        if not crossed:
            return
        if crossed == "model" and limit is not None:
            name, amount, label = f"model:{limit[0]}", limit[1], f"the budget for model {limit[0]}"
        else:
            name, amount, label = "global", float(self.global_limit or 0.0), "the global budget"
        error = BudgetExceededError(
            f"{label} would be crossed: ${spent:.6f} spent and ${held:.6f} reserved by calls in flight "
            f"of ${amount:.6f}, and this call may cost ${int(args[3]) / NANO:.6f}",
            limit_name=name,
            limit=amount,
            spent=spent,
            provider=call.provider.name,
        )
        if admitted:  # soft: the call goes on, with a warning
            get_logger().warning(
                "budget_exceeded", limit_name=name, limit=amount, spent=spent, model=key, enforcement="soft"
            )
            return
        raise error

    def _settle_args(self, held: tuple[str, str], usd: float) -> list[Any]:
        expire = {"day": 3 * 86400, "month": 63 * 86400}.get(self.period, 0)  # an old period's total goes
        return [held[0], held[1], _nano(usd), expire]

    def settle(self, call: Call, usd: float) -> None:
        """Replace ``call``'s reservation by what it really cost (``0.0``: release it); blocking."""
        held = call.state.pop("redis_budget", None)
        if held is None:
            return
        args = self._settle_args(held, usd)
        keys = self._call_keys()
        try:
            self.store.run(lambda client: client.eval(_SETTLE, len(keys), *keys, *args))
        except Exception as exc:
            self._settle_failed(exc, held[1], usd)

    async def asettle(self, held: tuple[str, str], usd: float) -> None:
        """:meth:`settle` on the event loop's asyncio client."""
        args = self._settle_args(held, usd)
        keys = self._call_keys()
        try:
            await self.store.arun(lambda client: client.eval(_SETTLE, len(keys), *keys, *args))
        except Exception as exc:
            self._settle_failed(exc, held[1], usd)

    def _settle_failed(self, exc: Exception, key: str, usd: float) -> None:
        # the reservation expires by itself; what was spent is kept in process so it is not lost to the limits here
        self._outage.failed(exc, self.on_outage)
        if usd:
            self.local.ledger.add(key, usd)

    # -- hooks ---------------------------------------------------------------------
    def _outage_or_raise(self, exc: Exception, call: Call) -> None:
        if isinstance(exc, LiterLlmError):
            raise exc
        if not is_redis_error(exc):
            raise exc
        self._outage.failed(exc, self.on_outage)
        if self.on_outage == "fail_closed":
            error = self.store.error(exc, "budget")
            error.provider = call.provider.name
            raise error from None
        call.state["redis_budget_local"] = True
        self.local.check_budget(call)

    @hookimpl
    def check_budget(self, call: Call) -> Effect:
        """Reserve the call's worst case in Redis (an Effect: awaited on the async client)."""

        def run() -> None:
            try:
                self.reserve(call)
            except Exception as exc:
                self._outage_or_raise(exc, call)

        async def arun() -> None:
            try:
                await self.areserve(call)
            except Exception as exc:
                self._outage_or_raise(exc, call)

        return Effect(run, arun)

    def _finish(self, call: Call, usd: float) -> None:
        if call.is_async:
            held = call.state.pop("redis_budget", None)
            if held is None:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a stream finished off the loop): the reservation expires
            task = loop.create_task(self.asettle(held, usd))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        else:
            self.settle(call, usd)

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        """Settle the reservation to the real cost (released for a cache hit or an unknown price)."""
        if call.state.pop("redis_budget_local", False):
            self.local.on_response(call, response)  # served in process while Redis was down
            return
        self._finish(call, call_cost(call, response) or 0.0)

    @hookimpl
    def on_error(self, call: Call) -> None:
        """A failed call spent nothing: release its reservation."""
        if call.state.pop("redis_budget_local", False):
            self.local.on_error(call)
            return
        self._finish(call, 0.0)

    @hookimpl
    def wrap_call(self, call: Call) -> Generator[None, Any, None]:
        """Settle a call that ended with no outcome (a stream closed early, a cancelled call)."""
        try:
            yield
        except GeneratorExit:  # on_response and on_error did not run
            partial = partial_usage_response(call)
            if call.state.pop("redis_budget_local", False):
                self.local.settle_abandoned(call, partial)
            elif "redis_budget" in call.state:
                self._finish(call, (call_cost(call, partial) or 0.0) if partial is not None else 0.0)
            raise
