"""Typed structured output: a JSON Schema from a Python type, and strict structuring of the answer.

Used by ``client.parse`` / ``client.parse_stream``; usable on its own:

* :func:`json_schema` builds the JSON Schema of an ``output_type``: an attrs
  class, a dataclass, a ``TypedDict``, ``list[...]``/``tuple``/``dict[str, ...]``,
  ``Literal``, ``Enum``, ``Optional``/unions, nested compositions of these, and
  a pydantic model (duck-typed: anything with ``model_json_schema`` and
  ``model_validate``; pydantic is never a dependency).  Field names, types,
  optionality, enums, nested objects (as ``$defs``, so recursion works),
  class docstrings and ``metadata={"description": ...}`` become the schema.
* :func:`strict_schema` makes a schema fit OpenAI's ``strict: true`` rules
  (every object closed with ``additionalProperties: false``, every property
  listed in ``required``: an optional field stays nullable).
* :func:`structure` turns the decoded JSON into an instance of the type with
  cattrs, **strictly**: no unknown keys, no coercion (``"3"`` is not an int,
  ``1`` is not a bool), every error reported with its path (``$.friends[0].age``).
* :func:`parse_partial_json` reads a JSON prefix as it streams in.

A type whose schema is not an object (``list[Person]``, ``Literal[...]``) is
asked for wrapped in ``{"value": ...}``, since providers want an object at
the top; :class:`OutputSpec` wraps and unwraps.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import re
import types as _pytypes
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin

import attrs

from liter_llm._attrs_code import define, frozen
from liter_llm._attrs_methods import Fields, FrozenFields
from liter_llm.errors import BadRequestError

if typing.TYPE_CHECKING:
    import cattrs

    from liter_llm.types import ChatCompletionResponse

__all__ = [
    "Attempt",
    "OutputSpec",
    "ParsedChatCompletion",
    "StreamedParse",
    "ValidationProblem",
    "json_schema",
    "parse_partial_json",
    "strict_schema",
    "structure",
]

T = TypeVar("T")

_NoneType = type(None)
_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_MAX_DEPTH = 64


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@frozen(kw_only=True, repr=False, eq=False)
class Attempt(FrozenFields):
    """One request of a parse: what the model answered and what was wrong with it.

    Attributes:
        raw: the answer's JSON text as received (``""`` when there was none).
        errors: the validation problems (``path: problem``); empty for the valid attempt.
        response: the provider's answer (priced like any chat answer: ``response.cost``).
        refusal: the model's refusal text, when it refused.
    """

    raw: str
    errors: tuple[str, ...] = ()
    response: ChatCompletionResponse | None = attrs.field(default=None, repr=False)
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        """Whether this attempt's answer validated."""
        return not self.errors and self.refusal is None


@frozen(kw_only=True, repr=False, eq=False)
class ParsedChatCompletion(FrozenFields, Generic[T]):
    """The result of ``client.parse``.

    Attributes:
        parsed: the answer as an instance of ``output_type``.
        response: the final (valid) :class:`~liter_llm.types.ChatCompletionResponse`.
        attempts: every attempt made, in order; the last one is the valid one.
    """

    parsed: T
    response: ChatCompletionResponse = attrs.field(repr=False)
    attempts: tuple[Attempt, ...]

    @property
    def cost(self) -> float | None:
        """The cost of every attempt together (USD), when they were priced."""
        costs = [a.response.cost for a in self.attempts if a.response is not None and a.response.cost is not None]
        return sum(costs) if costs else None


@frozen(kw_only=True, repr=False, eq=False)
class StreamedParse(FrozenFields, Generic[T]):
    """One item of ``client.parse_stream``.

    Attributes:
        partial: the JSON value received so far (dicts, lists, strings, numbers;
            unvalidated): a key appears once its value has started, the last
            string may still be cut short, a number may still grow, and a
            ``true``/``false``/``null`` appears only when complete.  For a type
            asked for wrapped (see :class:`OutputSpec`), the inner value.
        attempt: which attempt this belongs to (0 for the first; a repair starts over).
        parsed: on the last item only: the validated instance of ``output_type``.
        done: whether this is the last item.
    """

    partial: Any
    attempt: int = 0
    parsed: T | None = None
    done: bool = False


@frozen(repr=False, eq=False)
class ValidationProblem(FrozenFields):
    """A validation problem at a path of the answer (``$.friends[0].age``)."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class _Invalid(Exception):
    def __init__(self, problems: list[ValidationProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


# ---------------------------------------------------------------------------
# Schema generation
# ---------------------------------------------------------------------------


def _is_pydantic(tp: Any) -> bool:
    return isinstance(tp, type) and callable(getattr(tp, "model_json_schema", None)) and hasattr(tp, "model_validate")


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__annotations__")


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and (attrs.has(tp) or dataclasses.is_dataclass(tp) or _is_typeddict(tp))


def _doc(tp: type) -> str | None:
    own = tp.__dict__.get("__doc__")
    doc = inspect.cleandoc(own) if isinstance(own, str) else None
    if not doc:
        return None
    if dataclasses.is_dataclass(tp) and doc.startswith(f"{tp.__name__}("):
        return None  # the generated signature, not a description
    if _is_typeddict(tp) and doc.startswith(("dict() ->", "dict(")):
        return None
    if isinstance(tp, type) and issubclass(tp, enum.Enum) and doc == "An enumeration.":
        return None  # the default docstring Python 3.10 gives every Enum
    first = doc.split("\n\n", 1)[0].strip()
    return " ".join(first.split()) or None


def _attribute_docs(tp: type) -> dict[str, str]:
    """``Attributes:`` (Google style) descriptions of a class docstring, by name."""
    doc = inspect.getdoc(tp) or ""
    match = re.search(r"^(?:Attributes|Fields):\s*$", doc, re.MULTILINE)
    if not match:
        return {}
    out: dict[str, str] = {}
    current: str | None = None
    for line in doc[match.end() :].splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        entry = re.match(r"^\s{2,8}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
        if entry:
            current = entry.group(1)
            out[current] = entry.group(2).strip()
        elif current and line.strip():
            out[current] = f"{out[current]} {line.strip()}".strip()
    return out


@define(repr=False, eq=False)
class _Field(Fields):
    name: str
    tp: Any
    required: bool
    description: str | None


def _fields(tp: type) -> list[_Field]:
    try:
        hints = typing.get_type_hints(tp, include_extras=False)
    except Exception as exc:  # an annotation naming something not importable where the class lives
        raise BadRequestError(f"output_type: the annotations of {tp.__name__} cannot be resolved ({exc})") from None
    docs = _attribute_docs(tp)
    out: list[_Field] = []
    if attrs.has(tp):
        for field in attrs.fields(tp):
            if not field.init:
                continue
            name = field.alias or field.name.lstrip("_")
            desc = field.metadata.get("description") or docs.get(field.name)
            out.append(_Field(name, hints.get(field.name, Any), field.default is attrs.NOTHING, desc))
    elif dataclasses.is_dataclass(tp):
        for dfield in dataclasses.fields(tp):
            if not dfield.init:
                continue
            missing = dfield.default is dataclasses.MISSING and dfield.default_factory is dataclasses.MISSING
            desc = dfield.metadata.get("description") or docs.get(dfield.name)
            out.append(_Field(dfield.name, hints.get(dfield.name, Any), missing, desc))
    else:
        required = getattr(tp, "__required_keys__", frozenset(hints))
        for key, hint in hints.items():
            out.append(_Field(key, _strip_required(hint), key in required, docs.get(key)))
    return out


def _strip_required(hint: Any) -> Any:
    origin = get_origin(hint)
    name = getattr(origin, "__name__", None) or getattr(origin, "_name", None)
    if name in ("Required", "NotRequired", "ReadOnly"):
        return get_args(hint)[0]
    return hint


class _SchemaBuilder:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[Any, str] = {}

    def ref(self, tp: type) -> dict[str, Any]:
        name = self.names.get(tp)
        if name is None:
            base = re.sub(r"[^A-Za-z0-9_.-]", "_", tp.__name__)
            name = base
            index = 2
            while name in self.defs:
                name = f"{base}{index}"
                index += 1
            self.names[tp] = name
            self.defs[name] = {}  # placeholder: recursion ends here
            self.defs[name] = self.record(tp)
        return {"$ref": f"#/$defs/{name}"}

    def record(self, tp: type) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        desc = _doc(tp)
        if desc:
            schema["description"] = desc
        props: dict[str, Any] = {}
        required: list[str] = []
        for field in _fields(tp):
            prop = self.build(field.tp, 1)
            if field.description and "$ref" not in prop:  # a nested record keeps its own description
                prop = {**prop, "description": field.description}
            props[field.name] = prop
            if field.required:
                required.append(field.name)
        schema["properties"] = props
        schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def pydantic(self, tp: Any) -> dict[str, Any]:
        try:
            schema: dict[str, Any] = dict(tp.model_json_schema())
        except Exception as exc:
            raise BadRequestError(f"output_type: {tp.__name__}.model_json_schema() failed: {exc}") from None
        for key in ("$defs", "definitions"):
            nested = schema.pop(key, None)
            if isinstance(nested, dict):
                self.defs.update(nested)
        rewritten: dict[str, Any] = _rewrite_refs(schema)
        return rewritten

    def build(self, tp: Any, depth: int) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise BadRequestError("output_type: the type is nested too deeply")
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is _NoneType:
            return {"type": "null"}
        if tp in _PRIMITIVES:
            return {"type": _PRIMITIVES[tp]}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [m.value for m in tp]
            schema: dict[str, Any] = {"enum": values}
            kinds = {_json_type(v) for v in values}
            if len(kinds) == 1:
                schema["type"] = kinds.pop()
            desc = _doc(tp)
            if desc:
                schema["description"] = desc
            return schema
        if _is_pydantic(tp):
            return self.pydantic(tp)
        if _is_record(tp):
            return self.ref(tp)
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is Literal:
            kinds = {_json_type(v) for v in args}
            schema = {"enum": list(args)}
            if len(kinds) == 1:
                schema["type"] = kinds.pop()
            return schema
        if origin is Union or origin is _pytypes.UnionType:
            branches = [self.build(arg, depth + 1) for arg in args]
            return {"anyOf": branches}
        if origin in (list, set, frozenset, Sequence) or tp in (list, set, frozenset):
            item = self.build(args[0], depth + 1) if args else {}
            schema = {"type": "array", "items": item}
            if origin in (set, frozenset):
                schema["uniqueItems"] = True
            return schema
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.build(args[0], depth + 1)}
            items = [self.build(arg, depth + 1) for arg in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        if origin in (dict, Mapping) or tp is dict:
            if args and args[0] is not str:
                raise BadRequestError(f"output_type: {tp!r}: JSON object keys are strings (use dict[str, ...])")
            return {"type": "object", "additionalProperties": self.build(args[1], depth + 1) if args else {}}
        if getattr(tp, "__supertype__", None) is not None:  # NewType
            return self.build(tp.__supertype__, depth + 1)
        raise BadRequestError(
            f"output_type: {tp!r} has no JSON Schema (use an attrs class, a dataclass, a TypedDict...)"
        )


def _rewrite_refs(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
                out[key] = "#/$defs/" + value[len("#/definitions/") :]
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(v) for v in schema]
    return schema


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "string"


def json_schema(output_type: Any) -> dict[str, Any]:
    """The JSON Schema of ``output_type`` (nested records under ``$defs``).

    Raises:
        BadRequestError: a type with no JSON form (a ``dict`` with non-string keys, an arbitrary class).
    """
    builder = _SchemaBuilder()
    root = builder.build(output_type, 0)
    if "$ref" in root and len(root) == 1:
        name = root["$ref"].rsplit("/", 1)[1]
        root = dict(builder.defs[name])
        if not _refers_to(builder.defs, name):
            del builder.defs[name]
        else:
            root = {"$ref": f"#/$defs/{name}"}
    if builder.defs:
        root = {**root, "$defs": builder.defs}
    return root


def _refers_to(defs: dict[str, Any], name: str) -> bool:
    return f'"#/$defs/{name}"' in json.dumps(defs)


# ---------------------------------------------------------------------------
# Strict mode (OpenAI's rules)
# ---------------------------------------------------------------------------

_STRICT_UNSUPPORTED = ("default", "examples", "title", "$schema", "uniqueItems")


def strict_schema(schema: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """``schema`` made strict-compatible, and whether it is (a free-form ``dict`` never is).

    Every object gets ``additionalProperties: false`` and lists every
    property in ``required`` (an ``Optional`` field is nullable already, so
    the model answers ``null``; a field with another default is then always
    given); ``default``/``title``/``examples``/``uniqueItems`` are dropped
    (the answer is validated locally anyway), and a tuple's ``prefixItems``
    makes the schema non-strict.
    """
    ok = [True]

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items() if k not in _STRICT_UNSUPPORTED}
        if out.get("type") == "object" or "properties" in out:
            extra = out.get("additionalProperties")
            if extra not in (None, False):
                ok[0] = False
                return out
            props = out.get("properties", {})
            out["properties"] = props
            out["required"] = list(props)
            out["additionalProperties"] = False
        if "prefixItems" in out:
            ok[0] = False
        return out

    result = walk(dict(schema))
    return result, ok[0]


# ---------------------------------------------------------------------------
# Structuring (cattrs, strict)
# ---------------------------------------------------------------------------

_CONVERTER: Any = None


def _strict_primitive(kind: type) -> Any:
    def hook(value: Any, _tp: Any) -> Any:
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"expected a number, got {_name(value)}")
            return float(value)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise TypeError(f"expected an integer, got {_name(value)}")
        if kind is not int and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            raise TypeError(f"expected {'a boolean' if kind is bool else 'a string'}, got {_name(value)}")
        return value

    return hook


def _name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer"}
    return {**names, float: "a number", type(None): "null"}.get(type(value), f"a {type(value).__name__}")


def _converter() -> cattrs.Converter:
    global _CONVERTER
    if _CONVERTER is None:
        import cattrs

        converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
        for kind in (str, int, float, bool):
            converter.register_structure_hook(kind, _strict_primitive(kind))

        def strict_list_factory(tp: Any, conv: Any) -> Any:
            inner = _list_hook(tp, conv)

            def strict_list(value: Any, tp: Any) -> Any:
                if not isinstance(value, list):
                    raise TypeError(f"expected an array, got {_name(value)}")
                return inner(value, tp)

            return strict_list

        converter.register_structure_hook_factory(_is_list, strict_list_factory)

        def strict_collection_factory(tp: Any, conv: Any) -> Any:
            origin = get_origin(tp) or tp
            args = get_args(tp)
            if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):

                def fixed_tuple(value: Any, _tp: Any) -> Any:
                    if not isinstance(value, list):
                        raise TypeError(f"expected an array, got {_name(value)}")
                    if len(value) != len(args):
                        raise ValueError(f"expected {len(args)} items, got {len(value)}")
                    return tuple(conv.structure(item, arg) for item, arg in zip(value, args, strict=True))

                return fixed_tuple
            elem = args[0] if args else Any
            as_list = _list_hook(list[elem], conv)  # type: ignore[valid-type]

            def collection(value: Any, _tp: Any) -> Any:
                if not isinstance(value, list):
                    raise TypeError(f"expected an array, got {_name(value)}")
                return origin(as_list(value, list[elem]))  # type: ignore[valid-type]

            return collection

        converter.register_structure_hook_factory(_is_collection, strict_collection_factory)
        _CONVERTER = converter
    return _CONVERTER  # type: ignore[no-any-return]


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list or tp is list


def _is_collection(tp: Any) -> bool:
    return (get_origin(tp) or tp) in (set, frozenset, tuple)


def _list_hook(tp: Any, conv: Any) -> Any:
    """cattrs' own list structuring (with per-index error paths), for the strict hook to wrap."""
    try:
        from cattrs.cols import list_structure_factory
    except ImportError:  # cattrs before 24.1: element by element
        args = get_args(tp)
        elem = args[0] if args else Any
        return lambda value, _tp: [conv.structure(v, elem) for v in value]
    return list_structure_factory(tp if get_args(tp) else list[Any], conv)


def _format_exception(exc: BaseException, tp: Any) -> str:
    from cattrs.v import format_exception

    text = str(format_exception(exc, tp))
    if get_origin(tp) is Literal:
        allowed = ", ".join(json.dumps(v) for v in get_args(tp))
        return f"expected one of {allowed}"
    if isinstance(exc, (TypeError, ValueError)) and str(exc) and text.startswith(("unknown error", "invalid value")):
        return str(exc)
    return text


def _problems(exc: BaseException) -> list[ValidationProblem]:
    import cattrs

    out: list[ValidationProblem] = []
    if isinstance(exc, cattrs.BaseValidationError):
        for message in cattrs.transform_error(exc, path="$", format_exception=_format_exception):
            text, _, path = message.rpartition(" @ ")
            out.append(ValidationProblem(path or "$", text or message))
    else:
        out.append(ValidationProblem("$", str(exc) or type(exc).__name__))
    return out


def structure(data: Any, output_type: Any) -> Any:
    """Structure decoded JSON into ``output_type``, strictly (see the module docstring).

    Raises:
        StructuredOutputError: carrying no attempts, with ``problems`` naming each path.
    """
    try:
        return _structure(data, output_type)
    except _Invalid as exc:
        from liter_llm.errors import StructuredOutputError

        raise StructuredOutputError(
            f"the value does not match {_type_label(output_type)}: {exc}", attempts=(), problems=exc.problems
        ) from None


def _structure(data: Any, output_type: Any) -> Any:
    if _is_pydantic(output_type):
        try:
            return output_type.model_validate(data, strict=True)
        except Exception as exc:
            errors = getattr(exc, "errors", None)
            if callable(errors):
                problems = []
                for err in errors():
                    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ()))
                    problems.append(ValidationProblem("$" + loc, str(err.get("msg", "invalid"))))
                raise _Invalid(problems) from None
            raise _Invalid([ValidationProblem("$", str(exc))]) from None
    try:
        return _converter().structure(data, output_type)
    except RecursionError:
        raise _Invalid([ValidationProblem("$", "nested too deeply")]) from None
    except Exception as exc:
        raise _Invalid(_problems(exc)) from None


def _type_label(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


# ---------------------------------------------------------------------------
# The spec of one parse: schema, wrapping, validation
# ---------------------------------------------------------------------------


class OutputSpec:
    """What ``parse`` asks for and how it checks the answer, for one ``output_type``.

    Attributes:
        output_type: the type asked for.
        schema: the schema sent (wrapped in ``{"value": ...}`` when the type's is not an object).
        strict_ok: whether ``schema`` is strict-compatible (OpenAI ``strict: true``).
        wrapped: whether the answer comes as ``{"value": ...}``.
        name: the schema's name (a valid tool/function name).
    """

    def __init__(self, output_type: Any) -> None:
        self.output_type = output_type
        schema = json_schema(output_type)
        self.wrapped = schema.get("type") != "object" or "$ref" in schema
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
            schema["additionalProperties"] = False
            if defs:
                schema["$defs"] = defs
        self.schema, self.strict_ok = strict_schema(schema)
        label = getattr(output_type, "__name__", None) or "output"
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", label)[:64] or "output"
        self.description = schema.get("description") if not self.wrapped else None

    def check(self, text: str) -> tuple[Any, list[ValidationProblem]]:
        """Decode and validate an answer: ``(instance, [])`` or ``(None, problems)``."""
        text = _strip_fence(text)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return None, [ValidationProblem("$", f"not valid JSON ({exc})")]
        if self.wrapped:
            if not isinstance(data, dict) or set(data) != {"value"}:
                return None, [ValidationProblem("$", 'expected an object with the one key "value"')]
            data = data["value"]
        try:
            return _structure(data, self.output_type), []
        except _Invalid as exc:
            if self.wrapped:
                return None, [ValidationProblem("$.value" + p.path[1:], p.problem) for p in exc.problems]
            return None, exc.problems

    def unwrap_partial(self, value: Any) -> Any:
        """The inner value of a partial answer (see :class:`StreamedParse`)."""
        if self.wrapped:
            return value.get("value") if isinstance(value, dict) else None
        return value


def _strip_fence(text: str) -> str:
    """A JSON answer inside a Markdown code fence (some models add one in JSON mode) is the JSON."""
    stripped = text.strip()
    match = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", stripped, re.DOTALL)
    return match.group(1) if match else stripped


# ---------------------------------------------------------------------------
# Partial JSON
# ---------------------------------------------------------------------------

_WS = " \t\r\n"
_INCOMPLETE: Any = object()
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


def parse_partial_json(text: str) -> Any:
    """Read a JSON prefix: what has arrived so far, as plain values (``None`` before anything has).

    A key appears once its value has started; an unfinished string is cut
    where it stops; an unfinished number is read as far as it goes;
    ``true``/``false``/``null`` appear only once complete.
    """
    try:
        value, _ = _partial_value(text, _skip(text, 0))
    except (ValueError, RecursionError):
        return None
    return None if value is _INCOMPLETE else value


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _partial_value(text: str, i: int) -> tuple[Any, int]:
    if i >= len(text):
        return _INCOMPLETE, i
    char = text[i]
    if char == "{":
        return _partial_object(text, i + 1)
    if char == "[":
        return _partial_array(text, i + 1)
    if char == '"':
        return _partial_string(text, i + 1)
    for word, value in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, i):
            return value, i + len(word)
        if word.startswith(text[i:]):
            return _INCOMPLETE, len(text)
    match = _NUMBER.match(text, i)
    if match:
        end = match.end()
        number = json.loads(match.group(0))
        if end == len(text) or text[end] in ".eE+-":  # the number may go on: what there is so far
            return number, len(text)
        return number, end
    if text[i:] == "-":
        return _INCOMPLETE, len(text)
    raise ValueError(f"unexpected {char!r}")


def _partial_string(text: str, i: int) -> tuple[Any, int]:
    start = i - 1  # the opening quote
    safe = i  # the end of the last complete character or escape
    while i < len(text):
        char = text[i]
        if char == '"':
            return json.loads(text[start : i + 1]), i + 1
        if char != "\\":
            i += 1
        elif i + 1 >= len(text):
            break
        elif text[i + 1] != "u":
            i += 2
        elif i + 6 > len(text):
            break
        elif 0xD800 <= int(text[i + 2 : i + 6], 16) < 0xDC00 and text[i + 6 : i + 8] in ("\\", "\\u", ""):
            if i + 12 > len(text):  # a high surrogate whose low half has not arrived
                break
            i += 12
        else:
            i += 6
        safe = i
    return json.loads(text[start:safe] + '"'), len(text)


def _closing_quote(text: str, i: int) -> int:
    """The index of the quote closing the string whose content starts at ``i``; -1 before it has arrived."""
    while i < len(text):
        if text[i] == '"':
            return i
        i += 2 if text[i] == "\\" else 1
    return -1


def _partial_array(text: str, i: int) -> tuple[Any, int]:
    items: list[Any] = []
    while True:
        i = _skip(text, i)
        if i >= len(text):
            return items, i
        if text[i] == "]":
            return items, i + 1
        value, i = _partial_value(text, i)
        if value is _INCOMPLETE:
            return items, len(text)
        items.append(value)
        i = _skip(text, i)
        if i < len(text) and text[i] == ",":
            i += 1


def _partial_object(text: str, i: int) -> tuple[Any, int]:
    obj: dict[str, Any] = {}
    while True:
        i = _skip(text, i)
        if i >= len(text):
            return obj, i
        if text[i] == "}":
            return obj, i + 1
        if text[i] != '"':
            raise ValueError("expected a key")
        end = _closing_quote(text, i + 1)
        if end == -1:
            return obj, len(text)
        key = json.loads(text[i : end + 1])
        i = _skip(text, end + 1)
        if i >= len(text) or text[i] != ":":
            return obj, len(text)
        value, i = _partial_value(text, _skip(text, i + 1))
        if value is _INCOMPLETE:
            return obj, len(text)
        obj[key] = value
        i = _skip(text, i)
        if i < len(text) and text[i] == ",":
            i += 1
