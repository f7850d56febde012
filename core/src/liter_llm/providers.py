"""Provider descriptions: what a provider plugin registers.

An OpenAI-compatible provider is pure data: a :class:`ProviderSpec` with its
name, base URL, key variable and model prefixes.  A provider with its own
protocol adds ``plugin``: an object whose hooks see only that provider's
calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm.operations import OPERATIONS, Operation, field_of
from liter_llm.types import AuthHeaderFormat, _parse_auth

__all__ = [
    "ALL_ENDPOINTS",
    "ENDPOINT_OF_OPERATION",
    "PROVIDER_ENDPOINTS",
    "STRUCTURED_OUTPUT_MECHANISMS",
    "ProviderSpec",
]

#: Endpoint families a provider may offer; ``ProviderSpec.endpoints`` holds a subset.
ALL_ENDPOINTS = frozenset(field_of(n, "endpoint") for n in OPERATIONS if not field_of(n, "provider_only"))
#: Endpoint families only some providers' own APIs have (none of the OpenAI-compatible ones):
#: a provider plugin declares them itself; gateways and custom providers never get them.
PROVIDER_ENDPOINTS = frozenset(field_of(n, "endpoint") for n in OPERATIONS if field_of(n, "provider_only"))

#: The endpoint family each client operation needs (from :data:`liter_llm.operations.OPERATIONS`).
ENDPOINT_OF_OPERATION: Mapping[str, str] = {name: field_of(name, "endpoint") for name in OPERATIONS}


#: How a provider without its own plugin code is asked for structured output (``ProviderSpec.structured_output``):
#: ``json_schema``: ``response_format`` ``{"type": "json_schema", ...}`` sent as it is (the OpenAI form);
#: ``json_object``: ``{"type": "json_object"}`` (JSON mode) with the schema in the system prompt;
#: ``prompt``: no ``response_format`` at all, the schema in the system prompt.
STRUCTURED_OUTPUT_MECHANISMS = frozenset({"json_schema", "json_object", "prompt"})


def _structured_output(value: Any) -> str | None:
    if value is None:
        return None
    if value not in STRUCTURED_OUTPUT_MECHANISMS:
        raise ValueError(f"structured_output: {value!r} is not one of {sorted(STRUCTURED_OUTPUT_MECHANISMS)} (or None)")
    return str(value)


def _endpoints(value: Any) -> frozenset[str]:
    result = frozenset(value)
    unknown = result - ALL_ENDPOINTS - PROVIDER_ENDPOINTS
    if unknown:
        raise ValueError(f"unknown endpoints {sorted(unknown)}; known: {sorted(ALL_ENDPOINTS | PROVIDER_ENDPOINTS)}")
    return result


def _prefixes(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@frozen(kw_only=True, repr=False, eq=False)
class ProviderSpec(FrozenFields):
    """One provider, as a plugin registers it.

    Attributes:
        name: the routing name, used as the ``name/`` model prefix.
        base_url: the default API address (``None``: it must be configured).
        api_key_env: the environment variable holding the key (e.g. ``GROQ_API_KEY``).
        auth: how the key is sent: ``AuthHeaderFormat.BEARER``,
            ``AuthHeaderFormat.api_key("x-api-key")`` or ``AuthHeaderFormat.NONE``.
        requires_api_key: whether a call without a key fails before any I/O.
        model_prefixes: bare model prefixes that route here (``"claude-"``);
            the ``name/`` prefix always routes here.
        endpoints: the endpoint families offered (see :data:`ALL_ENDPOINTS`).
        base_url_env: the variable that overrides ``base_url``
            (default ``<NAME>_BASE_URL``).
        display_name: a human name for listings.
        plugin: an object with ``@hookimpl`` methods that see only this
            provider's calls, for a provider with its own protocol.
        extra_headers: headers sent on every request to this provider.
        param_mappings: request field renames on the wire (``{"max_completion_tokens": "max_tokens"}``).
        distribution: the distribution that registered it (filled in by the core).
        openai_wire: whether the core's OpenAI wire format builds the requests
            this provider's plugin does not build itself.  ``None`` (the
            default): true for a provider without a ``plugin`` (pure data),
            false for one with a plugin -- an operation its ``build_request``
            does not build is then ``EndpointNotSupportedError``, never sent in
            OpenAI format.  Set it ``True`` for a plugin that only adjusts the
            OpenAI format (an auth flow, a renamed parameter, a local transport).
    """

    name: str
    base_url: str | None = None
    api_key_env: str | None = None
    auth: AuthHeaderFormat = attrs.field(default=AuthHeaderFormat.BEARER, converter=_parse_auth)
    requires_api_key: bool = True
    model_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_prefixes)
    endpoints: frozenset[str] = attrs.field(default=frozenset({"chat", "embed", "models"}), converter=_endpoints)
    base_url_env: str | None = None
    display_name: str | None = None
    plugin: Any = attrs.field(default=None, eq=False, repr=False)
    extra_headers: Mapping[str, str] = attrs.field(factory=dict, converter=dict, eq=False)
    param_mappings: Mapping[str, str] = attrs.field(factory=dict, converter=dict, eq=False)
    distribution: str | None = attrs.field(default=None, eq=False)
    openai_wire: bool | None = attrs.field(default=None, eq=False)
    structured_output: str | None = attrs.field(default=None, converter=_structured_output, eq=False)

    @property
    def speaks_openai(self) -> bool:
        """Whether the core's OpenAI-format defaults build this provider's requests (see ``openai_wire``)."""
        return self.plugin is None if self.openai_wire is None else self.openai_wire

    @property
    def structured_output_mechanism(self) -> str:
        """``structured_output``, with the default (``"json_schema"``) filled in."""
        return self.structured_output or "json_schema"

    @property
    def base_url_variable(self) -> str:
        """The environment variable that overrides this provider's base URL."""
        return self.base_url_env or f"{self.name.upper().replace('-', '_')}_BASE_URL"

    def supports(self, operation: Operation[Any, Any] | str) -> bool:
        """Whether this provider offers the endpoint that ``operation`` (a row or its name) needs."""
        if isinstance(operation, str):
            return ENDPOINT_OF_OPERATION.get(operation, operation) in self.endpoints
        return operation.endpoint in self.endpoints
