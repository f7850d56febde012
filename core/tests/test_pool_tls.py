"""TLS through the httpcore transports (the sync client's, and the async client's under trio).

The transports build their TLS context on the first handshake, not with the client (loading the
certificate store is most of the cost of making a client of an ``http://`` server).  These tests
hold that the context used is still httpx's: ``SSL_CERT_FILE`` is honoured, the server's
certificate and host name are verified, a server signed by another authority is refused, and
ALPN offers ``http/1.1``.  The server is a TLS socket on 127.0.0.1 with a certificate authority
made for the test.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest
from cryptography import x509  # a test dependency (the dev group and tests_core install it)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import liter_llm
from liter_llm._pool_transport import AsyncDeadlineTransport, DeadlineTransport
from liter_llm.errors import LiterLlmError

USER = S.USER


def _authority(directory: Path, name: str) -> tuple[Any, Any, Path]:
    """A self-signed certificate authority: its key, its certificate and the PEM file of the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = directory / f"{name}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, pem


class Authorities:
    """A certificate authority for 127.0.0.1 (``ca_file``), a server context it signed, and another authority."""

    def __init__(self, directory: Path) -> None:
        ca_key, ca_cert, self.ca_file = _authority(directory, "test-authority")
        _, _, self.other_ca_file = _authority(directory, "other-authority")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256())
        )
        chain = directory / "server.pem"
        chain.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_context.load_cert_chain(chain)
        self.server_context.set_alpn_protocols(["h2", "http/1.1"])


class TlsServer(S.LocalServer):
    """An HTTPS server on 127.0.0.1 answering every request with a canned chat completion."""

    def __init__(self, directory: Path) -> None:
        authorities = Authorities(directory)
        self.ca_file, self.other_ca_file = authorities.ca_file, authorities.other_ca_file
        super().__init__(tls=authorities.server_context)
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
