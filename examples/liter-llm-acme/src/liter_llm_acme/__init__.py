"""liter-llm provider plugin for the ACME Generate API (see README.md for the protocol)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

import liter_llm
from liter_llm import types as t
from liter_llm.errors import (
    EndpointNotSupportedError,
    LiterLlmError,
    SerializationError,
    error_from_status,
    parse_retry_after,
)
from liter_llm.providers import ProviderSpec
from liter_llm.wire import dump_json, load_json, merge_headers, url_for

if TYPE_CHECKING:
    import argparse

    from liter_llm import Call

__all__ = ["PROTOCOL_VERSION", "AcmeHooks", "NDJSONDecoder", "register_commands", "register_providers"]

PROTOCOL_VERSION = "1"
_STOP = {
    "done": t.FinishReason.STOP,
    "limit": t.FinishReason.LENGTH,
    "calls": t.FinishReason.TOOL_CALLS,
    "blocked": t.FinishReason.CONTENT_FILTER,
}
_STATUS = {"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "rate_limited": 429}


def _text(content: Any) -> str:
    """A message's content as plain text (ACME turns carry text only)."""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content or () if isinstance(part, t.TextContentPart))


def _turn(message: Any) -> dict[str, Any]:
    """One liter-llm message as an ACME turn."""
    if isinstance(message, t.AssistantMessage):
        turn: dict[str, Any] = {"speaker": "bot", "text": message.content or ""}
        if message.tool_calls:
            turn["calls"] = [
                {"id": c.id, "name": c.function.name, "args": json.loads(c.function.arguments or "{}")}
                for c in message.tool_calls
            ]
        return turn
    if isinstance(message, t.ToolMessage):
        return {"speaker": "tool", "call_id": message.tool_call_id, "text": _text(message.content)}
    speaker = "system" if isinstance(message, (t.SystemMessage, t.DeveloperMessage)) else "user"
    return {"speaker": speaker, "text": _text(message.content)}


def _body(call: Call) -> dict[str, Any]:
    """The ACME ``/generate`` body of a chat call."""
    req: t.ChatCompletionRequest = call.request
    body: dict[str, Any] = {"model": call.model, "turns": [_turn(m) for m in req.messages]}
    stop = [req.stop] if isinstance(req.stop, str) else req.stop
    given = {"temperature": req.temperature, "top_p": req.top_p, "max_tokens": req.max_tokens, "stop": stop}
    body["settings"] = {name: value for name, value in given.items() if value is not None}
    if req.tools:
        body["tools"] = [
            {"name": tool.function.name, "about": tool.function.description or "", "schema": tool.function.parameters}
            for tool in req.tools
        ]
    body["stream"] = call.stream
    return body


def _usage(tokens: Any) -> t.Usage | None:
    if not isinstance(tokens, dict):
        return None
    used_in, used_out = int(tokens.get("in", 0)), int(tokens.get("out", 0))
    return t.Usage(prompt_tokens=used_in, completion_tokens=used_out, total_tokens=used_in + used_out)


def _tool_call(item: dict[str, Any]) -> t.ToolCall:
    arguments = json.dumps(item.get("args") or {})
    return t.ToolCall(id=str(item["id"]), function=t.FunctionCall(name=str(item["name"]), arguments=arguments))


class NDJSONDecoder:
    """ACME streams newline-delimited JSON: one event per line (a ``liter_llm.wire.StreamDecoder``)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line.decode() for line in lines if line.strip()]

    def close(self) -> list[str]:
        rest, self._buffer = self._buffer, b""
        return [rest.decode()] if rest.strip() else []


class AcmeHooks:
    """The hooks of the ``acme`` provider: they see only the calls routed to it."""

    @liter_llm.hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        if call.operation == "list_models":
            return httpx.Request("GET", url_for(call, "/models"), headers=merge_headers(call, {}))
        if call.operation not in ("chat", "chat_stream"):
            raise EndpointNotSupportedError(call.provider.name, call.operation)
        accept = "application/x-ndjson" if call.stream else "application/json"
        return httpx.Request(
            "POST",
            url_for(call, "/generate"),
            content=dump_json(_body(call)),
            headers=merge_headers(call, {"content-type": "application/json", "accept": accept}),
        )

    @liter_llm.hookimpl
    def parse_response(self, call: Call, response: httpx.Response) -> Any:
        data = load_json(call, response.content)
        if not isinstance(data, dict):
            raise SerializationError("the ACME answer is not a JSON object", provider=call.provider.name)
        if call.operation == "list_models":
            names = [m.get("name") if isinstance(m, dict) else None for m in data.get("models", ())]
            models = [t.ModelObject(id=name, owned_by="acme") for name in names if isinstance(name, str)]
            if len(models) != len(names):
                raise SerializationError("a model without a name in the ACME model list", provider=call.provider.name)
            return t.ModelsListResponse(data=models)
        message = t.AssistantMessage(
            content=data.get("text"), tool_calls=[_tool_call(item) for item in data.get("calls") or ()]
        )
        return t.ChatCompletionResponse(
            id=str(data.get("id", "")),
            created=0,
            model=str(data.get("model", call.model)),
            choices=[t.Choice(message=message, finish_reason=_STOP.get(data.get("stop", ""), t.FinishReason.OTHER))],
            usage=_usage(data.get("tokens")),
        )

    @liter_llm.hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        try:
            problem = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return None  # not ACME's shape: the core maps the status
        return error_from_status(
            response.status_code,
            str(problem.get("detail", "")),
            provider=call.provider.name,
            code=problem.get("kind"),
            retry_after=parse_retry_after(response.headers),
        )

    @liter_llm.hookimpl
    def stream_decoder(self, call: Call) -> NDJSONDecoder:
        return NDJSONDecoder()

    @liter_llm.hookimpl
    def parse_stream_event(self, call: Call, event: str) -> list[t.ChatCompletionChunk]:
        data = json.loads(event)
        if "error" in data:
            problem = data["error"]
            status = _STATUS.get(problem.get("kind"), 500)
            raise error_from_status(status, str(problem.get("detail", "")), provider=call.provider.name)
        delta = t.StreamDelta(content=data.get("text"))
        if "call" in data:
            item = data["call"]
            function = t.StreamFunctionCall(name=item["name"], arguments=json.dumps(item.get("args") or {}))
            delta.tool_calls = [t.StreamToolCall(index=item.get("n", 0), id=item["id"], function=function)]
        finish = None
        if "end" in data:
            finish = _STOP.get(data["end"], t.FinishReason.OTHER)
            call.stream_complete = True  # the end line is ACME's end-of-stream marker
        return [
            t.ChatCompletionChunk(
                id=str(data.get("id", "")),
                created=0,
                model=call.model or "",
                choices=[t.StreamChoice(delta=delta, finish_reason=finish)],
                usage=_usage(data.get("tokens")),
            )
        ]


@liter_llm.hookimpl
def register_providers(register: Any) -> None:
    """Declare the ``acme`` provider: ``acme/<model>`` and bare ``acme-`` models route here."""
    register(
        ProviderSpec(
            name="acme",
            display_name="ACME",
            base_url="https://api.acme.example/v1",
            api_key_env="ACME_API_KEY",
            auth="x-acme-key",
            model_prefixes=("acme-",),
            endpoints={"chat", "models"},
            plugin=AcmeHooks(),
        )
    )


@liter_llm.hookimpl
def register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``liter-llm acme-info``: what this plugin speaks and where it sends calls."""
    parser = subparsers.add_parser("acme-info", help="show the ACME plugin's protocol version and base URL")
    parser.set_defaults(handler=_acme_info)


def _acme_info(args: argparse.Namespace) -> int:
    import os

    base_url = os.environ.get("ACME_BASE_URL", "https://api.acme.example/v1")
    print(f"ACME Generate API v{PROTOCOL_VERSION} at {base_url}")
    return 0
