"""JSON <-> types: the one converter of liter-llm.

The conversion functions are built once per (type, mode) from the attrs
field definitions of :mod:`liter_llm.types` and cached.  Request-side classes
(strict mode) are structured field by field, the given fields only, with this
module's strict field hooks (cattrs' generated functions did it before issue
#16: importing cattrs and compiling them was a sixth of a process's first
call); response-side classes (lenient mode, the hot path of every response
and stream chunk) by straight-line parsers this module generates, which
measured faster than cattrs there (docs/performance.md).  The same functions are registered as the
hooks of one :class:`cattrs.Converter` (see :func:`get_converter`, built on
first use) for code that wants the cattrs API.

Public functions:

* :func:`to_wire` / :func:`unstructure`: JSON-ready dicts.  ``None`` fields
  are omitted (at any depth), enums become their values, class-level
  discriminators (``role``, ``type``) are emitted, wire renames are applied
  (``tool_type``/``call_type``/``choice_type`` -> ``"type"``, moderation
  categories -> ``"self-harm"``...), empty default containers (``tools``,
  ``logit_bias``, ``search_domain_filter``, ``tool_calls``...) are omitted,
  ``bytes`` become base64 text.  Free-form ``dict[str, Any]`` values are
  emitted as given (``None`` inside them is kept).
* :func:`structure_request`: strict.  Unknown fields, wrong types (a bool is
  not an int, a str is not a list), missing required fields and unknown
  ``role``/``type`` discriminators raise :class:`BadRequestError` whose
  message starts with the path: ``messages[2].content: expected ...``.
* :func:`structure_response`: lenient.  Unknown fields are ignored, missing
  or ``null`` required fields get zero values (``0``, ``""``, ``[]``),
  unknown enum values map to ``OTHER`` (or the enum's only/first member),
  numbers given as strings are converted.  A value of a wrong shape raises
  :class:`SerializationError` naming the path.
* :func:`request_body`: :func:`to_wire` with ``extra_body`` merged into the
  top level; on a key conflict ``extra_body`` wins (it is the caller's
  explicit escape hatch).

Nothing here raises anything but a :class:`LiterLlmError` subclass.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import types as _pytypes
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin

import attrs

from liter_llm._attrs_code import field_types
from liter_llm._code_cache import compile_cached
from liter_llm.errors import BadRequestError, LiterLlmError, SerializationError
from liter_llm.types import AuthHeaderFormat, _Model

__all__ = [
    "get_converter",
    "loads",
    "request_body",
    "structure",
    "structure_request",
    "structure_response",
    "to_wire",
    "unstructure",
]

Parser = Callable[[Any], Any]
Unparser = Callable[[Any], Any]

_MISSING: Any = object()
_NoneType = type(None)


class _Fail(Exception):
    """Internal: a structuring problem; the path is collected on the way up (innermost first)."""

    def __init__(self, problem: str, path: list[str | int] | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str | int] = path if path is not None else []


def _format_path(segments: list[str | int]) -> str:
    out = ""
    for seg in reversed(segments):
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out = f"{out}.{seg}" if out else seg
    return out


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
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _expected(what: str, value: Any) -> _Fail:
    return _Fail(f"expected {what}, got {_type_name(value)}")


# ---------------------------------------------------------------------------
# Primitive parsers
# ---------------------------------------------------------------------------


def _identity(value: Any) -> Any:
    return value


def _str_strict(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return value.value if isinstance(value, enum.Enum) else str.__str__(value)
    raise _expected("a string", value)


def _str_lenient(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return value.value if isinstance(value, enum.Enum) else str.__str__(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _expected("a string", value)


def _int_strict(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _expected("an integer", value)


def _int_lenient(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, int):  # bool, int subclasses
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except (ValueError, OverflowError):
            pass
    raise _expected("an integer", value)


def _float_strict(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _expected("a number", value)


def _float_lenient(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _expected("a number", value)


def _bool_strict(value: Any) -> bool:
    if value is True or value is False:
        return bool(value)
    raise _expected("a boolean", value)


def _bool_lenient(value: Any) -> bool:
    if value is True or value is False:
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _expected("a boolean", value)


def _bytes(value: Any) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _Fail("expected bytes or base64 text, got a string that is not valid base64") from None
    raise _expected("bytes or base64 text", value)


def _auth_header(value: Any) -> AuthHeaderFormat:
    try:
        return AuthHeaderFormat.parse(value)
    except LiterLlmError as exc:
        raise _Fail(exc.message) from None


_PRIMITIVES: dict[Any, tuple[Parser, Parser]] = {
    str: (_str_strict, _str_lenient),
    int: (_int_strict, _int_lenient),
    float: (_float_strict, _float_lenient),
    bool: (_bool_strict, _bool_lenient),
    bytes: (_bytes, _bytes),
    AuthHeaderFormat: (_auth_header, _auth_header),
}


def _enum_parser(tp: type[enum.Enum], strict: bool) -> Parser:
    by_value: dict[Any, enum.Enum] = dict(tp._value2member_map_)
    members = list(tp)
    fallback: enum.Enum | None = None
    if "OTHER" in tp.__members__:
        fallback = tp.__members__["OTHER"]
    elif not strict:
        fallback = members[0]
    choices = ", ".join(repr(m.value) for m in members)

    def parse(value: Any) -> Any:
        try:
            return by_value[value]
        except (KeyError, TypeError):
            pass
        if isinstance(value, str):
            lowered = value.strip().lower()
            if not strict and lowered in by_value:
                return by_value[lowered]
            if fallback is not None:
                return fallback
            raise _Fail(f"expected one of {choices}, got {value!r}")
        raise _Fail(f"expected one of {choices}, got {_type_name(value)}")

    return parse


# ---------------------------------------------------------------------------
# Compiling parsers for types
# ---------------------------------------------------------------------------

_PARSERS: dict[tuple[Any, bool], Parser] = {}


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is _pytypes.UnionType


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp) and tp is not AuthHeaderFormat


def get_parser(tp: Any, strict: bool) -> Parser:
    """The (cached) parser of ``tp`` in strict or lenient mode; it raises ``_Fail``."""
    key = (tp, strict)
    parser = _PARSERS.get(key)
    if parser is None:
        parser = _build_parser(tp, strict)
        _PARSERS[key] = parser
    return parser


def _build_parser(tp: Any, strict: bool) -> Parser:
    if tp is Any or tp is object:
        return _identity
    primitive = _PRIMITIVES.get(tp)
    if primitive is not None:
        return primitive[0] if strict else primitive[1]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_parser(tp, strict)
    if _is_model(tp):
        return _class_parser(tp, strict)
    origin = get_origin(tp)
    if origin is list:
        (elem_tp,) = get_args(tp) or (Any,)
        if elem_tp is float and not strict:
            return _float_vector_lenient
        return _list_parser(get_parser(elem_tp, strict))
    if origin is dict:
        args = get_args(tp) or (str, Any)
        return _dict_parser(get_parser(args[1], strict), strict)
    if _is_union(tp):
        return _union_parser(tp, strict)
    if origin is Literal:
        allowed = get_args(tp)

        def parse_literal(value: Any) -> Any:
            if value in allowed:
                return value
            raise _Fail(f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")

        return parse_literal
    raise TypeError(f"liter_llm._serde cannot structure {tp!r}")  # a bug in types.py, not user input


def _float_vector_lenient(value: Any) -> list[float]:
    """A list of floats; also base64 little-endian float32 (``encoding_format="base64"`` embeddings)."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _expected("an array of numbers or base64 float32 data", value) from None
        if len(raw) % 4:
            raise _Fail("base64 float32 data has a length that is not a multiple of 4")
        import array
        import sys

        vector = array.array("f")
        vector.frombytes(raw)
        if sys.byteorder != "little":  # pragma: no cover
            vector.byteswap()
        return vector.tolist()
    result: list[float] = _FLOAT_LIST_LENIENT(value)
    return result


def _list_parser(elem: Parser) -> Parser:
    copy_only = elem is _identity

    def parse(value: Any) -> list[Any]:
        if type(value) is not list:
            if isinstance(value, tuple):
                value = list(value)
            else:
                raise _expected("an array", value)
        if copy_only:
            return list(value)
        try:
            return [elem(item) for item in value]
        except _Fail:
            for index, item in enumerate(value):
                try:
                    elem(item)
                except _Fail as exc:
                    exc.path.append(index)
                    raise
            raise

    return parse


_FLOAT_LIST_LENIENT = _list_parser(_float_lenient)


def _dict_parser(value_parser: Parser, strict: bool) -> Parser:
    copy_only = value_parser is _identity

    def parse(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            if isinstance(value, Mapping):
                value = dict(value)
            else:
                raise _expected("an object", value)
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = raw_key
            if not isinstance(key, str):
                if strict:
                    raise _Fail(f"expected string keys, got {_type_name(key)} key {key!r}")
                key = str(key)
            if copy_only:
                out[key] = item
                continue
            try:
                out[key] = value_parser(item)
            except _Fail as exc:
                exc.path.append(key)
                raise
        return out

    return parse


def _tag_of(cls: type) -> tuple[str | None, str | None]:
    key: str | None = getattr(cls, "_tag_key", None)
    if key is None:
        return None, None
    return key, getattr(cls, key)


def _union_parser(tp: Any, strict: bool) -> Parser:
    members = list(get_args(tp))
    nullable = _NoneType in members
    members = [m for m in members if m is not _NoneType]
    if len(members) == 1:
        inner = get_parser(members[0], strict)
        if not nullable:
            return inner

        def parse_optional(value: Any) -> Any:
            if value is None:
                return None
            return inner(value)

        parse_optional._inner = inner  # type: ignore[attr-defined]
        return parse_optional

    str_parser: Parser | None = None
    list_parsers: list[Parser] = []
    dict_parser: Parser | None = None
    models: list[type] = []
    scalar_parsers: list[tuple[tuple[type, ...], Parser]] = []
    for member in members:
        origin = get_origin(member)
        if member is str or (isinstance(member, type) and issubclass(member, enum.Enum)):
            if str_parser is None:
                str_parser = get_parser(member, strict)
        elif origin is list:
            list_parsers.append(get_parser(member, strict))
        elif origin is dict:
            dict_parser = get_parser(member, strict)
        elif _is_model(member):
            models.append(member)
        elif member in (int, float, bool):
            scalar_parsers.append(((member,), get_parser(member, strict)))
        else:  # pragma: no cover - a bug in types.py
            raise TypeError(f"liter_llm._serde cannot structure union member {member!r}")

    tag_key: str | None = None
    #: a tagged member's parser is built the first time its tag comes in (a chat's messages are
    #: mostly of one or two roles): ``members`` by tag, ``by_tag`` the parsers built so far
    members_by_tag: dict[str, type] = {}
    by_tag: dict[str, Parser] = {}
    single_model: Parser | None = None
    if len(models) == 1:
        single_model = get_parser(models[0], strict)
    elif models:
        keys = {_tag_of(m)[0] for m in models}
        if len(keys) != 1 or None in keys:  # pragma: no cover - a bug in types.py
            raise TypeError(f"union {tp!r} of untagged classes")
        tag_key = keys.pop()
        for m in models:
            members_by_tag[str(_tag_of(m)[1])] = m
    model_types = tuple(models)
    tags_text = ", ".join(repr(t) for t in members_by_tag)
    kinds = []
    if str_parser is not None:
        kinds.append("a string")
    if list_parsers:
        kinds.append("an array")
    if models or dict_parser is not None:
        kinds.append("an object")
    kinds.extend(f"a {_type_name(t[0][0]())}" for t in scalar_parsers)
    expected_text = " or ".join(kinds)

    def parse(value: Any) -> Any:
        # a plain dict (the usual message or part) is none of the kinds tested before Mapping below
        if type(value) is not dict:
            if value is None:
                if nullable:
                    return None
                raise _expected(expected_text, value)
            if isinstance(value, model_types):
                return value
            if isinstance(value, str):
                if str_parser is not None:
                    return str_parser(value)
                raise _expected(expected_text, value)
            if isinstance(value, (list, tuple)):
                if not list_parsers:
                    raise _expected(expected_text, value)
                first: _Fail | None = None
                for list_parser in list_parsers:
                    try:
                        return list_parser(value)
                    except _Fail as exc:
                        if first is None:
                            first = exc
                assert first is not None
                raise first
            if not isinstance(value, Mapping):
                for kinds_, scalar in scalar_parsers:
                    if isinstance(value, kinds_):
                        return scalar(value)
                raise _expected(expected_text, value)
        if single_model is not None:
            return single_model(value)
        if tag_key is not None:
            tag = value.get(tag_key, _MISSING)
            if tag is _MISSING:
                raise _Fail(f"missing required field (one of {tags_text})", [tag_key])
            member_parser = by_tag.get(tag) if isinstance(tag, str) else None
            if member_parser is None:
                member = members_by_tag.get(tag) if isinstance(tag, str) else None
                if member is None:
                    raise _Fail(f"unknown {tag_key} {tag!r}; expected one of {tags_text}", [tag_key])
                member_parser = by_tag[tag] = get_parser(member, strict)
            return member_parser(value)
        if dict_parser is not None:
            return dict_parser(value)
        raise _expected(expected_text, value)

    return parse


def _zero_factory(tp: Any) -> Callable[[], Any] | None:
    """Lenient mode: what a missing or null required field of type ``tp`` becomes."""
    if tp is str:
        return str
    if tp is int:
        return int
    if tp is float:
        return float
    if tp is bool:
        return bool
    if tp is bytes:
        return bytes
    if tp is Any:
        return lambda: None
    origin = get_origin(tp)
    if origin is list:
        return list
    if origin is dict:
        return dict
    if _is_union(tp) and _NoneType in get_args(tp):
        return lambda: None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members = list(tp)
        fallback = tp.__members__.get("OTHER", members[0])
        return lambda: fallback
    if _is_model(tp):
        parser = get_parser(tp, False)
        return lambda: parser({})
    return None


def _class_parser(cls: type, strict: bool) -> Parser:
    types = field_types(cls)
    tag_key, tag_value = _tag_of(cls)
    # (init name, wire key, parser, nullable, required, null means default, zero factory)
    # strict mode (requests): a field's parser is built when the field first comes in (``_field_hook``):
    # a chat with only ``messages`` does not build the parsers of tools, response formats...
    specs: list[tuple[str, str, Any, bool, bool, bool, Callable[[], Any] | None]] = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        wire = field.metadata.get("wire", field.name)
        tp = types[field.name]
        nullable = _is_union(tp) and _NoneType in get_args(tp)
        required = field.default is attrs.NOTHING
        # ``null`` for a defaulted container (``tools``, ``tool_calls``) is the default in both modes;
        # in lenient mode ``null`` is the default (or the zero value) for every field.
        null_default = not strict or isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
        zero = _zero_factory(tp) if required and not strict else None
        parser = tp if strict else get_parser(tp, strict)  # strict: the type, its parser built on first use
        specs.append((field.alias or field.name, wire, parser, nullable, required, null_default, zero))
    known = frozenset([s[1] for s in specs] + ([tag_key] if tag_key else []))
    if strict:
        return _strict_class_parser(cls, specs=specs, tag_key=tag_key, tag_value=tag_value, known=known)
    return _generate_class_parser(cls, specs=specs, tag_key=tag_key, tag_value=tag_value)


def _field_hook(
    wire: str, tp: Any, *, nullable: bool, default_on_null: Callable[[], Any] | None
) -> Callable[[Any, Any], Any]:
    """One field's hook: our strict parser of ``tp``; a failure gets the field's wire name on its path.

    ``null`` is ``None`` for a ``nullable`` field, else ``default_on_null()`` when given, else the
    parser's error.  The parser is built the first time the field comes in with a value (a field's
    hook is called only when the field is present), so a request type's rarely given fields
    cost nothing until they are used.
    """
    parser: Parser | None = None

    def hook(value: Any, _type: Any) -> Any:
        nonlocal parser
        if value is None:
            if nullable:
                return None
            if default_on_null is not None:
                return default_on_null()
        if parser is None:
            built = get_parser(tp, True)
            parser = getattr(built, "_inner", built) if nullable else built
        try:
            return parser(value)
        except _Fail as exc:
            exc.path.append(wire)
            raise

    return hook


def _strict_class_parser(
    cls: type,
    *,
    specs: list[tuple[str, str, Any, bool, bool, bool, Callable[[], Any] | None]],
    tag_key: str | None,
    tag_value: str | None,
    known: frozenset[str],
) -> Parser:
    """Strict mode: ``cls`` from the fields that are given, each through its field hook (:func:`_field_hook`).

    What cattrs' generated structure function did here (issue #12), without importing cattrs or
    compiling a function on a process's first request (issue #16, docs/performance.md): the given
    fields, each through its hook, then ``cls(**fields)`` (when one fails, the first failing field
    in declaration order is the one reported, as cattrs reported it); around it the object
    check, the discriminator, unknown fields and missing required fields, each with the path and
    message the rest of liter-llm (and its tests) use.
    """
    fields = {field.alias or field.name: field for field in attrs.fields(cls) if field.init}
    steps: list[tuple[str, str, Callable[[Any, Any], Any]]] = []
    required: list[str] = []
    for init_name, wire, tp, nullable, is_required, null_default, _zero in specs:
        default = fields[init_name].default
        on_null = default.factory if null_default and isinstance(default, attrs.Factory) else None  # type: ignore[arg-type]
        steps.append((init_name, wire, _field_hook(wire, tp, nullable=nullable, default_on_null=on_null)))
        if is_required:
            required.append(wire)
    by_wire = {wire: (init_name, hook) for init_name, wire, hook in steps}
    name = cls.__name__

    def parse(data: Any) -> Any:
        if type(data) is not dict:
            if isinstance(data, cls):
                return data
            if not isinstance(data, Mapping):
                raise _expected(f"an object ({name})", data)
            data = dict(data)
        for wire in required:
            if wire not in data:
                raise _Fail("missing required field", [wire])
        if tag_key is not None:
            tag = data.get(tag_key, _MISSING)
            if tag is not _MISSING and tag != tag_value:
                raise _Fail(f"expected {tag_value!r}, got {tag!r}", [tag_key])
        given: dict[str, Any] = {}
        try:
            try:
                for key, value in data.items():  # a request gives a few of its type's many fields
                    step = by_wire.get(key)
                    if step is not None:
                        given[step[0]] = step[1](value, None)
            except Exception:
                for _init, wire, hook in steps:  # the first field in declared order reports its error
                    if wire in data:
                        hook(data[wire], None)
                raise
            result = cls(**given)
        except _Fail:
            raise
        except Exception as exc:
            raise _Fail(getattr(exc, "message", None) or str(exc)) from None
        for key in data:  # as the lenient parsers do: a field's own error is reported first
            if key not in known:
                _finish_class(data, known)
        return result

    return parse


_FAST_TYPES: dict[Parser, str] = {
    _str_strict: "str",
    _str_lenient: "str",
    _int_strict: "int",
    _int_lenient: "int",
    _float_strict: "float",
    _float_lenient: "float",
    _identity: "",
}


def _generate_class_parser(
    cls: type,
    *,
    specs: list[tuple[str, str, Parser, bool, bool, bool, Callable[[], Any] | None]],
    tag_key: str | None,
    tag_value: str | None,
) -> Parser:
    """Generate straight-line Python for one response class (lenient; the hot path of every response and chunk).

    Request-side (strict) classes are structured by :func:`_strict_class_parser` instead, which
    only looks at the fields given: a request names a few of its type's many fields.
    """
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_new": object.__new__,
        "_M": _MISSING,
        "_Fail": _Fail,
        "_Mapping": Mapping,
        "_expected": _expected,
        "_name": cls.__name__,
    }
    direct = _plain_slots_class(cls, specs)
    lines = [
        "def parse(data):",
        "    if type(data) is not dict:",
        "        if isinstance(data, _cls):",
        "            return data",
        "        if isinstance(data, _Mapping):",
        "            data = dict(data)",
        "        else:",
        "            raise _expected('an object (' + _name + ')', data)",
    ]
    if not direct:
        lines.append("    kw = {}")
    count = None

    def add(*more: str | None) -> None:
        lines.extend(m for m in more if m is not None)

    fields = {field.alias or field.name: field for field in attrs.fields(cls)}
    for i, (attr_name, wire, parser, nullable, required, null_default, zero) in enumerate(specs):
        inner = parser
        if nullable:
            inner = getattr(parser, "_inner", parser)
        namespace[f"p{i}"] = inner
        namespace[f"z{i}"] = zero
        w = repr(wire)
        # the target of a field's value: a local of its own (built directly), or the keyword dict
        target = f"f{i}" if direct else f"kw[{attr_name!r}]"
        default = fields[attr_name].default
        if not direct or required:
            keep_default = "        pass"
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            namespace[f"d{i}"] = default.factory
            keep_default = f"        {target} = d{i}()"
        else:
            namespace[f"d{i}"] = default
            keep_default = f"        {target} = d{i}"
        add(f"    v = data.get({w}, _M)")
        # missing
        add("    if v is _M:")
        if required:
            if zero is None:
                add(f"        raise _Fail('missing required field', [{w}])")
            else:
                add(
                    f"        try:\n            {target} = z{i}()",
                    "        except _Fail as e:",
                    f"            e.path.append({w})",
                    "            raise",
                )
        else:
            add(keep_default)
        # null
        add("    elif v is None:", count)
        if nullable:
            add(f"        {target} = None")
        elif not null_default:
            add(
                f"        try:\n            p{i}(None)",
                "        except _Fail as e:",
                f"            e.path.append({w})",
                "            raise",
                keep_default,
            )
        elif required:
            if zero is None:
                add(f"        raise _Fail('missing required field', [{w}])")
            else:
                add(
                    f"        try:\n            {target} = z{i}()",
                    "        except _Fail as e:",
                    f"            e.path.append({w})",
                    "            raise",
                )
        else:
            add(keep_default)
        # value
        add("    else:", count)
        fast = _FAST_TYPES.get(inner)
        if fast == "":
            add(f"        {target} = v")
            continue
        if fast:
            add(f"        if type(v) is {fast}:", f"            {target} = v", "        else:")
            pad = "    "
        else:
            pad = ""
        add(
            f"{pad}        try:",
            f"{pad}            {target} = p{i}(v)",
            f"{pad}        except _Fail as e:",
            f"{pad}            e.path.append({w})",
            f"{pad}            raise",
        )
    if tag_key is not None:
        add(f"    v = data.get({tag_key!r}, _M)", "    if v is not _M:", "        pass")
    if direct:
        # what the attrs __init__ would do (it only stores each field), without the keyword call
        add("    o = _new(_cls)")
        add(*(f"    o.{fields[spec[0]].name} = f{i}" for i, spec in enumerate(specs)))
        add("    return o")
    else:
        add(
            "    try:",
            "        return _cls(**kw)",
            "    except Exception as e:",
            "        raise _Fail(getattr(e, 'message', None) or str(e)) from None",
        )
    source = "\n".join(lines) + "\n"
    exec(compile_cached(source, f"<liter_llm._serde parser of {cls.__name__}>"), namespace)
    generated: Parser = namespace["parse"]
    return generated


def _plain_slots_class(cls: type, specs: list[Any]) -> bool:
    """Whether building ``cls`` needs nothing but storing each field (so a parser may skip its ``__init__``).

    True for a slotted, mutable attrs class whose every field is an ``__init__`` argument (and in
    ``specs``) without validator, converter, ``on_setattr`` or a factory that takes ``self``, and
    which has no ``__attrs_pre_init__``/``__attrs_post_init__``: its generated ``__init__`` only
    assigns, and a keyword call costs several times the assignments (measured in
    docs/performance.md, "Sync hot path").
    """
    if getattr(cls, "__setattr__", None) is not object.__setattr__ or "__slots__" not in cls.__dict__:
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    named = {spec[0] for spec in specs}
    for field in attrs.fields(cls):
        if not field.init or field.validator is not None or field.converter is not None or field.on_setattr:
            return False
        if (field.alias or field.name) not in named:
            return False
        default = field.default
        if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
            return False
    return True


def _finish_class(data: dict[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        problem = "unknown field" if len(unknown) == 1 else f"unknown field (also unknown: {unknown[1:]})"
        raise _Fail(problem, [unknown[0]])


# ---------------------------------------------------------------------------
# Unstructuring
# ---------------------------------------------------------------------------

_UNPARSERS: dict[type, Unparser] = {}


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unstructure_any(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    unparser = _UNPARSERS.get(kind)
    if unparser is not None:
        return unparser(value)
    if kind is list or kind is tuple:
        return [_unstructure_any(item) for item in value]
    if kind is dict:
        return {(k.value if isinstance(k, enum.Enum) else k): _unstructure_any(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if _is_model(kind):
        return _class_unparser(kind)(value)
    if isinstance(value, AuthHeaderFormat):
        return value.to_wire()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _b64(bytes(value))
    if isinstance(value, Mapping):
        return {k: _unstructure_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_unstructure_any(item) for item in value]
    return value


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _is_plain(tp: Any) -> bool:
    return tp in (str, int, float, bool)


def _unparser_for(tp: Any) -> Unparser | None:
    """``None`` means "emit as is" (JSON scalars)."""
    if _is_plain(tp):
        return None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_value
    if tp is bytes:
        return _b64
    if tp is AuthHeaderFormat:
        return AuthHeaderFormat.to_wire
    if _is_model(tp):
        return _class_unparser(tp)
    origin = get_origin(tp)
    if origin is list:
        (elem,) = get_args(tp) or (Any,)
        if _is_plain(elem):
            return list
        elem_unparser = _unparser_for(elem) or _identity

        def unparse_list(value: Any) -> list[Any]:
            return [elem_unparser(item) for item in value]

        return unparse_list
    if origin is dict:
        args = get_args(tp)
        if args and _is_plain(args[1]):
            return dict
        return _unstructure_any
    if _is_union(tp):
        members = [m for m in get_args(tp) if m is not _NoneType]
        if len(members) == 1:
            return _unparser_for(members[0])
        if all(_is_plain(m) for m in members):
            return None
    return _unstructure_any


_OMIT_EMPTY = 1
_OMIT_DEFAULT = 2


def _class_unparser(cls: type) -> Unparser:
    cached = _UNPARSERS.get(cls)
    if cached is not None:
        return cached
    types = field_types(cls)
    tag_key, tag_value = _tag_of(cls)
    specs: list[tuple[str, str, Unparser | None, int, Any]] = []
    for field in attrs.fields(cls):
        wire = field.metadata.get("wire", field.name)
        mode = 0
        default = field.default
        if field.metadata.get("omit_default"):
            mode = _OMIT_DEFAULT
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            mode = _OMIT_EMPTY
        specs.append((field.name, wire, _unparser_for(types[field.name]), mode, default))

    # straight-line code, one test per field (a loop over the specs cost a getattr and several
    # tests per field, for every field of a request with dozens of optional ones)
    namespace: dict[str, Any] = {"_tag": {tag_key: tag_value} if tag_key is not None else None}
    lines = ["def unparse(obj):", "    out = dict(_tag)" if tag_key is not None else "    out = {}"]
    for i, (attr_name, wire, unparser, mode, default) in enumerate(specs):
        namespace[f"u{i}"] = unparser
        namespace[f"d{i}"] = default
        test = "v is not None"
        if mode == _OMIT_EMPTY:
            test = "v"  # None and every empty container are falsy
        elif mode == _OMIT_DEFAULT:
            test = f"v is not None and not (v == d{i})"
        value = "v" if unparser is None else f"u{i}(v)"
        lines += [f"    v = obj.{attr_name}", f"    if {test}:", f"        out[{wire!r}] = {value}"]
    lines.append("    return out")
    source = "\n".join(lines) + "\n"
    exec(compile_cached(source, f"<liter_llm._serde unparser of {cls.__name__}>"), namespace)
    unparse: Unparser = namespace["unparse"]
    _UNPARSERS[cls] = unparse
    return unparse


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def to_wire(obj: Any) -> Any:
    """The JSON-ready wire form of a typed object (a dict for every model class)."""
    try:
        unparser = _UNPARSERS.get(type(obj))
        if unparser is not None:
            return unparser(obj)
        return _unstructure_any(obj)
    except LiterLlmError:
        raise
    except Exception as exc:  # a user put something odd into a field
        raise SerializationError(f"cannot serialise {type(obj).__name__}: {exc}") from exc


unstructure = to_wire


def request_body(req: Any) -> dict[str, Any]:
    """The JSON body of a request: :func:`to_wire` with ``extra_body`` merged into the top level.

    On a key conflict the ``extra_body`` value wins.
    """
    body: dict[str, Any] = to_wire(req)
    extra = body.pop("extra_body", None)
    if extra:
        body.update(extra)
    return body


def _structure(data: Any, cls: Any, strict: bool) -> Any:
    error: type[LiterLlmError] = BadRequestError if strict else SerializationError
    try:
        parser = _PARSERS.get((cls, strict))
        if parser is None:
            parser = get_parser(cls, strict)
        return parser(data)
    except _Fail as exc:
        path = _format_path(exc.path)
        what = getattr(cls, "__name__", None) or str(cls)
        message = f"{path}: {exc.problem}" if path else f"{what}: {exc.problem}"
        err = error(message)
        err.path = path  # type: ignore[attr-defined]
        raise err from None
    except LiterLlmError:
        raise
    except RecursionError:
        raise error("input nested too deeply") from None
    except Exception as exc:
        raise error(f"cannot read {getattr(cls, '__name__', cls)}: {exc!r}") from exc


def structure_request(data: Any, cls: Any) -> Any:
    """Strictly structure request-side ``data`` into ``cls``; errors are :class:`BadRequestError`."""
    return _structure(data, cls, True)


def structure_response(data: Any, cls: Any) -> Any:
    """Leniently structure a provider's answer into ``cls``; errors are :class:`SerializationError`."""
    return _structure(data, cls, False)


def structure(data: Any, cls: Any) -> Any:
    """Lenient for response types (:data:`liter_llm.types.RESPONSE_TYPES`), strict for everything else."""
    lenient = isinstance(cls, type) and issubclass(cls, _Model) and cls._lenient
    return _structure(data, cls, not lenient)


def loads(text: str | bytes | bytearray, *, lenient: bool, what: str = "JSON") -> Any:
    """Decode JSON text; failures are :class:`SerializationError` (lenient) or :class:`BadRequestError`."""
    error: type[LiterLlmError] = SerializationError if lenient else BadRequestError
    if not isinstance(text, (str, bytes, bytearray)):
        raise error(f"{what}: expected JSON text, got {type(text).__name__}")
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{what}: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise error(f"{what}: invalid JSON: {exc}") from None


_converter: Any = None


def get_converter() -> Any:
    """The one :class:`cattrs.Converter`, built on first use, with this module's hooks registered.

    ``converter.structure(data, T)`` is lenient for response types and strict
    for request types; ``converter.unstructure(obj)`` is :func:`to_wire`.
    """
    global _converter
    if _converter is None:
        import cattrs

        from liter_llm import types as types_module

        models = frozenset(obj for obj in vars(types_module).values() if isinstance(obj, type) and _is_model(obj))
        converter = cattrs.Converter()
        converter.register_structure_hook_func(lambda t: t in models, structure)
        converter.register_unstructure_hook_func(lambda t: t in models, to_wire)
        _converter = converter
    return _converter
