"""Structured output: schema generation, strict structuring, partial JSON, parse/parse_stream through both clients."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import pickle
import re
from pathlib import Path
from typing import Any, Literal, Optional, TypedDict

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liter_llm
from liter_llm.errors import BadRequestError, StructuredOutputError, StructuredOutputRefusalError
from liter_llm.structured import OutputSpec, json_schema, parse_partial_json, strict_schema, structure
from liter_llm.testing import RecordingTransport, openai_chat_body, openai_chunk, sse_body


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.define
class Pet:
    """A pet."""

    name: str
    kind: Literal["cat", "dog"]


@attrs.define
class Person:
    """A person.

    Attributes:
        name: the full name
    """

    name: str
    age: int = attrs.field(metadata={"description": "age in years"})
    color: Color | None = None
    pets: list[Pet] = attrs.Factory(list)


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0
    label: Optional[str] = None  # noqa: UP045


class Movie(TypedDict, total=False):
    title: str
    year: int


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node] = dataclasses.field(default_factory=list)


USER = [{"role": "user", "content": "Tell me about Ada"}]
ADA = {"name": "Ada", "age": 36, "color": "blue", "pets": [{"name": "Rex", "kind": "dog"}]}


# -- schema ---------------------------------------------------------------------


def test_schema_of_a_nested_attrs_class() -> None:
    schema = json_schema(Person)
    assert schema["type"] == "object"
    assert schema["description"] == "A person."
    assert schema["required"] == ["name", "age"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["name"] == {"type": "string", "description": "the full name"}
    assert props["age"] == {"type": "integer", "description": "age in years"}
    assert props["color"] == {"anyOf": [{"enum": ["red", "blue"], "type": "string"}, {"type": "null"}]}
    assert props["pets"] == {"type": "array", "items": {"$ref": "#/$defs/Pet"}}
    pet = schema["$defs"]["Pet"]
    assert pet["properties"]["kind"] == {"enum": ["cat", "dog"], "type": "string"}
    assert pet["description"] == "A pet."


def test_schema_of_dataclass_typeddict_and_compositions() -> None:
    point = json_schema(Point)
    assert point["required"] == ["x"]
    assert "description" not in point  # the dataclass's generated signature is no description
    assert point["properties"]["label"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    movie = json_schema(Movie)
    assert movie["required"] == []
    assert movie["properties"] == {"title": {"type": "string"}, "year": {"type": "integer"}}
    assert json_schema(list[Literal[1, 2]]) == {"type": "array", "items": {"enum": [1, 2], "type": "integer"}}
    assert json_schema(dict[str, int]) == {"type": "object", "additionalProperties": {"type": "integer"}}
    recursive = json_schema(Node)
    assert recursive["$ref"] == "#/$defs/Node"
    assert recursive["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}


def test_strict_schema_closes_objects_and_requires_every_property() -> None:
    strict, ok = strict_schema(json_schema(Person))
    assert ok
    assert strict["required"] == ["name", "age", "color", "pets"]
    assert strict["$defs"]["Pet"]["additionalProperties"] is False
    _, ok = strict_schema(json_schema(dict[str, int]))
    assert not ok  # a free-form object is never strict


def test_non_object_types_are_asked_for_wrapped() -> None:
    spec = OutputSpec(list[Pet])
    assert spec.wrapped
    assert spec.schema["required"] == ["value"]
    assert spec.check('{"value": [{"name": "Rex", "kind": "dog"}]}') == ([Pet("Rex", "dog")], [])
    assert not OutputSpec(Person).wrapped


def test_unsupported_types_are_a_bad_request() -> None:
    class Plain:
        pass

    with pytest.raises(BadRequestError, match="output_type"):
        json_schema(Plain)
    with pytest.raises(BadRequestError, match="keys are strings"):
        json_schema(dict[int, str])

    @attrs.define
    class Dangling:
        other: Missing  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(BadRequestError, match="cannot be resolved"):
        json_schema(Dangling)


def test_a_pydantic_model_is_duck_typed() -> None:
    pydantic = pytest.importorskip("pydantic")

    class City(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        name: str
        population: int

    spec = OutputSpec(City)
    assert spec.schema["properties"]["population"]["type"] == "integer"
    assert spec.schema["additionalProperties"] is False
    value, problems = spec.check('{"name": "Oslo", "population": 700000}')
    assert problems == []
    assert value.population == 700000
    _, problems = spec.check('{"name": "Oslo", "population": "many"}')
    assert [p.path for p in problems] == ["$.population"]


# -- structuring ----------------------------------------------------------------


def test_structure_is_strict_and_names_paths() -> None:
    assert structure(ADA, Person) == Person("Ada", 36, Color.BLUE, [Pet("Rex", "dog")])
    bad = {"name": "Ada", "age": "36", "color": "green", "pets": [{"name": "Rex", "kind": "cow", "x": 1}]}
    with pytest.raises(StructuredOutputError) as info:
        structure(bad, Person)
    paths = {p.path for p in info.value.problems}
    assert {"$.age", "$.color", "$.pets[0].kind", "$.pets[0]"} <= paths
    with pytest.raises(StructuredOutputError, match="expected an integer, got a boolean"):
        structure({"name": "a", "age": True}, Person)
    with pytest.raises(StructuredOutputError, match="expected an array"):
        structure({"name": "a", "age": 1, "pets": "ab"}, Person)
    assert structure({"x": 1}, Point) == Point(1.0)
    assert structure({"title": "Up"}, Movie) == {"title": "Up"}


@attrs.define
class Tagged:
    tags: set[str]
    pair: tuple[int, str]
    many: tuple[int, ...] = ()


def test_sets_and_tuples_are_strict_arrays() -> None:
    spec = OutputSpec(Tagged)
    assert spec.check('{"tags": ["a", "a"], "pair": [1, "x"], "many": [1, 2]}') == (Tagged({"a"}, (1, "x"), (1, 2)), [])
    _, problems = spec.check('{"tags": "ab", "pair": [1, "x", 3], "many": "12"}')
    assert [str(p) for p in problems] == [
        "$.tags: expected an array, got a string",
        "$.pair: expected 2 items, got 3",
        "$.many: expected an array, got a string",
    ]
    assert "uniqueItems" not in json.dumps(spec.schema)
    assert not spec.strict_ok  # a fixed-length tuple's prefixItems is not strict-compatible


def test_a_literal_error_lists_the_allowed_values() -> None:
    _, problems = OutputSpec(Pet).check('{"name": "Rex", "kind": "cow"}')
    assert [str(p) for p in problems] == ['$.kind: expected one of "cat", "dog"']


def test_partial_json_reads_prefixes() -> None:
    assert parse_partial_json("") is None
    assert parse_partial_json("{") == {}
    assert parse_partial_json('{"na') == {}
    assert parse_partial_json('{"name": "Al') == {"name": "Al"}
    assert parse_partial_json('{"name": "Al", "age": 3') == {"name": "Al", "age": 3}
    assert parse_partial_json('{"ok": tr') == {}
    assert parse_partial_json('{"ok": true, "l": [1, 2, ') == {"ok": True, "l": [1, 2]}
    assert parse_partial_json('{"s": "a\\"b\\u00') == {"s": 'a"b'}
    assert parse_partial_json('{"a": 1.') == {"a": 1}
    full = json.dumps(ADA)
    assert parse_partial_json(full) == ADA
    for end in range(len(full)):
        parse_partial_json(full[:end])  # never raises


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES, st.booleans(), st.booleans())
def test_partial_json_never_fails_on_a_prefix_and_reads_the_whole(value: Any, indent: bool, ascii: bool) -> None:
    text = json.dumps(value, indent=2 if indent else None, ensure_ascii=ascii)
    assert parse_partial_json(text) == value
    for end in range(len(text)):
        parse_partial_json(text[:end])


# -- through the clients --------------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FAKE_API_KEY", "k")
    return str(request.param)


def call(mode: str, transport: httpx.MockTransport, method: str, options: Any = None, **kwargs: Any) -> Any:
    """Run ``client.<method>(**kwargs)`` on a fresh sync or async client; a stream is read to the end."""
    opts = {"api_key": "k", "transport": transport, "max_retries": 0, **(options or {})}
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            result = getattr(client, method)(**kwargs)
            return list(result) if method == "parse_stream" else result

    async def run() -> Any:
        async with liter_llm.create_async_client(**opts) as client:
            if method == "parse_stream":
                return [item async for item in await client.parse_stream(**kwargs)]
            return await getattr(client, method)(**kwargs)

    return asyncio.run(run())


def answers(*bodies: dict[str, Any]) -> tuple[RecordingTransport, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=queue.pop(0))

    return RecordingTransport(handler), sent


def test_parse_sends_a_strict_json_schema_and_returns_the_instance(mode: str) -> None:
    transport, sent = answers(openai_chat_body(json.dumps(ADA)))
    result = call(mode, transport, "parse", model="fake/m", messages=USER, output_type=Person, temperature=0)
    assert result.parsed == Person("Ada", 36, Color.BLUE, [Pet("Rex", "dog")])
    assert len(result.attempts) == 1
    assert result.attempts[0].ok
    assert result.response.choices[0].message.content == json.dumps(ADA)
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["name", "age", "color", "pets"]
    assert sent[0]["temperature"] == 0


def test_an_invalid_answer_gets_a_repair_turn_naming_the_errors(mode: str) -> None:
    bad = '{"name": "Ada", "age": "thirty-six", "color": null, "pets": []}'
    transport, sent = answers(openai_chat_body(bad), openai_chat_body(json.dumps(ADA)))
    result = call(mode, transport, "parse", model="fake/m", messages=USER, output_type=Person)
    assert result.parsed.age == 36
    assert len(result.attempts) == 2
    assert result.attempts[0].raw == bad
    assert result.attempts[0].errors == ("$.age: expected an integer, got a string",)
    repair = sent[1]["messages"]
    assert repair[:1] == USER
    assert repair[1] == {"role": "assistant", "content": bad}
    assert repair[2]["role"] == "user"
    assert "$.age: expected an integer" in repair[2]["content"]


def test_past_max_repairs_a_structured_output_error_carries_every_attempt(mode: str) -> None:
    transport, sent = answers(*[openai_chat_body("not json") for _ in range(3)])
    with pytest.raises(StructuredOutputError) as info:
        call(mode, transport, "parse", model="fake/m", messages=USER, output_type=Person, max_repairs=1)
    assert len(sent) == 2
    err = info.value
    assert isinstance(err, liter_llm.LiterLlmError)
    assert [a.raw for a in err.attempts] == ["not json", "not json"]
    assert all("not valid JSON" in a.errors[0] for a in err.attempts)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is StructuredOutputError
    assert len(again.attempts) == 2


def test_a_refusal_is_its_own_error_and_is_not_repaired(mode: str) -> None:
    body = openai_chat_body(None)
    body["choices"][0]["message"]["refusal"] = "I can't help with that."
    transport, sent = answers(body, openai_chat_body(json.dumps(ADA)))
    with pytest.raises(StructuredOutputRefusalError) as info:
        call(mode, transport, "parse", model="fake/m", messages=USER, output_type=Person)
    assert len(sent) == 1
    assert info.value.refusal == "I can't help with that."
    assert len(info.value.attempts) == 1


def test_every_attempt_is_priced(mode: str) -> None:
    transport, _ = answers(
        openai_chat_body("{}", model="gpt-4o-mini"), openai_chat_body(json.dumps(ADA), model="gpt-4o-mini")
    )
    options = {"cost_tracking": True}
    result = call(mode, transport, "parse", options, model="gpt-4o-mini", messages=USER, output_type=Person)
    costs = [a.response.cost for a in result.attempts]
    assert len(costs) == 2
    assert all(c is not None and c > 0 for c in costs)
    assert result.cost == pytest.approx(sum(costs))


def test_a_list_type_round_trips_through_the_wrapper(mode: str) -> None:
    answer = json.dumps({"value": [{"name": "Rex", "kind": "dog"}, {"name": "Tom", "kind": "cat"}]})
    transport, sent = answers(openai_chat_body(answer))
    result = call(mode, transport, "parse", model="fake/m", messages=USER, output_type=list[Pet])
    assert result.parsed == [Pet("Rex", "dog"), Pet("Tom", "cat")]
    assert sent[0]["response_format"]["json_schema"]["schema"]["properties"]["value"]["type"] == "array"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"max_repairs": -1}, "max_repairs"),
        ({"messages": []}, "messages"),
    ],
)
def test_bad_parse_arguments_are_refused_before_any_io(mode: str, kwargs: dict[str, Any], match: str) -> None:
    transport, sent = answers()
    args: dict[str, Any] = {"model": "fake/m", "messages": USER, "output_type": Person, **kwargs}
    with pytest.raises(BadRequestError, match=match):
        call(mode, transport, "parse", **args)
    assert sent == []


def stream_of(text: str, size: int = 7) -> bytes:
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    payloads = [openai_chunk(pieces[0], role="assistant")] + [openai_chunk(p) for p in pieces[1:]]
    return sse_body(*payloads, openai_chunk(finish="stop"))


def sse_answers(*bodies: bytes) -> tuple[RecordingTransport, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, content=queue.pop(0), headers={"content-type": "text/event-stream"})

    return RecordingTransport(handler), sent


def test_parse_stream_yields_growing_partials_then_the_instance(mode: str) -> None:
    transport, sent = sse_answers(stream_of(json.dumps(ADA)))
    items = call(mode, transport, "parse_stream", model="fake/m", messages=USER, output_type=Person)
    assert sent[0]["stream"] is True
    assert sent[0]["response_format"]["type"] == "json_schema"
    partials = [item.partial for item in items[:-1]]
    assert len(partials) > 3
    assert all(isinstance(p, dict) for p in partials)
    assert partials[-1] == ADA
    assert any(p.get("name") == "Ada" and "age" not in p for p in partials)
    assert not any(item.done for item in items[:-1])
    last = items[-1]
    assert last.done
    assert last.parsed == Person("Ada", 36, Color.BLUE, [Pet("Rex", "dog")])


def test_parse_stream_repairs_by_streaming_again(mode: str) -> None:
    transport, sent = sse_answers(stream_of('{"name": "Ada"}'), stream_of(json.dumps(ADA)))
    items = call(mode, transport, "parse_stream", model="fake/m", messages=USER, output_type=Person)
    assert len(sent) == 2
    assert "$.age" in sent[1]["messages"][-1]["content"] or "age" in sent[1]["messages"][-1]["content"]
    assert {item.attempt for item in items} == {0, 1}
    assert items[-1].done
    assert items[-1].parsed.name == "Ada"
    assert items[-1].attempt == 1


def test_parse_stream_past_max_repairs_raises(mode: str) -> None:
    transport, _ = sse_answers(stream_of("[1, 2]"))
    with pytest.raises(StructuredOutputError):
        call(mode, transport, "parse_stream", model="fake/m", messages=USER, output_type=Person, max_repairs=0)


def test_the_docs_page_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "structured-output.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) >= 6
    namespace: dict[str, Any] = {"__name__": "structured_output_docs"}
    for block in blocks:
        exec(compile(block, str(page), "exec", dont_inherit=True), namespace)
    assert "StructuredOutputError" in namespace


def test_every_attempt_counts_against_the_budget(mode: str) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
    one_call = 1000 * 2.5e-6 + 100 * 1e-5  # openai/gpt-4o's prices
    bodies = [openai_chat_body("not json", model="gpt-4o"), openai_chat_body(json.dumps(ADA), model="gpt-4o")]
    for body in bodies:
        body["usage"] = usage
    transport, sent = answers(*bodies)
    options = {"budget": {"global_limit": one_call}}
    with pytest.raises(liter_llm.BudgetExceededError):
        # max_tokens bounds what each attempt reserves: the first fits, the repair does not
        call(mode, transport, "parse", options, model="gpt-4o", messages=USER, output_type=Person, max_tokens=100)
    assert len(sent) == 1  # the repair was refused before it was sent
