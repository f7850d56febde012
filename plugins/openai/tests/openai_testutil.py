"""Helpers for the OpenAI plugin's tests: run a client method on both clients over a MockTransport."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
from collections.abc import Callable
from typing import Any

import httpx

import liter_llm

KEY = "sk-test-0123456789abcdef"
MODES = ("sync", "async")

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records each request (body read) and answers with ``reply``."""

    def __init__(self, reply: Handler | httpx.Response) -> None:
        self.requests: list[httpx.Request] = []
        self._reply = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if isinstance(self._reply, httpx.Response):
            return self._reply
        return self._reply(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def _options(handler: Handler, options: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"api_key": KEY, "max_retries": 0, "retry_initial_delay": 0.0}
    merged.update(options)
    merged["transport"] = httpx.MockTransport(handler)
    return merged


def call(
    mode: str, handler: Handler, method: str, *args: Any, client: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """Call ``client.<method>(*args, **kwargs)`` on a fresh sync or async client."""
    options = _options(handler, client or {})
    if mode == "sync":
        with liter_llm.create_client(**options) as sync_client:
            return getattr(sync_client, method)(*args, **kwargs)

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as async_client:
            return await getattr(async_client, method)(*args, **kwargs)

    return asyncio.run(main())


def stream(
    mode: str, handler: Handler, *args: Any, client: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[list[Any], Any]:
    """Run ``chat_stream`` to its end; return the chunks and the assembled response."""
    options = _options(handler, client or {})
    if mode == "sync":
        with liter_llm.create_client(**options) as sync_client, sync_client.chat_stream(*args, **kwargs) as s:
            chunks = list(s)
            return chunks, liter_llm.assemble_stream(chunks)

    async def main() -> tuple[list[Any], Any]:
        async with liter_llm.create_async_client(**options) as async_client:
            s = await async_client.chat_stream(*args, **kwargs)
            async with s:
                chunks = [chunk async for chunk in s]
            return chunks, liter_llm.assemble_stream(chunks)

    return asyncio.run(main())


def sse(*events: Any, done: bool = True) -> httpx.Response:
    """An SSE answer of JSON ``data:`` events (strings are sent verbatim), with ``[DONE]`` when ``done``."""
    body = b""
    for event in events:
        text = event if isinstance(event, str) else json.dumps(event)
        body += b"data: " + text.encode() + b"\n\n"
    if done:
        body += b"data: [DONE]\n\n"
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def multipart(request: httpx.Request) -> dict[str, list[tuple[str | None, str | None, bytes]]]:
    """Parse a multipart/form-data body: name -> [(filename, content type, payload)]."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    assert message.is_multipart()
    fields: dict[str, list[tuple[str | None, str | None, bytes]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True)
        part_type = part.get("content-type")
        fields.setdefault(str(name), []).append((filename, part_type, payload or b""))
    return fields
