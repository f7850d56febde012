"""What a transport failure means: httpx exceptions mapped to our error kinds, keys scrubbed from errors."""

from __future__ import annotations

from typing import Any

import httpx

from liter_llm._secret import SecretStr, scrub_text, secret_forms
from liter_llm.errors import (
    BadRequestError,
    InternalError,
    LiterLlmError,
    LiterLlmTimeoutError,
    SerializationError,
    ServiceUnavailableError,
)

__all__ = [
    "scrub_key",
]


def _transport_error(exc: Exception, provider: str, *, reading: bool = False) -> LiterLlmError:
    """Map an httpx exception to our kinds."""
    if isinstance(exc, LiterLlmError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for the provider"
        return LiterLlmTimeoutError(f"timed out while {what}: {exc or type(exc).__name__}", provider=provider)
    if isinstance(exc, httpx.DecodingError):
        return SerializationError(f"the answer could not be decoded: {exc}", provider=provider)
    if isinstance(exc, httpx.ConnectError):
        return ServiceUnavailableError(f"could not connect: {exc}", provider=provider)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
        where = "while reading the answer" if reading else "before answering"
        return ServiceUnavailableError(f"the connection was closed {where}: {exc}", provider=provider)
    if isinstance(exc, httpx.LocalProtocolError):  # our own request is not valid HTTP: never retried
        return BadRequestError(
            f"the request was not sent: it is not valid HTTP ({_header_problem(exc)})", provider=provider
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BadRequestError(f"unsupported URL: {exc}", provider=provider)
    if isinstance(exc, httpx.InvalidURL):
        return BadRequestError(f"invalid URL: {exc}", provider=provider)
    if isinstance(exc, httpx.HTTPError):
        return ServiceUnavailableError(f"{type(exc).__name__}: {exc}", provider=provider)
    if isinstance(exc, ValueError) and "header" in str(exc).lower():  # aiohttp refusing a header value
        return BadRequestError(
            "the request was not sent: a header value is not valid HTTP (it has a control character)",
            provider=provider,
        )
    return InternalError(f"unexpected {type(exc).__name__} in the transport: {exc}", provider=provider)


def scrub_key(error: LiterLlmError, key: SecretStr | None) -> LiterLlmError:
    """Remove the call's API key from an error's text, in its plain, ``repr`` and bytes-``repr`` forms.

    Some providers echo the key they were sent, and a transport error may
    quote the header that carried it.
    """
    secret = key.get_secret_value() if key is not None else ""
    if len(secret) >= 4:
        forms = secret_forms(secret)
        if error.message:
            message = scrub_text(error.message, forms)
            if message != error.message:
                error.message = message
                error.args = (message,)
        if error.body:
            error.body = scrub_text(error.body, forms)
        reason = getattr(error, "reason", None)
        if isinstance(reason, str):
            error.reason = scrub_text(reason, forms)  # type: ignore[attr-defined]
        _scrub_chain(error, forms)
    return error


def _raised_in(exc: BaseException, auth: httpx.Auth) -> bool:
    """Whether ``exc`` is a bug of the ``auth`` flow itself (not a LiterLlmError, nor the network's)."""
    if isinstance(exc, (LiterLlmError, httpx.HTTPError, OSError)):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_locals.get("self") is auth and tb.tb_frame.f_code.co_name.endswith("auth_flow"):
            return True
        tb = tb.tb_next
    return False


def _auth_flow_bug(relay: Any, auth: httpx.Auth, exc: BaseException, provider: str) -> InternalError:
    """The InternalError for an auth flow that raised, naming the plugin whose ``auth`` hook returned it."""
    flow = type(auth)
    where = f"{flow.__module__}.{flow.__qualname__} (auth flow)"
    for impl in relay.auth.get_hookimpls():
        function = getattr(impl.function, "__wrapped__", impl.function)
        if getattr(function, "__module__", None) == flow.__module__:
            where = f"{impl.plugin_name}.auth"
            break
    return InternalError(
        f"the auth flow {flow.__qualname__} of {where} failed: {type(exc).__name__}: {exc} (a bug in that plugin)",
        provider=provider,
        hook=where,
    )


def _scrub_chain(error: BaseException, forms: tuple[str, ...]) -> None:
    """Scrub the text of the exceptions ``error`` was raised from (a traceback prints them too)."""
    seen = {id(error)}
    link = error.__cause__ or error.__context__
    while link is not None and id(link) not in seen and len(seen) < 16:
        seen.add(id(link))
        if isinstance(link, LiterLlmError):
            link.message = scrub_text(link.message, forms)
            if link.body:
                link.body = scrub_text(link.body, forms)
        if any(isinstance(arg, str) for arg in link.args):
            try:
                link.args = tuple(scrub_text(arg, forms) if isinstance(arg, str) else arg for arg in link.args)
            except Exception:  # an exception type whose args cannot be set: leave it
                pass
        link = link.__cause__ or link.__context__


def _header_problem(exc: httpx.LocalProtocolError) -> str:
    """h11's complaint about a request, without the offending bytes (they may hold a key)."""
    text = str(exc)
    for quote in (" b'", ' b"', " '", ' "'):
        text = text.split(quote, 1)[0]
    return text or type(exc).__name__


def _retryable_transport(exc: Exception) -> bool:
    return isinstance(
        exc,
        (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError),
    )
