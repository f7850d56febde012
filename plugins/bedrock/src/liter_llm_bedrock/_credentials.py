"""Where Bedrock's credentials and region come from, and the ``httpx.Auth`` flows that use them.

Order (the first that gives something wins):

1. explicit options of the plugin (:class:`BedrockOptions`): a Bedrock API key, an access key pair, a profile;
2. the client's ``api_key`` for this provider, or ``AWS_BEARER_TOKEN_BEDROCK``: a Bedrock API key, sent
   as ``Authorization: Bearer`` with no signing;
3. ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``);
4. with botocore installed: botocore's whole chain (profiles, SSO, assume-role, container and
   instance metadata); without it, ``AWS_PROFILE`` (or ``default``) in ``~/.aws/credentials`` and
   ``~/.aws/config`` (``AWS_SHARED_CREDENTIALS_FILE`` / ``AWS_CONFIG_FILE`` move them).

Steps 1-3 need no I/O and are decided in the hook; step 4 reads files (or more), so it runs inside
the auth flow, once per plugin instance (botocore's refreshable credentials are asked each attempt).
"""

from __future__ import annotations

import configparser
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from pathlib import Path
from typing import Any

import attrs
import httpx

from liter_llm import SecretStr
from liter_llm.errors import AuthenticationError, BadRequestError
from liter_llm_bedrock._sigv4 import AwsCredentials, sign_request

__all__ = [
    "REGION_PLACEHOLDER",
    "BearerAuth",
    "ProfileFiles",
    "SigV4Auth",
    "env_credentials",
    "env_region",
    "read_profile",
]

#: the host label used in a URL before the region is known (it comes from ``~/.aws/config``)
REGION_PLACEHOLDER = "region-from-aws-config"


def secret(value: Any) -> SecretStr | None:
    """A value as a SecretStr (``None`` stays ``None``)."""
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(str(value))


def env_credentials(environ: Any = None) -> AwsCredentials | None:
    """``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, or ``None``."""
    env = os.environ if environ is None else environ
    key_id = env.get("AWS_ACCESS_KEY_ID")
    secret = env.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        return AwsCredentials(key_id, secret, env.get("AWS_SESSION_TOKEN") or None)
    return None


def env_region(environ: Any = None) -> str | None:
    """``AWS_REGION``, then ``AWS_DEFAULT_REGION``."""
    env = os.environ if environ is None else environ
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


@attrs.frozen
class ProfileFiles:
    """What one profile of the shared files says (read by :func:`read_profile`)."""

    credentials: AwsCredentials | None
    region: str | None


def read_profile(profile: str | None = None, environ: Any = None) -> ProfileFiles:
    """Read ``profile`` (default ``AWS_PROFILE``, then ``default``) from the shared credentials and config files.

    File I/O: call it only inside an auth flow.  A missing file is no profile; an unreadable one is an
    AuthenticationError naming the file.
    """
    env = os.environ if environ is None else environ
    name = profile or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    home = Path(env.get("HOME") or Path.home())
    creds_path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config_path = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    values: dict[str, str] = {}
    for path, section in ((config_path, "default" if name == "default" else f"profile {name}"), (creds_path, name)):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with path.open(encoding="utf-8") as handle:
                parser.read_file(handle)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise AuthenticationError(
                f"cannot read the AWS file {path}: {type(exc).__name__}", provider="bedrock"
            ) from None
        if parser.has_section(section):
            values.update({k.lower(): v.strip() for k, v in parser.items(section)})
        elif section == f"profile {name}" and parser.has_section(name):  # config files written by hand
            values.update({k.lower(): v.strip() for k, v in parser.items(name)})
    creds = None
    if values.get("aws_access_key_id") and values.get("aws_secret_access_key"):
        creds = AwsCredentials(
            values["aws_access_key_id"], values["aws_secret_access_key"], values.get("aws_session_token") or None
        )
    return ProfileFiles(credentials=creds, region=values.get("region") or None)


class BearerAuth(httpx.Auth):
    """A Bedrock API key as ``Authorization: Bearer`` (no signing)."""

    def __init__(self, key: SecretStr) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.pop("x-amz-security-token", None)
        request.headers["authorization"] = "Bearer " + self._key.get_secret_value()
        yield request

    def __repr__(self) -> str:
        return "BearerAuth('***')"


def set_region_host(request: httpx.Request, region: str) -> None:
    """Replace the region placeholder in the request's host by ``region``."""
    host = request.url.host
    if REGION_PLACEHOLDER in host:
        new_host = host.replace(REGION_PLACEHOLDER, region)
        request.url = request.url.copy_with(host=new_host)
        request.headers["host"] = new_host


class SigV4Auth(httpx.Auth):
    """Sign every attempt with SigV4 over the final body.

    ``credentials`` is either ready :class:`AwsCredentials` or a callable that finds them (file reads,
    botocore), called inside the flow; ``region`` likewise may be ``None`` with ``find_region`` given.
    """

    def __init__(
        self,
        credentials: AwsCredentials | Callable[[], AwsCredentials],
        region: str | None,
        *,
        service: str = "bedrock",
        find_region: Callable[[], str | None] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._region = region
        self._find_region = find_region
        self._service = service
        self._now = now

    def _resolve(self) -> tuple[AwsCredentials, str | None]:
        creds = self._credentials if isinstance(self._credentials, AwsCredentials) else self._credentials()
        region = self._region
        if region is None and self._find_region is not None:
            region = self._find_region()
        return creds, region

    @property
    def _needs_io(self) -> bool:
        return not isinstance(self._credentials, AwsCredentials) or (
            self._region is None and self._find_region is not None
        )

    def _sign(self, request: httpx.Request, creds: AwsCredentials, region: str | None) -> None:
        if not region:
            raise BadRequestError(
                "no AWS region for Bedrock: set AWS_REGION (or AWS_DEFAULT_REGION), a region in ~/.aws/config, "
                "or the plugin's region option",
                provider="bedrock",
            )
        set_region_host(request, region)
        sign_request(request, creds, region, self._service, self._now)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        creds, region = self._resolve()
        self._sign(request, creds, region)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """As :meth:`auth_flow`; file reads and botocore's look-ups run in a worker thread, off the event loop."""
        if self._needs_io:
            import anyio.to_thread

            creds, region = await anyio.to_thread.run_sync(self._resolve)
        else:
            creds, region = self._resolve()
        self._sign(request, creds, region)
        yield request

    def __repr__(self) -> str:
        return f"SigV4Auth(service={self._service!r}, region={self._region!r})"


class CredentialCache:
    """The credentials and region found by the I/O steps, found once per plugin instance (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profiles: dict[tuple[str | None, str, str, str], ProfileFiles] = {}
        self._botocore: dict[str | None, Any] = {}

    def profile(self, profile: str | None) -> ProfileFiles:
        """The profile's files (read once per profile name and file locations)."""
        env = os.environ
        key = (
            profile or env.get("AWS_PROFILE"),
            env.get("AWS_SHARED_CREDENTIALS_FILE", ""),
            env.get("AWS_CONFIG_FILE", ""),
            env.get("HOME", ""),
        )
        with self._lock:
            found = self._profiles.get(key)
        if found is None:
            found = read_profile(profile)
            with self._lock:
                self._profiles[key] = found
        return found

    def botocore_credentials(self, profile: str | None) -> AwsCredentials:
        """botocore's credentials for ``profile``, resolved once; refreshable ones refresh themselves."""
        with self._lock:
            found = self._botocore.get(profile)
        if found is None:
            found = _botocore_chain(profile)
            with self._lock:
                self._botocore[profile] = found
        frozen = found.get_frozen_credentials()
        return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token or None)

    def clear(self) -> None:
        """Forget what was read (the files changed)."""
        with self._lock:
            self._profiles.clear()
            self._botocore.clear()


def botocore_available() -> bool:
    """Whether botocore can be imported (its credential chain is then used for step 4)."""
    import importlib.util

    return importlib.util.find_spec("botocore") is not None


def _botocore_chain(profile: str | None) -> Any:
    """botocore's credential chain (I/O: files, SSO caches, STS, instance metadata); inside the flow only."""
    import botocore.session

    session = botocore.session.Session(profile=profile) if profile else botocore.session.get_session()
    try:
        found = session.get_credentials()
    except Exception as exc:  # botocore's own errors (a broken profile, an SSO token that expired)
        raise _no_credentials(f"botocore: {type(exc).__name__}: {exc}") from None
    if found is None:
        raise _no_credentials("botocore's credential chain found none either")
    return found


def botocore_region(profile: str | None) -> str | None:
    """The region botocore's configuration names (``~/.aws/config``), or ``None``."""
    import botocore.session

    session = botocore.session.Session(profile=profile) if profile else botocore.session.get_session()
    region = session.get_config_variable("region")
    return str(region) if region else None


def _no_credentials(extra: str = "") -> AuthenticationError:
    tail = f" ({extra})" if extra else ""
    return AuthenticationError(
        "no AWS credentials for Bedrock: pass api_key (a Bedrock API key) or set AWS_BEARER_TOKEN_BEDROCK, "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials" + tail,
        provider="bedrock",
    )


no_credentials = _no_credentials
