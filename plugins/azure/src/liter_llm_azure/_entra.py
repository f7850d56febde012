"""Microsoft Entra ID sign-in for Azure OpenAI, as ``httpx.Auth`` flows (all I/O happens here, never in a hook).

Three sources of a bearer token, in the order the ``auth`` hook tries them:

* a user-supplied **token provider**: a callable returning the token (a
  ``str``, or an object with ``.token`` such as azure-identity's
  ``AccessToken``); sync callables run in a worker thread on the async
  client, coroutine functions are awaited;
* the **client-credentials flow** (``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID``,
  ``AZURE_CLIENT_SECRET``): ``POST {authority}/{tenant}/oauth2/v2.0/token``;
  the token is cached per credential (one cache per tenant, client, secret
  and scope, shared by every client of the process), refreshed before it
  expires, fetched by one caller at a time (the others wait for it, bounded
  by their call's deadline) and never fetched past the deadline;
* azure-identity's ``DefaultAzureCredential`` when it is installed.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from liter_llm.clock import SYSTEM_CLOCK
from liter_llm.errors import (
    AuthenticationError,
    LiterLlmError,
    LiterLlmTimeoutError,
    ServiceUnavailableError,
)

__all__ = [
    "REFRESH_MARGIN",
    "ClientCredentialAuth",
    "DefaultCredentialAuth",
    "TokenCache",
    "TokenProviderAuth",
    "token_cache",
]

PROVIDER = "azure"
#: A token is refreshed this many seconds before it expires (or at half its life, when that is shorter).
REFRESH_MARGIN = 300.0
_TOKEN_MARK = "liter_llm_azure.token_request"


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise LiterLlmTimeoutError(
            "the call's deadline passed while signing in to Microsoft Entra ID", provider=PROVIDER
        )
    return left


def _bearer(request: httpx.Request, token: str) -> None:
    request.headers.pop("api-key", None)
    request.headers["authorization"] = "Bearer " + token


def _token_text(value: Any) -> str:
    token = getattr(value, "token", value)
    if not isinstance(token, str) or not token:
        raise AuthenticationError(
            f"the Azure token provider returned {type(value).__name__}, not a token string", provider=PROVIDER
        )
    return token


class TokenCache:
    """The cached token of one Entra ID client credential (the secret never shows in a repr)."""

    def __init__(self, *, authority: str, tenant_id: str, client_id: str, secret: str, scope: str, clock: Any) -> None:
        self.authority = authority
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.scope = scope
        self._secret = secret
        self.clock = clock if clock is not None else SYSTEM_CLOCK
        self.lock = threading.Lock()  # held by the sync caller fetching the token
        self._state_lock = threading.Lock()  # guards the fields below, never held across I/O
        self._token: str | None = None
        self._refresh_at = 0.0
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        #: how many token requests this cache has sent (for tests and metrics)
        self.fetches = 0

    def __repr__(self) -> str:
        return f"TokenCache(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, scope={self.scope!r})"

    def valid(self) -> str | None:
        """The cached token while it is fresh, else ``None``."""
        with self._state_lock:
            token, refresh_at = self._token, self._refresh_at
        if token is not None and self.clock.monotonic() < refresh_at:
            return token
        return None

    def async_lock(self) -> asyncio.Lock:
        """The lock that lets one task of this event loop fetch at a time."""
        loop = asyncio.get_running_loop()
        with self._state_lock:
            lock = self._async_locks.get(loop)
            if lock is None:
                lock = self._async_locks[loop] = asyncio.Lock()
        return lock

    def token_request(self, remaining: float | None) -> httpx.Request:
        """The client-credentials token request, bounded by ``remaining`` seconds."""
        url = f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
            "scope": self.scope,
        }
        request = httpx.Request(
            "POST", url, data=form, headers={"accept": "application/json"}, extensions={_TOKEN_MARK: True}
        )
        if remaining is not None:
            request.extensions["timeout"] = {
                "connect": remaining,
                "read": remaining,
                "write": remaining,
                "pool": remaining,
            }
        self.fetches += 1
        return request

    def store(self, response: httpx.Response) -> str:
        """Read the token answer (already read in full) and cache the token."""
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not 200 <= response.status_code < 300:
            error = data.get("error") if isinstance(data, dict) else None
            description = data.get("error_description") if isinstance(data, dict) else None
            detail = ": ".join(str(part) for part in (error, description) if part) or f"HTTP {response.status_code}"
            message = f"Microsoft Entra ID refused the client credentials of {self.client_id}: {detail}"
            if self._secret:
                message = message.replace(self._secret, "***")
            kind: type[LiterLlmError] = (
                ServiceUnavailableError
                if response.status_code >= 500 or response.status_code == 429
                else AuthenticationError
            )
            raise kind(message, status_code=response.status_code, provider=PROVIDER, code=str(error) if error else None)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError("Microsoft Entra ID answered without an access_token", provider=PROVIDER)
        try:
            lifetime = float(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        lifetime = max(lifetime, 0.0)
        with self._state_lock:
            self._token = token
            self._refresh_at = self.clock.monotonic() + max(lifetime - REFRESH_MARGIN, lifetime / 2)
        return token


_caches: dict[str, TokenCache] = {}
_caches_lock = threading.Lock()


def token_cache(*, authority: str, tenant_id: str, client_id: str, secret: str, scope: str, clock: Any) -> TokenCache:
    """The process-wide cache of one credential (tenant, client, secret, scope, authority)."""
    fingerprint = hashlib.sha256("\0".join((authority, tenant_id, client_id, secret, scope)).encode()).hexdigest()
    with _caches_lock:
        cache = _caches.get(fingerprint)
        if cache is None or (clock is not None and cache.clock is not clock):
            cache = _caches[fingerprint] = TokenCache(
                authority=authority, tenant_id=tenant_id, client_id=client_id, secret=secret, scope=scope, clock=clock
            )
    return cache


class ClientCredentialAuth(httpx.Auth):
    """One attempt's auth: a cached token, or one fetched in the flow before the request."""

    def __init__(self, cache: TokenCache, deadline: float | None) -> None:
        self.cache = cache
        self.deadline = deadline

    def __repr__(self) -> str:
        return f"ClientCredentialAuth({self.cache!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        cache = self.cache
        token = cache.valid()
        if token is None:
            remaining = _remaining(self.deadline)
            if not cache.lock.acquire(timeout=-1 if remaining is None else remaining):
                raise LiterLlmTimeoutError(
                    "the call's deadline passed while waiting for a Microsoft Entra ID token", provider=PROVIDER
                )
            try:
                token = cache.valid()
                if token is None:
                    response = yield cache.token_request(_remaining(self.deadline))
                    response.read()
                    token = cache.store(response)
            finally:
                cache.lock.release()
        _bearer(request, token)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        cache = self.cache
        token = cache.valid()
        if token is None:
            lock = cache.async_lock()
            try:
                await asyncio.wait_for(lock.acquire(), _remaining(self.deadline))
            except asyncio.TimeoutError:
                raise LiterLlmTimeoutError(
                    "the call's deadline passed while waiting for a Microsoft Entra ID token", provider=PROVIDER
                ) from None
            try:
                token = cache.valid()
                if token is None:
                    response = yield cache.token_request(_remaining(self.deadline))
                    await response.aread()
                    token = cache.store(response)
            finally:
                lock.release()
        _bearer(request, token)
        yield request


class TokenProviderAuth(httpx.Auth):
    """Asks a user-supplied callable for the token on every attempt (it does its own caching)."""

    def __init__(self, provider: Callable[..., Any], deadline: float | None) -> None:
        self.provider = provider
        self.deadline = deadline

    def __repr__(self) -> str:
        return "TokenProviderAuth()"

    def _call(self) -> Any:
        try:
            return self.provider()
        except LiterLlmError:
            raise
        except Exception as exc:
            raise AuthenticationError(
                f"the Azure token provider failed ({type(exc).__name__})", provider=PROVIDER
            ) from exc

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _remaining(self.deadline)
        value = self._call()
        if inspect.isawaitable(value):
            close = getattr(value, "close", None)
            if close is not None:
                close()
            raise AuthenticationError(
                "the Azure token provider is a coroutine function: use it with the async client", provider=PROVIDER
            )
        _bearer(request, _token_text(value))
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        remaining = _remaining(self.deadline)
        try:
            if inspect.iscoroutinefunction(self.provider):
                value = await asyncio.wait_for(self._await(), remaining)
            else:
                value = await asyncio.wait_for(asyncio.to_thread(self._call), remaining)
                if inspect.isawaitable(value):
                    value = await asyncio.wait_for(value, _remaining(self.deadline))
        except asyncio.TimeoutError:
            raise LiterLlmTimeoutError(
                "the call's deadline passed while the Azure token provider ran", provider=PROVIDER
            ) from None
        _bearer(request, _token_text(value))
        yield request

    async def _await(self) -> Any:
        try:
            return await self._call()
        except LiterLlmError:
            raise
        except Exception as exc:
            raise AuthenticationError(
                f"the Azure token provider failed ({type(exc).__name__})", provider=PROVIDER
            ) from exc


#: one DefaultAzureCredential per environment it was built in (it reads the environment once)
_default_credentials: dict[frozenset[tuple[str, str]], Any] = {}
_default_lock = threading.Lock()
_CREDENTIAL_ENV_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_")


def _default_token(scope: str) -> str:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise AuthenticationError(
            "no credentials for Azure OpenAI: set AZURE_OPENAI_API_KEY (or AZURE_API_KEY), pass api_key with "
            "model_hint='azure', set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, give a "
            "token_provider, or install azure-identity for DefaultAzureCredential",
            provider=PROVIDER,
        ) from None
    import os

    environment = frozenset(item for item in os.environ.items() if item[0].startswith(_CREDENTIAL_ENV_PREFIXES))
    with _default_lock:
        credential = _default_credentials.get(environment)
        if credential is None:
            credential = _default_credentials[environment] = DefaultAzureCredential()
    try:
        return _token_text(credential.get_token(scope))
    except LiterLlmError:
        raise
    except Exception as exc:
        raise AuthenticationError(
            f"DefaultAzureCredential found no usable credential ({type(exc).__name__})", provider=PROVIDER
        ) from exc


class DefaultCredentialAuth(httpx.Auth):
    """azure-identity's ``DefaultAzureCredential`` (managed identity, Azure CLI, workload identity, ...)."""

    def __init__(self, scope: str, deadline: float | None) -> None:
        self.scope = scope
        self.deadline = deadline

    def __repr__(self) -> str:
        return f"DefaultCredentialAuth(scope={self.scope!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _remaining(self.deadline)
        _bearer(request, _default_token(self.scope))
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        try:
            token = await asyncio.wait_for(asyncio.to_thread(_default_token, self.scope), _remaining(self.deadline))
        except asyncio.TimeoutError:
            raise LiterLlmTimeoutError(
                "the call's deadline passed while DefaultAzureCredential signed in", provider=PROVIDER
            ) from None
        _bearer(request, token)
        yield request
