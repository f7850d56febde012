"""Shared fixtures for the core's tests: an OpenAI-format fake provider and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from liter_llm import hookimpl
from liter_llm._plugins import get_registry
from liter_llm.providers import ProviderSpec


class FakeProviders:
    """A test plugin registering OpenAI-format providers ``fake`` (key needed) and ``fakelocal`` (no key)."""

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name="fake",
                base_url="http://127.0.0.1:9/v1",
                api_key_env="FAKE_API_KEY",
                model_prefixes=("fake-",),
                endpoints={
                    "chat",
                    "embed",
                    "models",
                    "image",
                    "speech",
                    "transcribe",
                    "moderate",
                    "rerank",
                    "search",
                    "ocr",
                    "files",
                    "batches",
                    "responses",
                },
            )
        )
        register(
            ProviderSpec(
                name="fakelocal",
                base_url="http://127.0.0.1:9/local/v1",
                requires_api_key=False,
                endpoints={"chat"},
            )
        )


@pytest.fixture(scope="session", autouse=True)
def fake_providers() -> Iterator[None]:
    registry = get_registry()
    registry.add_plugin(FakeProviders(), name="core-tests-fake")
    yield
    registry.remove_plugin("core-tests-fake")
