"""Where each operation goes: both URL styles, every endpoint, every source of the endpoint and key."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import liter_llm
from liter_llm.errors import AuthenticationError, BadRequestError, EndpointNotSupportedError

MESSAGES = [{"role": "user", "content": "Hello"}]


def ok_chat(az: Any) -> Any:
    body = az.load("chat_completion.json")
    return lambda request: httpx.Response(200, json=body)


def test_classic_chat_url_key_header_and_default_api_version(run: Any, az: Any) -> None:
    answer = run(ok_chat(az), "chat", model="azure/my-gpt4o", messages=MESSAGES)
    request = run.request
    assert str(request.url) == f"{az.ENDPOINT}/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == az.KEY
    assert "authorization" not in request.headers
    assert az.KEY not in str(request.url)
    assert answer.choices[0].message.content.startswith("Ahoy matey")
    assert answer.usage.total_tokens == 590
    assert answer.model == "gpt-4o-2024-05-13"


@pytest.mark.parametrize("variable", ["AZURE_OPENAI_API_VERSION", "AZURE_API_VERSION"])
def test_api_version_from_the_environment(run: Any, az: Any, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "2025-04-01-preview")
    run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES)
    assert run.request.url.params["api-version"] == "2025-04-01-preview"


def test_api_version_from_the_configuration_beats_the_environment(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-06-01")
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT}
    client["plugins"] = {"azure": {"api_version": "2024-10-01-preview"}}
    run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client=client)
    assert run.request.url.params["api-version"] == "2024-10-01-preview"


@pytest.mark.parametrize(
    ("endpoint_var", "key_var"),
    [("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"), ("AZURE_API_BASE", "AZURE_API_KEY")],
)
def test_endpoint_and_key_from_the_environment(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch, endpoint_var: str, key_var: str
) -> None:
    monkeypatch.setenv(endpoint_var, "http://127.0.0.1:9/env-resource/")
    monkeypatch.setenv(key_var, "env-key-0123456789")
    run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client={})
    assert str(run.request.url).startswith("http://127.0.0.1:9/env-resource/openai/deployments/d/chat/completions?")
    assert run.request.headers["api-key"] == "env-key-0123456789"


def test_the_client_key_of_another_provider_never_goes_to_azure(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", az.ENDPOINT)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-own-key-0123")
    run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client={"api_key": "sk-openai-key-0123456"})
    assert run.request.headers["api-key"] == "azure-own-key-0123"
    assert "sk-openai-key-0123456" not in str(run.request.headers)


def test_v1_style_from_the_endpoint_path(run: Any, az: Any) -> None:
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT + "/openai/v1/"}
    run(ok_chat(az), "chat", model="azure/my-gpt4o", messages=MESSAGES, client=client)
    assert str(run.request.url) == f"{az.ENDPOINT}/openai/v1/chat/completions"
    assert run.body["model"] == "my-gpt4o"


def test_v1_style_from_the_environment(run: Any, az: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_STYLE", "v1")
    run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES)
    assert str(run.request.url) == f"{az.ENDPOINT}/openai/v1/chat/completions"


def test_an_unknown_style_is_refused(run: Any, az: Any) -> None:
    client = {
        "api_key": az.KEY,
        "model_hint": "azure",
        "base_url": az.ENDPOINT,
        "plugins": {"azure": {"api_style": "v2"}},
    }
    with pytest.raises(BadRequestError, match="api_style"):
        run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client=client)
    assert run.requests == []


def test_no_endpoint_is_a_clear_error_before_any_io(run: Any, az: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k-0123456789")
    with pytest.raises(BadRequestError, match="AZURE_OPENAI_ENDPOINT"):
        run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client={})
    assert run.requests == []


def test_no_credentials_is_an_authentication_error_before_any_io(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", az.ENDPOINT)
    client = {"plugins": {"azure": {"default_credential": False}}}
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client=client)
    assert run.requests == []


def test_without_azure_identity_no_credentials_fail_before_any_io(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("liter_llm_azure")
    try:
        import azure.identity  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("azure-identity is installed")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", az.ENDPOINT)
    with pytest.raises(AuthenticationError, match="azure-identity"):
        run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client={})
    assert run.requests == []


def test_per_deployment_override_goes_to_its_own_resource_with_its_own_key(run: Any, az: Any) -> None:
    plugins = {
        "azure": {
            "deployments": {
                "eu-chat": {
                    "endpoint": "http://127.0.0.1:9/eu-resource",
                    "api_key": "eu-key-0123456789",
                    "api_version": "2024-06-01",
                    "name": "gpt-4o-eu",
                },
                "v1-chat": {"endpoint": "http://127.0.0.1:9/other/openai/v1"},
            }
        }
    }
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "plugins": plugins}
    run(ok_chat(az), "chat", model="azure/eu-chat", messages=MESSAGES, client=client)
    request = run.request
    assert (
        str(request.url)
        == "http://127.0.0.1:9/eu-resource/openai/deployments/gpt-4o-eu/chat/completions?api-version=2024-06-01"
    )
    assert request.headers["api-key"] == "eu-key-0123456789"
    # a deployment on another resource without a key of its own never gets the main resource's key
    client["plugins"]["azure"]["default_credential"] = False
    with pytest.raises(AuthenticationError):
        run(ok_chat(az), "chat", model="azure/v1-chat", messages=MESSAGES, client=client)
    assert len(run.requests) == 1
    # the main resource still serves the other deployments
    run(ok_chat(az), "chat", model="azure/main", messages=MESSAGES, client=client)
    assert str(run.request.url).startswith(f"{az.ENDPOINT}/openai/deployments/main/")
    assert run.request.headers["api-key"] == az.KEY


def test_an_unknown_deployment_setting_is_refused(run: Any, az: Any) -> None:
    plugins = {"azure": {"deployments": {"d": {"base_modle": "gpt-4o"}}}}
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "plugins": plugins}
    with pytest.raises(BadRequestError, match="base_modle"):
        run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client=client)


def test_overrides_from_liter_llm_toml(tmp_path: Any, az: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "liter-llm.toml"
    config.write_text(
        f"""
model_hint = "azure"
base_url = "{az.ENDPOINT}"
api_key = "${{MAIN_KEY}}"

[plugins.azure]
api_version = "2024-10-21"

[plugins.azure.deployments.eu-chat]
endpoint = "http://127.0.0.1:9/eu"
api_key = "${{EU_KEY}}"
api_style = "v1"
"""
    )
    monkeypatch.setenv("MAIN_KEY", "main-key-0123456789")
    monkeypatch.setenv("EU_KEY", "eu-key-0123456789")
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        requests.append(request)
        return httpx.Response(200, json=az.load("chat_completion.json"))

    with liter_llm.create_client_from_file(config, transport=httpx.MockTransport(handler)) as client:
        client.chat(model="azure/eu-chat", messages=MESSAGES)
        client.chat(model="azure/main-chat", messages=MESSAGES)
    assert str(requests[0].url) == "http://127.0.0.1:9/eu/openai/v1/chat/completions"
    assert requests[0].headers["api-key"] == "eu-key-0123456789"
    assert json.loads(requests[0].content)["model"] == "eu-chat"
    assert str(requests[1].url) == f"{az.ENDPOINT}/openai/deployments/main-chat/chat/completions?api-version=2024-10-21"
    assert requests[1].headers["api-key"] == "main-key-0123456789"


def _ok(body: Any, content: bytes | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(200, content=content, headers={"content-type": "audio/mpeg"})
        return httpx.Response(200, json=body)

    return handler


FILE = {
    "id": "file-abc123",
    "object": "file",
    "bytes": 120000,
    "created_at": 1677610602,
    "filename": "batch.jsonl",
    "purpose": "batch",
}
BATCH = {
    "id": "batch_abc123",
    "object": "batch",
    "endpoint": "/chat/completions",
    "input_file_id": "file-abc123",
    "completion_window": "24h",
    "status": "validating",
    "created_at": 1711471533,
}

CASES = [
    (
        "embed",
        {"model": "azure/emb", "input": "hi"},
        {
            "object": "list",
            "data": [{"object": "embedding", "embedding": [0.1], "index": 0}],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
        "POST",
        "/openai/deployments/emb/embeddings",
        "/openai/v1/embeddings",
    ),
    (
        "image_generate",
        {"model": "azure/dalle", "prompt": "a cat"},
        {"created": 1, "data": [{"url": "http://127.0.0.1/x.png"}]},
        "POST",
        "/openai/deployments/dalle/images/generations",
        "/openai/v1/images/generations",
    ),
    (
        "speech",
        {"model": "azure/tts", "input": "hi", "voice": "alloy"},
        None,
        "POST",
        "/openai/deployments/tts/audio/speech",
        "/openai/v1/audio/speech",
    ),
    (
        "transcribe",
        {"model": "azure/whisper", "file": b"RIFF....", "filename": "a.wav"},
        {"text": "hello"},
        "POST",
        "/openai/deployments/whisper/audio/transcriptions",
        "/openai/v1/audio/transcriptions",
    ),
    (
        "list_models",
        {},
        {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "system"}]},
        "GET",
        "/openai/models",
        "/openai/v1/models",
    ),
    (
        "create_file",
        {"file": b"{}\n", "filename": "batch.jsonl", "purpose": "batch"},
        FILE,
        "POST",
        "/openai/files",
        "/openai/v1/files",
    ),
    (
        "retrieve_file",
        {"file_id": "file-abc123"},
        FILE,
        "GET",
        "/openai/files/file-abc123",
        "/openai/v1/files/file-abc123",
    ),
    (
        "file_content",
        {"file_id": "file-abc123"},
        None,
        "GET",
        "/openai/files/file-abc123/content",
        "/openai/v1/files/file-abc123/content",
    ),
    ("list_files", {}, {"object": "list", "data": [FILE]}, "GET", "/openai/files", "/openai/v1/files"),
    (
        "delete_file",
        {"file_id": "file-abc123"},
        {"id": "file-abc123", "object": "file", "deleted": True},
        "DELETE",
        "/openai/files/file-abc123",
        "/openai/v1/files/file-abc123",
    ),
    (
        "create_batch",
        {"input_file_id": "file-abc123", "endpoint": "/chat/completions", "completion_window": "24h"},
        BATCH,
        "POST",
        "/openai/batches",
        "/openai/v1/batches",
    ),
    (
        "retrieve_batch",
        {"batch_id": "batch_abc123"},
        BATCH,
        "GET",
        "/openai/batches/batch_abc123",
        "/openai/v1/batches/batch_abc123",
    ),
    (
        "list_batches",
        {},
        {"object": "list", "data": [BATCH], "first_id": "batch_abc123", "last_id": "batch_abc123", "has_more": False},
        "GET",
        "/openai/batches",
        "/openai/v1/batches",
    ),
    (
        "cancel_batch",
        {"batch_id": "batch_abc123"},
        {**BATCH, "status": "cancelling"},
        "POST",
        "/openai/batches/batch_abc123/cancel",
        "/openai/v1/batches/batch_abc123/cancel",
    ),
    (
        "create_response",
        {"model": "azure/resp", "input": "hi"},
        {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4o", "output": []},
        "POST",
        "/openai/responses",
        "/openai/v1/responses",
    ),
]


@pytest.mark.parametrize("style", ["classic", "v1"])
@pytest.mark.parametrize(
    ("method", "arguments", "body", "verb", "classic_path", "v1_path"), CASES, ids=[c[0] for c in CASES]
)
def test_every_endpoint_in_both_styles(
    run: Any,
    az: Any,
    style: str,
    method: str,
    arguments: dict[str, Any],
    body: Any,
    verb: str,
    classic_path: str,
    v1_path: str,
) -> None:
    client = {
        "api_key": az.KEY,
        "model_hint": "azure",
        "base_url": az.ENDPOINT,
        "plugins": {"azure": {"api_style": style}},
    }
    # the classic style serves the Responses API from a preview api-version on (test_azure_responses.py)
    version = "2025-04-01-preview" if method == "create_response" else "2024-10-21"
    if style == "classic" and method == "create_response":
        client["plugins"]["azure"]["api_version"] = version
    kwargs = dict(arguments)
    if method in ("retrieve_file", "delete_file", "retrieve_batch", "cancel_batch", "file_content"):
        run(_ok(body, b"{}\n" if method == "file_content" else None), method, *kwargs.values(), client=client)
    elif method in ("list_models", "list_files", "list_batches"):
        run(_ok(body), method, client=client)
    else:
        run(_ok(body, b"ID3audio" if method in ("speech", "file_content") else None), method, client=client, **kwargs)
    request = run.request
    assert request.method == verb
    assert request.url.path == "/res" + (classic_path if style == "classic" else v1_path)
    if style == "classic":
        assert request.url.params["api-version"] == version
    else:
        assert "api-version" not in request.url.params
    assert request.headers["api-key"] == az.KEY


@pytest.mark.parametrize("method", ["moderate", "rerank"])
def test_what_azure_does_not_serve_is_refused_before_any_io(run: Any, az: Any, method: str) -> None:
    arguments: dict[str, Any] = {"model": "azure/d", "input": "hi"}
    if method == "rerank":
        arguments = {"model": "azure/d", "query": "q", "documents": ["a"]}
    with pytest.raises(EndpointNotSupportedError):
        run(_ok({}), method, **arguments)
    assert run.requests == []


def test_the_configured_endpoint_beats_the_environment(run: Any, az: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9/env-resource")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key-0123456789")
    client = {"plugins": {"azure": {"endpoint": "http://127.0.0.1:9/configured/openai"}}}
    run(ok_chat(az), "chat", model="azure/d", messages=MESSAGES, client=client)
    assert str(run.request.url).startswith("http://127.0.0.1:9/configured/openai/deployments/d/chat/completions?")
    assert run.request.headers["api-key"] == "env-key-0123456789"


def test_router_targets_on_two_resources_each_get_their_own_endpoint_and_key(run: Any, az: Any) -> None:
    """A ``models`` alias over two Azure resources: each target's base URL and key, never the client's key."""
    failing_then_ok = iter([httpx.Response(503, json={"error": {"message": "busy"}})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(failing_then_ok, None) or httpx.Response(200, json=az.load("chat_completion.json"))

    models = [
        {
            "name": "fast",
            "strategy": "round-robin",
            "targets": [
                {"model": "azure/east", "api_key": "east-key-0123456789", "base_url": "http://127.0.0.1:9/east"},
                {"model": "azure/west", "api_key": "west-key-0123456789", "base_url": "http://127.0.0.1:9/west"},
            ],
        }
    ]
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "models": models}
    run(handler, "chat", model="fast", messages=MESSAGES, client=client)
    sent = [(str(r.url).split("?")[0], r.headers["api-key"]) for r in run.requests]
    assert sent == [
        ("http://127.0.0.1:9/east/openai/deployments/east/chat/completions", "east-key-0123456789"),
        ("http://127.0.0.1:9/west/openai/deployments/west/chat/completions", "west-key-0123456789"),
    ]


def test_a_router_target_on_another_resource_without_a_key_never_gets_the_clients_key(run: Any, az: Any) -> None:
    models = [{"name": "fast", "targets": [{"model": "azure/east", "base_url": "http://127.0.0.1:9/east"}]}]
    client = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "models": models}
    with pytest.raises(AuthenticationError):
        run(ok_chat(az), "chat", model="fast", messages=MESSAGES, client=client)
    assert run.requests == []
