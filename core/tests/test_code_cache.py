"""The generated parsers' compiled code, kept between processes (``liter_llm/_code_cache.py``).

Each case runs fresh interpreters with their own cache folder: the first compiles the parsers a
chat needs (sync and async clients, through httpx's mock transport) and writes them down, the next
loads them and compiles nothing, with the same answers.  A damaged, foreign-writable or
differently shaped file is ignored (and replaced), the switch turns it off, and a file that
cannot be written changes nothing.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = r"""
import asyncio, json, sys
import httpx
import liter_llm
from liter_llm import _code_cache

BODY = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "cached?",
                             "tool_calls": [{"id": "c1", "type": "function",
                                             "function": {"name": "f", "arguments": "{}"}}]}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
              "prompt_tokens_details": {"cached_tokens": 1}},
}
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
sent = []

def answer(request):
    sent.append(json.loads(request.content))
    return httpx.Response(200, json=BODY)

with liter_llm.create_client(api_key="k", transport=httpx.MockTransport(answer)) as client:
    sync = client.chat(model="gpt-4o-mini", messages=MESSAGES, temperature=0.5)

async def main():
    async def handler(request):
        return answer(request)
    client = liter_llm.create_async_client(api_key="k", transport=httpx.MockTransport(handler))
    try:
        return await client.chat(model="gpt-4o-mini", messages=MESSAGES, temperature=0.5)
    finally:
        await client.aclose()

aio = asyncio.run(main())
print(json.dumps({"stats": _code_cache.stats, "sync": sync.to_dict(), "async": aio.to_dict(), "sent": sent}))
"""


def run(cache: Path, **env: str) -> dict[str, Any]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LITER_LLM_") and k != "PYTHONDONTWRITEBYTECODE"}
    full.update({"LITER_LLM_CACHE_DIR": str(cache), **env})
    out = subprocess.run(
        [sys.executable, "-c", CHILD], check=False, env=full, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("generated-code-*.marshal")) if cache.exists() else []


def test_the_next_process_loads_what_the_first_compiled(tmp_path: Path) -> None:
    first = run(tmp_path)
    assert first["stats"]["loaded"] == 0
    assert first["stats"]["compiled"] > 0
    # each parser compiled is written at once; the attrs methods compiled at import ride with the next write
    assert 0 < first["stats"]["written"] < first["stats"]["compiled"]
    (written,) = cache_files(tmp_path)
    assert written.stat().st_mode & 0o022 == 0  # no one else may write it
    second = run(tmp_path)
    assert second["stats"] == {"loaded": first["stats"]["compiled"], "compiled": 0, "written": 0}
    for key in ("sync", "async", "sent"):
        assert second[key] == first[key]
    assert first["sync"] == first["async"]
    assert first["sync"]["choices"][0]["message"]["content"] == "cached?"
    assert first["sync"]["usage"]["prompt_tokens_details"]["cached_tokens"] == 1


def test_no_bytecode_writing_means_read_only(tmp_path: Path) -> None:
    readonly = run(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert readonly["stats"]["written"] == 0
    assert readonly["stats"]["compiled"] > 0
    assert cache_files(tmp_path) == []
    run(tmp_path)  # written by a process that may write
    again = run(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert again["stats"] == {"loaded": readonly["stats"]["compiled"], "compiled": 0, "written": 0}
    assert again["sync"] == readonly["sync"]


def test_the_switch_turns_it_off(tmp_path: Path) -> None:
    off = run(tmp_path, LITER_LLM_CODE_CACHE="0")
    assert off["stats"] == {"loaded": 0, "compiled": 0, "written": 0}
    assert cache_files(tmp_path) == []
    assert off["sync"]["choices"][0]["message"]["content"] == "cached?"


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "other shape", "not code", "others may write"],
)
def test_a_file_it_cannot_trust_or_read_is_ignored_and_replaced(tmp_path: Path, damage: str) -> None:
    first = run(tmp_path)
    (path,) = cache_files(tmp_path)
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not marshal at all" * 10)
    elif damage == "other shape":
        path.write_bytes(marshal.dumps({"format": 1, "entries": []}))
    elif damage == "not code":
        (fmt, entries) = marshal.loads(raw)
        path.write_bytes(marshal.dumps((fmt, {key: "print('pwned')" for key in entries})))
    else:
        if not hasattr(os, "getuid"):
            pytest.skip("no file owners here")
        path.chmod(0o666)
    again = run(tmp_path)
    assert again["stats"]["loaded"] == 0
    assert again["stats"]["compiled"] == first["stats"]["compiled"]
    for key in ("sync", "async", "sent"):
        assert again[key] == first[key]
    if damage != "others may write":  # a foreign-writable file is replaced by a fresh one of ours
        assert run(tmp_path)["stats"]["compiled"] == 0


def test_a_cache_folder_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    result = run(blocked)
    assert result["stats"]["written"] == 0
    assert result["stats"]["compiled"] > 0
    assert result["sync"]["choices"][0]["message"]["content"] == "cached?"
