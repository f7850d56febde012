"""Azure OpenAI for liter-llm: ``azure/<deployment>`` models.

The requests are the OpenAI wire format (built by the core's public
builders), sent to the Azure URL of the call:

* classic: ``{endpoint}/openai/deployments/{deployment}/{path}?api-version=...``
  for the per-deployment operations (chat, embeddings, images, audio) and
  ``{endpoint}/openai/{path}?api-version=...`` for files, batches, responses
  and models;
* v1 (``api_style = "v1"``, or an endpoint ending in ``/openai/v1``):
  ``{endpoint}/openai/v1/{path}``, no api-version, the deployment as ``model``.

The key travels in ``api-key``; without one, a Microsoft Entra ID bearer
token (see :mod:`liter_llm_azure._entra`).  Where each setting comes from:
:mod:`liter_llm_azure._settings` and the docs page (``docs/providers/azure.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from liter_llm.errors import AuthenticationError, BadRequestError, LiterLlmError, parse_retry_after
from liter_llm.hookspecs import hookimpl
from liter_llm.providers import ProviderSpec
from liter_llm.types import AuthHeaderFormat
from liter_llm.wire import (
    build_chat_request,
    build_openai_request,
    chat_body,
    dump_json,
    header_auth,
    parse_openai_stream_event,
)
from liter_llm_azure._entra import (
    ClientCredentialAuth,
    DefaultCredentialAuth,
    TokenProviderAuth,
    token_cache,
)
from liter_llm_azure._errors import AzureContentFilterError, azure_error, filtered_categories
from liter_llm_azure._settings import (
    DEFAULT_API_VERSION,
    DEFAULT_SCOPE,
    ENDPOINT_PLACEHOLDER,
    RESPONSES_MIN_PREVIEW,
    AzureTarget,
    resolve,
    responses_version_error,
)

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_SCOPE",
    "ENDPOINTS",
    "RESPONSES_MIN_PREVIEW",
    "AzureContentFilterError",
    "AzureHooks",
    "AzureTarget",
    "azure_spec",
    "filtered_categories",
    "register_providers",
]

#: What Azure OpenAI serves through the OpenAI wire.
ENDPOINTS = frozenset({"chat", "embed", "models", "image", "speech", "transcribe", "files", "batches", "responses"})
#: OpenAI paths that live under ``/openai/deployments/{deployment}`` in the classic style.
_DEPLOYMENT_PATHS = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/images/generations",
    "/audio/speech",
    "/audio/transcriptions",
    "/audio/translations",
)
_TARGET = "liter_llm_azure.target"
#: The Responses API operations (the classic style serves them from a preview api-version on).
_RESPONSES_OPERATIONS = frozenset({"create_response", "retrieve_response", "cancel_response"})
#: The Call.state key the core's cost built-in reads: the model a call is priced as.
_PRICING_MODEL = "liter_llm.pricing_model"


def _target(call: Call) -> AzureTarget:
    target = call.state.get(_TARGET)
    if target is None:
        target = call.state[_TARGET] = resolve(call)
    return target


def _deployment_segment(call: Call, target: AzureTarget) -> str:
    if not target.deployment:
        raise BadRequestError(
            "model: an Azure OpenAI deployment is required (azure/<deployment>)", provider=call.provider.name
        )
    return quote(target.deployment, safe="-._~")


def azure_url(call: Call, target: AzureTarget, openai_path: str) -> str:
    """The Azure URL (without the query) of an OpenAI-format path such as ``/chat/completions``."""
    if target.style == "v1":
        return f"{target.endpoint}/openai/v1{openai_path}"
    if openai_path.startswith(_DEPLOYMENT_PATHS):
        return f"{target.endpoint}/openai/deployments/{_deployment_segment(call, target)}{openai_path}"
    return f"{target.endpoint}/openai{openai_path}"


def _openai_path(call: Call, request: httpx.Request) -> str:
    base_path = urlsplit(call.base_url).path.rstrip("/")
    path = request.url.path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    return path or "/"


def _with_model(request: httpx.Request, model: str) -> httpx.Request:
    """A JSON request whose ``model`` is ``model`` (the v1 style names the deployment in the body)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return request
    try:
        body = json.loads(request.content)
    except ValueError:
        return request
    if not isinstance(body, dict) or "model" not in body or body["model"] == model:
        return request
    body["model"] = model
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request(request.method, request.url, content=dump_json(body), headers=headers)


class AzureHooks:
    """Hooks that see only the ``azure`` provider's calls."""

    @hookimpl
    def build_request(self, call: Call) -> httpx.Request:
        """The core's OpenAI-format request, moved to the Azure URL of the call."""
        target = _target(call)
        if target.base_model:
            model = target.base_model
            call.state[_PRICING_MODEL] = model if "/" in model else f"azure/{model}"
        if call.operation in ("chat", "chat_stream") and target.style == "v1" and target.deployment:
            body = chat_body(call)
            body["model"] = target.deployment
            request = build_chat_request(call, body)
        else:
            if call.operation in _RESPONSES_OPERATIONS and target.style == "classic":
                why = responses_version_error(target.api_version, target.version_source)
                if why is not None:
                    raise BadRequestError(why, provider=call.provider.name)
            request = build_openai_request(call)
            # v1, and the classic paths outside /deployments/ (responses): the deployment is the body's model
            renamed = bool(target.deployment) and target.deployment != call.model
            if renamed and (target.style == "v1" or not _openai_path(call, request).startswith(_DEPLOYMENT_PATHS)):
                request = _with_model(request, str(target.deployment))
        url = httpx.URL(azure_url(call, target, _openai_path(call, request)))
        params = request.url.params
        if target.api_version:
            params = params.set("api-version", target.api_version)
        request.url = url.copy_with(params=params)
        return request

    @hookimpl
    def auth(self, call: Call) -> httpx.Auth:
        """The key in ``api-key``, else a Microsoft Entra ID bearer token (fetched in the flow)."""
        target = _target(call)
        if target.api_key:
            call.api_key = target.api_key
            return header_auth(call)
        if target.token_provider is not None:
            return TokenProviderAuth(target.token_provider, call.deadline)
        if target.tenant_id and target.client_id and target.client_secret:
            cache = token_cache(
                authority=target.authority,
                tenant_id=target.tenant_id,
                client_id=target.client_id,
                secret=target.client_secret.get_secret_value(),
                scope=target.scope,
                clock=target.clock,
            )
            return ClientCredentialAuth(cache, call.deadline)
        if target.default_credential:
            return DefaultCredentialAuth(target.scope, call.deadline)
        raise AuthenticationError(
            "no credentials for Azure OpenAI: set AZURE_OPENAI_API_KEY (or AZURE_API_KEY), pass api_key with "
            "model_hint='azure', set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or give a "
            "token_provider",
            provider=call.provider.name,
        )

    @hookimpl
    def parse_error(self, call: Call, response: httpx.Response) -> LiterLlmError | None:
        """Azure's error body: content-filter results, missing deployments, ``retry-after-ms``."""
        text = response.content.decode("utf-8", errors="replace")
        try:
            payload = json.loads(text) if text.strip()[:1] == "{" else None
        except (ValueError, RecursionError):
            payload = None
        target = call.state.get(_TARGET)
        return azure_error(
            response.status_code,
            payload,
            provider=call.provider.name,
            deployment=target.deployment if target is not None else call.model,
            endpoint=target.endpoint if target is not None else None,
            retry_after=parse_retry_after(response.headers),
            body=text or None,
        )

    @hookimpl
    def parse_stream_event(self, call: Call, event: Any) -> list[Any] | None:
        """OpenAI-format chunks; an error event with content-filter results is AzureContentFilterError."""
        data = getattr(event, "data", event)
        if not isinstance(data, str) or '"error"' not in data:
            return None  # the core's OpenAI-format default
        try:
            payload = json.loads(data)
        except ValueError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict) or "choices" in payload:
            return None
        error = payload["error"]
        status = error.get("status") if isinstance(error.get("status"), int) else 400
        mapped = azure_error(
            status,
            payload,
            provider=call.provider.name,
            deployment=call.model,
            endpoint=None,
            retry_after=None,
            body=data[:2000],
        )
        if isinstance(mapped, AzureContentFilterError):
            raise mapped
        return parse_openai_stream_event(call, data)


def azure_spec() -> ProviderSpec:
    """The ``azure`` provider."""
    return ProviderSpec(
        name="azure",
        display_name="Azure OpenAI",
        base_url=ENDPOINT_PLACEHOLDER,
        base_url_env="AZURE_OPENAI_ENDPOINT",
        api_key_env="AZURE_OPENAI_API_KEY",
        auth=AuthHeaderFormat.api_key("api-key"),
        requires_api_key=False,  # Entra ID needs no key; the auth hook fails before any I/O without credentials
        endpoints=ENDPOINTS,
        plugin=AzureHooks(),
        openai_wire=True,  # the OpenAI wire with Azure's URLs, auth and errors
    )


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register ``azure``: ``azure/<deployment>`` routes here."""
    register(azure_spec())
