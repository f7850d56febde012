"""The conformance kit catches broken plugins: each one below breaks one promise and fails one check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from liter_llm import Call, hookimpl
from liter_llm.errors import LiterLlmError, RateLimitedError
from liter_llm.providers import ProviderSpec
from liter_llm.registry import get_registry
from liter_llm.testing import ProviderConformance, Reply, openai_reply_body, openai_reply_stream
from liter_llm.types import FinishReason
from liter_llm.wire import build_chat_request, chat_body, parse_openai_response, parse_openai_stream_event


class EmptyMessages:
    """Sends ``messages: []`` whatever the caller wrote."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        body = chat_body(call)
        body["messages"] = []
        return build_chat_request(call, body)


class DropsParameters:
    """Forgets the temperature and the token limit."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        body = chat_body(call)
        for name in ("temperature", "max_tokens"):
            body.pop(name, None)
        return build_chat_request(call, body)


class NeverEnds:
    """Never marks the end of a stream (it ignores ``[DONE]``), though the chunks carry a finish reason."""

    @hookimpl
    def parse_stream_event(self, call: Call, event: Any) -> list[Any]:
        chunks = parse_openai_stream_event(call, event.data)
        call.stream_complete = False
        return chunks


class DropsStreamUsage:
    """Loses the usage of a streamed answer."""

    @hookimpl
    def parse_stream_event(self, call: Call, event: Any) -> list[Any]:
        chunks = parse_openai_stream_event(call, event.data)
        for chunk in chunks:
            chunk.usage = None
        return chunks


class EveryAnswerStops:
    """Reports ``stop`` whatever the provider said, and drops tool calls."""

    @hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        result = parse_openai_response(call, response)
        for choice in result.choices:
            choice.finish_reason = FinishReason.STOP
            choice.message.tool_calls = []
        return result


class LosesRetryAfter:
    """Maps errors itself and forgets ``retry-after``."""

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        if response.status_code == 429:
            return RateLimitedError(response.json()["error"]["message"], status_code=429, provider=call.provider.name)
        return None


BROKEN = {
    "kit-empty-messages": EmptyMessages(),
    "kit-drops-parameters": DropsParameters(),
    "kit-never-ends": NeverEnds(),
    "kit-drops-stream-usage": DropsStreamUsage(),
    "kit-every-answer-stops": EveryAnswerStops(),
    "kit-loses-retry-after": LosesRetryAfter(),
}


class BrokenProviders:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        for name, plugin in BROKEN.items():
            register(
                ProviderSpec(
                    name=name, base_url="http://127.0.0.1:9/v1", endpoints={"chat"}, plugin=plugin, openai_wire=True
                )
            )


@pytest.fixture(scope="module", autouse=True)
def broken_providers() -> Iterator[None]:
    registry = get_registry()
    registry.add_plugin(BrokenProviders(), name="core-tests-broken-kit")
    yield
    registry.remove_plugin("core-tests-broken-kit")


class Kit(ProviderConformance):
    """OpenAI-format native answers (not collected: the name does not start with ``Test``)."""

    key_header = "authorization"
    key_prefix = "Bearer "

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        return httpx.Response(200, json=openai_reply_body(reply))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        return httpx.Response(200, content=openai_reply_stream(reply, complete))

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, json={"error": {"message": message}}, headers=headers)


def kit(provider: str) -> Kit:
    class Bound(Kit):
        pass

    Bound.provider = provider
    Bound.model = f"{provider}/model"
    return Bound()


@pytest.mark.parametrize(
    ("provider", "check", "message"),
    [
        ("kit-empty-messages", "test_conformance_request_translation", "'KIT-SYSTEM' is not in the request body"),
        ("kit-empty-messages", "test_conformance_tool_calls", "is not in the request body"),
        ("kit-drops-parameters", "test_conformance_request_translation", "the value 0.25 is not in the request body"),
        ("kit-never-ends", "test_conformance_stream", "the stream never marked its end"),
        ("kit-drops-stream-usage", "test_conformance_stream", "the stream's usage was lost"),
        ("kit-every-answer-stops", "test_conformance_finish_reasons", "came back as"),
        ("kit-every-answer-stops", "test_conformance_tool_calls", "tool call was lost"),
        ("kit-loses-retry-after", "test_conformance_errors", "retry_after None"),
    ],
)
def test_the_kit_fails_a_broken_plugin(provider: str, check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        getattr(kit(provider), check)()


@pytest.mark.parametrize("provider", sorted(BROKEN))
def test_each_broken_plugin_passes_the_checks_it_does_not_break(provider: str) -> None:
    """The failures above are the plugin's, not the kit's: the untouched checks pass."""
    broken = {
        "kit-empty-messages": {"test_conformance_request_translation", "test_conformance_tool_calls"},
        "kit-drops-parameters": {"test_conformance_request_translation"},
        "kit-never-ends": {"test_conformance_stream"},
        "kit-drops-stream-usage": {"test_conformance_stream"},
        "kit-every-answer-stops": {"test_conformance_finish_reasons", "test_conformance_tool_calls"},
        "kit-loses-retry-after": {"test_conformance_errors"},
    }[provider]
    instance = kit(provider)
    for name in dir(ProviderConformance):
        if name.startswith("test_conformance_") and name not in broken:
            getattr(instance, name)()


def test_the_kit_is_not_a_pytest_plugin() -> None:
    """The kit is a base class; no pytest11 entry point loads a module that does nothing into every pytest run."""
    import sys
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert "pytest11" not in project.get("entry-points", {})
