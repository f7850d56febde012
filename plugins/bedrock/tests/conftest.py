"""Shared test machinery: run a client method through the sync or the async client.

Every test goes through ``liter_llm.create_client`` / ``create_async_client`` with an
``httpx.MockTransport`` standing in for Bedrock at 127.0.0.1 (or a real local server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from liter_llm.testing import ClientRunner
from liter_llm_bedrock import encode_message

FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "http://127.0.0.1:9"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
API_KEY = "bedrock-api-key-0123456789"


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def event(event_type: str, payload: dict[str, Any]) -> bytes:
    """One ConverseStream event frame."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload).encode())


def exception(name: str, message: str) -> bytes:
    """One exception frame."""
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps({"message": message}).encode())


def stream_response(frames: list[bytes] | bytes, status: int = 200) -> httpx.Response:
    content = frames if isinstance(frames, bytes) else b"".join(frames)
    return httpx.Response(status, content=content, headers={"content-type": "application/vnd.amazon.eventstream"})


def stream_fixture(name: str) -> list[bytes]:
    """A stream fixture: a JSON list of [event type, payload] (or ["!exception", name, message])."""
    frames = []
    for item in fixture_json(name):
        if item[0] == "!exception":
            frames.append(exception(item[1], item[2]))
        else:
            frames.append(event(item[0], item[1]))
    return frames


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A clean AWS environment: SigV4 keys and a region set, no files, no API key, no metadata service."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_DEFAULT_REGION",
        "BEDROCK_BASE_URL",
        "BEDROCK_OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class Runner(ClientRunner):
    """The shared ``liter_llm.testing.ClientRunner``, with this provider's client options as defaults."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode, model_hint="bedrock", base_url=BASE_URL, retry_initial_delay=0.0)


@pytest.fixture(params=ClientRunner.MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(mode: str) -> Runner:
    return Runner(mode)
