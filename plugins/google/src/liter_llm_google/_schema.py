"""JSON Schema -> the OpenAPI subset that Gemini's ``Schema`` object accepts."""

from __future__ import annotations

from typing import Any

from liter_llm.errors import BadRequestError

__all__ = ["to_gemini_schema"]

#: Schema keywords Gemini documents; everything else is dropped.
_KEEP = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "items",
        "properties",
        "required",
        "anyOf",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minProperties",
        "maxProperties",
        "propertyOrdering",
    }
)
_MAX_DEPTH = 64


def _resolve_ref(ref: str, defs: dict[str, Any], where: str) -> Any:
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            name = ref[len(prefix) :]
            if name in defs:
                return defs[name], name
    raise BadRequestError(f"{where}: cannot resolve $ref {ref!r} (only local #/$defs/... references are supported)")


def _convert(node: Any, defs: dict[str, Any], where: str, seen: tuple[str, ...], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise BadRequestError(f"{where}: the schema is nested too deeply")
    if not isinstance(node, dict):
        if isinstance(node, bool):  # `true` / `false` schemas: no constraint that Gemini can express
            return {}
        raise BadRequestError(f"{where}: a schema must be an object, got {type(node).__name__}")
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str):
            raise BadRequestError(f"{where}: $ref must be a string")
        target, name = _resolve_ref(ref, defs, where)
        if name in seen:
            raise BadRequestError(f"{where}: recursive $ref {ref!r} cannot be inlined for Gemini")
        merged = dict(target) if isinstance(target, dict) else target
        if isinstance(merged, dict):
            # sibling keywords of $ref (a description, say) win over the target's
            merged.update({k: v for k, v in node.items() if k != "$ref"})
        return _convert(merged, defs, where, (*seen, name), depth + 1)
    out: dict[str, Any] = {}
    schema_type = node.get("type")
    if isinstance(schema_type, list):
        kinds = [k for k in schema_type if k != "null"]
        if len(kinds) != len(schema_type):
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        elif kinds:
            out["anyOf"] = [{"type": k} for k in kinds]
    elif schema_type is not None:
        out["type"] = schema_type
    if "const" in node and "enum" not in node:
        out["enum"] = [node["const"]]
    variants = node.get("anyOf", node.get("oneOf"))
    if isinstance(variants, list):
        kept = [v for v in variants if not (isinstance(v, dict) and v.get("type") == "null")]
        if len(kept) != len(variants):
            out["nullable"] = True
        converted = [_convert(v, defs, f"{where}.anyOf[{i}]", seen, depth + 1) for i, v in enumerate(kept)]
        if len(converted) == 1 and "type" not in out:
            for key, value in converted[0].items():
                out.setdefault(key, value)
        elif converted:
            out["anyOf"] = converted
    for key, value in node.items():
        if key not in _KEEP or key in ("type", "anyOf") or key in out:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _convert(sub, defs, f"{where}.properties.{name}", seen, depth + 1) for name, sub in value.items()
            }
        elif key == "items" and isinstance(value, (dict, bool)):
            out[key] = _convert(value, defs, f"{where}.items", seen, depth + 1)
        else:
            out[key] = value
    if out.get("type") == "object" and "required" in out and isinstance(out.get("properties"), dict):
        props = out["properties"]
        out["required"] = [name for name in out["required"] if name in props]
    return out


def to_gemini_schema(schema: Any, where: str = "parameters") -> dict[str, Any]:
    """Convert a JSON Schema to the subset Gemini accepts.

    Local ``$ref`` references (``#/$defs/...``, ``#/definitions/...``) are
    inlined (a recursive one is a :class:`BadRequestError`); ``"type": [T,
    "null"]`` and ``anyOf``/``oneOf`` with a ``null`` branch become
    ``nullable``; ``const`` becomes a one-value ``enum``; keywords Gemini does
    not document (``additionalProperties``, ``$schema``, ``default``,
    ``examples``, ``title``, ...) are dropped.
    """
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where}: a schema must be an object, got {type(schema).__name__}")
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        value = schema.get(key)
        if isinstance(value, dict):
            defs.update(value)
    result: dict[str, Any] = _convert(schema, defs, where, (), 0)
    return result
