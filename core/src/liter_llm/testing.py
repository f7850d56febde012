"""The provider conformance kit: a pytest base class any provider plugin can run.

Subclass :class:`ProviderConformance` in a test module (the class name must
start with ``Test``), say which provider and model to exercise, and write
three small methods that answer in the provider's *native* format.  The kit
then drives the real public clients, sync and async, through an
``httpx.MockTransport`` and checks routing, authentication, chat, streaming,
dropped streams, retries and error mapping.  No network is used.

Example::

    from liter_llm.testing import ProviderConformance

    class TestMyProviderConformance(ProviderConformance):
        provider = "myprovider"
        model = "myprovider/some-model"
        key_header = "authorization"
        key_prefix = "Bearer "

        def chat_reply(self, request, text):
            return httpx.Response(200, json={...})

        def stream_reply(self, request, parts, complete=True):
            return httpx.Response(200, content=b"...", headers={"content-type": "text/event-stream"})

        def error_reply(self, request, status, message):
            return httpx.Response(status, json={"error": {"message": message}})

This module is also registered as a pytest plugin (``-p liter_llm.testing``
happens automatically); it defines no fixtures that change other tests.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx

__all__ = ["ProviderConformance", "RecordingTransport", "openai_chat_body", "openai_chunk", "sse_body"]

_TEXT = "Hello from the conformance kit"
_PARTS = ["Hel", "lo ", "wor", "ld"]
_KEY = "conformance-secret-key-0123456789"


class RecordingTransport(httpx.MockTransport):
    """An ``httpx.MockTransport`` that keeps every request it was sent."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return handler(request)

        super().__init__(record)


class ProviderConformance:
    """Base class of a provider's conformance tests (see the module docstring)."""

    #: the provider's registered name
    provider: ClassVar[str] = ""
    #: a model string that routes to the provider
    model: ClassVar[str] = ""
    #: the (lower-case) header that must carry the key
    key_header: ClassVar[str] = "authorization"
    #: what precedes the key in that header (``"Bearer "``)
    key_prefix: ClassVar[str] = ""
    #: extra ``create_client`` arguments (``model_hint``, ``base_url``...)
    client_options: ClassVar[dict[str, Any]] = {}
    #: whether the provider authenticates with the client's API key
    uses_api_key: ClassVar[bool] = True
    #: the base URL the kit installs through ``<PROVIDER>_BASE_URL`` when
    #: ``client_options`` has no ``base_url``
    conformance_base_url: ClassVar[str] = "http://127.0.0.1:9/conformance"

    # -- what a provider's test writes -------------------------------------
    def chat_reply(self, request: httpx.Request, text: str) -> httpx.Response:
        """A native non-streamed answer whose text is ``text`` (usage 5 prompt, 2 completion)."""
        raise NotImplementedError

    def stream_reply(self, request: httpx.Request, parts: list[str], complete: bool = True) -> httpx.Response:
        """A native streamed answer of ``parts``; without its end marker when ``complete`` is false."""
        raise NotImplementedError

    def error_reply(self, request: httpx.Request, status: int, message: str) -> httpx.Response:
        """The provider's native error answer (with ``retry-after: 2`` for 429)."""
        raise NotImplementedError

    # -- machinery ------------------------------------------------------------
    @contextmanager
    def _environment(self) -> Iterator[None]:
        from liter_llm._plugins import get_registry

        spec = get_registry().get(self.provider)
        assert spec is not None, f"provider {self.provider!r} is not registered (is the plugin installed?)"
        saved = dict(os.environ)
        try:
            if "base_url" not in self.client_options:
                os.environ[spec.base_url_variable] = self.conformance_base_url
            if spec.api_key_env:
                os.environ.pop(spec.api_key_env, None)
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def _options(self, transport: httpx.MockTransport, **extra: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"max_retries": 0, "retry_initial_delay": 0.0}
        options.update(self.client_options)
        options.update(extra)
        options["transport"] = transport
        if self.uses_api_key:
            options.setdefault("api_key", _KEY)
            # the client's key is sent only to the provider it was given for
            if "base_url" not in options:
                options.setdefault("model_hint", self.provider)
        return options

    def _run(self, mode: str, handler: Callable[[httpx.Request], httpx.Response], action: str, **extra: Any) -> Any:
        """Run ``action`` ("chat", "stream", "stream_partial") through the sync or async client."""
        import liter_llm

        transport = RecordingTransport(handler)
        request = {"model": self.model, "messages": [{"role": "user", "content": "Say hello"}]}
        with self._environment():
            if mode == "sync":
                with liter_llm.create_client(**self._options(transport, **extra)) as client:
                    if action == "chat":
                        return client.chat(request), transport
                    stream = client.chat_stream(request)
                    chunks = []
                    try:
                        for chunk in stream:
                            chunks.append(chunk)
                    finally:
                        stream.close()
                    return chunks, transport

            async def main() -> Any:
                async with liter_llm.create_async_client(**self._options(transport, **extra)) as client:
                    if action == "chat":
                        return await client.chat(request), transport
                    stream = await client.chat_stream(request)
                    chunks = []
                    try:
                        async for chunk in stream:
                            chunks.append(chunk)
                    finally:
                        await stream.aclose()
                    return chunks, transport

            return asyncio.run(main())

    def _check_request(self, request: httpx.Request) -> None:
        url = str(request.url)
        assert url.startswith(("http://127.0.0.1", "https://127.0.0.1")), f"the request went to {url}"
        if self.uses_api_key:
            assert _KEY not in url, "the API key appeared in the URL"
            value = request.headers.get(self.key_header)
            assert value == self.key_prefix + _KEY, f"the key did not travel in {self.key_header!r}"

    # -- the checks -------------------------------------------------------------
    def _modes(self) -> tuple[str, ...]:
        return ("sync", "async")

    def test_conformance_chat(self) -> None:
        """A chat call routes to the provider, authenticates, and parses the answer."""
        from liter_llm.types import ChatCompletionResponse, FinishReason

        for mode in self._modes():
            response, transport = self._run(mode, lambda r: self.chat_reply(r, _TEXT), "chat")
            assert len(transport.requests) == 1, mode
            self._check_request(transport.requests[0])
            assert isinstance(response, ChatCompletionResponse)
            assert response.choices[0].message.content == _TEXT, mode
            assert response.choices[0].finish_reason == FinishReason.STOP, mode
            assert response.usage is not None and response.usage.prompt_tokens == 5, mode
            assert response.usage.completion_tokens == 2, mode
            assert ChatCompletionResponse.from_dict(response.to_dict()) == response, mode

    def test_conformance_stream(self) -> None:
        """A streamed answer arrives as chunks whose text joins to the whole."""
        from liter_llm.streaming import assemble_stream
        from liter_llm.types import FinishReason

        for mode in self._modes():
            chunks, transport = self._run(mode, lambda r: self.stream_reply(r, list(_PARTS)), "stream")
            self._check_request(transport.requests[0])
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == "".join(_PARTS), mode
            assembled = assemble_stream(chunks)
            assert assembled.choices[0].finish_reason == FinishReason.STOP, mode

    def test_conformance_dropped_stream(self) -> None:
        """A stream cut before its end raises StreamingError carrying what arrived."""
        from liter_llm.errors import StreamingError

        for mode in self._modes():
            try:
                self._run(mode, lambda r: self.stream_reply(r, list(_PARTS), complete=False), "stream")
            except StreamingError as error:
                text = "".join(c.choices[0].delta.content or "" for c in error.chunks if c.choices)
                assert text == "".join(_PARTS), mode
                assert error.provider == self.provider, mode
            else:
                raise AssertionError(f"{mode}: a truncated stream did not raise StreamingError")

    def test_conformance_errors(self) -> None:
        """Error answers map to the same kinds for every provider."""
        from liter_llm import errors

        table = [
            (400, errors.BadRequestError),
            (401, errors.AuthenticationError),
            (403, errors.AuthenticationError),
            (404, errors.NotFoundError),
            (429, errors.RateLimitedError),
            (500, errors.ServerError),
            (503, errors.ServiceUnavailableError),
        ]
        for mode in self._modes():
            for status, kind in table:
                message = f"conformance failure {status}"

                def reply(request: httpx.Request, status: int = status, message: str = message) -> httpx.Response:
                    return self.error_reply(request, status, message)

                try:
                    self._run(mode, reply, "chat")
                except errors.LiterLlmError as error:
                    assert isinstance(error, kind), f"{mode} {status}: got {type(error).__name__}"
                    assert error.status_code == status, f"{mode} {status}"
                    assert error.provider == self.provider, f"{mode} {status}"
                    assert message in error.message, f"{mode} {status}: {error.message!r}"
                    assert _KEY not in str(error) and _KEY not in repr(error), "the key leaked into an error"
                    if status == 429:
                        assert error.retry_after == 2, f"{mode}: retry_after {error.retry_after!r}"
                else:
                    raise AssertionError(f"{mode} {status}: no error raised")

    def test_conformance_retry(self) -> None:
        """A 503 followed by a success is retried once and succeeds."""
        for mode in self._modes():
            answers = iter([503, 200])

            def handler(request: httpx.Request, answers: Iterator[int] = answers) -> httpx.Response:
                status = next(answers)
                if status == 200:
                    return self.chat_reply(request, _TEXT)
                return self.error_reply(request, status, "busy")

            response, transport = self._run(mode, handler, "chat", max_retries=1)
            assert len(transport.requests) == 2, mode
            assert response.choices[0].message.content == _TEXT

    def test_conformance_missing_key(self) -> None:
        """A provider that needs a key fails before any I/O when there is none."""
        import liter_llm
        from liter_llm._plugins import get_registry
        from liter_llm.errors import AuthenticationError

        spec = get_registry().get(self.provider)
        assert spec is not None
        if not (self.uses_api_key and spec.requires_api_key):
            return
        transport = RecordingTransport(lambda r: self.chat_reply(r, _TEXT))
        options = self._options(transport)
        options.pop("api_key", None)
        with self._environment(), liter_llm.create_client(**options) as client:
            try:
                client.chat(model=self.model, messages=[{"role": "user", "content": "hi"}])
            except AuthenticationError:
                pass
            else:
                raise AssertionError("a call without a key did not raise AuthenticationError")
        assert transport.requests == [], "a request was sent without a key"


# ---------------------------------------------------------------------------
# Builders of OpenAI-format answers, for tests of OpenAI-compatible providers
# ---------------------------------------------------------------------------


def openai_chat_body(
    text: str = "hi", *, model: str = "m", usage: tuple[int, int] = (5, 2), finish: str = "stop"
) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` body with one choice whose content is ``text``."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def openai_chunk(
    content: str | None = None, *, finish: str | None = None, role: str | None = None, **delta: Any
) -> dict[str, Any]:
    """An OpenAI ``chat.completion.chunk`` payload with one choice."""
    d: dict[str, Any] = dict(delta)
    if role:
        d["role"] = role
    if content is not None:
        d["content"] = content
    return {
        "id": "chunk-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }


def sse_body(*payloads: Any, done: bool = True) -> bytes:
    """An SSE body of JSON ``data:`` events, ending with ``[DONE]`` when ``done``."""
    import json

    out = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    return out + (b"data: [DONE]\n\n" if done else b"")
