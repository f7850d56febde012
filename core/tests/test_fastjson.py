"""Answers decoded with orjson (``liter-llm[speedups]``) come out exactly as :mod:`json` decodes them;
request bodies encode exactly as ``json.dumps`` encodes them.

orjson is optional; where it is installed the client decodes whole answers and OpenAI stream events
with it (core/src/liter_llm/_fastjson.py). These tests hold its results to the standard library's
over generated documents (types, float rounding, ``-0.0``, huge integers, NaN, escapes, lone
surrogates, deep nesting, malformed text), hold a huge integer exact through both clients, and check
in fresh interpreters that orjson is imported by the first decode (not by the import) and not at all
with ``LITER_LLM_ORJSON=0``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liter_llm._fastjson import UNSET, fast_loads
from liter_llm._wire import _loads_text
from liter_llm.errors import BadRequestError
from liter_llm.wire import dump_json

try:
    import orjson  # noqa: F401 (the workspace installs it: the speedups extra)
except ImportError:  # pragma: no cover - the comparisons with json still run
    HAVE_ORJSON = False
else:
    HAVE_ORJSON = True
needs_orjson = pytest.mark.skipif(not HAVE_ORJSON, reason="orjson is not installed")

CLIENTS = S.MockClients(max_retries=0)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1`` is not ``1.0``, ``-0.0`` is not ``0.0``, NaN is NaN)."""
    pending = [(a, b)]  # a stack, not recursion: the documents nest deeper than the recursion limit
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if repr(x) != repr(y):
                return False
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            pending.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def decoded(text: str) -> tuple[str, Any]:
    """What the client's decoding makes of ``text``: ``("ok", value)`` or ``("error", kind)``."""
    try:
        return ("ok", _loads_text(text))
    except ValueError as exc:
        return ("error", type(exc).__name__)
    except RecursionError:
        return ("error", "RecursionError")


def stdlib(text: str) -> tuple[str, Any]:
    try:
        return ("ok", json.loads(text))
    except ValueError as exc:
        return ("error", type(exc).__name__)
    except RecursionError:
        return ("error", "RecursionError")


def assert_as_json(text: str) -> None:
    ours, theirs = decoded(text), stdlib(text)
    assert ours[0] == theirs[0], (text[:80], ours, theirs)
    if ours[0] == "ok":
        assert same(ours[1], theirs[1]), (text[:80], ours, theirs)
    else:
        assert ours == theirs


scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: outside 64 bits too
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u2028", "é", "😀", '"\\/'])
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.booleans())
def test_generated_documents_decode_as_json_decodes_them(value: Any, ascii_only: bool) -> None:
    assert_as_json(json.dumps(value, ensure_ascii=ascii_only))


@settings(max_examples=300, deadline=None)
@given(documents, st.integers(min_value=0, max_value=40), st.binary(min_size=1, max_size=3))
def test_damaged_documents_fail_or_decode_as_json_does(value: Any, at: int, junk: bytes) -> None:
    text = json.dumps(value)
    cut = min(at, len(text))
    assert_as_json(text[:cut] + junk.decode("latin-1") + text[cut:])
    assert_as_json(text[:cut])


@pytest.mark.parametrize(
    "text",
    [
        "1e400",
        "-1e400",
        "[1e-400, 5e-324, 2.2250738585072011e-308, 0.30000000000000004]",
        "[-0, -0.0, 0, 1.0, 1E5]",
        "[9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809]",
        "[18446744073709551615, 18446744073709551616, 123456789012345678901234567890]",
        '{"n": 12345678901234567890123, "s": "1234567890123456789"}',
        "[NaN, Infinity, -Infinity]",
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        "[" * 2000 + "]" * 2000,
        "[" * 600 + "]" * 600,
        '{"a": 1} ',
        ' {"a": 1}',
        '{"a": 1}x',
        "\ufeff{}",
        "",
        '"\t"',
    ],
)
def test_edge_cases_decode_as_json_decodes_them(text: str) -> None:
    assert_as_json(text)


@needs_orjson
def test_a_long_digit_run_is_left_to_json() -> None:
    """orjson would make ``2**64`` a float: a document with 19 digits in a row is json's to decode."""
    assert fast_loads(b'{"n": 1}') == {"n": 1}
    assert fast_loads(b'{"n": 18446744073709551616}') is UNSET
    assert fast_loads('{"s": "1234567890123456789"}') is UNSET  # inside a string too: json decides, the same
    assert fast_loads(b'{"n": NaN}') is UNSET
    assert fast_loads("\ud800") is UNSET
    assert fast_loads(bytearray(b'{"n": 1}')) is UNSET  # not bytes: json's, as before


def test_load_json_takes_what_it_took_before() -> None:
    """The SDK's ``load_json`` decodes bytes and a bytearray alike (orjson or not); the call is only for errors."""
    from liter_llm.wire import load_json

    no_call: Any = None
    for content in (b'{"a": [1, 2.5]}', bytearray(b'{"a": [1, 2.5]}')):
        assert load_json(no_call, content) == {"a": [1, 2.5]}


def _answer_with(created: int, total: int) -> httpx.Response:
    body = json.loads(S.openai_response("gpt-4o").content)
    body["created"] = created
    body["usage"] = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": total}
    return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def test_a_huge_integer_in_an_answer_stays_exact_through_both_clients(mode: str) -> None:
    huge = 2**70 + 1
    with CLIENTS.twin(mode, lambda request: _answer_with(huge, 3)) as client:
        answer = client.chat(model="gpt-4o", messages=S.MESSAGES)
    assert answer.created == huge
    assert type(answer.created) is int
    assert answer.usage.total_tokens == 3


def test_a_huge_integer_in_a_stream_event_stays_exact_through_both_clients(mode: str) -> None:
    huge = -(2**65 + 3)  # not a float exactly
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": huge,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": "hi 1e400"}, "finish_reason": None}],
    }
    content = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})

    with CLIENTS.twin(mode, handler) as client:
        chunks = client.collect(model="gpt-4o", messages=S.MESSAGES)
    assert [c.created for c in chunks] == [huge]
    assert chunks[0].choices[0].delta.content == "hi 1e400"


_PROBE = r"""
import json, sys
import httpx
import liter_llm
after_import = "orjson" in sys.modules
body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}
transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
with liter_llm.create_client(api_key="sk-test", base_url="http://127.0.0.1:9/v1", transport=transport) as client:
    after_create = "orjson" in sys.modules
    text = client.chat(model="m", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
print(json.dumps([after_import, after_create, "orjson" in sys.modules, text]))
"""


@pytest.mark.parametrize(("setting", "used"), [pytest.param(None, True, marks=needs_orjson), ("0", False)])
def test_orjson_is_imported_by_the_first_decode_and_not_when_turned_off(setting: str | None, used: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LITER_LLM_ORJSON"}
    if setting is not None:
        env["LITER_LLM_ORJSON"] = setting
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout
    after_import, after_create, after_chat, text = json.loads(out.strip().splitlines()[-1])
    assert (after_import, after_create, after_chat, text) == (False, False, used, "hi")


def test_floats_round_alike() -> None:
    """The decimal forms of doubles decode to the same doubles (orjson has its own float parser)."""
    values = [math.pi, 1 / 3, 2.0**-1074, 1.7976931348623157e308, 123456.789e-20, 9007199254740993.0]
    for value in values:
        for text in (repr(value), f"{value:.25e}", f"{value:.17g}"):
            assert_as_json(text)


# ---------------------------------------------------------------------------
# Encoding: the request body, through json's C encoder made once
# ---------------------------------------------------------------------------


def _as_json_dumps(value: Any) -> tuple[str, Any]:
    try:
        return ("ok", json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        return ("error", str(exc))


def _as_dump_json(value: Any) -> tuple[str, Any]:
    try:
        return ("ok", dump_json(value))
    except BadRequestError as exc:
        return ("error", exc.message.removeprefix("the request body cannot be encoded as JSON: "))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents | st.dictionaries(st.integers() | st.booleans() | st.none() | st.floats(), scalars, max_size=4))
def test_a_body_encodes_as_json_dumps_encodes_it(value: Any) -> None:
    """The same bytes (non-string keys, NaN refused, surrogates, huge integers, floats' repr), or the same error."""
    assert _as_dump_json(value) == _as_json_dumps(value)


def test_what_json_cannot_encode_is_a_bad_request_error() -> None:
    circular: dict[str, Any] = {"a": []}
    circular["a"].append(circular)
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    for body in (circular, deep, {"when": object()}, {"x": float("nan")}, {"b": b"bytes"}, {(1, 2): 3}):
        with pytest.raises(BadRequestError, match="cannot be encoded as JSON"):
            dump_json(body)
    assert dump_json({"ok": [1, 2.5, None, True, "é"]}) == '{"ok":[1,2.5,null,true,"é"]}'.encode()
    # a body shared by threads or tasks at once is no circular reference: nothing is kept between calls
    shared = {"messages": [{"role": "user", "content": "hi"}]}
    assert dump_json({"a": shared, "b": shared}) == b'{"a":{"messages":[{"role":"user","content":"hi"}]},' + (
        b'"b":{"messages":[{"role":"user","content":"hi"}]}}'
    )
