"""An API key given to a client appears in no log line, exception, repr, JSON output or URL (both clients)."""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm.config import config_to_dict
from liter_llm.errors import LiterLlmError
from liter_llm.testing import RecordingTransport, openai_chat_body, openai_chunk, sse_body

USER = S.USER
KEY = S.KEY


class CallKeeper:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.calls.append(call)


def error_texts(error: BaseException) -> str:
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for name in ("message", "body", "chunks"):
        parts.append(repr(getattr(error, name, None)))
    return "\n".join(parts)


def test_the_key_stays_out_of_logs_errors_and_urls_on_a_real_server(
    make: Any, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([503, 503, 401])

    def script(req: Any, out: Any) -> None:
        out.reply(next(answers, 401), json.dumps({"error": {"message": "nope", "code": "invalid_api_key"}}).encode())

    server.script = script
    keeper = CallKeeper()
    api = make(api_key=KEY, base_url=server.url + "/v1", retry_initial_delay=0.01, max_retries=3, hooks=[keeper])
    with caplog.at_level(logging.DEBUG, logger="liter_llm"), pytest.raises(LiterLlmError) as info:
        api.chat(model="m", messages=USER)
    # the key did travel, in the header only
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {KEY}"] * 3
    assert not any(KEY in r.path for r in server.requests)
    assert len(caplog.records) >= 3  # every attempt was logged
    assert not any(KEY in r.getMessage() for r in caplog.records)
    assert KEY not in error_texts(info.value)
    assert KEY not in pickle.dumps(info.value).decode("latin-1")
    # reprs of the client, its configuration and the call
    assert KEY not in repr(api.client)
    assert KEY not in repr(api.client.config)
    assert KEY not in str(api.client.config)
    assert KEY not in json.dumps(config_to_dict(api.client.config), default=str)
    assert keeper.calls
    assert KEY not in repr(keeper.calls[0])
    assert KEY not in repr(keeper.calls[0].api_key)
    assert keeper.calls[0].api_key.get_secret_value() == KEY
    with pytest.raises(TypeError):
        pickle.dumps(keeper.calls[0].api_key)


def test_the_key_stays_out_of_connection_errors(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    port = S.closed_port()
    api = make(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", retry_initial_delay=0.01, max_retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(LiterLlmError) as info:
        api.chat(model="m", messages=USER)
    assert KEY not in error_texts(info.value)
    assert not any(KEY in r.getMessage() for r in caplog.records)


def test_a_provider_that_echoes_the_key_does_not_leak_it(make: Any) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {sent}"}})

    api = make(api_key=KEY, transport=RecordingTransport(reply), max_retries=0)
    with pytest.raises(LiterLlmError) as info:
        api.chat(model="fake/m", messages=USER)
    assert "Incorrect API key provided" in info.value.message
    assert KEY not in error_texts(info.value)


def test_the_key_stays_out_of_stream_errors_and_typed_json(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    body = sse_body(openai_chunk("a"), done=False)
    api = make(api_key=KEY, transport=RecordingTransport(lambda r: httpx.Response(200, content=body)))
    with caplog.at_level(logging.DEBUG), pytest.raises(LiterLlmError) as info:
        api.collect(model="fake/m", messages=USER)
    assert KEY not in error_texts(info.value)
    assert not any(KEY in r.getMessage() for r in caplog.records)

    ok = make(api_key=KEY, transport=RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body())))
    answer = ok.chat(model="fake/m", messages=USER)
    assert KEY not in answer.to_json()
    assert KEY not in repr(answer)


def test_aws_credentials_are_redacted_in_log_events() -> None:
    from liter_llm._log import REDACTED, redact_processor

    event = {
        "event": "request",
        "headers": {"X-Amz-Security-Token": "session-token", "Authorization": "AWS4-HMAC-SHA256 ...", "accept": "x"},
        "aws_secret_access_key": "secret",
    }
    out = redact_processor(None, "info", event)
    assert out["headers"] == {"X-Amz-Security-Token": REDACTED, "Authorization": REDACTED, "accept": "x"}
    assert out["aws_secret_access_key"] == REDACTED
