"""The fast path for common stream chunks gives exactly what the general lenient parser gives."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liter_llm import types as t
from liter_llm._serde import structure_response
from liter_llm._wire import _loads_text, fast_chunk

_text = st.one_of(st.none(), st.text(max_size=8), st.integers(), st.booleans())
_finish = st.one_of(
    st.none(), st.sampled_from(["stop", "length", "tool_calls", "content_filter", "weird", ""]), st.integers()
)
_delta = st.dictionaries(
    st.sampled_from(["role", "content", "refusal", "reasoning", "tool_calls", "extra"]), _text, max_size=4
)
_choice = st.fixed_dictionaries(
    {},
    optional={
        "index": st.one_of(st.integers(0, 3), st.booleans(), st.text(max_size=2)),
        "delta": st.one_of(_delta, st.none(), st.integers()),
        "finish_reason": _finish,
        "logprobs": st.one_of(st.none(), st.just({"content": []})),
        "other": st.integers(),
    },
)
_chunk = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=6), st.integers(), st.none()),
        "object": st.one_of(st.just("chat.completion.chunk"), st.integers()),
        "created": st.one_of(st.integers(0, 2**40), st.booleans(), st.text(max_size=3)),
        "model": st.one_of(st.text(max_size=6), st.none()),
        "choices": st.one_of(st.lists(_choice, max_size=3), st.none(), st.text(max_size=2)),
        "usage": st.one_of(st.none(), st.just({"prompt_tokens": 1})),
        "system_fingerprint": st.one_of(st.none(), st.text(max_size=4), st.integers()),
        "service_tier": st.one_of(st.none(), st.text(max_size=4)),
        "unknown": st.integers(),
    },
)


def _general(payload: Any) -> Any:
    try:
        return structure_response(payload, t.ChatCompletionChunk)
    except Exception as exc:  # the general path may refuse; the fast path must then decline too
        return exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_chunk)
def test_fast_path_agrees_with_the_general_parser(payload: dict[str, Any]) -> None:
    fast = fast_chunk(payload)
    if fast is None:
        return
    assert fast == _general(payload)


def test_fast_path_takes_the_common_chunk() -> None:
    payload = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}],
    }
    chunk = fast_chunk(payload)
    assert chunk is not None
    assert chunk == structure_response(payload, t.ChatCompletionChunk)
    payload["choices"][0]["finish_reason"] = "stop"
    assert fast_chunk(payload) == structure_response(payload, t.ChatCompletionChunk)


def test_fast_path_declines_what_it_does_not_handle() -> None:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    assert fast_chunk({**base, "choices": [{"index": 0, "delta": {"tool_calls": []}}]}) is None
    assert fast_chunk({**base, "choices": [{"index": 0, "delta": {"reasoning": "x"}}]}) is None
    assert fast_chunk({**base, "choices": [], "usage": {"prompt_tokens": 1}}) is None
    assert fast_chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "weird"}]}) is None
    assert fast_chunk({**base, "created": True, "choices": []}) is None


def test_fast_path_builds_what_the_constructors_build() -> None:
    # the fast path stores every field itself: a field added to one of these classes must be stored there too
    payload = {
        "id": "c1",
        "created": 1,
        "model": "m",
        "system_fingerprint": "fp",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "Hi"}},
            {"index": 1, "delta": {"refusal": "no"}, "finish_reason": "stop"},
        ],
    }
    chunk = fast_chunk(payload)
    expected = t.ChatCompletionChunk(
        id="c1",
        created=1,
        model="m",
        system_fingerprint="fp",
        choices=[
            t.StreamChoice(index=0, delta=t.StreamDelta(role="assistant", content="Hi")),
            t.StreamChoice(index=1, delta=t.StreamDelta(refusal="no"), finish_reason=t.FinishReason.STOP),
        ],
    )
    assert chunk == expected
    assert chunk is not None
    for obj in (chunk, chunk.choices[0], chunk.choices[0].delta):
        for field in attrs.fields(type(obj)):
            getattr(obj, field.name)  # every slot is set
    assert chunk.choices[0].delta.tool_calls is not chunk.choices[1].delta.tool_calls


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _outcome(load: Any, text: str) -> Any:
    try:
        return load(text)
    except ValueError as exc:
        return ("error", str(exc))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        _json_values.map(lambda value: json.dumps(value, separators=(",", ":"))),
        st.tuples(_json_values, st.sampled_from(["", " ", "\n", "x", "\ufeff", "}"]), st.booleans()).map(
            lambda v: (v[1] + json.dumps(v[0])) if v[2] else (json.dumps(v[0]) + v[1])
        ),
        st.text(max_size=12),
    )
)
def test_stream_event_json_is_read_as_json_loads_reads_it(text: str) -> None:
    assert _outcome(_loads_text, text) == _outcome(json.loads, text)
