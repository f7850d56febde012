"""Configuration loading: strict validation, env expansion, JSON/TOML, discovery, redaction."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liter_llm._secret import SecretStr
from liter_llm.config import (
    BudgetConfig,
    CacheConfig,
    ClientConfig,
    ProviderConfig,
    RateLimitConfig,
    RedisConfig,
    config_to_dict,
    find_config_file,
    load_config_file,
    load_config_json,
    load_config_toml,
    parse_config,
)
from liter_llm.errors import BadRequestError
from liter_llm.router import ModelAlias, RouteTarget
from liter_llm.types import AuthHeaderFormat

SECRET = "sk-test-SECRET-0123456789abcdef"

FULL_TOML = f"""
api_key = "{SECRET}"
base_url = "https://gateway.example.test/v1"
model_hint = "openai"
timeout_secs = 30
connect_timeout_secs = 2.5
max_retries = 4
max_retry_delay_secs = 12.0
max_response_bytes = 1048576
fallbacks = ["anthropic/claude-3-5-haiku", "groq/llama-3.1-8b"]
cooldown_secs = 15
cost_tracking = true
preflight = true
tracing = true
proxy = "http://proxy.example.test:3128"
trust_env = false

[extra_headers]
X-Team = "research"

[cache]
max_entries = 50
ttl_seconds = 120
backend = "memory"

[budget]
global_limit = 10.5
enforcement = "soft"

[budget.model_limits]
gpt-4o = 5
"gpt-4.1" = 2.25

[rate_limit]
rpm = 60
tpm = 100000
window_seconds = 30
backend = "redis"
on_outage = "fail_open"

[redis]
url = "rediss://redis.example.test:6380/1"
key_prefix = "app:"
timeout_secs = 0.25
on_outage = "fail_closed"

[[providers]]
name = "my-provider"
base_url = "https://api.my-provider.test/v1"
auth_header = "bearer"
model_prefixes = ["my-"]

[[providers]]
name = "local"
base_url = "http://localhost:8080/v1"
auth_header = "none"
model_prefixes = ["local/", "llama-"]

[plugins.azure]
api_version = "2024-10-21"

[plugins.azure.deployments.prod-chat]
base_model = "gpt-4o"

[[models]]
name = "fast"
strategy = "least-busy"
targets = [
  {{ model = "openai/gpt-4o-mini", weight = 3 }},
  {{ model = "azure/my-deploy", api_key = "sk-azure-0123", base_url = "https://x.openai.azure.test", id = "az" }},
]
"""

FULL_DATA: dict[str, Any] = {
    "api_key": SECRET,
    "base_url": "https://gateway.example.test/v1",
    "model_hint": "openai",
    "timeout_secs": 30,
    "connect_timeout_secs": 2.5,
    "max_retries": 4,
    "max_retry_delay_secs": 12.0,
    "max_response_bytes": 1048576,
    "extra_headers": {"X-Team": "research"},
    "cache": {"max_entries": 50, "ttl_seconds": 120, "backend": "memory"},
    "budget": {"global_limit": 10.5, "model_limits": {"gpt-4o": 5, "gpt-4.1": 2.25}, "enforcement": "soft"},
    "rate_limit": {"rpm": 60, "tpm": 100000, "window_seconds": 30, "backend": "redis", "on_outage": "fail_open"},
    "redis": {
        "url": "rediss://redis.example.test:6380/1",
        "key_prefix": "app:",
        "timeout_secs": 0.25,
        "on_outage": "fail_closed",
    },
    "fallbacks": ["anthropic/claude-3-5-haiku", "groq/llama-3.1-8b"],
    "cooldown_secs": 15,
    "cost_tracking": True,
    "preflight": True,
    "tracing": True,
    "proxy": "http://proxy.example.test:3128",
    "trust_env": False,
    "providers": [
        {
            "name": "my-provider",
            "base_url": "https://api.my-provider.test/v1",
            "auth_header": "bearer",
            "model_prefixes": ["my-"],
        },
        {
            "name": "local",
            "base_url": "http://localhost:8080/v1",
            "auth_header": "none",
            "model_prefixes": ["local/", "llama-"],
        },
    ],
    "plugins": {"azure": {"api_version": "2024-10-21", "deployments": {"prod-chat": {"base_model": "gpt-4o"}}}},
    "models": [
        {
            "name": "fast",
            "strategy": "least-busy",
            "targets": [
                {"model": "openai/gpt-4o-mini", "weight": 3},
                {
                    "model": "azure/my-deploy",
                    "api_key": "sk-azure-0123",
                    "base_url": "https://x.openai.azure.test",
                    "id": "az",
                },
            ],
        }
    ],
}

EXPECTED = ClientConfig(
    api_key=SecretStr(SECRET),
    base_url="https://gateway.example.test/v1",
    model_hint="openai",
    timeout_secs=30.0,
    connect_timeout_secs=2.5,
    max_retries=4,
    max_retry_delay_secs=12.0,
    max_response_bytes=1048576,
    extra_headers={"X-Team": "research"},
    cache=CacheConfig(max_entries=50, ttl_seconds=120.0, backend="memory"),
    budget=BudgetConfig(global_limit=10.5, model_limits={"gpt-4o": 5.0, "gpt-4.1": 2.25}, enforcement="soft"),
    rate_limit=RateLimitConfig(rpm=60, tpm=100000, window_seconds=30.0, backend="redis", on_outage="fail_open"),
    redis=RedisConfig(
        url="rediss://redis.example.test:6380/1", key_prefix="app:", timeout_secs=0.25, on_outage="fail_closed"
    ),
    fallbacks=["anthropic/claude-3-5-haiku", "groq/llama-3.1-8b"],
    cooldown_secs=15.0,
    cost_tracking=True,
    preflight=True,
    tracing=True,
    proxy="http://proxy.example.test:3128",
    trust_env=False,
    providers=[
        ProviderConfig(
            name="my-provider",
            base_url="https://api.my-provider.test/v1",
            auth_header=AuthHeaderFormat.BEARER,
            model_prefixes=["my-"],
        ),
        ProviderConfig(
            name="local",
            base_url="http://localhost:8080/v1",
            auth_header=AuthHeaderFormat.NONE,
            model_prefixes=["local/", "llama-"],
        ),
    ],
    plugins={"azure": {"api_version": "2024-10-21", "deployments": {"prod-chat": {"base_model": "gpt-4o"}}}},
    models=[
        ModelAlias(
            name="fast",
            strategy="least-busy",
            targets=(
                RouteTarget(model="openai/gpt-4o-mini", weight=3.0, id="fast[0]"),
                RouteTarget(
                    model="azure/my-deploy",
                    api_key=SecretStr("sk-azure-0123"),
                    base_url="https://x.openai.azure.test",
                    id="az",
                ),
            ),
        )
    ],
)


def bad(data: Any, **kwargs: Any) -> str:
    """Parse ``data`` expecting a BadRequestError; return its message."""
    with pytest.raises(BadRequestError) as info:
        parse_config(data, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------
# Every field, JSON and TOML
# ---------------------------------------------------------------------------


def test_every_field_from_json_and_toml_gives_the_same_config() -> None:
    from_json = load_config_json(json.dumps(FULL_DATA))
    from_toml = load_config_toml(FULL_TOML)
    from_bytes = load_config_json(json.dumps(FULL_DATA).encode())
    assert from_json == EXPECTED
    assert from_toml == EXPECTED
    assert from_bytes == EXPECTED
    assert parse_config(FULL_DATA) == EXPECTED


def test_all_fields_are_covered_by_the_full_document() -> None:
    assert set(FULL_DATA) == {field.name for field in attrs.fields(ClientConfig)}


def test_types_after_parsing() -> None:
    cfg = load_config_json(json.dumps(FULL_DATA))
    assert isinstance(cfg.api_key, SecretStr)
    assert cfg.api_key.get_secret_value() == SECRET
    assert isinstance(cfg.timeout_secs, float)  # an int is accepted for a float
    assert isinstance(cfg.cooldown_secs, float)
    assert cfg.budget is not None
    assert all(isinstance(v, float) for v in cfg.budget.model_limits.values())


def test_empty_config_gives_defaults() -> None:
    assert parse_config({}) == ClientConfig()
    assert load_config_json("{}") == ClientConfig()
    assert load_config_toml("") == ClientConfig()


def test_empty_sections_give_section_defaults() -> None:
    cfg = load_config_toml("[cache]\n[budget]\n[rate_limit]\n")
    assert cfg.cache == CacheConfig()
    assert cfg.budget == BudgetConfig()
    assert cfg.rate_limit == RateLimitConfig()


def test_json_null_for_optional_fields() -> None:
    cfg = load_config_json(
        '{"api_key": null, "base_url": null, "model_hint": null, "cache": null, "budget": {"global_limit": null},'
        ' "rate_limit": {"rpm": null, "tpm": null}, "cooldown_secs": null}'
    )
    assert cfg.api_key is None
    assert cfg.cache is None
    assert cfg.budget == BudgetConfig()
    assert cfg.rate_limit == RateLimitConfig()


def test_empty_api_key_is_no_key() -> None:
    assert parse_config({"api_key": ""}).api_key is None


def test_provider_auth_header_defaults_to_bearer() -> None:
    cfg = parse_config({"providers": [{"name": "p", "base_url": "https://p.test", "model_prefixes": ["p-"]}]})
    assert cfg.providers[0].auth_header == AuthHeaderFormat.BEARER


# ---------------------------------------------------------------------------
# Unknown fields
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"timeout": 5}, "timeout"),
        ({"cache": {"max_entrys": 5}}, "cache.max_entrys"),
        ({"budget": {"limit": 5}}, "budget.limit"),
        ({"rate_limit": {"rpd": 5}}, "rate_limit.rpd"),
        (
            {
                "providers": [
                    {"name": "a", "base_url": "https://a.test", "model_prefixes": ["a"]},
                    {"name": "b", "base_url": "https://b.test", "model_prefixes": ["b"], "api_key_env": "B"},
                ]
            },
            "providers[1].api_key_env",
        ),
    ],
)
def test_unknown_fields_are_named_with_their_path(data: dict[str, Any], path: str) -> None:
    message = bad(data)
    assert f": {path}: unknown field" in message


def test_unknown_field_suggests_the_close_name() -> None:
    assert "did you mean 'max_entries'" in bad({"cache": {"max_entrys": 5}})


def test_unknown_field_in_json_and_toml() -> None:
    with pytest.raises(BadRequestError, match=r"cache\.max_entrys: unknown field"):
        load_config_json('{"cache": {"max_entrys": 1}}')
    with pytest.raises(BadRequestError, match=r"cache\.max_entrys: unknown field"):
        load_config_toml("[cache]\nmax_entrys = 1\n")


# ---------------------------------------------------------------------------
# Wrong types and values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"api_key": 123}, "api_key"),
        ({"base_url": 1}, "base_url"),
        ({"base_url": "ftp://x.test"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"model_hint": ["openai"]}, "model_hint"),
        ({"model_hint": ""}, "model_hint"),
        ({"timeout_secs": True}, "timeout_secs"),
        ({"timeout_secs": "30"}, "timeout_secs"),
        ({"timeout_secs": -1}, "timeout_secs"),
        ({"timeout_secs": 0}, "timeout_secs"),
        ({"timeout_secs": None}, "timeout_secs"),
        ({"timeout_secs": float("nan")}, "timeout_secs"),
        ({"timeout_secs": float("inf")}, "timeout_secs"),
        ({"connect_timeout_secs": -0.5}, "connect_timeout_secs"),
        ({"max_retries": 2.0}, "max_retries"),
        ({"max_retries": False}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retry_delay_secs": -3}, "max_retry_delay_secs"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"max_response_bytes": "1MB"}, "max_response_bytes"),
        ({"extra_headers": ["X-A: b"]}, "extra_headers"),
        ({"extra_headers": {"X-A": 1}}, "extra_headers.X-A"),
        ({"extra_headers": {"X-A": "a\r\nInjected: yes"}}, "extra_headers.X-A"),
        ({"extra_headers": {"Bad Header": "v"}}, 'extra_headers["Bad Header"]'),
        ({"cache": 5}, "cache"),
        ({"cache": {"max_entries": -1}}, "cache.max_entries"),
        ({"cache": {"max_entries": 1.5}}, "cache.max_entries"),
        ({"cache": {"ttl_seconds": -1}}, "cache.ttl_seconds"),
        ({"cache": {"ttl_seconds": True}}, "cache.ttl_seconds"),
        ({"cache": {"backend": ""}}, "cache.backend"),
        ({"budget": []}, "budget"),
        ({"budget": {"global_limit": -0.01}}, "budget.global_limit"),
        ({"budget": {"global_limit": "10"}}, "budget.global_limit"),
        ({"budget": {"model_limits": {"gpt-4o": "x"}}}, "budget.model_limits.gpt-4o"),
        ({"budget": {"model_limits": {"gpt-4o": -1}}}, "budget.model_limits.gpt-4o"),
        ({"budget": {"model_limits": {"gpt-4o": True}}}, "budget.model_limits.gpt-4o"),
        ({"budget": {"model_limits": {"gpt-4.1": -1}}}, 'budget.model_limits["gpt-4.1"]'),
        ({"budget": {"model_limits": [1]}}, "budget.model_limits"),
        ({"budget": {"enforcement": "medium"}}, "budget.enforcement"),
        ({"budget": {"enforcement": True}}, "budget.enforcement"),
        ({"budget": {"enforcement": "HARD"}}, "budget.enforcement"),
        ({"rate_limit": {"rpm": -5}}, "rate_limit.rpm"),
        ({"rate_limit": {"rpm": 0}}, "rate_limit.rpm"),
        ({"rate_limit": {"tpm": 1.5}}, "rate_limit.tpm"),
        ({"rate_limit": {"window_seconds": 0}}, "rate_limit.window_seconds"),
        ({"fallbacks": "gpt-4o"}, "fallbacks"),
        ({"fallbacks": ["gpt-4o", 3]}, "fallbacks[1]"),
        ({"fallbacks": ["gpt-4o", ""]}, "fallbacks[1]"),
        ({"cooldown_secs": -1}, "cooldown_secs"),
        ({"cost_tracking": 1}, "cost_tracking"),
        ({"preflight": "yes"}, "preflight"),
        ({"tracing": "true"}, "tracing"),
        ({"providers": {"name": "x"}}, "providers"),
        ({"providers": ["x"]}, "providers[0]"),
    ],
)
def test_wrong_types_and_values_name_the_field(data: dict[str, Any], path: str) -> None:
    message = bad(data)
    assert f"config: {path}: " in message, message


def test_the_removed_health_check_secs_is_an_unknown_field() -> None:
    # it was reserved and did nothing; a configuration that still sets it is told so
    assert "config: health_check_secs: unknown field" in bad({"health_check_secs": 60})


def good_provider(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "p", "base_url": "https://p.test/v1", "model_prefixes": ["p-"]}
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        (good_provider(name=""), "providers[1].name"),
        (good_provider(name="   "), "providers[1].name"),
        (good_provider(name=3), "providers[1].name"),
        (good_provider(base_url="ftp://p.test"), "providers[1].base_url"),
        (good_provider(base_url="p.test/v1"), "providers[1].base_url"),
        (good_provider(base_url="https://"), "providers[1].base_url"),
        (good_provider(base_url=""), "providers[1].base_url"),
        (good_provider(model_prefixes=[]), "providers[1].model_prefixes"),
        (good_provider(model_prefixes="p-"), "providers[1].model_prefixes"),
        (good_provider(model_prefixes=["p-", ""]), "providers[1].model_prefixes[1]"),
        (good_provider(auth_header="not a header name"), "providers[1].auth_header"),
        (good_provider(auth_header=""), "providers[1].auth_header"),
        (good_provider(auth_header={"api_key": 3}), "providers[1].auth_header"),
        (good_provider(auth_header={"api_key": "x", "extra": "y"}), "providers[1].auth_header"),
        (good_provider(auth_header=42), "providers[1].auth_header"),
        ({"base_url": "https://p.test", "model_prefixes": ["p"]}, "providers[1].name"),
        ({"name": "p", "model_prefixes": ["p"]}, "providers[1].base_url"),
        ({"name": "p", "base_url": "https://p.test"}, "providers[1].model_prefixes"),
        (good_provider(name="first"), "providers[1].name"),  # duplicate name
    ],
)
def test_invalid_provider_entries(entry: dict[str, Any], path: str) -> None:
    first = good_provider(name="first")
    message = bad({"providers": [first, entry]})
    assert f"config: {path}: " in message, message


def test_parse_config_refuses_a_non_mapping() -> None:
    for value in ([], "x", 3, None):
        with pytest.raises(BadRequestError):
            parse_config(value)  # type: ignore[arg-type]


def test_non_string_keys_are_refused() -> None:
    assert "keys must be strings" in bad({"budget": {"model_limits": {1: 2.0}}})
    with pytest.raises(BadRequestError):
        parse_config({1: 2})  # type: ignore[dict-item]


def test_source_prefixes_messages() -> None:
    assert bad({"timeout_secs": -1}, source="/etc/liter-llm.toml").startswith(
        "bad request: /etc/liter-llm.toml: timeout_secs:"
    )


# JSON-like values of any shape; whatever parse_config does with them, only BadRequestError may escape.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "api_key",
        "base_url",
        "timeout_secs",
        "max_retries",
        "extra_headers",
        "cache",
        "budget",
        "rate_limit",
        "fallbacks",
        "providers",
        "tracing",
        "cooldown_secs",
    ]
)
section_keys = st.sampled_from(
    [
        *("max_entries", "ttl_seconds", "backend", "global_limit", "model_limits", "enforcement", "rpm", "tpm"),
        *("window_seconds", "name", "base_url", "auth_header", "model_prefixes", "x"),
    ]
)
section_values = st.dictionaries(section_keys, json_values, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        field_names,
        json_values | section_values | st.lists(section_values, max_size=2),
        max_size=4,
    )
)
def test_fuzz_only_bad_request_escapes(data: dict[str, Any]) -> None:
    try:
        cfg = parse_config(data, env={})
    except BadRequestError:
        return
    assert isinstance(cfg, ClientConfig)


# ---------------------------------------------------------------------------
# Environment expansion
# ---------------------------------------------------------------------------


def test_env_expansion_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_TEST_KEY", SECRET)
    monkeypatch.setenv("LL_TEST_HOST", "gw.example.test")
    monkeypatch.setenv("LL_TEST_TEAM", "research")
    monkeypatch.setenv("LL_TEST_PREFIX", "my-")
    monkeypatch.delenv("LL_TEST_UNSET", raising=False)
    cfg = load_config_toml(
        """
        api_key = "${LL_TEST_KEY}"
        base_url = "https://${LL_TEST_HOST}/v1"
        model_hint = "${LL_TEST_UNSET:-openai}"
        fallbacks = ["${LL_TEST_PREFIX}model"]
        [extra_headers]
        X-Team = "${LL_TEST_TEAM}"
        [budget]
        enforcement = "${LL_TEST_UNSET:-soft}"
        [[providers]]
        name = "p"
        base_url = "https://${LL_TEST_HOST}"
        model_prefixes = ["${LL_TEST_PREFIX}"]
        """
    )
    assert cfg.api_key == SecretStr(SECRET)
    assert cfg.base_url == "https://gw.example.test/v1"
    assert cfg.model_hint == "openai"
    assert cfg.fallbacks == ["my-model"]
    assert cfg.extra_headers == {"X-Team": "research"}
    assert cfg.budget is not None
    assert cfg.budget.enforcement == "soft"
    assert cfg.providers[0].base_url == "https://gw.example.test"
    assert cfg.providers[0].model_prefixes == ["my-"]


def test_env_default_used_when_empty_and_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_TEST_EMPTY", "")
    monkeypatch.delenv("LL_TEST_UNSET", raising=False)
    assert parse_config({"model_hint": "${LL_TEST_EMPTY:-groq}"}).model_hint == "groq"
    assert parse_config({"model_hint": "${LL_TEST_UNSET:-groq}"}).model_hint == "groq"
    assert parse_config({"api_key": "${LL_TEST_UNSET:-}"}).api_key is None


def test_env_given_explicitly() -> None:
    cfg = parse_config({"base_url": "https://${HOST}"}, env={"HOST": "h.test"})
    assert cfg.base_url == "https://h.test"


def test_literal_dollar_brace_escape() -> None:
    cfg = parse_config({"extra_headers": {"X-Template": "$${NOT_EXPANDED} and $5"}}, env={})
    assert cfg.extra_headers == {"X-Template": "${NOT_EXPANDED} and $5"}


def test_expansion_happens_before_validation() -> None:
    message = bad({"cache": {"backend": "${EMPTY}"}}, env={"EMPTY": ""})
    assert "cache.backend: must not be empty" in message
    # A number given as a variable is still a string: strict types.
    assert "timeout_secs: expected a number" in bad({"timeout_secs": "${T}"}, env={"T": "5"})


def test_unset_variable_names_field_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LL_TEST_MISSING", raising=False)
    message = bad({"providers": [good_provider(base_url="https://${LL_TEST_MISSING}/v1")]})
    assert "providers[0].base_url" in message
    assert "LL_TEST_MISSING" in message
    assert "not set" in message


def test_unset_api_key_variable_names_variable_not_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LL_TEST_MISSING_KEY", raising=False)
    monkeypatch.setenv("LL_TEST_OTHER", SECRET)
    message = bad({"api_key": "${LL_TEST_MISSING_KEY}", "base_url": "https://${LL_TEST_OTHER}.test"})
    assert "api_key" in message
    assert "LL_TEST_MISSING_KEY" in message
    assert SECRET not in message


def test_expanded_secret_never_shown_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_TEST_KEY", SECRET)
    # The key's variable is put (by mistake) into another field: the message must not show it.
    for data in (
        {"api_key": "${LL_TEST_KEY}", "base_url": "${LL_TEST_KEY}"},
        {"api_key": "${LL_TEST_KEY}", "budget": {"enforcement": "${LL_TEST_KEY}"}},
        {"api_key": "${LL_TEST_KEY}", "providers": [good_provider(auth_header="Bearer ${LL_TEST_KEY}")]},
        {"base_url": "${LL_TEST_KEY}"},
    ):
        assert SECRET not in bad(data)


@pytest.mark.parametrize("value", ["${", "x${UNCLOSED", "${1BAD}", "${}", "${A B}", "${:-x}"])
def test_malformed_references(value: str) -> None:
    message = bad({"model_hint": value}, env={})
    assert "model_hint" in message


# ---------------------------------------------------------------------------
# JSON and TOML decoding errors
# ---------------------------------------------------------------------------


def test_invalid_json_gives_line_and_column() -> None:
    with pytest.raises(BadRequestError) as info:
        load_config_json('{\n  "timeout_secs": 5,\n  oops\n}')
    assert "line 3, column 3" in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"), [("[1, 2]", "list"), ('"x"', "string"), ("3", "integer"), ("null", "null")]
)
def test_json_top_level_must_be_an_object(text: str, fragment: str) -> None:
    with pytest.raises(BadRequestError, match="top level must be a JSON object") as info:
        load_config_json(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "{", '{"a": NaN}', '{"timeout_secs": Infinity}', '{"a": 1, "a": 2}', b"\xff\xfe{}", "[" * 100000],
)
def test_bad_json_documents(text: str | bytes) -> None:
    with pytest.raises(BadRequestError):
        load_config_json(text)


def test_json_with_bom() -> None:
    assert load_config_json(b'\xef\xbb\xbf{"max_retries": 1}').max_retries == 1


def test_json_error_does_not_carry_the_document() -> None:
    with pytest.raises(BadRequestError) as info:
        load_config_json(f'{{"api_key": "{SECRET}", oops}}')
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize("text", ["a = ", "[cache\nmax_entries = 1", "timeout_secs = 1\ntimeout_secs = 2", b"\xff = 1"])
def test_invalid_toml(text: str | bytes) -> None:
    with pytest.raises(BadRequestError, match=r"TOML|UTF-8"):
        load_config_toml(text)


def test_invalid_toml_names_the_line() -> None:
    with pytest.raises(BadRequestError, match="line 2"):
        load_config_toml("max_retries = 1\nbroken = \n")


def test_toml_types_are_strict() -> None:
    with pytest.raises(BadRequestError, match=r"timeout_secs: expected a number, got datetime"):
        load_config_toml("timeout_secs = 1979-05-27T07:32:00Z")
    with pytest.raises(BadRequestError, match=r"max_retries: expected an integer, got number"):
        load_config_toml("max_retries = 2.0")


# ---------------------------------------------------------------------------
# File discovery and loading
# ---------------------------------------------------------------------------


@pytest.fixture
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("LITER_LLM_CONFIG", raising=False)
    return monkeypatch


def test_find_config_in_working_directory(tmp_path: Path, no_config_env: pytest.MonkeyPatch) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 7\n")
    no_config_env.chdir(tmp_path)
    assert find_config_file() == (tmp_path / "liter-llm.toml").resolve()
    cfg = load_config_file()
    assert cfg is not None
    assert cfg.max_retries == 7


def test_find_config_in_a_parent(tmp_path: Path, no_config_env: pytest.MonkeyPatch) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 3\n")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    no_config_env.chdir(deep)
    assert find_config_file() == (tmp_path / "liter-llm.toml").resolve()
    assert find_config_file(deep) == (tmp_path / "liter-llm.toml").resolve()


def test_nearest_config_wins(tmp_path: Path, no_config_env: pytest.MonkeyPatch) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 1\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "liter-llm.toml").write_text("max_retries = 2\n")
    no_config_env.chdir(inner)
    cfg = load_config_file()
    assert cfg is not None
    assert cfg.max_retries == 2


def test_a_directory_named_like_the_file_is_skipped(tmp_path: Path, no_config_env: pytest.MonkeyPatch) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 4\n")
    inner = tmp_path / "inner"
    (inner / "liter-llm.toml").mkdir(parents=True)
    assert find_config_file(inner) == (tmp_path / "liter-llm.toml").resolve()


def test_no_config_found(tmp_path: Path, no_config_env: pytest.MonkeyPatch) -> None:
    start = tmp_path / "empty"
    start.mkdir()
    if any((parent / "liter-llm.toml").is_file() for parent in (start, *start.resolve().parents)):
        pytest.skip("a liter-llm.toml exists above the temporary directory")
    no_config_env.chdir(start)
    assert find_config_file() is None
    assert load_config_file() is None


def test_config_env_var_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 1\n")
    named = tmp_path / "elsewhere.json"
    named.write_text('{"max_retries": 9}')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LITER_LLM_CONFIG", str(named))
    assert find_config_file() == named
    cfg = load_config_file()
    assert cfg is not None
    assert cfg.max_retries == 9


def test_config_env_var_naming_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("LITER_LLM_CONFIG", str(missing))
    with pytest.raises(BadRequestError) as info:
        find_config_file()
    assert str(missing) in str(info.value)
    assert "LITER_LLM_CONFIG" in str(info.value)
    with pytest.raises(BadRequestError):
        load_config_file()


def test_empty_config_env_var_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 5\n")
    monkeypatch.setenv("LITER_LLM_CONFIG", "")
    assert find_config_file(tmp_path) == (tmp_path / "liter-llm.toml").resolve()


def test_load_given_file(tmp_path: Path) -> None:
    toml_path = tmp_path / "conf.toml"
    toml_path.write_text(FULL_TOML)
    json_path = tmp_path / "conf.json"
    json_path.write_text(json.dumps(FULL_DATA))
    assert load_config_file(toml_path) == EXPECTED
    assert load_config_file(json_path) == EXPECTED


def test_load_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[cache]\nmax_entrys = 1\n")
    with pytest.raises(BadRequestError) as info:
        load_config_file(path)
    assert str(path) in str(info.value)
    assert "cache.max_entrys" in str(info.value)
    with pytest.raises(BadRequestError, match="cannot read"):
        load_config_file(tmp_path / "missing.toml")
    with pytest.raises(BadRequestError, match="cannot read"):
        load_config_file(tmp_path)  # a directory


# ---------------------------------------------------------------------------
# config_to_dict and the secret
# ---------------------------------------------------------------------------


def test_config_to_dict_is_json_ready_and_hides_the_key() -> None:
    cfg = parse_config(FULL_DATA)
    data = config_to_dict(cfg)
    text = json.dumps(data)
    assert SECRET not in text
    assert "sk-azure-0123" not in text
    assert "sk-azure-0123" not in repr(cfg)
    assert data["api_key"] == "***"
    assert config_to_dict(ClientConfig())["api_key"] is None


def test_config_to_dict_round_trips() -> None:
    cfg = parse_config(FULL_DATA)
    data = json.loads(json.dumps(config_to_dict(cfg)))
    data.pop("api_key")
    assert data["models"][0]["targets"][1].pop("api_key") == "***"  # a target's key is hidden too
    alias = cfg.models[0]
    keyless = attrs.evolve(alias, targets=(alias.targets[0], attrs.evolve(alias.targets[1], api_key=None)))
    assert parse_config(data) == attrs.evolve(cfg, api_key=None, models=[keyless])
    assert parse_config(config_to_dict(ClientConfig())) == ClientConfig()


def test_auth_header_forms_in_toml() -> None:
    cfg = load_config_toml(
        """
        [[providers]]
        name = "a"
        base_url = "https://a.test"
        auth_header = { api_key = "x-api-key" }
        model_prefixes = ["a-"]
        [[providers]]
        name = "b"
        base_url = "https://b.test"
        auth_header = "X-Custom-Key"
        model_prefixes = ["b-"]
        """
    )
    assert cfg.providers[0].auth_header == AuthHeaderFormat.api_key("x-api-key")
    assert cfg.providers[1].auth_header == AuthHeaderFormat.api_key("X-Custom-Key")


@pytest.mark.parametrize(
    "auth", [AuthHeaderFormat.BEARER, AuthHeaderFormat.NONE, AuthHeaderFormat.api_key("x-api-key")]
)
def test_config_to_dict_auth_header_reads_back(auth: AuthHeaderFormat) -> None:
    cfg = ClientConfig(
        providers=[ProviderConfig(name="p", base_url="https://p.test", auth_header=auth, model_prefixes=["p"])]
    )
    data = json.loads(json.dumps(config_to_dict(cfg)))
    assert parse_config(data).providers[0].auth_header == auth


def test_key_never_shown_in_repr_str_or_dict() -> None:
    cfg = load_config_toml(FULL_TOML)
    for text in (repr(cfg), str(cfg), f"{cfg}", json.dumps(config_to_dict(cfg)), repr(cfg.api_key), str(cfg.api_key)):
        assert SECRET not in text
    assert "SecretStr" not in repr(cfg)  # the key field is left out of the repr entirely


def test_credential_headers_are_redacted() -> None:
    cfg = parse_config(
        {
            "api_key": SECRET,
            "extra_headers": {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET, "X-Team": "research"},
        }
    )
    for text in (repr(cfg), str(cfg), json.dumps(config_to_dict(cfg))):
        assert SECRET not in text
    assert config_to_dict(cfg)["extra_headers"] == {"Authorization": "***", "X-Api-Key": "***", "X-Team": "research"}
    # The real values are still there for the transport.
    assert cfg.extra_headers["Authorization"] == f"Bearer {SECRET}"


def test_key_never_in_exception_text() -> None:
    cases: list[dict[str, Any]] = [
        {"api_key": SECRET, "timeout_secs": -1},
        {"api_key": SECRET, "base_url": SECRET},
        {"api_key": SECRET, "model_hint": ""},
        {"api_key": SECRET, "budget": {"enforcement": SECRET}},
        {"api_key": SECRET, "budget": {"model_limits": {SECRET: -1}}},
        {"api_key": SECRET, SECRET: 1},
        {"api_key": SECRET, "extra_headers": {"Authorization": f"Bearer {SECRET}\nX-Injected: 1"}},
        {"api_key": SECRET, "providers": [good_provider(auth_header=f"Bearer {SECRET}")]},
        {"api_key": SECRET, "providers": [good_provider(auth_header={"api_key": SECRET, "x": 1})]},
        {"api_key": SECRET, "providers": [good_provider(name=SECRET), good_provider(name=SECRET)]},
        {"api_key": SECRET, "fallbacks": [SECRET, 1]},
    ]
    for data in cases:
        message = bad(data)
        assert SECRET not in message, message
        with pytest.raises(BadRequestError) as info:
            load_config_json(json.dumps(data))
        assert SECRET not in str(info.value)
        assert SECRET not in repr(info.value)


def test_key_not_in_toml_errors() -> None:
    with pytest.raises(BadRequestError) as info:
        load_config_toml(f'api_key = "{SECRET}"\nbase_url = "{SECRET}"\n')
    assert SECRET not in str(info.value)
    with pytest.raises(BadRequestError) as info:
        load_config_toml(f'api_key = "{SECRET}\n')  # unterminated string
    assert SECRET not in str(info.value)


def test_config_with_key_does_not_pickle_the_key() -> None:
    cfg = parse_config({"api_key": SECRET})
    try:
        data = pickle.dumps(cfg)
    except (TypeError, pickle.PicklingError):
        return
    assert SECRET.encode() not in data


def test_messages_are_single_line() -> None:
    message = bad({"cache": {"max_entrys": 1}})
    assert not re.search(r"[\r\n]", message)


def test_a_proxy_with_credentials_is_never_shown() -> None:
    cfg = parse_config({"proxy": "http://user:pw-SECRET-1@proxy.example.test:3128"})
    assert cfg.proxy == "http://user:pw-SECRET-1@proxy.example.test:3128"  # kept whole for the transport
    assert "pw-SECRET-1" not in repr(cfg)
    assert "user" not in repr(cfg)
    assert config_to_dict(cfg)["proxy"] == "http://***@proxy.example.test:3128"
    for value in ("http://user:pw-SECRET-1@", "ftp://user:pw-SECRET-1@h:1", "http://user:pw-SECRET-1@h:port"):
        message = bad({"proxy": value})
        assert "proxy" in message
        assert "pw-SECRET-1" not in message
    assert parse_config({"proxy": "socks5://127.0.0.1:1080"}).proxy == "socks5://127.0.0.1:1080"
    assert "trust_env" in bad({"trust_env": "yes"})


def test_plugin_tables_are_kept_and_checked() -> None:
    cfg = parse_config({"plugins": {"azure": {"api_version": "${V:-2024-10-21}", "api_key": "k-123456"}}}, env={})
    assert cfg.plugins == {"azure": {"api_version": "2024-10-21", "api_key": "k-123456"}}
    assert "plugins" in bad({"plugins": {"azure": 3}})
    assert "plugins" in bad({"plugins": []})
    shown = config_to_dict(cfg)["plugins"]
    assert shown == {"azure": {"api_version": "2024-10-21", "api_key": "***"}}
    assert "k-123456" not in repr(cfg)


def test_the_redis_block_and_backends_are_validated_by_path() -> None:
    assert "redis.url: must be a redis://, rediss:// or unix:// URL" in bad({"redis": {"url": "http://x"}})
    assert "redis.timeout_secs" in bad({"redis": {"timeout_secs": 0}})
    assert 'redis.on_outage: must be "fail_closed" or "fail_open"' in bad({"redis": {"on_outage": "maybe"}})
    assert "redis.port" in bad({"redis": {"port": 6379}})
    assert "budget.backend: must not be empty" in bad({"budget": {"backend": " "}})
    assert "rate_limit.on_outage" in bad({"rate_limit": {"rpm": 1, "on_outage": 1}})
    config = parse_config({"budget": {"backend": "redis"}, "redis": {}})
    assert config.budget is not None
    assert config.budget.backend == "redis"
    assert config.budget.on_outage is None
    assert config.redis == RedisConfig()


def test_the_redis_password_never_shows() -> None:
    config = parse_config({"redis": {"url": "redis://:s3cr3t-pw@127.0.0.1:6379/0"}})
    assert "s3cr3t-pw" not in repr(config)
    assert "s3cr3t-pw" not in json.dumps(config_to_dict(config))
