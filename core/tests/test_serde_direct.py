"""The lenient parsers build plain slotted classes without their ``__init__``: the result is the same object."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from liter_llm import types as t
from liter_llm._serde import structure_response
from liter_llm.errors import SerializationError

RESPONSE_TYPES = sorted(t.RESPONSE_TYPES, key=lambda cls: cls.__name__)


def _by_init(cls: type, parsed: Any) -> Any:
    """The class's own ``__init__`` given the parsed required fields (the rest left to its defaults)."""
    kwargs: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING:
            kwargs[field.alias or field.name] = getattr(parsed, field.name)
    return cls(**kwargs)


@pytest.mark.parametrize("cls", RESPONSE_TYPES, ids=lambda cls: cls.__name__)
def test_an_empty_answer_sets_every_field_as_init_would(cls: type) -> None:
    parsed = structure_response({}, cls)
    assert type(parsed) is cls
    for field in attrs.fields(cls):
        getattr(parsed, field.name)  # every slot is set
    assert parsed == _by_init(cls, parsed)
    again = structure_response({}, cls)
    for field in attrs.fields(cls):
        value = getattr(parsed, field.name)
        if isinstance(field.default, attrs.Factory) and isinstance(value, (list, dict)):  # type: ignore[arg-type]
            assert getattr(again, field.name) is not value  # a fresh container per object, as the factory gives


def test_a_chunk_with_usage_is_equal_to_the_constructed_one() -> None:
    payload = {
        "id": "c1",
        "created": 3,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi", "tool_calls": None}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    expected = t.ChatCompletionChunk(
        id="c1",
        created=3,
        model="m",
        choices=[
            t.StreamChoice(index=0, delta=t.StreamDelta(content="hi"), finish_reason=t.FinishReason.STOP),
        ],
        usage=t.Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3),
    )
    assert structure_response(payload, t.ChatCompletionChunk) == expected


@attrs.define(kw_only=True, slots=True)
class _Checked:
    count: int = attrs.field(default=0, validator=attrs.validators.ge(0))


@attrs.define(kw_only=True, slots=True)
class _PostInit:
    name: str = ""
    seen: list[str] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        self.seen.append("post_init")


def test_a_class_with_a_validator_or_post_init_still_goes_through_its_init() -> None:
    assert structure_response({"count": 2}, _Checked).count == 2
    with pytest.raises(SerializationError):
        structure_response({"count": -1}, _Checked)
    assert structure_response({"name": "x"}, _PostInit).seen == ["post_init"]
