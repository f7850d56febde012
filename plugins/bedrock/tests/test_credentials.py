"""Where credentials and the region come from: options, the client's key, the environment, files, botocore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from liter_llm.errors import AuthenticationError, BadRequestError
from liter_llm.registry import get_registry
from liter_llm_bedrock import AwsCredentials, BedrockOptions, bedrock_provider

from .conftest import Runner
from .test_sigv4 import _botocore_authorization

OK = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
USER = [{"role": "user", "content": "Hi"}]


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=OK)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Shared files with a ``work`` profile; no keys in the environment."""
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n"
        "[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = work-secret\naws_session_token = work-token\n"
    )
    (tmp_path / "config").write_text("[default]\nregion = us-west-2\n\n[profile work]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def custom() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        get_registry().unregister_custom(name)


def _register(custom: list[str], name: str, **options: object) -> None:
    get_registry().register_custom(bedrock_provider(name, **options))
    custom.append(name)


DEFAULT_ADDRESS = {"model_hint": None, "base_url": None}


@pytest.mark.parametrize("use_botocore", [False, True], ids=["built-in", "botocore"])
def test_profile_from_the_shared_files(
    run: Runner, files: Path, custom: list[str], monkeypatch: pytest.MonkeyPatch, use_botocore: bool
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "work")
    _register(custom, "bedrock-files", use_botocore=use_botocore)
    run("chat", ok, model="bedrock-files/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    request = run.requests[0]
    # the region came from [profile work] in the config file, read in the auth flow
    assert request.url.host == "bedrock-runtime.eu-central-1.amazonaws.com"
    assert request.headers["host"] == "bedrock-runtime.eu-central-1.amazonaws.com"
    assert request.headers["x-amz-security-token"] == "work-token"
    creds = AwsCredentials("AKIAWORK", "work-secret", "work-token")
    assert request.headers["authorization"] == _botocore_authorization(request, creds, "eu-central-1", monkeypatch)


def test_default_profile_and_its_region(run: Runner, files: Path, custom: list[str]) -> None:
    _register(custom, "bedrock-files", use_botocore=False)
    run("chat", ok, model="bedrock-files/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    request = run.requests[0]
    assert request.url.host == "bedrock-runtime.us-west-2.amazonaws.com"
    assert "Credential=AKIADEFAULT/" in request.headers["authorization"]
    assert "x-amz-security-token" not in request.headers


def test_environment_keys_beat_the_files(run: Runner, files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    run("chat", ok, model="bedrock/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    request = run.requests[0]
    assert request.url.host == "bedrock-runtime.ap-south-1.amazonaws.com"
    assert "Credential=AKIAENV/" in request.headers["authorization"]
    assert "/ap-south-1/bedrock/aws4_request" in request.headers["authorization"]


def test_bedrock_api_key_from_the_environment(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-key-from-env")
    run("chat", ok, model="bedrock/amazon.nova-pro-v1:0", messages=USER)
    request = run.requests[0]
    assert request.headers["authorization"] == "Bearer bedrock-key-from-env"
    assert "x-amz-date" not in request.headers


def test_explicit_options_beat_everything(run: Runner, custom: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "env-key")
    _register(
        custom,
        "bedrock-explicit",
        region="eu-west-1",
        access_key_id="AKIAEXPLICIT",
        secret_access_key="explicit-secret",
    )
    run("chat", ok, model="bedrock-explicit/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    request = run.requests[0]
    assert request.url.host == "bedrock-runtime.eu-west-1.amazonaws.com"
    creds = AwsCredentials("AKIAEXPLICIT", "explicit-secret")
    assert request.headers["authorization"] == _botocore_authorization(request, creds, "eu-west-1", monkeypatch)


def test_explicit_api_key_option(run: Runner, custom: list[str]) -> None:
    _register(custom, "bedrock-key", region="us-east-2", api_key="explicit-bedrock-key")
    run("chat", ok, model="bedrock-key/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    assert run.requests[0].headers["authorization"] == "Bearer explicit-bedrock-key"
    assert run.requests[0].url.host == "bedrock-runtime.us-east-2.amazonaws.com"


def test_no_credentials_fails_before_anything_is_sent(
    run: Runner, files: Path, custom: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(files / "missing"))
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    _register(custom, "bedrock-none", use_botocore=False)
    with pytest.raises(AuthenticationError, match="no AWS credentials"):
        run("chat", ok, model="bedrock-none/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    assert run.requests == []


def test_no_region_fails_before_anything_is_sent(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(BadRequestError, match="no AWS region"):
        run("chat", ok, model="bedrock/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    assert run.requests == []


def test_bad_region_name(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "evil.example.com/x")
    with pytest.raises(BadRequestError, match="not a valid region"):
        run("chat", ok, model="bedrock/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    assert run.requests == []


def test_unreadable_credentials_file(run: Runner, files: Path, custom: list[str]) -> None:
    (files / "credentials").write_bytes(b"[default\nbroken")
    _register(custom, "bedrock-broken", use_botocore=False)
    with pytest.raises(AuthenticationError, match="cannot read the AWS file"):
        run("chat", ok, model="bedrock-broken/amazon.nova-pro-v1:0", messages=USER, client_options=DEFAULT_ADDRESS)
    assert run.requests == []


def test_secrets_never_in_reprs() -> None:
    options = BedrockOptions(
        access_key_id="AKIA1", secret_access_key="top-secret", api_key="key-secret", session_token="tok-secret"
    )
    spec = bedrock_provider("bedrock-repr", secret_access_key="top-secret", access_key_id="AKIA1")
    for text in (repr(options), str(options), repr(spec), repr(spec.plugin)):
        assert "secret" not in text.replace("secret_access_key", "").replace("'***'", "")


_OPENED: list[tuple[str, int]] = []
_WATCHED: set[str] = set()


def _audit(event: str, args: tuple) -> None:
    if event == "open" and args and str(args[0]) in _WATCHED:
        import threading

        _OPENED.append((str(args[0]), threading.get_ident()))


def test_async_client_reads_the_files_off_the_event_loop(files: Path, custom: list[str]) -> None:
    """The shared files are read in a worker thread on the async client (an audit hook sees the open)."""
    import asyncio
    import sys
    import threading

    import liter_llm

    if _audit not in getattr(sys, "_liter_llm_bedrock_audit", []):
        sys.addaudithook(_audit)
        sys._liter_llm_bedrock_audit = [_audit]  # type: ignore[attr-defined]
    _WATCHED.clear()
    _WATCHED.add(str(files / "credentials"))
    _OPENED.clear()
    _register(custom, "bedrock-thread", use_botocore=False)

    async def main() -> int:
        loop_thread = threading.get_ident()
        async with liter_llm.create_async_client(transport=httpx.MockTransport(ok), max_retries=0) as client:
            await client.chat(model="bedrock-thread/amazon.nova-pro-v1:0", messages=USER)
        return loop_thread

    loop_thread = asyncio.run(main())
    _WATCHED.clear()
    assert _OPENED, "the credentials file was never opened"
    assert all(thread != loop_thread for _, thread in _OPENED)
