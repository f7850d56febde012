"""``[plugins.azure]`` (api_version, api_style, endpoint, keys) alike from create_client, JSON and liter-llm.toml."""

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

MESSAGES = [{"role": "user", "content": "hi"}]
TABLE_KEY = "table-key-0123456789abcdefghijkl"
SOURCES = ["kwargs", "json", "toml"]


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _chat(mode: str, source: str, table: dict[str, Any], az: Any, tmp_path: Path, model: str = "azure/d") -> Any:
    """One chat through the sync or async client, the ``[plugins.azure]`` table given by ``source``."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        requests.append(request)
        return httpx.Response(200, json=az.load("chat_completion.json"))

    options: dict[str, Any] = {"transport": httpx.MockTransport(handler), "max_retries": 0}
    if source == "kwargs":
        config: dict[str, Any] = {"plugins": {"azure": table}}
    elif source == "json":
        config = {"config": load_config_json(json.dumps({"plugins": {"azure": table}}))}
    else:
        lines = ["[plugins.azure]"] + [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        path = tmp_path / "liter-llm.toml"
        path.write_text("\n".join(lines) + "\n")
        config = {"config": load_config_toml(path.read_text(), source=str(path))}
    if mode == "sync":
        with liter_llm.create_client(**config, **options) as client:
            client.chat(model=model, messages=MESSAGES)
    else:

        async def main() -> None:
            async with liter_llm.create_async_client(**config, **options) as client:
                await client.chat(model=model, messages=MESSAGES)

        asyncio.run(main())
    return requests


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("source", SOURCES)
def test_classic_style_and_api_version_from_the_table(mode: str, source: str, az: Any, tmp_path: Path) -> None:
    table = {"endpoint": az.ENDPOINT, "api_key": TABLE_KEY, "api_version": "2025-04-01-preview"}
    requests = _chat(mode, source, table, az, tmp_path)
    assert str(requests[0].url) == f"{az.ENDPOINT}/openai/deployments/d/chat/completions?api-version=2025-04-01-preview"
    assert requests[0].headers["api-key"] == TABLE_KEY


@pytest.mark.parametrize("source", SOURCES)
def test_v1_style_from_the_table(mode: str, source: str, az: Any, tmp_path: Path) -> None:
    table = {"endpoint": az.ENDPOINT, "api_key": TABLE_KEY, "api_style": "v1", "api_version": "2024-10-21"}
    requests = _chat(mode, source, table, az, tmp_path)
    assert str(requests[0].url) == f"{az.ENDPOINT}/openai/v1/chat/completions"
    assert json.loads(requests[0].content)["model"] == "d"


@pytest.mark.parametrize("source", SOURCES)
def test_a_deployment_table_beats_the_top_level(mode: str, source: str, az: Any, tmp_path: Path) -> None:
    table = {
        "endpoint": az.ENDPOINT,
        "api_key": TABLE_KEY,
        "api_version": "2024-10-21",
        "deployments": {"d": {"api_version": "2025-04-01-preview", "name": "gpt-4o-prod"}},
    }
    requests = _chat(mode, source, table, az, tmp_path)
    assert str(requests[0].url) == (
        f"{az.ENDPOINT}/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-04-01-preview"
    )


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ({"api_version": 20241021}, "plugins.azure.api_version: expected a string"),
        ({"api_version": "2024-10-21&x=1"}, "plugins.azure.api_version: '2024-10-21&x=1' is not an api-version"),
        ({"api_style": "v2"}, "plugins.azure.api_style: expected 'classic' or 'v1'"),
        ({"endpoint": "my-resource.openai.azure.com"}, "plugins.azure.endpoint"),
        ({"api_verison": "2024-10-21"}, "plugins.azure.api_verison: unknown field"),
        ({"deployments": {"d": {"api_version": "bad version"}}}, "plugins.azure.deployments.d.api_version"),
        ({"deployments": {"d": {"api_style": "v3"}}}, "plugins.azure.deployments.d.api_style"),
        ({"api_key": 12345}, "plugins.azure.api_key: expected a string"),
    ],
)
@pytest.mark.parametrize("source", SOURCES)
def test_bad_fields_are_named_by_their_path(
    mode: str, source: str, table: dict[str, Any], path: str, az: Any, tmp_path: Path
) -> None:
    full = {"endpoint": az.ENDPOINT, "api_key": TABLE_KEY, **table}
    with pytest.raises(BadRequestError) as info:
        _chat(mode, source, full, az, tmp_path)
    assert path in info.value.message
    assert "12345" not in info.value.message


def test_table_secrets_stay_out_of_reprs_and_logs(az: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG, logger="liter_llm")
    table = {"endpoint": az.ENDPOINT, "api_key": TABLE_KEY, "client_secret": "table-client-secret-xyz"}
    config = load_config_toml(
        "[plugins.azure]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + "\n"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=az.load("chat_completion.json"))

    with liter_llm.create_client(config=config, transport=httpx.MockTransport(handler)) as client:
        client.chat(model="azure/d", messages=MESSAGES)
        shown = repr(client) + repr(client.config) + repr(config) + caplog.text
    assert TABLE_KEY not in shown
    assert "table-client-secret-xyz" not in shown
