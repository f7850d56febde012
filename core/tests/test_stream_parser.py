"""The ``stream_parser`` hook, the end-of-stream rule and ``OperationHooks``, through both clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm import types as t
from liter_llm._plugins import get_registry
from liter_llm.errors import EndpointNotSupportedError, InternalError, SerializationError, StreamingError
from liter_llm.providers import ProviderSpec
from liter_llm.testing import RecordingTransport, openai_chunk, sse_body
from liter_llm.wire import OperationHooks, StreamParser

USER = [{"role": "user", "content": "hi"}]


def _chunk(text: str | None = None, finish: str | None = None) -> t.ChatCompletionChunk:
    return t.ChatCompletionChunk.from_dict(openai_chunk(text, finish=finish))


class LineParser:
    """A stateful parser of a made-up protocol: ``text`` events are held until ``flush``, ``end`` ends."""

    made: ClassVar[list[LineParser]] = []

    def __init__(self, call: Any, *, mark_end: bool = True, fail_on: str | None = None) -> None:
        self.call = call
        self.mark_end = mark_end
        self.fail_on = fail_on
        self.held: list[str] = []
        self.fed = 0
        self.finished = 0
        LineParser.made.append(self)

    def feed(self, event: Any) -> list[t.ChatCompletionChunk]:
        self.fed += 1
        payload = json.loads(event.data)
        kind = payload["kind"]
        if kind == self.fail_on:
            raise KeyError(kind)
        if kind == "text":
            self.held.append(payload["text"])
            return []
        if kind == "flush":
            out = [_chunk("".join(self.held))]
            self.held.clear()
            return out
        if kind == "end":
            if self.mark_end:
                self.call.stream_complete = True
            return [_chunk(finish="stop")]
        return []

    def finish(self) -> list[t.ChatCompletionChunk]:
        self.finished += 1
        return [_chunk("".join(self.held))] if self.held else []


class ParserHooks:
    """A provider plugin whose streams go through :class:`LineParser`; it also counts stateless calls."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.stateless = 0

    @hookimpl
    def build_request(self, call: Any) -> httpx.Request:
        return httpx.Request("POST", call.base_url + "/lines", json={"model": call.model})

    @hookimpl
    def stream_parser(self, call: Any) -> LineParser:
        return LineParser(call, **self.options)

    @hookimpl
    def parse_stream_event(self, call: Any, event: Any) -> list[Any]:
        self.stateless += 1
        return []


class BrokenParserHooks(ParserHooks):
    @hookimpl
    def stream_parser(self, call: Any) -> LineParser:
        raise RuntimeError("no parser today")


class Cohort(OperationHooks):
    """A protocol plugin written with per-operation methods: chat (and chat_stream) and embed only."""

    def build_chat(self, call: Any) -> httpx.Request:
        path = "/talk/stream" if call.op.stream else "/talk"
        return httpx.Request("POST", call.base_url + path, json={"model": call.model})

    def parse_chat(self, call: Any, response: httpx.Response) -> t.ChatCompletionResponse:
        data = response.json()
        return t.ChatCompletionResponse.from_dict(
            {"id": "c", "model": call.model, "created": 0, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": data["said"]}, "finish_reason": "stop"}
            ]}
        )  # fmt: skip

    def build_embed(self, call: Any) -> httpx.Request:
        return httpx.Request("POST", call.base_url + "/vectors", json={"text": call.request.input})

    def parse_embed(self, call: Any, response: httpx.Response) -> t.EmbeddingResponse:
        return t.EmbeddingResponse.from_dict(
            {"object": "list", "model": call.model, "data": [{"index": 0, "embedding": response.json()["v"]}]}
        )


class Providers:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        common: dict[str, Any] = {"requires_api_key": False, "endpoints": {"chat", "embed", "rerank"}}
        register(ProviderSpec(name="lines", base_url="http://127.0.0.1:9/l", plugin=ParserHooks(), **common))
        register(
            ProviderSpec(name="nomark", base_url="http://127.0.0.1:9/n", plugin=ParserHooks(mark_end=False), **common)
        )
        register(
            ProviderSpec(name="badfeed", base_url="http://127.0.0.1:9/b", plugin=ParserHooks(fail_on="x"), **common)
        )
        register(ProviderSpec(name="noparser", base_url="http://127.0.0.1:9/p", plugin=BrokenParserHooks(), **common))
        register(ProviderSpec(name="cohort", base_url="http://127.0.0.1:9/c", plugin=Cohort(), **common))
        register(
            ProviderSpec(
                name="cohortwire", base_url="http://127.0.0.1:9/w", plugin=Cohort(), openai_wire=True, **common
            )
        )


@pytest.fixture(scope="module", autouse=True)
def providers() -> Iterator[None]:
    registry = get_registry()
    registry.add_plugin(Providers(), name="core-tests-stream-parser")
    yield
    registry.remove_plugin("core-tests-stream-parser")


def events(*kinds: Any) -> bytes:
    out = b""
    for kind in kinds:
        payload = kind if isinstance(kind, dict) else {"kind": kind}
        out += b"event: line\ndata: " + json.dumps(payload).encode() + b"\n\n"
    return out


def streaming(body: bytes) -> RecordingTransport:
    return RecordingTransport(
        lambda r: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    )


# ---------------------------------------------------------------------------
# stream_parser
# ---------------------------------------------------------------------------


def test_one_parser_per_stream_takes_every_event(make: Any) -> None:
    LineParser.made.clear()
    body = events({"kind": "text", "text": "Hel"}, {"kind": "text", "text": "lo"}, "flush", "end")
    api = make(transport=streaming(body))
    chunks = api.collect(model="lines/m", messages=USER)
    assert [c.choices[0].delta.content for c in chunks] == ["Hello", None]
    [parser] = LineParser.made
    assert parser.fed == 4
    assert parser.finished == 1  # once, at the end of the input
    spec = get_registry().get("lines")
    assert spec is not None
    assert spec.plugin.stateless == 0  # parse_stream_event is not called when a parser is given
    assert isinstance(parser, StreamParser)
    api.collect(model="lines/m", messages=USER)
    assert len(LineParser.made) == 2  # a new parser for each stream


def test_finish_gives_the_chunks_held_back(make: Any) -> None:
    body = events({"kind": "text", "text": "tail"}, "end")
    api = make(transport=streaming(body))
    chunks = api.collect(model="lines/m", messages=USER)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "tail"


def test_a_parser_that_never_marks_the_end_and_no_finish_reason_is_a_streaming_error(make: Any) -> None:
    api = make(transport=streaming(events({"kind": "text", "text": "a"}, "flush")))
    with pytest.raises(StreamingError) as info:
        api.collect(model="nomark/m", messages=USER)
    assert [c.choices[0].delta.content for c in info.value.chunks] == ["a"]


def test_a_bad_event_in_a_parser_is_a_serialization_error(make: Any) -> None:
    api = make(transport=streaming(events("flush", "x")))
    with pytest.raises(SerializationError) as info:
        api.collect(model="badfeed/m", messages=USER)
    assert info.value.provider == "badfeed"


def test_a_stream_parser_hook_that_raises_is_an_internal_error_naming_it(make: Any) -> None:
    api = make(transport=streaming(events("end")))
    with pytest.raises(InternalError) as info:
        api.collect(model="noparser/m", messages=USER)
    assert info.value.hook == "provider.noparser.stream_parser"
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_wrapper_on_stream_parser_runs_in_both_clients(make: Any) -> None:
    seen: list[str] = []

    class Wrap:
        @hookimpl(wrapper=True)
        def stream_parser(self, call: Any) -> Any:
            parser = yield
            seen.append(type(parser).__name__)
            return parser

    api = make(transport=streaming(events("end")), hooks=[Wrap()])
    api.collect(model="lines/m", messages=USER)
    assert seen == ["LineParser"]


# ---------------------------------------------------------------------------
# The end-of-stream rule
# ---------------------------------------------------------------------------


def two_choices(first: str | None, second: str | None) -> list[dict[str, Any]]:
    a = openai_chunk("x", finish=first)
    b = openai_chunk("y", finish=second)
    b["choices"][0]["index"] = 1
    return [a, b]


def test_done_ends_a_stream(make: Any) -> None:
    api = make(api_key="sk-test", transport=streaming(sse_body(openai_chunk("a"))))
    chunks = api.collect(model="fake-m", messages=USER)  # [DONE] without any finish_reason
    assert [c.choices[0].delta.content for c in chunks] == ["a"]


def test_a_close_after_every_choice_finished_ends_a_stream(make: Any) -> None:
    usage = {**openai_chunk(), "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    # the finish_reason comes well before the end: five usage-only chunks after it, then the connection closes
    body = sse_body(openai_chunk("a"), openai_chunk(finish="stop"), *([usage] * 5), done=False)
    api = make(api_key="sk-test", transport=streaming(body))
    chunks = api.collect(model="fake-m", messages=USER)
    assert len(chunks) == 7


def test_a_close_while_a_choice_is_unfinished_is_a_streaming_error(make: Any) -> None:
    body = sse_body(*two_choices("stop", None), done=False)
    api = make(api_key="sk-test", transport=streaming(body))
    with pytest.raises(StreamingError) as info:
        api.collect(model="fake-m", messages=USER)
    assert len(info.value.chunks) == 2
    api2 = make(api_key="sk-test", transport=streaming(sse_body(*two_choices("stop", "length"), done=False)))
    assert len(api2.collect(model="fake-m", messages=USER)) == 2


def test_a_close_with_no_finish_reason_is_a_streaming_error(make: Any) -> None:
    api = make(api_key="sk-test", transport=streaming(sse_body(openai_chunk("a"), done=False)))
    with pytest.raises(StreamingError):
        api.collect(model="fake-m", messages=USER)


def test_the_core_keeps_no_last_chunks_heuristic() -> None:
    from pathlib import Path

    source = Path(liter_llm.__file__).resolve().parent
    for path in source.rglob("*.py"):
        assert "chunks[-3:]" not in path.read_text("utf-8"), path


# ---------------------------------------------------------------------------
# OperationHooks
# ---------------------------------------------------------------------------


def cohort_reply(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/vectors"):
        return httpx.Response(200, json={"v": [0.25]})
    if request.url.path.endswith("/stream"):
        return httpx.Response(200, content=sse_body(openai_chunk("s", finish="stop")))
    return httpx.Response(200, json={"said": "hello"})


def test_operation_hooks_dispatch_each_operation_to_its_methods(make: Any) -> None:
    transport = RecordingTransport(cohort_reply)
    api = make(transport=transport)
    assert api.chat(model="cohort/m", messages=USER).choices[0].message.content == "hello"
    assert api.embed(model="cohort/m", input="x").data[0].embedding == [0.25]
    chunks = api.collect(model="cohort/m", messages=USER)  # build_chat serves chat_stream too
    assert chunks[0].choices[0].delta.content == "s"
    assert [r.url.path for r in transport.requests] == ["/c/talk", "/c/vectors", "/c/talk/stream"]


def test_an_operation_without_a_method_is_not_supported_for_a_protocol_plugin(make: Any) -> None:
    transport = RecordingTransport(cohort_reply)
    api = make(transport=transport)
    with pytest.raises(EndpointNotSupportedError):
        api.rerank(model="cohort/m", query="q", documents=["a"])
    assert transport.requests == []  # nothing was sent, in OpenAI format or any other


def test_an_operation_without_a_method_takes_the_openai_wire_when_declared(make: Any) -> None:
    transport = RecordingTransport(
        lambda r: httpx.Response(200, json={"results": [{"index": 0, "relevance_score": 1}]})
    )
    api = make(transport=transport)
    assert api.rerank(model="cohortwire/m", query="q", documents=["a"]).results[0].index == 0
    assert transport.requests[0].url.path == "/w/rerank"
