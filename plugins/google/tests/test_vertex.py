"""Vertex AI: URLs, service-account auth (signed JWT -> token endpoint), chat, streams, embeddings, Claude."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import liter_llm
from liter_llm import errors
from liter_llm.testing import ProviderConformance, Reply
from liter_llm.types import FinishReason

TOKEN_URI = "http://127.0.0.1:9/token"
API = "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1"
ASK = [{"role": "user", "content": "Hello"}]
GEMINI_OK = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Hi there"}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
    "modelVersion": "gemini-2.0-flash-001",
    "createTime": "2025-01-01T00:00:00Z",
    "responseId": "vtx-1",
}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Google:
    """A local stand-in for the token endpoint and the Vertex API, verifying the JWT signature."""

    def __init__(self, key: rsa.RSAPrivateKey, *, expires_in: int = 3599, token_status: int = 200) -> None:
        self.email = f"sa-{uuid.uuid4().hex[:8]}@proj-1.iam.gserviceaccount.com"  # a fresh token cache per test
        self.pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public = key.public_key()
        self.expires_in = expires_in
        self.token_status = token_status
        self.tokens_issued = 0
        self.api_requests: list[httpx.Request] = []
        self.answer: Any = lambda request: httpx.Response(200, json=GEMINI_OK)

    def info(self, **extra: Any) -> dict[str, Any]:
        data = {
            "type": "service_account",
            "project_id": "proj-1",
            "private_key_id": "kid-1",
            "private_key": self.pem,
            "client_email": self.email,
            "client_id": "1234",
            "token_uri": TOKEN_URI,
        }
        data.update(extra)
        return data

    def token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        header_b64, claims_b64, signature_b64 = form["assertion"][0].split(".")
        try:
            self.public.verify(
                _b64d(signature_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        header = json.loads(_b64d(header_b64))
        claims = json.loads(_b64d(claims_b64))
        assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
        assert claims["iss"] == self.email
        assert claims["aud"] == TOKEN_URI
        assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
        assert claims["exp"] - claims["iat"] == 3600
        if self.token_status != 200:
            return httpx.Response(
                self.token_status, json={"error": "invalid_grant", "error_description": "Account disabled."}
            )
        self.tokens_issued += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"ya29.token-{self.tokens_issued}",
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            },
        )

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if str(request.url) == TOKEN_URI:
            return self.token(request)
        self.api_requests.append(request)
        response: httpx.Response = self.answer(request)
        return response


def run_both(google: Google, method: str, *args: Any, client: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
    """Run the same call on the sync and the async client (sharing the token cache, as clients do)."""
    options: dict[str, Any] = {"max_retries": 0, "transport": httpx.MockTransport(google.handler)}
    options.update(client or {})
    results = []
    with liter_llm.create_client(**options) as c:
        if method == "chat_stream":
            results.append(list(c.chat_stream(*args, **kwargs)))
        else:
            results.append(getattr(c, method)(*args, **kwargs))

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as c:
            if method == "chat_stream":
                return [chunk async for chunk in await c.chat_stream(*args, **kwargs)]
            return await getattr(c, method)(*args, **kwargs)

    results.append(asyncio.run(main()))
    return results


@pytest.fixture
def google(rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> Google:
    server = Google(rsa_key)
    monkeypatch.setenv("VERTEXAI_CREDENTIALS", json.dumps(server.info()))
    return server


# ---------------------------------------------------------------------------
# Chat over the Vertex URL with a service account
# ---------------------------------------------------------------------------


def test_chat_with_service_account(google: Google) -> None:
    results = run_both(google, "chat", model="vertex_ai/gemini-2.0-flash", messages=ASK, temperature=0.3)
    # one token for both clients and both calls: cached until shortly before expiry
    assert google.tokens_issued == 1
    assert len(google.api_requests) == 2
    for request in google.api_requests:
        assert str(request.url) == f"{API}/publishers/google/models/gemini-2.0-flash:generateContent"
        assert request.headers["authorization"] == "Bearer ya29.token-1"
        assert "x-goog-api-key" not in request.headers
        assert json.loads(request.content) == {
            "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
            "generationConfig": {"temperature": 0.3},
        }
    for response in results:
        assert response.id == "vtx-1"
        assert response.model == "gemini-2.0-flash-001"
        assert response.choices[0].message.content == "Hi there"
        assert response.choices[0].finish_reason == FinishReason.STOP
        assert response.usage.total_tokens == 5


def test_token_refreshed_near_expiry(rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    google = Google(rsa_key, expires_in=60)  # inside the refresh margin: every call needs a new one
    monkeypatch.setenv("VERTEXAI_CREDENTIALS", json.dumps(google.info()))
    run_both(google, "chat", model="vertex_ai/gemini-2.0-flash", messages=ASK)
    assert google.tokens_issued == 2
    assert [r.headers["authorization"] for r in google.api_requests] == ["Bearer ya29.token-1", "Bearer ya29.token-2"]


def test_credentials_file_global_location(google: Google, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(google.info(project_id="from-file")))
    monkeypatch.delenv("VERTEXAI_CREDENTIALS")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "global")
    run_both(google, "chat", model="vertex_ai/gemini-2.5-pro", messages=ASK)
    assert {str(r.url) for r in google.api_requests} == {
        "https://aiplatform.googleapis.com/v1/projects/from-file/locations/global/publishers/google/models/"
        "gemini-2.5-pro:generateContent"
    }


def _vertex_call(**fields: Any) -> Any:
    from liter_llm import Call
    from liter_llm.config import ClientConfig
    from liter_llm.registry import get_registry
    from liter_llm.types import ChatCompletionRequest

    spec = get_registry().get("vertex_ai")
    assert spec is not None
    request = ChatCompletionRequest.from_dict({"model": "gemini-2.0-flash", "messages": ASK})
    values: dict[str, Any] = {
        "operation": "chat",
        "provider": spec,
        "model": "gemini-2.0-flash",
        "requested_model": "vertex_ai/gemini-2.0-flash",
        "request": request,
        "base_url": spec.base_url,
        "config": ClientConfig(),
    }
    values.update(fields)
    return Call(**values)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_hooks_do_no_io_the_auth_flow_reads_the_credentials_file(
    google: Google, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, mode: str
) -> None:
    """build_request and auth never open the credentials file (it does not exist yet when they run)."""
    path = tmp_path / f"sa-{mode}.json"
    monkeypatch.delenv("VERTEXAI_CREDENTIALS")
    monkeypatch.delenv("VERTEXAI_PROJECT", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    from liter_llm.registry import new_plugin_manager

    call = _vertex_call()
    pm = new_plugin_manager()  # the provider's hooks, called through pluggy as the core calls them
    pm.register(call.provider.plugin)
    request = pm.hook.build_request(call=call)
    auth = pm.hook.auth(call=call, request=request)
    assert not path.exists()
    assert "/projects/_project_from_credentials_/" in request.url.path  # the flow fills the project in
    path.write_text(json.dumps(google.info(project_id="from-the-file")))
    transport = httpx.MockTransport(google.handler)
    if mode == "sync":
        with httpx.Client(transport=transport) as client:
            response = client.send(request, auth=auth)
    else:

        async def main() -> httpx.Response:
            async with httpx.AsyncClient(transport=transport) as client:
                return await client.send(request, auth=auth)

        response = asyncio.run(main())
    assert response.status_code == 200
    assert google.tokens_issued == 1
    (sent,) = google.api_requests
    assert str(sent.url) == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/from-the-file/locations/us-central1/"
        "publishers/google/models/gemini-2.0-flash:generateContent"
    )
    assert sent.headers["authorization"] == "Bearer ya29.token-1"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_credentials_file_without_a_project_fails_before_the_api_call(
    google: Google, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, mode: str
) -> None:
    info = google.info()
    del info["project_id"]
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    monkeypatch.delenv("VERTEXAI_CREDENTIALS")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    with pytest.raises(errors.BadRequestError, match="VERTEXAI_PROJECT"):
        _one(google, mode)
    assert google.api_requests == []
    assert google.tokens_issued == 0


def test_project_and_location_from_env(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-proj")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "ignored")
    monkeypatch.setenv("VERTEXAI_LOCATION", "europe-west4")
    run_both(google, "chat", model="vertex_ai/gemini-2.0-flash", messages=ASK)
    assert {str(r.url) for r in google.api_requests} == {
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/env-proj/locations/europe-west4/publishers/google/"
        "models/gemini-2.0-flash:generateContent"
    }


def test_base_url_variable_replaces_the_host(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_AI_BASE_URL", "http://127.0.0.1:9/vertex/v1/")
    run_both(google, "chat", model="vertex_ai/gemini-2.0-flash", messages=ASK)
    assert {str(r.url) for r in google.api_requests} == {
        "http://127.0.0.1:9/vertex/v1/projects/proj-1/locations/us-central1/publishers/google/models/"
        "gemini-2.0-flash:generateContent"
    }


def test_model_hint_with_base_url(google: Google) -> None:
    run_both(
        google,
        "chat",
        model="vertex_ai/gemini-2.0-flash",  # a bare gemini-... name routes to the Gemini API
        messages=ASK,
        client={"model_hint": "vertex_ai", "base_url": "http://127.0.0.1:9/v1"},
    )
    assert {str(r.url) for r in google.api_requests} == {
        "http://127.0.0.1:9/v1/projects/proj-1/locations/us-central1/publishers/google/models/"
        "gemini-2.0-flash:generateContent"
    }


def test_service_account_json_as_api_key(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERTEXAI_CREDENTIALS")
    run_both(
        google,
        "chat",
        model="vertex_ai/gemini-2.0-flash",
        messages=ASK,
        client={"api_key": json.dumps(google.info()), "model_hint": "vertex_ai"},
    )
    assert google.tokens_issued == 1
    assert {r.headers["authorization"] for r in google.api_requests} == {"Bearer ya29.token-1"}


def test_access_token_as_api_key(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERTEXAI_CREDENTIALS")
    monkeypatch.setenv("VERTEXAI_PROJECT", "p2")
    run_both(
        google,
        "chat",
        model="vertex_ai/gemini-2.0-flash",
        messages=ASK,
        client={"api_key": "ya29.ready", "model_hint": "vertex_ai"},
    )
    assert google.tokens_issued == 0
    assert {r.headers["authorization"] for r in google.api_requests} == {"Bearer ya29.ready"}
    assert {r.url.path.split("/")[3] for r in google.api_requests} == {"p2"}


# ---------------------------------------------------------------------------
# Failures: never the key material in messages
# ---------------------------------------------------------------------------


def _assert_no_secret(error: Exception, google: Google) -> None:
    text = str(error) + repr(error) + str(getattr(error, "body", ""))
    assert "PRIVATE KEY" not in text
    assert google.pem.splitlines()[1][:40] not in text


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_token_endpoint_refusal(rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    google = Google(rsa_key, token_status=400)
    monkeypatch.setenv("VERTEXAI_CREDENTIALS", json.dumps(google.info()))
    with pytest.raises(errors.AuthenticationError, match="invalid_grant") as info:
        _one(google, mode)
    assert google.email in info.value.message
    assert google.api_requests == []
    _assert_no_secret(info.value, google)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_bad_signature_is_refused(rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    google = Google(rsa_key)
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    google.public = other.public_key()  # the endpoint knows another key: the signature must not verify
    monkeypatch.setenv("VERTEXAI_CREDENTIALS", json.dumps(google.info()))
    with pytest.raises(errors.AuthenticationError, match="Invalid JWT Signature") as info:
        _one(google, mode)
    _assert_no_secret(info.value, google)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("body", [b"not json", b'{"token_type": "Bearer"}', b"[]"])
def test_unreadable_token_answer(google: Google, mode: str, body: bytes) -> None:
    google.token = lambda request: httpx.Response(200, content=body)  # type: ignore[method-assign]
    with pytest.raises(errors.AuthenticationError, match="access token"):
        _one(google, mode)
    assert google.api_requests == []


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "no Vertex AI credentials"),
        ({"VERTEXAI_CREDENTIALS": "{not json"}, "not valid JSON"),
        ({"VERTEXAI_CREDENTIALS": '{"type": "service_account", "client_email": "x@y"}'}, "lack private_key"),
        ({"VERTEXAI_CREDENTIALS": '{"type": "authorized_user"}'}, "only service_account"),
        ({"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/sa.json"}, "cannot be read"),
    ],
)
def test_credential_problems(
    google: Google, monkeypatch: pytest.MonkeyPatch, mode: str, env: dict[str, str], problem: str
) -> None:
    monkeypatch.delenv("VERTEXAI_CREDENTIALS")
    monkeypatch.setenv("VERTEXAI_PROJECT", "p")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.AuthenticationError, match=problem):
        _one(google, mode)
    assert google.api_requests == []
    assert google.tokens_issued == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_no_project(google: Google, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    info = google.info()
    del info["project_id"]
    monkeypatch.setenv("VERTEXAI_CREDENTIALS", json.dumps(info))
    with pytest.raises(errors.BadRequestError, match="VERTEXAI_PROJECT"):
        _one(google, mode)
    monkeypatch.setenv("VERTEXAI_PROJECT", "../../evil")
    with pytest.raises(errors.BadRequestError, match="not a valid id"):
        _one(google, mode)
    assert google.api_requests == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vertex_api_error_mapping(google: Google, mode: str) -> None:
    google.answer = lambda request: httpx.Response(
        403,
        json={
            "error": {
                "code": 403,
                "message": "Permission 'aiplatform.endpoints.predict' denied",
                "status": "PERMISSION_DENIED",
            }
        },
    )
    with pytest.raises(errors.AuthenticationError, match=r"aiplatform\.endpoints\.predict") as info:
        _one(google, mode)
    assert info.value.provider == "vertex_ai"
    assert info.value.code == "PERMISSION_DENIED"


def _one(google: Google, mode: str, method: str = "chat", **kwargs: Any) -> Any:
    kwargs = kwargs or {"model": "vertex_ai/gemini-2.0-flash", "messages": ASK}
    options = {"max_retries": 0, "transport": httpx.MockTransport(google.handler)}
    if mode == "sync":
        with liter_llm.create_client(**options) as c:
            return getattr(c, method)(**kwargs)

    async def main() -> Any:
        async with liter_llm.create_async_client(**options) as c:
            return await getattr(c, method)(**kwargs)

    return asyncio.run(main())


# ---------------------------------------------------------------------------
# Streams: the API answer is not buffered by the auth flow
# ---------------------------------------------------------------------------

EVENTS = [
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Once"}]}}]},
    {
        "candidates": [{"content": {"role": "model", "parts": [{"text": " upon"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2, "totalTokenCount": 3},
    },
]


def test_stream_with_service_account_is_incremental(google: Google) -> None:
    progress: list[str] = []

    def frames() -> Iterator[bytes]:
        for index, event in enumerate(EVENTS):
            progress.append(f"sent {index}")
            yield b"data: " + json.dumps(event).encode() + b"\n\n"

    async def aframes() -> AsyncIterator[bytes]:
        for frame in frames():
            yield frame

    google.answer = lambda request: httpx.Response(200, content=frames(), headers={"content-type": "text/event-stream"})
    options = {"max_retries": 0, "transport": httpx.MockTransport(google.handler)}
    with liter_llm.create_client(**options) as c:
        stream = c.chat_stream(model="vertex_ai/gemini-2.0-flash", messages=ASK)
        first = next(stream)
        assert first.choices[0].delta.content == "Once"
        assert progress == ["sent 0"]  # the second event was not read before the first chunk came out
        rest = list(stream)
    assert rest[-1].choices[0].finish_reason == FinishReason.STOP
    request = google.api_requests[0]
    assert request.url.path.endswith("/publishers/google/models/gemini-2.0-flash:streamGenerateContent")
    assert request.url.params["alt"] == "sse"
    assert request.headers["authorization"] == "Bearer ya29.token-1"

    progress.clear()
    google.answer = lambda request: httpx.Response(
        200, content=aframes(), headers={"content-type": "text/event-stream"}
    )

    async def main() -> None:
        async with liter_llm.create_async_client(**options) as c:
            stream = await c.chat_stream(model="vertex_ai/gemini-2.0-flash", messages=ASK)
            first = await stream.__anext__()
            assert first.choices[0].delta.content == "Once"
            assert progress == ["sent 0"]
            rest = [chunk async for chunk in stream]
            assert rest[-1].usage.total_tokens == 3

    asyncio.run(main())
    assert google.tokens_issued == 1


def test_truncated_vertex_stream(google: Google) -> None:
    body = b"data: " + json.dumps(EVENTS[0]).encode() + b"\n\n"
    google.answer = lambda request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    with pytest.raises(errors.StreamingError) as info:
        run_both_stream_sync(google)
    assert [c.choices[0].delta.content for c in info.value.chunks] == ["Once"]
    with pytest.raises(errors.StreamingError) as info:
        asyncio.run(run_stream_async(google))
    assert [c.choices[0].delta.content for c in info.value.chunks] == ["Once"]


def run_both_stream_sync(google: Google) -> list[Any]:
    with liter_llm.create_client(max_retries=0, transport=httpx.MockTransport(google.handler)) as c:
        return list(c.chat_stream(model="vertex_ai/gemini-2.0-flash", messages=ASK))


async def run_stream_async(google: Google) -> list[Any]:
    async with liter_llm.create_async_client(max_retries=0, transport=httpx.MockTransport(google.handler)) as c:
        return [chunk async for chunk in await c.chat_stream(model="vertex_ai/gemini-2.0-flash", messages=ASK)]


# ---------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------


def test_documented_vertex_embeddings(google: Google, g: Any) -> None:
    google.answer = lambda request: httpx.Response(200, json=g.load("vertex_predict_embeddings.json"))
    results = run_both(google, "embed", model="vertex_ai/text-embedding-005", input=["a b c", "d e"], dimensions=3)
    for request in google.api_requests:
        assert str(request.url) == f"{API}/publishers/google/models/text-embedding-005:predict"
        assert json.loads(request.content) == {
            "instances": [{"content": "a b c"}, {"content": "d e"}],
            "parameters": {"outputDimensionality": 3},
        }
    for response in results:
        assert [e.embedding for e in response.data] == [[0.0058, 0.0115, -0.0404], [0.021, -0.004, 0.017]]
        assert response.usage.prompt_tokens == 10
        assert response.model == "text-embedding-005"


def test_vertex_embeddings_take_extra_body(google: Google, g: Any) -> None:
    # the predict body's parameters (autoTruncate beside outputDimensionality) and other top-level keys
    google.answer = lambda request: httpx.Response(200, json=g.load("vertex_predict_embeddings.json"))
    run_both(
        google,
        "embed",
        model="vertex_ai/text-embedding-005",
        input=["a b c", "d e"],
        dimensions=3,
        extra_body={"parameters": {"autoTruncate": False}, "labels": {"team": "search"}},
    )
    assert len(google.api_requests) == 2
    for request in google.api_requests:
        assert json.loads(request.content) == {
            "instances": [{"content": "a b c"}, {"content": "d e"}],
            "parameters": {"outputDimensionality": 3, "autoTruncate": False},
            "labels": {"team": "search"},
        }


# ---------------------------------------------------------------------------
# Claude on Vertex (the Anthropic plugin's translation)
# ---------------------------------------------------------------------------

CLAUDE = "claude-sonnet-4@20250514"


def test_claude_raw_predict(google: Google) -> None:
    pytest.importorskip("liter_llm_anthropic")
    google.answer = lambda request: httpx.Response(
        200,
        json={
            "id": "msg_vrtx_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": "Hello from Claude"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 4},
        },
    )
    results = run_both(
        google,
        "chat",
        model=f"vertex_ai/{CLAUDE}",
        messages=[{"role": "system", "content": "Be kind."}, *ASK],
        max_tokens=100,
    )
    for request in google.api_requests:
        assert str(request.url) == f"{API}/publishers/anthropic/models/{CLAUDE}:rawPredict"
        assert request.headers["authorization"] == "Bearer ya29.token-1"
        body = json.loads(request.content)
        assert "model" not in body
        assert body["anthropic_version"] == "vertex-2023-10-16"
        assert body["max_tokens"] == 100
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}] or body[
            "messages"
        ] == [{"role": "user", "content": "Hello"}]
        assert "Be kind." in json.dumps(body["system"])
    for response in results:
        assert response.choices[0].message.content == "Hello from Claude"
        assert response.choices[0].finish_reason == FinishReason.STOP
        assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (10, 4)


def test_claude_stream_raw_predict(google: Google) -> None:
    pytest.importorskip("liter_llm_anthropic")
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4",
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 7, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 3},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    body = b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)
    google.answer = lambda request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    results = run_both(google, "chat_stream", model=f"vertex_ai/{CLAUDE}", messages=ASK)
    for request in google.api_requests:
        assert str(request.url) == f"{API}/publishers/anthropic/models/{CLAUDE}:streamRawPredict"
        body_sent = json.loads(request.content)
        assert body_sent["stream"] is True
        assert body_sent["anthropic_version"] == "vertex-2023-10-16"
        assert "model" not in body_sent
    for chunks in results:
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi!"


def test_claude_error_in_anthropic_shape(google: Google) -> None:
    pytest.importorskip("liter_llm_anthropic")
    google.answer = lambda request: httpx.Response(
        529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    for mode in ("sync", "async"):
        with pytest.raises(errors.ServiceUnavailableError, match="Overloaded"):
            _one(google, mode, model=f"vertex_ai/{CLAUDE}", messages=ASK)


def test_claude_without_the_anthropic_plugin(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "liter_llm_anthropic", None)  # as if it were not installed
    for mode in ("sync", "async"):
        with pytest.raises(errors.BadRequestError, match=r"pip install 'liter-llm\[anthropic\]'"):
            _one(google, mode, model=f"vertex_ai/{CLAUDE}", messages=ASK)
    assert google.api_requests == []


# ---------------------------------------------------------------------------
# The conformance kit (access token passed as the client's api_key)
# ---------------------------------------------------------------------------


_GEMINI_REASONS = {
    FinishReason.STOP: "STOP",
    FinishReason.LENGTH: "MAX_TOKENS",
    FinishReason.TOOL_CALLS: "STOP",  # Gemini says STOP; the functionCall parts make it tool_calls
    FinishReason.CONTENT_FILTER: "SAFETY",
}


def gemini_reply(reply: Reply) -> dict[str, Any]:
    """The native Gemini answer of a conformance-kit reply."""
    parts: list[dict[str, Any]] = [{"text": reply.text}] if reply.text is not None else []
    parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in reply.tool_calls]
    used = reply.usage
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": _GEMINI_REASONS[reply.finish_reason]}
        ],
        "usageMetadata": {
            "promptTokenCount": used.prompt_tokens,
            "candidatesTokenCount": used.completion_tokens,
            "totalTokenCount": used.prompt_tokens + used.completion_tokens,
        },
    }


def gemini_stream(reply: Reply, complete: bool) -> bytes:
    """The native Gemini SSE stream of a conformance-kit reply (cut before the finish when not complete)."""
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": p}]}, "index": 0}]} for p in reply.parts
    ]
    if complete:
        final = gemini_reply(Reply(text="", finish_reason=reply.finish_reason, usage=reply.usage))
        events[-1]["candidates"][0]["finishReason"] = final["candidates"][0]["finishReason"]
        events[-1]["usageMetadata"] = final["usageMetadata"]
    return b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)


class TestVertexConformance(ProviderConformance):
    provider = "vertex_ai"
    model = "vertex_ai/gemini-2.0-flash"
    key_header = "authorization"
    key_prefix = "Bearer "
    tool_call_ids = False  # Gemini's functionCall parts carry no id

    @pytest.fixture(autouse=True)
    def _project(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("VERTEXAI_PROJECT", "conformance")

    def chat_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        assert "/projects/conformance/locations/us-central1/publishers/google/models/" in request.url.path
        assert request.url.path.endswith("gemini-2.0-flash:generateContent")
        return httpx.Response(200, json=gemini_reply(reply))

    def stream_reply(self, request: httpx.Request, reply: Reply, complete: bool) -> httpx.Response:
        assert request.url.path.endswith(":streamGenerateContent")
        return httpx.Response(
            200, content=gemini_stream(reply, complete), headers={"content-type": "text/event-stream"}
        )

    def error_reply(self, request: httpx.Request, status: int, message: str, retry_after: int | None) -> httpx.Response:
        names = {
            400: "INVALID_ARGUMENT",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED",
            500: "INTERNAL",
            503: "UNAVAILABLE",
        }
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        body = {"error": {"code": status, "message": message, "status": names.get(status, "UNKNOWN")}}
        return httpx.Response(status, json=body, headers=headers)


# ---------------------------------------------------------------------------
# The token request is bounded by the call's deadline
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_token_endpoint_that_never_answers_times_out_with_the_call(
    rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    import socket
    import time

    # a listening socket that is never accepted from: connections open, requests go unanswered
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        google = Google(rsa_key)
        info = google.info(token_uri=f"http://127.0.0.1:{silent.getsockname()[1]}/token")
        monkeypatch.setenv("VERTEXAI_CREDENTIALS", json.dumps(info))
        monkeypatch.setenv("VERTEX_AI_BASE_URL", "http://127.0.0.1:9/vertex/v1/")
        options: dict[str, Any] = {"timeout_secs": 1, "max_retries": 0}

        async def main() -> None:
            async with liter_llm.create_async_client(**options) as client:
                await client.chat(model="vertex_ai/gemini-2.0-flash", messages=ASK)

        async def guarded() -> None:
            try:
                await asyncio.wait_for(main(), 20)
            except errors.LiterLlmTimeoutError:  # a TimeoutError too: the one expected
                raise
            except asyncio.TimeoutError:
                pytest.fail("the token request was not bounded by the call's timeout")

        def call() -> None:
            if mode == "sync":
                with liter_llm.create_client(**options) as client:
                    client.chat(model="vertex_ai/gemini-2.0-flash", messages=ASK)
            else:
                asyncio.run(guarded())

        began = time.monotonic()
        with pytest.raises(errors.LiterLlmTimeoutError):
            call()
        assert time.monotonic() - began < 8
