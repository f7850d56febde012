"""Shared helpers for the pipeline tests (no tests here).

The pipeline test files load this module by path, because pytest runs with
``--import-mode=importlib`` and test files cannot
import each other by name.

* :class:`Api` is the sync/async parity adapter: the same method calls run
  against ``DefaultClient`` or ``AsyncDefaultClient`` (on one private event
  loop, so the async client's connection pool lives across calls).
* :class:`LocalServer` is a small scriptable HTTP/1.1 server on 127.0.0.1
  built on raw sockets: each test gives a script that writes whatever bytes it
  wants (status codes, headers, delays, drips, a dropped connection, gzip...).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

import liter_llm
from liter_llm.testing import openai_chat_body, openai_chunk

MODES = ("sync", "async")
USER = [{"role": "user", "content": "hi"}]
KEY = "sk-test-SECRET-0123456789abcdef"


# ---------------------------------------------------------------------------
# The sync/async parity adapter
# ---------------------------------------------------------------------------


class StreamView:
    """A sync view of a ChatStream or an AsyncChatStream."""

    def __init__(self, api: Api, stream: Any) -> None:
        self.api = api
        self.stream = stream

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.api.mode == "sync":
            return next(self.stream)
        try:
            return self.api.run(self.stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    @property
    def chunks(self) -> list[Any]:
        return list(self.stream.chunks)

    def response(self) -> Any:
        if self.api.mode == "sync":
            return self.stream.response()
        return self.api.run(self.stream.response())

    def close(self) -> None:
        if self.api.mode == "sync":
            self.stream.close()
        else:
            self.api.run(self.stream.aclose())

    def __enter__(self) -> StreamView:
        if self.api.mode == "sync":
            assert self.stream.__enter__() is self.stream
        else:
            assert self.api.run(self.stream.__aenter__()) is self.stream
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.api.mode == "sync":
            self.stream.__exit__(*exc)
        else:
            self.api.run(self.stream.__aexit__(*exc))


class Api:
    """Calls the same client methods on the sync or the async client."""

    def __init__(self, mode: str, **options: Any) -> None:
        if options.get("api_key") and "model_hint" not in options and "base_url" not in options:
            # the client's key goes only to the provider it was given for: these tests give it for ``fake``
            options["model_hint"] = "fake"
        self.mode = mode
        self.loop: asyncio.AbstractEventLoop | None = None
        if mode == "sync":
            self.client: Any = liter_llm.create_client(**options)
        else:
            self.loop = asyncio.new_event_loop()
            self.client = liter_llm.create_async_client(**options)
        self.closed = False

    @classmethod
    def around(cls, mode: str, client: Any) -> Api:
        """An adapter around a client made elsewhere (``create_client_from_json``...)."""
        api = cls.__new__(cls)
        api.mode = mode
        api.loop = asyncio.new_event_loop() if mode == "async" else None
        api.client = client
        api.closed = False
        return api

    def run(self, awaitable: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(awaitable)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        if self.mode == "async":
            result = self.run(result)
        return result

    def __getattr__(self, name: str) -> Any:
        """A client method (its coroutine run to the end in async mode), or a plain attribute."""
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self.client, name)
        if not callable(value):
            return value

        def method(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if self.mode == "async" and inspect.isawaitable(result):
                result = self.run(result)
            return result

        return method

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stream(self, *args: Any, **kwargs: Any) -> StreamView:
        return StreamView(self, self.call("chat_stream", *args, **kwargs))

    def collect(self, *args: Any, **kwargs: Any) -> list[Any]:
        """Open a stream, read it to the end, close it, return the chunks."""
        with self.stream(*args, **kwargs) as stream:
            return list(stream)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.mode == "sync":
            self.client.close()
        else:
            self.run(self.client.aclose())
            assert self.loop is not None
            self.loop.close()


class ApiFactory:
    """``make(**options)`` builds an :class:`Api` for the test's mode and closes it afterwards."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.made: list[Api] = []

    def __call__(self, **options: Any) -> Api:
        api = Api(self.mode, **options)
        self.made.append(api)
        return api

    def close(self) -> None:
        for api in self.made:
            with contextlib.suppress(Exception):
                api.close()


# ---------------------------------------------------------------------------
# Clients on an httpx.MockTransport (the built-in tests)
# ---------------------------------------------------------------------------

BASE = "http://127.0.0.1:9/v1"
MESSAGES = [{"role": "user", "content": "Hello"}]


class MockClients:
    """Clients of ``openai`` on an ``httpx.MockTransport``, with a test file's default options.

    ``sync(handler, **options)`` and ``async_(handler, **options)`` make a
    ``DefaultClient`` or an ``AsyncDefaultClient``; ``twin(mode, handler,
    **options)`` an :class:`Api` of either mode (a test taking the ``mode``
    fixture runs with both clients). Options given to a call replace the
    defaults of the same name.
    """

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults

    def options(self, handler: Any, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_key": "sk-test",
            "base_url": BASE,
            "model_hint": "openai",
            "transport": httpx.MockTransport(handler),
            **self.defaults,
            **options,
        }

    def sync(self, handler: Any, **options: Any) -> liter_llm.DefaultClient:
        return liter_llm.create_client(**self.options(handler, options))

    def async_(self, handler: Any, **options: Any) -> liter_llm.AsyncDefaultClient:
        return liter_llm.create_async_client(**self.options(handler, options))

    def twin(self, mode: str, handler: Any, **options: Any) -> Api:
        return Api(mode, **self.options(handler, options))


def openai_response(
    model: str, text: str = "Hi", usage: dict[str, Any] | None = None, stream: bool = False
) -> httpx.Response:
    """An OpenAI-format chat answer (or a one-chunk stream of it) from ``model``."""
    if stream:
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}],
        }
        if usage is not None:
            chunk["usage"] = usage
        return httpx.Response(
            200,
            content=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode(),
            headers={"content-type": "text/event-stream"},
        )
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    if usage is not None:
        body["usage"] = usage
    return httpx.Response(200, json=body)


class OpenAIServer:
    """A MockTransport handler speaking the OpenAI format (chat, chat streams, embeddings); keeps each request.

    ``text`` is every answer's content, with ``{n}`` replaced by the request's
    number (1 for the first); ``usage`` goes in every chat and stream answer;
    the first ``fail_first`` requests are answered 400 (``invalid_request_error``).
    Embeddings are ``[0.5, n]`` with 2 prompt tokens.
    """

    def __init__(self, text: str = "Hi", usage: dict[str, Any] | None = None, fail_first: int = 0) -> None:
        self.text = text
        self.usage = usage
        self.fail_first = fail_first
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = len(self.requests)
        if n <= self.fail_first:
            return httpx.Response(400, json={"error": {"message": "bad", "type": "invalid_request_error"}})
        body = json.loads(request.content)
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "data": [{"object": "embedding", "embedding": [0.5, float(n)], "index": 0}],
                    "model": body["model"],
                    "usage": {"prompt_tokens": 2, "total_tokens": 2},
                },
            )
        return openai_response(
            body["model"], self.text.replace("{n}", str(n)), usage=self.usage, stream=bool(body.get("stream"))
        )


# ---------------------------------------------------------------------------
# OpenAI-format bodies
# ---------------------------------------------------------------------------


def chat_json(text: str = "hi", model: str = "m") -> bytes:
    return json.dumps(openai_chat_body(text, model=model)).encode()


def chunk_event(content: str | None = None, finish: str | None = None, **delta: Any) -> bytes:
    payload = openai_chunk(content, finish=finish, **delta)
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


# ---------------------------------------------------------------------------
# A scriptable local HTTP/1.1 server
# ---------------------------------------------------------------------------


class Received:
    """One request as the server saw it."""

    def __init__(self, connection: int, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.connection = connection
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.time = time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


class Out:
    """What a script writes to: raw bytes on the client's socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """A whole answer with a Content-Length."""
        head = {"content-type": "application/json", "content-length": str(len(body))}
        head.update(headers or {})
        self.head(status, head)
        self.send(body)

    def head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def chunked_head(self, status: int = 200, content_type: str = "text/event-stream") -> None:
        self.head(status, {"content-type": content_type, "transfer-encoding": "chunked"})

    def chunk(self, data: bytes) -> bool:
        return self.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_chunks(self) -> None:
        self.send(b"0\r\n\r\n")

    def drop(self) -> None:
        """Close the connection now (mid-body if a body was started)."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


Script = Callable[[Received, Out], None]


class LocalServer:
    """An HTTP/1.1 server on 127.0.0.1 with keep-alive, answering with ``self.script``.

    With ``tls`` (a server-side context) it speaks HTTPS and notes each handshake's ALPN protocol
    in ``alpn``; a client that refuses its certificate is a connection that ends.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.tls = tls
        self.alpn: list[str | None] = []
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.requests: list[Received] = []
        self.connections = 0
        self.open_connections = 0
        self.script: Script = lambda req, out: out.reply(200, chat_json())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open_connections += 1
                number = self.connections
                self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        buffer = b""
        try:
            if self.tls is not None:  # the handshake, in this connection's thread
                sock = self.tls.wrap_socket(sock, server_side=True)
                self.alpn.append(sock.selected_alpn_protocol())
            out = Out(sock)
            while not self._stop.is_set() and not out.closed:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                received = Received(number, method, path, headers, body)
                with self._lock:
                    self.requests.append(received)
                self.script(received, out)
        except OSError:
            pass
        finally:
            with self._lock:
                self.open_connections -= 1
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


class Certificates:
    """Certificates made for one test: an authority, a server certificate it signed, another authority.

    ``ca_file`` is the authority to trust (``SSL_CERT_FILE``); ``other_ca_file`` an authority that
    did not sign the server, for the refusals; :meth:`server_context` a fresh server-side context
    holding the signed certificate for ``names`` (host names or IP addresses).  The extensions are
    those a strict verifier asks for (Python 3.13 sets ``VERIFY_X509_STRICT``): key identifiers,
    key usage, a critical ``basicConstraints``.
    """

    def __init__(self, directory: Path, names: tuple[str, ...] = ("127.0.0.1",)) -> None:
        from cryptography.hazmat.primitives import serialization  # a test dependency (dev group, tests_core)

        self.ca_file, ca_key, ca_cert = self._authority(directory, "test-authority")
        self.other_ca_file, _, _ = self._authority(directory, "other-authority")
        key, cert = self._signed(names, ca_key, ca_cert)
        self.chain_file = directory / "server.pem"
        self.chain_file.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def server_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        """A new server-side context with the signed certificate; ``alpn`` the protocols it accepts."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.chain_file)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context

    @staticmethod
    def _builder(subject: Any, issuer: Any, public_key: Any) -> Any:
        import datetime

        from cryptography import x509

        now = datetime.datetime.now(datetime.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    @classmethod
    def _authority(cls, directory: Path, name: str) -> tuple[Path, Any, Any]:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        )  # fmt: skip
        cert = (
            cls._builder(subject, subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256())
        )
        pem = directory / f"{name}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return pem, key, cert

    @classmethod
    def _signed(cls, names: tuple[str, ...], ca_key: Any, ca_cert: Any) -> tuple[Any, Any]:
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        def alt(name: str) -> Any:
            try:
                return x509.IPAddress(ipaddress.ip_address(name))
            except ValueError:
                return x509.DNSName(name)

        key = ec.generate_private_key(ec.SECP256R1())
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        )  # fmt: skip
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        cert = (
            cls._builder(subject, ca_cert.subject, key.public_key())
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([alt(name) for name in names]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        return key, cert


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; return whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def hold_open(out: Out, seconds: float = 30.0) -> bool:
    """Keep the connection open, sending nothing, until the client closes it; true if it did."""
    deadline = time.monotonic() + seconds
    out.sock.settimeout(0.05)
    try:
        while time.monotonic() < deadline:
            try:
                if not out.sock.recv(65536):
                    out.closed = True
                    return True
            except TimeoutError:
                continue
            except OSError:
                out.closed = True
                return True
    finally:
        with contextlib.suppress(OSError):
            out.sock.settimeout(None)
    return False


# ---------------------------------------------------------------------------
# A forwarding HTTP proxy on 127.0.0.1
# ---------------------------------------------------------------------------


def _read_head(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes] | None:
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def _parse_headers(lines: list[str]) -> list[tuple[str, str]]:
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


class ForwardingProxy:
    """A plain-HTTP forwarding proxy: takes absolute-form requests, forwards them, relays the answers.

    ``forwarded`` lists the absolute URL of every request it forwarded;
    ``proxy_authorization`` the ``Proxy-Authorization`` header each came with.
    Answers are relayed as they arrive (streams flow), with keep-alive on
    the client's side; each request gets its own upstream connection.
    """

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.forwarded: list[str] = []
        self.proxy_authorization: list[str | None] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        from urllib.parse import urlsplit

        buffer = b""
        try:
            while not self._stop.is_set():
                got = _read_head(sock, buffer)
                if got is None:
                    return
                head, buffer = got
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = _parse_headers(lines[1:])
                length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
                while len(buffer) < length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                url = urlsplit(target)
                # nothing leaves 127.0.0.1
                assert url.scheme == "http", target
                assert url.hostname == "127.0.0.1", target
                with self._lock:
                    self.forwarded.append(target)
                    self.proxy_authorization.append(
                        next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
                    )
                path = url.path or "/"
                if url.query:
                    path += "?" + url.query
                kept = [(k, v) for k, v in headers if not k.lower().startswith("proxy-") and k.lower() != "connection"]
                request = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept) + "\r\n"
                with socket.create_connection(("127.0.0.1", url.port or 80)) as upstream:
                    upstream.sendall(request.encode("latin-1") + body)
                    if not self._relay(upstream, sock):
                        return
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _relay(self, upstream: socket.socket, client: socket.socket) -> bool:
        """Relay one answer (Content-Length or chunked) as it arrives; false if either side closed."""
        got = _read_head(upstream, b"")
        if got is None:
            return False
        head, rest = got
        client.sendall(head + b"\r\n\r\n")
        headers = {k.lower(): v for k, v in _parse_headers(head.decode("latin-1").split("\r\n")[1:])}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            data = rest
            tail = b"\r\n"  # the end is "\r\n0\r\n\r\n" (the first chunk-size line follows the head)
            while True:
                if data:
                    client.sendall(data)
                    tail = (tail + data)[-16:]
                    if tail.endswith(b"\r\n0\r\n\r\n"):
                        return True
                data = upstream.recv(65536)
                if not data:
                    return False
        left = int(headers.get("content-length", "0")) - len(rest)
        if rest:
            client.sendall(rest)
        while left > 0:
            data = upstream.recv(65536)
            if not data:
                return False
            client.sendall(data)
            left -= len(data)
        return True

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
