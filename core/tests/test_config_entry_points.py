"""Every ``create_*client*`` entry point of both clients refuses bad configuration strictly, naming the field.

Unknown fields, wrong types, values out of range (a timeout beyond a year) and oversized documents (nested
too deeply) fail with a :class:`BadRequestError` ``source: path: problem``, through keyword options, JSON and
a file, in the sync and the async client; the API key given beside the mistake never appears in the message,
its repr or its traceback, in whatever field the key was put by mistake.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import liter_llm
from liter_llm.errors import AuthenticationError, BadRequestError, LiterLlmError

SECRET = "sk-test-SECRET-entry-0123456789"

#: (options, the path named, a fragment of the problem)
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"timeuot_secs": 5}, "timeuot_secs", "unknown field (did you mean 'timeout_secs'?)"),
    ({"cache": {"max_entrys": 5}}, "cache.max_entrys", "unknown field"),
    (
        {"providers": [{"name": "p", "base_url": "https://p.test", "model_prefixes": ["p"], "x": 1}]},
        "providers[0].x",
        "unknown field",
    ),
    ({"max_retries": "3"}, "max_retries", "expected an integer, got string"),
    ({"timeout_secs": True}, "timeout_secs", "expected a number, got boolean"),
    ({"budget": {"model_limits": {"gpt-4o": [1]}}}, "budget.model_limits.gpt-4o", "expected a number, got list"),
    ({"fallbacks": ["a", 3]}, "fallbacks[1]", "expected a string, got integer"),
    ({"timeout_secs": 10**12}, "timeout_secs", "must be at most 31536000 seconds"),
    ({"rate_limit": {"rpm": 0}}, "rate_limit.rpm", "must be at least 1, got 0"),
    ({"budget": {"enforcement": "medium"}}, "budget.enforcement", 'must be "hard" or "soft"'),
    ({"base_url": "ftp://x.test"}, "base_url", "expected an http:// or https:// URL with a host"),
    ({"extra_headers": {"X-A": "a\r\nB: c"}}, "extra_headers.X-A", "control character"),
]


def _sync(options: dict[str, Any]) -> None:
    liter_llm.create_client(**options).close()


async def _async(options: dict[str, Any]) -> None:
    await liter_llm.create_async_client(**options).aclose()


def _sync_json(options: dict[str, Any]) -> None:
    liter_llm.create_client_from_json(json.dumps(options)).close()


async def _async_json(options: dict[str, Any]) -> None:
    await liter_llm.create_async_client_from_json(json.dumps(options)).aclose()


ENTRY_POINTS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "create_client": (_sync, "create_client"),
    "create_async_client": (_async, "create_client"),
    "create_client_from_json": (_sync_json, "JSON config"),
    "create_async_client_from_json": (_async_json, "JSON config"),
}


def run(entry: str, options: dict[str, Any]) -> None:
    """Create (and close) a client through ``entry``; an async entry point is run to its end."""
    result = ENTRY_POINTS[entry][0](options)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


def refused(entry: str, options: dict[str, Any], error: type[LiterLlmError] = BadRequestError) -> LiterLlmError:
    """The error ``entry`` raises for ``options``."""
    with pytest.raises(error) as info:
        run(entry, options)
    return info.value


def all_text(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error)), repr(error.args)])


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(("options", "path", "problem"), BAD)
def test_every_entry_point_refuses_with_the_field_path(
    entry: str, options: dict[str, Any], path: str, problem: str
) -> None:
    error = refused(entry, {"api_key": SECRET, **options})
    source = ENTRY_POINTS[entry][1]
    assert error.message.startswith(f"{source}: {path}: "), error.message
    assert problem in error.message
    assert SECRET not in all_text(error)


def test_a_file_is_refused_the_same_way(tmp_path: Path) -> None:
    for suffix, text in (
        (".toml", f'api_key = "{SECRET}"\n[cache]\nmax_entrys = 1\n'),
        (".json", json.dumps({"api_key": SECRET, "cache": {"max_entrys": 1}})),
    ):
        path = tmp_path / f"conf{suffix}"
        path.write_text(text)
        with pytest.raises(BadRequestError) as info:
            liter_llm.create_client_from_file(str(path))
        assert info.value.message.startswith(f"{path}: cache.max_entrys: unknown field"), info.value.message
        assert SECRET not in all_text(info.value)


async def _async_text(text: str) -> None:
    await liter_llm.create_async_client_from_json(text).aclose()


@pytest.mark.parametrize("client", ["sync", "async"])
def test_an_oversized_document_is_refused(client: str) -> None:
    def create(text: str) -> None:
        if client == "sync":
            liter_llm.create_client_from_json(text).close()
        else:
            asyncio.run(_async_text(text))

    nested = '{"plugins": {"p": {"x": ' + "[" * 50_000 + "]" * 50_000 + "}}}"
    for text in ("[" * 100_000, nested):
        with pytest.raises(BadRequestError, match=r"JSON config: (invalid JSON: )?.*nested too deeply"):
            create(text)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    "options",
    [
        {"base_url": SECRET},
        {"model_hint": SECRET, "max_retries": -1},
        {"budget": {"enforcement": SECRET}},
        {"budget": {"model_limits": {SECRET: -1}}},
        {SECRET: 1},
        {"fallbacks": [SECRET, 3]},
        {"proxy": f"http://user:{SECRET}@"},
        {"extra_headers": {"Authorization": f"Bearer {SECRET}\nX: 1"}},
        {"providers": [{"name": SECRET, "base_url": SECRET, "model_prefixes": ["p"]}]},
        {"models": [{"name": "fast", "targets": [{"model": "m", "api_key": SECRET, "weight": -1}]}]},
    ],
)
def test_the_key_never_shows_in_a_refusal(entry: str, options: dict[str, Any]) -> None:
    error = refused(entry, {"api_key": SECRET, **options})
    assert SECRET not in all_text(error)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_an_unusable_key_is_an_authentication_error_that_does_not_show_it(entry: str) -> None:
    error = refused(entry, {"api_key": "sk-bad\x01" + SECRET}, AuthenticationError)
    assert "api_key" in error.message
    assert SECRET not in all_text(error)
