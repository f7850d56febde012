"""Routing: which provider a call goes to, at which address, with which key.

:class:`Routing` is a part of :class:`liter_llm._pipeline.Pipeline` (which sets
its attributes); nothing here does I/O or runs a hook.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from liter_llm._plugins import GATEWAY, Registry
from liter_llm._secret import SecretStr, clean_header_value, clean_secret
from liter_llm.config import ClientConfig
from liter_llm.errors import (
    BadRequestError,
)
from liter_llm.providers import ProviderSpec
from liter_llm.router import RouteTarget

__all__ = [
    "Routing",
]


def _checked_config(config: ClientConfig) -> ClientConfig:
    """The configuration with its key and extra header values stripped and checked (at client creation)."""
    changes: dict[str, Any] = {}
    key = config.api_key
    if key is not None:
        secret = key.get_secret_value() if isinstance(key, SecretStr) else str(key)
        cleaned = clean_secret(secret, "api_key")
        if cleaned != secret or not isinstance(key, SecretStr):
            changes["api_key"] = SecretStr(cleaned) if cleaned else None
    if config.extra_headers:
        headers = {name: clean_header_value(name, value) for name, value in config.extra_headers.items()}
        if headers != config.extra_headers:
            changes["extra_headers"] = headers
    return attrs.evolve(config, **changes) if changes else config


def _variable_key(spec: ProviderSpec) -> SecretStr | None:
    """The key in ``spec``'s API key variable (stripped and checked), or None."""
    if spec.api_key_env:
        value = os.environ.get(spec.api_key_env)
        if value:
            cleaned = clean_secret(value, spec.api_key_env, provider=spec.name)
            return SecretStr(cleaned) if cleaned else None
    return None


class Routing:
    """Provider lookup, the route of a model name, the base URL and the API key of a provider."""

    config: ClientConfig
    registry: Registry
    configured_providers: tuple[ProviderSpec, ...]
    gateway: bool
    _default: ProviderSpec | None

    def _lookup(self, name: str) -> ProviderSpec | None:
        if self.gateway and name == GATEWAY.name:  # a gateway client's calls (its transport, a cassette's too)
            return GATEWAY
        for spec in self.configured_providers:
            if spec.name == name:
                return spec
        return self.registry.get(name)

    def default_provider(self) -> ProviderSpec:
        """The provider used when the model names none (model_hint, else OpenAI)."""
        if self.gateway:
            return GATEWAY
        if self._default is not None:
            return self._default
        spec = self.registry.get("openai")
        if spec is None:
            raise BadRequestError(
                "no provider matched and the default provider 'openai' is not installed: "
                "pip install liter-llm (or name a provider: 'provider/model')"
            )
        return spec

    def route(self, model: str | None, provider_name: str | None = None) -> tuple[ProviderSpec, str | None]:
        """Resolve the provider and the on-the-wire model name."""
        if self.gateway:
            return GATEWAY, model
        if provider_name:
            spec = self._lookup(provider_name)
            if spec is None:
                raise BadRequestError(f"unknown provider {provider_name!r}")
            return spec, model
        if model is None:
            return self.default_provider(), None
        if not isinstance(model, str) or not model:
            raise BadRequestError("model: a non-empty model name is required")
        spec, wire_model = self.registry.resolve(model, self.configured_providers)
        if spec is None:
            if self._default is None and "/" in model:
                raise self._unknown_prefix(model)
            return self.default_provider(), model
        if not wire_model:
            raise BadRequestError(f"model: {model!r} names the provider {spec.name!r} but no model")
        return spec, wire_model

    def _unknown_prefix(self, model: str) -> BadRequestError:
        """An unknown ``name/`` prefix without a model_hint: never sent to the default provider."""
        prefix = model.partition("/")[0]
        names = {spec.name for spec in self.configured_providers} | set(self.registry.all_providers())
        import difflib  # only for this error's suggestions

        close = difflib.get_close_matches(prefix, sorted(names), n=3, cutoff=0.6)
        parts = [f"model {model!r}: unknown provider prefix {prefix!r}"]
        if close:
            parts.append(f"did you mean {' or '.join(repr(f'{name}/') for name in close)}?")
        failed = self.registry.failed
        if failed:
            parts.append("plugins that failed to load: " + "; ".join(f"{name} ({why})" for name, why in failed))
        parts.append(
            "to send the whole string to one provider as its model name, pass model_hint "
            "(or a base_url without model_hint for a gateway)"
        )
        return BadRequestError("; ".join(parts))

    def base_url(self, spec: ProviderSpec) -> str:
        """The address for ``spec``.

        The client's base_url for its hinted provider (or as a gateway), else
        ``<PROVIDER>_BASE_URL``, else the provider's default.
        """
        config = self.config
        if self.gateway or (config.base_url and self._default is not None and spec.name == self._default.name):
            assert config.base_url is not None
            return config.base_url.rstrip("/")
        env = os.environ.get(spec.base_url_variable)
        if env:
            return env.rstrip("/")
        if spec.base_url:
            return spec.base_url.rstrip("/")
        raise BadRequestError(
            f"provider {spec.name!r} has no base URL: set {spec.base_url_variable} or pass base_url with "
            f"model_hint={spec.name!r}",
            provider=spec.name,
        )

    def owns_client_key(self, spec: ProviderSpec) -> bool:
        """Whether the client's ``api_key`` was given for ``spec``.

        It was for the gateway, the hinted provider (else the default one,
        OpenAI) and custom providers (``register_custom_provider`` and the
        ``providers`` entries of the configuration, which have no key of their
        own); never for another provider, which uses its own variable.
        """
        if self.gateway or self.registry.is_custom(spec) or any(spec is p for p in self.configured_providers):
            return True
        if self._default is not None:
            return spec.name == self._default.name
        return spec.name == "openai"

    def api_key(self, spec: ProviderSpec) -> SecretStr | None:
        """The client's key for the provider it was given for, else the provider's variable; None if neither."""
        key = self.config.api_key
        if key and self.owns_client_key(spec):
            return key
        return _variable_key(spec)

    def target_key(self, spec: ProviderSpec, target: RouteTarget) -> SecretStr | None:
        """The key for a router target: its own; else, at its own base URL, the provider's variable only
        (the client's ``api_key`` belongs to the client's address); else the key :meth:`api_key` gives."""
        if target.api_key is not None:
            return target.api_key
        if target.base_url is None:
            return self.api_key(spec)
        return _variable_key(spec)
