"""Where an Azure call goes and how it signs in: the settings of one call, resolved without I/O.

Sources, first found wins (a deployment's own table beats everything):

* ``[plugins.azure.deployments.<deployment>]`` in ``liter-llm.toml`` (or
  ``plugins={"azure": {"deployments": {...}}}`` given to the client);
* the client's ``base_url`` / ``api_key`` with ``model_hint="azure"``;
* ``[plugins.azure]``;
* the environment: ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_API_BASE``,
  ``AZURE_OPENAI_API_KEY`` / ``AZURE_API_KEY``, ``AZURE_OPENAI_API_VERSION`` /
  ``AZURE_API_VERSION``, ``AZURE_TENANT_ID`` / ``AZURE_CLIENT_ID`` /
  ``AZURE_CLIENT_SECRET``, ``AZURE_AUTHORITY_HOST``.

A deployment with an ``endpoint`` of its own lives on another resource: it
gets only the key of its own table (never the main resource's key); Entra ID
credentials, which are valid across resources, still apply.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from liter_llm import SecretStr
from liter_llm.errors import BadRequestError
from liter_llm.router import ROUTE_STATE_KEY, Route

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_AUTHORITY",
    "DEFAULT_SCOPE",
    "ENDPOINT_PLACEHOLDER",
    "RESPONSES_MIN_PREVIEW",
    "AzureTarget",
    "resolve",
    "responses_version_error",
]

#: The ``api-version`` of the classic URL style when none is configured: the latest GA data-plane release.
DEFAULT_API_VERSION = "2024-10-21"
#: The Entra ID scope of Azure OpenAI (Cognitive Services).
DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"
#: The Microsoft Entra ID authority (``AZURE_AUTHORITY_HOST`` or ``authority_host`` override it).
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
#: The spec's base URL: stands for "no endpoint configured" (``.invalid`` never resolves).
ENDPOINT_PLACEHOLDER = "https://azure-openai-endpoint-not-configured.invalid"

_STYLES = ("classic", "v1")
_VERSION_WORD = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_DATED_VERSION = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})(?P<preview>-preview)?$")
#: The first (preview) ``api-version`` that serves the Responses API on the classic URLs.
RESPONSES_MIN_PREVIEW = "2025-03-01"
_TOP_FIELDS = frozenset(
    {
        "endpoint",
        "api_key",
        "api_version",
        "api_style",
        "token_provider",
        "tenant_id",
        "client_id",
        "client_secret",
        "authority_host",
        "scope",
        "default_credential",
        "clock",
        "deployments",
    }
)
_DEPLOYMENT_FIELDS = (_TOP_FIELDS - {"deployments", "clock"}) | {"base_model", "name"}


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _check(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise BadRequestError(f"{where}.{key}: unknown field; known fields: {', '.join(sorted(allowed))}")


def _text(table: Mapping[str, Any], name: str, where: str) -> str | None:
    value = table.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{where}.{name}: expected a string, got {type(value).__name__}")
    return value


def _secret(table: Mapping[str, Any], name: str, where: str) -> SecretStr | None:
    value = table.get(name)
    if isinstance(value, SecretStr):
        return value if value else None
    text = _text(table, name, where)
    return SecretStr(text) if text else None


@attrs.frozen(kw_only=True)
class AzureTarget:
    """Where one call goes and the credentials it may use (secrets redacted in the repr)."""

    deployment: str | None
    endpoint: str
    style: str
    api_version: str | None
    api_key: SecretStr | None = attrs.field(repr=False)
    token_provider: Callable[..., Any] | None = attrs.field(repr=False)
    tenant_id: str | None
    client_id: str | None
    client_secret: SecretStr | None = attrs.field(repr=False)
    authority: str
    scope: str
    default_credential: bool
    base_model: str | None
    clock: Any = attrs.field(repr=False)
    #: where ``api_version`` came from (a field path or a variable), for error messages
    version_source: str = "plugins.azure.api_version"


def _endpoint(value: str, where: str) -> tuple[str, str | None]:
    """The resource URL without a trailing ``/openai`` (``/openai/v1``), and the style the path implies."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequestError(f"{where}: {value!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise BadRequestError(f"{where}: give the resource URL without a query ({parts.scheme}://{parts.netloc})")
    if url.endswith("/openai/v1"):
        return url[: -len("/openai/v1")], "v1"
    if url.endswith("/openai"):
        return url[: -len("/openai")], None
    return url, None


def _style(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    style = value.lower()
    if style not in _STYLES:
        raise BadRequestError(f"{where}: expected 'classic' or 'v1', got {value!r}")
    return style


def _version(value: str | None, where: str) -> str | None:
    """An ``api-version`` as given (``2024-10-21``, ``2025-04-01-preview``), checked to be one URL-safe word."""
    if value is None:
        return None
    version = value.strip()
    if not _VERSION_WORD.match(version):
        raise BadRequestError(f"{where}: {value!r} is not an api-version (such as 2024-10-21 or 2025-04-01-preview)")
    return version


def responses_version_error(version: str | None, where: str = "plugins.azure.api_version") -> str | None:
    """Why the classic style cannot serve the Responses API with ``version``, or ``None`` if it can.

    Azure documents the Responses API on the classic URLs from ``2025-03-01-preview`` on; the GA
    versions (``2024-10-21`` and older) do not serve it.  A version that is not a date (such as
    ``preview``) is passed on as given: Azure says.
    """
    if version is None:
        return None
    match = _DATED_VERSION.match(version)
    if match is None:
        return None
    if match.group("preview") and match.group("date") >= RESPONSES_MIN_PREVIEW:
        return None
    return (
        f"the Responses API on the classic URL style needs a preview api-version of {RESPONSES_MIN_PREVIEW}-preview "
        f'or later, and api-version is {version!r}: set {where} (e.g. "2025-04-01-preview") or '
        'api_style = "v1" (no api-version)'
    )


def resolve(call: Call) -> AzureTarget:
    """The target of ``call`` from its configuration and the environment (no I/O)."""
    settings = call.config.plugins.get("azure") or {}
    if not isinstance(settings, Mapping):
        raise BadRequestError("plugins.azure: expected a table")
    _check(settings, _TOP_FIELDS, "plugins.azure")
    deployments = settings.get("deployments") or {}
    if not isinstance(deployments, Mapping):
        raise BadRequestError("plugins.azure.deployments: expected a table of deployments")
    deployment = call.model
    own: Mapping[str, Any] = {}
    where = "plugins.azure"
    if deployment is not None and deployment in deployments:
        own = deployments[deployment]
        where = f"plugins.azure.deployments.{deployment}"
        if not isinstance(own, Mapping):
            raise BadRequestError(f"{where}: expected a table")
        _check(own, _DEPLOYMENT_FIELDS, where)
    hinted = call.config.model_hint == "azure" and not call.gateway
    # a router target (``models``) with a base URL or key of its own: they come right after the deployment's
    route = call.state.get(ROUTE_STATE_KEY)
    routed_endpoint = isinstance(route, Route) and route.own_base_url
    routed_key = isinstance(route, Route) and route.own_key
    # the endpoint: the deployment's, the client's base_url, the settings', the environment
    implied_style: str | None = None
    own_endpoint = _text(own, "endpoint", where)
    configured = _text(settings, "endpoint", "plugins.azure")
    configured_endpoint = _endpoint(configured, "plugins.azure.endpoint") if configured else None
    if own_endpoint:
        endpoint, implied_style = _endpoint(own_endpoint, f"{where}.endpoint")
    elif routed_endpoint:
        endpoint, implied_style = _endpoint(call.base_url, "models target base_url")
    elif hinted and call.config.base_url:
        endpoint, implied_style = _endpoint(call.config.base_url, "base_url")
    elif configured_endpoint is not None:
        endpoint, implied_style = configured_endpoint
    else:
        raw = call.base_url if call.base_url != ENDPOINT_PLACEHOLDER else _env("AZURE_API_BASE")
        if not raw:
            raise BadRequestError(
                "no Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT (or AZURE_API_BASE), pass base_url with "
                "model_hint='azure', or set plugins.azure.endpoint in liter-llm.toml",
                provider=call.provider.name,
            )
        endpoint, implied_style = _endpoint(raw, "AZURE_OPENAI_ENDPOINT")
    # the key: a deployment on another resource gets only its own
    key = _secret(own, "api_key", where)
    if key is None and routed_key:
        key = call.api_key
    elif key is None and routed_endpoint and not own_endpoint:  # another resource: never the client's key
        value = _env("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")
        key = SecretStr(value) if value else None
    elif key is None and not own_endpoint:
        if hinted and call.config.api_key:
            key = call.config.api_key
        else:
            key = _secret(settings, "api_key", "plugins.azure")
            if key is None:
                value = _env("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")
                key = SecretStr(value) if value else None

    def pick(name: str, *variables: str) -> str | None:
        return _text(own, name, where) or _text(settings, name, "plugins.azure") or _env(*variables)

    style = (
        _style(_text(own, "api_style", where), f"{where}.api_style")
        or implied_style
        or _style(_text(settings, "api_style", "plugins.azure"), "plugins.azure.api_style")
        or _style(_env("AZURE_OPENAI_API_STYLE"), "AZURE_OPENAI_API_STYLE")
        or "classic"
    )
    version_source = f"{where}.api_version"
    version = _version(_text(own, "api_version", where), version_source)
    if version is None:
        version_source = "plugins.azure.api_version"
        version = _version(_text(settings, "api_version", "plugins.azure"), version_source)
    for variable in ("AZURE_OPENAI_API_VERSION", "AZURE_API_VERSION"):
        if version is None and _env(variable):
            version_source = variable
            version = _version(_env(variable), variable)
    if version is None:
        version_source = "plugins.azure.api_version"  # the default: say where to set another
        version = DEFAULT_API_VERSION
    provider = own.get("token_provider", settings.get("token_provider"))
    if provider is not None and not callable(provider):
        raise BadRequestError(f"{where}.token_provider: expected a callable returning a token")
    secret = _secret(own, "client_secret", where) or _secret(settings, "client_secret", "plugins.azure")
    if secret is None:
        value = _env("AZURE_CLIENT_SECRET")
        secret = SecretStr(value) if value else None
    default = own.get("default_credential", settings.get("default_credential", True))
    if not isinstance(default, bool):
        raise BadRequestError(f"{where}.default_credential: expected true or false")
    authority = (pick("authority_host", "AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY).rstrip("/")
    if not authority.startswith(("https://", "http://")):
        authority = "https://" + authority
    base_model = _text(own, "base_model", where)
    return AzureTarget(
        deployment=_text(own, "name", where) or deployment,
        endpoint=endpoint,
        style=style,
        api_version=None if style == "v1" else version,
        version_source=version_source,
        api_key=key,
        token_provider=provider,
        tenant_id=pick("tenant_id", "AZURE_TENANT_ID"),
        client_id=pick("client_id", "AZURE_CLIENT_ID"),
        client_secret=secret,
        authority=authority,
        scope=pick("scope") or DEFAULT_SCOPE,
        default_credential=default,
        base_model=base_model,
        clock=settings.get("clock"),
    )
