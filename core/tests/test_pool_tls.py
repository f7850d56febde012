"""TLS through the httpcore transports (the sync client's, and the async client's under trio).

The transports build their TLS context on the first handshake, not with the client (loading the
certificate store is most of the cost of making a client of an ``http://`` server).  These tests
hold that the context used is still httpx's: ``SSL_CERT_FILE`` is honoured, the server's
certificate and host name are verified, a server signed by another authority is refused, and
ALPN offers ``http/1.1``.  The server is a TLS socket on 127.0.0.1 with a certificate authority
made for the test (``Certificates`` in test_pipeline_support.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm._pool_transport import AsyncDeadlineTransport, DeadlineTransport
from liter_llm.errors import LiterLlmError

USER = S.USER


class TlsServer(S.LocalServer):
    """An HTTPS server on 127.0.0.1 answering every request with a canned chat completion."""

    def __init__(self, directory: Path) -> None:
        certificates = S.Certificates(directory)
        self.ca_file, self.other_ca_file = certificates.ca_file, certificates.other_ca_file
        super().__init__(tls=certificates.server_context(alpn=["h2", "http/1.1"]))
        self.script = lambda req, out: out.reply(200, S.chat_json("over tls"))


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path)
    yield server
    server.close()


def test_the_sync_client_verifies_the_server_with_the_trusted_store(tls: TlsServer, monkeypatch: Any) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    with liter_llm.create_client(api_key="k", base_url=tls.url + "/v1", max_retries=0) as client:
        for _ in range(2):
            assert client.chat(model="m", messages=USER).choices[0].message.content == "over tls"
    assert tls.alpn == ["http/1.1"]  # one connection, reused; ALPN offered http/1.1 only


def test_the_sync_client_refuses_a_server_signed_by_another_authority(tls: TlsServer, monkeypatch: Any) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.other_ca_file))
    with liter_llm.create_client(api_key="k", base_url=tls.url + "/v1", max_retries=0) as client:
        with pytest.raises(LiterLlmError) as info:
            client.chat(model="m", messages=USER)
    assert "certificate" in str(info.value.__cause__ or info.value).lower()


def test_the_sync_transport_reads_the_store_when_it_first_connects(tls: TlsServer, monkeypatch: Any) -> None:
    """The context is built on the first handshake: with ``trust_env``, from the environment of that moment."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.other_ca_file))
    with httpx.Client(transport=DeadlineTransport()) as http:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
        assert http.post(tls.url + "/v1/chat/completions", content=b"{}").status_code == 200
    with httpx.Client(transport=DeadlineTransport(trust_env=False)) as http:  # certifi's store: not our authority
        with pytest.raises(httpx.ConnectError):
            http.post(tls.url + "/v1/chat/completions", content=b"{}")


def test_the_async_pool_transport_verifies_the_server_and_refuses_another(tls: TlsServer, monkeypatch: Any) -> None:
    async def call() -> int:
        async with httpx.AsyncClient(transport=AsyncDeadlineTransport()) as http:
            return (await http.post(tls.url + "/v1/chat/completions", content=b"{}")).status_code

    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    assert asyncio.run(call()) == 200
    assert tls.alpn == ["http/1.1"]
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.other_ca_file))
    with pytest.raises(httpx.ConnectError):
        asyncio.run(call())


def test_under_trio_the_async_client_verifies_the_server_with_the_trusted_store(
    tls: TlsServer, monkeypatch: Any
) -> None:
    import trio  # a test dependency: under trio the async client sends through AsyncDeadlineTransport

    async def scenario(ca: Path) -> str | None:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        client = liter_llm.create_async_client(api_key="k", base_url=tls.url + "/v1", max_retries=0)
        try:
            return (await client.chat(model="m", messages=USER)).choices[0].message.content
        finally:
            await client.aclose()

    assert trio.run(scenario, tls.ca_file) == "over tls"
    with pytest.raises(LiterLlmError):
        trio.run(scenario, tls.other_ca_file)
