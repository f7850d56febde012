"""Client configuration: the fields of ``create_client(**options)``, ``create_client_from_json`` and ``liter-llm.toml``.

The attrs classes below say what is valid in their field types: ``Timeout`` is a number greater than 0
and at most a year, ``Name`` a non-empty string (stripped), ``Literal[...]`` one of its values, and so
on (each ``Annotated[T, rule, ...]`` is ``T`` checked by its rules in turn; the types and rules are in
:mod:`liter_llm._config_rules`).  One cattrs converter structures every source with them, strictly
(unknown fields, a boolean for a number, ``"3"`` for an integer are refused), and every failure
becomes one :class:`~liter_llm.errors.BadRequestError` ``source: path: problem``
(``budget.model_limits.gpt-4o``, ``providers[1].base_url``).

Every string may refer to the environment as ``${VAR}`` or ``${VAR:-default}``, expanded before
validation; :func:`find_config_file` looks for the file named by ``LITER_LLM_CONFIG``, else for
``liter-llm.toml`` in the working directory and its parents (both in :mod:`liter_llm._config_files`,
re-exported here).  The API key is a :class:`~liter_llm._secret.SecretStr`: never in a repr, an error
message or :func:`config_to_dict` (``"***"``), and neither are credential-bearing ``extra_headers`` or
the password of a proxy or Redis URL.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import attrs

from liter_llm._attrs_code import define
from liter_llm._attrs_methods import Fields
from liter_llm._config_files import (
    CONFIG_ENV_VAR,
    CONFIG_FILE_NAME,
    expand,
    find_config_file,
    load_config_file,
    load_config_json,
    load_config_toml,
)
from liter_llm._config_rules import (
    MAX_TIMEOUT_SECS,
    Amount,
    Backend,
    BadKey,
    Count,
    Invalid,
    Name,
    OnOutage,
    PositiveCount,
    ProxyUrl,
    RedisUrl,
    RouteName,
    Seconds,
    Text,
    Timeout,
    Url,
    as_mapping,
    format_path,
    located,
    make_converter,
    rule,
    structure_scalars,
    unique_names,
    unknown_field,
    valid_aliases,
    valid_headers,
)
from liter_llm._secret import REDACTED, SecretStr, redact_headers, redact_plugin_table, redact_url
from liter_llm.errors import AuthenticationError, BadRequestError
from liter_llm.router import STRATEGIES, ModelAlias, RouteTarget, models_to_dict
from liter_llm.types import CustomProviderConfig

__all__ = [
    "CONFIG_ENV_VAR",
    "CONFIG_FILE_NAME",
    "MAX_TIMEOUT_SECS",
    "BudgetConfig",
    "CacheConfig",
    "ClientConfig",
    "ProviderConfig",
    "RateLimitConfig",
    "RedisConfig",
    "config_to_dict",
    "find_config_file",
    "load_config_file",
    "load_config_json",
    "load_config_toml",
    "parse_config",
    "redact_url",
]


@define(kw_only=True, repr=False, eq=False)
class CacheConfig(Fields):
    """Response cache settings (``cache`` table)."""

    max_entries: Count = 1000
    ttl_seconds: Amount = 300.0
    backend: Backend = "memory"


@define(kw_only=True, repr=False, eq=False)
class BudgetConfig(Fields):
    """Spending limits in USD (``budget`` table)."""

    global_limit: Amount | None = None
    model_limits: dict[Text, Amount] = attrs.field(factory=dict)
    enforcement: Literal["hard", "soft"] = "hard"
    #: the window spending counts in: ``"lifetime"``, or ``"day"`` / ``"month"`` (calendar, UTC)
    period: Literal["lifetime", "day", "month"] = "lifetime"
    #: where spending is kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: Backend = "memory"
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: OnOutage | None = None


@define(kw_only=True, repr=False, eq=False)
class RateLimitConfig(Fields):
    """Client-side rate limits per model (``rate_limit`` table)."""

    rpm: PositiveCount | None = None
    tpm: PositiveCount | None = None
    window_seconds: Seconds = 60.0
    #: where the windows are kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: Backend = "memory"
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: OnOutage | None = None


@define(kw_only=True, repr=False, eq=False)
class RedisConfig(Fields):
    """The Redis connection shared by the Redis backends (``redis`` table; needs ``liter-llm-redis``).

    ``url`` may carry a password: it is never shown (repr and ``config_to_dict`` redact it).
    """

    url: RedisUrl = attrs.field(default="redis://127.0.0.1:6379/0", repr=False, metadata={"show": redact_url})
    key_prefix: str = "liter-llm:"
    timeout_secs: Seconds = 0.5
    on_outage: OnOutage = "fail_closed"


#: A custom OpenAI-compatible provider declared in configuration (``providers`` list): the same type as
#: :class:`liter_llm.types.CustomProviderConfig`, which ``register_custom_provider`` takes.  In a
#: configuration ``name``, ``base_url`` (an http(s) URL) and at least one of ``model_prefixes`` are required.
ProviderConfig = CustomProviderConfig
#: The types a configuration gives the fields of classes that live elsewhere, and the fields it requires.
_FIELD_TYPES: dict[type, dict[str, Any]] = {
    CustomProviderConfig: {
        "name": Name,
        "base_url": Url,
        "model_prefixes": Annotated[list[Text], rule(bool, "must list at least one model prefix")],
        "structured_output": Text | None,
    },
    ModelAlias: {
        "name": RouteName,
        "strategy": Literal[STRATEGIES],
        "targets": Annotated[list[RouteTarget], rule(bool, "must list at least one target"), tuple],
    },
    RouteTarget: {
        "model": RouteName,
        "weight": Annotated[
            float, rule(lambda v: math.isfinite(v) and v > 0, "must be a finite number greater than 0, got {value:g}")
        ],
        "base_url": Annotated[Url, lambda url: url.rstrip("/")] | None,
        "id": RouteName | None,
    },
}
_REQUIRED = {CustomProviderConfig: ("name", "base_url", "model_prefixes"), ModelAlias: ("name", "targets")}


@define(kw_only=True, repr=False, eq=False)
class ClientConfig(Fields):
    """Everything a client is configured with.

    ``timeout_secs`` bounds a whole call (all attempts and the whole stream
    body); ``connect_timeout_secs`` bounds each connection attempt.
    """

    api_key: SecretStr | None = attrs.field(default=None, repr=False)
    base_url: Url | None = None
    model_hint: Name | None = None
    timeout_secs: Timeout = 60.0
    connect_timeout_secs: Timeout = 10.0
    max_retries: Count = 2
    max_retry_delay_secs: Amount = 60.0
    max_response_bytes: PositiveCount = 64 * 1024 * 1024
    extra_headers: Annotated[dict[str, str], valid_headers] = attrs.field(
        factory=dict, repr=lambda h: repr(redact_headers(h)), metadata={"show": redact_headers}
    )
    cache: CacheConfig | None = None
    budget: BudgetConfig | None = None
    rate_limit: RateLimitConfig | None = None
    redis: RedisConfig | None = None
    fallbacks: list[Name] = attrs.field(factory=list)
    cooldown_secs: Amount | None = None
    cost_tracking: bool = False
    #: refuse a chat whose counted prompt (plus ``max_tokens``) exceeds the model's context window,
    #: before any I/O (:mod:`liter_llm.builtins.preflight`)
    preflight: bool = False
    #: switch on the tracing integration (``liter-llm-otel``: spans and metrics of every call)
    tracing: bool = False
    providers: Annotated[list[CustomProviderConfig], unique_names] = attrs.field(factory=list)
    proxy: ProxyUrl | None = attrs.field(
        default=None, repr=lambda url: repr(redact_url(url)), metadata={"show": redact_url}
    )
    trust_env: bool = True
    #: settings of installed plugins, one table per plugin (``[plugins.azure]``), read by that plugin
    plugins: dict[Text, dict[str, Any]] = attrs.field(
        factory=dict, repr=False, metadata={"show": lambda t: {n: redact_plugin_table(v) for n, v in t.items()}}
    )
    #: model aliases routed to several targets (``[[models]]``; see :mod:`liter_llm.router`)
    models: Annotated[list[ModelAlias], valid_aliases] = attrs.field(factory=list, metadata={"show": models_to_dict})


_SECTIONS = (CacheConfig, BudgetConfig, RateLimitConfig, RedisConfig, ClientConfig, *_FIELD_TYPES)


@functools.cache
def _converter() -> Any:
    """The configuration's cattrs converter, built on first use (no cattrs import when config is not read)."""
    return make_converter(_SECTIONS, _FIELD_TYPES, _REQUIRED)


def _structure(table: Mapping[str, Any], *, scalars_first: bool = True) -> ClientConfig:
    """``table`` (expanded) as a :class:`ClientConfig`: without the converter when it only gives scalar fields.

    ``create_client(api_key=..., base_url=...)`` gives only scalars; :func:`structure_scalars` does
    what the converter would with them (core/tests/test_config_scalars.py compares the two), so that
    a process's first client neither imports cattrs nor builds the converter.
    """
    if scalars_first:
        config = structure_scalars(ClientConfig, table)
        if config is not None:
            return config  # type: ignore[no-any-return]
    structured: ClientConfig = _converter().structure(table, ClientConfig)
    return structured


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def parse_config(
    data: Mapping[str, Any], *, source: str = "config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Validate ``data`` (a decoded JSON object or TOML document, or a dict) and build a :class:`ClientConfig`.

    Every string is expanded from ``env`` (default ``os.environ``) first, then structured by the field
    types: unknown fields at any depth, wrong types (a boolean is not a number; an integer is accepted
    where a number is expected) and values out of range are refused.

    Raises:
        BadRequestError: ``source: path: problem`` (``source`` a file path, ``"JSON config"``...); the
            message never contains the API key (an unusable key is an :class:`AuthenticationError`).
    """
    secrets = [data.get("api_key")] if isinstance(data, Mapping) else []  # learnt first: no message shows it
    try:
        table = as_mapping(data)
        for key in table:  # the top level before expansion: an unknown field is named before any variable
            if key not in attrs.fields_dict(ClientConfig):
                raise unknown_field(ClientConfig, key)
        expanded = expand(table, (), os.environ if env is None else env)
        secrets.append(expanded.get("api_key"))
        return _structure(expanded)
    except RecursionError:
        raise BadRequestError(f"{source}: the configuration is nested too deeply") from None
    except Exception as exc:
        path, problem = located(exc)
        where = f"{format_path(path)}: " if path else ""
        text = f"{source}: {where}{problem.problem if isinstance(problem, Invalid) else problem}"
        unusable_key = isinstance(problem, BadKey) and path == ("api_key",)  # the client's own key
        for given in secrets:
            secret = given.get_secret_value() if isinstance(given, SecretStr) else given
            if isinstance(secret, str) and len(secret) >= 4 and "${" not in secret:
                text = text.replace(secret, REDACTED)
        raise (AuthenticationError if unusable_key else BadRequestError)(text) from None


def build_config(
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout_secs: float | None = None,
    max_retries: int | None = None,
    model_hint: str | None = None,
    *,
    config: ClientConfig | None = None,
    **fields: Any,
) -> ClientConfig:
    """The configuration of ``create_client(...)``: ``config`` (or the defaults) with the given fields.

    The arguments go through :func:`parse_config` (source ``create_client``), so keyword arguments,
    ``create_client_from_json`` and ``liter-llm.toml`` are checked by the same converter; the explicit
    arguments count as given when not ``None`` (and ``api_key`` when not empty).
    """
    explicit = {"api_key": api_key or None, "base_url": base_url, "timeout_secs": timeout_secs}
    explicit |= {"max_retries": max_retries, "model_hint": model_hint}
    given = {**fields, **{name: value for name, value in explicit.items() if value is not None}}
    base = config if config is not None else ClientConfig()
    if not given:
        return base
    parsed = parse_config(given, source="create_client")
    return attrs.evolve(base, **{name: getattr(parsed, name) for name in given})


def config_to_dict(config: ClientConfig) -> dict[str, Any]:
    """A JSON-ready dict of ``config`` (for ``liter-llm config check``).

    The API key, the values of credential-bearing ``extra_headers``, secret-sounding plugin settings
    and the user name and password of a ``proxy`` or Redis URL are shown as ``"***"``; apart from
    those, the result read back with :func:`parse_config` gives an equal configuration.
    """
    shown: dict[str, Any] = _converter().unstructure(config, ClientConfig)
    return shown
