"""``LITER_LLM_LOCAL_THREADS``: how many threads llama.cpp decodes with, read when the model loads.

Each case runs in a fresh interpreter (the model is loaded once per process), through both clients.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import asyncio, json, sys
import liter_llm

messages = [{"role": "user", "content": "Say hi"}]
try:
    if sys.argv[1] == "async":
        async def go():
            async with liter_llm.create_async_client() as client:
                return await client.chat(model="local/smollm2", messages=messages, max_tokens=4)
        answer = asyncio.run(go())
    else:
        with liter_llm.create_client() as client:
            answer = client.chat(model="local/smollm2", messages=messages, max_tokens=4)
    from liter_llm_local._models import _models
    (model,) = _models.values()
    print("STATE=" + json.dumps({"ok": bool(answer.choices[0].message.content),
                                 "context_threads": model.llama.context_params.n_threads,
                                 "batch_threads": model.llama.context_params.n_threads_batch}))
except liter_llm.LiterLlmError as exc:
    print("STATE=" + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def run(mode: str, threads: str | None) -> dict[str, object]:
    env = dict(os.environ)
    env.pop("LITER_LLM_LOCAL_THREADS", None)
    if threads is not None:
        env["LITER_LLM_LOCAL_THREADS"] = threads
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=110, check=False
    )
    assert result.returncode == 0, result.stderr
    state: dict[str, object] = json.loads(result.stdout.rpartition("STATE=")[2])
    return state


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_variable_sets_the_decode_threads(mode: str) -> None:
    state = run(mode, "1")
    assert state["ok"] is True
    assert state["context_threads"] == state["batch_threads"] == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_it_every_available_cpu_decodes(mode: str) -> None:
    state = run(mode, None)
    assert state["ok"] is True
    assert state["context_threads"] == state["batch_threads"] == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("value", ["0", "two", "-3"])
def test_a_bad_value_is_a_clear_error(mode: str, value: str) -> None:
    state = run(mode, value)
    assert state.get("error") == "BadRequestError", state
    assert "LITER_LLM_LOCAL_THREADS must be a positive integer" in str(state["message"])
