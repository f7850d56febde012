"""liter-llm-record: record real exchanges with a real server on 127.0.0.1, replay them with it stopped."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm.errors import LiterLlmError, ServiceUnavailableError, StreamingError
from liter_llm.testing import openai_chat_body, openai_chunk
from liter_llm_record import Cassette, CassetteError, cassette

KEY = "sk-record-secret-0123456789abcdef"
USER = [{"role": "user", "content": "Say hi"}]
MODES = ["sync", "async"]

#: the fixture's own test runs pytest in a subprocess (the plugin loads there from its entry point)
pytest_plugins = ["pytester"]


class Server:
    """A small OpenAI-compatible server on 127.0.0.1 (real sockets), stopped with ``stop()``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.frames: list[bytes] = []
        self.flaky: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                outer.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": raw}
                )
                if self.path.endswith("/converse-stream"):  # Bedrock's binary AWS event stream
                    frames = outer.frames
                    self.send_response(200)
                    self.send_header("content-type", "application/vnd.amazon.eventstream")
                    self.send_header("connection", "close")
                    self.end_headers()
                    half = len(frames) // 2
                    for piece in (b"".join(frames[:half]), b"".join(frames[half:])):
                        self.wfile.write(piece)
                        self.wfile.flush()
                    self.close_connection = True
                    return None
                if self.path.endswith("/audio/transcriptions"):
                    return self.reply(200, json.dumps({"text": "transcribed"}).encode(), "application/json")
                body = json.loads(raw)
                model = body["model"]
                if model == "echo-key":  # a provider that echoes the key in its error
                    auth = self.headers.get("authorization", "")
                    message = json.dumps({"error": {"message": f"invalid key {auth}"}}).encode()
                    return self.reply(401, message, "application/json")
                if model.startswith("squeezed-"):  # a server that compresses whatever it is asked for
                    return self.compressed(model.removeprefix("squeezed-"), bool(body.get("stream")))
                if model == "flaky" and outer.flaky.setdefault(model, 0) == 0:
                    outer.flaky[model] = 1
                    return self.reply(503, b'{"error": {"message": "busy"}}', "application/json")
                if body.get("stream"):
                    payloads = [openai_chunk("he", role="assistant"), openai_chunk("llo"), openai_chunk(finish="stop")]
                    complete = model != "cut"
                    if not complete:
                        payloads = payloads[:2]
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("connection", "close")
                    self.end_headers()
                    for payload in payloads:
                        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                        self.wfile.flush()
                    if complete:
                        self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self.reply(200, json.dumps(openai_chat_body(f"hello from {model}")).encode(), "application/json")

            def compressed(self, encoding: str, streamed: bool) -> None:
                if not streamed:
                    body = json.dumps(openai_chat_body(f"squeezed with {encoding}")).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-encoding", encoding)
                    packed = compress(encoding, [body])
                    self.send_header("content-length", str(len(packed[0])))
                    self.end_headers()
                    self.wfile.write(packed[0])
                    return None
                events = [
                    b"data: " + json.dumps(p).encode() + b"\n\n"
                    for p in (openai_chunk("squ", role="assistant"), openai_chunk("eezed"), openai_chunk(finish="stop"))
                ] + [b"data: [DONE]\n\n"]
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-encoding", encoding)
                self.send_header("connection", "close")
                self.end_headers()
                for piece in compress(encoding, events):  # each event flushed on its own, as a live stream is
                    self.wfile.write(piece)
                    self.wfile.flush()
                self.close_connection = True
                return None

            def reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def compress(encoding: str, pieces: list[bytes]) -> list[bytes]:
    """``pieces`` compressed as one body with ``encoding``, each piece flushed so that it can be sent alone."""
    if encoding == "br":
        import brotli

        packer = brotli.Compressor()
        out = [packer.process(piece) + packer.flush() for piece in pieces]
        out[-1] += packer.finish()
        return out
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}[encoding]
    zipper = zlib.compressobj(wbits=wbits)
    out = [zipper.compress(piece) + zipper.flush(zlib.Z_SYNC_FLUSH) for piece in pieces]
    out[-1] += zipper.flush()
    return out


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()


def options(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": base_url, "model_hint": "openai", "max_retries": 0, **extra}


def chat(mode: str, opts: dict[str, Any], **request: Any) -> Any:
    """One chat through the client of ``mode``; its answer or its LiterLlmError."""
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            try:
                return client.chat(**request)
            except LiterLlmError as error:
                return error

    async def main() -> Any:
        async with liter_llm.create_async_client(**opts) as client:
            try:
                return await client.chat(**request)
            except LiterLlmError as error:
                return error

    return asyncio.run(main())


def stream(mode: str, opts: dict[str, Any], model: str = "gpt-4o") -> list[Any]:
    """The contents of a stream's chunks (and its error, last, if it failed)."""
    got: list[Any] = []
    if mode == "sync":
        with liter_llm.create_client(**opts) as client:
            try:
                with client.chat_stream(model=model, messages=USER) as s:
                    got.extend(c.choices[0].delta.content if c.choices else None for c in s)
            except LiterLlmError as error:
                got.append(error)
        return got

    async def main() -> None:
        async with liter_llm.create_async_client(**opts) as client:
            try:
                async with await client.chat_stream(model=model, messages=USER) as s:
                    async for c in s:
                        got.append(c.choices[0].delta.content if c.choices else None)
            except LiterLlmError as error:
                got.append(error)

    asyncio.run(main())
    return got


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_chat_is_recorded_then_replayed_with_the_server_stopped(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "chat.json"
    opts = options(server.base_url)
    with cassette(path) as tape:  # "once", no file yet: records
        assert tape.mode == "record"
        live = chat(mode, opts, model="gpt-4o", messages=USER)
    assert live.choices[0].message.content == "hello from gpt-4o"
    assert len(server.requests) == 1
    data = json.loads(path.read_text())
    [entry] = data["interactions"]
    assert entry["request"]["method"] == "POST"
    assert entry["request"]["url"] == f"{server.base_url}/chat/completions"
    assert entry["request"]["body"]["json"]["model"] == "gpt-4o"  # a JSON body, kept as JSON
    assert entry["response"]["status"] == 200
    assert entry["response"]["body"]["json"]["choices"][0]["message"]["content"] == "hello from gpt-4o"

    server.stop()
    with cassette(path) as tape:  # "once", the file exists: replays, offline
        assert tape.mode == "replay"
        replayed = chat(mode, opts, model="gpt-4o", messages=USER)
        assert tape.unused() == []
    assert replayed.to_dict() == live.to_dict()


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_replays_with_its_chunk_boundaries(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "stream.json"
    opts = options(server.base_url)
    with cassette(path, mode="record"):
        live = stream(mode, opts)
    assert live == ["he", "llo", None]
    recorded = json.loads(path.read_text())["interactions"][0]["response"]
    assert recorded["headers"]["content-type"] == "text/event-stream"
    assert all(isinstance(chunk, str) for chunk in recorded["chunks"])  # SSE kept as readable text
    assert "".join(recorded["chunks"]).count("data: ") == 4
    server.stop()
    with cassette(path, mode="replay"):
        assert stream(mode, opts) == live


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_failed_replays_its_failure(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "cut.json"
    opts = options(server.base_url)
    with cassette(path, mode="record"):
        live = stream(mode, opts, model="cut")
    assert isinstance(live[-1], StreamingError)
    server.stop()
    with cassette(path, mode="replay"):
        replayed = stream(mode, opts, model="cut")
    assert replayed[:-1] == live[:-1]
    assert isinstance(replayed[-1], StreamingError)


@pytest.mark.parametrize("mode", MODES)
def test_errors_and_retries_replay_as_they_happened(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "flaky.json"
    opts = options(server.base_url, max_retries=1, retry_initial_delay=0.0)
    with cassette(path, mode="record"):
        live = chat(mode, opts, model="flaky", messages=USER)
    assert live.choices[0].message.content == "hello from flaky"
    statuses = [e["response"]["status"] for e in json.loads(path.read_text())["interactions"]]
    assert statuses == [503, 200]
    server.stop()
    with cassette(path, mode="replay") as tape:
        assert chat(mode, opts, model="flaky", messages=USER).to_dict() == live.to_dict()
        assert tape.unused() == []
    # without the retry the recorded failure is what the caller gets
    with cassette(path, mode="replay") as tape:
        error = chat(mode, options(server.base_url), model="flaky", messages=USER)
        assert isinstance(error, ServiceUnavailableError)
        assert len(tape.unused()) == 1  # the success nobody asked for


@pytest.mark.parametrize("mode", MODES)
def test_a_recorded_cassette_holds_no_key(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "secret.json"
    base = server.base_url + "?api_key=" + KEY  # a key in the URL too
    opts = options(server.base_url, extra_headers={"x-api-key": KEY})
    with cassette(path, mode="record"):
        chat(mode, opts, model="gpt-4o", messages=USER)
        error = chat(mode, opts, model="echo-key", messages=USER)  # the provider echoes the key back
        chat(mode, options(base), model="gpt-4o", messages=USER)
    assert isinstance(error, LiterLlmError)
    assert any(KEY in r["headers"].get("authorization", "") for r in server.requests)  # it was sent
    text = path.read_text()
    assert KEY not in text
    assert KEY[:12] not in text
    assert "authorization" not in text.lower()
    assert "x-api-key" not in text.lower()
    assert "REDACTED" in text


@pytest.mark.parametrize("mode", MODES)
def test_a_request_with_no_recording_fails_loudly_naming_the_closest(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "one.json"
    opts = options(server.base_url)
    with cassette(path, mode="record"):
        chat(mode, opts, model="gpt-4o", messages=USER)
    server.stop()
    with cassette(path, mode="replay"):
        error = chat(mode, opts, model="gpt-4o-mini", messages=USER)
    assert isinstance(error, CassetteError)
    assert "no recording of POST" in str(error)
    assert "closest recorded one is POST" in str(error)
    assert '"model": "gpt-4o"' in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_a_custom_matcher(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "any.json"
    opts = options(server.base_url)
    with cassette(path, mode="record"):
        chat(mode, opts, model="gpt-4o", messages=USER)
    server.stop()

    def same_url(request: dict[str, Any], recorded: dict[str, Any]) -> bool:
        return request["url"] == recorded["url"]

    with cassette(path, mode="replay", matcher=same_url):
        answer = chat(mode, opts, model="anything", messages=USER)
    assert answer.choices[0].message.content == "hello from gpt-4o"


@pytest.mark.parametrize("mode", MODES)
def test_a_multipart_upload_replays_despite_its_random_boundary(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audio.json"
    opts = options(server.base_url)
    request = {"model": "whisper-1", "file": b"RIFF....WAVEfmt ", "filename": "a.wav"}

    def transcribe() -> Any:
        if mode == "sync":
            with liter_llm.create_client(**opts) as client:
                return client.transcribe(**request)

        async def main() -> Any:
            async with liter_llm.create_async_client(**opts) as client:
                return await client.transcribe(**request)

        return asyncio.run(main())

    with cassette(path, mode="record"):
        assert transcribe().text == "transcribed"
    recorded = json.loads(path.read_text())["interactions"][0]["request"]
    assert "boundary=BOUNDARY" in recorded["headers"]["content-type"]
    server.stop()
    with cassette(path, mode="replay"):
        assert transcribe().text == "transcribed"


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AWS_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN0123456789"


@pytest.mark.parametrize("mode", MODES)
def test_a_binary_event_stream_with_signed_headers_records_without_secrets_and_replays(
    server: Server, tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bedrock = pytest.importorskip("liter_llm_bedrock")
    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    def frame(kind: str, payload: dict[str, Any]) -> bytes:
        headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
        return bytes(bedrock.encode_message(headers, json.dumps(payload).encode()))

    server.frames = [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ", world"}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("messageStop", {"stopReason": "end_turn"}),
        frame("metadata", {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}, "metrics": {}}),
    ]
    opts = {"model_hint": "bedrock", "base_url": server.base_url.removesuffix("/v1"), "max_retries": 0}
    path = tmp_path / "bedrock.json"
    with cassette(path, mode="record"):
        live = stream(mode, opts, model="anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert "".join(p for p in live if p) == "Hello, world"
    assert server.requests[0]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256")
    text = path.read_text()
    for secret in (AWS_SECRET, AWS_TOKEN, "AKIDEXAMPLE", "AWS4-HMAC-SHA256"):
        assert secret not in text
    assert "x-amz-" not in text.lower()
    recorded = json.loads(text)["interactions"][0]["response"]
    assert recorded["chunks"]  # as they arrived (how the frames were split is up to the network)
    assert all("base64" in chunk for chunk in recorded["chunks"])  # binary frames, as base64
    server.stop()
    with cassette(path, mode="replay"):
        assert stream(mode, opts, model="anthropic.claude-3-5-sonnet-20241022-v2:0") == live


def test_replay_of_a_missing_file_and_a_bad_mode_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="does not exist"):
        cassette(tmp_path / "nope.json", mode="replay")
    with pytest.raises(CassetteError, match="must be one of"):
        cassette(tmp_path / "x.json", mode="sometimes")
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(CassetteError, match="not a liter-llm cassette"):
        cassette(tmp_path / "bad.json", mode="replay")


@pytest.mark.parametrize("mode", MODES)
def test_mode_none_and_no_cassette_leave_clients_alone(server: Server, tmp_path: Path, mode: str) -> None:
    with cassette(tmp_path / "none.json", mode="none"):
        assert chat(mode, options(server.base_url), model="gpt-4o", messages=USER).choices
    assert not (tmp_path / "none.json").exists()
    assert chat(mode, options(server.base_url), model="gpt-4o", messages=USER).choices
    assert len(server.requests) == 2


# -- the pytest fixture -----------------------------------------------------------------------------


def documented_example() -> str:
    page = (Path(__file__).resolve().parents[3] / "docs" / "record-replay.md").read_text()
    [block] = re.findall(r"<!-- example: record -->\n```python\n(.*?)\n```", page, re.S)
    return block


def test_the_documented_pytest_example_records_then_replays_with_the_server_stopped(
    server: Server, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_example=documented_example())
    monkeypatch.setenv("LLM_BASE_URL", server.base_url)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)
    recorded = pytester.path / "cassettes" / "test_example" / "test_hello.json"
    assert recorded.exists()
    assert "sk-local" not in recorded.read_text()
    assert len(server.requests) == 1
    server.stop()
    result = pytester.runpytest_subprocess("-q", "--llm-record-mode=replay")
    result.assert_outcomes(passed=1)


def test_a_cassette_made_directly_is_the_same_object() -> None:
    tape = Cassette("unused.json", mode="none")
    with tape as entered:
        assert entered is tape


def split_stream_cassette(path: Path, base_url: str) -> list[str]:
    """A hand-written cassette whose SSE answer is cut in the middle of its events."""
    events = "".join(
        "data: " + json.dumps(p) + "\n\n"
        for p in (openai_chunk("he", role="assistant"), openai_chunk("llo"), openai_chunk(finish="stop"))
    )
    events += "data: [DONE]\n\n"
    chunks = [events[:10], events[10:95], events[95:]]
    request = {"model": "gpt-4o", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "interactions": [
                    {
                        "request": {"method": "POST", "url": f"{base_url}/chat/completions", "body": {"json": request}},
                        "response": {"status": 200, "headers": {"content-type": "text/event-stream"}, "chunks": chunks},
                    }
                ],
            }
        )
    )
    return chunks


def test_replay_serves_the_recorded_chunks_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    chunks = split_stream_cassette(path, "http://127.0.0.1:9/v1")
    tape = cassette(path, mode="replay", matcher=lambda request, recorded: True)
    transport = tape.transport(is_async=False)
    assert isinstance(transport, httpx.BaseTransport)
    response = transport.handle_request(httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions", json={}))
    assert [piece.decode() for piece in response.stream] == chunks


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_cut_mid_event_replays_through_the_client(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "split.json"
    split_stream_cassette(path, "http://127.0.0.1:9/v1")
    with cassette(path, mode="replay", matcher=lambda request, recorded: request["url"] == recorded["url"]):
        assert stream(mode, options("http://127.0.0.1:9/v1")) == ["he", "llo", None]


# -- compressed answers ------------------------------------------------------------------------------

ENCODINGS = ["gzip", "deflate", "br"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_answer_is_stored_decoded_and_replays(
    server: Server, tmp_path: Path, mode: str, encoding: str
) -> None:
    path = tmp_path / f"{encoding}.json"
    opts = options(server.base_url)
    with cassette(path, mode="record"):
        live = chat(mode, opts, model=f"squeezed-{encoding}", messages=USER)
    assert live.choices[0].message.content == f"squeezed with {encoding}"
    recorded = json.loads(path.read_text())["interactions"][0]["response"]
    assert recorded["body"]["json"]["choices"][0]["message"]["content"] == f"squeezed with {encoding}"  # readable
    assert "content-encoding" not in recorded["headers"]
    assert recorded["decoded_from"] == encoding
    server.stop()
    with cassette(path, mode="replay") as tape:
        assert chat(mode, opts, model=f"squeezed-{encoding}", messages=USER).to_dict() == live.to_dict()
        assert tape.unused() == []


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_stream_is_stored_as_readable_events_and_replays(
    server: Server, tmp_path: Path, mode: str, encoding: str
) -> None:
    path = tmp_path / f"{encoding}-stream.json"
    opts = options(server.base_url)
    with cassette(path, mode="record"):
        live = stream(mode, opts, model=f"squeezed-{encoding}")
    assert live == ["squ", "eezed", None]
    recorded = json.loads(path.read_text())["interactions"][0]["response"]
    assert all(isinstance(chunk, str) for chunk in recorded["chunks"])  # decoded SSE text, not base64
    assert "".join(recorded["chunks"]).count("data: ") == 4
    assert "content-encoding" not in recorded["headers"]
    server.stop()
    with cassette(path, mode="replay"):
        assert stream(mode, opts, model=f"squeezed-{encoding}") == live


@pytest.mark.parametrize("mode", MODES)
def test_a_corrupt_compressed_answer_is_a_liter_llm_error_when_recording(tmp_path: Path, mode: str) -> None:
    class Bad(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = b"this is not gzip at all"
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Bad)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with cassette(tmp_path / "bad.json", mode="record"):
            error = chat(mode, options(f"http://127.0.0.1:{httpd.server_address[1]}/v1"), model="m", messages=USER)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
    assert isinstance(error, LiterLlmError)


# -- a client of a gateway (the proxy, any OpenAI-compatible gateway) --------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_gateway_client_records_and_replays(server: Server, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "gateway.json"
    opts = {"api_key": KEY, "base_url": server.base_url, "max_retries": 0}  # no model_hint: a gateway
    with cassette(path, mode="record"):
        live = chat(mode, opts, model="anthropic/claude-sonnet-4", messages=USER)
        live_stream = stream(mode, opts, model="anthropic/claude-sonnet-4")
    assert live.choices[0].message.content == "hello from anthropic/claude-sonnet-4"
    assert len(json.loads(path.read_text())["interactions"]) == 2
    assert KEY not in path.read_text()
    server.stop()
    with cassette(path, mode="replay") as tape:
        assert chat(mode, opts, model="anthropic/claude-sonnet-4", messages=USER).to_dict() == live.to_dict()
        assert stream(mode, opts, model="anthropic/claude-sonnet-4") == live_stream
        assert tape.unused() == []
