"""The ``takes_part`` hook: a global plugin leaves the calls of a client whose configuration it does not serve.

Global plugins are added to the process's registry as an installed plugin would be (``add_plugin``), and
each test removes them again.  Every behaviour runs through the sync and the async client.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

from liter_llm import hookimpl
from liter_llm._plugins import get_registry
from liter_llm.errors import HookRejectedError, InternalError

USER = S.USER
CLIENTS = S.MockClients()


class Probe:
    """A global plugin that records the hooks it ran; ``answer`` decides ``takes_part`` (from its table)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ran: list[str] = []
        self.asked: list[Any] = []

    @hookimpl
    def takes_part(self, config: Any) -> bool | None:
        self.asked.append(config)
        table = config.plugins.get(self.name)
        if table is None:
            return False
        answer: bool | None = table.get("answer", True)
        return answer

    @hookimpl
    def wrap_call(self, call: Any) -> Generator[None, Any, None]:
        self.ran.append("wrap_call")
        yield

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.ran.append("on_request")

    @hookimpl
    def on_response(self, call: Any, response: Any) -> None:
        self.ran.append("on_response")


class Always:
    """A global plugin without ``takes_part``: it takes part in every client's calls."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    @hookimpl
    def on_request(self, call: Any) -> None:
        self.ran.append("on_request")


@pytest.fixture
def installed() -> Iterator[dict[str, Any]]:
    registry = get_registry()
    registry.ensure_loaded()
    plugins = {"probe": Probe("probe"), "always": Always()}
    for name, plugin in plugins.items():
        assert registry.add_plugin(plugin, name=f"takes-part-{name}") is not None
    try:
        yield plugins
    finally:
        for name in plugins:
            registry.remove_plugin(f"takes-part-{name}")


def chat(mode: str, **options: Any) -> Any:
    with CLIENTS.twin(mode, lambda request: S.openai_response("gpt-4o-mini"), **options) as api:
        return api.chat(model="gpt-4o-mini", messages=USER)


def test_a_plugin_that_answers_false_runs_no_hook_for_that_client(mode: str, installed: dict[str, Any]) -> None:
    chat(mode)
    assert installed["probe"].ran == []
    assert installed["always"].ran == ["on_request"]  # a plugin without the hook takes part


def test_a_plugin_takes_part_where_the_configuration_asks_for_it(mode: str, installed: dict[str, Any]) -> None:
    response = chat(mode, plugins={"probe": {"answer": True}})
    assert response.choices[0].message.content == "Hi"
    assert installed["probe"].ran == ["wrap_call", "on_request", "on_response"]


def test_none_means_it_takes_part(mode: str, installed: dict[str, Any]) -> None:
    chat(mode, plugins={"probe": {"answer": None}})
    assert installed["probe"].ran == ["wrap_call", "on_request", "on_response"]


def test_it_is_asked_once_per_client_with_the_clients_configuration(mode: str, installed: dict[str, Any]) -> None:
    probe = installed["probe"]
    with CLIENTS.twin(mode, lambda request: S.openai_response("m"), plugins={"probe": {"n": 1}}) as api:
        api.chat(model="m", messages=USER)
        api.chat(model="m", messages=USER)
    assert [config.plugins["probe"] for config in probe.asked] == [{"n": 1}]
    assert probe.ran.count("on_request") == 2


def test_disable_plugins_is_not_asked(mode: str, installed: dict[str, Any]) -> None:
    probe = installed["probe"]
    chat(mode, plugins={"probe": {}}, disable_plugins=["takes-part-probe"])
    assert probe.asked == []
    assert probe.ran == []


def test_a_takes_part_that_raises_fails_the_clients_creation_naming_it(mode: str, installed: dict[str, Any]) -> None:
    class Broken:
        @hookimpl
        def takes_part(self, config: Any) -> bool:
            raise KeyError("oops")

    class Refusing:
        @hookimpl
        def takes_part(self, config: Any) -> bool:
            raise HookRejectedError("not with this configuration")

    registry = get_registry()
    for name, plugin in (("broken", Broken()), ("refusing", Refusing())):
        registry.add_plugin(plugin, name=f"takes-part-{name}")
        try:
            with pytest.raises((InternalError, HookRejectedError)) as caught:
                CLIENTS.twin(mode, lambda request: S.openai_response("m"))
            if name == "broken":
                assert isinstance(caught.value, InternalError)
                assert caught.value.hook == "takes-part-broken.takes_part"
                assert isinstance(caught.value.__cause__, KeyError)
            else:  # a LiterLlmError passes as it is
                assert type(caught.value) is HookRejectedError
        finally:
            registry.remove_plugin(f"takes-part-{name}")


def test_the_guides_example_answers_from_its_table() -> None:
    import re
    from pathlib import Path

    import liter_llm
    from liter_llm.config import parse_config

    guide = (Path(__file__).resolve().parents[2] / "docs" / "writing-a-plugin.md").read_text()
    section = guide.split("#### Only for the clients that ask for it: `takes_part`", 1)[1]
    [block] = re.findall(r"```python\n(.*?)\n```", section.split("\n### ", 1)[0], re.S)
    namespace: dict[str, Any] = {"liter_llm": liter_llm}
    exec(compile(block, "docs/writing-a-plugin.md", "exec"), namespace)
    takes_part = namespace["takes_part"]
    assert takes_part(parse_config({"plugins": {"acme_audit": {}}})) is True
    assert takes_part(parse_config({})) is False
