"""The typed data model and the converter: wire shapes, strict requests, lenient responses."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

import pytest

from liter_llm import _serde
from liter_llm import types as t
from liter_llm.errors import BadRequestError, LiterLlmError, SerializationError


def _bad(cls: type[Any], data: Any) -> str:
    with pytest.raises(BadRequestError) as info:
        cls.from_dict(data)
    return info.value.message


def _ser(cls: type[Any], data: Any) -> str:
    with pytest.raises(SerializationError) as info:
        cls.from_dict(data)
    return info.value.message


# ---------------------------------------------------------------------------
# Import cost
# ---------------------------------------------------------------------------


def test_importing_types_does_not_import_cattrs_or_serde() -> None:
    code = (
        "import sys, liter_llm.types\n"
        "assert 'cattrs' not in sys.modules, 'cattrs imported'\n"
        "assert 'liter_llm._serde' not in sys.modules, '_serde imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=None)


def test_structuring_a_request_and_its_errors_does_not_import_cattrs() -> None:
    code = (
        "import sys, liter_llm.types as t\n"
        "from liter_llm.errors import BadRequestError\n"
        "r = t.ChatCompletionRequest.from_dict({'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}]})\n"
        "assert r.to_dict()['messages'][0]['content'] == 'hi'\n"
        "try:\n"
        "    t.ChatCompletionRequest.from_dict({'model': 'm', 'messages': [], 'temperature': 'x'})\n"
        "except BadRequestError as exc:\n"
        "    assert 'temperature' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('a bad temperature was accepted')\n"
        "assert 'cattrs' not in sys.modules, 'cattrs imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_request_builds_the_parsers_of_the_fields_and_roles_it_uses_only() -> None:
    """Strict parsers are built per field and per tagged member on first use (the first call's cost)."""
    code = (
        "from liter_llm import _serde, types as t\n"
        "t.ChatCompletionRequest.from_dict({'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}]})\n"
        "built = {tp.__name__ for tp, strict in _serde._PARSERS if strict and isinstance(tp, type)}\n"
        "assert {'ChatCompletionRequest', 'UserMessage'} <= built, built\n"
        "assert not built & {'ChatCompletionTool', 'SystemMessage', 'ResponseFormatJsonSchema', 'StreamOptions'}\n"
        "req = t.ChatCompletionRequest.from_dict({'model': 'm', 'messages': [{'role': 'system', 'content': 's'}],\n"
        "    'tools': [{'type': 'function', 'function': {'name': 'f'}}]})\n"
        "assert req.tools[0].function.name == 'f' and req.messages[0].content == 's'\n"
        "try:\n"
        "    R = t.ChatCompletionRequest\n"
        "    R.from_dict({'model': 'm', 'messages': [], 'stream_options': {'include_usage': 1}})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out == "BadRequestError bad request: stream_options.include_usage: expected a boolean, got integer\n", out


def test_repr_equality_and_hashing_are_attrs_own() -> None:
    """The base class gives every type attrs' ``repr`` and ``==`` (attrs no longer compiles them per class)."""
    req = t.ChatCompletionRequest(model="m", messages=[t.UserMessage(content="hi")], tools=[])
    assert repr(req).startswith("ChatCompletionRequest(model='m', messages=[UserMessage(content='hi', name=None)], ")
    assert repr(req).endswith(", extra_body=None)")
    shown = [part.split("=")[0] for part in repr(t.Usage(prompt_tokens=1)).removeprefix("Usage(")[:-1].split(", ")]
    assert shown == [field.name for field in t.Usage.__attrs_attrs__]  # every field, in field order
    looped = t.UserMessage(content=[])
    looped.content.append(looped)  # type: ignore[arg-type]
    assert repr(looped) == "UserMessage(content=[...], name=None)"  # a cycle is shown as "..."
    same = t.ChatCompletionRequest(model="m", messages=[t.UserMessage(content="hi")], tools=[])
    assert req == same
    assert (req != same) is False
    same.messages[0].name = "x"  # type: ignore[union-attr]
    assert req != same
    assert (req == same) is False
    assert t.ImageUrl(url="u") != t.DocumentContent(data="u", media_type="x")  # another class: never equal
    assert (t.ImageUrl(url="u") == object()) is False
    for value in (req, t.ImageUrl(url="u"), t.Usage()):
        with pytest.raises(TypeError):
            hash(value)


def test_all_names_exist() -> None:
    for name in t.__all__:
        assert hasattr(t, name), name


# ---------------------------------------------------------------------------
# Wire names, discriminators, None omission
# ---------------------------------------------------------------------------


def test_messages_emit_role_and_parse_by_role() -> None:
    req = t.ChatCompletionRequest(
        model="gpt-4o",
        messages=[
            t.SystemMessage(content="be brief"),
            t.DeveloperMessage(content="dev"),
            t.UserMessage(content="hi", name="ann"),
            t.AssistantMessage(
                content=None,
                tool_calls=[t.ToolCall(id="c1", function=t.FunctionCall(name="f", arguments="{}"))],
            ),
            t.ToolMessage(content="42", tool_call_id="c1"),
            t.FunctionMessage(content="x", name="f"),
        ],
    )
    wire = req.to_dict()
    assert [m["role"] for m in wire["messages"]] == ["system", "developer", "user", "assistant", "tool", "function"]
    assert wire["messages"][3] == {
        "role": "assistant",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    assert t.ChatCompletionRequest.from_dict(wire) == req
    assert t.ChatCompletionRequest.from_json(req.to_json()) == req


def test_content_parts_wire_shape() -> None:
    msg = t.UserMessage(
        content=[
            t.TextContentPart(text="look"),
            t.ImageUrlContentPart(image_url=t.ImageUrl(url="https://x/y.png", detail=t.ImageDetail.HIGH)),
            t.DocumentContentPart(document=t.DocumentContent(data="ZGF0YQ==", media_type="application/pdf")),
            t.InputAudioContentPart(input_audio=t.AudioContent(data="AAA=", format="wav")),
        ]
    )
    assert msg.to_dict() == {
        "role": "user",
        "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}},
            {"type": "document", "document": {"data": "ZGF0YQ==", "media_type": "application/pdf"}},
            {"type": "input_audio", "input_audio": {"data": "AAA=", "format": "wav"}},
        ],
    }
    assert t.UserMessage.from_dict(msg.to_dict()) == msg


def test_system_message_accepts_text_parts() -> None:
    msg = t.SystemMessage.from_dict({"role": "system", "content": [{"type": "text", "text": "a"}]})
    assert msg.content == [t.TextContentPart(text="a")]


def test_tool_type_and_choice_wire_names() -> None:
    tool = t.ChatCompletionTool(function=t.FunctionDefinition(name="get", parameters={"type": "object"}))
    assert tool.tool_type is t.ToolType.FUNCTION
    assert tool.to_dict() == {"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}}
    choice = t.SpecificToolChoice(function=t.SpecificFunction(name="get"))
    req = t.ChatCompletionRequest(model="m", tools=[tool], tool_choice=choice)
    assert req.to_dict()["tool_choice"] == {"type": "function", "function": {"name": "get"}}
    assert t.ChatCompletionRequest.from_dict(req.to_dict()) == req
    for mode in ("auto", "required", "none"):
        parsed = t.ChatCompletionRequest.from_dict({"model": "m", "tool_choice": mode})
        assert parsed.tool_choice is t.ToolChoiceMode(mode)
        assert parsed.to_dict()["tool_choice"] == mode
    chunk_call = t.StreamToolCall(index=0, id="x", call_type=t.ToolType.FUNCTION)
    assert chunk_call.to_dict() == {"index": 0, "id": "x", "type": "function"}


def test_response_format_shapes() -> None:
    assert t.ResponseFormatText().to_dict() == {"type": "text"}
    assert t.ResponseFormatJsonObject().to_dict() == {"type": "json_object"}
    fmt = t.ResponseFormatJsonSchema(json_schema=t.JsonSchemaFormat(name="n", schema={"type": "object"}, strict=True))
    assert fmt.to_dict() == {
        "type": "json_schema",
        "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": True},
    }
    req = t.ChatCompletionRequest.from_dict({"model": "m", "response_format": fmt.to_dict()})
    assert req.response_format == fmt
    req = t.ChatCompletionRequest.from_dict({"model": "m", "response_format": {"type": "json_object"}})
    assert isinstance(req.response_format, t.ResponseFormatJsonObject)


def test_none_and_empty_defaults_omitted() -> None:
    req = t.ChatCompletionRequest(model="m", messages=[t.UserMessage(content="hi")])
    assert req.to_dict() == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert "tools" not in req.to_dict()
    assert "logit_bias" not in req.to_dict()
    assert "search_domain_filter" not in t.SearchRequest(model="m", query="q").to_dict()
    # nested None omitted too
    assert t.AssistantMessage(content="x").to_dict() == {"role": "assistant", "content": "x"}


def test_cost_and_cache_hit_omitted_unless_set() -> None:
    resp = t.ChatCompletionResponse(id="a", created=1, model="m")
    assert "cost" not in resp.to_dict()
    assert "cache_hit" not in resp.to_dict()
    resp.cost = 0.5
    resp.cache_hit = True
    assert resp.to_dict()["cost"] == 0.5
    assert resp.to_dict()["cache_hit"] is True
    assert t.ChatCompletionResponse.from_dict(resp.to_dict()) == resp
    emb = t.EmbeddingResponse(data=[], model="m", cost=0.1)
    assert emb.to_dict() == {"object": "list", "data": [], "model": "m", "cost": 0.1}


def test_enums_emitted_as_values() -> None:
    req = t.EmbeddingRequest(model="m", input=["a", "b"], encoding_format=t.EmbeddingFormat.BASE64)
    wire = req.to_dict()
    assert wire == {"model": "m", "input": ["a", "b"], "encoding_format": "base64"}
    assert type(wire["encoding_format"]) is str
    r = t.ChatCompletionRequest(model="m", reasoning_effort=t.ReasoningEffort.MINIMAL)
    assert r.to_dict()["reasoning_effort"] == "minimal"
    assert json.loads(r.to_json()) == {"model": "m", "reasoning_effort": "minimal"}


def test_extra_body_merged_and_wins() -> None:
    req = t.ChatCompletionRequest(
        model="m",
        temperature=0.1,
        extra_body={"temperature": 0.9, "safety_settings": [{"category": "x"}]},
    )
    body = _serde.request_body(req)
    assert body == {"model": "m", "temperature": 0.9, "safety_settings": [{"category": "x"}]}
    assert "extra_body" not in body
    assert req.to_dict()["extra_body"] == {"temperature": 0.9, "safety_settings": [{"category": "x"}]}


def test_moderation_category_wire_names() -> None:
    data = {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": True,
                "categories": {"self-harm": True, "sexual/minors": False, "hate/threatening": True, "illicit": True},
                "category_scores": {"self-harm/intent": 0.7, "violence/graphic": 0.2, "harassment/threatening": 0.1},
            }
        ],
    }
    resp = t.ModerationResponse.from_dict(data)
    result = resp.results[0]
    assert result.categories.self_harm is True
    assert result.categories.hate_threatening is True
    assert result.categories.violence is False  # missing -> False
    assert result.category_scores.self_harm_intent == 0.7
    assert result.category_scores.violence_graphic == 0.2
    assert result.category_scores.sexual == 0.0
    wire = resp.to_dict()["results"][0]
    assert wire["categories"]["self-harm"] is True
    assert "self_harm" not in wire["categories"]
    assert set(wire["category_scores"]) >= {"self-harm/instructions", "harassment/threatening", "sexual/minors"}


def test_ocr_document_shapes() -> None:
    url = t.OcrRequest(model="mistral/ocr", document=t.OcrDocumentUrl(url="https://x/a.pdf"))
    assert url.to_dict()["document"] == {"type": "document_url", "url": "https://x/a.pdf"}
    b64 = t.OcrRequest(model="m", document=t.OcrDocumentBase64(data="QQ==", media_type="application/pdf"))
    assert b64.to_dict()["document"] == {"type": "base64", "data": "QQ==", "media_type": "application/pdf"}
    assert t.OcrRequest.from_dict(url.to_dict()) == url
    assert t.OcrRequest.from_dict(b64.to_dict()) == b64


def test_rerank_documents_union() -> None:
    req = t.RerankRequest.from_dict({"model": "m", "query": "q", "documents": ["a", {"text": "b"}]})
    assert req.documents == ["a", t.RerankDocumentObject(text="b")]
    assert req.to_dict()["documents"] == ["a", {"text": "b"}]


def test_embedding_input_forms() -> None:
    for value in ("a", ["a", "b"], [1, 2, 3], [[1, 2], [3]]):
        req = t.EmbeddingRequest.from_dict({"model": "m", "input": value})
        assert req.input == value
    assert _bad(t.EmbeddingRequest, {"model": "m", "input": [1.5]}).startswith("input[0]: expected")


def test_bytes_fields_base64() -> None:
    req = t.CreateFileRequest(file=b"\x00\x01hello", purpose="batch")
    wire = req.to_dict()
    assert wire["file"] == base64.b64encode(b"\x00\x01hello").decode()
    assert t.CreateFileRequest.from_dict(wire) == req
    assert t.CreateFileRequest.from_dict({"file": b"raw", "purpose": "p"}).file == b"raw"
    assert _bad(t.CreateFileRequest, {"file": "not base64!", "purpose": "p"}).startswith("file: ")
    tr = t.CreateTranscriptionRequest.from_dict({"model": "whisper-1", "file": "QUJD"})
    assert tr.file == b"ABC"
    assert tr.filename == "audio.wav"


# ---------------------------------------------------------------------------
# Strict requests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "user", "content": "b"},
                    {"role": "user", "content": 3},
                ],
            },
            "messages[2].content",
            "expected",
        ),
        (
            {"model": "m", "tools": [{"type": "function", "function": {"name": 1}}]},
            "tools[0].function.name",
            "expected a string, got integer",
        ),
        ({"model": "m", "tools": [{"function": {"description": "d"}}]}, "tools[0].function.name", "missing"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "unknown role"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role", "missing"),
        ({"model": "m", "temperatur": 0.5}, "temperatur", "unknown field"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x", "nmae": "a"}]},
            "messages[0].nmae",
            "unknown field",
        ),
        ({"messages": []}, "model", "missing required field"),
        ({"model": "m", "max_tokens": True}, "max_tokens", "expected an integer, got boolean"),
        ({"model": "m", "max_tokens": 1.5}, "max_tokens", "expected an integer"),
        ({"model": "m", "temperature": "hot"}, "temperature", "expected a number"),
        ({"model": "m", "messages": "hello"}, "messages", "expected an array, got string"),
        ({"model": "m", "stop": 5}, "stop", "expected"),
        ({"model": "m", "stop": ["a", 1]}, "stop[1]", "expected a string"),
        ({"model": "m", "tool_choice": "sometimes"}, "tool_choice", "'auto'"),
        ({"model": "m", "tool_choice": {"type": "function", "function": {}}}, "tool_choice.function.name", "missing"),
        ({"model": "m", "response_format": {"type": "xml"}}, "response_format.type", "unknown type"),
        ({"model": "m", "response_format": {"type": "json_schema"}}, "response_format.json_schema", "missing"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]},
            "messages[0].content[0].type",
            "unknown type",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u", "detail": "ultra"}}]}
                ],
            },
            "messages[0].content[0].image_url.detail",
            "'low'",
        ),
        ({"model": "m", "logit_bias": {"50256": "x"}}, "logit_bias.50256", "expected a number"),
        ({"model": "m", "reasoning_effort": "extreme"}, "reasoning_effort", "expected one of"),
        (
            {"model": "m", "stream_options": {"include_usage": "yes"}},
            "stream_options.include_usage",
            "expected a boolean",
        ),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id", "missing"),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "1", "type": "custom", "function": {"name": "f", "arguments": ""}}],
                    }
                ],
            },
            "messages[0].tool_calls[0].type",
            "expected one of 'function'",
        ),
        ({"model": None}, "model", "expected a string, got null"),
    ],
)
def test_strict_request_errors_name_the_path(data: dict[str, Any], path: str, words: str) -> None:
    message = _bad(t.ChatCompletionRequest, data)
    assert message.startswith(path + ": "), message
    assert words in message, message


@pytest.mark.parametrize(
    "data",
    [
        {"max_tokens": "y", "temperature": "x", "model": "m", "messages": []},
        {"temperature": "x", "max_tokens": "y", "model": "m", "messages": []},
    ],
)
def test_of_two_bad_fields_the_first_declared_is_reported_whatever_the_order_given(data: dict[str, Any]) -> None:
    message = _bad(t.ChatCompletionRequest, data)  # temperature is declared before max_tokens
    assert message.startswith("temperature: expected a number, got string"), message


def test_strict_other_requests() -> None:
    assert _bad(t.EmbeddingRequest, {"model": "m"}).startswith("input: missing")
    assert _bad(t.RerankRequest, {"model": "m", "query": "q", "documents": [{"txt": "a"}]}).startswith(
        "documents[0].text: missing required field"
    )
    assert _bad(t.OcrRequest, {"model": "m", "document": {"type": "ftp"}}).startswith("document.type: ")
    assert _bad(t.ModerationRequest, {"input": {"a": 1}}).startswith("input: expected a string or an array")
    assert _bad(t.CustomProviderConfig, {"name": "x", "base_url": "u", "auth_header": 3}).startswith("auth_header: ")
    assert "expected an object" in _bad(t.ChatCompletionRequest, ["not", "a", "dict"])


def test_strict_null_for_default_lists_is_default() -> None:
    req = t.ChatCompletionRequest.from_dict({"model": "m", "tools": None, "logit_bias": None, "stop": None})
    assert req.tools == []
    assert req.logit_bias == {}
    assert req.stop is None


def test_from_json_errors() -> None:
    with pytest.raises(BadRequestError, match="invalid JSON"):
        t.ChatCompletionRequest.from_json("{")
    with pytest.raises(SerializationError, match="invalid JSON"):
        t.ChatCompletionResponse.from_json(b"\xff\xfe{")
    with pytest.raises(SerializationError):
        t.ChatCompletionResponse.from_json("[1, 2]")


def test_request_accepts_typed_objects_inside_dicts() -> None:
    req = t.ChatCompletionRequest.from_dict({"model": "m", "messages": [t.UserMessage(content="x")]})
    assert req.messages == [t.UserMessage(content="x")]


# ---------------------------------------------------------------------------
# Lenient responses
# ---------------------------------------------------------------------------

RESPONSE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 9,
        "completion_tokens": 2,
        "total_tokens": 11,
        "prompt_tokens_details": {"cached_tokens": 3, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 1, "audio_tokens": 0, "accepted_prediction_tokens": 0},
    },
    "system_fingerprint": "fp",
    "some_vendor_field": {"x": 1},
}


def test_lenient_response_parses_openai_shape() -> None:
    resp = t.ChatCompletionResponse.from_dict(RESPONSE)
    assert resp.choices[0].message.content == "Hi"
    assert resp.choices[0].finish_reason is t.FinishReason.STOP
    assert resp.usage == t.Usage(
        prompt_tokens=9,
        completion_tokens=2,
        total_tokens=11,
        prompt_tokens_details=t.PromptTokensDetails(cached_tokens=3),
        completion_tokens_details=t.CompletionTokensDetails(reasoning_tokens=1),
    )
    assert resp.cost is None
    assert resp.cache_hit is False


def test_lenient_missing_and_null() -> None:
    resp = t.ChatCompletionResponse.from_dict(
        {"id": "x", "model": "m", "choices": [{"message": {"content": "a"}, "finish_reason": "eos_token"}]}
    )
    assert resp.created == 0
    assert resp.object == "chat.completion"
    assert resp.usage is None
    assert resp.choices[0].finish_reason is t.FinishReason.OTHER
    assert t.ChatCompletionResponse.from_dict({"id": "x", "model": "m", "choices": None}).choices == []
    usage = t.Usage.from_dict({"prompt_tokens": None, "total_tokens": 5})
    assert usage == t.Usage(prompt_tokens=0, completion_tokens=0, total_tokens=5)
    chunk = t.ChatCompletionChunk.from_dict(
        {
            "id": "c",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"reasoning_content": "hmm", "tool_calls": None}}],
        }
    )
    assert chunk.choices[0].delta.reasoning_content == "hmm"
    assert chunk.choices[0].delta.tool_calls == []
    assert chunk.object == "chat.completion.chunk"
    # a missing id is the empty string, not an error
    assert t.ChatCompletionChunk.from_dict({"choices": []}).id == ""


def test_lenient_numbers_and_strings() -> None:
    resp = t.ChatCompletionResponse.from_dict(
        {"id": 123, "created": 1.0, "model": "m", "usage": {"prompt_tokens": "7"}}
    )
    assert resp.id == "123"
    assert resp.created == 1
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == 7


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"id": "x", "model": "m", "choices": "nope"}, "choices"),
        ({"id": "x", "model": "m", "choices": [{"message": 5}]}, "choices[0].message"),
        (
            {"id": "x", "model": "m", "choices": [{}, {"message": {"tool_calls": [{"function": []}]}}]},
            "choices[1].message.tool_calls[0].function",
        ),
        ({"id": "x", "model": "m", "usage": {"prompt_tokens": [1]}}, "usage.prompt_tokens"),
        ({"id": {"a": 1}, "model": "m"}, "id"),
    ],
)
def test_lenient_wrong_shape_is_serialization_error(data: dict[str, Any], path: str) -> None:
    message = _ser(t.ChatCompletionResponse, data)
    assert message.startswith(path + ": "), message


def test_response_not_a_dict() -> None:
    for value in (None, 1, "x", [1]):
        with pytest.raises(SerializationError):
            t.ChatCompletionResponse.from_dict(value)  # type: ignore[arg-type]


def test_other_responses_lenient() -> None:
    models = t.ModelsListResponse.from_dict({"data": [{"id": "a"}, {"id": "b", "owned_by": "me", "extra": 1}]})
    assert models.object == "list"
    assert models.data[0] == t.ModelObject(id="a")
    emb = t.EmbeddingResponse.from_dict(
        {"data": [{"embedding": [0.1, 1], "index": 0}], "model": "e", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    )
    assert emb.data[0].embedding == [0.1, 1.0]
    assert emb.usage == t.Usage(prompt_tokens=2, total_tokens=2)
    tr = t.TranscriptionResponse.from_dict(
        {"text": "hi", "segments": [{"id": 0, "start": 0, "end": 1.5, "text": "hi", "seek": 0, "tokens": [1]}]}
    )
    assert tr.segments == [t.TranscriptionSegment(id=0, start=0.0, end=1.5, text="hi")]
    batch = t.Batch.from_dict({"id": "b", "status": "completed", "request_counts": {"total": 2, "completed": 2}})
    assert batch.request_counts == t.BatchRequestCounts(total=2, completed=2)
    files = t.FileListResponse.from_dict({"data": [{"id": "f", "bytes": 10, "purpose": "batch"}]})
    assert files.data[0].bytes == 10
    r = t.ResponseObject.from_dict({"id": "r", "output": None, "usage": {"input_tokens": 1, "output_tokens": 2}})
    assert r.output == []
    assert r.usage == t.ResponseUsage(input_tokens=1, output_tokens=2)


def test_base64_embeddings_decoded() -> None:
    import struct

    data = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.0)).decode()
    emb = t.EmbeddingResponse.from_dict({"data": [{"embedding": data, "index": 0}], "model": "e"})
    assert emb.data[0].embedding == [0.5, -1.0, 2.0]
    _ser(t.EmbeddingResponse, {"data": [{"embedding": "!!"}], "model": "e"})


def test_serde_entry_points() -> None:
    conv = _serde.get_converter()
    assert conv.structure(RESPONSE, t.ChatCompletionResponse) == t.ChatCompletionResponse.from_dict(RESPONSE)
    with pytest.raises(BadRequestError):
        conv.structure({"model": "m", "bogus": 1}, t.ChatCompletionRequest)
    req = t.ChatCompletionRequest(model="m")
    assert conv.unstructure(req) == _serde.unstructure(req) == _serde.to_wire(req) == req.to_dict()
    msg = _serde.structure_request({"role": "user", "content": "x"}, t.Message)
    assert msg == t.UserMessage(content="x")


def test_errors_are_always_liter_llm_errors() -> None:
    weird: list[Any] = [object(), float("nan"), {1: 2}, [[[]]], {"choices": [{"message": {"content": {"a": 1}}}]}]
    for value in weird:
        try:
            t.ChatCompletionResponse.from_dict(value)
        except LiterLlmError:
            pass


# ---------------------------------------------------------------------------
# AuthHeaderFormat, CustomProviderConfig
# ---------------------------------------------------------------------------


def test_auth_header_format_parse() -> None:
    assert t.AuthHeaderFormat.parse("bearer") is t.AuthHeaderFormat.BEARER
    assert t.AuthHeaderFormat.parse("BEARER") is t.AuthHeaderFormat.BEARER
    assert t.AuthHeaderFormat.parse("None") is t.AuthHeaderFormat.NONE
    assert t.AuthHeaderFormat.parse("x-api-key") == t.AuthHeaderFormat.api_key("x-api-key")
    assert t.AuthHeaderFormat.parse({"api_key": "X-Api-Key"}) == t.AuthHeaderFormat(kind="api_key", header="X-Api-Key")
    fmt = t.AuthHeaderFormat.api_key("h")
    assert t.AuthHeaderFormat.parse(fmt) is fmt
    assert fmt.kind == "api_key"
    assert fmt.header == "h"
    for bad in ("", "  ", 3, None, {"api_key": 3}, {"a": "b", "c": "d"}, ["bearer"]):
        with pytest.raises(BadRequestError):
            t.AuthHeaderFormat.parse(bad)


def test_custom_provider_config() -> None:
    cfg = t.CustomProviderConfig(name="mine", base_url="https://x/v1", model_prefixes=["my-"])
    assert cfg.auth_header is t.AuthHeaderFormat.BEARER
    cfg2 = t.CustomProviderConfig(name="mine", base_url="u", auth_header="X-Key")  # type: ignore[arg-type]
    assert cfg2.auth_header == t.AuthHeaderFormat.api_key("X-Key")
    assert cfg2.to_dict() == {"name": "mine", "base_url": "u", "auth_header": {"api_key": "X-Key"}}
    assert t.CustomProviderConfig.from_dict(cfg2.to_dict()) == cfg2
    assert t.CustomProviderConfig.from_dict({"name": "n", "base_url": "u", "auth_header": "none"}).auth_header is (
        t.AuthHeaderFormat.NONE
    )
    with pytest.raises(BadRequestError):
        t.CustomProviderConfig(name="n", base_url="u", auth_header=5)  # type: ignore[arg-type]
