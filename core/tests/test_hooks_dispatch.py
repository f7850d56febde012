"""pluggy dispatches every hook: wrappers (new- and old-style) run on each, through both clients."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm.errors import HookRejectedError, InternalError, LiterLlmError
from liter_llm.testing import RecordingTransport, openai_chat_body, openai_chunk, sse_body

USER = S.USER

#: every per-call hook a plugin can implement
CALL_HOOKS = (
    "wrap_call",
    "on_request",
    "check_budget",
    "cached_response",
    "throttle",
    "build_request",
    "auth",
    "stream_decoder",
    "parse_response",
    "parse_error",
    "parse_stream_event",
    "on_response",
    "on_error",
)


def _new_style(name: str) -> Any:
    @hookimpl(wrapper=True)
    def impl(self: Any, call: Any) -> Generator[None, Any, Any]:
        self.seen.append(name)
        return (yield)

    impl.__name__ = name
    return impl


def _old_style(name: str) -> Any:
    @hookimpl(hookwrapper=True)
    def impl(self: Any, call: Any) -> Generator[None, Any, None]:
        self.seen.append(name)
        outcome = yield
        outcome.get_result()  # re-raises what the hook raised; the wrapper lets it through

    impl.__name__ = name
    return impl


def wrapper_plugin(style: str) -> Any:
    """An object with a wrapper of ``style`` on every per-call hook, recording which ran."""
    make_impl = _new_style if style == "new" else _old_style
    namespace = {name: make_impl(name) for name in CALL_HOOKS}
    cls = type(f"Wrappers_{style}", (), namespace)
    plugin = cls()
    plugin.seen = []
    return plugin


def reply(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content:
        body = sse_body(openai_chunk("he", role="assistant"), openai_chunk("llo"), openai_chunk(finish="stop"))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    if b"fail" in request.content:
        return httpx.Response(400, json={"error": {"message": "refused"}})
    return httpx.Response(200, json=openai_chat_body("ok"))


@pytest.mark.parametrize("style", ["new", "old"])
def test_a_wrapper_on_every_hook_runs(make: Any, style: str) -> None:
    plugin = wrapper_plugin(style)
    transport = RecordingTransport(reply)
    api = make(api_key="k", transport=transport, hooks=[plugin], max_retries=0)
    assert api.chat(model="fake/m", messages=USER).choices[0].message.content == "ok"
    with pytest.raises(LiterLlmError, match="refused"):
        api.chat(model="fake/m", messages=[{"role": "user", "content": "fail"}])
    with api.stream(model="fake/m", messages=USER) as stream:
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "hello"
    assert set(plugin.seen) == set(CALL_HOOKS), set(CALL_HOOKS) - set(plugin.seen)
    # wrap_call, on_request and check_budget once per call (three calls), parse_stream_event per event
    assert plugin.seen.count("wrap_call") == 3
    assert plugin.seen.count("on_request") == 3
    assert plugin.seen.count("check_budget") == 3
    assert plugin.seen.count("parse_stream_event") >= 3


def test_a_wrapper_sees_a_veto_and_the_veto_names_the_plain_hook(make: Any) -> None:
    seen: list[Any] = []

    class Watch:
        @hookimpl(wrapper=True)
        def on_request(self, call: Any) -> Generator[None, Any, Any]:
            try:
                return (yield)
            except HookRejectedError as exc:
                seen.append(exc)
                raise

    class Guard:
        @hookimpl
        def on_request(self, call: Any) -> None:
            raise HookRejectedError("no", reason="policy")

    transport = RecordingTransport(reply)
    api = make(api_key="k", transport=transport, hooks=[Watch(), Guard()])
    with pytest.raises(HookRejectedError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-1.on_request"
    assert seen == [info.value]
    assert transport.requests == []


def test_a_veto_raised_by_a_wrapper_names_it(make: Any) -> None:
    class WrapperGuard:
        @hookimpl(wrapper=True)
        def check_budget(self, call: Any) -> Generator[None, Any, Any]:
            yield
            raise HookRejectedError("over my own budget")

    transport = RecordingTransport(reply)
    api = make(api_key="k", transport=transport, hooks=[WrapperGuard()])
    with pytest.raises(HookRejectedError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-0.check_budget"
    assert transport.requests == []


def test_a_bug_in_a_wrapper_is_an_internal_error_naming_it(make: Any) -> None:
    class BuggyWrapper:
        @hookimpl(wrapper=True)
        def on_request(self, call: Any) -> Generator[None, Any, Any]:
            result = yield
            {}["missing"]
            return result

    errors: list[Any] = []

    class Errors:
        @hookimpl
        def on_error(self, call: Any, error: Any) -> None:
            errors.append(error)

    transport = RecordingTransport(reply)
    api = make(api_key="k", transport=transport, hooks=[Errors(), BuggyWrapper()])
    with pytest.raises(InternalError) as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.hook == "user-hook-1.on_request"
    assert isinstance(info.value.__cause__, KeyError)
    assert errors == [info.value]
    assert transport.requests == []


def test_a_failing_on_response_wrapper_is_logged_and_the_plain_hooks_still_run(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    responses: list[Any] = []

    class Failing:
        @hookimpl(wrapper=True)
        def on_response(self, call: Any, response: Any) -> Generator[None, Any, Any]:
            yield
            raise RuntimeError("metrics down")

        @hookimpl
        def on_error(self, call: Any, error: Any) -> None:
            raise ConnectionError("the error sink is down too")

    class Plain:
        @hookimpl
        def on_response(self, call: Any, response: Any) -> None:
            responses.append(response)

    api = make(api_key="k", transport=RecordingTransport(reply), hooks=[Plain(), Failing()], max_retries=0)
    with caplog.at_level(logging.WARNING, logger="liter_llm"):
        assert api.chat(model="fake/m", messages=USER).choices[0].message.content == "ok"
        with pytest.raises(LiterLlmError, match="refused") as info:
            api.chat(model="fake/m", messages=[{"role": "user", "content": "fail"}])
    assert type(info.value).__name__ == "BadRequestError"
    assert len(responses) == 1
    logged = [r.getMessage() for r in caplog.records if "hook_failed" in r.getMessage()]
    assert any("user-hook-1.on_response" in m and "metrics down" in m for m in logged), logged
    assert any("user-hook-1.on_error" in m and "ConnectionError" in m for m in logged), logged
