"""The proxy's own settings: the ``[plugins.proxy]`` table of ``liter-llm.toml``.

Everything else in the file configures the liter-llm client the proxy forwards
to (providers, keys, retries, fallbacks, ``[redis]``...), validated by the core.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from liter_llm.config import ClientConfig, load_config_file
from liter_llm.errors import BadRequestError

__all__ = ["DEFAULT_DATABASE_URL", "ModelPrice", "ProxySettings", "load_settings", "settings_from_config"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///liter-llm-proxy.db"


@attrs.frozen(kw_only=True)
class ModelPrice:
    """A price the proxy sets at start-up (``liter_llm.set_model_price``), USD per token."""

    input_cost_per_token: float
    output_cost_per_token: float


@attrs.frozen(kw_only=True)
class ProxySettings:
    """The ``[plugins.proxy]`` table.

    Attributes:
        database_url: a SQLAlchemy async URL: ``sqlite+aiosqlite:///path.db`` (default, in the
            working directory) or ``postgresql+asyncpg://user:password@host:port/db``.
        master_key_env: the environment variable holding the master key.
        key_cache_secs: how long a virtual key read from the database is trusted before it is
            read again (what another instance changed is seen within this time; 0: every request).
        spend_flush_secs: the spend log is written in batches at most this often.
        max_body_bytes: the largest request body accepted (413 above it).
        max_keys_cached: virtual keys kept in memory (least recently used go first).
        model_prices: prices for models the shipped table does not know.
        shutdown_grace_secs: how long a graceful shutdown waits for requests and streams in flight.
        cassette: a liter-llm-record cassette file for the proxy's own calls to its providers: they
            are recorded into it, or replayed from it, by ``cassette_mode`` (needs liter-llm-record;
            one worker, the file is written when the proxy stops).
        cassette_mode: ``once`` (default: replay when the file exists, else record), ``record``,
            ``replay`` or ``none``.
    """

    database_url: str = attrs.field(default=DEFAULT_DATABASE_URL, repr=False)
    master_key_env: str = "LITER_LLM_MASTER_KEY"
    key_cache_secs: float = 2.0
    spend_flush_secs: float = 0.5
    max_body_bytes: int = 32 * 1024 * 1024
    max_keys_cached: int = 10_000
    model_prices: dict[str, ModelPrice] = attrs.field(factory=dict)
    shutdown_grace_secs: float = 30.0
    cassette: str | None = None
    cassette_mode: str = "once"

    def master_key(self) -> str | None:
        """The master key from the environment, or ``None`` (then the admin API is closed)."""
        value = os.environ.get(self.master_key_env, "")
        return value or None


_FIELDS = {f.name for f in attrs.fields(ProxySettings)}


def _number(name: str, value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise BadRequestError(f"plugins.proxy.{name}: must be a number >= {minimum:g}")
    return float(value)


def settings_from_table(table: Mapping[str, Any]) -> ProxySettings:
    """Validate a ``[plugins.proxy]`` table (unknown fields and wrong types are a BadRequestError)."""
    unknown = set(table) - _FIELDS
    if unknown:
        raise BadRequestError(f"plugins.proxy: unknown field(s) {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for name in ("database_url", "master_key_env", "cassette", "cassette_mode"):
        if name in table:
            if not isinstance(table[name], str) or not table[name].strip():
                raise BadRequestError(f"plugins.proxy.{name}: must be a non-empty string")
            kwargs[name] = table[name].strip()
    if "cassette" in kwargs or "cassette_mode" in kwargs:
        _check_cassette(kwargs.get("cassette_mode", "once"))
    for name in ("key_cache_secs", "spend_flush_secs", "shutdown_grace_secs"):
        if name in table:
            kwargs[name] = _number(name, table[name])
    for name in ("max_body_bytes", "max_keys_cached"):
        if name in table:
            value = table[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadRequestError(f"plugins.proxy.{name}: must be a positive integer")
            kwargs[name] = value
    if "model_prices" in table:
        prices = table["model_prices"]
        if not isinstance(prices, Mapping):
            raise BadRequestError("plugins.proxy.model_prices: must be a table of model = {prices}")
        parsed: dict[str, ModelPrice] = {}
        for model, price in prices.items():
            if not isinstance(price, Mapping) or set(price) - {"input_cost_per_token", "output_cost_per_token"}:
                raise BadRequestError(
                    f"plugins.proxy.model_prices.{model}: give input_cost_per_token and output_cost_per_token"
                )
            parsed[str(model)] = ModelPrice(
                input_cost_per_token=_number(
                    f"model_prices.{model}.input_cost_per_token", price.get("input_cost_per_token", 0.0)
                ),
                output_cost_per_token=_number(
                    f"model_prices.{model}.output_cost_per_token", price.get("output_cost_per_token", 0.0)
                ),
            )
        kwargs["model_prices"] = parsed
    return ProxySettings(**kwargs)


def _check_cassette(mode: str) -> None:
    try:
        from liter_llm_record import MODES
    except ImportError:
        raise BadRequestError(
            "plugins.proxy.cassette: recording needs liter-llm-record: pip install 'liter-llm[record]'"
        ) from None
    if mode not in MODES:
        raise BadRequestError(f"plugins.proxy.cassette_mode: must be one of {', '.join(MODES)}, not {mode!r}")


def settings_from_config(config: ClientConfig) -> ProxySettings:
    """The proxy settings held in a client configuration's ``plugins.proxy`` table."""
    return settings_from_table(config.plugins.get("proxy", {}))


def load_settings(path: str | Path | None) -> tuple[ClientConfig, ProxySettings]:
    """Read ``liter-llm.toml`` (given, at ``LITER_LLM_CONFIG``, or found upwards; else defaults).

    Raises:
        BadRequestError: the file cannot be read or is invalid (the message names the field).
    """
    config = load_config_file(Path(path) if path else None) or ClientConfig()
    return config, settings_from_config(config)
