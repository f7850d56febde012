"""Property tests: every type round-trips through its wire form; responses never leak odd exceptions."""

from __future__ import annotations

import enum
import json
import types as pytypes
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liter_llm import types as t
from liter_llm.errors import LiterLlmError

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The hot-path types get more examples; the rest share a small budget so the file stays well under 30 s.
KEY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY_TYPES = {t.ChatCompletionRequest, t.ChatCompletionResponse, t.ChatCompletionChunk, t.UserMessage, t.Usage}

MODEL_TYPES = sorted(
    (
        obj
        for name in t.__all__
        if isinstance(obj := getattr(t, name), type) and attrs.has(obj) and obj is not t.AuthHeaderFormat
    ),
    key=lambda cls: cls.__name__,
)
RESPONSE_TYPES = sorted(t.RESPONSE_TYPES, key=lambda cls: cls.__name__)

_text = st.text(max_size=12)
_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
_ints = st.integers(min_value=-(2**53), max_value=2**53)
JSON = st.recursive(
    st.none() | st.booleans() | _ints | _floats | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)
_auth = st.sampled_from([t.AuthHeaderFormat.BEARER, t.AuthHeaderFormat.NONE]) | st.builds(
    t.AuthHeaderFormat.api_key,
    st.text(min_size=1, max_size=8).filter(lambda s: s.strip() == s and s.lower() not in ("bearer", "none")),
)


def strategy(tp: Any) -> st.SearchStrategy[Any]:
    if tp is Any:
        return JSON
    if tp is str:
        return _text
    if tp is int:
        return _ints
    if tp is float:
        return _floats
    if tp is bool:
        return st.booleans()
    if tp is bytes:
        return st.binary(max_size=16)
    if tp is t.AuthHeaderFormat:
        return _auth
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members = [m for m in tp if m.name != "OTHER"] or list(tp)
        return st.sampled_from(members)
    if isinstance(tp, type) and attrs.has(tp):
        return model_strategy(tp)
    origin = get_origin(tp)
    if origin is list:
        return st.lists(strategy(get_args(tp)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(_text, strategy(get_args(tp)[1]), max_size=3)
    if origin is Union or origin is pytypes.UnionType:
        return st.one_of([strategy(arg) if arg is not type(None) else st.none() for arg in get_args(tp)])
    raise AssertionError(f"no strategy for {tp!r}")


_MODEL_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {}


def model_strategy(cls: type) -> st.SearchStrategy[Any]:
    if cls not in _MODEL_STRATEGIES:
        attrs.resolve_types(cls)
        fields = {f.alias or f.name: strategy(f.type) for f in attrs.fields(cls) if f.init}
        _MODEL_STRATEGIES[cls] = st.builds(cls, **fields)
    return _MODEL_STRATEGIES[cls]


@pytest.mark.parametrize("cls", MODEL_TYPES, ids=lambda c: c.__name__)
def test_round_trip(cls: type) -> None:
    @(KEY_SETTINGS if cls in KEY_TYPES else SETTINGS)
    @given(model_strategy(cls))
    def check(value: Any) -> None:
        wire = value.to_dict()
        assert cls.from_dict(wire) == value
        text = value.to_json()
        assert json.loads(text) == wire
        assert cls.from_json(text) == value

    check()


@pytest.mark.parametrize("cls", RESPONSE_TYPES, ids=lambda c: c.__name__)
def test_responses_parse_any_json_or_raise_liter_llm_error(cls: type) -> None:
    @(KEY_SETTINGS if cls in KEY_TYPES else SETTINGS)
    @given(JSON | st.dictionaries(st.sampled_from([f.name for f in attrs.fields(cls)] + ["x"]), JSON, max_size=6))
    def check(data: Any) -> None:
        try:
            cls.from_dict(data)
        except LiterLlmError:
            pass

    check()


@KEY_SETTINGS
@given(st.dictionaries(st.sampled_from(["model", "messages", "tools", "stop", "tool_choice", "n", "x"]), JSON))
def test_requests_raise_only_bad_request(data: dict[str, Any]) -> None:
    try:
        t.ChatCompletionRequest.from_dict(data)
    except LiterLlmError:
        pass
