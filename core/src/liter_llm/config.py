"""Client configuration: the fields of ``create_client(**options)``, ``create_client_from_json`` and ``liter-llm.toml``.

The attrs classes below say what is valid in their field types: ``Timeout`` is a number greater than 0
and at most a year, ``Name`` a non-empty string (stripped), ``Literal[...]`` one of its values, and so
on (each ``Annotated[T, rule, ...]`` is ``T`` checked by its rules in turn).  One cattrs converter
structures every source with them, strictly (unknown fields, a boolean for a number, ``"3"`` for an
integer are refused), and every failure becomes one
:class:`~liter_llm.errors.BadRequestError` ``source: path: problem`` (``budget.model_limits.gpt-4o``,
``providers[1].base_url``), the path taken from cattrs' validation notes.

Every string may refer to the environment as ``${VAR}`` or ``${VAR:-default}`` (the default when
``VAR`` is unset or empty; ``$${`` is a literal ``${``), expanded before validation.
:func:`find_config_file` looks for the file named by ``LITER_LLM_CONFIG``, else for
``liter-llm.toml`` in the working directory and its parents.  The API key is a
:class:`~liter_llm._secret.SecretStr`: never in a repr, an error message or :func:`config_to_dict`
(``"***"``), and neither are credential-bearing ``extra_headers`` or the password of a proxy or Redis URL.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, cast, get_args, get_origin
from urllib.parse import urlsplit

import attrs

from liter_llm._secret import SecretStr, clean_header_value, clean_secret
from liter_llm.errors import AuthenticationError, BadRequestError, LiterLlmError
from liter_llm.router import STRATEGIES, ModelAlias, RouteTarget, models_to_dict
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
#: the longest timeout accepted (one year): beyond it the operating system's timers overflow
MAX_TIMEOUT_SECS = 365 * 24 * 3600.0

_REDACTED = "***"
#: Header names (lower case) whose values are credentials and never shown.
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie", "set-cookie"}
    | {"ocp-apim-subscription-key"}
)
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-/:@]+")
_Path = tuple[str | int, ...]


def _redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    def sensitive(name: str) -> bool:
        lowered = name.lower()
        return lowered in _SENSITIVE_HEADERS or any(w in lowered for w in ("token", "secret", "api-key", "apikey"))

    return {name: (_REDACTED if sensitive(name) else value) for name, value in headers.items()}


def redact_url(url: str | None) -> str | None:
    """``url`` with any user name and password replaced by ``***`` (a proxy URL may carry credentials)."""
    try:
        parts = urlsplit(url or "")
        if url is None or (parts.username is None and parts.password is None):
            return url
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        return parts._replace(netloc=f"{_REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")).geturl()
    except ValueError:
        return _REDACTED


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


# ---------------------------------------------------------------------------
# The rules: the hooks of the plain types, and what Annotated types add to them
# ---------------------------------------------------------------------------


class _Invalid(ValueError):
    """A problem with a value; ``path`` is relative to the value checked."""

    def __init__(self, problem: str, path: _Path = ()) -> None:
        super().__init__(problem)
        self.problem, self.path = problem, path


class _BadKey(_Invalid):
    """A key that cannot be sent in a header: the client's ``api_key`` makes it an ``AuthenticationError``."""


class _At(Exception):
    """``args``: the key of a list or table item, and the error from structuring it."""


def _type_name(value: Any) -> str:
    kinds: tuple[tuple[Any, str], ...] = ((type(None), "null"), (bool, "boolean"), (int, "integer"))
    kinds += ((float, "number"), (str, "string"), (Mapping, "table/object"), ((list, tuple), "list"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _expect(kinds: type | tuple[type, ...], what: str, value: Any) -> Any:
    if isinstance(value, bool) != (kinds is bool) or not isinstance(value, kinds):
        raise _Invalid(f"expected {what}, got {_type_name(value)}")
    return value


def _number(value: Any, _type: Any = None) -> float:
    """The hook of ``float``: an int or float, never a boolean (the types below say it is finite)."""
    return float(_expect((int, float), "a number", value))


def _mapping(value: Any) -> Mapping[str, Any]:
    for key in _expect(Mapping, "a table/object", value):
        if not isinstance(key, str):
            raise _Invalid(f"keys must be strings, got a key of type {_type_name(key)}")
    return cast("Mapping[str, Any]", value)


def _rule(ok: Callable[[Any], bool], problem: str) -> Callable[[Any], Any]:
    """A rule of an Annotated type: the value is kept when ``ok(value)``, else ``problem`` (``{value}`` in it)."""

    def check(value: Any) -> Any:
        if not ok(value):
            raise _Invalid(problem.format(value=value))
        return value

    return check


def _url(schemes: tuple[str, ...], problem: str, *, host: bool = True, port: bool = False) -> Callable[[Any], Any]:
    def ok(text: str) -> bool:
        try:
            parts = urlsplit(text)
            _ = port and parts.port  # a malformed port raises here
            return parts.scheme.lower() in schemes and (bool(parts.hostname) or not host)
        except ValueError:
            return False

    return _rule(ok, problem)


_PROXY = "expected a proxy URL with a host (http://, https://, socks5://, socks5h://)"
_non_empty = _rule(lambda v: bool(v.strip()), "must not be empty")
_finite = _rule(math.isfinite, "must be a finite number")
_positive = _rule(lambda v: v > 0, "must be greater than 0, got {value:g}")

# The field types: what each says is all that is checked.
Text = Annotated[str, _non_empty]
Name = Annotated[str, _non_empty, str.strip]
Url = Annotated[Name, _url(("http", "https"), "expected an http:// or https:// URL with a host")]
Count = Annotated[int, _rule(lambda v: v >= 0, "must be at least 0, got {value}")]
PositiveCount = Annotated[int, _rule(lambda v: v >= 1, "must be at least 1, got {value}")]
Amount = Annotated[float, _finite, _rule(lambda v: v >= 0, "must not be negative, got {value:g}")]
Seconds = Annotated[float, _finite, _positive]
Timeout = Annotated[
    Seconds, _rule(lambda v: v <= MAX_TIMEOUT_SECS, "must be at most 31536000 seconds (one year), got {value:g}")
]
Backend = Name  # "memory", or a registered backend ("redis")
OnOutage = Literal["fail_closed", "fail_open"]
RedisUrl = Annotated[
    Name, _url(("redis", "rediss", "unix"), "must be a redis://, rediss:// or unix:// URL", host=False)
]
#: the value never shown in a message: a proxy URL may hold a password
ProxyUrl = Annotated[
    Name,
    _rule(lambda v: all(32 < ord(c) != 127 for c in v), _PROXY),
    _url(("http", "https", "socks5", "socks5h"), _PROXY, port=True),
]


def _headers(value: dict[str, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, header_value in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise _Invalid("not a valid HTTP header name", (name,))
        try:  # surrounding whitespace (a trailing line end) is stripped
            result[name] = clean_header_value(name, header_value)
        except LiterLlmError:
            problem = "a header value must not contain a control character (CR, LF, NUL...) or a non-ASCII one"
            raise _Invalid(problem, (name,)) from None
    return result


def _api_key(value: Any, _type: Any = None) -> SecretStr | None:
    if isinstance(value, SecretStr):
        return value if value else None
    try:
        cleaned = clean_secret(_expect(str, "a string", value), "key")
    except AuthenticationError as exc:  # the message names the position of the character, never the key
        raise _BadKey(exc.message.removeprefix("key: ")) from None
    return SecretStr(cleaned) if cleaned else None


def _auth_header(value: Any, _type: Any = None) -> AuthHeaderFormat:
    try:
        result = AuthHeaderFormat.parse(value)
    except LiterLlmError as exc:
        raise _Invalid(exc.message) from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise _Invalid(f"not a valid auth header format ({_type_name(value)})") from None
    if result.header is not None and not _HEADER_NAME.fullmatch(result.header):
        raise _Invalid("the API key header is not a valid HTTP header name")
    return result


def _unique_names(providers: list[CustomProviderConfig]) -> list[CustomProviderConfig]:
    for index, provider in enumerate(providers):
        if any(other.name == provider.name for other in providers[:index]):
            raise _Invalid(f"duplicate provider name {provider.name!r}", (index, "name"))
    return providers


def _aliases(aliases: list[ModelAlias]) -> list[ModelAlias]:
    """``models``: each target's ``id`` (by default ``<alias>[<index>]``) unique in its alias, each alias
    name unique, and no target naming an alias (an alias cannot point to another alias)."""
    names = [alias.name for alias in aliases]
    for index, alias in enumerate(aliases):
        if alias.name in names[:index]:
            raise _Invalid(f"duplicate model alias {alias.name!r}", (index, "name"))
        targets = tuple(attrs.evolve(t, id=t.id or f"{alias.name}[{i}]") for i, t in enumerate(alias.targets))
        for position, target in enumerate(targets):
            if target.id in [other.id for other in targets[:position]]:
                problem = f"duplicate target id {target.id!r} in alias {alias.name!r}"
                raise _Invalid(problem, (index, "targets", position, "id"))
        aliases[index] = attrs.evolve(alias, targets=targets)
    for index, alias in enumerate(aliases):
        for position, target in enumerate(alias.targets):
            if target.model in names:
                problem = (
                    f"{target.model!r} is a model alias; a target names a model (an alias cannot point to an alias)"
                )
                raise _Invalid(problem, (index, "targets", position, "model"))
    return aliases


@attrs.define(kw_only=True)
class CacheConfig:
    """Response cache settings (``cache`` table)."""

    max_entries: Count = 1000
    ttl_seconds: Amount = 300.0
    backend: Backend = "memory"


@attrs.define(kw_only=True)
class BudgetConfig:
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


@attrs.define(kw_only=True)
class RateLimitConfig:
    """Client-side rate limits per model (``rate_limit`` table)."""

    rpm: PositiveCount | None = None
    tpm: PositiveCount | None = None
    window_seconds: Seconds = 60.0
    #: where the windows are kept: ``"memory"`` (this process) or a registered backend (``"redis"``)
    backend: Backend = "memory"
    #: what a shared backend's outage does to calls; ``None``: the ``[redis]`` block's ``on_outage``
    on_outage: OnOutage | None = None


@attrs.define(kw_only=True)
class RedisConfig:
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
#: The router's names (an alias, a target's model and id): no whitespace or control character inside.
RouteName = Annotated[
    Name,
    _rule(
        lambda v: v.isprintable() and not any(c.isspace() for c in v),
        "must not contain whitespace or control characters",
    ),
]
#: The types a configuration gives the fields of classes that live elsewhere, and the fields it requires.
_FIELD_TYPES: dict[type, dict[str, Any]] = {
    CustomProviderConfig: {
        "name": Name,
        "base_url": Url,
        "model_prefixes": Annotated[list[Text], _rule(bool, "must list at least one model prefix")],
        "structured_output": Text | None,
    },
    ModelAlias: {
        "name": RouteName,
        "strategy": Literal[STRATEGIES],
        "targets": Annotated[list[RouteTarget], _rule(bool, "must list at least one target"), tuple],
    },
    RouteTarget: {
        "model": RouteName,
        "weight": Annotated[
            float, _rule(lambda v: math.isfinite(v) and v > 0, "must be a finite number greater than 0, got {value:g}")
        ],
        "base_url": Annotated[Url, lambda url: url.rstrip("/")] | None,
        "id": RouteName | None,
    },
}
_REQUIRED = {CustomProviderConfig: ("name", "base_url", "model_prefixes"), ModelAlias: ("name", "targets")}


@attrs.define(kw_only=True)
class ClientConfig:
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
    extra_headers: Annotated[dict[str, str], _headers] = attrs.field(
        factory=dict, repr=lambda h: repr(_redact_headers(h)), metadata={"show": _redact_headers}
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
    providers: Annotated[list[CustomProviderConfig], _unique_names] = attrs.field(factory=list)
    proxy: ProxyUrl | None = attrs.field(
        default=None, repr=lambda url: repr(redact_url(url)), metadata={"show": redact_url}
    )
    trust_env: bool = True
    #: settings of installed plugins, one table per plugin (``[plugins.azure]``), read by that plugin
    plugins: dict[Text, dict[str, Any]] = attrs.field(
        factory=dict, repr=False, metadata={"show": lambda t: {n: _redact_plugin_table(v) for n, v in t.items()}}
    )
    #: model aliases routed to several targets (``[[models]]``; see :mod:`liter_llm.router`)
    models: Annotated[list[ModelAlias], _aliases] = attrs.field(factory=list, metadata={"show": models_to_dict})


_SECTIONS = (CacheConfig, BudgetConfig, RateLimitConfig, RedisConfig, ClientConfig, *_FIELD_TYPES)

# ---------------------------------------------------------------------------
# The converter, and the one place its errors become messages
# ---------------------------------------------------------------------------

_CONVERTER: Any = None


def _converter() -> Any:
    """The configuration's cattrs converter, built on first use (no cattrs import when config is not read)."""
    global _CONVERTER
    if _CONVERTER is not None:
        return _CONVERTER
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    conv: Any = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def item(key: str | int, value: Any, tp: Any) -> Any:
        try:
            return conv.structure(value, tp)
        except Exception as exc:
            raise _At(key, exc) from None

    def via(tp: Any) -> Callable[[Any, Any], Any]:  # a field structured as ``tp`` (not its declared type)
        return lambda value, _type: conv.structure(value, tp)

    def container(tp: Any) -> Callable[[Any, Any], Any]:  # the shape first (a string is not a list of letters)
        args = get_args(tp) or (Any, Any)
        if get_origin(tp) is list:
            return lambda v, _: [item(i, x, args[0]) for i, x in enumerate(_expect((list, tuple), "a list", v))]
        return lambda v, _: {item(k, k, args[0]): item(k, x, args[1]) for k, x in _mapping(v).items()}

    def annotated(tp: Any) -> Callable[[Any, Any], Any]:  # Annotated[T, rule, ...]: T's hook, then each rule
        base, *rules = get_args(tp)

        def structure(value: Any, _type: Any) -> Any:
            value = conv.structure(value, base)
            for rule in rules:
                value = rule(value)
            return value

        return structure

    def choice(tp: Any) -> Callable[[Any, Any], Any]:
        allowed = [f'"{a}"' for a in get_args(tp)]
        shown = f"{allowed[0]} or {allowed[1]}" if len(allowed) == 2 else f"one of {', '.join(allowed)}"

        def structure(value: Any, _type: Any) -> Any:
            if value not in get_args(tp):
                got = "another value" if isinstance(value, str) else _type_name(value)
                raise _Invalid(f"must be {shown}, got {got}")
            return value

        return structure

    def section(cls: type) -> Callable[[Any, Any], Any]:  # cattrs' generated function, strict, with its notes
        types, required = _FIELD_TYPES.get(cls, {}), _REQUIRED.get(cls, ())
        hooks: dict[str, Any] = {name: override(struct_hook=via(tp)) for name, tp in types.items()}
        generated: Any = make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True, **hooks
        )

        def structure(value: Any, _type: Any) -> Any:
            if isinstance(value, cls):  # an object given to create_client is checked like a table
                value = attrs.asdict(cast(Any, value), recurse=False)
            for name in (name for name in required if name not in _mapping(value)):
                raise _Invalid("missing required field", (name,))
            return generated(value, cls)

        return structure

    def shown(cls: type) -> Callable[[Any], Any]:  # config_to_dict: a field with "show" metadata is shown by it
        hooks: dict[str, Any] = {
            f.name: override(unstruct_hook=f.metadata["show"]) for f in attrs.fields(cls) if f.metadata
        }
        return make_dict_unstructure_fn(cls, conv, **hooks)

    for tp, what in ((str, "a string"), (int, "an integer"), (bool, "a boolean")):
        conv.register_structure_hook(tp, lambda v, t, what=what: _expect(t, what, v))
    for special, hook in ((float, _number), (SecretStr, _api_key), (AuthHeaderFormat, _auth_header)):
        conv.register_structure_hook(special, hook)
    for predicate, factory in (
        (lambda tp: _origin(tp) is Annotated, annotated),
        (lambda tp: _origin(tp) is Literal, choice),
        (lambda tp: _origin(tp) in (list, dict), container),
        (lambda tp: tp in _SECTIONS, section),
    ):
        conv.register_structure_hook_factory(predicate, factory)
    conv.register_unstructure_hook(AuthHeaderFormat, AuthHeaderFormat.to_wire)
    conv.register_unstructure_hook(SecretStr, lambda key: _REDACTED)
    conv.register_unstructure_hook_factory(lambda tp: tp in _SECTIONS, shown)
    _CONVERTER = conv
    return conv


def _origin(tp: Any) -> Any:
    return get_origin(tp)


def _unknown(cls: type, key: str) -> _Invalid:
    names = sorted(field.name for field in attrs.fields(cls))
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _Invalid(f"unknown field{hint}; known fields: {', '.join(names)}", (key,))


def _located(exc: BaseException) -> tuple[_Path, str | BaseException]:
    """The field path and the problem of the first failure in a structuring error (cattrs' exception group)."""
    from cattrs.errors import AttributeValidationNote, BaseValidationError, ForbiddenExtraKeysError

    path: _Path = ()
    while True:
        if isinstance(exc, _At):
            path, exc = (*path, exc.args[0]), exc.args[1]
        elif isinstance(exc, BaseValidationError):
            exc = exc.exceptions[0]
            names = [n.name for n in getattr(exc, "__notes__", ()) if isinstance(n, AttributeValidationNote)]
            path = (*path, *names[:1])
        elif isinstance(exc, ForbiddenExtraKeysError):
            exc = _unknown(exc.cl, sorted(exc.extra_fields)[0])
        elif isinstance(exc, _Invalid):
            return (*path, *exc.path), exc
        elif isinstance(exc, KeyError):  # cattrs: a required field is missing
            return path, "missing required field"
        else:
            return path, f"invalid value ({type(exc).__name__})"


def _format_path(path: _Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += (
                (f".{part}" if out else part)
                if _PLAIN_KEY.fullmatch(part)
                else f"[{json.dumps(part, ensure_ascii=False)}]"
            )
    return out


# ---------------------------------------------------------------------------
# Environment expansion
# ---------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)(\})?")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand(value: Any, path: _Path, env: Mapping[str, str]) -> Any:
    """``value`` with every ``${VAR}`` in its strings replaced; an :class:`_Invalid` names the field."""
    if isinstance(value, Mapping):
        return {key: _expand(item, (*path, str(key)), env) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_expand(item, (*path, index), env) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, sep, default = (match.group(1) or "").partition(":-")
        if match.group(0) == "$${":
            return "${"
        if match.group(2) is None:
            raise _Invalid("unterminated '${' (write '$${' for a literal '${')", path)
        if not _VAR_NAME.fullmatch(name):
            raise _Invalid("invalid environment variable reference: expected ${NAME} or ${NAME:-default}", path)
        found = env.get(name)
        if found is not None and not (sep and found == ""):
            return found
        if not sep:
            raise _Invalid(f"environment variable {name} is not set (use ${{{name}:-default}} to give a default)", path)
        return default

    return _REFERENCE.sub(substitute, value)


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
        table = _mapping(data)
        for key in table:  # the top level before expansion: an unknown field is named before any variable
            if key not in attrs.fields_dict(ClientConfig):
                raise _unknown(ClientConfig, key)
        expanded = _expand(table, (), os.environ if env is None else env)
        secrets.append(expanded.get("api_key"))
        config: ClientConfig = _converter().structure(expanded, ClientConfig)
        return config
    except RecursionError:
        raise BadRequestError(f"{source}: the configuration is nested too deeply") from None
    except Exception as exc:
        path, problem = _located(exc)
        where = f"{_format_path(path)}: " if path else ""
        text = f"{source}: {where}{problem.problem if isinstance(problem, _Invalid) else problem}"
        unusable_key = isinstance(problem, _BadKey) and path == ("api_key",)  # the client's own key
        for given in secrets:
            secret = given.get_secret_value() if isinstance(given, SecretStr) else given
            if isinstance(secret, str) and len(secret) >= 4 and "${" not in secret:
                text = text.replace(secret, _REDACTED)
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


def _load(text: str | bytes, source: str, env: Mapping[str, str] | None, decode: Callable[[str], Any]) -> ClientConfig:
    """Decode a document (UTF-8, a BOM allowed) with ``decode`` and parse it; ``decode`` raises ``_Invalid``."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise BadRequestError(f"{source}: expected text or bytes, got {_type_name(text)}")
    try:
        decoded = text.removeprefix("\ufeff") if isinstance(text, str) else bytes(text).decode("utf-8-sig")
        data = decode(decoded)
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"{source}: not valid UTF-8 (at byte {exc.start})") from None
    except _Invalid as exc:
        raise BadRequestError(f"{source}: {exc.problem}") from None
    return parse_config(data, source=source, env=env)


def _json(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for key, value in items:
            if key in table:
                raise _Invalid(f"duplicate key {key!r} in a JSON object")
            table[key] = value
        return table

    def constant(name: str) -> NoReturn:
        raise _Invalid(f"invalid JSON: {name} is not allowed")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise _Invalid("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # a big integer's digit limit, say
        raise exc if isinstance(exc, _Invalid) else _Invalid(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _Invalid(f"the top level must be a JSON object, got {_type_name(data)}")
    return data


def _toml(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # the parser's message names the line and column, never the content
        raise _Invalid(f"invalid TOML: {exc}") from None
    except RecursionError:
        raise _Invalid("invalid TOML: nested too deeply") from None


def load_config_json(
    text: str | bytes, *, source: str = "JSON config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Parse a JSON configuration document (the argument of ``create_client_from_json``).

    One JSON object with the fields of :func:`parse_config`; ``NaN``/``Infinity`` and duplicate keys are refused.

    Raises:
        BadRequestError: invalid UTF-8, invalid JSON (with the line and column), a top level that is
            not an object, or invalid content.
    """
    return _load(text, source, env, _json)


def load_config_toml(
    text: str | bytes, *, source: str = "TOML config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Parse a TOML configuration document (the content of ``liter-llm.toml``; :mod:`tomllib`, ``tomli`` on 3.10).

    Raises:
        BadRequestError: invalid UTF-8, invalid TOML (with the line and column), or invalid content.
    """
    return _load(text, source, env, _toml)


def find_config_file(start: Path | None = None) -> Path | None:
    """The configuration file to use, or ``None`` when there is none.

    ``LITER_LLM_CONFIG``, when set and not empty, names the file, which must exist; otherwise
    ``liter-llm.toml`` is looked for in ``start`` (default: the working directory) and each parent.

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
    for candidate_dir in (directory.parent if directory.is_file() else directory, *directory.parents):
        try:
            if (candidate_dir / CONFIG_FILE_NAME).is_file():
                return candidate_dir / CONFIG_FILE_NAME
        except OSError:  # an unreadable directory on the way up
            continue
    return None


def load_config_file(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> ClientConfig | None:
    """Load ``path`` (JSON for a ``.json`` file, else TOML), or the file :func:`find_config_file` finds.

    Returns ``None`` when ``path`` is not given and no file was found.

    Raises:
        BadRequestError: the file cannot be read, or its content is invalid (the message starts with its path).
    """
    if path is None and (path := find_config_file()) is None:
        return None
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BadRequestError(
            f"cannot read configuration file {str(path)!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    return _load(content, str(path), env, _json if path.suffix.lower() == ".json" else _toml)


def config_to_dict(config: ClientConfig) -> dict[str, Any]:
    """A JSON-ready dict of ``config`` (for ``liter-llm config check``).

    The API key, the values of credential-bearing ``extra_headers``, secret-sounding plugin settings
    and the user name and password of a ``proxy`` or Redis URL are shown as ``"***"``; apart from
    those, the result read back with :func:`parse_config` gives an equal configuration.
    """
    shown: dict[str, Any] = _converter().unstructure(config, ClientConfig)
    return shown
