"""Record and replay real liter-llm calls for your own tests: cassettes made for LLM traffic.

::

    from liter_llm_record import cassette

    with cassette("tests/cassettes/hello.json"):        # mode="once": records the first time,
        with liter_llm.create_client() as client:        # replays offline ever after
            client.chat(model="openai/gpt-4o-mini", messages=[...])

While a cassette is active, every client that makes its first call to a
provider gets its HTTP transport from the cassette (the ``create_transport``
hook of this package's global plugin), so the call goes through the real client
and pipeline -- retries, streams, parsers, hooks -- and only the bytes on the
wire are recorded or replayed:

* JSON bodies are kept as JSON, a streamed answer as the list of the chunks
  it arrived in (text when it is UTF-8, e.g. each SSE block; base64 for binary
  event streams), multipart and other bodies as text or base64; an answer the
  provider compressed (gzip, deflate, br, zstd, where this machine has the
  decoder) is decoded as it arrives and stored decoded (``decoded_from``);
* secrets are scrubbed before anything is written: credential headers
  (``Authorization``, ``x-api-key``, ``api-key``, ``x-goog-api-key``,
  AWS signature headers, cookies, and any header whose name says key, token,
  secret, auth, signature or credential) are left out, credential query
  parameters are replaced by ``REDACTED``, and the value of every credential
  header sent is replaced wherever else it appears (a body, a URL, an error
  message echoed back);
* replay matches each request on its method, its URL without credentials and
  its canonical body (JSON with sorted keys), each recording used once, in
  order (a retried call replays its failures, then its success); a request
  with no recording raises :class:`CassetteError` naming the closest one;
  :meth:`Cassette.unused` lists the recordings no request used.

Modes: ``"once"`` (replay when the file exists, else record), ``"record"``
(always record, overwriting), ``"replay"`` (never touch the network; a missing
file is an error), ``"none"`` (the cassette stays out of the way).

The pytest fixture ``llm_cassette`` (with the marker
``@pytest.mark.llm_cassette(path=..., mode=...)`` and the option
``--llm-record-mode``) comes with this package: see
:mod:`liter_llm_record.pytest_plugin`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import httpx

from liter_llm import LiterLlmError, hookimpl

if TYPE_CHECKING:
    from liter_llm.providers import ProviderSpec

__all__ = ["MODES", "Cassette", "CassetteError", "active", "cassette", "default_matcher", "request_key"]

FORMAT_VERSION = 1
MODES = ("once", "record", "replay", "none")
REDACTED = "REDACTED"

#: header names never written to a cassette (compared lower-case), besides any matching _SECRET_NAME
_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "x-amz-date",
        "x-amz-content-sha256",
    }
)
_SECRET_NAME = r"(?i)key|token|secret|auth|signature|credential|password|x-amz-"  # compiled on first use (re's cache)
#: headers that say nothing about the exchange and change on every run
_NOISE_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "host", "user-agent", "accept-encoding", "connection", "date"}
)
_BOUNDARY = r"boundary=\"?([^\";]+)\"?"

Matcher = Callable[[dict[str, Any], dict[str, Any]], bool]


class CassetteError(LiterLlmError):
    """A cassette cannot serve a request (no recording matches, a missing file in replay mode), or a bad mode."""


# ---------------------------------------------------------------------------
# Normalisation and scrubbing
# ---------------------------------------------------------------------------


def _secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or bool(re.search(_SECRET_NAME, lowered))


def _scrub_url(url: httpx.URL) -> str:
    """The URL without user info, its credential query parameters replaced by ``REDACTED``."""
    query = [
        (k, REDACTED if _secret_header(k) or k.lower() in {"sig", "key"} else v)
        for k, v in parse_qsl(url.query.decode(), keep_blank_values=True)
    ]
    clean = url.copy_with(username=None, password=None, query=urlencode(query).encode() if query else None)
    return str(clean)


def _scrub_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _secrets_of(request: httpx.Request) -> list[str]:
    """Every credential the request carries (header values, bearer tokens, credential query values)."""
    found: list[str] = []
    for name, value in request.headers.items():
        if _secret_header(name) and name.lower() not in {"x-amz-date", "x-amz-content-sha256"}:
            found.append(value)
            if " " in value:
                found.append(value.split(" ", 1)[1])
    for name, value in parse_qsl(request.url.query.decode(), keep_blank_values=True):
        if _secret_header(name) or name.lower() in {"sig", "key"}:
            found.append(value)
    # longest first, so that "Bearer sk-..." goes before "sk-..."
    return sorted({s for s in found if len(s) >= 6}, key=len, reverse=True)


def _body(content: bytes, content_type: str, secrets: list[str]) -> dict[str, Any]:
    if not content:
        return {}
    if "json" in content_type:
        try:
            return {"json": json.loads(_scrub_text(content.decode("utf-8"), secrets))}
        except ValueError:
            pass
    try:
        return {"text": _scrub_text(content.decode("utf-8"), secrets)}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


def _body_bytes(body: dict[str, Any]) -> bytes:
    if "json" in body:
        return json.dumps(body["json"]).encode()
    if "text" in body:
        return str(body["text"]).encode()
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return b""


def _chunk(data: bytes, secrets: list[str]) -> Any:
    try:
        return _scrub_text(data.decode("utf-8"), secrets)
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _chunk_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode()
    return base64.b64decode(chunk["base64"])


def _headers(headers: httpx.Headers, secrets: list[str]) -> dict[str, str]:
    return {
        name.lower(): _scrub_text(value, secrets)
        for name, value in headers.items()
        if not _secret_header(name) and name.lower() not in _NOISE_HEADERS
    }


def request_key(recorded: dict[str, Any]) -> tuple[str, str, str]:
    """The normalised ``(method, url, body)`` of a recorded request: what the default matcher compares."""
    body = recorded.get("body") or {}
    canonical = json.dumps(body["json"], sort_keys=True) if "json" in body else json.dumps(body, sort_keys=True)
    return (recorded["method"].upper(), recorded["url"], canonical)


def default_matcher(request: dict[str, Any], recorded: dict[str, Any]) -> bool:
    """Match on the method, the URL without credentials and the canonical body."""
    return request_key(request) == request_key(recorded)


def _distance(a: dict[str, Any], b: dict[str, Any]) -> int:
    """How far two requests are: method and URL weigh most, then the body's differing characters."""
    ka, kb = request_key(a), request_key(b)
    score = (ka[0] != kb[0]) * 10_000 + (ka[1] != kb[1]) * 5_000
    body_a, body_b = ka[2], kb[2]
    score += abs(len(body_a) - len(body_b)) + sum(x != y for x, y in zip(body_a, body_b, strict=False))
    return score


def _describe(recorded: dict[str, Any]) -> str:
    method, url, body = request_key(recorded)
    return f"{method} {url} {body[:200]}"


# ---------------------------------------------------------------------------
# Compressed answers: stored decoded
# ---------------------------------------------------------------------------


class _Inflate:
    """One ``content-encoding`` step: gzip, deflate (zlib or raw), br (with brotli or brotlicffi), zstd."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.raw_deflate = False
        if encoding in ("gzip", "x-gzip"):
            self.inner: Any = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self.inner = zlib.decompressobj()
        elif encoding == "br":
            self.inner = _brotli_decompressor()
        elif encoding == "zstd":
            self.inner = _zstd_decompressor()
        else:
            self.inner = None

    def feed(self, data: bytes) -> bytes:
        try:
            if self.encoding == "deflate" and not self.raw_deflate:
                try:
                    return bytes(self.inner.decompress(data))
                except zlib.error:  # deflate without the zlib header (some servers send it raw)
                    self.raw_deflate = True
                    self.inner = zlib.decompressobj(-zlib.MAX_WBITS)
            if hasattr(self.inner, "process"):  # brotli
                return bytes(self.inner.process(data))
            return bytes(self.inner.decompress(data))
        except Exception as exc:
            raise httpx.DecodingError(f"the {self.encoding} answer could not be decoded: {exc}") from exc

    def flush(self) -> bytes:
        flush = getattr(self.inner, "flush", None)
        if flush is None:
            return b""
        try:
            return bytes(flush())
        except Exception as exc:
            raise httpx.DecodingError(f"the {self.encoding} answer could not be decoded: {exc}") from exc


def _brotli_decompressor() -> Any:
    try:
        import brotli

        return brotli.Decompressor()
    except ImportError:
        pass
    try:
        import brotlicffi

        return brotlicffi.Decompressor()
    except ImportError:
        return None


def _zstd_decompressor() -> Any:
    try:
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()
    except ImportError:
        return None


class _Decoding:
    """Undo every ``content-encoding`` of an answer, last applied first; ``None`` from :meth:`of` when it has
    none, or one this machine cannot decode (then the answer is kept as it came, and still replays)."""

    def __init__(self, steps: list[_Inflate], encoding: str) -> None:
        self.steps = steps
        self.encoding = encoding

    @classmethod
    def of(cls, header: str) -> _Decoding | None:
        names = [part.strip().lower() for part in header.split(",") if part.strip()]
        names = [name for name in names if name != "identity"]
        if not names:
            return None
        steps = [_Inflate(name) for name in reversed(names)]
        if any(step.inner is None for step in steps):
            return None
        return cls(steps, ", ".join(names))

    def feed(self, data: bytes) -> bytes:
        for step in self.steps:
            data = step.feed(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for step in self.steps:
            data = (step.feed(data) if data else b"") + step.flush()
        return data


def _decoded(response: httpx.Response, decoding: _Decoding) -> httpx.Headers:
    """The answer's headers for its decoded body: no ``content-encoding``, no ``content-length``."""
    headers = response.headers.copy()
    del headers["content-encoding"]
    if "content-length" in headers:
        del headers["content-length"]
    return headers


# ---------------------------------------------------------------------------
# The cassette
# ---------------------------------------------------------------------------


class Cassette:
    """Recorded exchanges of one file; use through :func:`cassette`."""

    def __init__(self, path: str | Path, mode: str = "once", *, matcher: Matcher | None = None) -> None:
        if mode not in MODES:
            raise CassetteError(f"cassette mode {mode!r}: must be one of {', '.join(MODES)}")
        self.path = Path(path)
        self.matcher: Matcher = matcher or default_matcher
        if mode == "once":
            mode = "replay" if self.path.exists() else "record"
        self.mode = mode
        self.interactions: list[dict[str, Any]] = []
        self._used: set[int] = set()
        self._lock = threading.Lock()
        if mode == "replay":
            if not self.path.exists():
                raise CassetteError(f"cassette {self.path} does not exist (replay mode never records)")
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.interactions = list(data["interactions"])
            except (ValueError, KeyError, TypeError) as exc:
                raise CassetteError(f"cassette {self.path} is not a liter-llm cassette: {exc}") from exc

    @property
    def recording(self) -> bool:
        """True in record mode (the network is used and every exchange is kept)."""
        return self.mode == "record"

    def unused(self) -> list[dict[str, Any]]:
        """The recorded exchanges no request used (replay mode)."""
        return [entry for index, entry in enumerate(self.interactions) if index not in self._used]

    # -- recording --------------------------------------------------------------------------------

    def _request_record(self, request: httpx.Request, secrets: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "method": request.method,
            "url": _scrub_text(_scrub_url(request.url), secrets),
            "headers": _headers(request.headers, secrets),
        }
        content_type = request.headers.get("content-type", "")
        content = request.content
        boundary = re.search(_BOUNDARY, content_type) if content_type.startswith("multipart/") else None
        if boundary:
            # a multipart boundary is random on every request: keep a fixed one, so that the body matches
            content = content.replace(boundary.group(1).encode(), b"BOUNDARY")
            record["headers"]["content-type"] = content_type.replace(boundary.group(1), "BOUNDARY")
        body = _body(content, content_type, secrets)
        if body:
            record["body"] = body
        return record

    def _add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.interactions.append(entry)

    def save(self) -> None:
        """Write the recorded exchanges (record mode); called when the cassette is left."""
        if not self.recording:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": FORMAT_VERSION, "interactions": self.interactions}
        self.path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    # -- replaying --------------------------------------------------------------------------------

    def _find(self, request: httpx.Request) -> dict[str, Any]:
        wanted = self._request_record(request, _secrets_of(request))
        with self._lock:
            for index, entry in enumerate(self.interactions):
                if index not in self._used and self.matcher(wanted, entry["request"]):
                    self._used.add(index)
                    return entry
        candidates = [entry["request"] for entry in self.interactions]
        closest = min(candidates, key=lambda r: _distance(wanted, r), default=None)
        hint = f"; the closest recorded one is {_describe(closest)}" if closest else "; it holds no recording"
        raise CassetteError(f"cassette {self.path} has no recording of {_describe(wanted)}{hint}")

    @staticmethod
    def _response(
        entry: dict[str, Any], request: httpx.Request, stream: httpx.SyncByteStream | httpx.AsyncByteStream
    ) -> httpx.Response:
        recorded = entry["response"]
        return httpx.Response(recorded["status"], headers=recorded.get("headers", {}), stream=stream, request=request)

    # -- the context manager ----------------------------------------------------------------------

    def __enter__(self) -> Cassette:
        with _ACTIVE_LOCK:
            _ACTIVE.append(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with _ACTIVE_LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
        self.save()

    def transport(self, is_async: bool) -> httpx.BaseTransport | httpx.AsyncBaseTransport | None:
        """The transport a client gets from this cassette (``None`` in mode ``"none"``)."""
        if self.mode == "none":
            return None
        if is_async:
            return _AsyncCassetteTransport(self)
        return _CassetteTransport(self)


def cassette(path: str | Path, mode: str = "once", *, matcher: Matcher | None = None) -> Cassette:
    """A cassette at ``path``, used as a context manager (``with cassette(...):``); see the module docstring.

    ``matcher(request, recorded)`` decides whether a recorded request answers
    a new one; both are the recorded form (``method``, ``url``, ``headers``,
    ``body``).  The default compares method, URL and canonical body.
    """
    return Cassette(path, mode, matcher=matcher)


#: the cassettes entered and not yet left, innermost last (process-wide: a client on another thread sees them)
_ACTIVE: list[Cassette] = []
_ACTIVE_LOCK = threading.Lock()


def active() -> Cassette | None:
    """The innermost active cassette, if any."""
    with _ACTIVE_LOCK:
        return _ACTIVE[-1] if _ACTIVE else None


# ---------------------------------------------------------------------------
# Transports
# ---------------------------------------------------------------------------


class _Tape:
    """Collects a response's chunks as the client reads them, and records the exchange when it ends."""

    def __init__(
        self,
        cassette: Cassette,
        request: dict[str, Any],
        status: int,
        headers: httpx.Headers,
        *,
        secrets: list[str],
        decoded_from: str | None = None,
    ) -> None:
        self.cassette = cassette
        self.request = request
        self.status = status
        self.headers = _headers(headers, secrets)
        self.secrets = secrets
        self.content_type = headers.get("content-type", "")
        self.decoded_from = decoded_from
        self.chunks: list[bytes] = []
        self.done = False

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        response: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if self.decoded_from:
            response["decoded_from"] = self.decoded_from  # the provider sent it compressed; stored decoded
        streamed = "event-stream" in self.content_type or "eventstream" in self.content_type or len(self.chunks) > 1
        if streamed:
            response["chunks"] = [_chunk(c, self.secrets) for c in self.chunks]
        else:
            body = _body(b"".join(self.chunks), self.content_type, self.secrets)
            if body:
                response["body"] = body
        self.cassette._add({"request": self.request, "response": response})


class _RecordingStream(httpx.SyncByteStream):
    def __init__(
        self, inner: Iterator[bytes], tape: _Tape, close: Callable[[], None], decoding: _Decoding | None = None
    ) -> None:
        self.inner, self.tape, self._close, self.decoding = inner, tape, close, decoding

    def __iter__(self) -> Iterator[bytes]:
        decoding = self.decoding
        for piece in self.inner:
            chunk = decoding.feed(piece) if decoding is not None else piece
            if not chunk:
                continue
            self.tape.chunks.append(chunk)
            yield chunk
        if decoding is not None:
            tail = decoding.flush()
            if tail:
                self.tape.chunks.append(tail)
                yield tail

    def close(self) -> None:
        try:
            self._close()
        finally:
            self.tape.finish()


class _AsyncRecordingStream(httpx.AsyncByteStream):
    def __init__(
        self, inner: AsyncIterator[bytes], tape: _Tape, close: Callable[[], Any], decoding: _Decoding | None = None
    ) -> None:
        self.inner, self.tape, self._close, self.decoding = inner, tape, close, decoding

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoding = self.decoding
        async for piece in self.inner:
            chunk = decoding.feed(piece) if decoding is not None else piece
            if not chunk:
                continue
            self.tape.chunks.append(chunk)
            yield chunk
        if decoding is not None:
            tail = decoding.flush()
            if tail:
                self.tape.chunks.append(tail)
                yield tail

    async def aclose(self) -> None:
        try:
            await self._close()
        finally:
            self.tape.finish()


class _ReplayStream(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


class _AsyncReplayStream(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def _recorded_chunks(entry: dict[str, Any]) -> list[bytes]:
    recorded = entry["response"]
    if "chunks" in recorded:
        return [_chunk_bytes(c) for c in recorded["chunks"]]
    body = _body_bytes(recorded.get("body") or {})
    return [body] if body else []


class _CassetteTransport(httpx.BaseTransport):
    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.inner = httpx.HTTPTransport() if cassette.recording else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.inner is None:
            entry = self.cassette._find(request)
            return Cassette._response(entry, request, _ReplayStream(_recorded_chunks(entry)))
        secrets = _secrets_of(request)
        record = self.cassette._request_record(request, secrets)
        # an answer that is not compressed stays readable in the file
        request.headers["accept-encoding"] = "identity"
        response = self.inner.handle_request(request)
        decoding = _Decoding.of(response.headers.get("content-encoding", ""))
        headers = _decoded(response, decoding) if decoding is not None else response.headers
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        tape = _Tape(
            self.cassette,
            record,
            response.status_code,
            headers,
            secrets=secrets,
            decoded_from=decoding.encoding if decoding else None,
        )
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_RecordingStream(iter(stream), tape, stream.close, decoding),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


class _AsyncCassetteTransport(httpx.AsyncBaseTransport):
    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.inner = httpx.AsyncHTTPTransport() if cassette.recording else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if self.inner is None:
            entry = self.cassette._find(request)
            return Cassette._response(entry, request, _AsyncReplayStream(_recorded_chunks(entry)))
        secrets = _secrets_of(request)
        record = self.cassette._request_record(request, secrets)
        # an answer that is not compressed stays readable in the file
        request.headers["accept-encoding"] = "identity"
        response = await self.inner.handle_async_request(request)
        decoding = _Decoding.of(response.headers.get("content-encoding", ""))
        headers = _decoded(response, decoding) if decoding is not None else response.headers
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        tape = _Tape(
            self.cassette,
            record,
            response.status_code,
            headers,
            secrets=secrets,
            decoded_from=decoding.encoding if decoding else None,
        )
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_AsyncRecordingStream(stream.__aiter__(), tape, stream.aclose, decoding),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()


# ---------------------------------------------------------------------------
# The hook
# ---------------------------------------------------------------------------


@hookimpl
def create_transport(provider: ProviderSpec, is_async: bool) -> httpx.BaseTransport | httpx.AsyncBaseTransport | None:
    """Serve a client's calls to ``provider`` through the active cassette (``None`` when there is none)."""
    current = active()
    if current is None:
        return None
    return current.transport(is_async)
