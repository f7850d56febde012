"""AWS Signature Version 4, written with the standard library (hmac, hashlib).

:func:`sign` computes the ``Authorization`` header of a request over its
final body; :class:`SigV4Auth` is the ``httpx.Auth`` flow that signs every
attempt, on the sync and the async client alike.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote, unquote

import attrs
import httpx

__all__ = [
    "ALGORITHM",
    "AwsCredentials",
    "amz_date",
    "canonical_request",
    "sign",
    "sign_request",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"


def _redacted(value: object) -> str:
    return "'***'" if value else "None"


@attrs.frozen(repr=False)
class AwsCredentials:
    """An AWS access key pair and, for temporary credentials, the session token.

    The repr names the access key id's first four characters only; the secret
    and the token never appear.
    """

    access_key_id: str
    secret_access_key: str = attrs.field(repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = self.access_key_id[:4] + "..." if self.access_key_id else ""
        return (
            f"AwsCredentials(access_key_id={shown!r}, secret_access_key='***', "
            f"session_token={_redacted(self.session_token)})"
        )

    __str__ = __repr__


def _uri_encode(value: str, safe: str = "-_.~") -> str:
    return quote(value, safe=safe)


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_uri_encode(unquote(key)), _uri_encode(unquote(value))))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_value(value: str) -> str:
    return " ".join(value.strip().split())


def canonical_request(
    method: str, *, raw_path: str, query: str, headers: Mapping[str, str], signed: Iterable[str], payload_hash: str
) -> str:
    """The canonical request of SigV4 (task 1).

    ``raw_path`` is the path as sent (percent-encoded once); every service
    but S3 encodes it once more here.  ``headers`` has lower-case names.
    """
    names = sorted(signed)
    path = _uri_encode(raw_path or "/", safe="/-_.~")
    lines = "".join(f"{name}:{_canonical_value(headers[name])}\n" for name in names)
    return "\n".join([method.upper(), path, _canonical_query(query), lines, ";".join(names), payload_hash])


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The string to sign (task 2)."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived signing key (task 3): HMAC chain over date, region, service and ``aws4_request``."""
    key = hmac.new(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(
    *,
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    amz_date: str,
    signed_headers: Iterable[str] | None = None,
) -> str:
    """The ``Authorization`` header value for a request.

    ``headers`` must already hold ``host`` and ``x-amz-date`` (and
    ``x-amz-security-token`` with temporary credentials); ``signed_headers``
    defaults to all of them.  ``amz_date`` is ``YYYYMMDD'T'HHMMSS'Z'``.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    names = [n.lower() for n in signed_headers] if signed_headers is not None else list(lower)
    payload_hash = hashlib.sha256(body).hexdigest()
    canonical = canonical_request(
        method, raw_path=raw_path, query=query, headers=lower, signed=names, payload_hash=payload_hash
    )
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = string_to_sign(amz_date, scope, canonical)
    key = signing_key(credentials.secret_access_key, date, region, service)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(sorted(names))}, Signature={signature}"
    )


def amz_date(now: float) -> str:
    """``YYYYMMDD'T'HHMMSS'Z'`` for a POSIX time."""
    return datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


#: headers never signed: they may change on the way (proxies, the transport)
_UNSIGNED = frozenset({"authorization", "user-agent", "expect", "x-amzn-trace-id", "content-length", "connection"})


def sign_request(
    request: httpx.Request,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: Callable[[], float],
) -> None:
    """Sign an ``httpx.Request`` in place over its final body (adds x-amz-date, the token, Authorization)."""
    body = request.content  # the final body: the flow runs after the request is built
    stamp = amz_date(now())
    request.headers["x-amz-date"] = stamp
    if credentials.session_token:
        request.headers["x-amz-security-token"] = credentials.session_token
    else:
        request.headers.pop("x-amz-security-token", None)
    request.headers.pop("authorization", None)
    raw = request.url.raw_path.decode("ascii")
    path, _, query = raw.partition("?")
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = request.url.netloc.decode("ascii")
    signed = [name for name in headers if name not in _UNSIGNED]
    request.headers["authorization"] = sign(
        method=request.method,
        raw_path=path,
        query=query,
        headers=headers,
        body=body,
        credentials=credentials,
        region=region,
        service=service,
        amz_date=stamp,
        signed_headers=signed,
    )
