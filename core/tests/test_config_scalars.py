"""The configuration's scalar fields structured without cattrs answer as the converter does.

``create_client(api_key=..., base_url=...)`` gives only scalar fields; ``liter_llm.config`` then
structures them with ``structure_scalars`` instead of building the cattrs converter (issue #16: the
converter's import and build were a large part of a process's first client).  Each case structures
the same table both ways and compares the configurations, or the exception's kind, field path and
problem.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liter_llm import SecretStr, create_async_client, create_client
from liter_llm._config_rules import located, scalar_structure
from liter_llm.config import ClientConfig, _structure, config_to_dict
from liter_llm.errors import BadRequestError

SCALAR_FIELDS = [f.name for f in attrs.fields(attrs.resolve_types(ClientConfig)) if scalar_structure(f.type)]

INTERESTING = [
    "",
    "  ",
    "x",
    " padded ",
    "http://127.0.0.1:8000/v1",
    " https://api.example.com/v1/ ",
    "ftp://example.com",
    "http://",
    "http://host:notaport/",
    "socks5://user:pass@127.0.0.1:1080",
    "socks5h://127.0.0.1:99999",
    "http://a b/",
    "redis://127.0.0.1:6379/0",
    "fail_open",
    "sk-test-key",
    "sk-test-key\n",
    "sk-\x00key",
    "sk-ключ",
    "${LITER_LLM_NOT_SET:-fallback}",
]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(INTERESTING),
    st.text(max_size=12),
    st.builds(SecretStr, st.sampled_from(["", "sk-a", "sk-b\n"])),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
tables = st.dictionaries(st.sampled_from(SCALAR_FIELDS), values, max_size=4)


def outcome(table: dict[str, Any], *, scalars_first: bool) -> Any:
    try:
        config = _structure(table, scalars_first=scalars_first)
    except Exception as exc:
        path, problem = located(exc)
        return ("error", path, type(problem).__name__, str(problem))
    key = config.api_key.get_secret_value() if config.api_key is not None else None
    return ("config", key, repr(config), config_to_dict(config))


def same(a: Any, b: Any) -> bool:
    if a[0] == "error" or b[0] == "error":
        return bool(a == b)
    return a[:3] == b[:3] and _nan_safe(a[3]) == _nan_safe(b[3])


def _nan_safe(shown: dict[str, Any]) -> dict[str, Any]:
    return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in shown.items()}


@settings(max_examples=400, deadline=None)
@given(tables)
def test_scalar_tables_structure_as_with_the_converter(table: dict[str, Any]) -> None:
    ours, converter = outcome(table, scalars_first=True), outcome(table, scalars_first=False)
    assert same(ours, converter), (table, ours, converter)


@pytest.mark.parametrize(
    "table",
    [
        {"api_key": "sk-a", "base_url": "http://127.0.0.1:9/v1", "timeout_secs": 5, "max_retries": 0},
        {"base_url": 3, "timeout_secs": "5"},  # two bad fields: the first declared is the one reported
        {"timeout_secs": 0.0},
        {"timeout_secs": 10**9},
        {"max_retries": True},
        {"max_response_bytes": 0},
        {"api_key": "sk-\nkey"},
        {"proxy": "http://user:secret@proxy:notaport"},
        {"cost_tracking": 1},
        {"model_hint": "  gpt-4o  "},
        {"cooldown_secs": None},
    ],
)
def test_documented_cases_structure_as_with_the_converter(table: dict[str, Any]) -> None:
    ours, converter = outcome(table, scalars_first=True), outcome(table, scalars_first=False)
    assert same(ours, converter), (ours, converter)


def test_a_table_with_a_section_or_a_list_goes_to_the_converter() -> None:
    from liter_llm._config_rules import structure_scalars

    assert structure_scalars(ClientConfig, {"api_key": "sk-a", "cache": {"max_entries": 3}}) is None
    assert structure_scalars(ClientConfig, {"fallbacks": ["gpt-4o"]}) is None
    assert structure_scalars(ClientConfig, {"extra_headers": {"x-a": "b"}}) is None


@pytest.mark.parametrize("make", [create_client, create_async_client])
def test_both_clients_refuse_a_bad_scalar_with_the_same_message(make: Any) -> None:
    with pytest.raises(BadRequestError) as info:
        make(api_key="sk-secret-key", base_url="ftp://example.com", timeout_secs=1)
    assert str(info.value).endswith("create_client: base_url: expected an http:// or https:// URL with a host")
    assert "sk-secret-key" not in str(info.value)


def test_creating_a_client_from_keywords_does_not_import_cattrs() -> None:
    code = (
        "import sys, liter_llm\n"
        "c = liter_llm.create_client(api_key='sk-a', base_url='http://127.0.0.1:9/v1', timeout_secs=5)\n"
        "c.close()\n"
        "a = liter_llm.create_async_client(api_key='sk-a', base_url='http://127.0.0.1:9/v1')\n"
        "assert 'cattrs' not in sys.modules, 'cattrs imported'\n"
        "liter_llm.create_client(api_key='sk-a', cache={'max_entries': 3}).close()\n"
        "assert 'cattrs' in sys.modules, 'a section goes through the converter'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
