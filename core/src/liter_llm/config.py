"""Client configuration: the fields of ``create_client_from_json`` and ``liter-llm.toml``.

The attrs classes below hold a client's configuration.  They are filled from
three places, all strict and all failing with a
:class:`~liter_llm.errors.BadRequestError` whose message names the offending
field by its path (``budget.model_limits.gpt-4o``, ``providers[1].base_url``):

* :func:`parse_config` validates a plain mapping (decoded JSON or TOML, or a
  dict built in Python);
* :func:`load_config_json`, :func:`load_config_toml` and
  :func:`load_config_file` decode text or a file first.

Every string value may refer to the environment as ``${VAR}`` or
``${VAR:-default}`` (the default is used when ``VAR`` is unset or empty);
``$${`` stands for a literal ``${``.  Expansion happens before validation.

:func:`find_config_file` looks for the file named by ``LITER_LLM_CONFIG``, or
else for ``liter-llm.toml`` in the working directory and its parents.

The API key is held in a :class:`~liter_llm._secret.SecretStr`: it never
appears in the repr of a config object, in an error message, or in
:func:`config_to_dict` (which shows it as ``"***"``).  Values of
credential-bearing ``extra_headers`` (``Authorization``, ``x-api-key``, ...)
are redacted the same way.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

import attrs

from liter_llm._secret import SecretStr, clean_header_value, clean_secret
from liter_llm.errors import BadRequestError, LiterLlmError
from liter_llm.router import ModelAlias, models_to_dict, parse_models
from liter_llm.types import AuthHeaderFormat

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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
]

#: The environment variable naming a configuration file explicitly.
CONFIG_ENV_VAR = "LITER_LLM_CONFIG"
#: The file name searched for in the working directory and its parents.
CONFIG_FILE_NAME = "liter-llm.toml"

_REDACTED = "***"
#: Header names (lower case) whose values are credentials and never shown.
_SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "ocp-apim-subscription-key",
    }
)


def _is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SENSITIVE_HEADERS or any(word in lowered for word in ("token", "secret", "api-key", "apikey"))


def _redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: (_REDACTED if _is_sensitive_header(name) else value) for name, value in headers.items()}


def _headers_repr(headers: Mapping[str, str]) -> str:
    return repr(_redact_headers(headers))


def redact_url(url: str | None) -> str | None:
    """``url`` with any user name and password replaced by ``***`` (a proxy URL may carry credentials)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{_REDACTED}@{host}" + (f":{parts.port}" if parts.port is not None else "")
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return _REDACTED


def _proxy_repr(url: str | None) -> str:
    return repr(redact_url(url))


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
    #: the window spending counts in: ``"lifetime"``, or ``"day"`` / ``"month"`` (calendar, UTC)
    period: Literal["lifetime", "day", "month"] = "lifetime"
    #: where spending is kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: str = "memory"
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: Literal["fail_closed", "fail_open"] | None = None


@attrs.define(kw_only=True)
class RateLimitConfig:
    """Client-side rate limits per model (``rate_limit`` table)."""

    rpm: int | None = None
    tpm: int | None = None
    window_seconds: float = 60.0
    #: where the windows are kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: str = "memory"
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: Literal["fail_closed", "fail_open"] | None = None


@attrs.define(kw_only=True)
class RedisConfig:
    """The Redis connection shared by the Redis backends (``redis`` table; needs ``liter-llm-redis``).

    ``url`` may carry a password: it is never shown (repr and ``config_to_dict`` redact it).
    """

    url: str = attrs.field(default="redis://127.0.0.1:6379/0", repr=False)
    key_prefix: str = "liter-llm:"
    timeout_secs: float = 0.5
    on_outage: Literal["fail_closed", "fail_open"] = "fail_closed"


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
    extra_headers: dict[str, str] = attrs.field(factory=dict, repr=_headers_repr)
    cache: CacheConfig | None = None
    budget: BudgetConfig | None = None
    rate_limit: RateLimitConfig | None = None
    redis: RedisConfig | None = None
    fallbacks: list[str] = attrs.field(factory=list)
    cooldown_secs: float | None = None
    cost_tracking: bool = False
    tracing: bool = False
    providers: list[ProviderConfig] = attrs.field(factory=list)
    proxy: str | None = attrs.field(default=None, repr=_proxy_repr)
    trust_env: bool = True
    #: settings of installed plugins, one table per plugin (``[plugins.azure]``), read by that plugin
    plugins: dict[str, dict[str, Any]] = attrs.field(factory=dict, repr=False)
    #: model aliases routed to several targets (``[[models]]``; see :mod:`liter_llm.router`)
    models: list[ModelAlias] = attrs.field(factory=list)


# ---------------------------------------------------------------------------
# Validation context and paths
# ---------------------------------------------------------------------------

_Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-/:@]+")


def _format_path(path: _Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out or "<top level>"


class _Ctx:
    """Where a config comes from, and the secret that must never be shown in a message."""

    __slots__ = ("secret", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.secret: str | None = None

    def scrub(self, text: str) -> str:
        if self.secret and len(self.secret) >= 4:
            text = text.replace(self.secret, _REDACTED)
        return text

    def fail(self, path: _Path, problem: str) -> NoReturn:
        message = f"{self.source}: {_format_path(path)}: {problem}" if path else f"{self.source}: {problem}"
        raise BadRequestError(self.scrub(message))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "table/object"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


# ---------------------------------------------------------------------------
# Environment expansion
# ---------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)(\})?")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand_string(ctx: _Ctx, text: str, path: _Path, env: Mapping[str, str]) -> str:
    if "${" not in text:
        return text

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        body = match.group(1)
        if match.group(2) is None:
            ctx.fail(path, "unterminated '${' (write '$${' for a literal '${')")
        name, sep, default = body.partition(":-")
        if not _VAR_NAME.fullmatch(name):
            ctx.fail(path, "invalid environment variable reference: expected ${NAME} or ${NAME:-default}")
        value = env.get(name)
        if value is None or (sep and value == ""):
            if sep:
                return default
            ctx.fail(path, f"environment variable {name} is not set (use ${{{name}:-default}} to give a default)")
        return value

    return _REFERENCE.sub(substitute, text)


def _expand(ctx: _Ctx, value: Any, path: _Path, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _expand_string(ctx, value, path, env)
    if isinstance(value, Mapping):
        return {
            key: _expand(ctx, item, (*path, key if isinstance(key, str) else str(key)), env)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_expand(ctx, item, (*path, index), env) for index, item in enumerate(value)]
    return value


# ---------------------------------------------------------------------------
# Scalar validators
# ---------------------------------------------------------------------------


def _mapping(ctx: _Ctx, value: Any, path: _Path) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        ctx.fail(path, f"expected a table/object, got {_type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            ctx.fail(path, f"keys must be strings, got a key of type {_type_name(key)}")
    return cast("Mapping[str, Any]", value)


def _check_fields(ctx: _Ctx, value: Mapping[str, Any], allowed: Iterable[str], path: _Path) -> None:
    known = sorted(allowed)
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            ctx.fail((*path, key), f"unknown field{hint}; known fields: {', '.join(known)}")


def _string(ctx: _Ctx, value: Any, path: _Path, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        ctx.fail(path, f"expected a string, got {_type_name(value)}")
    if not allow_empty and not value.strip():
        ctx.fail(path, "must not be empty")
    return value


def _url(ctx: _Ctx, value: Any, path: _Path) -> str:
    text = _string(ctx, value, path)
    try:
        parts = urlsplit(text.strip())
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        ctx.fail(path, "expected an http:// or https:// URL with a host")
    return text.strip()


def _boolean(ctx: _Ctx, value: Any, path: _Path) -> bool:
    if not isinstance(value, bool):
        ctx.fail(path, f"expected a boolean, got {_type_name(value)}")
    return value


def _integer(ctx: _Ctx, value: Any, path: _Path, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        ctx.fail(path, f"expected an integer, got {_type_name(value)}")
    if value < minimum:
        ctx.fail(path, f"must be at least {minimum}, got {value}")
    return int(value)


def _number(ctx: _Ctx, value: Any, path: _Path, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.fail(path, f"expected a number, got {_type_name(value)}")
    number = float(value)
    if not math.isfinite(number):
        ctx.fail(path, "must be a finite number")
    if positive and number <= 0:
        ctx.fail(path, f"must be greater than 0, got {value}")
    if number < 0:
        ctx.fail(path, f"must not be negative, got {value}")
    return number


_T = TypeVar("_T")


def _optional(
    check: Callable[..., _T],
) -> Callable[..., _T | None]:
    def wrapper(ctx: _Ctx, value: Any, path: _Path, **kwargs: Any) -> _T | None:
        return None if value is None else check(ctx, value, path, **kwargs)

    return wrapper


def _string_list(ctx: _Ctx, value: Any, path: _Path) -> list[str]:
    if not isinstance(value, (list, tuple)):
        ctx.fail(path, f"expected a list of strings, got {_type_name(value)}")
    return [_string(ctx, item, (*path, index)) for index, item in enumerate(value)]


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _headers(ctx: _Ctx, value: Any, path: _Path) -> dict[str, str]:
    table = _mapping(ctx, value, path)
    result: dict[str, str] = {}
    for name, header_value in table.items():
        where = (*path, name)
        if not _HEADER_NAME.fullmatch(name):
            ctx.fail(where, "not a valid HTTP header name")
        if not isinstance(header_value, str):
            ctx.fail(where, f"expected a string, got {_type_name(header_value)}")
        try:  # surrounding whitespace (a trailing line end) is stripped
            result[name] = clean_header_value(name, header_value)
        except LiterLlmError:
            ctx.fail(where, "a header value must not contain a control character (CR, LF, NUL...) or a non-ASCII one")
    return result


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------

_CACHE_FIELDS = ("max_entries", "ttl_seconds", "backend")
_BUDGET_FIELDS = ("global_limit", "model_limits", "enforcement", "period", "backend", "on_outage")
_RATE_LIMIT_FIELDS = ("rpm", "tpm", "window_seconds", "backend", "on_outage")
_REDIS_FIELDS = ("url", "key_prefix", "timeout_secs", "on_outage")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _backend_name(ctx: _Ctx, table: Mapping[str, Any], path: _Path, kwargs: dict[str, Any]) -> None:
    if "backend" in table:
        name = _string(ctx, table["backend"], (*path, "backend")).strip()
        if not name:
            ctx.fail((*path, "backend"), "must not be empty")
        kwargs["backend"] = name


def _on_outage(ctx: _Ctx, value: Any, path: _Path) -> str:
    if value not in ("fail_closed", "fail_open"):
        shown = f"got {_type_name(value)}" if not isinstance(value, str) else "got another value"
        ctx.fail(path, f'must be "fail_closed" or "fail_open", {shown}')
    return str(value)


def _redis(ctx: _Ctx, value: Any, path: _Path) -> RedisConfig:
    if isinstance(value, RedisConfig):
        value = attrs.asdict(value)
    table = _mapping(ctx, value, path)
    _check_fields(ctx, table, _REDIS_FIELDS, path)
    kwargs: dict[str, Any] = {}
    if "url" in table:
        url = _string(ctx, table["url"], (*path, "url")).strip()
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            scheme = ""
        if scheme not in _REDIS_SCHEMES:
            ctx.fail((*path, "url"), "must be a redis://, rediss:// or unix:// URL")
        kwargs["url"] = url
    if "key_prefix" in table:
        kwargs["key_prefix"] = _string(ctx, table["key_prefix"], (*path, "key_prefix"), allow_empty=True)
    if "timeout_secs" in table:
        kwargs["timeout_secs"] = _number(ctx, table["timeout_secs"], (*path, "timeout_secs"), positive=True)
    if "on_outage" in table:
        kwargs["on_outage"] = _on_outage(ctx, table["on_outage"], (*path, "on_outage"))
    return RedisConfig(**kwargs)


_PROVIDER_FIELDS = ("name", "base_url", "auth_header", "model_prefixes")


def _cache(ctx: _Ctx, value: Any, path: _Path) -> CacheConfig:
    if isinstance(value, CacheConfig):
        value = attrs.asdict(value)
    table = _mapping(ctx, value, path)
    _check_fields(ctx, table, _CACHE_FIELDS, path)
    kwargs: dict[str, Any] = {}
    if "max_entries" in table:
        kwargs["max_entries"] = _integer(ctx, table["max_entries"], (*path, "max_entries"))
    if "ttl_seconds" in table:
        kwargs["ttl_seconds"] = _number(ctx, table["ttl_seconds"], (*path, "ttl_seconds"))
    if "backend" in table:
        kwargs["backend"] = _string(ctx, table["backend"], (*path, "backend")).strip()
    return CacheConfig(**kwargs)


def _budget(ctx: _Ctx, value: Any, path: _Path) -> BudgetConfig:
    if isinstance(value, BudgetConfig):
        value = attrs.asdict(value)
    table = _mapping(ctx, value, path)
    _check_fields(ctx, table, _BUDGET_FIELDS, path)
    kwargs: dict[str, Any] = {}
    if "global_limit" in table:
        kwargs["global_limit"] = _optional(_number)(ctx, table["global_limit"], (*path, "global_limit"))
    if "model_limits" in table:
        where = (*path, "model_limits")
        limits = _mapping(ctx, table["model_limits"], where)
        model_limits: dict[str, float] = {}
        for model, limit in limits.items():
            if not model.strip():
                ctx.fail(where, "a model name must not be empty")
            model_limits[model] = _number(ctx, limit, (*where, model))
        kwargs["model_limits"] = model_limits
    if "enforcement" in table:
        enforcement = table["enforcement"]
        if enforcement not in ("hard", "soft"):
            shown = f"got {_type_name(enforcement)}" if not isinstance(enforcement, str) else "got another value"
            ctx.fail((*path, "enforcement"), f'must be "hard" or "soft", {shown}')
        kwargs["enforcement"] = enforcement
    if "period" in table:
        period = table["period"]
        if period not in ("lifetime", "day", "month"):
            shown = f"got {_type_name(period)}" if not isinstance(period, str) else "got another value"
            ctx.fail((*path, "period"), f'must be "lifetime", "day" or "month", {shown}')
        kwargs["period"] = period
    _backend_name(ctx, table, path, kwargs)
    if table.get("on_outage") is not None:
        kwargs["on_outage"] = _on_outage(ctx, table["on_outage"], (*path, "on_outage"))
    return BudgetConfig(**kwargs)


def _rate_limit(ctx: _Ctx, value: Any, path: _Path) -> RateLimitConfig:
    if isinstance(value, RateLimitConfig):
        value = attrs.asdict(value)
    table = _mapping(ctx, value, path)
    _check_fields(ctx, table, _RATE_LIMIT_FIELDS, path)
    kwargs: dict[str, Any] = {}
    for name in ("rpm", "tpm"):
        if name in table:
            kwargs[name] = _optional(_integer)(ctx, table[name], (*path, name), minimum=1)
    if "window_seconds" in table:
        kwargs["window_seconds"] = _number(ctx, table["window_seconds"], (*path, "window_seconds"), positive=True)
    _backend_name(ctx, table, path, kwargs)
    if table.get("on_outage") is not None:
        kwargs["on_outage"] = _on_outage(ctx, table["on_outage"], (*path, "on_outage"))
    return RateLimitConfig(**kwargs)


def _auth_header(ctx: _Ctx, value: Any, path: _Path) -> AuthHeaderFormat:
    try:
        result = AuthHeaderFormat.parse(value)
    except LiterLlmError as exc:
        ctx.fail(path, exc.message)
    except (TypeError, ValueError, KeyError, AttributeError):
        ctx.fail(path, f"not a valid auth header format ({_type_name(value)})")
    if result.header is not None and not _HEADER_NAME.fullmatch(result.header):
        ctx.fail(path, "the API key header is not a valid HTTP header name")
    return result


def _provider(ctx: _Ctx, value: Any, path: _Path) -> ProviderConfig:
    if isinstance(value, ProviderConfig):
        value = {
            "name": value.name,
            "base_url": value.base_url,
            "auth_header": value.auth_header,
            "model_prefixes": value.model_prefixes,
        }
    table = _mapping(ctx, value, path)
    _check_fields(ctx, table, _PROVIDER_FIELDS, path)
    for required in ("name", "base_url", "model_prefixes"):
        if required not in table:
            ctx.fail((*path, required), "missing required field")
    name = _string(ctx, table["name"], (*path, "name")).strip()
    base_url = _url(ctx, table["base_url"], (*path, "base_url"))
    prefixes = _string_list(ctx, table["model_prefixes"], (*path, "model_prefixes"))
    if not prefixes:
        ctx.fail((*path, "model_prefixes"), "must list at least one model prefix")
    kwargs: dict[str, Any] = {"name": name, "base_url": base_url, "model_prefixes": prefixes}
    if "auth_header" in table:
        kwargs["auth_header"] = _auth_header(ctx, table["auth_header"], (*path, "auth_header"))
    return ProviderConfig(**kwargs)


def _providers(ctx: _Ctx, value: Any, path: _Path) -> list[ProviderConfig]:
    if not isinstance(value, (list, tuple)):
        ctx.fail(path, f"expected a list of provider tables, got {_type_name(value)}")
    result: list[ProviderConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        provider = _provider(ctx, item, (*path, index))
        if provider.name in seen:
            ctx.fail((*path, index, "name"), f"duplicate provider name {provider.name!r}")
        seen.add(provider.name)
        result.append(provider)
    return result


def _api_key(ctx: _Ctx, value: Any, path: _Path) -> SecretStr | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value if value else None
    if not isinstance(value, str):
        ctx.fail(path, f"expected a string, got {_type_name(value)}")
    cleaned = clean_secret(value, f"{ctx.source}: {_format_path(path)}")  # a trailing line end is stripped
    return SecretStr(cleaned) if cleaned else None


_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _proxy(ctx: _Ctx, value: Any, path: _Path) -> str:
    # the message never shows the value: a proxy URL may hold a password
    text = _string(ctx, value, path).strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # a malformed port raises here
        valid = parts.scheme.lower() in _PROXY_SCHEMES and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(ord(c) < 33 or ord(c) == 127 for c in text):
        ctx.fail(path, f"expected a proxy URL with a host ({', '.join(s + '://' for s in _PROXY_SCHEMES)})")
    return text


#: the longest timeout accepted (one year): beyond it the operating system's timers overflow
MAX_TIMEOUT_SECS = 365 * 24 * 3600.0


def _timeout(ctx: _Ctx, value: Any, path: _Path) -> float:
    number = _number(ctx, value, path, positive=True)
    if number > MAX_TIMEOUT_SECS:
        ctx.fail(path, f"must be at most {MAX_TIMEOUT_SECS:.0f} seconds (one year), got {value}")
    return number


def _positive_integer(ctx: _Ctx, value: Any, path: _Path) -> int:
    return _integer(ctx, value, path, minimum=1)


def _optional_string(ctx: _Ctx, value: Any, path: _Path) -> str | None:
    return None if value is None else _string(ctx, value, path).strip()


def _plugin_tables(ctx: _Ctx, value: Any, path: _Path) -> dict[str, dict[str, Any]]:
    """``[plugins.<name>]``: one table per plugin, handed to it as given (the plugin validates it)."""
    tables = _mapping(ctx, value, path)
    result: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        if not name:
            ctx.fail(path, "a plugin name must not be empty")
        result[name] = dict(_mapping(ctx, table, (*path, name)))
    return result


def _fallbacks(ctx: _Ctx, value: Any, path: _Path) -> list[str]:
    return [model.strip() for model in _string_list(ctx, value, path)]


def _models(ctx: _Ctx, value: Any, path: _Path) -> list[ModelAlias]:
    try:
        return parse_models(value, _format_path(path))
    except BadRequestError as exc:  # the router module names the field path
        ctx.fail((), exc.message)


_FieldParser = Callable[[_Ctx, Any, _Path], Any]

#: Every top-level field, with the function that validates and converts it.
_FIELDS: dict[str, _FieldParser] = {
    "api_key": _api_key,
    "base_url": _optional(_url),
    "model_hint": _optional_string,
    "timeout_secs": _timeout,
    "connect_timeout_secs": _timeout,
    "max_retries": _integer,
    "max_retry_delay_secs": _number,
    "max_response_bytes": _positive_integer,
    "extra_headers": _headers,
    "cache": _optional(_cache),
    "budget": _optional(_budget),
    "rate_limit": _optional(_rate_limit),
    "redis": _optional(_redis),
    "fallbacks": _fallbacks,
    "cooldown_secs": _optional(_number),
    "cost_tracking": _boolean,
    "tracing": _boolean,
    "providers": _providers,
    "proxy": _optional(_proxy),
    "trust_env": _boolean,
    "plugins": _plugin_tables,
    "models": _models,
}

assert set(_FIELDS) == {field.name for field in attrs.fields(ClientConfig)}


def _parse_fields(ctx: _Ctx, table: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a top-level table (already expanded) into ClientConfig keyword arguments."""
    try:
        return {name: _FIELDS[name](ctx, value, (name,)) for name, value in table.items()}
    except LiterLlmError:
        raise
    except RecursionError:
        raise BadRequestError(f"{ctx.source}: the configuration is nested too deeply") from None
    except Exception as exc:  # a bug in a validator must still surface as a config error
        raise BadRequestError(f"{ctx.source}: invalid configuration ({type(exc).__name__})") from None


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def parse_config(
    data: Mapping[str, Any],
    *,
    source: str = "config",
    env: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Validate a configuration mapping and build a :class:`ClientConfig`.

    ``data`` is a decoded JSON object or TOML document (or a dict built in
    Python) with the fields of ``liter-llm.toml``.  First every string value
    is expanded from the environment (``${VAR}``, ``${VAR:-default}``; ``env``
    defaults to ``os.environ``), then every field is checked: unknown fields
    at any depth, wrong types (a boolean is not a number; an integer is
    accepted where a number is expected), negative or zero values where they
    make no sense, an ``enforcement`` other than ``"hard"``/``"soft"`` and
    invalid provider entries are refused.

    Args:
        data: the configuration mapping.
        source: what the configuration is (a file path, ``"JSON config"``),
            put at the start of every error message.
        env: the environment used for ``${VAR}`` expansion.

    Returns:
        The validated configuration; ``api_key`` is a :class:`SecretStr`.

    Raises:
        BadRequestError: for any invalid content; the message names the field
            path and never contains the API key.
    """
    ctx = _Ctx(source)
    if not isinstance(data, Mapping):
        ctx.fail((), f"the configuration must be a table/object, got {_type_name(data)}")
    # Learn the key first, so that no message can show it.
    raw_key = data.get("api_key")
    if isinstance(raw_key, str) and "${" not in raw_key:
        ctx.secret = raw_key
    table = _mapping(ctx, data, ())
    _check_fields(ctx, table, _FIELDS, ())
    try:
        expanded = _expand(ctx, table, (), os.environ if env is None else env)
    except RecursionError:
        raise BadRequestError(f"{source}: the configuration is nested too deeply") from None
    key = expanded.get("api_key")
    if isinstance(key, str) and key:
        ctx.secret = key
    return ClientConfig(**_parse_fields(ctx, expanded))


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _decode_text(text: str | bytes, source: str) -> str:
    if isinstance(text, str):
        return text.removeprefix("\ufeff")
    if not isinstance(text, (bytes, bytearray)):
        raise BadRequestError(f"{source}: expected text or bytes, got {_type_name(text)}")
    try:
        return bytes(text).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"{source}: not valid UTF-8 (at byte {exc.start})") from None


def load_config_json(
    text: str | bytes, *, source: str = "JSON config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Parse a JSON configuration document (the argument of ``create_client_from_json``).

    The document must be one JSON object with the fields of ``liter-llm.toml``
    (see :func:`parse_config`).  ``NaN``/``Infinity`` and duplicate keys are
    refused.

    Raises:
        BadRequestError: invalid UTF-8, invalid JSON (the message gives the
            line and column), a top level that is not an object, or invalid
            content.
    """
    decoded = _decode_text(text, source)
    try:
        data = json.loads(decoded, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except _DuplicateKeyError as exc:
        raise BadRequestError(f"{source}: duplicate key {exc.key!r} in a JSON object") from None
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise BadRequestError(f"{source}: invalid JSON: {detail}") from None
    if not isinstance(data, dict):
        raise BadRequestError(f"{source}: the top level must be a JSON object, got {_type_name(data)}")
    return parse_config(data, source=source, env=env)


def load_config_toml(
    text: str | bytes, *, source: str = "TOML config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Parse a TOML configuration document (the content of ``liter-llm.toml``).

    Uses :mod:`tomllib` (``tomli`` on Python 3.10); the fields are those of
    :func:`parse_config`.

    Raises:
        BadRequestError: invalid UTF-8, invalid TOML (the message gives the
            line and column), or invalid content.
    """
    decoded = _decode_text(text, source)
    try:
        data = tomllib.loads(decoded)
    except tomllib.TOMLDecodeError as exc:
        # The parser's message names the line and column, never the content.
        raise BadRequestError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise BadRequestError(f"{source}: invalid TOML: nested too deeply") from None
    return parse_config(data, source=source, env=env)


def find_config_file(start: Path | None = None) -> Path | None:
    """Find the configuration file to use.

    If ``LITER_LLM_CONFIG`` is set (and not empty) it names the file, which
    must exist.  Otherwise ``liter-llm.toml`` is looked for in ``start``
    (default: the working directory) and then in each parent directory up to
    the filesystem root.

    Returns:
        The file's path, or ``None`` when no file was found.

    Raises:
        BadRequestError: ``LITER_LLM_CONFIG`` names a file that does not exist.
    """
    named = os.environ.get(CONFIG_ENV_VAR)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise BadRequestError(f"{CONFIG_ENV_VAR} names {str(path)!r}, which is not an existing file")
        return path
    directory = Path.cwd() if start is None else Path(start)
    try:
        directory = directory.resolve()
    except OSError:
        directory = directory.absolute()
    if directory.is_file():
        directory = directory.parent
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / CONFIG_FILE_NAME
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # an unreadable directory on the way up
            continue
    return None


def load_config_file(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> ClientConfig | None:
    """Load the configuration from ``path``, or from the file :func:`find_config_file` finds.

    A ``.json`` file is read as JSON, anything else as TOML.

    Returns:
        The configuration, or ``None`` when ``path`` is not given and no file
        was found.

    Raises:
        BadRequestError: the file cannot be read, or its content is invalid;
            the message starts with the file's path.
    """
    if path is None:
        path = find_config_file()
        if path is None:
            return None
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BadRequestError(f"cannot read configuration file {str(path)!r}: {reason}") from None
    if path.suffix.lower() == ".json":
        return load_config_json(content, source=str(path), env=env)
    return load_config_toml(content, source=str(path), env=env)


def config_to_dict(config: ClientConfig) -> dict[str, Any]:
    """Return a JSON-ready dict of ``config`` (for ``liter-llm config check``).

    The API key is shown as ``"***"`` when set (``None`` otherwise), and the
    values of credential-bearing ``extra_headers`` are shown as ``"***"``, and
    so are the user name and password of a ``proxy`` URL.
    Apart from those, the result read back with :func:`parse_config` gives an
    equal configuration.
    """
    cache = config.cache
    budget = config.budget
    rate_limit = config.rate_limit
    return {
        "api_key": _REDACTED if config.api_key else None,
        "base_url": config.base_url,
        "model_hint": config.model_hint,
        "timeout_secs": config.timeout_secs,
        "connect_timeout_secs": config.connect_timeout_secs,
        "max_retries": config.max_retries,
        "max_retry_delay_secs": config.max_retry_delay_secs,
        "max_response_bytes": config.max_response_bytes,
        "extra_headers": _redact_headers(config.extra_headers),
        "cache": None
        if cache is None
        else {"max_entries": cache.max_entries, "ttl_seconds": cache.ttl_seconds, "backend": cache.backend},
        "budget": None
        if budget is None
        else {
            "global_limit": budget.global_limit,
            "model_limits": dict(budget.model_limits),
            "enforcement": budget.enforcement,
            "period": budget.period,
            "backend": budget.backend,
            "on_outage": budget.on_outage,
        },
        "rate_limit": None
        if rate_limit is None
        else {
            "rpm": rate_limit.rpm,
            "tpm": rate_limit.tpm,
            "window_seconds": rate_limit.window_seconds,
            "backend": rate_limit.backend,
            "on_outage": rate_limit.on_outage,
        },
        "redis": None
        if config.redis is None
        else {
            "url": redact_url(config.redis.url),
            "key_prefix": config.redis.key_prefix,
            "timeout_secs": config.redis.timeout_secs,
            "on_outage": config.redis.on_outage,
        },
        "fallbacks": list(config.fallbacks),
        "cooldown_secs": config.cooldown_secs,
        "cost_tracking": config.cost_tracking,
        "tracing": config.tracing,
        "providers": [
            {
                "name": provider.name,
                "base_url": provider.base_url,
                "auth_header": provider.auth_header.to_wire(),
                "model_prefixes": list(provider.model_prefixes),
            }
            for provider in config.providers
        ],
        "proxy": redact_url(config.proxy),
        "trust_env": config.trust_env,
        "plugins": {name: _redact_plugin_table(table) for name, table in config.plugins.items()},
        "models": models_to_dict(config.models),
    }


_SECRET_WORDS = ("key", "secret", "token", "password", "credential")


def _redact_plugin_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """A plugin table for display: values under secret-sounding names are ``"***"``, callables by name."""
    shown: dict[str, Any] = {}
    for name, value in table.items():
        if isinstance(value, Mapping):
            shown[name] = _redact_plugin_table(value)
        elif any(word in name.lower() for word in _SECRET_WORDS) and value is not None:
            shown[name] = _REDACTED
        elif callable(value) or not isinstance(value, (str, int, float, bool, list, type(None))):
            shown[name] = f"<{type(value).__name__}>"
        else:
            shown[name] = value
    return shown
