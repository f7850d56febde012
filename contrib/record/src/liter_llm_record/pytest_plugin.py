"""The pytest side of liter-llm-record: the ``llm_cassette`` fixture, its marker and ``--llm-record-mode``.

::

    @pytest.mark.llm_cassette                      # tests/cassettes/<module>/<test>.json, mode "once"
    def test_hello(llm_cassette):
        with liter_llm.create_client() as client:
            assert client.chat(model="openai/gpt-4o-mini", messages=[...]).choices

    @pytest.mark.llm_cassette(path="tests/cassettes/shared.json", mode="replay")
    def test_offline(llm_cassette): ...

``pytest --llm-record-mode=record`` records every cassette again;
``--llm-record-mode=replay`` (CI) never touches the network.  With
``strict=True`` in the marker, a recording no request used fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liter_llm_record import MODES, Cassette, CassetteError

__all__ = ["llm_cassette"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--llm-record-mode``."""
    group = parser.getgroup("liter-llm-record")
    group.addoption(
        "--llm-record-mode",
        choices=MODES,
        default=None,
        help="mode of every llm_cassette (default: each marker's mode, else 'once')",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``llm_cassette`` marker."""
    config.addinivalue_line(
        "markers", "llm_cassette(path=None, mode='once', strict=False): record/replay this test's LLM calls"
    )


def _default_path(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    module = Path(str(request.node.fspath))
    return module.parent / "cassettes" / module.stem / f"{name}.json"


@pytest.fixture
def llm_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """The test's cassette, active for the whole test (see the module docstring)."""
    marker = request.node.get_closest_marker("llm_cassette")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    if marker is not None and marker.args:
        options.setdefault("path", marker.args[0])
    path = Path(options.pop("path", None) or _default_path(request))
    mode = request.config.getoption("--llm-record-mode") or options.pop("mode", "once")
    options.pop("mode", None)
    strict = bool(options.pop("strict", False))
    with Cassette(path, mode, matcher=options.pop("matcher", None)) as cassette:
        yield cassette
    left = cassette.unused() if cassette.mode == "replay" else []
    if strict and left:
        raise CassetteError(f"cassette {path}: {len(left)} recording(s) no request used")
