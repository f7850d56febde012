"""A JSON request is built without httpx's content encoding, and is the request httpx would build, in both clients.

``_wire._json_request`` puts ``Host`` in its cached headers and sets ``Content-Length`` itself instead of
``httpx.Request(content=...)`` doing both per request (issue #16). These tests hold the result equal to what
httpx builds from the same method, URL, headers and body: the same header names, values and order, the body
readable as ``request.content``, and the same body again when the request is retried. The answer's JSON
is decoded directly as UTF-8 when it starts with ``{``; the last tests hold every encoding ``json.loads``
reads (byte-order marks, UTF-16/32) and the error for a body that is not UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm.errors import SerializationError

CLIENTS = S.MockClients(max_retries=1)
_AUTO = {b"content-length", b"authorization"}


def _as_httpx_builds(request: httpx.Request) -> httpx.Request:
    """What ``httpx.Request(content=...)`` makes of ``request``'s method, URL, own headers and body.

    The key is set afterwards, by the auth flow of each attempt, as it always was.
    """
    raw = request.headers.raw
    if raw and raw[0] == (b"Host", request.url.netloc):
        raw = raw[1:]  # httpx's own Host (a Host from the caller's headers stays where it is)
    own = [(name, value) for name, value in raw if name.lower() not in _AUTO]
    built = httpx.Request(request.method, request.url, headers=own, content=request.content)
    built.headers["authorization"] = request.headers["authorization"]
    return built


def _recorder(seen: list[httpx.Request], fail_first: int = 0) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= fail_first:
            return httpx.Response(500, json={"error": {"message": "try again"}})
        return S.openai_response("gpt-4o")

    return handler


def test_chat_request_is_the_one_httpx_builds(mode: str) -> None:
    seen: list[httpx.Request] = []
    with CLIENTS.twin(mode, _recorder(seen)) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES, temperature=0.5)
    (request,) = seen
    expected = _as_httpx_builds(request)
    assert request.headers.raw == expected.headers.raw
    assert request.headers.raw[0] == (b"Host", request.url.netloc)
    assert request.headers["content-length"] == str(len(request.content))
    assert json.loads(request.content) == {"model": "gpt-4o", "messages": S.MESSAGES, "temperature": 0.5}


def test_host_first_and_length_last(mode: str) -> None:
    seen: list[httpx.Request] = []
    with CLIENTS.twin(mode, _recorder(seen)) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
    names = [name.lower() for name, _ in seen[0].headers.raw]
    assert names[0] == b"host"
    assert names[-2:] == [b"content-length", b"authorization"]  # the key comes with the attempt
    assert names.count(b"host") == names.count(b"content-length") == 1
    assert seen[0].headers["host"] == seen[0].url.netloc.decode("ascii")


def test_a_host_header_given_is_kept_and_not_doubled(mode: str) -> None:
    seen: list[httpx.Request] = []
    with CLIENTS.twin(mode, _recorder(seen), extra_headers={"Host": "gateway.internal"}) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
    (request,) = seen
    assert request.headers.get_list("host") == ["gateway.internal"]
    assert request.headers.raw == _as_httpx_builds(request).headers.raw


def test_a_retried_request_sends_the_same_body(mode: str) -> None:
    seen: list[httpx.Request] = []
    with CLIENTS.twin(mode, _recorder(seen, fail_first=1), retry_initial_delay=0) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
    assert len(seen) == 2
    assert seen[0].content == seen[1].content
    assert seen[1].headers["content-length"] == str(len(seen[1].content))


def test_each_body_gets_its_own_length(mode: str) -> None:
    seen: list[httpx.Request] = []
    with CLIENTS.twin(mode, _recorder(seen)) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
        client.chat(model="gpt-4o", messages=[{"role": "user", "content": "a much longer question " * 20}])
    first, second = seen
    assert first.headers["content-length"] == str(len(first.content))
    assert second.headers["content-length"] == str(len(second.content))
    assert len(second.content) > len(first.content)
    assert [n for n, _ in first.headers.raw] == [n for n, _ in second.headers.raw]


# The answer's JSON: a body starting with "{" is decoded as UTF-8 directly; every other body as json.loads does.

_ANSWER = json.loads(S.openai_response("gpt-4o", "héllo ✓").content)


def _answering(body: bytes) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return handler


def test_answers_in_every_encoding_json_reads(mode: str) -> None:
    text = json.dumps(_ANSWER, ensure_ascii=False)
    bodies = [
        text.encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),  # UTF-8 with a byte-order mark
        text.encode("utf-16"),  # with its byte-order mark
        text.encode("utf-16-le"),  # "{" then a zero byte
        text.encode("utf-32-be"),
        b"  \n" + text.encode("utf-8"),  # leading whitespace
    ]
    for body in bodies:
        with CLIENTS.twin(mode, _answering(body)) as client:
            answer = client.chat(model="gpt-4o", messages=S.MESSAGES)
        assert answer.choices[0].message.content == "héllo ✓", body[:8]


def test_an_answer_that_is_not_utf8_is_a_serialization_error(mode: str) -> None:
    text = json.dumps(_ANSWER).encode("utf-8")
    body = text.replace(b'"gpt-4o"', b'"\xff\xfe"', 1)
    assert body != text
    with CLIENTS.twin(mode, _answering(body)) as client, pytest.raises(SerializationError) as caught:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
    assert "UTF-8" in str(caught.value)


def test_a_length_or_key_header_given_is_replaced_not_doubled(mode: str) -> None:
    """A ``Content-Length`` or ``Authorization`` among the extra headers: the real length and the client's key
    replace it, one of each (as ``request.headers[name] = value`` does), through both clients."""
    seen: list[httpx.Request] = []
    given = {"Content-Length": "999", "authorization": "Bearer not-the-key"}
    with CLIENTS.twin(mode, _recorder(seen), extra_headers=given) as client:
        client.chat(model="gpt-4o", messages=S.MESSAGES)
    (request,) = seen
    assert request.headers.get_list("content-length") == [str(len(request.content))]
    assert request.headers.get_list("authorization") == ["Bearer sk-test"]  # MockClients' key
    assert request.headers.raw == _as_httpx_builds(request).headers.raw
