"""``local/smollm2`` and GGUF files by path, through both clients, with the real model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import liter_llm
from liter_llm.types import FinishReason

MODEL = "local/smollm2"
PROMPT = [{"role": "user", "content": "Name three colours."}]


def _check_answer(response: liter_llm.types.ChatCompletionResponse, *, model: str, max_tokens: int) -> str:
    assert response.id
    assert response.model == model
    assert len(response.choices) == 1
    choice = response.choices[0]
    assert choice.index == 0
    assert choice.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    content = choice.message.content
    assert isinstance(content, str)
    assert content.strip()
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0
    assert 0 < response.usage.completion_tokens <= max_tokens
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    return content


# -- chat ---------------------------------------------------------------------------------------


def test_chat_sync() -> None:
    with liter_llm.create_client() as client:
        response = client.chat(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)
    _check_answer(response, model="smollm2", max_tokens=12)


@pytest.mark.anyio
async def test_chat_async() -> None:
    async with liter_llm.create_async_client() as client:
        response = await client.chat(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0)
    _check_answer(response, model="smollm2", max_tokens=12)


def test_temperature_zero_is_repeatable_and_the_same_on_both_clients() -> None:
    with liter_llm.create_client() as client:
        # llama.cpp reuses the evaluated prompt of the previous call, and a prompt evaluated in one batch
        # gives slightly different logits from a cached one: warm the cache with this prompt first
        client.chat(model=MODEL, messages=PROMPT, max_tokens=10, temperature=0)
        first = client.chat(model=MODEL, messages=PROMPT, max_tokens=10, temperature=0).choices[0].message.content

        second = client.chat(model=MODEL, messages=PROMPT, max_tokens=10, temperature=0).choices[0].message.content

    async def via_async() -> str | None:
        async with liter_llm.create_async_client() as aclient:
            response = await aclient.chat(model=MODEL, messages=PROMPT, max_tokens=10, temperature=0)
            return response.choices[0].message.content

    import anyio

    third = anyio.run(via_async)
    assert first == second == third


def test_max_tokens_and_max_completion_tokens_limit_the_answer() -> None:
    with liter_llm.create_client() as client:
        short = client.chat(model=MODEL, messages=PROMPT, max_tokens=3, temperature=0)
        capped = client.chat(model=MODEL, messages=PROMPT, max_completion_tokens=2, temperature=0)
    assert short.usage is not None
    assert short.usage.completion_tokens == 3
    assert short.choices[0].finish_reason == FinishReason.LENGTH
    assert capped.usage is not None
    assert capped.usage.completion_tokens == 2


@pytest.mark.anyio
async def test_stop_sequence_ends_the_answer_async() -> None:
    async with liter_llm.create_async_client() as client:
        full = await client.chat(model=MODEL, messages=PROMPT, max_tokens=16, temperature=0)
        text = full.choices[0].message.content or ""
        words = text.split()
        assert len(words) >= 3
        stop_word = words[2]
        cut = await client.chat(model=MODEL, messages=PROMPT, max_tokens=16, temperature=0, stop=[stop_word])
    assert cut.choices[0].finish_reason == FinishReason.STOP
    content = cut.choices[0].message.content or ""
    assert stop_word not in content
    assert text.startswith(content.rstrip())


def test_json_object_response_format_gives_json_sync() -> None:
    with liter_llm.create_client() as client:
        response = client.chat(
            model=MODEL,
            messages=[{"role": "user", "content": 'Reply with a JSON object like {"colour": "red"}.'}],
            response_format={"type": "json_object"},
            max_tokens=60,
            temperature=0,
        )
    assert response.choices[0].finish_reason == FinishReason.STOP
    assert isinstance(json.loads(response.choices[0].message.content or ""), dict)


@pytest.mark.anyio
async def test_json_schema_response_format_follows_the_schema_async() -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    async with liter_llm.create_async_client() as client:
        response = await client.chat(
            model=MODEL,
            messages=[{"role": "user", "content": "Name a colour, as JSON."}],
            response_format={"type": "json_schema", "json_schema": {"name": "colour", "schema": schema}},
            max_tokens=40,
            temperature=0,
        )
    data = json.loads(response.choices[0].message.content or "")
    assert set(data) == {"colour"}
    assert isinstance(data["colour"], str)


def test_system_and_text_parts_are_accepted_sync() -> None:
    with liter_llm.create_client() as client:
        response = client.chat(
            model=MODEL,
            messages=[
                {"role": "system", "content": "You answer briefly."},
                {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
                {"role": "assistant", "content": "Red."},
                {"role": "developer", "content": "One word only."},
                {"role": "user", "content": "Another one?"},
            ],
            max_tokens=5,
            temperature=0,
            seed=7,
        )
    _check_answer(response, model="smollm2", max_tokens=5)


# -- models by path -------------------------------------------------------------------------------


@pytest.fixture
def linked_model(tmp_path: Path, model_file: Path) -> Path:
    """The SmolLM2 file under another name (a symlink: the same file, so the loaded model is shared)."""
    folder = tmp_path / "models"
    folder.mkdir()
    link = folder / "tiny.gguf"
    link.symlink_to(model_file)
    return link


def test_model_by_relative_path_sync(linked_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(linked_model.parent.parent)
    with liter_llm.create_client() as client:
        response = client.chat(model="local/models/tiny.gguf", messages=PROMPT, max_tokens=4, temperature=0)
    _check_answer(response, model="models/tiny.gguf", max_tokens=4)


@pytest.mark.anyio
async def test_model_by_absolute_path_async(linked_model: Path) -> None:
    assert linked_model.is_absolute()
    async with liter_llm.create_async_client() as client:
        response = await client.chat(model=f"local/{linked_model}", messages=PROMPT, max_tokens=4, temperature=0)
    _check_answer(response, model=str(linked_model), max_tokens=4)


def test_model_by_absolute_path_sync(linked_model: Path) -> None:
    with liter_llm.create_client() as client:
        response = client.chat(model="local/" + str(linked_model), messages=PROMPT, max_tokens=4, temperature=0)
    assert str(linked_model).startswith("/")
    _check_answer(response, model=str(linked_model), max_tokens=4)


@pytest.mark.anyio
async def test_model_by_absolute_path_without_the_double_slash_async(
    linked_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(linked_model.parent)  # no such relative path here: it is read as absolute
    async with liter_llm.create_async_client() as client:
        response = await client.chat(model=f"local{linked_model}", messages=PROMPT, max_tokens=4, temperature=0)
    _check_answer(response, model=str(linked_model).lstrip("/"), max_tokens=4)


@pytest.mark.anyio
async def test_model_from_the_model_dir_variable_async(linked_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITER_LLM_LOCAL_MODEL_DIR", os.pathsep.join(["/nonexistent-dir", str(linked_model.parent)]))
    async with liter_llm.create_async_client() as client:
        response = await client.chat(model="local/tiny", messages=PROMPT, max_tokens=4, temperature=0)
        listing = await client.list_models(provider="local")
    _check_answer(response, model="tiny", max_tokens=4)
    ids = [m.id for m in listing.data]
    assert "smollm2" in ids
    assert "tiny.gguf" in ids


# -- models ---------------------------------------------------------------------------------------


def test_list_models_sync() -> None:
    with liter_llm.create_client(model_hint="local") as client:
        listing = client.list_models()
    assert listing.object == "list"
    ids = [m.id for m in listing.data]
    assert ids[0] == "smollm2"
    assert all(m.owned_by == "local" for m in listing.data)


@pytest.mark.anyio
async def test_list_models_async() -> None:
    async with liter_llm.create_async_client() as client:
        listing = await client.list_models(provider="local")
    assert "smollm2" in [m.id for m in listing.data]


def test_no_key_and_no_network_are_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # any attempt to use the network would fail
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with liter_llm.create_client() as client:
        response = client.chat(model=MODEL, messages=PROMPT, max_tokens=2)
    assert response.usage is not None
    assert response.usage.completion_tokens <= 2
