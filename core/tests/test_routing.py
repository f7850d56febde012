"""Routing, base URLs, custom providers, auth header formats and API keys, through both clients."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm import hookimpl
from liter_llm._plugins import get_registry
from liter_llm.errors import AuthenticationError, BadRequestError, EndpointNotSupportedError
from liter_llm.providers import ProviderSpec
from liter_llm.testing import RecordingTransport, openai_chat_body, sse_body
from liter_llm.types import AuthHeaderFormat, CustomProviderConfig

USER = S.USER


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "FAKE_API_KEY",
        "FAKE_BASE_URL",
        "FAKELOCAL_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ROUTEPROTO_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def custom() -> Iterator[list[str]]:
    """Names of custom providers a test registers; all are removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        liter_llm.unregister_custom_provider(name)


def ok() -> RecordingTransport:
    return RecordingTransport(lambda request: httpx.Response(200, json=openai_chat_body("ok")))


def sent_model(request: httpx.Request) -> Any:
    return json.loads(request.content)["model"]


# ---------------------------------------------------------------------------
# The routing order
# ---------------------------------------------------------------------------


def test_provider_prefix_routes_and_is_stripped_on_the_wire(make: Any) -> None:
    transport = ok()
    make(api_key="k", transport=transport).chat(model="fake/some-model", messages=USER)
    (request,) = transport.requests
    assert str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert sent_model(request) == "some-model"
    assert request.headers["authorization"] == "Bearer k"


def test_bare_prefix_routes_and_keeps_the_model(make: Any) -> None:
    transport = ok()
    make(api_key="k", transport=transport).chat(model="fake-large", messages=USER)
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/v1/chat/completions"
    assert sent_model(transport.requests[0]) == "fake-large"


def test_a_real_bare_prefix_claude_routes_to_anthropic(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if get_registry().get("anthropic") is None:
        pytest.skip("the anthropic plugin is not installed")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    transport = RecordingTransport(lambda r: httpx.Response(400, json={"error": {"message": "stop here"}}))
    with pytest.raises(BadRequestError):
        make(transport=transport, max_retries=0).chat(model="claude-x-1", messages=USER)
    assert str(transport.requests[0].url).startswith("http://127.0.0.1:9/anthropic/")
    assert sent_model(transport.requests[0]) == "claude-x-1"


def test_custom_providers_come_first(make: Any, custom: list[str]) -> None:
    liter_llm.register_custom_provider(
        {"name": "acme", "base_url": "http://127.0.0.1:9/acme/", "model_prefixes": ["fake-", "fake/sp"]}
    )
    custom.append("acme")
    transport = ok()
    api = make(api_key="k", transport=transport)
    api.chat(model="fake-large", messages=USER)  # a bare prefix that the built-in fake also claims
    api.chat(model="fake/sp-1", messages=USER)  # a custom prefix beats the fake/ provider prefix
    api.chat(model="acme/tiny", messages=USER)  # the custom provider's own name/ prefix is stripped
    api.chat(model="fake/other", messages=USER)  # no custom prefix: the fake/ provider
    urls = [str(r.url) for r in transport.requests]
    assert urls == [
        "http://127.0.0.1:9/acme/chat/completions",
        "http://127.0.0.1:9/acme/chat/completions",
        "http://127.0.0.1:9/acme/chat/completions",
        "http://127.0.0.1:9/v1/chat/completions",
    ]
    assert [sent_model(r) for r in transport.requests] == ["fake-large", "fake/sp-1", "tiny", "other"]
    assert liter_llm.unregister_custom_provider("acme") is True
    assert liter_llm.unregister_custom_provider("acme") is False
    api.chat(model="fake-large", messages=USER)
    assert str(transport.requests[-1].url) == "http://127.0.0.1:9/v1/chat/completions"


def test_model_hint_routes_models_without_a_prefix(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = ok()
    api = make(transport=transport, model_hint="fakelocal")
    api.chat(model="plain-model", messages=USER)
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/local/v1/chat/completions"
    assert sent_model(transport.requests[0]) == "plain-model"
    assert "authorization" not in transport.requests[0].headers
    # a prefixed model still goes to its own provider, with that provider's own key
    monkeypatch.setenv("FAKE_API_KEY", "fake-env-key")
    keyed = make(transport=transport, model_hint="fakelocal", api_key="k")
    keyed.chat(model="fake/m", messages=USER)
    assert str(transport.requests[-1].url) == "http://127.0.0.1:9/v1/chat/completions"
    assert transport.requests[-1].headers["authorization"] == "Bearer fake-env-key"


def test_an_unknown_model_hint_is_refused(make: Any) -> None:
    with pytest.raises(BadRequestError, match="no-such-provider"):
        make(model_hint="no-such-provider")


def test_the_default_provider_is_openai(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if get_registry().get("openai") is None:
        pytest.skip("the openai plugin is not installed")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/openai/v1/")
    transport = ok()
    make(api_key="k", model_hint=None, transport=transport).chat(model="some-unheard-of-model", messages=USER)
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/openai/v1/chat/completions"
    assert sent_model(transport.requests[0]) == "some-unheard-of-model"


def test_provider_base_url_environment_variable_overrides_the_default(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BASE_URL", "http://127.0.0.1:9/from-env/")
    transport = ok()
    make(api_key="k", transport=transport).chat(model="fake/m", messages=USER)
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/from-env/chat/completions"


# ---------------------------------------------------------------------------
# base_url: with model_hint, that provider at another address; without, a gateway
# ---------------------------------------------------------------------------


class RouteProto:
    """A protocol provider with its own request shape."""

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name="routeproto",
                base_url="http://127.0.0.1:9/proto-default",
                requires_api_key=False,
                plugin=RouteProtoHooks(),
            )
        )


class RouteProtoHooks:
    @hookimpl
    def build_request(self, call: Any) -> httpx.Request:
        return httpx.Request("POST", call.base_url + "/generate", json={"name": call.model})


@pytest.fixture(scope="module")
def routeproto() -> Iterator[None]:
    registry = get_registry()
    assert registry.add_plugin(RouteProto(), name="core-tests-routeproto") is not None
    yield
    registry.remove_plugin("core-tests-routeproto")


def test_base_url_with_model_hint_uses_that_providers_protocol_there(make: Any, routeproto: None) -> None:
    transport = ok()
    api = make(transport=transport, base_url="http://127.0.0.1:9/elsewhere/", model_hint="routeproto")
    api.chat(model="big", messages=USER)
    api.chat(model="routeproto/small", messages=USER)
    assert [str(r.url) for r in transport.requests] == ["http://127.0.0.1:9/elsewhere/generate"] * 2
    assert [json.loads(r.content) for r in transport.requests] == [{"name": "big"}, {"name": "small"}]
    # another provider named by prefix keeps its own address
    api.chat(model="fakelocal/m", messages=USER)
    assert str(transport.requests[-1].url) == "http://127.0.0.1:9/local/v1/chat/completions"

    transport2 = ok()
    make(api_key="k", transport=transport2, base_url="http://127.0.0.1:9/fk", model_hint="fake").chat(
        model="m", messages=USER
    )
    assert str(transport2.requests[0].url) == "http://127.0.0.1:9/fk/chat/completions"
    assert transport2.requests[0].headers["authorization"] == "Bearer k"


MODEL = "anthropic/claude-x"
GATEWAY_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], Any, str, str]] = [
    # method, args, kwargs, answer, HTTP method, path
    ("chat", (), {"model": MODEL, "messages": USER}, openai_chat_body(), "POST", "/chat/completions"),
    (
        "embed",
        (),
        {"model": MODEL, "input": "x"},
        {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}], "model": "m"},
        "POST",
        "/embeddings",
    ),
    ("list_models", (), {}, {"object": "list", "data": [{"id": "m", "object": "model"}]}, "GET", "/models"),
    (
        "image_generate",
        (),
        {"model": MODEL, "prompt": "cat"},
        {"created": 1, "data": [{"url": "u"}]},
        "POST",
        "/images/generations",
    ),
    ("speech", (), {"model": MODEL, "input": "hi", "voice": "v"}, b"RIFF", "POST", "/audio/speech"),
    ("transcribe", (), {"model": MODEL, "file": b"audio"}, {"text": "said"}, "POST", "/audio/transcriptions"),
    (
        "moderate",
        (),
        {"model": MODEL, "input": "x"},
        {"id": "mod", "model": "m", "results": []},
        "POST",
        "/moderations",
    ),
    (
        "rerank",
        (),
        {"model": MODEL, "query": "q", "documents": ["a", "b"]},
        {"results": [{"index": 1, "relevance_score": 0.9}]},
        "POST",
        "/rerank",
    ),
    ("search", (), {"model": MODEL, "query": "q"}, {"results": []}, "POST", "/search"),
    (
        "ocr",
        (),
        {"model": MODEL, "document": {"type": "document_url", "url": "http://127.0.0.1:9/d.pdf"}},
        {"pages": []},
        "POST",
        "/ocr",
    ),
    ("create_file", (), {"file": b"data", "purpose": "batch"}, {"id": "file-1"}, "POST", "/files"),
    ("retrieve_file", ("file-1",), {}, {"id": "file-1"}, "GET", "/files/file-1"),
    ("delete_file", ("file-1",), {}, {"id": "file-1", "deleted": True}, "DELETE", "/files/file-1"),
    ("list_files", (), {}, {"object": "list", "data": []}, "GET", "/files"),
    ("file_content", ("file-1",), {}, b"raw", "GET", "/files/file-1/content"),
    (
        "create_batch",
        (),
        {"input_file_id": "file-1", "endpoint": "/v1/chat/completions"},
        {"id": "b1"},
        "POST",
        "/batches",
    ),
    ("retrieve_batch", ("b1",), {}, {"id": "b1"}, "GET", "/batches/b1"),
    ("list_batches", (), {}, {"object": "list", "data": []}, "GET", "/batches"),
    ("cancel_batch", ("b1",), {}, {"id": "b1"}, "POST", "/batches/b1/cancel"),
    ("create_response", (), {"model": MODEL, "input": "hi"}, {"id": "r1"}, "POST", "/responses"),
    ("retrieve_response", ("r1",), {}, {"id": "r1"}, "GET", "/responses/r1"),
    ("cancel_response", ("r1",), {}, {"id": "r1"}, "POST", "/responses/r1/cancel"),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "answer", "verb", "path"), GATEWAY_CASES, ids=[case[0] for case in GATEWAY_CASES]
)
def test_base_url_without_model_hint_is_a_gateway_for_every_endpoint(
    make: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], answer: Any, verb: str, path: str
) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/octet-stream"})
        return httpx.Response(200, json=answer)

    transport = RecordingTransport(reply)
    api = make(api_key="gw-key", transport=transport, base_url="http://127.0.0.1:9/gw/v1/", max_retries=0)
    result = api.call(method, *args, **kwargs)
    assert result is not None
    (request,) = transport.requests
    assert request.method == verb
    assert str(request.url).split("?")[0] == "http://127.0.0.1:9/gw/v1" + path
    assert request.headers["authorization"] == "Bearer gw-key"
    if "model" in kwargs and method != "transcribe":
        assert sent_model(request) == MODEL  # the model string goes unchanged
    if method == "transcribe":
        assert MODEL.encode() in request.content


def test_gateway_streams_too_with_the_model_unchanged(make: Any) -> None:
    body = sse_body(liter_llm.testing.openai_chunk("a"), liter_llm.testing.openai_chunk(finish="stop"))
    transport = RecordingTransport(
        lambda r: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    )
    api = make(transport=transport, base_url="http://127.0.0.1:9/gw")
    chunks = api.collect(model="fake/m", messages=USER)
    assert chunks[0].choices[0].delta.content == "a"
    assert str(transport.requests[0].url) == "http://127.0.0.1:9/gw/chat/completions"
    assert sent_model(transport.requests[0]) == "fake/m"


# ---------------------------------------------------------------------------
# Custom providers: validation, replacement, thread safety
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"name": "", "base_url": "http://127.0.0.1:9", "model_prefixes": ["x-"]}, "name"),
        ({"name": "   ", "base_url": "http://127.0.0.1:9", "model_prefixes": ["x-"]}, "name"),
        ({"name": "a/b", "base_url": "http://127.0.0.1:9", "model_prefixes": ["x-"]}, "name"),
        ({"name": "p", "base_url": "", "model_prefixes": ["x-"]}, "base_url"),
        ({"name": "p", "base_url": "ftp://127.0.0.1/x", "model_prefixes": ["x-"]}, "base_url"),
        ({"name": "p", "base_url": "127.0.0.1:9", "model_prefixes": ["x-"]}, "base_url"),
        ({"name": "p", "base_url": "http://127.0.0.1:9", "model_prefixes": []}, "model_prefixes"),
        ({"name": "p", "base_url": "http://127.0.0.1:9", "model_prefixes": [""]}, "model_prefixes"),
    ],
)
def test_register_custom_provider_validates(config: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequestError, match=field):
        liter_llm.register_custom_provider(config)
    with pytest.raises(BadRequestError, match=field):
        liter_llm.register_custom_provider(CustomProviderConfig.from_dict(config))
    assert get_registry().get("p") is None


def test_register_custom_provider_without_prefixes_field_is_refused() -> None:
    with pytest.raises(BadRequestError, match="model_prefixes"):
        liter_llm.register_custom_provider(CustomProviderConfig(name="p", base_url="http://127.0.0.1:9"))


def test_registering_the_same_name_replaces_it(make: Any, custom: list[str]) -> None:
    custom.append("swap")
    liter_llm.register_custom_provider(
        {"name": "swap", "base_url": "http://127.0.0.1:9/one", "model_prefixes": ["sw-"]}
    )
    transport = ok()
    api = make(transport=transport)
    api.chat(model="sw-1", messages=USER)
    liter_llm.register_custom_provider(
        {"name": "swap", "base_url": "http://127.0.0.1:9/two", "model_prefixes": ["sx-"]}
    )
    api.chat(model="swap/sw-1", messages=USER)
    assert [str(r.url) for r in transport.requests] == [
        "http://127.0.0.1:9/one/chat/completions",
        "http://127.0.0.1:9/two/chat/completions",
    ]
    # the old prefix is gone with the old definition: sw- now falls to the model_hint-less default
    assert get_registry().resolve("sw-1")[0] is None
    assert get_registry().resolve("sx-1")[0].name == "swap"  # type: ignore[union-attr]


def test_custom_providers_are_thread_safe(make: Any, custom: list[str]) -> None:
    """Writers register and unregister while calls resolve models; every call routes cleanly."""
    names = [f"race{i}" for i in range(4)]
    custom.extend(names)
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            while not stop.is_set():
                liter_llm.register_custom_provider(
                    {"name": name, "base_url": f"http://127.0.0.1:9/{name}", "model_prefixes": ["fake-race"]}
                )
                liter_llm.unregister_custom_provider(name)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def resolver() -> None:
        registry = get_registry()
        try:
            while not stop.is_set():
                spec, _ = registry.resolve("fake-race-1")
                assert spec is not None
        except BaseException as exc:
            failures.append(exc)

    transport = ok()
    api = make(api_key="k", transport=transport)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=writer, args=(n,)) for n in names]
    threads += [threading.Thread(target=resolver) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(150):
            api.chat(model="fake-race-1", messages=USER)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(old)
    assert failures == []
    allowed = {"http://127.0.0.1:9/v1/chat/completions"} | {f"http://127.0.0.1:9/{n}/chat/completions" for n in names}
    assert {str(r.url) for r in transport.requests} <= allowed
    assert len(transport.requests) == 150


# ---------------------------------------------------------------------------
# Auth header formats, endpoints, keys
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        (AuthHeaderFormat.BEARER, "authorization", "Bearer the-key"),
        ("bearer", "authorization", "Bearer the-key"),
        ("BEARER", "authorization", "Bearer the-key"),
        (AuthHeaderFormat.api_key("X-Api-Key"), "x-api-key", "the-key"),
        ({"api_key": "X-Api-Key"}, "x-api-key", "the-key"),
        ("X-Custom-Key", "x-custom-key", "the-key"),
        (AuthHeaderFormat.NONE, None, None),
        ("none", None, None),
    ],
)
def test_auth_header_formats_reach_the_wire(
    make: Any, custom: list[str], auth: Any, header: str | None, value: str | None
) -> None:
    custom.append("authp")
    liter_llm.register_custom_provider(
        CustomProviderConfig(name="authp", base_url="http://127.0.0.1:9/a", auth_header=auth, model_prefixes=["ap-"])
        if isinstance(auth, AuthHeaderFormat)
        else {"name": "authp", "base_url": "http://127.0.0.1:9/a", "auth_header": auth, "model_prefixes": ["ap-"]}
    )
    transport = ok()
    make(api_key="the-key", transport=transport).chat(model="ap-1", messages=USER)
    (request,) = transport.requests
    if header is None:
        assert "the-key" not in json.dumps(dict(request.headers))
        assert "authorization" not in request.headers
    else:
        assert request.headers[header] == value
        if header != "authorization":
            assert "authorization" not in request.headers
    assert "the-key" not in str(request.url)


def test_an_unsupported_endpoint_fails_before_any_io(make: Any) -> None:
    transport = ok()
    api = make(transport=transport, model_hint="fakelocal")
    with pytest.raises(EndpointNotSupportedError) as info:
        api.embed(model="fakelocal/m", input="x")
    assert info.value.provider == "fakelocal"
    assert info.value.endpoint == "embed"
    with pytest.raises(EndpointNotSupportedError) as info:
        api.list_models()
    assert info.value.endpoint == "list_models"
    with pytest.raises(EndpointNotSupportedError):
        api.create_file(file=b"x", purpose="batch")
    assert transport.requests == []


def test_api_key_order_client_then_environment(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "env-key")
    transport = ok()
    make(api_key="client-key", transport=transport).chat(model="fake/m", messages=USER)
    make(transport=transport).chat(model="fake/m", messages=USER)
    assert [r.headers["authorization"] for r in transport.requests] == ["Bearer client-key", "Bearer env-key"]


def test_a_missing_key_fails_before_any_io_but_local_providers_need_none(make: Any) -> None:
    transport = ok()
    api = make(transport=transport)
    with pytest.raises(AuthenticationError, match="FAKE_API_KEY") as info:
        api.chat(model="fake/m", messages=USER)
    assert info.value.provider == "fake"
    with pytest.raises(AuthenticationError):
        api.stream(model="fake/m", messages=USER)
    assert transport.requests == []
    api.chat(model="fakelocal/m", messages=USER)
    assert len(transport.requests) == 1
    assert "authorization" not in transport.requests[0].headers
