"""Client configuration: the fields of ``create_client_from_json`` and ``liter-llm.toml``."""

from __future__ import annotations

from typing import Literal

import attrs

from liter_llm._secret import SecretStr
from liter_llm.types import AuthHeaderFormat

__all__ = ["BudgetConfig", "CacheConfig", "ClientConfig", "ProviderConfig", "RateLimitConfig"]


@attrs.define(kw_only=True)
class CacheConfig:
    """Response cache settings (``cache`` table)."""

    max_entries: int = 1000
    ttl_seconds: float = 300.0
    backend: str = "memory"


@attrs.define(kw_only=True)
class BudgetConfig:
    """Spending limits in USD (``budget`` table)."""

    global_limit: float | None = None
    model_limits: dict[str, float] = attrs.field(factory=dict)
    enforcement: Literal["hard", "soft"] = "hard"


@attrs.define(kw_only=True)
class RateLimitConfig:
    """Client-side rate limits per model (``rate_limit`` table)."""

    rpm: int | None = None
    tpm: int | None = None
    window_seconds: float = 60.0


@attrs.define(kw_only=True)
class ProviderConfig:
    """A custom OpenAI-compatible provider declared in configuration (``providers`` list)."""

    name: str
    base_url: str
    auth_header: AuthHeaderFormat = AuthHeaderFormat.BEARER
    model_prefixes: list[str] = attrs.field(factory=list)


@attrs.define(kw_only=True)
class ClientConfig:
    """Everything a client is configured with.

    ``timeout_secs`` bounds a whole call (all attempts and the whole stream
    body); ``connect_timeout_secs`` bounds each connection attempt.
    """

    api_key: SecretStr | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    model_hint: str | None = None
    timeout_secs: float = 60.0
    connect_timeout_secs: float = 10.0
    max_retries: int = 2
    max_retry_delay_secs: float = 60.0
    max_response_bytes: int = 64 * 1024 * 1024
    extra_headers: dict[str, str] = attrs.field(factory=dict)
    cache: CacheConfig | None = None
    budget: BudgetConfig | None = None
    rate_limit: RateLimitConfig | None = None
    fallbacks: list[str] = attrs.field(factory=list)
    cooldown_secs: float | None = None
    health_check_secs: float | None = None
    cost_tracking: bool = False
    tracing: bool = False
    providers: list[ProviderConfig] = attrs.field(factory=list)
