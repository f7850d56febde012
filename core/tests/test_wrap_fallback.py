"""The ``wrap_fallback`` hook: one generator around every model a call tries, through both clients."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import Fallback, hookimpl
from liter_llm.errors import BadRequestError, HookRejectedError, LiterLlmError, ServiceUnavailableError
from liter_llm.testing import openai_chat_body, openai_chunk, sse_body

USER = S.USER


class Group:
    """Records the group's life and, inside it, each model's wrap_call."""

    def __init__(self, *, veto: bool = False) -> None:
        self.log: list[Any] = []
        self.veto = veto

    @hookimpl
    def wrap_fallback(self, call: Any) -> Generator[None, Any, None]:
        assert isinstance(call.fallback, Fallback)
        self.log.append(("group", call.fallback.models, call.fallback_index))
        call.fallback.state["test"] = "shared"
        if self.veto:
            raise HookRejectedError("not today")
        try:
            result = yield
        except LiterLlmError as error:
            self.log.append(("group-error", type(error).__name__, len(getattr(error, "attempts", []))))
            raise
        except GeneratorExit:
            self.log.append(("group-closed",))
            raise
        self.log.append(("group-ok", result.choices[0].message.content))

    @hookimpl
    def wrap_call(self, call: Any) -> Generator[None, Any, None]:
        assert call.fallback is None or call.fallback.state.get("test") == "shared"
        self.log.append(("call", call.model, call.fallback_index))
        try:
            yield
        except LiterLlmError as error:
            self.log.append(("call-error", call.model, type(error).__name__))
            raise
        except GeneratorExit:
            self.log.append(("call-closed", call.model))
            raise
        self.log.append(("call-ok", call.model))


def by_model(answers: dict[str, int], *, stream: bool = False) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        status = answers[model]
        if status != 200:
            return httpx.Response(status, json={"error": {"message": f"{status}"}})
        if stream:
            body = sse_body(openai_chunk(f"from {model}", role="assistant"), openai_chunk(finish="stop"))
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=openai_chat_body(f"from {model}"))

    return handler


def client(make: Any, handler: Any, hook: Group, **options: Any) -> Any:
    return make(
        api_key="k",
        base_url=S.BASE,
        model_hint="openai",
        transport=httpx.MockTransport(handler),
        hooks=[hook],
        max_retries=0,
        **options,
    )


def test_wrap_fallback_wraps_every_model_tried(make: Any) -> None:
    hook = Group()
    api = client(make, by_model({"a": 503, "b": 200}), hook, fallbacks=["b", "c"])
    answer = api.chat(model="a", messages=USER)
    assert answer.choices[0].message.content == "from b"
    assert hook.log == [
        ("group", ("a", "b", "c"), 0),
        ("call", "a", 0),
        ("call-error", "a", "ServiceUnavailableError"),
        ("call", "b", 1),
        ("call-ok", "b"),
        ("group-ok", "from b"),
    ]


def test_wrap_fallback_sees_the_last_error_with_every_attempt(make: Any) -> None:
    hook = Group()
    api = client(make, by_model({"a": 503, "b": 503}), hook, fallbacks=["b"])
    with pytest.raises(ServiceUnavailableError):
        api.chat(model="a", messages=USER)
    assert hook.log[-1] == ("group-error", "ServiceUnavailableError", 2)


def test_wrap_fallback_ends_when_a_model_fails_for_good(make: Any) -> None:
    hook = Group()
    api = client(make, by_model({"a": 400, "b": 200}), hook, fallbacks=["b"])
    with pytest.raises(BadRequestError):
        api.chat(model="a", messages=USER)
    assert [entry[0] for entry in hook.log] == ["group", "call", "call-error", "group-error"]


def test_a_call_with_one_model_has_no_group(make: Any) -> None:
    hook = Group()
    api = client(make, by_model({"a": 200}), hook)
    api.chat(model="a", messages=USER)
    assert hook.log == [("call", "a", 0), ("call-ok", "a")]


def test_wrap_fallback_lasts_until_a_stream_ends(make: Any) -> None:
    hook = Group()
    api = client(make, by_model({"a": 503, "b": 200}, stream=True), hook, fallbacks=["b"])
    with api.stream(model="a", messages=USER) as stream:
        first = next(stream)
        assert first.choices[0].delta.content == "from b"
        assert hook.log[-1] == ("call", "b", 1)  # open: neither the call nor the group has ended
        list(stream)
    assert hook.log[-2:] == [("call-ok", "b"), ("group-ok", "from b")]


def test_wrap_fallback_is_closed_with_a_stream_closed_early(make: Any) -> None:
    hook = Group()
    api = client(make, by_model({"a": 503, "b": 200}, stream=True), hook, fallbacks=["b"])
    with api.stream(model="a", messages=USER) as stream:
        next(stream)
    assert hook.log[-2:] == [("call-closed", "b"), ("group-closed",)]


def test_a_veto_in_wrap_fallback_refuses_the_whole_call(make: Any) -> None:
    hook = Group(veto=True)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=openai_chat_body("x"))

    api = client(make, handler, hook, fallbacks=["b"])
    with pytest.raises(HookRejectedError):
        api.chat(model="a", messages=USER)
    assert seen == []
