"""Embeddings, OCR, transcription, the model list, errors and registration, through both clients."""

from __future__ import annotations

import base64
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import pytest

from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    EndpointNotSupportedError,
    RateLimitedError,
    SerializationError,
    ServiceUnavailableError,
)
from liter_llm.registry import get_registry
from liter_llm.types import OcrDocument, OcrDocumentBase64, OcrDocumentUrl, OcrResponse

from .conftest import API_KEY, Runner, fixture_json


def _json(name: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=fixture_json(name))


# -- registration -------------------------------------------------------------------------


def test_provider_is_registered_by_this_distribution() -> None:
    spec = get_registry().get("mistral")
    assert spec is not None
    assert spec.distribution == "liter-llm-mistral"
    assert spec.plugin is not None
    assert spec.base_url == "https://api.mistral.ai/v1"
    assert spec.api_key_env == "MISTRAL_API_KEY"
    assert spec.endpoints == {"chat", "embed", "models", "ocr", "speech", "transcribe"}


@pytest.mark.parametrize(
    ("method", "arguments"),
    [
        ("rerank", {"query": "q", "documents": ["a"]}),
        ("image_generate", {"prompt": "p"}),
        ("search", {"query": "q"}),
    ],
)
def test_operations_mistral_does_not_offer_are_refused_before_io(
    run: Runner, method: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(EndpointNotSupportedError):
        run(method, lambda r: httpx.Response(500), model="mistral/mistral-small-latest", **arguments)
    assert run.requests == []


# -- embeddings ---------------------------------------------------------------------------


def test_embeddings(run: Runner) -> None:
    response = run(
        "embed",
        _json("embeddings.json"),
        model="mistral/mistral-embed",
        input=["Embed this sentence.", "As well as this one."],
        dimensions=256,
        encoding_format="float",
        user="end-user-7",
    )
    request = run.requests[0]
    assert str(request.url) == "http://127.0.0.1:9/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert run.body == {
        "model": "mistral-embed",
        "input": ["Embed this sentence.", "As well as this one."],
        "output_dimension": 256,
        "encoding_format": "float",
    }
    assert [item.index for item in response.data] == [0, 1]
    assert response.data[0].embedding[:2] == [-0.016632080078125, 0.0701904296875]
    assert response.usage is not None
    assert response.usage.prompt_tokens == 15


def test_embeddings_of_token_ids_are_refused(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="token ids"):
        run("embed", _json("embeddings.json"), model="mistral/mistral-embed", input=[1, 2, 3])
    assert run.requests == []


# -- OCR ----------------------------------------------------------------------------------
# Documents are built as typed objects: the mapping reads ``url`` / ``data`` + ``media_type``,
# whatever the wire names of OcrDocument are.


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
            {"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
        ),
        (
            OcrDocumentUrl(url="https://example.invalid/receipt.PNG?x=1"),
            {"type": "image_url", "image_url": "https://example.invalid/receipt.PNG?x=1"},
        ),
        (
            OcrDocumentBase64(data="JVBERi0xLjQ=", media_type="application/pdf"),
            {"type": "document_url", "document_url": "data:application/pdf;base64,JVBERi0xLjQ="},
        ),
        (
            OcrDocumentBase64(data="iVBORw0KGgo=", media_type="image/png"),
            {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="},
        ),
    ],
    ids=["pdf-url", "image-url", "pdf-base64", "image-base64"],
)
def test_ocr_document_forms(run: Runner, document: OcrDocument, expected: dict[str, Any]) -> None:
    run("ocr", _json("ocr_document.json"), model="mistral/mistral-ocr-latest", document=document)
    assert str(run.requests[0].url) == "http://127.0.0.1:9/v1/ocr"
    assert run.body == {"model": "mistral-ocr-latest", "document": expected}


def test_ocr_pages_images_dimensions(run: Runner) -> None:
    response = run(
        "ocr",
        _json("ocr_document.json"),
        model="mistral/mistral-ocr-latest",
        document=OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
        pages=[1, 2],
        include_image_base64=True,
    )
    assert run.body["pages"] == [0, 1]  # liter-llm counts pages from 1, Mistral from 0
    assert run.body["include_image_base64"] is True
    assert isinstance(response, OcrResponse)
    assert response.model == "mistral-ocr-2503-completion"
    assert [page.index for page in response.pages] == [0, 1]
    first = response.pages[0]
    assert first.markdown.startswith("# LEVERAGING UNLABELED DATA")
    assert first.images is not None
    assert first.images[0].id == "img-0.jpeg"
    assert first.images[0].image_base64 == "data:image/jpeg;base64,/9j/4AAQSkZJRg=="
    assert first.dimensions is not None
    assert (first.dimensions.width, first.dimensions.height) == (1700, 2200)
    assert response.pages[1].images == []
    # Mistral reports pages processed, not tokens: the pages are kept, no token count is made up
    assert response.usage is not None
    assert response.usage.pages_processed == 2
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (0, 0)
    assert OcrResponse.from_dict(response.to_dict()) == response


def test_ocr_without_usage_info_has_no_usage(run: Runner) -> None:
    data = fixture_json("ocr_document.json")
    del data["usage_info"]
    response = run(
        "ocr",
        lambda r: httpx.Response(200, json=data),
        model="mistral/mistral-ocr-latest",
        document=OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
    )
    assert response.usage is None


@pytest.mark.parametrize("info", [{"pages_processed": "two"}, {"pages_processed": -1}, [1]])
def test_ocr_malformed_usage_info(run: Runner, info: Any) -> None:
    data = fixture_json("ocr_document.json")
    data["usage_info"] = info
    with pytest.raises(SerializationError, match="usage_info"):
        run(
            "ocr",
            lambda r: httpx.Response(200, json=data),
            model="mistral/mistral-ocr-latest",
            document=OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
        )


def test_ocr_extra_body_carries_mistral_options(run: Runner) -> None:
    run(
        "ocr",
        _json("ocr_document.json"),
        model="mistral/mistral-ocr-latest",
        document=OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
        extra_body={"table_format": "html", "image_limit": 2},
    )
    assert run.body == {
        "model": "mistral-ocr-latest",
        "document": {"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
        "table_format": "html",
        "image_limit": 2,
    }


def test_embeddings_extra_body(run: Runner) -> None:
    run(
        "embed",
        _json("embeddings.json"),
        model="mistral/mistral-embed",
        input=["a"],
        extra_body={"output_dtype": "int8"},
    )
    assert run.body["output_dtype"] == "int8"


def test_ocr_pages_below_one_are_refused(run: Runner) -> None:
    with pytest.raises(BadRequestError, match="from 1"):
        run(
            "ocr",
            _json("ocr_document.json"),
            model="mistral/mistral-ocr-latest",
            document=OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
            pages=[0],
        )
    assert run.requests == []


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m"},
        {"pages": [{"index": 0, "markdown": 5}]},
        {"pages": [{"index": "zero", "markdown": ""}]},
        {"pages": [{"index": 0, "markdown": "", "images": [{"top_left_x": 1}]}]},
        {"pages": [{"index": 0, "markdown": "", "dimensions": {"width": "wide", "height": 1}}]},
        {"pages": ["page"]},
    ],
    ids=["no-pages", "markdown-number", "index-text", "image-without-id", "width-text", "page-not-object"],
)
def test_ocr_malformed_answers(run: Runner, body: dict[str, Any]) -> None:
    with pytest.raises(SerializationError):
        run(
            "ocr",
            lambda r: httpx.Response(200, json=body),
            model="mistral/mistral-ocr-latest",
            document=OcrDocumentUrl(url="https://arxiv.org/pdf/2201.04234"),
        )


# -- transcription ------------------------------------------------------------------------


def _form(request: httpx.Request) -> dict[str, list[Any]]:
    raw = b"content-type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.content
    message = BytesParser(policy=HTTP).parsebytes(raw)
    fields: dict[str, list[Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields.setdefault(str(name), []).append(part.get_payload(decode=True))
    return fields


def test_transcription(run: Runner) -> None:
    audio = b"RIFF....WAVEfmt "
    response = run(
        "transcribe",
        _json("transcription.json"),
        model="mistral/voxtral-mini-latest",
        file=base64.b64encode(audio).decode(),
        filename="obama.wav",
        language="en",
        temperature=0.0,
        timestamp_granularities=["segment"],
    )
    request = run.requests[0]
    assert str(request.url) == "http://127.0.0.1:9/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    fields = _form(request)
    assert fields["model"] == [b"voxtral-mini-latest"]
    assert fields["language"] == [b"en"]
    assert fields["temperature"] == [b"0.0"]
    assert fields["timestamp_granularities"] == [b"segment"]
    assert fields["file"] == [audio]
    assert response.text.startswith("This week, I traveled to Chicago")
    assert response.language == "en"
    assert response.duration == 6.0
    assert [(s.id, s.start, s.end) for s in response.segments] == [(0, 0.8, 3.1), (1, 3.1, 5.9)]


def test_transcription_extra_body_becomes_form_fields(run: Runner) -> None:
    run(
        "transcribe",
        _json("transcription.json"),
        model="mistral/voxtral-mini-latest",
        file=base64.b64encode(b"RIFF").decode(),
        extra_body={"diarize": True, "context_bias": ["Chicago", "Obama"]},
    )
    fields = _form(run.requests[0])
    assert fields["diarize"] == [b"true"]
    assert fields["context_bias"] == [b"Chicago", b"Obama"]


@pytest.mark.parametrize(("field", "value"), [("prompt", "Chicago"), ("response_format", "srt")], ids=["prompt", "srt"])
def test_transcription_options_mistral_lacks_are_refused(run: Runner, field: str, value: str) -> None:
    with pytest.raises(BadRequestError):
        run(
            "transcribe",
            _json("transcription.json"),
            model="mistral/voxtral-mini-latest",
            file=base64.b64encode(b"RIFF").decode(),
            **{field: value},
        )
    assert run.requests == []


def test_transcription_malformed_answer(run: Runner) -> None:
    with pytest.raises(SerializationError):
        run(
            "transcribe",
            lambda r: httpx.Response(200, json={"model": "v", "segments": []}),
            model="mistral/voxtral-mini-latest",
            file=base64.b64encode(b"RIFF").decode(),
        )


# -- speech -------------------------------------------------------------------------------


def test_speech(run: Runner) -> None:
    audio = b"ID3\x04\x00fake-mp3-frames"
    answer = {"audio_data": base64.b64encode(audio).decode()}
    result = run(
        "speech",
        lambda r: httpx.Response(200, json=answer),
        model="mistral/voxtral-mini-tts-latest",
        input="Bonjour tout le monde",
        voice="en_paul_neutral",
        response_format="mp3",
    )
    request = run.requests[0]
    assert str(request.url) == "http://127.0.0.1:9/v1/audio/speech"
    assert run.body == {
        "model": "voxtral-mini-tts-latest",
        "input": "Bonjour tout le monde",
        "voice_id": "en_paul_neutral",
        "response_format": "mp3",
    }
    assert result == audio


@pytest.mark.parametrize(("field", "value"), [("speed", 1.5), ("response_format", "aac")])
def test_speech_options_mistral_lacks_are_refused(run: Runner, field: str, value: object) -> None:
    with pytest.raises(BadRequestError):
        run(
            "speech",
            lambda r: httpx.Response(200, json={"audio_data": ""}),
            model="mistral/voxtral-mini-tts-latest",
            input="hi",
            voice="v",
            **{field: value},
        )
    assert run.requests == []


@pytest.mark.parametrize("answer", [{"audio_data": "not base64!"}, {"audio": "AAAA"}, ["AAAA"]])
def test_speech_malformed_answers(run: Runner, answer: object) -> None:
    with pytest.raises(SerializationError):
        run(
            "speech",
            lambda r: httpx.Response(200, json=answer),
            model="mistral/voxtral-mini-tts-latest",
            input="hi",
            voice="v",
        )


# -- the model list -----------------------------------------------------------------------


def test_list_models(run: Runner) -> None:
    response = run("list_models", _json("models_list.json"))
    request = run.requests[0]
    assert request.method == "GET"
    assert str(request.url) == "http://127.0.0.1:9/v1/models"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert [m.id for m in response.data] == ["mistral-small-latest", "mistral-ocr-latest"]
    assert response.data[0].owned_by == "mistralai"


# -- errors -------------------------------------------------------------------------------


def _chat(run: Runner, answer: httpx.Response) -> Any:
    return run(
        "chat",
        lambda r: answer,
        model="mistral/mistral-small-latest",
        messages=[{"role": "user", "content": "hi"}],
    )


def test_validation_error_names_the_field(run: Runner) -> None:
    with pytest.raises(BadRequestError) as info:
        _chat(run, httpx.Response(422, json=fixture_json("error_422.json")))
    error = info.value
    assert error.status_code == 422
    assert error.message == "body.frobnicate: Extra inputs are not permitted"
    assert error.code == "invalid_request_message_error"


def test_tool_call_id_error_keeps_mistral_code(run: Runner) -> None:
    body = {
        "object": "error",
        "message": "Tool call id was abc123 but must be a-z, A-Z, 0-9, with a length of 9.",
        "type": "invalid_function_call",
        "param": None,
        "code": "3280",
    }
    with pytest.raises(BadRequestError) as info:
        _chat(run, httpx.Response(400, json=body))
    assert info.value.code == "3280"
    assert "length of 9" in info.value.message


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"message": "Unauthorized", "request_id": "c1a2"}, AuthenticationError),
        (429, {"message": "Requests rate limit exceeded"}, RateLimitedError),
        (503, {"object": "error", "message": "Service unavailable.", "type": "internal_server_error"}, None),
    ],
)
def test_error_kinds(run: Runner, status: int, body: dict[str, Any], kind: type[Exception] | None) -> None:
    with pytest.raises(kind or ServiceUnavailableError) as info:
        _chat(run, httpx.Response(status, json=body, headers={"retry-after": "3"}))
    error = info.value
    assert getattr(error, "provider", None) == "mistral"
    assert getattr(error, "retry_after", None) == 3
    assert body["message"] in str(error)
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)


def test_plain_text_error_is_mapped_by_status(run: Runner) -> None:
    with pytest.raises(ServiceUnavailableError) as info:
        _chat(run, httpx.Response(502, content=b"Bad gateway"))
    assert "Bad gateway" in info.value.message


def test_key_comes_from_mistral_api_key_and_goes_only_to_mistral(monkeypatch: pytest.MonkeyPatch, run: Runner) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "env-mistral-key-42")
    monkeypatch.setenv("MISTRAL_BASE_URL", "http://127.0.0.1:9/v1")
    run(
        "chat",
        lambda r: httpx.Response(
            200,
            json={
                "id": "c",
                "object": "chat.completion",
                "model": "m",
                "created": 1,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            },
        ),
        model="mistral/mistral-small-latest",
        messages=[{"role": "user", "content": "hi"}],
        # the client's key is for OpenAI: it must not travel to Mistral
        client_options={"model_hint": "openai", "base_url": None, "api_key": "sk-openai-not-for-mistral"},
    )
    assert run.requests[0].headers["authorization"] == "Bearer env-mistral-key-42"
    assert "sk-openai" not in str(run.requests[0].headers)
