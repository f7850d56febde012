"""liter-llm-guardrails: every guard refuses before any I/O, through both clients."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import liter_llm
import liter_llm_guardrails
from liter_llm.errors import BadRequestError, HookRejectedError
from liter_llm.registry import new_plugin_manager
from liter_llm_guardrails import (
    AllowList,
    DenyPatterns,
    MaxPromptSize,
    UserQuota,
    count_tokens,
    from_config,
    load,
    luhn_valid,
)

BASE = "http://127.0.0.1:9/v1"


class Server:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "model": body["model"],
                    "data": [{"object": "embedding", "embedding": [1.0], "index": 0}],
                },
            )
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1700000000,
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            },
        )


def chat(text: str, model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def run_both(guards: list[Any], request: dict[str, Any], *, embed: bool = False) -> tuple[Any, Any, Server]:
    """Send ``request`` through a sync and an async client; return each outcome (answer or error)."""
    server = Server()
    outcomes: list[Any] = []
    with liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), hooks=guards
    ) as client:
        try:
            outcomes.append(client.embed(request) if embed else client.chat(request))
        except liter_llm.LiterLlmError as exc:
            outcomes.append(exc)

    async def main() -> None:
        async with liter_llm.create_async_client(
            api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), hooks=guards
        ) as client:
            try:
                outcomes.append(await (client.embed(request) if embed else client.chat(request)))
            except liter_llm.LiterLlmError as exc:
                outcomes.append(exc)

    asyncio.run(main())
    return outcomes[0], outcomes[1], server


def assert_refused(outcome: Any, guard: str, reason_part: str) -> None:
    assert isinstance(outcome, HookRejectedError), outcome
    assert outcome.hook == f"guardrails.{guard}"
    assert reason_part in outcome.reason
    assert f"guardrails.{guard}" in str(outcome)


def test_the_package_activates_nothing_by_itself() -> None:
    pm = new_plugin_manager()
    pm.register(liter_llm_guardrails, name="guardrails")
    assert pm.get_hookcallers(liter_llm_guardrails) == []
    server = Server()
    with liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server)
    ) as client:
        client.chat(chat("sk-" + "a" * 40, model="o3-mini"))  # no guard passed: nothing refused
    assert len(server.requests) == 1
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert "[project.entry-points" not in pyproject


# -- allow-list ----------------------------------------------------------------


def test_allow_list_models() -> None:
    guards = [AllowList(models=["gpt-4o", "openai/gpt-4.1*"])]
    for request in (chat("hi"), chat("hi", model="openai/gpt-4o"), chat("hi", model="gpt-4.1-mini")):
        sync, async_, server = run_both(guards, request)
        assert sync.choices[0].message.content == async_.choices[0].message.content == "ok"
        assert len(server.requests) == 2
    sync, async_, server = run_both(guards, chat("hi", model="o3-mini"))
    assert_refused(sync, "allow_list", "model 'o3-mini' is not allowed")
    assert_refused(async_, "allow_list", "o3-mini")
    assert server.requests == []


def test_allow_list_providers() -> None:
    sync, async_, server = run_both([AllowList(providers=["anthropic"])], chat("hi"))
    assert_refused(sync, "allow_list", "provider 'openai' is not allowed")
    assert_refused(async_, "allow_list", "openai")
    assert server.requests == []
    with pytest.raises(BadRequestError):
        AllowList()


# -- prompt size -----------------------------------------------------------------


def test_max_chars() -> None:
    guards = [MaxPromptSize(max_chars=10)]
    sync, async_, server = run_both(guards, chat("0123456789"))
    assert not isinstance(sync, Exception)
    assert not isinstance(async_, Exception)
    sync, async_, server = run_both(guards, chat("0123456789X"))
    assert_refused(sync, "max_prompt", "11 characters; the limit is 10")
    assert_refused(async_, "max_prompt", "11 characters")
    assert server.requests == []


def test_max_tokens_counts_all_messages_and_embedding_input() -> None:
    guard = MaxPromptSize(max_tokens=5, counter=lambda text: len(text.split()))
    request = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "one two three"},
            {"role": "user", "content": [{"type": "text", "text": "four five six"}]},
        ],
    }
    sync, async_, server = run_both([guard], request)
    assert_refused(sync, "max_prompt", "about 6 tokens (custom); the limit is 5")
    assert_refused(async_, "max_prompt", "6 tokens")
    sync, async_, server = run_both(
        [guard], {"model": "text-embedding-3-small", "input": ["a b c", "d e f"]}, embed=True
    )
    assert_refused(sync, "max_prompt", "6 tokens")
    assert_refused(async_, "max_prompt", "6 tokens")
    assert server.requests == []


def test_max_tokens_by_characters_over_four() -> None:
    guard = MaxPromptSize(max_tokens=10, encoding=None)  # the fallback rule, whether tiktoken is installed or not
    assert guard.tokenizer == "characters/4"
    assert count_tokens("x" * 40) == 10
    assert count_tokens("x" * 41) == 11
    sync, async_, server = run_both([guard], chat("x" * 40))
    assert not isinstance(sync, Exception)
    assert not isinstance(async_, Exception)
    sync, async_, server = run_both([guard], chat("x" * 41))
    assert_refused(sync, "max_prompt", "about 11 tokens (characters/4)")
    assert_refused(async_, "max_prompt", "11 tokens")
    assert server.requests == []


def _local_encoding() -> Any:
    """A real tiktoken encoding built here, with nothing fetched: bytes, plus one merge of "ab"."""
    tiktoken = pytest.importorskip("tiktoken", reason="the tiktoken path needs tiktoken installed")
    ranks = {bytes([i]): i for i in range(256)}
    ranks[b"ab"] = 256
    return tiktoken.Encoding(name="test-bytes", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={})


def test_max_tokens_by_tiktoken() -> None:
    encoding = _local_encoding()
    guard = MaxPromptSize(max_tokens=12, encoding=encoding)
    assert guard.tokenizer == "tiktoken:test-bytes"
    # "abababab" is 4 tokens with the merge; the system message of run_both's chat adds none
    assert guard.counter("abababab cd") == 4 + 1 + 2
    sync, async_, server = run_both([guard], chat("ab" * 12))  # 24 characters, 12 tokens
    assert not isinstance(sync, Exception)
    assert not isinstance(async_, Exception)
    sync, async_, server = run_both([guard], chat("ab" * 12 + "c"))  # 13 tokens
    assert_refused(sync, "max_prompt", "about 13 tokens (tiktoken:test-bytes); the limit is 12")
    assert_refused(async_, "max_prompt", "13 tokens")
    assert server.requests == []


def test_an_encoding_that_cannot_be_loaded_falls_back_without_the_network() -> None:
    pytest.importorskip("tiktoken")
    guard = MaxPromptSize(max_tokens=10, encoding="no-such-encoding")
    assert guard.tokenizer == "characters/4"
    with pytest.raises(BadRequestError):
        MaxPromptSize(max_tokens=10, encoding=42)


def test_max_prompt_rejects_bad_settings() -> None:
    with pytest.raises(BadRequestError):
        MaxPromptSize()
    with pytest.raises(BadRequestError):
        MaxPromptSize(max_chars=0)


# -- deny patterns ---------------------------------------------------------------

# Documented key formats; the values are made up.
SECRETS = {
    "openai_key": "my key is sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "anthropic_key": "sk-ant-api03-" + "x" * 40,
    "aws_access_key_id": "aws AKIAIOSFODNN7EXAMPLE here",
    "github_token": "token ghp_" + "a1B2" * 9,
    "google_api_key": "key=AIza" + "S" * 35,
    "slack_token": "xoxb-123456789012-abcdefghij",
    "stripe_key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "credit_card": "card 4111 1111 1111 1111 exp 12/30",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_builtin_patterns_stop_secrets_before_any_io(name: str) -> None:
    sync, async_, server = run_both([DenyPatterns()], chat(SECRETS[name]))
    assert_refused(sync, "deny_patterns", f"deny pattern {name!r}")
    assert_refused(async_, "deny_patterns", name)
    secret_text = SECRETS[name]
    assert secret_text not in str(sync)
    assert secret_text not in sync.reason
    assert server.requests == []


def test_card_numbers_need_a_luhn_check() -> None:
    assert luhn_valid("4111-1111-1111-1111")
    assert luhn_valid("5500 0000 0000 0004")
    assert not luhn_valid("4111 1111 1111 1112")
    assert not luhn_valid("1234")
    guards = [DenyPatterns(builtin=["credit_card"])]
    sync, async_, server = run_both(guards, chat("order 4111 1111 1111 1112 and phone 555-0100"))
    assert not isinstance(sync, Exception)
    assert not isinstance(async_, Exception)
    assert len(server.requests) == 2


def test_ordinary_text_passes_the_default_patterns() -> None:
    sync, async_, _server = run_both([DenyPatterns()], chat("Please summarise the sk-learn docs; call 555-0100."))
    assert not isinstance(sync, Exception)
    assert not isinstance(async_, Exception)


def test_custom_patterns_and_tool_arguments() -> None:
    guards = [DenyPatterns({"internal_host": r"corp\.example\.com"})]
    request = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "fetch", "arguments": '{"url": "corp.example.com"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ],
    }
    sync, async_, _server = run_both(guards, request)
    assert_refused(sync, "deny_patterns", "'internal_host'")
    assert_refused(async_, "deny_patterns", "'internal_host'")
    # custom patterns alone do not switch the built-ins on
    sync, _, _ = run_both(guards, chat(SECRETS["openai_key"]))
    assert not isinstance(sync, Exception)
    with pytest.raises(BadRequestError, match="not a valid regular expression"):
        DenyPatterns({"bad": "("})
    with pytest.raises(BadRequestError, match="unknown built-in"):
        DenyPatterns(builtin=["nope"])


# -- per-user quota ----------------------------------------------------------------


def test_user_quota_both_clients() -> None:
    server = Server()
    quota = UserQuota(max_requests=2, window_seconds=60)
    with liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), hooks=[quota]
    ) as client:
        client.chat(chat("hi", user="alice"))
        client.chat(chat("hi", user="alice"))
        with pytest.raises(HookRejectedError) as info:
            client.chat(chat("hi", user="alice"))
        assert_refused(info.value, "user_quota", "user 'alice' has used 2 requests in 60 s")
        assert info.value.retry_after is not None
        client.chat(chat("hi", user="bob"))  # another user
        client.chat(chat("hi"))  # no user: not counted
    assert len(server.requests) == 4

    async def main() -> None:
        async with liter_llm.create_async_client(
            api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), hooks=[quota]
        ) as client:
            await client.chat(chat("hi", user="bob"))
            with pytest.raises(HookRejectedError) as info:
                await client.chat(chat("hi", user="bob"))
            assert info.value.hook == "guardrails.user_quota"

    asyncio.run(main())
    assert len(server.requests) == 5


def test_user_quota_window_slides_and_require_user() -> None:
    now = [0.0]
    quota = UserQuota(max_requests=1, window_seconds=10, clock=lambda: now[0])
    server = Server()
    with liter_llm.create_client(
        api_key="sk-test", base_url=BASE, model_hint="openai", transport=httpx.MockTransport(server), hooks=[quota]
    ) as client:
        client.chat(chat("hi", user="u"))
        now[0] = 9.9
        with pytest.raises(HookRejectedError):
            client.chat(chat("hi", user="u"))
        now[0] = 10.1
        client.chat(chat("hi", user="u"))
    sync, async_, server = run_both([UserQuota(5, require_user=True)], chat("hi"))
    assert_refused(sync, "user_quota", "names no user")
    assert_refused(async_, "user_quota", "names no user")
    assert server.requests == []


def test_refused_calls_do_not_use_the_quota() -> None:
    quota = UserQuota(max_requests=1)
    guards = [quota, DenyPatterns()]
    sync, _, _ = run_both(guards, chat(SECRETS["openai_key"], user="carol"))
    assert_refused(sync, "deny_patterns", "openai_key")
    sync, async_, _ = run_both(guards, chat("hello", user="carol"))
    assert not isinstance(sync, Exception)
    assert_refused(async_, "user_quota", "carol")


# -- configuration -------------------------------------------------------------------

TOML = """
[guardrails.allow_list]
models = ["gpt-4o*"]
providers = ["openai"]

[guardrails.max_prompt]
max_chars = 1000

[guardrails.deny_patterns]
builtin = ["openai_key", "credit_card"]
patterns = { internal_host = 'corp\\.example\\.com' }

[guardrails.user_quota]
max_requests = 1
window_seconds = 3600
"""


def test_load_from_toml_both_clients(tmp_path: Path) -> None:
    path = tmp_path / "guardrails.toml"
    path.write_text(TOML)
    guards = load(path)
    assert [type(g).__name__ for g in guards] == ["AllowList", "MaxPromptSize", "DenyPatterns", "UserQuota"]
    sync, async_, server = run_both(guards, chat("hi", model="o3-mini"))
    assert_refused(sync, "allow_list", "o3-mini")
    sync, async_, server = run_both(guards, chat("x" * 1001))
    assert_refused(async_, "max_prompt", "1001 characters")
    sync, async_, server = run_both(guards, chat("see corp.example.com"))
    assert_refused(sync, "deny_patterns", "internal_host")
    sync, async_, server = run_both(guards, chat("hello", user="dave"))
    assert not isinstance(sync, Exception)
    assert_refused(async_, "user_quota", "dave")
    assert len(server.requests) == 1


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(BadRequestError, match=r"guardrails\.nope: unknown guard"):
        from_config({"nope": {}})
    with pytest.raises(BadRequestError, match=r"guardrails\.allow_list\.model: unknown field"):
        from_config({"allow_list": {"model": ["x"]}})
    with pytest.raises(BadRequestError, match=r"guardrails\.user_quota\.max_requests"):
        from_config({"user_quota": {}})
    with pytest.raises(BadRequestError, match=r"guardrails\.max_prompt"):
        from_config({"max_prompt": {"max_chars": "many"}})
    with pytest.raises(BadRequestError, match=r"guardrails\.deny_patterns\.patterns\.x"):
        from_config({"deny_patterns": {"patterns": {"x": 1}}})
    assert from_config({"user_quota": {"max_requests": 1, "enabled": False}}) == []
    bad = tmp_path / "bad.toml"
    bad.write_text("[guardrails\n")
    with pytest.raises(BadRequestError, match="not valid TOML"):
        load(bad)
    with pytest.raises(BadRequestError, match="cannot read"):
        load(tmp_path / "missing.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text('api_key = "x"\n')
    assert load(empty) == []


# -- writing your own: the ten-line example from docs/guardrails.md -------------------


class NoShouting:
    @liter_llm.hookimpl
    def on_request(self, call: Any) -> None:
        for message in getattr(call.request, "messages", None) or ():
            text = message.content if isinstance(message.content, str) else ""
            if text.isupper() and len(text) > 3:
                raise HookRejectedError("no shouting, please", hook="myguards.no_shouting", reason="all capitals")


def test_a_user_written_guard() -> None:
    sync, async_, server = run_both([NoShouting()], chat("HELLO THERE"))
    assert isinstance(sync, HookRejectedError)
    assert sync.hook == "myguards.no_shouting"
    assert isinstance(async_, HookRejectedError)
    assert async_.reason == "all capitals"
    assert server.requests == []
