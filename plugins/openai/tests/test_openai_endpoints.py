"""Every non-chat OpenAI endpoint, through both clients: request (path, method, body) and answer.

Answer fixtures follow the examples of OpenAI's API reference.
"""

from __future__ import annotations

import base64
import struct

import httpx
import pytest
from openai_testutil import KEY, MODES, Recorder, call, multipart

from liter_llm import types as t
from liter_llm.errors import EndpointNotSupportedError, NotFoundError, SerializationError

BASE = "https://api.openai.com/v1"


def _floats_b64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


# -- embeddings -----------------------------------------------------------------

EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222], "index": 0}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}


@pytest.mark.parametrize("mode", MODES)
def test_embed_float(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=EMBEDDINGS))
    answer = call(
        mode,
        rec,
        "embed",
        model="text-embedding-3-small",
        input="The food was delicious",
        dimensions=3,
        encoding_format="float",
        user="u",
    )
    assert str(rec.last.url) == f"{BASE}/embeddings"
    assert rec.last.headers["authorization"] == f"Bearer {KEY}"
    assert rec.json() == {
        "model": "text-embedding-3-small",
        "input": "The food was delicious",
        "dimensions": 3,
        "encoding_format": "float",
        "user": "u",
    }
    assert isinstance(answer, t.EmbeddingResponse)
    assert answer.data[0].embedding == [0.0023064255, -0.009327292, -0.0028842222]
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == 8


@pytest.mark.parametrize("mode", MODES)
def test_embed_base64_is_decoded_to_floats(mode: str) -> None:
    vectors = [[0.5, -1.25, 3.0], [2.0, 0.0, -0.75]]
    body = {
        "object": "list",
        "data": [{"object": "embedding", "embedding": _floats_b64(v), "index": i} for i, v in enumerate(vectors)],
        "model": "text-embedding-3-large",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    rec = Recorder(httpx.Response(200, json=body))
    answer = call(mode, rec, "embed", model="text-embedding-3-large", input=["a", "b"], encoding_format="base64")
    assert rec.json()["encoding_format"] == "base64"
    assert rec.json()["input"] == ["a", "b"]
    assert [d.embedding for d in answer.data] == vectors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", ["%%%not base64", base64.b64encode(b"abc").decode()])
def test_embed_bad_base64_is_a_serialization_error(mode: str, bad: str) -> None:
    body = {"object": "list", "data": [{"object": "embedding", "embedding": bad, "index": 0}], "model": "m"}
    with pytest.raises(SerializationError, match=r"data\[0\]\.embedding"):
        call(
            mode,
            Recorder(httpx.Response(200, json=body)),
            "embed",
            model="text-embedding-3-small",
            input="x",
            encoding_format="base64",
        )


# -- models -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_list_models(mode: str) -> None:
    body = {
        "object": "list",
        "data": [
            {"id": "model-id-0", "object": "model", "created": 1686935002, "owned_by": "organization-owner"},
            {"id": "model-id-1", "object": "model", "created": 1686935002, "owned_by": "openai"},
        ],
    }
    rec = Recorder(httpx.Response(200, json=body))
    answer = call(mode, rec, "list_models")
    assert rec.last.method == "GET"
    assert str(rec.last.url) == f"{BASE}/models"
    assert rec.last.content == b""
    assert [m.id for m in answer.data] == ["model-id-0", "model-id-1"]
    assert answer.data[1].owned_by == "openai"


# -- images ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_image_generate_url(mode: str) -> None:
    body = {"created": 1589478378, "data": [{"url": "https://example.invalid/img.png", "revised_prompt": "A cat"}]}
    rec = Recorder(httpx.Response(200, json=body))
    answer = call(
        mode,
        rec,
        "image_generate",
        model="dall-e-3",
        prompt="A cute baby sea otter",
        n=1,
        size="1024x1024",
        quality="hd",
        style="vivid",
        response_format="url",
        user="u",
    )
    assert str(rec.last.url) == f"{BASE}/images/generations"
    assert rec.json() == {
        "model": "dall-e-3",
        "prompt": "A cute baby sea otter",
        "n": 1,
        "size": "1024x1024",
        "quality": "hd",
        "style": "vivid",
        "response_format": "url",
        "user": "u",
    }
    assert answer.data[0].url == "https://example.invalid/img.png"
    assert answer.data[0].revised_prompt == "A cat"


@pytest.mark.parametrize("mode", MODES)
def test_image_generate_b64_json(mode: str) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    body = {
        "created": 1713833628,
        "data": [{"b64_json": png}],
        "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50},
    }
    rec = Recorder(httpx.Response(200, json=body))
    answer = call(mode, rec, "image_generate", model="gpt-image-1", prompt="otter", response_format="b64_json")
    assert rec.json()["response_format"] == "b64_json"
    assert base64.b64decode(answer.data[0].b64_json) == b"\x89PNG\r\n\x1a\nfake"


# -- audio ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_speech_returns_the_audio_bytes(mode: str) -> None:
    audio = bytes(range(256)) * 64  # not text, not JSON
    rec = Recorder(httpx.Response(200, content=audio, headers={"content-type": "audio/mpeg"}))
    answer = call(
        mode,
        rec,
        "speech",
        model="tts-1",
        input="The quick brown fox.",
        voice="alloy",
        response_format="mp3",
        speed=1.25,
    )
    assert str(rec.last.url) == f"{BASE}/audio/speech"
    assert rec.json() == {
        "model": "tts-1",
        "input": "The quick brown fox.",
        "voice": "alloy",
        "response_format": "mp3",
        "speed": 1.25,
    }
    assert rec.last.headers["accept"] == "*/*"
    assert answer == audio


@pytest.mark.parametrize("mode", MODES)
def test_speech_error_is_mapped(mode: str) -> None:
    body = {
        "error": {
            "message": "The model `tts-9` does not exist",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }
    with pytest.raises(NotFoundError, match="tts-9"):
        call(mode, Recorder(httpx.Response(404, json=body)), "speech", model="tts-9", input="x", voice="alloy")


VERBOSE = {
    "task": "transcribe",
    "language": "english",
    "duration": 8.47,
    "text": "The beach was a popular spot on a hot summer day.",
    "segments": [
        {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": 3.32,
            "text": " The beach was a popular spot",
            "tokens": [50364, 440],
            "temperature": 0.0,
            "avg_logprob": -0.28,
            "compression_ratio": 1.2,
            "no_speech_prob": 0.009,
        },
        {
            "id": 1,
            "seek": 0,
            "start": 3.32,
            "end": 8.47,
            "text": " on a hot summer day.",
            "tokens": [50530, 322],
            "temperature": 0.0,
            "avg_logprob": -0.28,
            "compression_ratio": 1.2,
            "no_speech_prob": 0.009,
        },
    ],
}


@pytest.mark.parametrize("mode", MODES)
def test_transcribe_multipart_and_verbose_json(mode: str) -> None:
    audio = b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(200))
    rec = Recorder(httpx.Response(200, json=VERBOSE))
    answer = call(
        mode,
        rec,
        "transcribe",
        model="whisper-1",
        file=audio,
        filename="speech.wav",
        language="en",
        prompt="beach",
        response_format="verbose_json",
        temperature=0.2,
        timestamp_granularities=["segment", "word"],
    )
    assert str(rec.last.url) == f"{BASE}/audio/transcriptions"
    fields = multipart(rec.last)
    assert fields["file"] == [("speech.wav", "application/octet-stream", audio)]
    assert fields["model"][0][2] == b"whisper-1"
    assert fields["language"][0][2] == b"en"
    assert fields["prompt"][0][2] == b"beach"
    assert fields["response_format"][0][2] == b"verbose_json"
    assert fields["temperature"][0][2] == b"0.2"
    assert [f[2] for f in fields["timestamp_granularities[]"]] == [b"segment", b"word"]
    assert answer.text == VERBOSE["text"]
    assert answer.language == "english"
    assert answer.duration == 8.47
    assert [(s.id, s.start, s.end) for s in answer.segments] == [(0, 0.0, 3.32), (1, 3.32, 8.47)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("text", "The beach was a popular spot.\n"),
        ("srt", "1\n00:00:00,000 --> 00:00:03,320\nThe beach was a popular spot\n"),
        ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:03.320\nThe beach was a popular spot\n"),
    ],
)
def test_transcribe_plain_text_formats(mode: str, fmt: str, content: str) -> None:
    rec = Recorder(httpx.Response(200, text=content, headers={"content-type": "text/plain; charset=utf-8"}))
    answer = call(mode, rec, "transcribe", model="whisper-1", file=b"abc", response_format=fmt)
    assert multipart(rec.last)["response_format"][0][2] == fmt.encode()
    assert answer == t.TranscriptionResponse(text=content)


@pytest.mark.parametrize("mode", MODES)
def test_transcribe_json_default(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json={"text": "Imagine the wildest idea.", "usage": {"type": "tokens"}}))
    answer = call(mode, rec, "transcribe", model="gpt-4o-transcribe", file=b"abc")
    fields = multipart(rec.last)
    assert set(fields) == {"file", "model"}
    assert fields["file"][0][0] == "audio.wav"
    assert answer.text == "Imagine the wildest idea."


# -- moderation -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_moderate(mode: str) -> None:
    body = {
        "id": "modr-0d9740456c391e43c445bf0f010940c7",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": True,
                "categories": {
                    "harassment": True,
                    "harassment/threatening": True,
                    "sexual": False,
                    "hate": False,
                    "hate/threatening": False,
                    "illicit": False,
                    "self-harm/intent": False,
                    "violence": True,
                    "violence/graphic": False,
                },
                "category_scores": {
                    "harassment": 0.8189,
                    "harassment/threatening": 0.8049,
                    "violence": 0.9718,
                    "self-harm/intent": 0.0002,
                },
                "category_applied_input_types": {"harassment": ["text"]},
            }
        ],
    }
    rec = Recorder(httpx.Response(200, json=body))
    answer = call(mode, rec, "moderate", model="omni-moderation-latest", input=["I want to hurt them."])
    assert str(rec.last.url) == f"{BASE}/moderations"
    assert rec.json() == {"model": "omni-moderation-latest", "input": ["I want to hurt them."]}
    result = answer.results[0]
    assert result.flagged
    assert result.categories.harassment_threatening
    assert result.categories.violence
    assert not result.categories.violence_graphic
    assert result.category_scores.violence == 0.9718


# -- files ------------------------------------------------------------------------------------

FILE_OBJECT = {
    "id": "file-abc123",
    "object": "file",
    "bytes": 120000,
    "created_at": 1677610602,
    "filename": "mydata.jsonl",
    "purpose": "batch",
}


@pytest.mark.parametrize("mode", MODES)
def test_create_file_multipart_with_purpose(mode: str) -> None:
    data = b'{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    rec = Recorder(httpx.Response(200, json=FILE_OBJECT))
    answer = call(
        mode, rec, "create_file", file=data, purpose="batch", filename="mydata.jsonl", content_type="application/jsonl"
    )
    assert rec.last.method == "POST"
    assert str(rec.last.url) == f"{BASE}/files"
    fields = multipart(rec.last)
    assert fields["purpose"][0][2] == b"batch"
    assert fields["file"] == [("mydata.jsonl", "application/jsonl", data)]
    assert answer == t.FileObject.from_dict(FILE_OBJECT)


@pytest.mark.parametrize("mode", MODES)
def test_retrieve_delete_and_content(mode: str) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(200, json={"id": "file-abc123", "object": "file", "deleted": True})
        if request.url.path.endswith("/content"):
            return httpx.Response(
                200, content=b"\x00line1\nline2\xff", headers={"content-type": "application/octet-stream"}
            )
        return httpx.Response(200, json=FILE_OBJECT)

    rec = Recorder(reply)
    assert call(mode, rec, "retrieve_file", "file-abc123").filename == "mydata.jsonl"
    assert (rec.last.method, str(rec.last.url)) == ("GET", f"{BASE}/files/file-abc123")
    deleted = call(mode, rec, "delete_file", "file-abc123")
    assert (rec.last.method, str(rec.last.url)) == ("DELETE", f"{BASE}/files/file-abc123")
    assert deleted.deleted is True
    assert deleted.id == "file-abc123"
    content = call(mode, rec, "file_content", "file-abc123")
    assert (rec.last.method, str(rec.last.url)) == ("GET", f"{BASE}/files/file-abc123/content")
    assert content == b"\x00line1\nline2\xff"


@pytest.mark.parametrize("mode", MODES)
def test_file_ids_are_escaped_in_the_path(mode: str) -> None:
    rec = Recorder(httpx.Response(200, json=FILE_OBJECT))
    call(mode, rec, "retrieve_file", "../models?x=1")
    assert rec.last.url.raw_path == b"/v1/files/..%2Fmodels%3Fx%3D1"


@pytest.mark.parametrize("mode", MODES)
def test_list_files_query_parameters(mode: str) -> None:
    body = {
        "object": "list",
        "data": [FILE_OBJECT, {**FILE_OBJECT, "id": "file-def456"}],
        "has_more": True,
        "first_id": "file-abc123",
        "last_id": "file-def456",
    }
    rec = Recorder(httpx.Response(200, json=body))
    answer = call(mode, rec, "list_files", purpose="batch", limit=2, after="file-000", order="asc")
    assert rec.last.method == "GET"
    assert rec.last.url.path == "/v1/files"
    assert dict(rec.last.url.params) == {"purpose": "batch", "limit": "2", "after": "file-000", "order": "asc"}
    assert [f.id for f in answer.data] == ["file-abc123", "file-def456"]
    assert answer.has_more
    assert answer.last_id == "file-def456"
    call(mode, rec, "list_files")
    assert str(rec.last.url) == f"{BASE}/files"


# -- batches ------------------------------------------------------------------------------------

BATCH = {
    "id": "batch_abc123",
    "object": "batch",
    "endpoint": "/v1/chat/completions",
    "errors": None,
    "input_file_id": "file-abc123",
    "completion_window": "24h",
    "status": "validating",
    "output_file_id": None,
    "error_file_id": None,
    "created_at": 1711471533,
    "in_progress_at": None,
    "expires_at": 1711557933,
    "request_counts": {"total": 0, "completed": 0, "failed": 0},
    "metadata": {"customer_id": "user_123456789", "batch_description": "Nightly eval job"},
}


@pytest.mark.parametrize("mode", MODES)
def test_batches(mode: str) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/batches":
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "data": [BATCH],
                    "first_id": "batch_abc123",
                    "last_id": "batch_abc123",
                    "has_more": False,
                },
            )
        if request.url.path.endswith("/cancel"):
            return httpx.Response(200, json={**BATCH, "status": "cancelling", "cancelling_at": 1711475133})
        return httpx.Response(200, json=BATCH)

    rec = Recorder(reply)
    created = call(
        mode,
        rec,
        "create_batch",
        input_file_id="file-abc123",
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"customer_id": "user_123456789"},
    )
    assert (rec.last.method, str(rec.last.url)) == ("POST", f"{BASE}/batches")
    assert rec.json() == {
        "input_file_id": "file-abc123",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": {"customer_id": "user_123456789"},
    }
    assert created.status == "validating"
    assert created.request_counts == t.BatchRequestCounts()
    assert call(mode, rec, "retrieve_batch", "batch_abc123").id == "batch_abc123"
    assert (rec.last.method, str(rec.last.url)) == ("GET", f"{BASE}/batches/batch_abc123")
    listing = call(mode, rec, "list_batches", limit=10, after="batch_000")
    assert dict(rec.last.url.params) == {"limit": "10", "after": "batch_000"}
    assert [b.id for b in listing.data] == ["batch_abc123"]
    cancelled = call(mode, rec, "cancel_batch", "batch_abc123")
    assert (rec.last.method, str(rec.last.url)) == ("POST", f"{BASE}/batches/batch_abc123/cancel")
    assert cancelled.status == "cancelling"
    assert cancelled.cancelling_at == 1711475133


# -- responses --------------------------------------------------------------------------------------

RESPONSE = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [
        {
            "type": "message",
            "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "In a peaceful grove beneath a silver moon...", "annotations": []}
            ],
        }
    ],
    "parallel_tool_calls": True,
    "usage": {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 87,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 123,
    },
    "metadata": {},
}


@pytest.mark.parametrize("mode", MODES)
def test_responses(mode: str) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            return httpx.Response(200, json={**RESPONSE, "status": "cancelled"})
        return httpx.Response(200, json=RESPONSE)

    rec = Recorder(reply)
    created = call(
        mode,
        rec,
        "create_response",
        model="gpt-4.1",
        input="Tell me a story.",
        instructions="Be kind.",
        max_output_tokens=500,
        reasoning={"effort": "low"},
        store=True,
        tools=[{"type": "web_search_preview"}],
        extra_body={"background": True},
    )
    assert (rec.last.method, str(rec.last.url)) == ("POST", f"{BASE}/responses")
    assert rec.json() == {
        "model": "gpt-4.1",
        "input": "Tell me a story.",
        "instructions": "Be kind.",
        "max_output_tokens": 500,
        "reasoning": {"effort": "low"},
        "store": True,
        "tools": [{"type": "web_search_preview"}],
        "background": True,
    }
    assert created.id == RESPONSE["id"]
    assert created.status == "completed"
    assert created.output[0]["content"][0]["text"].startswith("In a peaceful grove")
    assert created.usage is not None
    assert created.usage.total_tokens == 123
    got = call(mode, rec, "retrieve_response", RESPONSE["id"])
    assert (rec.last.method, str(rec.last.url)) == ("GET", f"{BASE}/responses/{RESPONSE['id']}")
    assert got.model == "gpt-4.1-2025-04-14"
    cancelled = call(mode, rec, "cancel_response", RESPONSE["id"])
    assert (rec.last.method, str(rec.last.url)) == ("POST", f"{BASE}/responses/{RESPONSE['id']}/cancel")
    assert cancelled.status == "cancelled"


# -- unsupported -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("rerank", {"model": "gpt-4o", "query": "q", "documents": ["a"]}),
        ("search", {"model": "gpt-4o", "query": "q"}),
        ("ocr", {"model": "gpt-4o", "document": {"type": "document_url", "url": "https://x.invalid/a.pdf"}}),
    ],
)
def test_rerank_search_ocr_are_not_supported_before_io(mode: str, method: str, kwargs: dict[str, object]) -> None:
    rec = Recorder(httpx.Response(500))
    with pytest.raises(EndpointNotSupportedError) as info:
        call(mode, rec, method, **kwargs)
    assert info.value.provider == "openai"
    assert rec.requests == []


def test_openai_spec_endpoints() -> None:
    from liter_llm.registry import get_registry

    spec = get_registry().get("openai")
    assert spec is not None
    assert spec.endpoints == {
        "chat",
        "embed",
        "models",
        "image",
        "speech",
        "transcribe",
        "moderate",
        "files",
        "batches",
        "responses",
    }
    assert spec.base_url == "https://api.openai.com/v1"
    assert spec.api_key_env == "OPENAI_API_KEY"
    assert spec.requires_api_key
    assert spec.auth.kind == "bearer"


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o",
        "o1",
        "o3-mini",
        "o4-mini",
        "chatgpt-4o-latest",
        "text-embedding-3-small",
        "dall-e-3",
        "whisper-1",
        "tts-1-hd",
        "omni-moderation-latest",
        "gpt-image-1",
        "openai/anything",
    ],
)
def test_bare_prefixes_route_to_openai(model: str) -> None:
    from liter_llm.registry import get_registry

    spec, wire = get_registry().resolve(model)
    assert spec is not None
    assert spec.name == "openai"
    assert wire == model.removeprefix("openai/")
