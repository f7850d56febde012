"""Virtual keys: creation, hashing, look-up, and the per-key budget and rate limit.

A key is ``sk-llp-`` followed by 32 random bytes (``secrets.token_urlsafe``):
256 bits, so a fast hash (SHA-256) is enough to store it.  Slow password
hashes (bcrypt, argon2) protect *low-entropy* secrets from guessing; a
256-bit random key cannot be guessed however fast the hash, and SHA-256 keeps
the look-up of every request at microseconds.  Only the hash and a short hint
(the first characters) are stored; the key itself is shown once, at creation.

The budget and the rate limit of a key are liter-llm's own ledgers, one per
key: :class:`liter_llm.builtins.budget.Budget` and
:class:`liter_llm.builtins.rate_limit.RateLimiter` in the process, or
:class:`liter_llm_redis.RedisBudget` and :class:`liter_llm_redis.RedisRateLimiter`
(their keys under ``<key_prefix>proxy:<key id>:``) when the configuration has
a ``[redis]`` block, so every proxy instance shares them.  :class:`KeyLimits`
is the hook object, registered on the proxy's client, that runs them for the
key of the request being served (a context variable says which).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from liter_llm.builtins.budget import Budget
from liter_llm.builtins.cost import call_cost
from liter_llm.builtins.rate_limit import RateLimiter
from liter_llm.clock import SYSTEM_CLOCK, Clock
from liter_llm.config import BudgetConfig, ClientConfig, RateLimitConfig
from liter_llm.errors import AuthenticationError, BadRequestError, RateLimitedError
from liter_llm.hookspecs import Effect, hookimpl
from liter_llm_proxy.errors import PermissionDeniedError

if TYPE_CHECKING:
    from liter_llm import Call
    from liter_llm_proxy.db import Store
    from liter_llm_proxy.settings import ProxySettings

__all__ = [
    "CURRENT",
    "KEY_PREFIX",
    "KeyLimits",
    "KeyRecord",
    "KeyRing",
    "KeyState",
    "RequestContext",
    "hash_key",
    "new_key",
]

KEY_PREFIX = "sk-llp-"
_STATE = "liter_llm_proxy"


def new_key() -> str:
    """A new virtual key: ``sk-llp-`` and 43 URL-safe characters (256 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256, hex (see the module docstring for why that is enough)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _hint(key: str) -> str:
    return key[: len(KEY_PREFIX) + 4] + "..."


@attrs.frozen(kw_only=True)
class KeyRecord:
    """A virtual key as stored (never the key itself)."""

    id: str
    hint: str
    name: str | None = None
    models: tuple[str, ...] | None = None
    max_budget: float | None = None
    budget_period: str = "lifetime"
    rpm: int | None = None
    tpm: int | None = None
    expires_at: float | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    revoked_at: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> KeyRecord:
        models = row.get("models")
        return cls(
            id=row["id"],
            hint=row["key_hint"],
            name=row.get("name"),
            models=None if models is None else tuple(models),
            max_budget=row.get("max_budget"),
            budget_period=row.get("budget_period") or "lifetime",
            rpm=row.get("rpm"),
            tpm=row.get("tpm"),
            expires_at=row.get("expires_at"),
            metadata=dict(row.get("metadata") or {}),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            revoked_at=row.get("revoked_at"),
        )

    def to_public(self) -> dict[str, Any]:
        """The key as the admin API shows it (the hint, never the key or its hash)."""
        return {
            "id": self.id,
            "object": "proxy.key",
            "key_hint": self.hint,
            "name": self.name,
            "models": None if self.models is None else list(self.models),
            "max_budget": self.max_budget,
            "budget_period": self.budget_period,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "expires_at": self.expires_at,
            "metadata": dict(self.metadata),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "revoked_at": self.revoked_at,
            "revoked": self.revoked_at is not None,
        }


_EDITABLE = ("name", "models", "max_budget", "budget_period", "rpm", "tpm", "expires_at", "metadata")


def validate_key_fields(body: Any, *, partial: bool) -> dict[str, Any]:
    """Check the fields of a POST (create) or PATCH (update) of ``/admin/keys``; the database values."""
    if not isinstance(body, Mapping):
        raise BadRequestError("the body must be a JSON object")
    unknown = set(body) - {*_EDITABLE, "expires_in_secs"}
    if unknown:
        raise BadRequestError(f"unknown field(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    if "name" in body:
        if body["name"] is not None and not isinstance(body["name"], str):
            raise BadRequestError("name: must be a string")
        values["name"] = body["name"]
    if "models" in body:
        models = body["models"]
        if models is not None and (not isinstance(models, list) or not all(isinstance(m, str) and m for m in models)):
            raise BadRequestError("models: must be a list of model names (or null: every model)")
        values["models"] = None if models is None else list(models)
    for name in ("max_budget", "expires_at"):
        if name in body:
            value = body[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise BadRequestError(f"{name}: must be a non-negative number (or null)")
            values[name] = None if value is None else float(value)
    if "expires_in_secs" in body:
        value = body["expires_in_secs"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequestError("expires_in_secs: must be a number of seconds")
        values["expires_at"] = time.time() + float(value)
    for name in ("rpm", "tpm"):
        if name in body:
            value = body[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise BadRequestError(f"{name}: must be a positive integer (or null)")
            values[name] = value
    if "budget_period" in body:
        if body["budget_period"] not in ("lifetime", "day", "month"):
            raise BadRequestError('budget_period: must be "lifetime", "day" or "month"')
        values["budget_period"] = body["budget_period"]
    if "metadata" in body:
        if body["metadata"] is not None and not isinstance(body["metadata"], Mapping):
            raise BadRequestError("metadata: must be a JSON object")
        values["metadata"] = dict(body["metadata"] or {})
    return values


class KeyState:
    """A key in memory: its record and its budget and rate limiter (built once per record version)."""

    def __init__(self, record: KeyRecord, budget: Any, limiter: Any) -> None:
        self.record = record
        self.budget = budget
        self.limiter = limiter


@attrs.define(kw_only=True, eq=False)
class RequestContext:
    """One request being served: what its spend-log row will say."""

    request_id: str
    endpoint: str
    key: KeyState | None = None
    model_requested: str | None = None
    model_routed: str | None = None
    provider: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    started: float = attrs.field(factory=time.perf_counter)

    def row(self, status: int, error_kind: str | None) -> dict[str, Any]:
        """The spend-log row of this request, ended with ``status``."""
        return {
            "request_id": self.request_id,
            "key_id": None if self.key is None else self.key.record.id,
            "created_at": time.time(),
            "endpoint": self.endpoint,
            "model_requested": self.model_requested,
            "model_routed": self.model_routed,
            "provider": self.provider,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost": self.cost,
            "latency_ms": (time.perf_counter() - self.started) * 1000.0,
            "status": status,
            "error_kind": error_kind,
        }


#: The request the running task serves (set by the proxy around each client call).
CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("liter_llm_proxy_request", default=None)


class KeyRing:
    """Authenticates requests: the master key, and virtual keys read from the database (cached briefly)."""

    def __init__(
        self, store: Store, settings: ProxySettings, config: ClientConfig, *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.store = store
        self.settings = settings
        self.config = config
        self.clock = clock
        self._master = settings.master_key()
        self._master_hash = None if self._master is None else hash_key(self._master)
        self._cache: OrderedDict[str, tuple[KeyState | None, float]] = OrderedDict()
        self._states: dict[str, KeyState] = {}  # key id -> state (its budget outlives cache refreshes)
        self._loading: dict[str, asyncio.Future[KeyState | None]] = {}

    @property
    def has_master(self) -> bool:
        return self._master is not None

    def is_master(self, token: str) -> bool:
        """Whether ``token`` is the master key (compared in constant time)."""
        return self._is_master_digest(hash_key(token))

    def _is_master_digest(self, digest: str) -> bool:
        return self._master_hash is not None and hmac.compare_digest(digest, self._master_hash)

    def budgets(self) -> list[Any]:
        return [state.budget for state in self._states.values() if state.budget is not None]

    # -- building a key's budget and limiter ------------------------------------------------
    def _redis(self, key_id: str) -> Any:
        redis = self.config.redis
        if redis is None:
            return None
        return attrs.evolve(redis, key_prefix=f"{redis.key_prefix}proxy:{key_id}:")

    async def _state(self, record: KeyRecord) -> KeyState:
        old = self._states.get(record.id)
        if old is not None and old.record.updated_at == record.updated_at:
            old.record = record
            return old
        budget: Any = None
        if record.max_budget is not None:
            config = BudgetConfig(global_limit=record.max_budget, period=record.budget_period)  # type: ignore[arg-type]
            redis = self._redis(record.id)
            if redis is not None:
                from liter_llm_redis import RedisBudget

                budget = RedisBudget(config, redis, timeout_secs=self.config.timeout_secs, clock=self.clock)
                if record.budget_period == "lifetime":
                    await self._seed_redis(budget, record.id)
            elif old is not None and isinstance(old.budget, Budget) and old.budget.period == record.budget_period:
                budget = Budget(config, ledger=old.budget.ledger, clock=self.clock.time)
            else:
                budget = Budget(config, clock=self.clock.time)
                if record.budget_period == "lifetime":
                    spent = await self.store.spend_for_key(record.id)
                    for model, item in spent["by_model"].items():
                        if item["cost"]:
                            budget.ledger.add(model, item["cost"])
        limiter: Any = None
        if record.rpm is not None or record.tpm is not None:
            config_rl = RateLimitConfig(rpm=record.rpm, tpm=record.tpm)
            redis = self._redis(record.id)
            if redis is not None:
                from liter_llm_redis import RedisRateLimiter

                limiter = RedisRateLimiter(config_rl, redis, clock=self.clock)
            else:
                limiter = RateLimiter(config_rl, clock=self.clock.monotonic)
        state = KeyState(record, budget, limiter)
        self._states[record.id] = state
        return state

    async def _seed_redis(self, budget: Any, key_id: str) -> None:
        """Start a key's Redis ledger from the spend log when Redis has none (``HSETNX``: once, atomically)."""
        from liter_llm_redis.budget import NANO, TOTAL

        spent = (await self.store.spend_for_key(key_id))["total"]
        if spent <= 0:
            return
        name = budget.store.key("budget", "spent")
        amount = round(spent * NANO)
        try:
            await budget.store.arun(lambda client: client.hsetnx(name, TOTAL, amount))
        except Exception:  # Redis is down: the budget's own outage policy decides at the first call
            return

    # -- look-up --------------------------------------------------------------------------------
    async def _load(self, digest: str) -> KeyState | None:
        row = await self.store.key_by_hash(digest)
        if row is None:
            return None
        return await self._state(KeyRecord.from_row(row))

    async def lookup(self, token: str) -> KeyState | None:
        """The key state of a virtual key, or ``None`` when no such key exists.

        A key read from the database is trusted for ``key_cache_secs`` (by the clock's
        ``monotonic``): a change made on another instance (a revocation, a new allow-list)
        applies here at most that long after it was written; one made here applies at once
        (:meth:`forget`).
        """
        return await self._lookup(hash_key(token))

    async def _lookup(self, digest: str) -> KeyState | None:
        now = self.clock.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[1] < self.settings.key_cache_secs:
            self._cache.move_to_end(digest)
            return cached[0]
        pending = self._loading.get(digest)
        if pending is not None:  # one database read for a burst of requests with the same key
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyState | None] = asyncio.get_running_loop().create_future()
        self._loading[digest] = future
        try:
            state = await self._load(digest)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        finally:
            self._loading.pop(digest, None)
        future.set_result(state)
        self._cache[digest] = (state, now)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.settings.max_keys_cached:
            self._cache.popitem(last=False)
        return state

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after an update or a revocation on this instance)."""
        for digest, (state, _) in list(self._cache.items()):
            if state is not None and state.record.id == key_id:
                del self._cache[digest]

    async def authenticate(self, token: str | None) -> KeyState | None:
        """The key of a request: ``None`` for the master key, the key's state for a virtual key.

        Raises:
            AuthenticationError: no key, an unknown key, a revoked or an expired key (HTTP 401).
        """
        if not token:
            raise AuthenticationError("no API key: send it as 'Authorization: Bearer <key>'", code="missing_api_key")
        digest = hash_key(token)  # once: the master key's check and the look-up share it
        if self._is_master_digest(digest):
            return None
        state = await self._lookup(digest) if token.startswith(KEY_PREFIX) else None
        if state is None:
            raise AuthenticationError("the API key is not valid", code="invalid_api_key")
        record = state.record
        if record.revoked_at is not None:
            raise AuthenticationError(f"the API key {record.hint} was revoked", code="key_revoked")
        if record.expires_at is not None and record.expires_at <= self.clock.time():
            raise AuthenticationError(f"the API key {record.hint} has expired", code="key_expired")
        return state

    @staticmethod
    def check_model(state: KeyState | None, model: str | None) -> None:
        """Refuse a model outside the key's allow-list (HTTP 403) before anything is sent."""
        if state is None or state.record.models is None:
            return
        if model is None or model not in state.record.models:
            raise PermissionDeniedError(
                f"the API key {state.record.hint} may not use the model {model!r}",
                code="model_not_allowed",
                status_code=403,
            )

    # -- admin ----------------------------------------------------------------------------------
    async def create(self, values: Mapping[str, Any]) -> tuple[str, KeyRecord]:
        """Create a key; returns the key itself (shown once) and its record."""
        key = new_key()
        now = time.time()
        row = {
            "id": "key_" + uuid.uuid4().hex[:20],
            "key_hash": hash_key(key),
            "key_hint": _hint(key),
            "budget_period": "lifetime",
            "metadata": {},
            **values,
            "created_at": now,
            "updated_at": now,
        }
        await self.store.insert_key(row)
        return key, KeyRecord.from_row(row)

    async def update(self, key_id: str, values: Mapping[str, Any]) -> KeyRecord | None:
        row = await self.store.update_key(key_id, {**values, "updated_at": time.time()})
        self.forget(key_id)
        return None if row is None else KeyRecord.from_row(row)

    async def revoke(self, key_id: str) -> KeyRecord | None:
        now = time.time()
        row = await self.store.update_key(key_id, {"revoked_at": now, "updated_at": now})
        self.forget(key_id)
        return None if row is None else KeyRecord.from_row(row)


def _wait_of(result: Any) -> float:
    return float(result or 0.0)


def _refuse(state: KeyState, wait: float) -> RateLimitedError:
    return RateLimitedError(
        f"the API key {state.record.hint} is over its rate limit; retry in {wait:.1f} s",
        code="key_rate_limited",
        retry_after=wait,
    )


class KeyLimits:
    """The hook object on the proxy's client: the per-key rate limit and budget, and the spend record.

    ``check_budget`` runs before any I/O to the provider: the key's rate limiter
    (a call over it is refused with ``RateLimitedError``, not delayed) and then
    its budget (reserve; ``BudgetExceededError``).  ``on_response`` settles the
    reservation and fills the spend-log row; ``on_error`` releases it.
    """

    @hookimpl
    def check_budget(self, call: Call) -> Effect | None:
        context = CURRENT.get()
        if context is None:
            return None
        call.state[_STATE] = context
        state = context.key
        if state is None or (state.budget is None and state.limiter is None):
            return None
        limiter, budget = state.limiter, state.budget

        def run() -> None:
            if limiter is not None:
                answer = limiter.throttle(call)
                wait = _wait_of(answer.run() if isinstance(answer, Effect) else answer)
                if wait > 0:
                    raise _refuse(state, wait)
            if budget is not None:
                effect = budget.check_budget(call)
                if isinstance(effect, Effect):
                    effect.run()

        async def arun() -> None:
            if limiter is not None:
                answer = limiter.throttle(call)
                wait = _wait_of(await answer.arun() if isinstance(answer, Effect) else answer)
                if wait > 0:
                    raise _refuse(state, wait)
            if budget is not None:
                effect = budget.check_budget(call)
                if isinstance(effect, Effect):
                    await effect.arun()

        return Effect(run, arun)

    @hookimpl
    def on_response(self, call: Call, response: Any) -> None:
        context: RequestContext | None = call.state.get(_STATE)
        if context is None:
            return
        context.provider = call.provider.name
        context.model_routed = call.model
        usage = getattr(response, "usage", None)
        if usage is not None:
            prompt = getattr(usage, "prompt_tokens", None)
            if prompt is None:  # the Responses API's usage
                prompt = getattr(usage, "input_tokens", 0)
                completion = getattr(usage, "output_tokens", 0)
            else:
                completion = getattr(usage, "completion_tokens", 0)
            context.prompt_tokens = int(prompt or 0)
            context.completion_tokens = int(completion or 0)
            context.total_tokens = int(getattr(usage, "total_tokens", 0) or 0) or (
                context.prompt_tokens + context.completion_tokens
            )
        context.cost = call_cost(call, response) if usage is not None else None
        state = context.key
        if state is not None:
            if state.budget is not None:
                state.budget.on_response(call, response)
            if state.limiter is not None:
                state.limiter.on_response(call, response)

    @hookimpl
    def on_error(self, call: Call) -> None:
        context: RequestContext | None = call.state.get(_STATE)
        if context is None:
            return
        context.provider = call.provider.name
        context.model_routed = call.model
        if context.key is not None and context.key.budget is not None:
            context.key.budget.on_error(call)
