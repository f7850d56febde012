"""The server itself: a client that disconnects mid-stream, graceful shutdown, `liter-llm serve`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer, free_port
from proxy_support import MASTER, RunningProxy


def _open_slow_stream(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.stream_started.clear()
    upstream.stream_cancelled.clear()


def test_sync_client_disconnect_cancels_the_upstream_stream(
    proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    fake = upstream[0]
    _open_slow_stream(proxy, fake)
    with openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER, max_retries=0) as client:
        stream = client.chat.completions.create(
            model="slow-stream", messages=[{"role": "user", "content": "go"}], stream=True
        )
        first = next(iter(stream))
        assert first.choices[0].delta.content == "first "
        stream.close()  # the client goes away mid-stream
    # the stream runs for a minute unless cut: the proxy cut it as soon as the client left
    assert fake.stream_cancelled.wait(20), "the upstream stream was not cancelled"
    deadline = time.monotonic() + 20
    while True:
        logs = proxy.admin.get("/admin/spend/logs", params={"limit": 1}).json()["data"]
        if logs and logs[0]["model_requested"] == "slow-stream":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert logs[0]["status"] == 499
    assert logs[0]["error_kind"] == "ClientDisconnected"


def test_async_client_disconnect_cancels_the_upstream_stream(
    proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    fake = upstream[0]
    _open_slow_stream(proxy, fake)

    async def go() -> None:
        async with openai.AsyncOpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER, max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="slow-stream", messages=[{"role": "user", "content": "go"}], stream=True
            )
            async for _ in stream:
                break
            await stream.close()

    asyncio.run(asyncio.wait_for(go(), 30))
    assert fake.stream_cancelled.wait(20), "the upstream stream was not cancelled"


def test_graceful_shutdown_lets_a_stream_finish(
    start_proxy: object, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    proxy: RunningProxy = start_proxy()  # type: ignore[operator]
    texts: list[str] = []

    def read() -> None:
        with httpx.Client(timeout=30) as http:
            with http.stream(
                "POST",
                f"{proxy.url}/v1/chat/completions",
                headers={"authorization": f"Bearer {MASTER}"},
                json={"model": "fake-model", "messages": [{"role": "user", "content": "x"}], "stream": True},
            ) as answer:
                texts.append(answer.read().decode())

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(30)
    proxy.server.stop()  # what SIGTERM does: stop accepting, finish what is in flight, run the shutdown
    assert texts
    assert texts[0].rstrip().endswith("data: [DONE]")


def test_liter_llm_serve_command(tmp_path: Path, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    port = free_port()
    config = tmp_path / "liter-llm.toml"
    config.write_text(
        f'base_url = "{upstream[1].url}/v1"\napi_key = "upstream-secret-key"\nmax_retries = 0\n\n'
        f'[plugins.proxy]\ndatabase_url = "sqlite+aiosqlite:///{tmp_path}/serve.db"\n'
    )
    env = {**os.environ, "LITER_LLM_MASTER_KEY": MASTER}
    command = [sys.executable, "-m", "liter_llm.cli", "serve", "--config", str(config), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "liter-llm serve did not start"
            time.sleep(0.1)
        with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=MASTER, max_retries=0) as client:
            answer = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "cli"}])
        assert answer.choices[0].message.content == "echo: cli"
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    # uvicorn shuts down gracefully, then re-raises the signal it caught (so -15 is the normal end)
    assert process.returncode in (0, -signal.SIGTERM), output
    assert MASTER not in output
    import sqlite3

    database = sqlite3.connect(tmp_path / "serve.db")
    rows = database.execute("select endpoint, status from proxy_spend_log").fetchall()
    database.close()
    assert rows == [("chat", 200)]  # the spend log was written at shutdown


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "liter-llm.toml"
    config.write_text("[plugins.proxy]\ncolour = 'red'\n")
    result = subprocess.run(
        [sys.executable, "-m", "liter_llm.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "plugins.proxy: unknown field(s) colour" in result.stderr


@pytest.mark.parametrize("module", ["liter_llm_proxy", "liter_llm_proxy.plugin"])
def test_import_is_cheap(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('starlette', 'sqlalchemy', 'uvicorn') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "[]", result.stderr


def test_graceful_shutdown_writes_every_spend_row(
    start_proxy: object, tmp_path: Path, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    """Rows are written in batches off the request path; a graceful stop writes what is still queued."""
    import sqlite3

    proxy: RunningProxy = start_proxy(spend_flush_secs=3600)  # type: ignore[operator]  # never on its own
    with openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER, max_retries=0) as client:
        for i in range(150):
            client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": f"m{i}"}])
    proxy.stop()
    database = sqlite3.connect(tmp_path / "proxy.db")
    try:
        rows = database.execute("select count(*), min(status), max(status) from proxy_spend_log").fetchone()
        mode = database.execute("pragma journal_mode").fetchone()[0]
    finally:
        database.close()
    assert rows == (150, 200, 200)
    assert mode == "wal"
