"""The provider conformance kit: a test base class any provider plugin can run.

Subclass :class:`ProviderConformance` in a test module (the class name must
start with ``Test``), say which provider and model to exercise, and write
three small methods that answer in the provider's *native* format.  Each
method is told exactly what to answer: the kit passes a :class:`Reply` (the
text or the stream's parts, the tool calls, the finish reason and the token
usage to put in the answer), and, for errors, the status, the message and
the ``retry-after`` to send.  The kit then drives the real public clients,
sync and async, through an ``httpx.MockTransport`` and checks routing,
authentication, the translation of requests (messages, parameters, tools)
and answers (text, tool calls, every finish reason, usage, streamed usage),
the end of streams, dropped streams, retries, error mapping, the refusal of
operations outside the provider's ``endpoints``, and that a missing key
fails before any I/O.  Every check runs on both clients.  No network is used.

Example::

    from liter_llm.testing import ProviderConformance, Reply

    class TestMyProviderConformance(ProviderConformance):
        provider = "myprovider"
        model = "myprovider/some-model"
        key_header = "authorization"
        key_prefix = "Bearer "

        def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
            return httpx.Response(200, json={...})  # reply.text, reply.tool_calls, reply.finish_reason, reply.usage

        def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
            return httpx.Response(200, content=b"...")  # reply.parts, then the end marker when complete

        def error_reply(
            self, request: httpx.Request, status: int, message: str, retry_after: int | None
        ) -> httpx.Response:
            return httpx.Response(status, json={"error": {"message": message}})

The kit needs no pytest plugin: it is a plain base class whose ``test_*``
methods pytest collects in the subclass.  They can also be called directly.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm.hookspecs import hookimpl
from liter_llm.types import FinishReason, Usage

if TYPE_CHECKING:
    from liter_llm._call import Call
    from liter_llm.providers import ProviderSpec

__all__ = [
    "ClientRunner",
    "ProviderConformance",
    "RecordingTransport",
    "Reply",
    "ReplyToolCall",
    "openai_chat_body",
    "openai_chunk",
    "openai_reply_body",
    "openai_reply_stream",
    "sse_body",
]

_TEXT = "Hello from the conformance kit"
_PARTS = ("Hel", "lo ", "wor", "ld")
_KEY = "conformance-secret-key-0123456789"
_USAGE = Usage(prompt_tokens=5, completion_tokens=2, total_tokens=7)
_STREAM_USAGE = Usage(prompt_tokens=11, completion_tokens=4, total_tokens=15)
_ALL_REASONS = (FinishReason.STOP, FinishReason.LENGTH, FinishReason.TOOL_CALLS, FinishReason.CONTENT_FILTER)


@frozen(kw_only=True, repr=False, eq=False)
class ReplyToolCall(FrozenFields):
    """A tool call the answer must carry: ``name(**arguments)`` with the provider-side ``id``."""

    id: str
    name: str
    arguments: dict[str, Any]


@frozen(kw_only=True, repr=False, eq=False)
class Reply(FrozenFields):
    """What the answer under test must say, in the provider's native format.

    Attributes:
        text: the assistant's text (``None`` when the answer is only tool calls).
        parts: for a stream, the pieces of text, one per event, in order.
        tool_calls: the tool calls the answer carries.
        finish_reason: why the answer stopped, to be written as the provider's native value.
        usage: the token counts to report (``prompt_tokens`` and ``completion_tokens``).
    """

    text: str | None = None
    parts: tuple[str, ...] = ()
    tool_calls: tuple[ReplyToolCall, ...] = ()
    finish_reason: FinishReason = FinishReason.STOP
    usage: Usage = _USAGE


class RecordingTransport(httpx.MockTransport):
    """An ``httpx.MockTransport`` that keeps every request it was sent."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return handler(request)

        super().__init__(record)


class ClientRunner:
    """Runs the same test body through the sync or the async client (``mode``), recording every request.

    A plugin's tests take a ``mode`` fixture (``"sync"``, ``"async"``; see
    :attr:`MODES`) and build one runner per test with the client options the
    provider needs; the runner creates a fresh client of that mode for each
    call, on an ``httpx.MockTransport`` around the test's ``handler``, and
    keeps the requests it saw::

        import pytest
        from liter_llm.testing import ClientRunner

        @pytest.fixture(params=ClientRunner.MODES)
        def run(request):
            return ClientRunner(request.param, api_key="test-key", model_hint="acme")

        def test_chat(run):
            answer = run("chat", lambda request: httpx.Response(200, json={...}), model="m", messages=[...])
            assert run.body["model"] == "m"

    ``run(method, handler, *args, client_options=None, **kwargs)`` calls
    ``client.<method>(*args, **kwargs)`` to its end on the sync client, or
    awaits it on the async one (a new event loop per call); ``chat_stream``
    returns the list of chunks, read to the end and closed.  ``handler=None``
    sends through the client's own transport (for a test that gives its own
    ``transport`` in ``client_options``).  Options given to the runner are
    the defaults of every call (``max_retries=0`` unless given; ``None``
    values are left out); ``client_options`` go over them.
    """

    #: the two modes, for ``@pytest.fixture(params=ClientRunner.MODES)``
    MODES: ClassVar[tuple[str, str]] = ("sync", "async")

    def __init__(self, mode: str, **defaults: Any) -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be 'sync' or 'async', not {mode!r}")
        self.mode = mode
        self.defaults: dict[str, Any] = {"max_retries": 0, **defaults}
        self.requests: list[httpx.Request] = []

    def options(self, **extra: Any) -> dict[str, Any]:
        """The client options of one call: the defaults, then ``extra``; ``None`` values left out."""
        merged = {**self.defaults, **extra}
        return {key: value for key, value in merged.items() if value is not None}

    def transport(self, handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
        """A mock transport that answers with ``handler`` and appends each (read) request to :attr:`requests`."""

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return handler(request)

        return httpx.MockTransport(record)

    def __call__(
        self,
        method: str,
        handler: Callable[[httpx.Request], httpx.Response] | None,
        *args: Any,
        client_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``client.<method>(*args, **kwargs)`` on a new client of the runner's mode; return its result."""
        import liter_llm

        options = self.options(**(client_options or {}))
        if handler is not None:
            options["transport"] = self.transport(handler)
        if self.mode == "sync":
            with liter_llm.create_client(**options) as client:
                if method == "chat_stream":
                    with client.chat_stream(*args, **kwargs) as stream:
                        return list(stream)
                return getattr(client, method)(*args, **kwargs)

        async def main() -> Any:
            async with liter_llm.create_async_client(**options) as client:
                if method == "chat_stream":
                    stream = await client.chat_stream(*args, **kwargs)
                    async with stream:
                        return [chunk async for chunk in stream]
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(main())

    @property
    def last(self) -> httpx.Request:
        """The last request sent."""
        return self.requests[-1]

    request = last

    @property
    def body(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)


class _EndRecorder:
    """A user hook that notes whether the provider's parser marked the end of the stream itself.

    (Not the core's fallback of a connection closed after every choice's
    ``finish_reason``: the kit holds a plugin to its provider's terminal event.)
    """

    def __init__(self) -> None:
        self.marked = False

    @hookimpl(wrapper=True)
    def parse_stream_event(self, call: Call, event: Any) -> Any:
        result = yield
        if call.stream_complete:
            self.marked = True
        return result

    @hookimpl(wrapper=True)
    def stream_parser(self, call: Call) -> Any:
        parser = yield
        return None if parser is None else _MarkingParser(parser, call, self)


class _MarkingParser:
    """A stream parser seen through: notes (on its recorder) when it marks the end of the stream."""

    def __init__(self, parser: Any, call: Call, recorder: _EndRecorder) -> None:
        self._parser = parser
        self._call = call
        self._recorder = recorder

    def feed(self, event: Any) -> Any:
        result = self._parser.feed(event)
        if self._call.stream_complete:
            self._recorder.marked = True
        return result

    def finish(self) -> Any:
        result = self._parser.finish()
        if self._call.stream_complete:
            self._recorder.marked = True
        return result


def _leaves(value: Any, strings: list[str], numbers: list[float]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, strings, numbers)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _leaves(item, strings, numbers)
    elif isinstance(value, str):
        strings.append(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        numbers.append(float(value))


#: probes of operations outside a provider's endpoints: (client method, endpoint family, arguments)
_PROBES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("embed", "embed", {"input": "kit"}),
    ("rerank", "rerank", {"query": "kit", "documents": ["a", "b"]}),
    ("moderate", "moderate", {"input": "kit"}),
    ("image_generate", "image", {"prompt": "kit"}),
    ("speech", "speech", {"input": "kit", "voice": "alloy"}),
)


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
    #: the finish reasons the provider's protocol can express (each is checked)
    finish_reasons: ClassVar[tuple[FinishReason, ...]] = _ALL_REASONS
    #: the request parameters the kit sends and expects to find in the body
    parameters: ClassVar[dict[str, Any]] = {"temperature": 0.25, "top_p": 0.5, "max_tokens": 77, "stop": ["KIT-STOP"]}
    #: whether the provider offers tool calling (checked both ways when true)
    supports_tools: ClassVar[bool] = True
    #: whether the protocol carries tool call ids (they must survive the round trip when true)
    tool_call_ids: ClassVar[bool] = True

    # -- what a provider's test writes -------------------------------------
    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        """The native non-streamed answer saying exactly what ``reply`` says."""
        raise NotImplementedError

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        """The native streamed answer of ``reply.parts``, with ``reply.usage`` and ``reply.finish_reason``.

        When ``complete`` is false, stop after the parts: no finish reason, no
        usage, no end-of-stream marker (a connection that dropped).
        """
        raise NotImplementedError

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        """The provider's native error answer: ``status``, ``message``, and ``retry-after`` when not ``None``."""
        raise NotImplementedError

    def request_values(self, request: httpx.Request) -> Any:
        """The request body as data, searched for the messages and parameters (default: JSON)."""
        try:
            return json.loads(request.content)
        except ValueError:
            raise AssertionError(
                f"the request body is not JSON ({request.content[:100]!r}); override request_values()"
            ) from None

    # -- machinery ------------------------------------------------------------
    def _spec(self) -> ProviderSpec:
        from liter_llm.registry import get_registry

        spec = get_registry().get(self.provider)
        assert spec is not None, f"provider {self.provider!r} is not registered (is the plugin installed?)"
        return spec

    @contextmanager
    def _environment(self) -> Iterator[None]:
        spec = self._spec()
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

    def _request(self, **fields: Any) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": "Say hello"}]}
        request.update(fields)
        return request

    def _run(
        self,
        mode: str,
        handler: Callable[[httpx.Request], httpx.Response],
        action: str,
        request: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run ``action`` ("chat" or "stream", or a client method with ``request`` as its arguments).

        Returns ``(result, transport, recorder)``; a stream's result is the list of its chunks.
        """
        import liter_llm

        transport = RecordingTransport(handler)
        recorder = _EndRecorder()
        extra["hooks"] = [*extra.get("hooks", self.client_options.get("hooks", ())), recorder]
        body = request if request is not None else self._request()
        with self._environment():
            if mode == "sync":
                with liter_llm.create_client(**self._options(transport, **extra)) as client:
                    if action == "chat":
                        return client.chat(body), transport, recorder
                    if action != "stream":
                        return getattr(client, action)(**body), transport, recorder
                    stream = client.chat_stream(body)
                    chunks = []
                    try:
                        for chunk in stream:
                            chunks.append(chunk)
                    finally:
                        stream.close()
                    return chunks, transport, recorder

            async def main() -> Any:
                async with liter_llm.create_async_client(**self._options(transport, **extra)) as client:
                    if action == "chat":
                        return await client.chat(body), transport, recorder
                    if action != "stream":
                        return await getattr(client, action)(**body), transport, recorder
                    stream = await client.chat_stream(body)
                    chunks = []
                    try:
                        async for chunk in stream:
                            chunks.append(chunk)
                    finally:
                        await stream.aclose()
                    return chunks, transport, recorder

            return asyncio.run(main())

    def _check_request(self, request: httpx.Request) -> None:
        url = str(request.url)
        assert url.startswith(("http://127.0.0.1", "https://127.0.0.1")), f"the request went to {url}"
        if self.uses_api_key:
            assert _KEY not in url, "the API key appeared in the URL"
            value = request.headers.get(self.key_header)
            assert value == self.key_prefix + _KEY, f"the key did not travel in {self.key_header!r}"

    def _modes(self) -> tuple[str, ...]:
        return ("sync", "async")

    def _body_contains(self, request: httpx.Request, texts: list[str], numbers: list[float], what: str) -> None:
        strings: list[str] = []
        found: list[float] = []
        _leaves(self.request_values(request), strings, found)
        for text in texts:
            assert any(text in s for s in strings), f"{what}: {text!r} is not in the request body"
        for number in numbers:
            assert any(abs(number - n) < 1e-9 for n in found), f"{what}: the value {number} is not in the request body"

    # -- the checks -------------------------------------------------------------
    def test_conformance_chat(self) -> None:
        """A chat call routes to the provider, authenticates, and parses text and usage."""
        from liter_llm.types import ChatCompletionResponse

        reply = Reply(text=_TEXT, usage=_USAGE)
        for mode in self._modes():
            response, transport, _ = self._run(mode, lambda r: self.chat_reply(r, reply), "chat")
            assert len(transport.requests) == 1, mode
            self._check_request(transport.requests[0])
            assert isinstance(response, ChatCompletionResponse)
            assert response.choices, f"{mode}: the answer has no choices"
            assert response.choices[0].message.content == _TEXT, mode
            assert response.choices[0].finish_reason == FinishReason.STOP, mode
            assert response.usage is not None, f"{mode}: the usage was lost"
            assert response.usage.prompt_tokens == _USAGE.prompt_tokens, mode
            assert response.usage.completion_tokens == _USAGE.completion_tokens, mode
            assert ChatCompletionResponse.from_dict(response.to_dict()) == response, mode

    def test_conformance_request_translation(self) -> None:
        """The request body carries every message of the conversation and the parameters."""
        messages = [
            {"role": "system", "content": "KIT-SYSTEM answer tersely"},
            {"role": "user", "content": "KIT-USER-1 first question"},
            {"role": "assistant", "content": "KIT-ASSISTANT-1 first answer"},
            {"role": "user", "content": "KIT-USER-2 second question"},
        ]
        texts = ["KIT-SYSTEM", "KIT-USER-1", "KIT-ASSISTANT-1", "KIT-USER-2"]
        numbers: list[float] = []
        for value in self.parameters.values():
            if isinstance(value, (int, float)):
                numbers.append(float(value))
            else:
                texts.extend(value if isinstance(value, list) else [value])
        request = self._request(messages=messages, **self.parameters)
        for mode in self._modes():
            for action in ("chat", "stream"):

                def handler(r: httpx.Request, action: str = action) -> httpx.Response:
                    if action == "chat":
                        return self.chat_reply(r, Reply(text=_TEXT))
                    return self.stream_reply(r, Reply(parts=_PARTS, usage=_STREAM_USAGE), True)

                _, transport, _ = self._run(mode, handler, action, request)
                assert len(transport.requests) == 1, f"{mode} {action}"
                self._body_contains(transport.requests[0], texts, numbers, f"{mode} {action}")

    def test_conformance_tool_calls(self) -> None:
        """Tools, a tool call and its result go out; a tool call in the answer comes back."""
        if not self.supports_tools:
            return
        tool = {
            "type": "function",
            "function": {
                "name": "kit_lookup",
                "description": "KIT-TOOL-DESC look a city up",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
        messages = [
            {"role": "user", "content": "KIT-USER-TOOL what is the weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_kit_1",
                        "type": "function",
                        "function": {"name": "kit_lookup", "arguments": json.dumps({"city": "Lutetia"})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_kit_1", "content": "KIT-TOOL-RESULT sunny"},
        ]
        expected = ["kit_lookup", "KIT-TOOL-DESC", "KIT-USER-TOOL", "Lutetia", "KIT-TOOL-RESULT"]
        if self.tool_call_ids:
            expected.append("call_kit_1")
        wanted = ReplyToolCall(id="call_kit_2", name="kit_lookup", arguments={"city": "Rome"})
        reply = Reply(text=None, tool_calls=(wanted,), finish_reason=FinishReason.TOOL_CALLS)
        for mode in self._modes():
            response, transport, _ = self._run(
                mode, lambda r: self.chat_reply(r, reply), "chat", self._request(messages=messages, tools=[tool])
            )
            self._body_contains(transport.requests[0], expected, [], f"{mode} tool request")
            message = response.choices[0].message
            assert len(message.tool_calls) == 1, f"{mode}: the answer's tool call was lost"
            call = message.tool_calls[0]
            assert call.function.name == "kit_lookup", mode
            assert json.loads(call.function.arguments) == {"city": "Rome"}, f"{mode}: {call.function.arguments!r}"
            assert call.id, f"{mode}: a tool call without an id"
            if self.tool_call_ids:
                assert call.id == "call_kit_2", f"{mode}: tool call id {call.id!r}"
            assert response.choices[0].finish_reason == FinishReason.TOOL_CALLS, mode

    def test_conformance_finish_reasons(self) -> None:
        """Each native finish reason maps to its liter-llm value."""
        for mode in self._modes():
            for reason in self.finish_reasons:
                if reason == FinishReason.TOOL_CALLS:
                    if not self.supports_tools:
                        continue
                    call = ReplyToolCall(id="call_kit_3", name="kit_lookup", arguments={"city": "Oslo"})
                    reply = Reply(text=None, tool_calls=(call,), finish_reason=reason)
                else:
                    reply = Reply(text=_TEXT, finish_reason=reason)

                def answer(request: httpx.Request, reply: Reply = reply) -> httpx.Response:
                    return self.chat_reply(request, reply)

                response, _, _ = self._run(mode, answer, "chat")
                got = response.choices[0].finish_reason
                assert got == reason, f"{mode}: the native answer for {reason.value!r} came back as {got!r}"

    def test_conformance_stream(self) -> None:
        """A streamed answer arrives as chunks whose text joins to the whole, with its usage and its end."""
        from liter_llm.streaming import assemble_stream

        reply = Reply(parts=_PARTS, usage=_STREAM_USAGE)
        for mode in self._modes():
            chunks, transport, recorder = self._run(mode, lambda r: self.stream_reply(r, reply, True), "stream")
            self._check_request(transport.requests[0])
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == "".join(_PARTS), mode
            assert recorder.marked, (
                f"{mode}: the stream never marked its end: parse_stream_event must set call.stream_complete "
                "on the provider's end-of-stream event"
            )
            assembled = assemble_stream(chunks)
            assert assembled.choices[0].finish_reason == FinishReason.STOP, mode
            usage = assembled.usage
            assert usage is not None, f"{mode}: the stream's usage was lost"
            assert usage.prompt_tokens == _STREAM_USAGE.prompt_tokens, f"{mode}: {usage!r}"
            assert usage.completion_tokens == _STREAM_USAGE.completion_tokens, f"{mode}: {usage!r}"

    def test_conformance_dropped_stream(self) -> None:
        """A stream cut before its end raises StreamingError carrying what arrived."""
        from liter_llm.errors import StreamingError

        reply = Reply(parts=_PARTS, usage=_STREAM_USAGE)
        for mode in self._modes():
            try:
                self._run(mode, lambda r: self.stream_reply(r, reply, False), "stream")
            except StreamingError as error:
                text = "".join(c.choices[0].delta.content or "" for c in error.chunks if c.choices)
                assert text == "".join(_PARTS), mode
                assert error.provider == self.provider, mode
            else:
                raise AssertionError(f"{mode}: a truncated stream did not raise StreamingError")

    def test_conformance_errors(self) -> None:
        """Error answers map to the same kinds for every provider; ``retry-after`` is kept."""
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
                retry_after = 2 if status == 429 else None

                def reply(
                    request: httpx.Request, status: int = status, message: str = message, wait: int | None = retry_after
                ) -> httpx.Response:
                    return self.error_reply(request, status, message, wait)

                try:
                    self._run(mode, reply, "chat")
                except errors.LiterLlmError as error:
                    assert isinstance(error, kind), f"{mode} {status}: got {type(error).__name__}"
                    assert error.status_code == status, f"{mode} {status}"
                    assert error.provider == self.provider, f"{mode} {status}"
                    assert message in error.message, f"{mode} {status}: {error.message!r}"
                    assert _KEY not in str(error) and _KEY not in repr(error), "the key leaked into an error"
                    if retry_after is not None:
                        assert error.retry_after == retry_after, f"{mode}: retry_after {error.retry_after!r}"
                else:
                    raise AssertionError(f"{mode} {status}: no error raised")

    def test_conformance_retry(self) -> None:
        """A 503 followed by a success is retried once and succeeds."""
        for mode in self._modes():
            answers = iter([503, 200])

            def handler(request: httpx.Request, answers: Iterator[int] = answers) -> httpx.Response:
                status = next(answers)
                if status == 200:
                    return self.chat_reply(request, Reply(text=_TEXT))
                return self.error_reply(request, status, "busy", None)

            response, transport, _ = self._run(mode, handler, "chat", max_retries=1)
            assert len(transport.requests) == 2, mode
            assert response.choices[0].message.content == _TEXT

    def test_conformance_unsupported_operation(self) -> None:
        """An operation outside the provider's ``endpoints`` is EndpointNotSupportedError, before any I/O."""
        from liter_llm.errors import EndpointNotSupportedError

        spec = self._spec()
        probe = next((p for p in _PROBES if p[1] not in spec.endpoints), None)
        if probe is None:
            return  # the provider offers every endpoint the kit can probe
        method, _, arguments = probe
        for mode in self._modes():

            def handler(request: httpx.Request) -> httpx.Response:
                raise AssertionError(f"{method} was sent to {request.url} though {self.provider} does not offer it")

            try:
                self._run(mode, handler, method, {"model": self.model, **arguments})
            except EndpointNotSupportedError:
                pass
            else:
                raise AssertionError(f"{mode}: {method} outside the endpoints did not raise EndpointNotSupportedError")

    def test_conformance_missing_key(self) -> None:
        """A provider that needs a key fails before any I/O when there is none."""
        import liter_llm
        from liter_llm.errors import AuthenticationError

        spec = self._spec()
        if not (self.uses_api_key and spec.requires_api_key):
            return
        for mode in self._modes():
            transport = RecordingTransport(lambda r: self.chat_reply(r, Reply(text=_TEXT)))
            options = self._options(transport)
            options.pop("api_key", None)
            request = self._request()
            with self._environment():
                try:
                    if mode == "sync":
                        with liter_llm.create_client(**options) as client:
                            client.chat(request)
                    else:

                        async def main(options: dict[str, Any] = options, request: dict[str, Any] = request) -> None:
                            async with liter_llm.create_async_client(**options) as client:
                                await client.chat(request)

                        asyncio.run(main())
                except AuthenticationError:
                    pass
                else:
                    raise AssertionError(f"{mode}: a call without a key did not raise AuthenticationError")
            assert transport.requests == [], f"{mode}: a request was sent without a key"


# ---------------------------------------------------------------------------
# Builders of OpenAI-format answers, for tests of OpenAI-compatible providers
# ---------------------------------------------------------------------------


def openai_chat_body(
    text: str | None = "hi",
    *,
    model: str = "m",
    usage: tuple[int, int] = (5, 2),
    finish: str = "stop",
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` body with one choice whose content is ``text``."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def openai_reply_body(reply: Reply, *, model: str = "m") -> dict[str, Any]:
    """The OpenAI ``chat.completion`` body saying what a kit :class:`Reply` says."""
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
        for c in reply.tool_calls
    ]
    usage = (reply.usage.prompt_tokens, reply.usage.completion_tokens)
    return openai_chat_body(reply.text, model=model, usage=usage, finish=reply.finish_reason.value, tool_calls=calls)


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


def openai_reply_stream(reply: Reply, complete: bool) -> bytes:
    """The OpenAI SSE stream of a kit :class:`Reply` (usage in a last chunk without choices, then ``[DONE]``)."""
    parts = list(reply.parts)
    payloads = [openai_chunk(parts[0] if parts else "", role="assistant")] + [openai_chunk(p) for p in parts[1:]]
    if complete:
        payloads.append(openai_chunk(finish=reply.finish_reason.value))
        usage = reply.usage
        payloads.append(
            {
                "id": "chunk-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "m",
                "choices": [],
                "usage": {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.prompt_tokens + usage.completion_tokens,
                },
            }
        )
    return sse_body(*payloads, done=complete)


def sse_body(*payloads: Any, done: bool = True) -> bytes:
    """An SSE body of JSON ``data:`` events, ending with ``[DONE]`` when ``done``."""
    out = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    return out + (b"data: [DONE]\n\n" if done else b"")
