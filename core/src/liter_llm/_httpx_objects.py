"""httpx's Request, Response and Headers built without their constructors, for the client's own hot path.

The plugin SDK's hooks are written against httpx's objects (``build_request`` returns an
``httpx.Request``, ``parse_response`` reads an ``httpx.Response``), so every call builds one of
each.  Their constructors normalise what the client has already normalised (a header set it keeps,
a URL it has parsed, an answer head it has split) and copy it: about 12,000 instructions each, a
twentieth of an async chat (docs/performance.md, "Fifth pass").  These functions set the same
attributes to the same values directly.

That is httpx's private layout (core/pyproject.toml admits 0.27 and 0.28).  The first use checks it:
it builds one object each way and compares their attributes; if they differ (another httpx), the
constructors are used from then on.  core/tests/test_httpx_objects.py compares the two for every
object the client builds.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__: list[str] = []

_new = object.__new__
#: whether the direct builds give httpx's own objects (``None``: not checked yet)
_direct: bool | None = None


def headers(items: list[tuple[bytes, bytes, bytes]]) -> httpx.Headers:
    """An ``httpx.Headers`` whose items are ``items`` (``(name, lowered name, value)``, all bytes), not copied."""
    made: httpx.Headers = _new(httpx.Headers)
    made._list = items
    made._encoding = None
    return made


def request(method: str, url: httpx.URL, kept: httpx.Headers, content: bytes) -> httpx.Request:
    """``httpx.Request(method, url, headers=kept, stream=httpx.ByteStream(content))`` with its body read.

    ``url`` is shared (httpx's URLs are immutable); the headers are a copy of ``kept``'s items.
    """
    if not (_direct if _direct is not None else _check()):
        built = httpx.Request(method, url, headers=kept, stream=httpx.ByteStream(content))
        built._content = content
        return built
    return _request(method, url, kept, content)


def _request(method: str, url: httpx.URL, kept: httpx.Headers, content: bytes) -> httpx.Request:
    stream: httpx.ByteStream = _new(httpx.ByteStream)
    stream._stream = content
    made: httpx.Request = _new(httpx.Request)
    # in the constructor's order (the instance's attributes then share their keys with every other's)
    made.method = method.upper()
    made.url = url
    made.headers = headers(list(kept._list))
    made.extensions = {}
    made.stream = stream
    made._content = content
    return made


def response(
    status: int,
    items: list[tuple[bytes, bytes, bytes]],
    stream: httpx.AsyncByteStream,
    request: httpx.Request,
    extensions: dict[str, Any],
) -> httpx.Response:
    """``httpx.Response(status, headers=..., stream=stream, request=request, extensions=extensions)``.

    The headers are ``items`` themselves (:func:`headers`), and ``extensions`` is not copied.
    """
    if not (_direct if _direct is not None else _check()):
        return httpx.Response(status, headers=headers(items), stream=stream, request=request, extensions=extensions)
    return _response(status, items, stream, request, extensions)


def _response(
    status: int,
    items: list[tuple[bytes, bytes, bytes]],
    stream: httpx.AsyncByteStream,
    request: httpx.Request,
    extensions: dict[str, Any],
) -> httpx.Response:
    made: httpx.Response = _new(httpx.Response)
    made.status_code = status
    made.headers = headers(items)
    made._request = request
    made.next_request = None
    made.extensions = extensions
    made.history = []
    made.is_closed = False
    made.is_stream_consumed = False
    made.default_encoding = "utf-8"
    made.stream = stream
    made._num_bytes_downloaded = 0
    return made


def _same(a: Any, b: Any) -> bool:
    """Whether two of httpx's objects hold the same attributes (names, types and, for plain values, values)."""
    one, other = vars(a), vars(b)
    if list(one) != list(other):
        return False
    for name, value in one.items():
        theirs = other[name]
        if type(value) is not type(theirs):
            return False
        if isinstance(value, (httpx.Headers, httpx.ByteStream, httpx.URL)):
            if not _same(value, theirs):
                return False
        elif not isinstance(value, (httpx.Request, httpx.AsyncByteStream)) and value != theirs:
            return False
    return True


def _check() -> bool:
    """Build one Request and one Response each way; the direct builds are used if they come out the same."""
    global _direct
    try:
        url = httpx.URL("http://127.0.0.1:1/check")
        kept = httpx.Headers([(b"Host", b"127.0.0.1:1"), (b"accept", b"*/*")])
        theirs = httpx.Request("POST", url, headers=kept, stream=httpx.ByteStream(b"{}"))
        theirs._content = b"{}"
        ours = _request("POST", url, kept, b"{}")
        items = [(b"Content-Length", b"content-length", b"0")]
        stream = httpx.AsyncByteStream()
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK"}
        their_answer = httpx.Response(
            200, headers=headers(list(items)), stream=stream, request=theirs, extensions=extensions
        )
        our_answer = _response(200, list(items), stream, ours, dict(extensions))
        same = _same(ours, theirs) and _same(our_answer, their_answer)
    except Exception:  # any surprise: httpx's constructors
        same = False
    _direct = same
    return same
