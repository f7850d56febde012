"""Images, documents and audio by S3 location; tool_choice "none"; JSON response_format; list_models."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from liter_llm.errors import AuthenticationError, BadRequestError, SerializationError
from liter_llm.types import FinishReason

from .conftest import API_KEY, Runner, fixture_json, stream_fixture, stream_response

MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
NOVA = "amazon.nova-pro-v1:0"
WAV = base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt fake").decode()
# the S3 example of the Converse guide (bucket amzn-s3-demo-bucket)
S3_IMAGE = "s3://amzn-s3-demo-bucket/myImage.png"
S3_DOC = "s3://amzn-s3-demo-bucket/reports/annual-report.pdf"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "top_song",
            "description": "Get the most popular song played on a radio station.",
            "parameters": {"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]},
        },
    }
]
SONG_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "song",
        "schema": {
            "type": "object",
            "properties": {"song": {"type": "string"}, "artist": {"type": "string"}},
            "required": ["song", "artist"],
        },
    },
}


def ok(name: str = "converse_text.json") -> httpx.Response:
    return httpx.Response(200, json=fixture_json(name), headers={"x-amzn-requestid": "req-1"})


def user(*parts: dict) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "Look at this."}, *parts]}]


# ---------------------------------------------------------------------------
# media sources
# ---------------------------------------------------------------------------


def test_s3_image_document_and_audio_become_s3_locations(run: Runner) -> None:
    messages = user(
        {"type": "image_url", "image_url": {"url": S3_IMAGE}},
        {"type": "document", "document": {"data": S3_DOC, "media_type": "application/pdf"}},
        {"type": "input_audio", "input_audio": {"data": "s3://amzn-s3-demo-bucket/clip.wav", "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
    )
    run("chat", lambda r: ok(), model=NOVA, messages=messages)
    content = run.body["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"s3Location": {"uri": S3_IMAGE}}}}
    assert content[2] == {
        "document": {"format": "pdf", "name": "document-1", "source": {"s3Location": {"uri": S3_DOC}}}
    }
    assert content[3] == {
        "audio": {"format": "wav", "source": {"s3Location": {"uri": "s3://amzn-s3-demo-bucket/clip.wav"}}}
    }
    assert content[4] == {"audio": {"format": "wav", "source": {"bytes": WAV}}}


@pytest.mark.parametrize("extension", ["jpg", "JPEG", "gif", "webp"])
def test_the_s3_image_format_comes_from_the_key(run: Runner, extension: str) -> None:
    url = f"s3://amzn-s3-demo-bucket/photos/cat.{extension}"
    run("chat", lambda r: ok(), model=NOVA, messages=user({"type": "image_url", "image_url": {"url": url}}))
    image = run.body["messages"][0]["content"][1]["image"]
    assert image["format"] == {"jpg": "jpeg", "jpeg": "jpeg"}.get(extension.lower(), extension)
    assert image["source"] == {"s3Location": {"uri": url}}


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}, r"not an http\(s\) URL"),
        (
            {"type": "document", "document": {"data": "https://example.com/a.pdf", "media_type": "application/pdf"}},
            r"not an http\(s\) URL",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "http://example.com/a.wav", "format": "wav"}},
            r"not an http\(s\) URL",
        ),
        ({"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}, "s3:// URI"),
        ({"type": "image_url", "image_url": {"url": "s3://amzn-s3-demo-bucket/no-extension"}}, "image format"),
        ({"type": "image_url", "image_url": {"url": "s3://Bad_Bucket/a.png"}}, "not an S3 object URI"),
        ({"type": "image_url", "image_url": {"url": "s3://amzn-s3-demo-bucket/"}}, "not an S3 object URI"),
        ({"type": "input_audio", "input_audio": {"data": WAV, "format": "amr"}}, "not a Converse audio format"),
        ({"type": "input_audio", "input_audio": {"data": "not base64!", "format": "mp3"}}, "invalid base64"),
    ],
)
def test_what_bedrock_cannot_take_is_refused_before_any_io(run: Runner, part: dict, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        run("chat", lambda r: ok(), model=NOVA, messages=user(part))
    assert run.requests == []


# ---------------------------------------------------------------------------
# tool_choice "none"
# ---------------------------------------------------------------------------


def test_tool_choice_none_leaves_the_tools_out(run: Runner) -> None:
    run("chat", lambda r: ok(), model=MODEL, messages=user(), tools=TOOLS, tool_choice="none")
    assert "toolConfig" not in run.body


def test_tool_choice_none_with_tool_calls_in_the_conversation_is_refused(run: Runner) -> None:
    call = {"id": "tooluse_1", "type": "function", "function": {"name": "top_song", "arguments": '{"sign": "WZPZ"}'}}
    messages = [
        {"role": "user", "content": "What is the most popular song on WZPZ?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "tooluse_1", "content": '{"song": "Elemental Hotel"}'},
    ]
    with pytest.raises(BadRequestError, match="tool_choice: 'none'"):
        run("chat", lambda r: ok(), model=MODEL, messages=messages, tools=TOOLS, tool_choice="none")
    assert run.requests == []


# ---------------------------------------------------------------------------
# JSON response_format through a forced tool
# ---------------------------------------------------------------------------


def test_json_schema_is_a_forced_tool_and_its_input_is_the_content(run: Runner) -> None:
    response = run(
        "chat", lambda r: ok("converse_json_tool.json"), model=MODEL, messages=user(), response_format=SONG_SCHEMA
    )
    config = run.body["toolConfig"]
    assert config["toolChoice"] == {"any": {}}
    assert config["tools"] == [
        {
            "toolSpec": {
                "name": "song",
                "description": "Respond with the answer as this tool's input.",
                "inputSchema": {"json": SONG_SCHEMA["json_schema"]["schema"]},
            }
        }
    ]
    message = response.choices[0].message
    assert json.loads(message.content) == {"song": "Elemental Hotel", "artist": "8 Storey Hike"}
    assert message.tool_calls == []
    assert response.choices[0].finish_reason == FinishReason.STOP


def test_json_object_uses_the_json_response_tool(run: Runner) -> None:
    answer = fixture_json("converse_json_tool.json")
    answer["output"]["message"]["content"][0]["toolUse"]["name"] = "json_response"
    response = run(
        "chat",
        lambda r: httpx.Response(200, json=answer),
        model=NOVA,
        messages=user(),
        response_format={"type": "json_object"},
    )
    spec = run.body["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["name"] == "json_response"
    assert spec["inputSchema"] == {"json": {"type": "object"}}
    assert json.loads(response.choices[0].message.content)["artist"] == "8 Storey Hike"


def test_json_mode_beside_tools_keeps_real_tool_calls(run: Runner) -> None:
    response = run(
        "chat",
        lambda r: ok("converse_tool_use.json"),
        model=MODEL,
        messages=user(),
        tools=TOOLS,
        response_format=SONG_SCHEMA,
    )
    assert [tool["toolSpec"]["name"] for tool in run.body["toolConfig"]["tools"]] == ["top_song", "song"]
    choice = response.choices[0]
    assert choice.message.content is None  # the text block is not the JSON answer
    assert choice.message.tool_calls[0].function.name == "top_song"
    assert choice.finish_reason == FinishReason.TOOL_CALLS


def test_json_mode_streams_the_tool_input_as_content(run: Runner) -> None:
    chunks = run(
        "chat_stream",
        lambda r: stream_response(stream_fixture("stream_json_tool.json")),
        model=MODEL,
        messages=user(),
        response_format=SONG_SCHEMA,
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(text) == {"song": "Elemental Hotel", "artist": "8 Storey Hike"}
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [FinishReason.STOP]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 458


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"tools": TOOLS, "tool_choice": "none"}, "tool_choice 'none'"),
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "top_song"}}}, "named tool_choice"),
        ({"tools": [{**TOOLS[0], "function": {**TOOLS[0]["function"], "name": "song"}}]}, "already a tool's name"),
    ],
)
def test_json_mode_refusals(run: Runner, kwargs: dict, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        run("chat", lambda r: ok(), model=MODEL, messages=user(), response_format=SONG_SCHEMA, **kwargs)
    assert run.requests == []


# ---------------------------------------------------------------------------
# list_models: ListFoundationModels on the control plane
# ---------------------------------------------------------------------------


def test_list_models_signs_for_the_control_plane(run: Runner) -> None:
    client = {"model_hint": None, "base_url": None}
    models = run(
        "list_models",
        lambda r: httpx.Response(200, json=fixture_json("list_foundation_models.json")),
        provider="bedrock",
        client_options=client,
    )
    request = run.requests[0]
    assert request.method == "GET"
    assert str(request.url) == "https://bedrock.us-east-1.amazonaws.com/foundation-models"
    assert request.headers["host"] == "bedrock.us-east-1.amazonaws.com"
    assert "/us-east-1/bedrock/aws4_request" in request.headers["authorization"]
    assert [(m.id, m.owned_by) for m in models.data] == [
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "Anthropic"),
        ("amazon.titan-embed-text-v2:0", "Amazon"),
    ]


def test_list_models_at_a_configured_control_endpoint_with_an_api_key(run: Runner) -> None:
    client = {"plugins": {"bedrock": {"control_endpoint": "http://127.0.0.1:9/control", "api_key": API_KEY}}}
    run("list_models", lambda r: httpx.Response(200, json={"modelSummaries": []}), client_options=client)
    request = run.requests[0]
    assert str(request.url) == "http://127.0.0.1:9/control/foundation-models"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("body", [b"[]", b'{"modelSummaries": {}}', b'{"modelSummaries": [{"modelName": "x"}]}'])
def test_a_malformed_model_list_is_a_serialization_error(run: Runner, body: bytes) -> None:
    with pytest.raises(SerializationError):
        run("list_models", lambda r: httpx.Response(200, content=body))


def test_a_refused_model_list_is_an_authentication_error(run: Runner) -> None:
    def denied(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"message": "User is not authorized to perform: bedrock:ListFoundationModels"},
            headers={"x-amzn-errortype": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
        )

    with pytest.raises(AuthenticationError, match="ListFoundationModels"):
        run("list_models", denied)
