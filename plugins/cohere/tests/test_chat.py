"""Chat through the real sync and async clients: the /v2/chat body, answers, tools, documents, citations."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import liter_llm_cohere
from liter_llm.errors import BadRequestError, SerializationError, StreamingError
from liter_llm.types import FinishReason

from .conftest import API_KEY, Runner, sse_response

USER = [{"role": "user", "content": "Where do the tallest penguins live?"}]

# The documented /v2/chat answer with citations (https://docs.cohere.com/reference/chat, RAG example).
RAG_ANSWER: dict[str, Any] = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "finish_reason": "COMPLETE",
    "message": {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "The tallest penguins are the Emperor penguins, which live in Antarctica."}
        ],
        "citations": [
            {
                "start": 29,
                "end": 46,
                "text": "Emperor penguins.",
                "sources": [
                    {
                        "type": "document",
                        "id": "doc:0",
                        "document": {"id": "doc:0", "snippet": "Emperor penguins are the tallest."},
                    }
                ],
                "type": "TEXT_CONTENT",
            }
        ],
    },
    "usage": {
        "billed_units": {"input_tokens": 31, "output_tokens": 17},
        "tokens": {"input_tokens": 570, "output_tokens": 17},
    },
}

TOOL_ANSWER: dict[str, Any] = {
    "id": "5a1b8c4d",
    "finish_reason": "TOOL_CALL",
    "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather in Toronto.",
        "tool_calls": [
            {
                "id": "get_weather_1byjy32y4hvq",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'},
            }
        ],
    },
    "usage": {
        "billed_units": {"input_tokens": 37, "output_tokens": 16},
        "tokens": {"input_tokens": 1048, "output_tokens": 44},
    },
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "gets the weather of a given location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}


def answer(data: Any, status: int = 200) -> Any:
    return lambda request: httpx.Response(status, json=data)


def test_request_goes_to_v2_chat_with_bearer_key_and_native_fields(run: Runner) -> None:
    run(
        "chat",
        answer(RAG_ANSWER),
        model="cohere/command-a-03-2025",
        messages=[{"role": "system", "content": "Be brief."}, *USER],
        temperature=0.3,
        top_p=0.9,
        max_tokens=100,
        stop="END",
        seed=7,
        frequency_penalty=0.1,
        extra_body={"documents": [{"id": "doc:0", "data": {"text": "Emperor penguins are the tallest."}}]},
    )
    request = run.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:9/v2/chat"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert run.body == {
        "model": "command-a-03-2025",
        "messages": [{"role": "system", "content": "Be brief."}, USER[0]],
        "stream": False,
        "temperature": 0.3,
        "p": 0.9,
        "max_tokens": 100,
        "stop_sequences": ["END"],
        "seed": 7,
        "frequency_penalty": 0.1,
        "documents": [{"id": "doc:0", "data": {"text": "Emperor penguins are the tallest."}}],
    }


def test_answer_text_usage_and_citations(run: Runner) -> None:
    collector = liter_llm_cohere.CitationCollector()
    response = run(
        "chat", answer(RAG_ANSWER), client_options={"hooks": [collector]}, model="command-a-03-2025", messages=USER
    )
    assert response.id == "c14c80c3-18eb-4519-9460-6c92edd8cfb4"
    assert response.choices[0].message.content.startswith("The tallest penguins")
    assert response.choices[0].finish_reason == FinishReason.STOP
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (
        570,
        17,
        587,
    )
    assert collector.last is not None
    assert collector.last.citations == RAG_ANSWER["message"]["citations"]


def test_tools_out_and_tool_calls_back(run: Runner) -> None:
    collector = liter_llm_cohere.CitationCollector()
    response = run(
        "chat",
        answer(TOOL_ANSWER),
        client_options={"hooks": [collector]},
        model="cohere/command-a-03-2025",
        messages=USER,
        tools=[WEATHER_TOOL],
        tool_choice="required",
    )
    assert run.body["tools"] == [WEATHER_TOOL]
    assert run.body["tool_choice"] == "REQUIRED"
    call = response.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "get_weather_1byjy32y4hvq",
        "get_weather",
        {"location": "Toronto"},
    )
    assert response.choices[0].finish_reason == FinishReason.TOOL_CALLS
    assert collector.last is not None
    assert collector.last.tool_plan == "I will look up the weather in Toronto."


def test_tool_results_go_back_as_tool_messages(run: Runner) -> None:
    history = [
        *USER,
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 20}'},
    ]
    run("chat", answer(RAG_ANSWER), model="cohere/command-a-03-2025", messages=history, tools=[WEATHER_TOOL])
    assert run.body["messages"][1:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 20}'},
    ]


def test_user_parts_text_and_image(run: Runner) -> None:
    content = [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
    ]
    run(
        "chat",
        answer(RAG_ANSWER),
        model="cohere/command-a-vision-07-2025",
        messages=[{"role": "user", "content": content}],
    )
    assert run.body["messages"][0]["content"] == content


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": {"type": "object", "required": ["name"]}},
            },
            {"type": "json_object", "json_schema": {"type": "object", "required": ["name"]}},
        ),
        ({"type": "text"}, {"type": "text"}),
    ],
)
def test_response_format(run: Runner, given: dict[str, Any], sent: dict[str, Any]) -> None:
    run("chat", answer(RAG_ANSWER), model="cohere/command-a-03-2025", messages=USER, response_format=given)
    assert run.body["response_format"] == sent


@pytest.mark.parametrize(
    "fields",
    [
        {"n": 2},
        {"logit_bias": {"50256": -100}},
        {"top_logprobs": 3},
        {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "tools": [WEATHER_TOOL]},
        {"parallel_tool_calls": False},
    ],
)
def test_what_cohere_cannot_express_is_refused_before_io(run: Runner, fields: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError):
        run("chat", answer(RAG_ANSWER), model="cohere/command-a-03-2025", messages=USER, **fields)
    assert run.requests == []


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"id": "x"},
        {"message": {"content": 5}},
        {"message": {"content": [{"type": "text", "text": 5}]}},
        {"message": {"tool_calls": [{"id": "t", "function": {"name": None}}]}},
        {"message": {"citations": "no"}},
    ],
)
def test_malformed_answers_are_serialization_errors(run: Runner, body: Any) -> None:
    with pytest.raises(SerializationError):
        run("chat", answer(body), model="cohere/command-a-03-2025", messages=USER)


def test_unknown_fields_and_finish_reasons_are_tolerated(run: Runner) -> None:
    data = {**RAG_ANSWER, "finish_reason": "SOMETHING_NEW", "logprobs": [], "new_field": {"x": 1}}
    response = run("chat", answer(data), model="cohere/command-a-03-2025", messages=USER)
    assert response.choices[0].finish_reason == FinishReason.OTHER


def test_thinking_content_is_reasoning(run: Runner) -> None:
    data = {
        **RAG_ANSWER,
        "message": {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": "Penguins..."}, {"type": "text", "text": "Antarctica."}],
        },
    }
    response = run("chat", answer(data), model="cohere/command-a-reasoning-08-2025", messages=USER)
    assert response.choices[0].message.reasoning_content == "Penguins..."
    assert response.choices[0].message.content == "Antarctica."


# -- streams -----------------------------------------------------------------


def _event(data: dict[str, Any]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


TOOL_STREAM = [
    {
        "id": "msg-1",
        "type": "message-start",
        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}},
    },
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will check"}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " the weather."}}},
    {
        "type": "tool-call-start",
        "index": 0,
        "delta": {
            "message": {
                "tool_calls": {
                    "id": "get_weather_nsz5zm3w56q3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            }
        },
    },
    {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": '{"loc'}}}}},
    {
        "type": "tool-call-delta",
        "index": 0,
        "delta": {"message": {"tool_calls": {"function": {"arguments": 'ation":"Toronto"}'}}}},
    },
    {"type": "tool-call-end", "index": 0},
    {
        "type": "message-end",
        "delta": {
            "finish_reason": "TOOL_CALL",
            "usage": {
                "billed_units": {"input_tokens": 37, "output_tokens": 16},
                "tokens": {"input_tokens": 1048, "output_tokens": 44},
            },
        },
    },
]

CITATION_STREAM = [
    {"id": "msg-2", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Emperor"}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": " penguins."}}}},
    {
        "type": "citation-start",
        "index": 0,
        "delta": {
            "message": {
                "citations": {
                    "start": 0,
                    "end": 16,
                    "text": "Emperor penguins",
                    "sources": [{"type": "document", "id": "doc:0"}],
                }
            }
        },
    },
    {"type": "citation-end", "index": 0},
    {"type": "content-end", "index": 0},
    {"type": "debug", "prompt": "..."},
    {
        "type": "message-end",
        "delta": {"finish_reason": "COMPLETE", "usage": {"tokens": {"input_tokens": 9, "output_tokens": 3}}},
    },
]


def test_stream_text_citations_usage(run: Runner) -> None:
    collector = liter_llm_cohere.CitationCollector()
    chunks = run(
        "chat_stream",
        lambda r: sse_response("".join(_event(e) for e in CITATION_STREAM)),
        client_options={"hooks": [collector]},
        model="cohere/command-a-03-2025",
        messages=USER,
    )
    assert run.body["stream"] is True
    assert run.requests[0].headers["accept"] == "text/event-stream"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Emperor penguins."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == FinishReason.STOP
    assert chunks[-1].usage.prompt_tokens == 9
    assert chunks[-1].usage.completion_tokens == 3
    assert all(c.id == "msg-2" for c in chunks)
    assert collector.last is not None
    assert collector.last.citations[0]["text"] == "Emperor penguins"


def test_stream_tool_calls_assemble(run: Runner) -> None:
    collector = liter_llm_cohere.CitationCollector()
    chunks = run(
        "chat_stream",
        lambda r: sse_response("".join(_event(e) for e in TOOL_STREAM)),
        client_options={"hooks": [collector]},
        model="cohere/command-a-03-2025",
        messages=USER,
        tools=[WEATHER_TOOL],
    )
    fragments = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls]
    assert fragments[0].id == "get_weather_nsz5zm3w56q3"
    assert fragments[0].function.name == "get_weather"
    assert "".join(f.function.arguments or "" for f in fragments) == '{"location":"Toronto"}'
    assert chunks[-1].choices[0].finish_reason == FinishReason.TOOL_CALLS
    assert chunks[-1].usage.total_tokens == 1092
    assert collector.last is not None
    assert collector.last.tool_plan == "I will check the weather."


def test_stream_cut_before_message_end_is_a_streaming_error(run: Runner) -> None:
    body = "".join(_event(e) for e in CITATION_STREAM[:4])
    with pytest.raises(StreamingError):
        run("chat_stream", lambda r: sse_response(body), model="cohere/command-a-03-2025", messages=USER)


@pytest.mark.parametrize(
    "bad", ["not json", "[1, 2]", json.dumps({"type": "tool-call-start", "index": 0, "delta": {}})]
)
def test_malformed_stream_events_end_in_a_liter_llm_error(run: Runner, bad: str) -> None:
    body = _event(CITATION_STREAM[0]) + f"event: x\ndata: {bad}\n\n"
    with pytest.raises((SerializationError, StreamingError)):
        run("chat_stream", lambda r: sse_response(body), model="cohere/command-a-03-2025", messages=USER)


def test_a_stream_ending_in_an_error_raises_it(run: Runner) -> None:
    events = [
        *CITATION_STREAM[:3],
        {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "internal failure"}},
    ]
    from liter_llm.errors import ServerError

    with pytest.raises(ServerError) as info:
        run(
            "chat_stream",
            lambda r: sse_response("".join(_event(e) for e in events)),
            model="cohere/command-a-03-2025",
            messages=USER,
        )
    assert "internal failure" in str(info.value)


def test_an_error_answer_to_a_stream_is_mapped(run: Runner) -> None:
    from liter_llm.errors import RateLimitedError

    with pytest.raises(RateLimitedError):
        run(
            "chat_stream",
            lambda r: httpx.Response(429, json={"message": "trial key limit"}),
            model="cohere/command-a-03-2025",
            messages=USER,
        )
