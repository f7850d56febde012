"""Shared fixtures for the core's tests: an OpenAI-format fake provider and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from liter_llm import hookimpl
from liter_llm._plugins import get_registry
from liter_llm.providers import ALL_ENDPOINTS, ProviderSpec


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
                endpoints=ALL_ENDPOINTS,
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


def _load_support() -> Any:
    """Load test_pipeline_support.py once as ``liter_llm_core_pipeline_support``.

    pytest runs in importlib mode (several ``tests`` folders), so test modules
    cannot import each other; they import the support module by this name.
    """
    import importlib.util
    import sys
    from pathlib import Path

    name = "liter_llm_core_pipeline_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("test_pipeline_support.py"))
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_SUPPORT = _load_support()


@pytest.fixture(params=_SUPPORT.MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """``"sync"`` or ``"async"``: a test taking it runs once with each client."""
    return str(request.param)


@pytest.fixture(params=_SUPPORT.MODES)
def make(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory of sync or async client adapters (each test runs with both)."""
    factory = _SUPPORT.ApiFactory(request.param)
    yield factory
    factory.close()


@pytest.fixture
def server() -> Iterator[Any]:
    """A scriptable HTTP/1.1 server on 127.0.0.1."""
    srv = _SUPPORT.LocalServer()
    yield srv
    srv.close()
