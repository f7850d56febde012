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
``$${`` stands for a literal ``${``.  Expansion happens before validation,
which is cattrs': a converter whose class functions are cattrs' generated ones
(unknown keys forbidden) with each field's check (its ``check`` metadata) as
the field's hook; the path in a message comes from cattrs' validation notes.
:func:`build_config` is the same path for ``create_client(**options)``.

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
from typing import Any, Literal, NoReturn, cast
from urllib.parse import urlsplit

import attrs

from liter_llm._secret import SecretStr, clean_header_value, clean_secret
from liter_llm.errors import AuthenticationError, BadRequestError, LiterLlmError
from liter_llm.router import ModelAlias, models_to_dict, parse_models
from liter_llm.types import AuthHeaderFormat, CustomProviderConfig

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


# ---------------------------------------------------------------------------
# Checks: each takes the (expanded) value and returns it converted, or raises _Invalid
# ---------------------------------------------------------------------------

_Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-/:@]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
#: the longest timeout accepted (one year): beyond it the operating system's timers overflow
MAX_TIMEOUT_SECS = 365 * 24 * 3600.0


class _Invalid(Exception):
    """A problem with a value; ``path`` is relative to the field the check was given."""

    def __init__(self, problem: str, path: _Path = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = path


class _Placed(Exception):
    """A problem whose message already starts with its whole field path (``models[0].targets[1]: ...``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Nested(Exception):
    """An error from structuring the item ``key`` of a container (a list index, a table key)."""

    def __init__(self, key: str | int, error: BaseException) -> None:
        super().__init__(key)
        self.key = key
        self.error = error


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, kind):
            return name
    if isinstance(value, Mapping):
        return "table/object"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected a table/object, got {_type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise _Invalid(f"keys must be strings, got a key of type {_type_name(key)}")
    return cast("Mapping[str, Any]", value)


def _string(value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_type_name(value)}")
    if not allow_empty and not value.strip():
        raise _Invalid("must not be empty")
    return value


def _stripped(value: Any) -> str:
    return _string(value).strip()


def _url(value: Any) -> str:
    text = _string(value).strip()
    try:
        parts = urlsplit(text)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise _Invalid("expected an http:// or https:// URL with a host")
    return text


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected a boolean, got {_type_name(value)}")
    return value


def _integer(value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"expected an integer, got {_type_name(value)}")
    if value < minimum:
        raise _Invalid(f"must be at least {minimum}, got {value}")
    return int(value)


def _positive_integer(value: Any) -> int:
    return _integer(value, minimum=1)


def _number(value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"expected a number, got {_type_name(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise _Invalid("must be a finite number")
    if positive and number <= 0:
        raise _Invalid(f"must be greater than 0, got {value}")
    if number < 0:
        raise _Invalid(f"must not be negative, got {value}")
    return number


def _positive_number(value: Any) -> float:
    return _number(value, positive=True)


def _timeout(value: Any) -> float:
    number = _number(value, positive=True)
    if number > MAX_TIMEOUT_SECS:
        raise _Invalid(f"must be at most {MAX_TIMEOUT_SECS:.0f} seconds (one year), got {value}")
    return number


def _choice(*allowed: str) -> Callable[[Any], str]:
    shown = ", ".join(f'"{a}"' for a in allowed[:-1]) + f' or "{allowed[-1]}"'

    def check(value: Any) -> str:
        if value not in allowed:
            got = f"got {_type_name(value)}" if not isinstance(value, str) else "got another value"
            raise _Invalid(f"must be {shown}, {got}")
        return str(value)

    return check


_on_outage = _choice("fail_closed", "fail_open")


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise _Invalid(f"expected a list of strings, got {_type_name(value)}")
    result: list[str] = []
    for index, item in enumerate(value):
        try:
            result.append(_string(item))
        except _Invalid as exc:
            raise _Invalid(exc.problem, (index, *exc.path)) from None
    return result


def _fallbacks(value: Any) -> list[str]:
    return [model.strip() for model in _string_list(value)]


def _models(value: Any) -> list[ModelAlias]:
    if isinstance(value, (list, tuple)) and all(isinstance(item, ModelAlias) for item in value):
        return list(value)
    try:
        return parse_models(value, "models")
    except BadRequestError as exc:  # the router names the field path itself
        raise _Placed(exc.message) from None


def _prefixes(value: Any) -> list[str]:
    prefixes = _string_list(value)
    if not prefixes:
        raise _Invalid("must list at least one model prefix")
    return prefixes


def _headers(value: Any) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, header_value in _mapping(value).items():
        if not _HEADER_NAME.fullmatch(name):
            raise _Invalid("not a valid HTTP header name", (name,))
        if not isinstance(header_value, str):
            raise _Invalid(f"expected a string, got {_type_name(header_value)}", (name,))
        try:  # surrounding whitespace (a trailing line end) is stripped
            result[name] = clean_header_value(name, header_value)
        except LiterLlmError:
            problem = "a header value must not contain a control character (CR, LF, NUL...) or a non-ASCII one"
            raise _Invalid(problem, (name,)) from None
    return result


def _model_limits(value: Any) -> dict[str, float]:
    limits: dict[str, float] = {}
    for model, limit in _mapping(value).items():
        if not model.strip():
            raise _Invalid("a model name must not be empty")
        try:
            limits[model] = _number(limit)
        except _Invalid as exc:
            raise _Invalid(exc.problem, (model,)) from None
    return limits


def _redis_url(value: Any) -> str:
    url = _stripped(value)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in _REDIS_SCHEMES:
        raise _Invalid("must be a redis://, rediss:// or unix:// URL")
    return url


def _auth_header(value: Any) -> AuthHeaderFormat:
    try:
        result = AuthHeaderFormat.parse(value)
    except LiterLlmError as exc:
        raise _Invalid(exc.message) from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise _Invalid(f"not a valid auth header format ({_type_name(value)})") from None
    if result.header is not None and not _HEADER_NAME.fullmatch(result.header):
        raise _Invalid("the API key header is not a valid HTTP header name")
    return result


def _api_key(value: Any) -> SecretStr | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value if value else None
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_type_name(value)}")
    cleaned = clean_secret(value, "api_key")  # a trailing line end is stripped; AuthenticationError otherwise
    return SecretStr(cleaned) if cleaned else None


def _proxy(value: Any) -> str:
    # the message never shows the value: a proxy URL may hold a password
    text = _stripped(value)
    try:
        parts = urlsplit(text)
        _ = parts.port  # a malformed port raises here
        valid = parts.scheme.lower() in _PROXY_SCHEMES and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise _Invalid(f"expected a proxy URL with a host ({', '.join(s + '://' for s in _PROXY_SCHEMES)})")
    return text


def _plugin_tables(value: Any) -> dict[str, dict[str, Any]]:
    """``[plugins.<name>]``: one table per plugin, handed to it as given (the plugin validates it)."""
    result: dict[str, dict[str, Any]] = {}
    for name, table in _mapping(value).items():
        if not name:
            raise _Invalid("a plugin name must not be empty")
        try:
            result[name] = dict(_mapping(table))
        except _Invalid as exc:
            raise _Invalid(exc.problem, (name,)) from None
    return result


def _providers(value: Any) -> list[CustomProviderConfig]:
    if not isinstance(value, (list, tuple)):
        raise _Invalid(f"expected a list of provider tables, got {_type_name(value)}")
    result: list[CustomProviderConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        try:
            provider = _converter().structure(item, CustomProviderConfig)
        except Exception as exc:
            raise _Nested(index, exc) from None
        if provider.name in seen:
            raise _Invalid(f"duplicate provider name {provider.name!r}", (index, "name"))
        seen.add(provider.name)
        result.append(provider)
    return result


def _check(check: Callable[[Any], Any], show: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Field metadata: the config converter structures the field with ``check``, shows it with ``show``."""
    return {"check": check, "show": show} if show else {"check": check}


# ---------------------------------------------------------------------------
# The configuration classes
# ---------------------------------------------------------------------------


@attrs.define(kw_only=True)
class CacheConfig:
    """Response cache settings (``cache`` table)."""

    max_entries: int = attrs.field(default=1000, metadata=_check(_integer))
    ttl_seconds: float = attrs.field(default=300.0, metadata=_check(_number))
    backend: str = attrs.field(default="memory", metadata=_check(_stripped))


@attrs.define(kw_only=True)
class BudgetConfig:
    """Spending limits in USD (``budget`` table)."""

    global_limit: float | None = attrs.field(default=None, metadata=_check(_optional(_number)))
    model_limits: dict[str, float] = attrs.field(factory=dict, metadata=_check(_model_limits))
    enforcement: Literal["hard", "soft"] = attrs.field(default="hard", metadata=_check(_choice("hard", "soft")))
    #: the window spending counts in: ``"lifetime"``, or ``"day"`` / ``"month"`` (calendar, UTC)
    period: Literal["lifetime", "day", "month"] = attrs.field(
        default="lifetime", metadata=_check(_choice("lifetime", "day", "month"))
    )
    #: where spending is kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: str = attrs.field(default="memory", metadata=_check(_stripped))
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: Literal["fail_closed", "fail_open"] | None = attrs.field(
        default=None, metadata=_check(_optional(_on_outage))
    )


@attrs.define(kw_only=True)
class RateLimitConfig:
    """Client-side rate limits per model (``rate_limit`` table)."""

    rpm: int | None = attrs.field(default=None, metadata=_check(_optional(_positive_integer)))
    tpm: int | None = attrs.field(default=None, metadata=_check(_optional(_positive_integer)))
    window_seconds: float = attrs.field(default=60.0, metadata=_check(_positive_number))
    #: where the windows are kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: str = attrs.field(default="memory", metadata=_check(_stripped))
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: Literal["fail_closed", "fail_open"] | None = attrs.field(
        default=None, metadata=_check(_optional(_on_outage))
    )


@attrs.define(kw_only=True)
class RedisConfig:
    """The Redis connection shared by the Redis backends (``redis`` table; needs ``liter-llm-redis``).

    ``url`` may carry a password: it is never shown (repr and ``config_to_dict`` redact it).
    """

    url: str = attrs.field(default="redis://127.0.0.1:6379/0", repr=False, metadata=_check(_redis_url, redact_url))
    key_prefix: str = attrs.field(default="liter-llm:", metadata=_check(lambda v: _string(v, allow_empty=True)))
    timeout_secs: float = attrs.field(default=0.5, metadata=_check(_positive_number))
    on_outage: Literal["fail_closed", "fail_open"] = attrs.field(default="fail_closed", metadata=_check(_on_outage))


#: A custom OpenAI-compatible provider declared in configuration (``providers`` list): the same type as
#: :class:`liter_llm.types.CustomProviderConfig`, which ``register_custom_provider`` takes.  In a
#: configuration ``name``, ``base_url`` (an http(s) URL) and at least one of ``model_prefixes`` are required.
ProviderConfig = CustomProviderConfig

#: The checks of a provider entry in configuration (the class itself lives in liter_llm.types).
_PROVIDER_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _stripped,
    "base_url": _url,
    "auth_header": _auth_header,
    "model_prefixes": _prefixes,
}
_PROVIDER_REQUIRED = ("name", "base_url", "model_prefixes")


@attrs.define(kw_only=True)
class ClientConfig:
    """Everything a client is configured with.

    ``timeout_secs`` bounds a whole call (all attempts and the whole stream
    body); ``connect_timeout_secs`` bounds each connection attempt.
    """

    api_key: SecretStr | None = attrs.field(
        default=None, repr=False, metadata=_check(_api_key, lambda key: _REDACTED if key else None)
    )
    base_url: str | None = attrs.field(default=None, metadata=_check(_optional(_url)))
    model_hint: str | None = attrs.field(default=None, metadata=_check(_optional(_stripped)))
    timeout_secs: float = attrs.field(default=60.0, metadata=_check(_timeout))
    connect_timeout_secs: float = attrs.field(default=10.0, metadata=_check(_timeout))
    max_retries: int = attrs.field(default=2, metadata=_check(_integer))
    max_retry_delay_secs: float = attrs.field(default=60.0, metadata=_check(_number))
    max_response_bytes: int = attrs.field(default=64 * 1024 * 1024, metadata=_check(_positive_integer))
    extra_headers: dict[str, str] = attrs.field(
        factory=dict, repr=_headers_repr, metadata=_check(_headers, _redact_headers)
    )
    cache: CacheConfig | None = None
    budget: BudgetConfig | None = None
    rate_limit: RateLimitConfig | None = None
    redis: RedisConfig | None = None
    fallbacks: list[str] = attrs.field(factory=list, metadata=_check(_fallbacks))
    cooldown_secs: float | None = attrs.field(default=None, metadata=_check(_optional(_number)))
    cost_tracking: bool = attrs.field(default=False, metadata=_check(_boolean))
    #: refuse a chat whose counted prompt (plus ``max_tokens``) exceeds the model's context window,
    #: before any I/O (:mod:`liter_llm.builtins.preflight`)
    preflight: bool = attrs.field(default=False, metadata=_check(_boolean))
    #: switch on the tracing integration (``liter-llm-otel``: spans and metrics of every call)
    tracing: bool = attrs.field(default=False, metadata=_check(_boolean))
    providers: list[CustomProviderConfig] = attrs.field(factory=list, metadata=_check(_providers))
    proxy: str | None = attrs.field(default=None, repr=_proxy_repr, metadata=_check(_optional(_proxy), redact_url))
    trust_env: bool = attrs.field(default=True, metadata=_check(_boolean))
    #: settings of installed plugins, one table per plugin (``[plugins.azure]``), read by that plugin
    plugins: dict[str, dict[str, Any]] = attrs.field(
        factory=dict,
        repr=False,
        metadata=_check(_plugin_tables, lambda t: {n: _redact_plugin_table(v) for n, v in t.items()}),
    )
    #: model aliases routed to several targets (``[[models]]``; see :mod:`liter_llm.router`)
    models: list[ModelAlias] = attrs.field(factory=list, metadata=_check(_models, models_to_dict))


_SECTIONS = (CacheConfig, BudgetConfig, RateLimitConfig, RedisConfig, CustomProviderConfig, ClientConfig)


# ---------------------------------------------------------------------------
# The cattrs converter: generated structure/unstructure functions with the checks above as hooks
# ---------------------------------------------------------------------------


def _known_fields(table: Mapping[str, Any], known: Iterable[str]) -> None:
    names = sorted(known)
    for key in table:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _Invalid(f"unknown field{hint}; known fields: {', '.join(names)}", (key,))


def _field_check(cls: type, field: attrs.Attribute[Any]) -> Callable[[Any], Any] | None:
    if cls is CustomProviderConfig:
        return _PROVIDER_CHECKS.get(field.name)
    check: Callable[[Any], Any] | None = field.metadata.get("check")
    return check


def _hook(check: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A check as a cattrs structure hook (which is also given the type)."""

    def hook(value: Any, _type: Any) -> Any:
        return check(value)

    return hook


def _structure_factory(converter: Any, cls: type) -> Callable[[Any, Any], Any]:
    """The structure hook of a configuration class: cattrs' generated function, strict, with our checks."""
    from cattrs.gen import make_dict_structure_fn, override

    fields = attrs.fields(cls)
    overrides: dict[str, Any] = {}
    for field in fields:
        check = _field_check(cls, field)
        if check is not None:
            overrides[field.name] = override(struct_hook=_hook(check))
    generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True, **overrides
    )
    names = [field.name for field in fields]
    required = _PROVIDER_REQUIRED if cls is CustomProviderConfig else ()

    def structure(value: Any, _type: Any) -> Any:
        if isinstance(value, cls):  # an object given to create_client is checked like a table
            value = {name: getattr(value, name) for name in names}
        table = _mapping(value)
        _known_fields(table, names)
        for name in required:
            if name not in table:
                raise _Invalid("missing required field", (name,))
        return generated(table, cls)

    return structure


def _unstructure_factory(converter: Any, cls: type) -> Callable[[Any], Any]:
    """``config_to_dict``: every field, secrets and credentials shown as ``***``."""
    from cattrs.gen import make_dict_unstructure_fn, override

    overrides: dict[str, Any] = {}
    for field in attrs.fields(cls):
        show = field.metadata.get("show")
        if show is not None:
            overrides[field.name] = override(unstruct_hook=show)
    return make_dict_unstructure_fn(cls, converter, **overrides)


_CONVERTER: Any = None


def _converter() -> Any:
    """The configuration's cattrs converter, built on first use (no cattrs import when config is not read)."""
    global _CONVERTER
    if _CONVERTER is None:
        import cattrs

        converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
        for tp, check in ((str, _string), (int, _integer), (float, _number), (bool, _boolean)):
            converter.register_structure_hook(tp, _hook(check))
        converter.register_structure_hook_factory(
            lambda tp: tp in _SECTIONS, lambda tp: _structure_factory(converter, tp)
        )
        converter.register_unstructure_hook_factory(
            lambda tp: tp in _SECTIONS, lambda tp: _unstructure_factory(converter, tp)
        )
        converter.register_unstructure_hook(AuthHeaderFormat, AuthHeaderFormat.to_wire)
        _CONVERTER = converter
    return _CONVERTER


def _first_error(exc: BaseException, path: _Path) -> tuple[_Path, str | LiterLlmError]:
    """The path and problem of the first failure in a cattrs validation error (an exception group)."""
    from cattrs.errors import AttributeValidationNote, BaseValidationError, IterableValidationNote

    while True:
        if isinstance(exc, _Nested):
            path, exc = (*path, exc.key), exc.error
        elif isinstance(exc, BaseValidationError):
            inner = exc.exceptions[0]
            for note in getattr(inner, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    path = (*path, note.name)
                    break
                if isinstance(note, IterableValidationNote):
                    path = (*path, note.index)
                    break
            exc = inner
        elif isinstance(exc, _Invalid):
            return (*path, *exc.path), exc.problem
        elif isinstance(exc, _Placed):
            return (), exc.message
        elif isinstance(exc, KeyError):
            return path, "missing required field"
        elif isinstance(exc, LiterLlmError):
            return path, exc
        else:
            return path, f"invalid value ({type(exc).__name__})"


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

    def structure(self, table: Mapping[str, Any]) -> ClientConfig:
        try:
            config: ClientConfig = _converter().structure(table, ClientConfig)
            return config
        except RecursionError:
            raise BadRequestError(f"{self.source}: the configuration is nested too deeply") from None
        except Exception as exc:
            path, problem = _first_error(exc, ())
        if isinstance(problem, str):
            self.fail(path, problem)
        if isinstance(problem, AuthenticationError):
            raise AuthenticationError(self.scrub(f"{self.source}: {problem.message}")) from None
        raise BadRequestError(self.scrub(f"{self.source}: {_format_path(path)}: {problem.message}")) from None


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
    defaults to ``os.environ``), then cattrs structures it with the checks of
    each field: unknown fields at any depth, wrong types (a boolean is not a
    number; an integer is accepted where a number is expected), negative or
    zero values where they make no sense, an ``enforcement`` other than
    ``"hard"``/``"soft"`` and invalid provider entries are refused.

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
    try:  # the top level's keys before expansion: an unknown field is named before any variable
        _known_fields(_mapping(data), (field.name for field in attrs.fields(ClientConfig)))
    except _Invalid as exc:
        ctx.fail(exc.path, exc.problem)
    try:
        expanded = _expand(ctx, data, (), os.environ if env is None else env)
    except RecursionError:
        raise BadRequestError(f"{source}: the configuration is nested too deeply") from None
    key = expanded.get("api_key")
    if isinstance(key, str) and key:
        ctx.secret = key
    return ctx.structure(expanded)


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
    given = dict(fields)
    explicit = {"base_url": base_url, "timeout_secs": timeout_secs, "max_retries": max_retries}
    given.update({name: value for name, value in explicit.items() if value is not None})
    if model_hint is not None:
        given["model_hint"] = model_hint
    if api_key is not None and api_key != "":
        given["api_key"] = api_key
    base = config if config is not None else ClientConfig()
    if not given:
        return base
    parsed = parse_config(given, source="create_client")
    return attrs.evolve(base, **{name: getattr(parsed, name) for name in given})


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
    so are the user name and password of a ``proxy`` or Redis URL.
    Apart from those, the result read back with :func:`parse_config` gives an
    equal configuration.
    """
    shown: dict[str, Any] = _converter().unstructure(config, ClientConfig)
    return shown


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
