"""Every endpoint of the proxy, through the official OpenAI SDK (sync and async), to the fake upstream."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import MASTER, RunningProxy
from sdk_support import run_sdk

KINDS = ["sync", "async"]
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_chat_completion(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    answer = run_sdk(
        kind, proxy.url, MASTER, lambda c: c.chat.completions.create(model="fake-model", messages=MESSAGES, seed=7)
    )
    assert answer.choices[0].message.content == "echo: hi"
    assert answer.usage.total_tokens == 15
    sent = json.loads(upstream[0].requests[-1][3])
    assert sent["model"] == "fake-model"
    assert sent["seed"] == 7
    # the upstream sees the proxy's own upstream key, never the caller's
    assert upstream[0].requests[-1][2]["authorization"] == "Bearer upstream-secret-key"


def test_chat_unknown_fields_reach_the_upstream(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    run_sdk(
        kind,
        proxy.url,
        MASTER,
        lambda c: c.chat.completions.create(model="fake-model", messages=MESSAGES, extra_body={"top_k": 3}),
    )
    assert json.loads(upstream[0].requests[-1][3])["top_k"] == 3


def test_chat_stream_with_usage(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    chunks = run_sdk(
        kind,
        proxy.url,
        MASTER,
        lambda c: c.chat.completions.create(
            model="fake-model", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        ),
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "Hello from the fake"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 13
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"


def test_chat_stream_without_usage_asks_upstream_but_does_not_show_it(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    chunks = run_sdk(
        kind, proxy.url, MASTER, lambda c: c.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
    )
    assert all(ch.usage is None for ch in chunks)
    assert json.loads(upstream[0].requests[-1][3])["stream_options"] == {"include_usage": True}
    logs = proxy.admin.get("/admin/spend/logs", params={"limit": 1}).json()["data"]
    assert logs[0]["endpoint"] == "chat"
    assert logs[0]["total_tokens"] == 13
    assert logs[0]["status"] == 200


@pytest.mark.parametrize("encoding", ["float", "base64", None])
def test_embeddings_in_both_encodings(kind: str, encoding: str | None, proxy: RunningProxy) -> None:
    def use(c: openai.OpenAI) -> object:
        if encoding is None:  # the SDK's default: it asks for base64 and decodes it itself
            return c.embeddings.create(model="fake-model", input=["a", "b"])
        return c.embeddings.create(model="fake-model", input=["a", "b"], encoding_format=encoding)  # type: ignore[arg-type]

    answer = run_sdk(kind, proxy.url, MASTER, use)
    if encoding == "base64":
        import base64
        import struct

        assert struct.unpack("<3f", base64.b64decode(answer.data[1].embedding)) == (0.5, -1.25, 1.0)
    else:
        assert [d.embedding for d in answer.data] == [[0.5, -1.25, 0.0], [0.5, -1.25, 1.0]]


def test_models(kind: str, proxy: RunningProxy) -> None:
    answer = run_sdk(kind, proxy.url, MASTER, lambda c: c.models.list())
    ids = [m.id for m in (answer.data if hasattr(answer, "data") else answer)]
    assert ids == ["fake-model", "other-model", "slow-stream"]
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.models.retrieve("other-model")).id == "other-model"


def test_images(kind: str, proxy: RunningProxy) -> None:
    answer = run_sdk(kind, proxy.url, MASTER, lambda c: c.images.generate(model="fake-model", prompt="a cat"))
    assert answer.data[0].url == "http://127.0.0.1/cat.png"


def test_speech(kind: str, proxy: RunningProxy) -> None:
    answer = run_sdk(
        kind, proxy.url, MASTER, lambda c: c.audio.speech.create(model="fake-model", input="hello", voice="alloy")
    )
    assert answer.content == b"ID3fake-mp3"


def test_transcription_multipart(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    answer = run_sdk(
        kind,
        proxy.url,
        MASTER,
        lambda c: c.audio.transcriptions.create(model="fake-model", file=("a.wav", b"RIFFfake", "audio/wav")),
    )
    assert answer.text == "hello from the audio"
    _method, path, headers, _ = upstream[0].requests[-1]
    assert path == "/v1/audio/transcriptions"
    assert headers["content-type"].startswith("multipart/form-data")


def test_moderations(kind: str, proxy: RunningProxy) -> None:
    answer = run_sdk(kind, proxy.url, MASTER, lambda c: c.moderations.create(input="hello"))
    assert answer.results[0].flagged is False


def test_rerank_search_ocr(kind: str, proxy: RunningProxy) -> None:
    def use(c: openai.OpenAI) -> object:
        return (
            c.post("/rerank", body={"model": "fake-model", "query": "q", "documents": ["a", "b"]}, cast_to=object),
            c.post("/search", body={"model": "fake-model", "query": "q"}, cast_to=object),
            c.post(
                "/ocr",
                body={"model": "fake-model", "document": {"type": "document_url", "url": "http://127.0.0.1/a.pdf"}},
                cast_to=object,
            ),
        )

    if kind == "sync":
        rerank, search, ocr = run_sdk(kind, proxy.url, MASTER, use)
    else:

        async def gather(c: openai.AsyncOpenAI) -> object:
            return [await call for call in use(c)]  # type: ignore[arg-type]

        rerank, search, ocr = run_sdk(kind, proxy.url, MASTER, gather)
    assert [r["index"] for r in rerank["results"]] == [1, 0]
    assert search["results"][0]["title"] == "Result"
    assert ocr["pages"][0]["markdown"] == "# Title"


def test_files(kind: str, proxy: RunningProxy) -> None:
    created = run_sdk(
        kind, proxy.url, MASTER, lambda c: c.files.create(file=("in.jsonl", b'{"a": 1}\n'), purpose="batch")
    )
    assert created.filename == "in.jsonl"
    assert created.purpose == "batch"
    got = run_sdk(kind, proxy.url, MASTER, lambda c: c.files.retrieve(created.id))
    assert got.id == created.id
    listed = run_sdk(kind, proxy.url, MASTER, lambda c: c.files.list())
    assert created.id in [f.id for f in (listed.data if hasattr(listed, "data") else listed)]
    content = run_sdk(kind, proxy.url, MASTER, lambda c: c.files.content(created.id))
    assert content.content == b'{"a": 1}\n'
    deleted = run_sdk(kind, proxy.url, MASTER, lambda c: c.files.delete(created.id))
    assert deleted.deleted is True


def test_batches(kind: str, proxy: RunningProxy) -> None:
    created = run_sdk(
        kind,
        proxy.url,
        MASTER,
        lambda c: c.batches.create(input_file_id="file-1", endpoint="/v1/chat/completions", completion_window="24h"),
    )
    assert created.id.startswith("batch_")
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.batches.retrieve(created.id)).status == "in_progress"
    listed = run_sdk(kind, proxy.url, MASTER, lambda c: c.batches.list())
    assert created.id in [b.id for b in (listed.data if hasattr(listed, "data") else listed)]
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.batches.cancel(created.id)).status == "cancelling"


def test_responses(kind: str, proxy: RunningProxy) -> None:
    created = run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.create(model="fake-model", input="hi"))
    assert created.output_text == "Hi from responses"
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.retrieve("resp_1")).status == "completed"
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.cancel("resp_1")).status == "cancelled"


def test_upstream_error_in_openai_shape(kind: str, proxy: RunningProxy) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        run_sdk(kind, proxy.url, MASTER, lambda c: c.chat.completions.create(model="fail-400", messages=MESSAGES))
    assert caught.value.status_code == 400
    assert caught.value.body == {"message": "bad thing", "type": "invalid_request_error", "param": None, "code": "nope"}


def test_bad_input_is_an_openai_error(proxy: RunningProxy) -> None:
    headers = {"authorization": f"Bearer {MASTER}"}
    with httpx.Client(base_url=proxy.url, headers=headers) as http:
        for body in (b"{not json", b"[1, 2]", json.dumps({"messages": MESSAGES}).encode()):
            answer = http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
            assert answer.status_code == 400
            assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
        wrong = http.post("/v1/chat/completions", json={"model": "fake-model", "messages": "not a list"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["type"] == "invalid_request_error"
        assert http.get("/v1/nowhere").status_code == 404
        assert http.get("/v1/chat/completions").status_code == 405


def test_oversized_body_is_refused(start_proxy: object) -> None:
    proxy = start_proxy(max_body_bytes=1000)  # type: ignore[operator]
    with httpx.Client(base_url=proxy.url, headers={"authorization": f"Bearer {MASTER}"}) as http:
        answer = http.post(
            "/v1/chat/completions", json={"model": "fake-model", "messages": [{"role": "user", "content": "x" * 5000}]}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "request_too_large"


def test_health(proxy: RunningProxy) -> None:
    with httpx.Client(base_url=proxy.url) as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "upstream": "ok"}


def test_ready_reports_a_dead_upstream(start_proxy: object, tmp_path: object, request: pytest.FixtureRequest) -> None:
    from proxy_support import proxy_config

    # a port held bound but never listening refuses every connection (a merely free port could be
    # taken by another process on this machine before the proxy tries it)
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    request.addfinalizer(dead.close)
    port = dead.getsockname()[1]
    config = proxy_config(f"http://127.0.0.1:{port}", f"sqlite+aiosqlite:///{tmp_path}/dead.db")  # nothing there
    proxy = start_proxy(config=config)  # type: ignore[operator]
    with httpx.Client(base_url=proxy.url) as http:
        ready = http.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["upstream"].startswith("unavailable")
    # a call to the dead upstream is an OpenAI-shaped 503, through both SDKs
    for kind in KINDS:
        with pytest.raises(openai.InternalServerError) as caught:
            run_sdk(kind, proxy.url, MASTER, lambda c: c.chat.completions.create(model="fake-model", messages=MESSAGES))
        assert caught.value.status_code == 503
        assert caught.value.body["type"] == "service_unavailable_error"  # type: ignore[index]


def test_an_upstream_timeout_is_a_504(
    start_proxy: object, tmp_path: object, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    from liter_llm.config import parse_config

    config = parse_config(
        {
            "base_url": f"{upstream[1].url}/v1",
            "api_key": "upstream-secret-key",
            "max_retries": 0,
            "timeout_secs": 0.5,
            "plugins": {"proxy": {"database_url": f"sqlite+aiosqlite:///{tmp_path}/timeout.db"}},
        }
    )
    proxy = start_proxy(config=config)  # type: ignore[operator]
    for kind in KINDS:
        with pytest.raises(openai.APIStatusError) as caught:
            run_sdk(
                kind, proxy.url, MASTER, lambda c: c.chat.completions.create(model="slow-answer", messages=MESSAGES)
            )
        assert caught.value.status_code == 504
        assert caught.value.body["type"] == "timeout_error"  # type: ignore[index]


def test_request_ids_on_both_paths(proxy: RunningProxy) -> None:
    """The exact-path routes (served past Starlette's router) and the routes with parameters answer alike."""
    headers = {"authorization": f"Bearer {MASTER}"}
    with httpx.Client(base_url=proxy.url, headers=headers) as http:
        for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models/fake-model")):
            body = {"model": "fake-model", "messages": MESSAGES} if method == "POST" else None
            mine = http.request(method, path, json=body, headers={"x-request-id": "req-from-the-caller"})
            assert mine.status_code == 200, mine.text
            assert mine.headers["x-request-id"] == "req-from-the-caller"
            assert mine.headers["content-type"] == "application/json"
            assert int(mine.headers["content-length"]) == len(mine.content)
            new = http.request(method, path, json=body, headers={"x-request-id": "x" * 65})  # too long: replaced
            assert len(new.headers["x-request-id"]) == 32
            assert new.headers["x-request-id"] != "x" * 65
        refused = http.post("/v1/chat/completions", json={"messages": MESSAGES}, headers={"x-request-id": "r-2"})
        assert refused.status_code == 400
        assert refused.headers["x-request-id"] == "r-2"


def test_middleware_added_to_the_app_sees_every_request(
    kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    """The shortcut past Starlette's router is off once the application has middleware of its own."""
    from proxy_support import proxy_config

    from liter_llm_proxy import create_app

    seen: list[tuple[str, str]] = []

    class Seen:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                seen.append((scope["method"], scope["path"]))
            await self.app(scope, receive, send)

    monkeypatch.setenv("LITER_LLM_MASTER_KEY", MASTER)
    app = create_app(proxy_config(upstream[1].url, f"sqlite+aiosqlite:///{tmp_path / 'mw.db'}"))
    app.add_middleware(Seen)
    server = ThreadServer(app).start()
    try:
        answer = run_sdk(
            kind, server.url, MASTER, lambda c: c.chat.completions.create(model="fake-model", messages=MESSAGES)
        )
        models = run_sdk(kind, server.url, MASTER, lambda c: c.models.list())
    finally:
        server.stop()
    assert answer.choices[0].message.content == "echo: hi"
    assert [m.id for m in (models.data if hasattr(models, "data") else models)]
    assert ("POST", "/v1/chat/completions") in seen
    assert ("GET", "/v1/models") in seen
