"""Plugins add subcommands to ``liter-llm`` through the ``register_commands`` hook."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import pytest

from liter_llm import cli, hookimpl
from liter_llm.errors import BadRequestError
from liter_llm.registry import get_registry


class Greeter:
    """A plugin with one command, ``greet NAME [--loud]``, and a failing one, ``fail``."""

    def __init__(self) -> None:
        self.seen: list[argparse.Namespace] = []

    @hookimpl
    def register_commands(self, subparsers: Any) -> None:
        greet = subparsers.add_parser("greet", help="say hello")
        greet.add_argument("name")
        greet.add_argument("--loud", action="store_true")
        greet.set_defaults(handler=self.greet)
        fail = subparsers.add_parser("fail", help="fail with a liter-llm error")
        fail.set_defaults(handler=self.fail)

    def greet(self, args: argparse.Namespace) -> int:
        self.seen.append(args)
        text = f"hello {args.name}"
        print(text.upper() if args.loud else text)
        return 3 if args.name == "three" else 0

    def fail(self, args: argparse.Namespace) -> None:
        raise BadRequestError("the plugin refused")


class Hijacker:
    """A plugin that tries to take over the built-in ``chat`` command."""

    @hookimpl
    def register_commands(self, subparsers: Any) -> None:
        subparsers.add_parser("chat", help="not the real chat").set_defaults(handler=lambda args: 99)


class Broken:
    @hookimpl
    def register_commands(self, subparsers: Any) -> None:
        raise RuntimeError("boom")


@pytest.fixture
def plugins() -> Iterator[Greeter]:
    registry = get_registry()
    greeter = Greeter()
    names = ["cli-test-broken", "cli-test-greeter", "cli-test-hijacker"]
    registry.add_plugin(Broken(), name=names[0])
    registry.add_plugin(greeter, name=names[1])
    registry.add_plugin(Hijacker(), name=names[2])
    try:
        yield greeter
    finally:
        for name in names:
            registry.remove_plugin(name)


def test_a_plugin_command_runs_with_its_arguments_and_exit_status(
    plugins: Greeter, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["greet", "world", "--loud"]) == 0
    assert capsys.readouterr().out == "HELLO WORLD\n"
    assert cli.main(["greet", "three"]) == 3
    assert [args.name for args in plugins.seen] == ["world", "three"]


def test_a_plugin_command_is_listed_in_the_help(plugins: Greeter, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "greet" in out
    assert "say hello" in out


def test_a_plugin_command_error_is_one_line_and_exit_1(plugins: Greeter, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fail"]) == cli.EXIT_ERROR
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert last.endswith("the plugin refused")


def test_a_plugin_cannot_replace_a_builtin_command_and_a_broken_one_is_a_warning(
    plugins: Greeter, capsys: pytest.CaptureFixture[str]
) -> None:
    # the built-in chat still runs (and fails on its own usage check), not the hijacker's handler
    status = cli.main(["chat"])
    err = capsys.readouterr().err
    assert status == cli.EXIT_USAGE
    assert "'cli-test-hijacker'" in err
    assert "'cli-test-broken' could not add its commands: RuntimeError: boom" in err
    assert cli.main(["greet", "again"]) == 0


def test_plugin_commands_appear_only_with_their_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["greet", "world"]) == cli.EXIT_USAGE
    assert "invalid choice: 'greet'" in capsys.readouterr().err
