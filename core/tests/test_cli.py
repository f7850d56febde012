"""The ``liter-llm`` command, run for real against a tiny OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SECRET = "sk-cli-secret-0123456789"
PARTS = ["Hel", "lo", " world"]
SCRIPT = Path(sys.executable).parent / "liter-llm"


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.client_closed = threading.Event()
        self.stop = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append({"path": self.path, "headers": dict(self.headers)})
        if self.path == "/v1/models":
            self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": "zeta-model", "object": "model", "owned_by": "me"},
                        {"id": "alpha-model", "object": "model", "owned_by": "me"},
                    ],
                },
            )
        else:
            self._json(404, {"error": {"message": "no such path", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        model = body.get("model")
        if model == "bad-key":
            self._json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
            return
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(PARTS)},
                            "finish_reason": "stop",
                        }
                    ],
                },
            )
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()

        def event(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
            payload: dict[str, Any] = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage:
                payload = {**payload, "choices": [], "usage": usage}
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        try:
            self.wfile.write(event({"role": "assistant", "content": ""}))
            for part in PARTS:
                self.wfile.write(event({"content": part}))
                self.wfile.flush()
                if model == "hang":
                    break
                time.sleep(0.01)
            if model == "hang":
                # keep the stream open until the client goes away (bounded)
                for _ in range(400):
                    if self.server.stop.wait(0.025):
                        return
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                return
            self.wfile.write(event({}, "stop"))
            self.wfile.write(event({}, usage={"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.server.client_closed.set()


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    srv = FakeOpenAI()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture
def env(server: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LITER_LLM_", "OPENAI_"))}
    environ.update(
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY=SECRET,
        LITER_LLM_LOAD_PLUGINS="openai",
        PYTHONUNBUFFERED="1",
    )
    return environ


COMMANDS = {
    "module": [sys.executable, "-m", "liter_llm.cli"],
    "script": [str(SCRIPT)],
}


def run(how: str, args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> Any:
    return subprocess.run(
        COMMANDS[how] + args, check=False, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(params=["module", "script"])
def how(request: pytest.FixtureRequest) -> str:
    if request.param == "script" and not SCRIPT.exists():
        pytest.fail(f"the installed script is missing: {SCRIPT}")
    return str(request.param)


def test_chat_streams_the_answer(how: str, server: FakeOpenAI, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["chat", "-m", "gpt-4o-mini", "--system", "Be brief.", "Say hello"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"
    assert result.stderr == ""
    request = server.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {SECRET}"
    assert request["body"]["stream"] is True
    assert request["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]


def test_chat_reads_the_prompt_from_stdin(how: str, server: FakeOpenAI, env: dict[str, str], tmp_path: Path) -> None:
    env["LITER_LLM_MODEL"] = "gpt-4.1"
    result = run(how, ["chat", "-"], env, tmp_path, stdin="a prompt\nover two lines\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"
    body = server.requests[-1]["body"]
    assert body["model"] == "gpt-4.1"
    assert body["messages"] == [{"role": "user", "content": "a prompt\nover two lines\n"}]


def test_chat_json_prints_the_assembled_response(
    how: str, server: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    result = run(how, ["chat", "--json", "-m", "gpt-4o", "hi"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Hello world"}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["total_tokens"] == 6


def test_chat_uses_the_configuration_file(how: str, server: FakeOpenAI, env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "liter-llm.toml").write_text('[extra_headers]\nx-from-config = "yes"\n')
    sub = tmp_path / "deeper"
    sub.mkdir()
    result = run(how, ["chat", "-m", "gpt-4o", "hi"], env, sub)
    assert result.returncode == 0, result.stderr
    assert server.requests[-1]["headers"]["x-from-config"] == "yes"


def test_chat_without_a_model_is_a_usage_error(how: str, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["chat", "hi"], env, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert "-m" in result.stderr
    assert "LITER_LLM_MODEL" in result.stderr


def test_provider_error_is_one_line_and_exit_1(how: str, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["chat", "-m", "bad-key", "hi"], env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Incorrect API key provided" in result.stderr
    assert "401" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_unreachable_server_is_one_line(how: str, env: dict[str, str], tmp_path: Path) -> None:
    env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    result = run(how, ["chat", "-m", "gpt-4o", "hi"], env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    "args", [[], ["bogus"], ["chat"], ["models", "--nope"], ["config"], ["config", "check", "a", "b"]]
)
def test_usage_errors_exit_2(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    result = run("module", args, env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr


_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def test_ctrl_c_ends_the_stream_cleanly(how: str, server: FakeOpenAI, env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.Popen(
        # A run started in the background by a non-interactive shell has SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler in the command: start it as a terminal user
        # would, with SIGINT at its default (the launcher resets it, then becomes the command).
        [sys.executable, "-c", _DEFAULT_SIGINT, *COMMANDS[how], "chat", "-m", "hang", "hi"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + 30
        while b"Hel" not in seen and time.monotonic() < deadline:
            seen += os.read(proc.stdout.fileno(), 100)
        assert seen.startswith(b"Hel"), "the first token was not flushed to the terminal"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode(errors="replace")
    assert b"Traceback" not in err
    assert server.client_closed.wait(10), "the stream's connection was not closed"


def test_models(how: str, server: FakeOpenAI, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["models", "-p", "openai"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "alpha-model\nzeta-model\n"
    assert server.requests[-1]["path"] == "/v1/models"
    result = run(how, ["models"], env, tmp_path)
    assert result.stdout == "alpha-model\nzeta-model\n"


def test_models_unknown_provider(env: dict[str, str], tmp_path: Path) -> None:
    result = run("module", ["models", "-p", "nope"], env, tmp_path)
    assert result.returncode == 1
    assert "unknown provider 'nope'" in result.stderr


def test_providers_lists_keys_without_values(how: str, env: dict[str, str], tmp_path: Path) -> None:
    env["GROQ_API_KEY"] = "gsk-very-secret"
    env.pop("CEREBRAS_API_KEY", None)
    result = run(how, ["providers"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert lines["openai"][1:4] == [env["OPENAI_BASE_URL"], "OPENAI_API_KEY", "set"]
    assert lines["groq"][1:4] == ["https://api.groq.com/openai/v1", "GROQ_API_KEY", "set"]
    assert lines["cerebras"][2:5] == ["CEREBRAS_API_KEY", "not", "set"]
    assert lines["ollama"][1] == "http://localhost:11434/v1"
    assert len(lines) >= 80  # the catalogue: every row of liter-llm-openai, and the plugins of their own
    assert SECRET not in result.stdout
    assert "gsk-very-secret" not in result.stdout


def test_providers_lists_each_providers_endpoints(how: str, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["providers"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split()[-1] == "ENDPOINTS"
    endpoints = {row.split()[0]: row.split()[-1] for row in rows}
    assert endpoints["openai"] == "batches,chat,embed,files,image,models,moderate,responses,speech,transcribe"
    assert endpoints["groq"] == "chat,models"
    assert endpoints["ollama"] == "chat,embed,models"
    assert endpoints["perplexity"] == "chat,models"  # search comes with liter-llm-search, not loaded here
    from liter_llm.providers import ALL_ENDPOINTS

    assert all(value == "-" or set(value.split(",")) <= ALL_ENDPOINTS for value in endpoints.values())


def test_plugins_lists_distributions_and_hooks(how: str, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["plugins"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "liter-llm-openai" in result.stdout
    assert "hooks: register_providers" in result.stdout
    assert "openai hooks: build_request" in result.stdout


CONFIG = f"""
api_key = "{SECRET}"
timeout_secs = 30
max_retries = 4

[extra_headers]
x-team = "research"
authorization = "Bearer {SECRET}"

[[providers]]
name = "mine"
base_url = "http://127.0.0.1:9/v1"
model_prefixes = ["mine-"]
"""


def test_config_check_prints_the_redacted_config(how: str, env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "conf.toml"
    path.write_text(CONFIG)
    result = run(how, ["config", "check", str(path)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["api_key"] == "***"
    assert data["timeout_secs"] == 30
    assert data["max_retries"] == 4
    assert data["extra_headers"] == {"x-team": "research", "authorization": "***"}
    assert data["providers"][0]["name"] == "mine"
    assert SECRET not in result.stdout + result.stderr


def test_config_check_finds_the_file(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "liter-llm.toml").write_text("max_retries = 1\n")
    result = run("module", ["config", "check"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["max_retries"] == 1


def test_config_check_invalid_and_missing(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'api_key = "{SECRET}"\nmax_retriez = 3\n')
    result = run("module", ["config", "check", str(path)], env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert "max_retriez" in result.stderr
    assert SECRET not in result.stderr
    result = run("module", ["config", "check"], env, tmp_path)
    assert result.returncode == 1
    assert "liter-llm.toml" in result.stderr


def test_tokens_counts_offline(how: str, env: dict[str, str], tmp_path: Path) -> None:
    result = run(how, ["tokens", "-m", "claude-sonnet-4-5", "x" * 40], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "10 tokens (estimate:characters/4, not exact)\n"
    chat = run(how, ["tokens", "-m", "claude-sonnet-4-5", "--chat", "-"], env, tmp_path, stdin="x" * 40)
    assert chat.stdout == "17 tokens (estimate:characters/4, not exact)\n"
