"""Service-account authentication for Vertex AI, as an ``httpx.Auth`` flow.

A signed JWT (RS256) is exchanged at the credentials' ``token_uri`` for an
OAuth access token (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``);
the token is cached until shortly before it expires.  The flow yields the
token request first when a token is needed, then the real request with
``Authorization: Bearer <token>``; the same object serves the sync and the
async client.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from liter_llm.errors import AuthenticationError

__all__ = [
    "PROJECT_PLACEHOLDER",
    "SCOPE",
    "BearerAuth",
    "CredentialsFileAuth",
    "ServiceAccountAuth",
    "ServiceAccountCredentials",
    "credentials_without_io",
    "load_credentials",
    "service_account_auth",
]

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
#: Refresh this many seconds before the token's stated expiry.
REFRESH_MARGIN = 300.0
_LIFETIME = 3600
_TOKEN_MARK = "liter_llm_google.token_request"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class ServiceAccountCredentials:
    """The fields of a service-account JSON file that matter here (the key never shows in repr)."""

    __slots__ = ("_private_key", "client_email", "fingerprint", "private_key_id", "project_id", "token_uri")

    def __init__(self, info: Mapping[str, Any], *, source: str) -> None:
        missing = [name for name in ("client_email", "private_key") if not isinstance(info.get(name), str)]
        if missing:
            raise AuthenticationError(
                f"the Vertex AI service-account credentials ({source}) lack {', '.join(missing)}", provider="vertex_ai"
            )
        self.client_email: str = info["client_email"]
        self._private_key: str = info["private_key"]
        key_id, project = info.get("private_key_id"), info.get("project_id")
        self.private_key_id: str | None = key_id if isinstance(key_id, str) else None
        self.project_id: str | None = project if isinstance(project, str) else None
        token_uri = info.get("token_uri")
        self.token_uri: str = token_uri if isinstance(token_uri, str) and token_uri else _DEFAULT_TOKEN_URI
        self.fingerprint = hashlib.sha256(
            "\0".join((self.client_email, self._private_key, self.token_uri)).encode()
        ).hexdigest()

    def __repr__(self) -> str:
        return f"ServiceAccountCredentials(client_email={self.client_email!r}, token_uri={self.token_uri!r})"

    def signed_assertion(self, now: float) -> str:
        """The RS256-signed JWT asserting this service account, for the token endpoint."""
        try:
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding, rsa
        except ImportError:  # pragma: no cover - a declared dependency
            raise AuthenticationError(
                "Vertex AI service-account auth needs the 'cryptography' package: pip install 'liter-llm[google]'",
                provider="vertex_ai",
            ) from None
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if self.private_key_id:
            header["kid"] = self.private_key_id
        issued = int(now)
        claims = {
            "iss": self.client_email,
            "sub": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": issued,
            "exp": issued + _LIFETIME,
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        try:
            key = serialization.load_pem_private_key(self._private_key.encode(), password=None)
        except (ValueError, TypeError):
            raise AuthenticationError(
                f"the private key of service account {self.client_email} could not be loaded (not an unencrypted "
                "PEM key)",
                provider="vertex_ai",
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AuthenticationError(
                f"the private key of service account {self.client_email} is not an RSA key", provider="vertex_ai"
            )
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)


_credentials_cache: dict[str, ServiceAccountCredentials] = {}
_auth_cache: dict[str, ServiceAccountAuth] = {}
_cache_lock = threading.Lock()


def _parse_info(text: str, source: str) -> ServiceAccountCredentials:
    try:
        info = json.loads(text)
    except ValueError:
        raise AuthenticationError(
            f"the Vertex AI credentials ({source}) are not valid JSON", provider="vertex_ai"
        ) from None
    if not isinstance(info, dict):
        raise AuthenticationError(f"the Vertex AI credentials ({source}) are not a JSON object", provider="vertex_ai")
    if info.get("type") not in (None, "service_account"):
        raise AuthenticationError(
            f"the Vertex AI credentials ({source}) are of type {info.get('type')!r}; only service_account keys are "
            "supported (or pass an access token as api_key)",
            provider="vertex_ai",
        )
    return ServiceAccountCredentials(info, source=source)


def _locate(json_text: str | None) -> tuple[str, str | None, str | None] | None:
    """Where the credentials come from, as ``(source, json text, file path)``; no I/O."""
    if json_text is not None:
        return "api_key", json_text, None
    env = os.environ.get("VERTEXAI_CREDENTIALS")
    if env and env.lstrip().startswith("{"):
        return "VERTEXAI_CREDENTIALS", env, None
    if env:
        return "VERTEXAI_CREDENTIALS", None, env
    file = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not file:
        return None
    return "GOOGLE_APPLICATION_CREDENTIALS", None, file


def _cache_key(text: str | None, path: str | None) -> str:
    return "path:" + path if path is not None else "json:" + hashlib.sha256((text or "").encode()).hexdigest()


def credentials_without_io(json_text: str | None = None) -> tuple[ServiceAccountCredentials | None, str | None]:
    """The credentials, if they can be had without reading a file.

    ``(credentials, None)`` when they are given as JSON (``json_text`` or
    ``VERTEXAI_CREDENTIALS``) or their file was read before; ``(None, path)``
    when a file still has to be read (by :class:`CredentialsFileAuth`, in the
    auth flow); ``(None, None)`` when nothing is configured.
    """
    located = _locate(json_text)
    if located is None:
        return None, None
    source, text, path = located
    with _cache_lock:
        cached = _credentials_cache.get(_cache_key(text, path))
    if cached is not None:
        return cached, None
    if path is not None:
        return None, path
    assert text is not None
    creds = _parse_info(text, source)
    with _cache_lock:
        _credentials_cache[_cache_key(text, None)] = creds
    return creds, None


def load_credentials(json_text: str | None = None) -> ServiceAccountCredentials | None:
    """Find the service-account credentials, reading their file if need be.

    ``json_text`` (the key as JSON), else ``VERTEXAI_CREDENTIALS`` (the JSON
    itself, or a path to it), else the file named by
    ``GOOGLE_APPLICATION_CREDENTIALS``.  Parsed once per distinct source and
    cached.  ``None`` when nothing is configured.  This does I/O: hooks call
    :func:`credentials_without_io`, and the file is read in the auth flow.
    """
    located = _locate(json_text)
    if located is None:
        return None
    source, text, path = located
    cache_key = _cache_key(text, path)
    with _cache_lock:
        cached = _credentials_cache.get(cache_key)
    if cached is not None:
        return cached
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise AuthenticationError(
                f"the Vertex AI credentials file named by {source} cannot be read: {exc.strerror or exc}",
                provider="vertex_ai",
            ) from None
    assert text is not None
    creds = _parse_info(text, source)
    with _cache_lock:
        _credentials_cache[cache_key] = creds
    return creds


def _token_error(status: int | None, response: httpx.Response | None, creds: ServiceAccountCredentials) -> Exception:
    reason = ""
    if response is not None:
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if isinstance(data, dict):
            err = data.get("error")
            desc = data.get("error_description")
            if isinstance(err, dict):  # some endpoints use the Google error shape
                desc = err.get("message")
                err = err.get("status")
            pieces = [str(p)[:200] for p in (err, desc) if isinstance(p, str) and p]
            reason = ": " + " - ".join(pieces) if pieces else ""
    where = f"HTTP {status}" if status is not None else "an unreadable answer"
    return AuthenticationError(
        f"the access token for service account {creds.client_email} could not be obtained ({where}){reason}",
        status_code=status,
        provider="vertex_ai",
    )


class ServiceAccountAuth(httpx.Auth):
    """``httpx.Auth`` that signs in as a service account and sends ``Authorization: Bearer <token>``.

    One object per service account, shared by every client: the access
    token is cached until :data:`REFRESH_MARGIN` seconds before it expires.
    Only the token endpoint's answer is read inside the flow (the API's
    answer, a stream included, is left to the caller), which is why the
    sync/async wrappers are overridden below.
    """

    requires_response_body = True

    def __init__(self, credentials: ServiceAccountCredentials) -> None:
        self.credentials = credentials
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServiceAccountAuth({self.credentials.client_email!r})"

    def _valid_token(self, now: float) -> str | None:
        with self._lock:
            if self._token is not None and now < self._expires - REFRESH_MARGIN:
                return self._token
        return None

    def token_request(self, now: float) -> httpx.Request:
        """The request that exchanges a freshly signed JWT for an access token."""
        creds = self.credentials
        form = urlencode({"grant_type": _GRANT_TYPE, "assertion": creds.signed_assertion(now)})
        request = httpx.Request(
            "POST",
            creds.token_uri,
            content=form.encode("ascii"),
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
        )
        request.extensions[_TOKEN_MARK] = True
        return request

    def _store(self, response: httpx.Response, now: float) -> str:
        creds = self.credentials
        if not 200 <= response.status_code < 300:
            raise _token_error(response.status_code, response, creds)
        try:
            data = json.loads(response.content)
        except ValueError:
            raise _token_error(response.status_code, None, creds) from None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise _token_error(response.status_code, None, creds)
        expires_in = data.get("expires_in", _LIFETIME)
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = float(_LIFETIME)
        with self._lock:
            self._token = token
            self._expires = now + lifetime
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Yield the token request when no fresh token is cached, then ``request`` with the bearer token."""
        now = time.time()
        token = self._valid_token(now)
        if token is None:
            response = yield self.token_request(now)
            token = self._store(response, now)
        request.headers["authorization"] = "Bearer " + token
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            if outgoing.extensions.get(_TOKEN_MARK):
                response.read()
            try:
                outgoing = flow.send(response)
            except StopIteration:
                break

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            if outgoing.extensions.get(_TOKEN_MARK):
                await response.aread()
            try:
                outgoing = flow.send(response)
            except StopIteration:
                break


#: the project segment of a URL built before the credentials file that names the project was read
#: (an underscore: never a valid Google Cloud project id, so never a real project)
PROJECT_PLACEHOLDER = "_project_from_credentials_"


class CredentialsFileAuth(httpx.Auth):
    """Reads the service-account file in the auth flow (never in a hook), then signs in as that account.

    The sync flow reads the file on the caller's thread, the async flow in a
    worker thread, so the event loop never blocks on it; the credentials are
    cached per path, so the file is read once.  A URL built with
    :data:`PROJECT_PLACEHOLDER` (no project configured) gets the project the
    file names, checked by ``resolve_project``.
    """

    requires_response_body = True

    def __init__(self, resolve_project: Callable[[ServiceAccountCredentials], str]) -> None:
        self._resolve_project = resolve_project

    def __repr__(self) -> str:
        return "CredentialsFileAuth()"

    def _prepare(self, request: httpx.Request, creds: ServiceAccountCredentials | None) -> ServiceAccountAuth:
        if creds is None:
            raise AuthenticationError(
                "the Vertex AI credentials file is no longer configured", provider="vertex_ai"
            )  # pragma: no cover - the environment changed between the hook and the flow
        marker = PROJECT_PLACEHOLDER.encode()
        if marker in request.url.raw_path:
            project = self._resolve_project(creds).encode()
            request.url = request.url.copy_with(raw_path=request.url.raw_path.replace(marker, project, 1))
        return service_account_auth(creds)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield from self.sync_auth_flow(request)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        auth = self._prepare(request, load_credentials())
        yield from auth.sync_auth_flow(request)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        creds, path = credentials_without_io()
        if creds is None and path is not None:
            creds = await asyncio.to_thread(load_credentials)
        flow = self._prepare(request, creds).async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            response = yield outgoing
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                break


def service_account_auth(credentials: ServiceAccountCredentials) -> ServiceAccountAuth:
    """The shared auth flow (and token cache) for a service account."""
    with _cache_lock:
        auth = _auth_cache.get(credentials.fingerprint)
        if auth is None:
            auth = _auth_cache[credentials.fingerprint] = ServiceAccountAuth(credentials)
    return auth


class BearerAuth(httpx.Auth):
    """Sends a ready access token as ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerAuth('***')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["authorization"] = "Bearer " + self._token
        yield request
