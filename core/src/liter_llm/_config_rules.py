"""The rules of the configuration's field types, its cattrs converter, and the one place its errors become messages.

:mod:`liter_llm.config` declares what is valid in its classes' field types
(``Annotated[T, rule, ...]`` is ``T`` checked by each rule in turn;
``Literal[...]`` one of its values); the types and rules are defined here.
:func:`make_converter` builds the one cattrs converter that structures a
configuration with them, strictly (unknown fields, a boolean for a number,
``"3"`` for an integer are refused), and :func:`located` turns the first
failure in cattrs' exception group into a field path (``budget.model_limits.gpt-4o``,
``providers[1].base_url``) and a problem.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, cast, get_args, get_origin
from urllib.parse import urlsplit

import attrs

from liter_llm._attrs_code import field_types
from liter_llm._secret import REDACTED, SecretStr, clean_header_value, clean_secret
from liter_llm.errors import AuthenticationError, LiterLlmError
from liter_llm.types import AuthHeaderFormat

if TYPE_CHECKING:
    from liter_llm.router import ModelAlias
    from liter_llm.types import CustomProviderConfig

#: the longest timeout accepted (one year): beyond it the operating system's timers overflow
MAX_TIMEOUT_SECS = 365 * 24 * 3600.0

#: patterns of paths a chat does not take are compiled on first use (by ``re``'s own cache), not at import
_HEADER_NAME = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PLAIN_KEY = r"[A-Za-z0-9_\-/:@]+"
FieldPath = tuple[str | int, ...]


class Invalid(ValueError):
    """A problem with a value; ``path`` is relative to the value checked."""

    def __init__(self, problem: str, path: FieldPath = ()) -> None:
        super().__init__(problem)
        self.problem, self.path = problem, path


class BadKey(Invalid):
    """A key that cannot be sent in a header: the client's ``api_key`` makes it an ``AuthenticationError``."""


class _At(Exception):
    """``args``: the key of a list or table item, and the error from structuring it."""


def type_name(value: Any) -> str:
    kinds: tuple[tuple[Any, str], ...] = ((type(None), "null"), (bool, "boolean"), (int, "integer"))
    kinds += ((float, "number"), (str, "string"), (Mapping, "table/object"), ((list, tuple), "list"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _expect(kinds: type | tuple[type, ...], what: str, value: Any) -> Any:
    if isinstance(value, bool) != (kinds is bool) or not isinstance(value, kinds):
        raise Invalid(f"expected {what}, got {type_name(value)}")
    return value


def _number(value: Any, _type: Any = None) -> float:
    """The hook of ``float``: an int or float, never a boolean (the types below say it is finite)."""
    return float(_expect((int, float), "a number", value))


def as_mapping(value: Any) -> Mapping[str, Any]:
    for key in _expect(Mapping, "a table/object", value):
        if not isinstance(key, str):
            raise Invalid(f"keys must be strings, got a key of type {type_name(key)}")
    return cast("Mapping[str, Any]", value)


def rule(ok: Callable[[Any], bool], problem: str) -> Callable[[Any], Any]:
    """A rule of an Annotated type: the value is kept when ``ok(value)``, else ``problem`` (``{value}`` in it)."""

    def check(value: Any) -> Any:
        if not ok(value):
            raise Invalid(problem.format(value=value))
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

    return rule(ok, problem)


_PROXY = "expected a proxy URL with a host (http://, https://, socks5://, socks5h://)"
_non_empty = rule(lambda v: bool(v.strip()), "must not be empty")
_finite = rule(math.isfinite, "must be a finite number")
_positive = rule(lambda v: v > 0, "must be greater than 0, got {value:g}")

# The field types: what each says is all that is checked.
Text = Annotated[str, _non_empty]
Name = Annotated[str, _non_empty, str.strip]
Url = Annotated[Name, _url(("http", "https"), "expected an http:// or https:// URL with a host")]
Count = Annotated[int, rule(lambda v: v >= 0, "must be at least 0, got {value}")]
PositiveCount = Annotated[int, rule(lambda v: v >= 1, "must be at least 1, got {value}")]
Amount = Annotated[float, _finite, rule(lambda v: v >= 0, "must not be negative, got {value:g}")]
Seconds = Annotated[float, _finite, _positive]
Timeout = Annotated[
    Seconds, rule(lambda v: v <= MAX_TIMEOUT_SECS, "must be at most 31536000 seconds (one year), got {value:g}")
]
Backend = Name  # "memory", or a registered backend ("redis")
OnOutage = Literal["fail_closed", "fail_open"]
RedisUrl = Annotated[
    Name, _url(("redis", "rediss", "unix"), "must be a redis://, rediss:// or unix:// URL", host=False)
]
#: the value never shown in a message: a proxy URL may hold a password
ProxyUrl = Annotated[
    Name,
    rule(lambda v: all(32 < ord(c) != 127 for c in v), _PROXY),
    _url(("http", "https", "socks5", "socks5h"), _PROXY, port=True),
]


def valid_headers(value: dict[str, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, header_value in value.items():
        if not re.fullmatch(_HEADER_NAME, name):
            raise Invalid("not a valid HTTP header name", (name,))
        try:  # surrounding whitespace (a trailing line end) is stripped
            result[name] = clean_header_value(name, header_value)
        except LiterLlmError:
            problem = "a header value must not contain a control character (CR, LF, NUL...) or a non-ASCII one"
            raise Invalid(problem, (name,)) from None
    return result


def _api_key(value: Any, _type: Any = None) -> SecretStr | None:
    if isinstance(value, SecretStr):
        return value if value else None
    try:
        cleaned = clean_secret(_expect(str, "a string", value), "key")
    except AuthenticationError as exc:  # the message names the position of the character, never the key
        raise BadKey(exc.message.removeprefix("key: ")) from None
    return SecretStr(cleaned) if cleaned else None


def _auth_header(value: Any, _type: Any = None) -> AuthHeaderFormat:
    try:
        result = AuthHeaderFormat.parse(value)
    except LiterLlmError as exc:
        raise Invalid(exc.message) from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise Invalid(f"not a valid auth header format ({type_name(value)})") from None
    if result.header is not None and not re.fullmatch(_HEADER_NAME, result.header):
        raise Invalid("the API key header is not a valid HTTP header name")
    return result


def unique_names(providers: list[CustomProviderConfig]) -> list[CustomProviderConfig]:
    for index, provider in enumerate(providers):
        if any(other.name == provider.name for other in providers[:index]):
            raise Invalid(f"duplicate provider name {provider.name!r}", (index, "name"))
    return providers


def valid_aliases(aliases: list[ModelAlias]) -> list[ModelAlias]:
    """``models``: each target's ``id`` (by default ``<alias>[<index>]``) unique in its alias, each alias
    name unique, and no target naming an alias (an alias cannot point to another alias)."""
    names = [alias.name for alias in aliases]
    for index, alias in enumerate(aliases):
        if alias.name in names[:index]:
            raise Invalid(f"duplicate model alias {alias.name!r}", (index, "name"))
        targets = tuple(attrs.evolve(t, id=t.id or f"{alias.name}[{i}]") for i, t in enumerate(alias.targets))
        for position, target in enumerate(targets):
            if target.id in [other.id for other in targets[:position]]:
                problem = f"duplicate target id {target.id!r} in alias {alias.name!r}"
                raise Invalid(problem, (index, "targets", position, "id"))
        aliases[index] = attrs.evolve(alias, targets=targets)
    for index, alias in enumerate(aliases):
        for position, target in enumerate(alias.targets):
            if target.model in names:
                problem = (
                    f"{target.model!r} is a model alias; a target names a model (an alias cannot point to an alias)"
                )
                raise Invalid(problem, (index, "targets", position, "model"))
    return aliases


#: The router's names (an alias, a target's model and id): no whitespace or control character inside.
RouteName = Annotated[
    Name,
    rule(
        lambda v: v.isprintable() and not any(c.isspace() for c in v),
        "must not contain whitespace or control characters",
    ),
]


def _choice(tp: Any) -> Callable[[Any], Any]:
    """``Literal[...]``: one of its values."""
    values = get_args(tp)
    allowed = [f'"{a}"' for a in values]
    shown = f"{allowed[0]} or {allowed[1]}" if len(allowed) == 2 else f"one of {', '.join(allowed)}"

    def structure(value: Any) -> Any:
        if value not in values:
            got = "another value" if isinstance(value, str) else type_name(value)
            raise Invalid(f"must be {shown}, got {got}")
        return value

    return structure


def _kind(tp: type, what: str) -> Callable[[Any], Any]:
    return lambda value: _expect(tp, what, value)


#: the hooks of the scalar types, the converter's and :func:`scalar_structure`'s
_SCALARS: dict[Any, Callable[[Any], Any]] = {
    str: _kind(str, "a string"),
    int: _kind(int, "an integer"),
    bool: _kind(bool, "a boolean"),
    float: _number,
    SecretStr: _api_key,
    AuthHeaderFormat: _auth_header,
}


def scalar_structure(tp: Any) -> Callable[[Any], Any] | None:
    """What the converter does with a value of the scalar field type ``tp``, without cattrs; ``None`` for others.

    Scalar: ``str``, ``int``, ``bool``, ``float``, the API key, the auth header format, a
    ``Literal``, an ``Annotated`` scalar (its rules after it) and an optional scalar (``None`` is
    ``None``).  The configuration of ``create_client(api_key=..., base_url=...)`` is only these, and
    structuring it this way spares a process's first client the import of cattrs and the building
    of the converter (issue #16).  core/tests/test_config_scalars.py compares both over generated
    values.
    """
    hook = _SCALARS.get(tp)
    if hook is not None:
        return hook
    origin = get_origin(tp)
    if origin is Literal:
        return _choice(tp)
    if origin is Annotated:
        base, *rules = get_args(tp)
        first = scalar_structure(base)
        if first is None:
            return None

        def annotated(value: Any) -> Any:
            value = first(value)
            for check in rules:
                value = check(value)
            return value

        return annotated
    args = get_args(tp)
    if _is_union(tp) and len(args) == 2 and type(None) in args:
        some = scalar_structure(next(a for a in args if a is not type(None)))
        if some is None:
            return None
        return lambda value: None if value is None else some(value)
    return None


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, UnionType)


def structure_scalars(cls: type, table: Mapping[str, Any]) -> Any:
    """``cls`` from ``table`` when every field it gives is scalar (:func:`scalar_structure`), else ``None``.

    The fields are checked in their declared order, as the converter does; a failure is raised as
    the converter's would be located (:func:`located`: the field's name, then the problem).
    """
    plan = _scalar_plans.get(cls)
    if plan is None:  # built whole, then published: another thread sees all of it or none
        plan = {}
        types = field_types(cls)
        for field in attrs.fields(cls):
            hook = scalar_structure(types[field.name])
            if hook is not None and field.init:
                plan[field.name] = (field.alias or field.name, hook)
        _scalar_plans[cls] = plan
    if any(key not in plan for key in table):
        return None
    given: dict[str, Any] = {}
    for name, (argument, hook) in plan.items():
        if name in table:
            try:
                given[argument] = hook(table[name])
            except Exception as exc:
                raise _At(name, exc) from None
    return cls(**given)


#: per class: field name -> (its ``__init__`` argument, its scalar hook), for the scalar fields
_scalar_plans: dict[type, dict[str, tuple[str, Callable[[Any], Any]]]] = {}


def make_converter(
    sections: tuple[type, ...], field_types: dict[type, dict[str, Any]], required: dict[type, tuple[str, ...]]
) -> Any:
    """The configuration's cattrs converter for the attrs classes ``sections``.

    ``field_types`` gives the fields of classes defined elsewhere (the router's, the custom provider's)
    the types a configuration checks them by, and ``required`` the fields a table must have.
    """
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
        return lambda v, _: {item(k, k, args[0]): item(k, x, args[1]) for k, x in as_mapping(v).items()}

    def annotated(tp: Any) -> Callable[[Any, Any], Any]:  # Annotated[T, rule, ...]: T's hook, then each rule
        base, *rules = get_args(tp)

        def structure(value: Any, _type: Any) -> Any:
            value = conv.structure(value, base)
            for check in rules:
                value = check(value)
            return value

        return structure

    def choice(tp: Any) -> Callable[[Any, Any], Any]:
        check = _choice(tp)
        return lambda value, _type: check(value)

    def section(cls: type) -> Callable[[Any, Any], Any]:  # cattrs' generated function, strict, with its notes
        types, needed = field_types.get(cls, {}), required.get(cls, ())
        # every field through ``via``: a field's hook is looked up when the field is given, so that
        # ``create_client(api_key=...)`` does not build the hooks of every section and list type
        declared = {field.name: field.type for field in attrs.fields(attrs.resolve_types(cls))}
        hooks: dict[str, Any] = {name: override(struct_hook=via(tp)) for name, tp in {**declared, **types}.items()}
        generated: Any = make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True, **hooks
        )

        def structure(value: Any, _type: Any) -> Any:
            if isinstance(value, cls):  # an object given to create_client is checked like a table
                value = attrs.asdict(cast(Any, value), recurse=False)
            for name in (name for name in needed if name not in as_mapping(value)):
                raise Invalid("missing required field", (name,))
            return generated(value, cls)

        return structure

    def shown(cls: type) -> Callable[[Any], Any]:  # config_to_dict: a field with "show" metadata is shown by it
        hooks: dict[str, Any] = {
            f.name: override(unstruct_hook=f.metadata["show"]) for f in attrs.fields(cls) if f.metadata
        }
        return make_dict_unstructure_fn(cls, conv, **hooks)

    for scalar, hook in _SCALARS.items():
        conv.register_structure_hook(scalar, lambda value, _type, hook=hook: hook(value))
    for predicate, factory in (
        (lambda tp: _origin(tp) is Annotated, annotated),
        (lambda tp: _origin(tp) is Literal, choice),
        (lambda tp: _origin(tp) in (list, dict), container),
        (lambda tp: tp in sections, section),
    ):
        conv.register_structure_hook_factory(predicate, factory)
    conv.register_unstructure_hook(AuthHeaderFormat, AuthHeaderFormat.to_wire)
    conv.register_unstructure_hook(SecretStr, lambda key: REDACTED)
    conv.register_unstructure_hook_factory(lambda tp: tp in sections, shown)
    return conv


def _origin(tp: Any) -> Any:
    return get_origin(tp)


def unknown_field(cls: type, key: str) -> Invalid:
    names = sorted(field.name for field in attrs.fields(cls))
    import difflib  # only for this error's suggestion

    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return Invalid(f"unknown field{hint}; known fields: {', '.join(names)}", (key,))


def located(exc: BaseException) -> tuple[FieldPath, str | BaseException]:
    """The field path and the problem of the first failure in a structuring error (cattrs' exception group)."""
    from cattrs.errors import AttributeValidationNote, BaseValidationError, ForbiddenExtraKeysError

    path: FieldPath = ()
    while True:
        if isinstance(exc, _At):
            path, exc = (*path, exc.args[0]), exc.args[1]
        elif isinstance(exc, BaseValidationError):
            exc = exc.exceptions[0]
            names = [n.name for n in getattr(exc, "__notes__", ()) if isinstance(n, AttributeValidationNote)]
            path = (*path, *names[:1])
        elif isinstance(exc, ForbiddenExtraKeysError):
            exc = unknown_field(exc.cl, sorted(exc.extra_fields)[0])
        elif isinstance(exc, Invalid):
            return (*path, *exc.path), exc
        elif isinstance(exc, KeyError):  # cattrs: a required field is missing
            return path, "missing required field"
        else:
            return path, f"invalid value ({type(exc).__name__})"


def format_path(path: FieldPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += (
                (f".{part}" if out else part)
                if re.fullmatch(_PLAIN_KEY, part)
                else f"[{json.dumps(part, ensure_ascii=False)}]"
            )
    return out
