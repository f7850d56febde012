"""The rule for two plugins declaring one provider name, in either load order, through both clients."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from liter_llm import hookimpl
from liter_llm._plugins import PluginLoadWarning, get_registry
from liter_llm.providers import ProviderSpec
from liter_llm.testing import RecordingTransport, openai_chat_body

USER = [{"role": "user", "content": "hi"}]


class Declares:
    """A plugin declaring provider ``twin`` at its own address, with or without a protocol plugin of its own."""

    def __init__(self, where: str, *, protocol: bool = False) -> None:
        self.where = where
        self.protocol = protocol

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name="twin",
                base_url=f"http://127.0.0.1:9/{self.where}",
                requires_api_key=False,
                endpoints={"chat"},
                plugin=Proto() if self.protocol else None,
                openai_wire=True if self.protocol else None,
            )
        )


class Proto:
    @hookimpl
    def build_request(self, call: Any) -> None:
        return None  # the OpenAI format (openai_wire=True): only the address tells them apart


def load(*plugins: tuple[str, Declares]) -> list[str]:
    registry = get_registry()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for distribution, plugin in plugins:
            registry.add_plugin(plugin, name=distribution, distribution=distribution)
    return [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in ("dist-a", "dist-b", "catalogue"):
        get_registry().remove_plugin(name)


def sent_to(make: Any) -> str:
    transport = RecordingTransport(lambda r: httpx.Response(200, json=openai_chat_body("ok")))
    api = make(transport=transport)
    api.chat(model="twin/m", messages=USER)
    return transport.requests[0].url.path.split("/")[1]


@pytest.mark.parametrize("order", ["a-first", "b-first"])
def test_the_distribution_that_sorts_first_wins_whatever_the_order_with_a_warning_naming_both(
    make: Any, cleanup: list[str], order: str
) -> None:
    pair = [("dist-a", Declares("a")), ("dist-b", Declares("b"))]
    caught = load(*(pair if order == "a-first" else pair[::-1]))
    assert len(caught) == 1, caught
    assert "'twin'" in caught[0]
    assert "dist-a" in caught[0]
    assert "dist-b" in caught[0]
    assert "keeping the one from dist-a" in caught[0]
    assert sent_to(make) == "a"


@pytest.mark.parametrize("order", ["catalogue-first", "plugin-first"])
def test_a_provider_with_its_own_plugin_beats_a_catalogue_row_quietly(
    make: Any, cleanup: list[str], order: str
) -> None:
    pair = [("catalogue", Declares("row")), ("dist-b", Declares("proto", protocol=True))]
    caught = load(*(pair if order == "catalogue-first" else pair[::-1]))
    assert caught == []  # the catalogue defers to a dedicated plugin: that is the design, not a conflict
    assert sent_to(make) == "proto"


def test_removing_the_loser_keeps_the_winner(make: Any, cleanup: list[str]) -> None:
    load(("dist-b", Declares("b")), ("dist-a", Declares("a")))  # b held the name first, then lost it
    get_registry().remove_plugin("dist-b")
    assert sent_to(make) == "a"
