"""Token counting before the call, offline, through both clients: tiktoken with a local encoding, and the estimate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import liter_llm
from liter_llm.errors import BadRequestError
from liter_llm.tokens import TokenCount, count_tokens, encoding_for_model


def local_encoding() -> Any:
    """A real tiktoken encoding built here, nothing fetched: single bytes, plus one merge of "ab"."""
    tiktoken = pytest.importorskip("tiktoken")
    ranks = {bytes([i]): i for i in range(256)}
    ranks[b"ab"] = 256
    return tiktoken.Encoding(name="test-bytes", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={})


@pytest.fixture(params=["sync", "async"])
def count(request: pytest.FixtureRequest) -> Any:
    """``client.count_tokens`` on a fresh sync or async client."""

    def run(**kwargs: Any) -> TokenCount:
        if request.param == "sync":
            with liter_llm.create_client(api_key="k") as client:
                return client.count_tokens(**kwargs)

        async def main() -> TokenCount:
            async with liter_llm.create_async_client(api_key="k") as client:
                return await client.count_tokens(**kwargs)

        return asyncio.run(main())

    return run


def test_tiktoken_counts_messages_the_way_openai_documents(count: Any) -> None:
    enc = local_encoding()
    result = count(model="gpt-4o", messages=[{"role": "user", "content": "abab"}], encoding=enc)
    # 3 to prime the reply + 3 for the message + "user" (4 byte tokens) + "abab" (2 merged tokens)
    assert result == TokenCount(tokens=12, method="tiktoken:test-bytes", exact=True, model="gpt-4o")
    named = count(model="gpt-4o", messages=[{"role": "user", "content": "abab", "name": "ab"}], encoding=enc)
    assert named.tokens == 12 + 1 + 1  # the name's one token, and one for having a name


def test_tools_and_images_make_the_count_an_estimate(count: Any) -> None:
    enc = local_encoding()
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with_tools = count(model="gpt-4o", messages=[{"role": "user", "content": "ab"}], tools=[tool], encoding=enc)
    assert not with_tools.exact
    assert with_tools.tokens > 3 + 3 + 4 + 1
    low = [{"type": "image_url", "image_url": {"url": "data:,", "detail": "low"}}]
    result = count(model="gpt-4o", messages=[{"role": "user", "content": low}], encoding=enc)
    assert result.tokens == 3 + 3 + 4 + 85
    assert result.exact
    high = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    assert not count(model="gpt-4o", messages=[{"role": "user", "content": high}], encoding=enc).exact


def test_other_models_get_the_documented_estimate(count: Any) -> None:
    result = count(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x" * 40}])
    # 3 + 3 + ceil(len("user") / 4) + 40 / 4
    assert result == TokenCount(tokens=17, method="estimate:characters/4", exact=False, model="claude-sonnet-4-5")
    embedded = count(model="mistral-embed", input=["x" * 8, "y" * 9])
    assert embedded.tokens == 2 + 3
    assert embedded.method == "estimate:characters/4"


def test_an_encoding_that_cannot_be_loaded_falls_back_to_the_estimate(count: Any) -> None:
    result = count(model="gpt-4o", input="x" * 8, encoding="no-such-encoding")
    assert result.method == "estimate:characters/4"
    assert result.tokens == 2


def test_bad_arguments_are_bad_requests(count: Any) -> None:
    with pytest.raises(BadRequestError, match="either messages or input"):
        count(model="gpt-4o")
    with pytest.raises(BadRequestError, match="either messages or input"):
        count(model="gpt-4o", messages=[], input="x")
    with pytest.raises(BadRequestError, match=r"messages\[0\]"):
        count(model="gpt-4o", messages=["hello"])
    with pytest.raises(BadRequestError, match="encoding"):
        count(model="gpt-4o", input="x", encoding=42)


def test_a_closed_client_refuses() -> None:
    client = liter_llm.create_client(api_key="k")
    client.close()
    with pytest.raises(BadRequestError, match="closed"):
        client.count_tokens(model="gpt-4o", input="x")


def test_typed_messages_count_like_dicts() -> None:
    from liter_llm.types import UserMessage

    assert count_tokens("m", [UserMessage(content="abcd")]) == count_tokens("m", [{"role": "user", "content": "abcd"}])


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-4.1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("claude-sonnet-4-5", None),
        ("gemini-2.0-flash", None),
    ],
)
def test_encoding_for_model(model: str, encoding: str | None) -> None:
    assert encoding_for_model(model) == encoding


def test_the_docs_page_example_runs() -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "tokens.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert blocks
    import importlib.util

    for block in blocks:
        if 'model_hint="anthropic"' in block and importlib.util.find_spec("liter_llm_anthropic") is None:
            continue  # the core's own suite (nox -s tests_core) runs without the Anthropic plugin
        exec(compile(block, str(page), "exec", dont_inherit=True), {"__name__": "tokens_docs"})
