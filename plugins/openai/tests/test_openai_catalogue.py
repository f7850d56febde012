"""The OpenAI-compatible catalogue and the local servers: every row routes to its base URL with its auth."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai_testutil import KEY, MODES, Recorder, call, sse

import liter_llm
import liter_llm_openai
from liter_llm.errors import AuthenticationError, EndpointNotSupportedError
from liter_llm.providers import ALL_ENDPOINTS
from liter_llm.registry import get_registry

PLUGIN_DIR = Path(liter_llm_openai.__file__).resolve().parents[2]
ROWS: list[dict[str, Any]] = liter_llm_openai.load_catalogue()
EXPLICIT = {"openai"} | {name for name, *_ in liter_llm_openai.LOCAL_SERVERS}
CHAT = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}


@pytest.fixture
def clean_env() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/chat/completions"):
        return httpx.Response(200, json=CHAT)
    if path.endswith("/embeddings"):
        return httpx.Response(200, json={"object": "list", "data": [{"embedding": [1.0], "index": 0}], "model": "m"})
    if path.endswith("/images/generations"):
        return httpx.Response(200, json={"created": 1, "data": [{"url": "https://x.invalid/i.png"}]})
    if path.endswith("/audio/speech"):
        return httpx.Response(200, content=b"ID3audio")
    if path.endswith("/rerank"):
        return httpx.Response(200, json={"results": [{"index": 0, "relevance_score": 0.5}]})
    if path.endswith("/ocr"):
        return httpx.Response(200, json={"pages": [{"index": 0, "markdown": "# doc"}]})
    return httpx.Response(404, json={"error": {"message": f"unexpected {path}"}})


def _probe(row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The cheapest call the row supports: (method, endpoint path, arguments)."""
    model = f"{row['name']}/some-model"
    endpoints = set(row["endpoints"])
    if "chat" in endpoints:
        return "chat", "/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if "embed" in endpoints:
        return "embed", "/embeddings", {"model": model, "input": "hi"}
    if "image" in endpoints:
        return "image_generate", "/images/generations", {"model": model, "prompt": "p"}
    if "speech" in endpoints:
        return "speech", "/audio/speech", {"model": model, "input": "hi", "voice": "v"}
    if "rerank" in endpoints:
        return "rerank", "/rerank", {"model": model, "query": "q", "documents": ["a"]}
    if "ocr" in endpoints:
        return (
            "ocr",
            "/ocr",
            {"model": model, "document": {"type": "document_url", "url": "https://x.invalid"}},
        )
    raise AssertionError(f"{row['name']}: no endpoint to probe")


CATALOGUE_ROWS = [row for row in ROWS if row["name"] not in EXPLICIT]


def test_catalogue_shape_and_credit() -> None:
    data = json.loads((PLUGIN_DIR / "src" / "liter_llm_openai" / "catalogue.json").read_text())
    assert "litellm" in data["$comment"]
    assert "MIT" in data["$comment"]
    assert "providers.json" in data["$comment"]
    names = [row["name"] for row in ROWS]
    assert len(names) == len(set(names)) >= 85
    # search APIs are not OpenAI-compatible: liter-llm-search serves them natively
    assert not [row["name"] for row in ROWS if "search" in row["endpoints"]]
    assert not {"brave", "tavily", "exa_ai", "serper", "duckduckgo"} & set(names)
    for expected in (
        "groq",
        "together_ai",
        "fireworks_ai",
        "deepseek",
        "perplexity",
        "openrouter",
        "xai",
        "deepinfra",
        "cerebras",
    ):
        assert expected in names
    # Mistral is served by its own plugin (liter-llm-mistral), not by a catalogue row
    assert "mistral" not in names
    for row in ROWS:
        assert row["base_url"].startswith(("http://", "https://")), row
        assert row["auth"] in {"bearer", "none"}, row
        assert set(row["endpoints"]) <= ALL_ENDPOINTS, row
        assert all("/" not in prefix for prefix in row["model_prefixes"]), row


@pytest.mark.parametrize("row", CATALOGUE_ROWS, ids=[row["name"] for row in CATALOGUE_ROWS])
def test_every_catalogue_row_routes_to_its_base_url_with_its_auth(row: dict[str, Any], clean_env: None) -> None:
    name = row["name"]
    spec = get_registry().get(name)
    assert spec is not None
    if spec.plugin is not None or spec.distribution != "liter-llm-openai":
        pytest.skip(f"{name} is served by {spec.distribution}, which overrides the catalogue row")
    os.environ.pop(spec.base_url_variable, None)
    if row["api_key_env"]:
        os.environ[row["api_key_env"]] = KEY
    if not row["endpoints"]:
        rec = Recorder(_answer)
        with pytest.raises(EndpointNotSupportedError):
            call(
                "sync",
                rec,
                "chat",
                model=f"{name}/m",
                messages=[{"role": "user", "content": "hi"}],
                client={"api_key": None},
            )
        assert rec.requests == []
        return
    method, path, kwargs = _probe(row)
    rec = Recorder(_answer)
    call("sync", rec, method, client={"api_key": None}, **kwargs)
    request = rec.last
    assert str(request.url) == row["base_url"].rstrip("/") + path
    if row["auth"] == "bearer" and row["api_key_env"]:
        assert request.headers["authorization"] == f"Bearer {KEY}"
    else:
        assert "authorization" not in request.headers
    if request.headers.get("content-type") == "application/json":
        body = json.loads(request.content)
        assert body["model"] == "some-model"
    assert spec.param_mappings == row.get("param_mappings", {})
    assert spec.requires_api_key == (row["auth"] == "bearer" and bool(row["api_key_env"]))


def test_catalogue_rows_route_through_the_async_client_too(clean_env: None) -> None:
    registry = get_registry()
    rows = [
        row
        for row in CATALOGUE_ROWS
        if "chat" in row["endpoints"]
        and row["api_key_env"]
        and getattr(registry.get(row["name"]), "distribution", None) == "liter-llm-openai"
    ]
    assert len(rows) > 60

    async def main() -> list[httpx.Request]:
        rec = Recorder(_answer)
        async with liter_llm.create_async_client(transport=httpx.MockTransport(rec), max_retries=0) as client:
            for row in rows:
                os.environ[row["api_key_env"]] = f"key-{row['name']}"
                await client.chat(model=f"{row['name']}/m", messages=[{"role": "user", "content": "hi"}])
        return rec.requests

    requests = asyncio.run(main())
    assert len(requests) == len(rows)
    for row, request in zip(rows, requests, strict=False):
        assert str(request.url) == row["base_url"].rstrip("/") + "/chat/completions"
        assert request.headers["authorization"] == f"Bearer key-{row['name']}"


@pytest.mark.parametrize("mode", MODES)
def test_missing_key_fails_before_io_naming_the_variable(mode: str, clean_env: None) -> None:
    os.environ.pop("GROQ_API_KEY", None)
    rec = Recorder(_answer)
    with pytest.raises(AuthenticationError, match="GROQ_API_KEY"):
        call(
            mode,
            rec,
            "chat",
            model="groq/llama-3.3-70b",
            messages=[{"role": "user", "content": "hi"}],
            client={"api_key": None},
        )
    assert rec.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_bare_catalogue_prefix_routes(mode: str, clean_env: None) -> None:
    os.environ["DEEPSEEK_API_KEY"] = KEY
    rec = Recorder(_answer)
    call(
        mode, rec, "chat", model="deepseek-chat", messages=[{"role": "user", "content": "hi"}], client={"api_key": None}
    )
    assert str(rec.last.url) == "https://api.deepseek.com/beta/chat/completions"
    assert json.loads(rec.last.content)["model"] == "deepseek-chat"


@pytest.mark.parametrize("mode", MODES)
def test_param_mappings_rename_on_the_wire(mode: str, clean_env: None) -> None:
    rows = [row for row in CATALOGUE_ROWS if row.get("param_mappings")]
    assert {row["name"] for row in rows} >= {"chutes", "poe", "sarvam"}
    os.environ["CHUTES_API_KEY"] = KEY
    rec = Recorder(_answer)
    call(
        mode,
        rec,
        "chat",
        model="chutes/deepseek-ai/DeepSeek-V3",
        messages=[{"role": "user", "content": "hi"}],
        max_completion_tokens=64,
        client={"api_key": None},
    )
    body = json.loads(rec.last.content)
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body
    assert body["model"] == "deepseek-ai/DeepSeek-V3"


@pytest.mark.parametrize("mode", MODES)
def test_base_url_environment_override_for_a_catalogue_row(mode: str, clean_env: None) -> None:
    os.environ["GROQ_API_KEY"] = KEY
    os.environ["GROQ_BASE_URL"] = "http://127.0.0.1:9/groq/v1/"
    rec = Recorder(_answer)
    call(mode, rec, "chat", model="groq/llama", messages=[{"role": "user", "content": "hi"}], client={"api_key": None})
    assert str(rec.last.url) == "http://127.0.0.1:9/groq/v1/chat/completions"


# -- local servers ------------------------------------------------------------------------------------

LOCAL = [
    ("ollama", "http://localhost:11434/v1", "OLLAMA_BASE_URL"),
    ("lm_studio", "http://localhost:1234/v1", "LM_STUDIO_BASE_URL"),
    ("vllm", "http://localhost:8000/v1", "VLLM_BASE_URL"),
    ("hosted_vllm", "http://localhost:8000/v1", "HOSTED_VLLM_BASE_URL"),
    ("llamacpp", "http://localhost:8080/v1", "LLAMACPP_BASE_URL"),
    ("llamafile", "http://localhost:8080/v1", "LLAMAFILE_BASE_URL"),
    ("localai", "http://localhost:8080/v1", "LOCALAI_BASE_URL"),
]


@pytest.mark.parametrize(("name", "default", "variable"), LOCAL)
def test_local_server_defaults_beat_the_catalogue(name: str, default: str, variable: str) -> None:
    spec = get_registry().get(name)
    assert spec is not None
    assert spec.base_url == default
    assert spec.base_url_variable == variable
    assert spec.requires_api_key is False
    assert {"chat", "models"} <= spec.endpoints


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "default", "variable"), LOCAL)
def test_local_server_env_override_and_no_key(
    mode: str, name: str, default: str, variable: str, clean_env: None
) -> None:
    for key_var in ("OLLAMA_API_KEY", "LM_STUDIO_API_KEY", "VLLM_API_KEY", "HOSTED_VLLM_API_KEY", "LOCALAI_API_KEY"):
        os.environ.pop(key_var, None)
    os.environ[variable] = f"http://127.0.0.1:9/{name}/v1"
    rec = Recorder(
        lambda r: (
            sse(
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}],
                }
            )
            if json.loads(r.content).get("stream")
            else httpx.Response(200, json=CHAT)
        )
    )
    answer = call(
        mode,
        rec,
        "chat",
        model=f"{name}/llama3.2",
        messages=[{"role": "user", "content": "hi"}],
        client={"api_key": None},
    )
    assert answer.choices[0].message.content == "ok"
    assert str(rec.last.url) == f"http://127.0.0.1:9/{name}/v1/chat/completions"
    assert "authorization" not in rec.last.headers
    assert json.loads(rec.last.content)["model"] == "llama3.2"


@pytest.mark.parametrize("mode", MODES)
def test_local_server_via_base_url_and_model_hint(mode: str, clean_env: None) -> None:
    os.environ["OLLAMA_BASE_URL"] = "http://127.0.0.1:9/ignored"
    rec = Recorder(_answer)
    call(
        mode,
        rec,
        "chat",
        model="llama3.2",
        messages=[{"role": "user", "content": "hi"}],
        client={"api_key": None, "base_url": "http://127.0.0.1:9/mine/v1", "model_hint": "ollama"},
    )
    assert str(rec.last.url) == "http://127.0.0.1:9/mine/v1/chat/completions"
    assert json.loads(rec.last.content)["model"] == "llama3.2"


@pytest.mark.parametrize("mode", MODES)
def test_local_server_sends_a_key_when_one_is_given(mode: str, clean_env: None) -> None:
    os.environ["VLLM_BASE_URL"] = "http://127.0.0.1:9/v1"
    os.environ["VLLM_API_KEY"] = "vllm-secret"
    rec = Recorder(_answer)
    call(mode, rec, "embed", model="vllm/bge", input="x", client={"api_key": None})
    assert rec.last.headers["authorization"] == "Bearer vllm-secret"
    assert str(rec.last.url) == "http://127.0.0.1:9/v1/embeddings"


# -- registration -------------------------------------------------------------------------------------


def test_import_is_cheap_and_the_catalogue_is_loaded_at_registration() -> None:
    code = (
        "import sys, liter_llm_openai\n"
        # httpx comes with liter_llm itself (issue #16: paid at import, not on the first call)
        "print('liter_llm.client' in sys.modules, 'liter_llm.streaming' in sys.modules)\n"
        "specs = []\n"
        "liter_llm_openai.register_providers(specs.append)\n"
        "print(len(specs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    first, count = out.stdout.split("\n")[:2]
    assert first == "False False", "importing the plugin pulled in the client or its streams"
    assert int(count) == 1 + len(LOCAL) + len(CATALOGUE_ROWS)


def test_explicit_definitions_win_over_catalogue_rows() -> None:
    rows = [
        {
            "name": "ollama",
            "display_name": "Ollama",
            "base_url": "http://localhost:11434",
            "auth": "none",
            "api_key_env": None,
            "endpoints": ["chat"],
            "model_prefixes": [],
        },
        {
            "name": "openai",
            "display_name": "OpenAI",
            "base_url": "https://elsewhere.invalid",
            "auth": "bearer",
            "api_key_env": "X",
            "endpoints": ["chat"],
            "model_prefixes": ["1024-"],
        },
        {
            "name": "newco",
            "display_name": "NewCo",
            "base_url": "https://api.newco.invalid/v1",
            "auth": "bearer",
            "api_key_env": "NEWCO_API_KEY",
            "endpoints": ["chat", "models"],
            "model_prefixes": ["newco-"],
            "param_mappings": {"max_completion_tokens": "max_tokens"},
        },
    ]
    specs = {spec.name: spec for spec in liter_llm_openai.all_specs(rows)}
    assert specs["ollama"].base_url == "http://localhost:11434/v1"
    assert specs["openai"].base_url == "https://api.openai.com/v1"
    assert "1024-" not in specs["openai"].model_prefixes
    newco = specs["newco"]
    assert newco.api_key_env == "NEWCO_API_KEY"
    assert newco.model_prefixes == ("newco-",)
    assert newco.param_mappings == {"max_completion_tokens": "max_tokens"}
    assert newco.endpoints == {"chat", "models"}


def test_generator_script(tmp_path: Path) -> None:
    registry = {
        "providers": [
            {
                "name": "alpha",
                "display_name": "Alpha",
                "base_url": "https://alpha.invalid/v1",
                "auth": {"type": "bearer", "env_var": "ALPHA_KEY"},
                "endpoints": ["chat", "embedding", "audio", "batch", "moderation", "completion"],
                "model_prefixes": ["alpha/", "alpha/big-", "alpha-", "gpt-", "text-"],
                "param_mappings": {"max_completion_tokens": "max_tokens"},
            },
            {
                "name": "beta",
                "display_name": "Beta",
                "base_url": "http://localhost:1/v1",
                "auth": {"type": "none"},
                "endpoints": ["rerank", "search", "ocr", "image"],
            },
            {"name": "seeker", "display_name": "Seeker", "base_url": "https://seeker.invalid", "endpoints": ["search"]},
            {"name": "gamma", "display_name": "Gamma", "base_url": "https://gamma.invalid", "endpoints": ["chat"]},
            {"name": "nourl", "display_name": "No URL", "endpoints": ["chat"]},
            {"name": "cohere", "display_name": "Cohere", "base_url": "https://api.cohere.ai/v1", "endpoints": ["chat"]},
            {"name": "cohere_chat", "display_name": "Cohere Chat", "base_url": "https://api.cohere.ai/v2"},
        ],
        "complex_providers": ["gamma"],
    }
    source = tmp_path / "providers.json"
    source.write_text(json.dumps(registry))
    output = tmp_path / "catalogue.json"
    script = PLUGIN_DIR / "scripts" / "generate_catalogue.py"
    subprocess.run(
        [sys.executable, str(script), str(source), "-o", str(output)], check=True, capture_output=True, timeout=60
    )
    data = json.loads(output.read_text())
    assert "litellm" in data["$comment"]
    assert data["providers"] == [
        {
            "name": "alpha",
            "display_name": "Alpha",
            "base_url": "https://alpha.invalid/v1",
            "auth": "bearer",
            "api_key_env": "ALPHA_KEY",
            "endpoints": ["batches", "chat", "embed", "files", "models", "moderate", "speech", "transcribe"],
            "model_prefixes": ["alpha-"],
            "param_mappings": {"max_completion_tokens": "max_tokens"},
        },
        {
            "name": "beta",
            "display_name": "Beta",
            "base_url": "http://localhost:1/v1",
            "auth": "none",
            "api_key_env": None,
            "endpoints": ["image", "ocr", "rerank"],
            "model_prefixes": [],
        },
    ]
