"""Microsoft Entra ID: client credentials (cached, refreshed, single-flight, bounded), token providers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import liter_llm
from liter_llm.clock import ManualClock
from liter_llm.errors import AuthenticationError, LiterLlmTimeoutError, ServiceUnavailableError

MESSAGES = [{"role": "user", "content": "Hello"}]
AUTHORITY = "http://127.0.0.1:9/login"
SECRET = "client-secret-value-0123456789"


class Entra:
    """A fake Entra token endpoint and Azure resource behind one MockTransport handler."""

    def __init__(self, az: Any, *, token_status: int = 200, token_body: Any = None) -> None:
        self.az = az
        self.token_status = token_status
        self.token_body = token_body if token_body is not None else az.load("entra_token.json")
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.gate: threading.Event | None = None
        self.lock = threading.Lock()
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/v2.0/token"):
            with self.lock:
                self.token_requests.append(request)
                self.issued += 1
                number = self.issued
            if self.gate is not None:
                self.gate.wait(5)
            body = dict(self.token_body)
            if body.get("access_token"):
                body["access_token"] = f"token-{number}"
            return httpx.Response(self.token_status, json=body)
        with self.lock:
            self.api_requests.append(request)
        return httpx.Response(200, json=self.az.load("chat_completion.json"))


@pytest.fixture
def entra_env(monkeypatch: pytest.MonkeyPatch, az: Any) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", az.ENDPOINT)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", AUTHORITY)
    monkeypatch.setenv("AZURE_TENANT_ID", "tenant-1")
    monkeypatch.setenv("AZURE_CLIENT_ID", "client-1")


def unique_secret(request: pytest.FixtureRequest) -> str:
    """A secret per test (and mode), so that the process-wide token cache starts empty."""
    return f"{SECRET}-{request.node.name}"


def test_client_credentials_token_is_fetched_and_sent_as_bearer(
    run: Any, az: Any, entra_env: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    secret = unique_secret(request)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", secret)
    entra = Entra(az)
    run(entra, "chat", model="azure/d", messages=MESSAGES, client={})
    token_request = entra.token_requests[0]
    assert str(token_request.url) == f"{AUTHORITY}/tenant-1/oauth2/v2.0/token"
    form = parse_qs(token_request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-1"],
        "client_secret": [secret],
        "scope": ["https://cognitiveservices.azure.com/.default"],
    }
    api = entra.api_requests[0]
    assert api.headers["authorization"] == "Bearer token-1"
    assert "api-key" not in api.headers
    assert secret not in str(api.url)
    assert secret not in str(api.headers)


def test_the_token_is_cached_and_refreshed_before_expiry(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest
) -> None:
    clock = ManualClock()
    entra = Entra(az)
    options = {"plugins": {"azure": {"client_secret": unique_secret(request), "clock": clock}}}
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    assert len(entra.token_requests) == 1
    assert [r.headers["authorization"] for r in entra.api_requests] == ["Bearer token-1"] * 2
    clock.advance(3599 - 300 - 1)  # still fresh: refreshed 300 s before expires_in
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    assert len(entra.token_requests) == 1
    clock.advance(2)
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    assert len(entra.token_requests) == 2
    assert entra.api_requests[-1].headers["authorization"] == "Bearer token-2"


def test_a_short_lived_token_is_refreshed_at_half_its_life(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest
) -> None:
    clock = ManualClock()
    entra = Entra(az, token_body={"token_type": "Bearer", "expires_in": 400, "access_token": "t"})
    options = {"plugins": {"azure": {"client_secret": unique_secret(request), "clock": clock}}}
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    clock.advance(199)
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    assert len(entra.token_requests) == 1
    clock.advance(2)
    run(entra, "chat", model="azure/d", messages=MESSAGES, client=options)
    assert len(entra.token_requests) == 2


def test_a_refused_secret_is_an_authentication_error_without_the_secret(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest
) -> None:
    secret = unique_secret(request)
    entra = Entra(az, token_status=401, token_body=az.load("entra_error.json"))
    with pytest.raises(AuthenticationError) as info:
        run(entra, "chat", model="azure/d", messages=MESSAGES, client={"plugins": {"azure": {"client_secret": secret}}})
    assert "AADSTS7000215" in info.value.message
    assert info.value.code == "invalid_client"
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert entra.api_requests == []


@pytest.mark.parametrize("body", [{"token_type": "Bearer"}, {"access_token": ""}])
def test_a_token_answer_without_a_token_is_an_authentication_error(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest, body: Any
) -> None:
    entra = Entra(az, token_body=body)
    with pytest.raises(AuthenticationError, match="access_token"):
        run(
            entra,
            "chat",
            model="azure/d",
            messages=MESSAGES,
            client={"plugins": {"azure": {"client_secret": unique_secret(request)}}},
        )
    assert entra.api_requests == []


def test_an_entra_outage_is_service_unavailable(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest
) -> None:
    entra = Entra(az, token_status=503, token_body={"error": "temporarily_unavailable"})
    with pytest.raises(ServiceUnavailableError):
        run(
            entra,
            "chat",
            model="azure/d",
            messages=MESSAGES,
            client={"plugins": {"azure": {"client_secret": unique_secret(request)}}},
        )


def test_concurrent_sync_calls_fetch_one_token(az: Any, entra_env: None, request: pytest.FixtureRequest) -> None:
    entra = Entra(az)
    entra.gate = threading.Event()
    options = {
        "max_retries": 0,
        "transport": httpx.MockTransport(entra),
        "plugins": {"azure": {"client_secret": unique_secret(request)}},
    }
    errors: list[BaseException] = []
    with liter_llm.create_client(**options) as client:

        def call() -> None:
            try:
                client.chat(model="azure/d", messages=MESSAGES)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        entra.gate.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert len(entra.token_requests) == 1
    assert len(entra.api_requests) == 6
    assert {r.headers["authorization"] for r in entra.api_requests} == {"Bearer token-1"}


def test_concurrent_async_calls_fetch_one_token(az: Any, entra_env: None, request: pytest.FixtureRequest) -> None:
    entra = Entra(az)
    options = {
        "max_retries": 0,
        "transport": httpx.MockTransport(entra),
        "plugins": {"azure": {"client_secret": unique_secret(request)}},
    }

    async def main() -> None:
        async with liter_llm.create_async_client(**options) as client:
            await asyncio.gather(*(client.chat(model="azure/d", messages=MESSAGES) for _ in range(6)))

    asyncio.run(main())
    assert len(entra.token_requests) == 1
    assert len(entra.api_requests) == 6


def test_waiting_for_a_token_is_bounded_by_the_call_deadline(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest
) -> None:
    from liter_llm_azure._entra import token_cache

    secret = unique_secret(request)
    cache = token_cache(
        authority=AUTHORITY,
        tenant_id="tenant-1",
        client_id="client-1",
        secret=secret,
        scope="https://cognitiveservices.azure.com/.default",
        clock=None,
    )
    entra = Entra(az)
    if run.mode == "async":
        _async_wait(entra, secret, cache)
    else:
        cache.lock.acquire()  # another thread is fetching the token and never finishes
        try:
            with pytest.raises(LiterLlmTimeoutError):
                run(
                    entra,
                    "chat",
                    model="azure/d",
                    messages=MESSAGES,
                    client={"timeout_secs": 0.5, "plugins": {"azure": {"client_secret": secret}}},
                )
        finally:
            cache.lock.release()
    assert entra.api_requests == []


def _async_wait(entra: Entra, secret: str, cache: Any) -> None:
    """On the async client the wait is on the loop's lock: hold that one while the call waits."""

    async def main() -> None:
        lock = cache.async_lock()
        await lock.acquire()
        try:
            options = {"max_retries": 0, "timeout_secs": 0.5, "transport": httpx.MockTransport(entra)}
            options["plugins"] = {"azure": {"client_secret": secret}}
            async with liter_llm.create_async_client(**options) as client:
                with pytest.raises(LiterLlmTimeoutError):
                    await client.chat(model="azure/d", messages=MESSAGES)
        finally:
            lock.release()

    asyncio.run(main())


def test_a_sync_token_provider(run: Any, az: Any, entra_env: None) -> None:
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return "provided-token"

    entra = Entra(az)
    run(entra, "chat", model="azure/d", messages=MESSAGES, client={"plugins": {"azure": {"token_provider": provider}}})
    assert entra.api_requests[0].headers["authorization"] == "Bearer provided-token"
    assert entra.token_requests == []
    assert calls == [1]


def test_a_token_provider_beats_client_credentials_but_a_key_beats_both(
    run: Any, az: Any, entra_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    entra = Entra(az)
    plugins = {"azure": {"token_provider": lambda: "provided-token"}}
    run(entra, "chat", model="azure/d", messages=MESSAGES, client={"plugins": plugins})
    assert entra.api_requests[-1].headers["authorization"] == "Bearer provided-token"
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "the-key-0123456789")
    run(entra, "chat", model="azure/d", messages=MESSAGES, client={"plugins": plugins})
    assert entra.api_requests[-1].headers["api-key"] == "the-key-0123456789"
    assert "authorization" not in entra.api_requests[-1].headers
    assert entra.token_requests == []


def test_an_async_token_provider_on_the_async_client(az: Any, entra_env: None) -> None:
    async def provider() -> str:
        await asyncio.sleep(0)
        return "async-token"

    entra = Entra(az)

    async def main() -> None:
        options = {
            "max_retries": 0,
            "transport": httpx.MockTransport(entra),
            "plugins": {"azure": {"token_provider": provider}},
        }
        async with liter_llm.create_async_client(**options) as client:
            await client.chat(model="azure/d", messages=MESSAGES)

    asyncio.run(main())
    assert entra.api_requests[0].headers["authorization"] == "Bearer async-token"


def test_a_failing_token_provider_is_an_authentication_error(run: Any, az: Any, entra_env: None) -> None:
    def provider() -> str:
        raise RuntimeError("no token today")

    entra = Entra(az)
    with pytest.raises(AuthenticationError, match=r"token provider failed \(RuntimeError\)"):
        run(
            entra,
            "chat",
            model="azure/d",
            messages=MESSAGES,
            client={"plugins": {"azure": {"token_provider": provider}}},
        )
    assert entra.api_requests == []


@pytest.mark.parametrize("value", [None, 42, ""])
def test_a_token_provider_returning_no_token_is_an_authentication_error(
    run: Any, az: Any, entra_env: None, value: Any
) -> None:
    entra = Entra(az)
    with pytest.raises(AuthenticationError, match="token"):
        run(
            entra,
            "chat",
            model="azure/d",
            messages=MESSAGES,
            client={"plugins": {"azure": {"token_provider": lambda: value}}},
        )
    assert entra.api_requests == []


def test_an_access_token_object_is_accepted(run: Any, az: Any, entra_env: None) -> None:
    class AccessToken:
        token = "object-token"
        expires_on = 0

    entra = Entra(az)
    run(
        entra,
        "chat",
        model="azure/d",
        messages=MESSAGES,
        client={"plugins": {"azure": {"token_provider": AccessToken}}},
    )
    assert entra.api_requests[0].headers["authorization"] == "Bearer object-token"


def test_default_azure_credential_is_used_when_installed_and_nothing_else_is_configured(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("azure.identity")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", az.ENDPOINT)
    # nothing for DefaultAzureCredential to find on this machine: every credential of its chain is unavailable
    for name in ("AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no az / azd / pwsh to ask
    entra = Entra(az)
    with pytest.raises(AuthenticationError, match="DefaultAzureCredential"):
        run(entra, "chat", model="azure/d", messages=MESSAGES, client={})
    assert entra.api_requests == []


def test_a_dropped_token_request_releases_the_fetch_and_is_retried(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest
) -> None:
    entra = Entra(az)
    drops = [1]

    def handler(r: httpx.Request) -> httpx.Response:
        if r.url.path.endswith("/token") and drops:
            drops.pop()
            raise httpx.ConnectError("connection refused", request=r)
        return entra(r)

    options = {"max_retries": 1, "plugins": {"azure": {"client_secret": unique_secret(request)}}}
    run(handler, "chat", model="azure/d", messages=MESSAGES, client=options)
    assert len(entra.token_requests) == 1
    assert entra.api_requests[0].headers["authorization"] == "Bearer token-1"
    # nothing was left holding the fetch: the next call uses the cached token at once
    run(handler, "chat", model="azure/d", messages=MESSAGES, client={**options, "timeout_secs": 5})
    assert len(entra.token_requests) == 1


def test_default_azure_credential_signs_in_with_a_managed_identity(
    run: Any, az: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DefaultAzureCredential, configured for an App Service managed identity served on 127.0.0.1."""
    pytest.importorskip("azure.identity")
    import http.server
    import json as _json
    import time as _time

    seen: list[str] = []

    class Identity(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = _json.dumps(
                {
                    "access_token": "managed-identity-token",
                    "expires_on": str(int(_time.time()) + 3600),
                    "resource": "https://cognitiveservices.azure.com",
                    "token_type": "Bearer",
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Identity)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", az.ENDPOINT)
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{server.server_port}/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", "identity-header-value")
        entra = Entra(az)
        run(entra, "chat", model="azure/d", messages=MESSAGES, client={})
    finally:
        server.shutdown()
        server.server_close()
    assert entra.api_requests[0].headers["authorization"] == "Bearer managed-identity-token"
    assert seen
    assert "cognitiveservices.azure.com" in seen[0]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_hanging_token_endpoint_is_bounded_by_the_call_deadline(
    az: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, mode: str
) -> None:
    """A real token endpoint on 127.0.0.1 that does not answer: the call ends at its deadline, nothing is sent."""
    import http.server

    release = threading.Event()
    seen: list[str] = []

    class Hanging(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            release.wait(30)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"http://127.0.0.1:{server.server_port}/res")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"http://127.0.0.1:{server.server_port}/login")
    monkeypatch.setenv("AZURE_TENANT_ID", "tenant-1")
    monkeypatch.setenv("AZURE_CLIENT_ID", "client-1")
    options = {"max_retries": 0, "timeout_secs": 0.5, "plugins": {"azure": {"client_secret": unique_secret(request)}}}
    try:
        with pytest.raises(LiterLlmTimeoutError):
            _chat(mode, options)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert seen == ["/login/tenant-1/oauth2/v2.0/token"]


def _chat(mode: str, options: dict[str, Any]) -> None:
    """One chat call through the real (network) transport of the sync or the async client."""
    if mode == "sync":
        with liter_llm.create_client(**options) as client:
            client.chat(model="azure/d", messages=MESSAGES)
        return

    async def main() -> None:
        async with liter_llm.create_async_client(**options) as client:
            await client.chat(model="azure/d", messages=MESSAGES)

    asyncio.run(main())


def test_neither_the_key_nor_the_secret_nor_the_token_reach_the_logs(
    run: Any, az: Any, entra_env: None, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    secret = unique_secret(request)
    entra = Entra(az, token_status=401, token_body=az.load("entra_error.json"))
    with pytest.raises(AuthenticationError):
        run(entra, "chat", model="azure/d", messages=MESSAGES, client={"plugins": {"azure": {"client_secret": secret}}})
    entra = Entra(az)
    run(
        entra,
        "chat",
        model="azure/d",
        messages=MESSAGES,
        client={"plugins": {"azure": {"client_secret": secret + "-2"}}},
    )
    with pytest.raises(AuthenticationError):
        run(
            lambda r: httpx.Response(401, json={"error": {"code": "401", "message": "Access denied"}}),
            "chat",
            model="azure/d",
            messages=MESSAGES,
        )
    assert caplog.records
    assert secret not in caplog.text
    assert "token-1" not in caplog.text
    assert az.KEY not in caplog.text
