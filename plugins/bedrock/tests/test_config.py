"""``[plugins.bedrock]``: region, profile, keys and endpoints from create_client, JSON and liter-llm.toml."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm.config import load_config_json, load_config_toml
from liter_llm.errors import BadRequestError

from .conftest import ACCESS_KEY, Runner

OK = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
USER = [{"role": "user", "content": "Hi"}]
MODEL = "bedrock/amazon.nova-pro-v1:0"
TABLE_SECRET = "table-secret-0123456789abcdefghij"
TABLE_KEY_ID = "AKIATABLEEXAMPLE"


def _chat(mode: str, source: str, table: dict[str, Any], requests: list[httpx.Request], tmp_path: Path) -> Any:
    """One chat through the sync or async client, configured from kwargs, JSON or a TOML file."""

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        requests.append(request)
        return httpx.Response(200, json=OK)

    options: dict[str, Any] = {"transport": httpx.MockTransport(handler), "max_retries": 0}
    if source == "kwargs":
        config: dict[str, Any] = {"plugins": {"bedrock": table}}
    elif source == "json":
        config = {"config": load_config_json(json.dumps({"plugins": {"bedrock": table}}))}
    else:
        lines = ["[plugins.bedrock]"] + [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        path = tmp_path / "liter-llm.toml"
        path.write_text("\n".join(lines) + "\n")
        config = {"config": load_config_toml(path.read_text(), source=str(path))}
    if mode == "sync":
        with liter_llm.create_client(**config, **options) as client:
            return client.chat(model=MODEL, messages=USER)

    async def main() -> Any:
        async with liter_llm.create_async_client(**config, **options) as client:
            return await client.chat(model=MODEL, messages=USER)

    return asyncio.run(main())


SOURCES = ["kwargs", "json", "toml"]


@pytest.mark.parametrize("source", SOURCES)
def test_region_and_keys_from_the_table_beat_the_environment(mode: str, source: str, tmp_path: Path) -> None:
    requests: list[httpx.Request] = []
    table = {"region": "eu-west-1", "access_key_id": TABLE_KEY_ID, "secret_access_key": TABLE_SECRET}
    _chat(mode, source, table, requests, tmp_path)
    request = requests[0]
    assert request.url.host == "bedrock-runtime.eu-west-1.amazonaws.com"
    authorization = request.headers["authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={TABLE_KEY_ID}/")
    assert "/eu-west-1/bedrock/aws4_request" in authorization
    assert ACCESS_KEY not in authorization


@pytest.mark.parametrize("source", SOURCES)
def test_an_api_key_and_an_endpoint_from_the_table(mode: str, source: str, tmp_path: Path) -> None:
    requests: list[httpx.Request] = []
    table = {"api_key": "table-bedrock-api-key", "endpoint": "http://127.0.0.1:9/vpce/"}
    _chat(mode, source, table, requests, tmp_path)
    request = requests[0]
    assert str(request.url) == "http://127.0.0.1:9/vpce/model/amazon.nova-pro-v1:0/converse"
    assert request.headers["authorization"] == "Bearer table-bedrock-api-key"


@pytest.mark.parametrize("source", SOURCES)
def test_a_profile_from_the_table(mode: str, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "credentials").write_text(
        "[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = work-secret\naws_session_token = work-token\n"
    )
    (tmp_path / "config").write_text("[profile work]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name)
    requests: list[httpx.Request] = []
    _chat(mode, source, {"profile": "work", "use_botocore": False}, requests, tmp_path)
    request = requests[0]
    assert request.url.host == "bedrock-runtime.eu-central-1.amazonaws.com"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAWORK/")
    assert request.headers["x-amz-security-token"] == "work-token"


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ({"regoin": "us-east-1"}, "plugins.bedrock.regoin: unknown field"),
        ({"region": "us east 1"}, "plugins.bedrock.region: 'us east 1' is not a valid region name"),
        ({"region": 1}, "plugins.bedrock.region: expected a string"),
        ({"access_key_id": TABLE_KEY_ID}, "plugins.bedrock.secret_access_key: access_key_id and secret_access_key"),
        ({"secret_access_key": TABLE_SECRET}, "plugins.bedrock.access_key_id: access_key_id and secret_access_key"),
        ({"session_token": "token-only"}, "plugins.bedrock.session_token: needs access_key_id"),
        ({"use_botocore": "yes"}, "plugins.bedrock.use_botocore: expected true or false"),
        ({"endpoint": "bedrock.internal"}, "plugins.bedrock.endpoint: 'bedrock.internal' is not an http"),
        ({"control_endpoint": "https://u:p@host"}, "plugins.bedrock.control_endpoint: give the address without"),
        ({"api_key": 12345}, "plugins.bedrock.api_key: expected a string, got int"),
    ],
)
@pytest.mark.parametrize("source", SOURCES)
def test_bad_fields_are_named_by_their_path(
    mode: str, source: str, table: dict[str, Any], path: str, tmp_path: Path
) -> None:
    requests: list[httpx.Request] = []
    with pytest.raises(BadRequestError) as caught:
        _chat(mode, source, table, requests, tmp_path)
    assert path in str(caught.value)
    assert "12345" not in str(caught.value)
    assert requests == []


def test_an_explicit_provider_option_beats_the_table(run: Runner) -> None:
    from liter_llm.registry import get_registry
    from liter_llm_bedrock import bedrock_provider

    get_registry().register_custom(bedrock_provider("bedrock-pinned", region="ap-southeast-2"))
    try:
        run(
            "chat",
            lambda r: httpx.Response(200, json=OK),
            model="bedrock-pinned/amazon.nova-pro-v1:0",
            messages=USER,
            client_options={
                "model_hint": None,
                "base_url": None,
                "plugins": {
                    "bedrock-pinned": {
                        "region": "eu-west-1",
                        "access_key_id": TABLE_KEY_ID,
                        "secret_access_key": TABLE_SECRET,
                    }
                },
            },
        )
    finally:
        get_registry().unregister_custom("bedrock-pinned")
    request = run.requests[0]
    assert request.url.host == "bedrock-runtime.ap-southeast-2.amazonaws.com"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={TABLE_KEY_ID}/")


def test_bedrock_openai_reads_its_own_table(run: Runner) -> None:
    run(
        "chat",
        lambda r: httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "openai.gpt-oss-20b-1:0",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            },
        ),
        model="bedrock_openai/openai.gpt-oss-20b-1:0",
        messages=USER,
        client_options={"model_hint": None, "base_url": None, "plugins": {"bedrock_openai": {"region": "us-west-2"}}},
    )
    assert str(run.requests[0].url) == "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1/chat/completions"


def test_table_secrets_stay_out_of_reprs_and_logs(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="liter_llm")
    table = {"access_key_id": TABLE_KEY_ID, "secret_access_key": TABLE_SECRET, "session_token": "table-token-xyz"}
    requests: list[httpx.Request] = []
    client = liter_llm.create_client(
        plugins={"bedrock": table},
        transport=httpx.MockTransport(lambda r: requests.append(r) or httpx.Response(200, json=OK)),
    )
    with client:
        client.chat(model=MODEL, messages=USER)
        shown = repr(client) + repr(client.config) + caplog.text
    from liter_llm_bedrock._options import options_from_table

    shown += repr(options_from_table(table, "plugins.bedrock"))
    assert TABLE_SECRET not in shown
    assert "table-token-xyz" not in shown
    assert requests, "the call was sent"
